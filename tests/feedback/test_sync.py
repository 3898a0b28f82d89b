"""Sync scheduling, with the upload replaced: off by default, exports only when there is news."""

import threading
import time
from concurrent.futures import Future

from onethinker.feedback import Vote
from onethinker.feedback.sync import ExportSync, SyncConfig, start_sync

from tests.feedback.helpers import record


def test_off_unless_repo_and_token_are_configured(store, tmp_path):
    assert not SyncConfig.from_env({}).enabled
    assert not SyncConfig.from_env({"ONETHINKER_SYNC_REPO": "me/feedback"}).enabled
    env = {"ONETHINKER_SYNC_REPO": "me/feedback", "HF_TOKEN": "t", "ONETHINKER_SYNC_EVERY_MIN": "2"}
    cfg = SyncConfig.from_env(env)
    assert cfg.enabled and cfg.every_minutes == 2

    def must_not_be_called(**kw):
        raise AssertionError("scheduler created although sync is off")

    assert start_sync(store, tmp_path / "sync", SyncConfig(), scheduler_factory=must_not_be_called) is None


def test_run_once_exports_and_uploads_only_when_the_store_changed(store, tmp_path):
    uploads = []
    sync = ExportSync(store, tmp_path / "sync", upload=lambda: uploads.append(sorted(
        p.name for p in (tmp_path / "sync").iterdir() if not p.name.startswith("."))))
    assert sync.run_once() is True  # first run: even an empty store is exported once
    assert uploads == [["dpo", "rl", "sft"]]
    assert sync.run_once() is False and len(uploads) == 1
    store.add(record(store, Vote(1)))
    assert sync.run_once() is True and len(uploads) == 2
    assert '"sft": 1' in (tmp_path / "sync" / "sft" / "export.json").read_text()


def test_failed_upload_is_retried_on_the_next_tick(store, tmp_path):
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("hub unreachable")

    sync = ExportSync(store, tmp_path / "sync", upload=flaky, every_s=0.02).start()
    deadline = time.monotonic() + 5
    while sync.runs < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    sync.stop(final_sync=False)
    assert sync.errors == 1 and sync.runs == 1 and len(calls) == 2


def test_stop_syncs_what_was_recorded_before_shutdown(store, tmp_path):
    uploads = []
    sync = ExportSync(store, tmp_path / "sync", upload=lambda: uploads.append(store.revision()), every_s=3600).start()
    store.add(record(store, Vote(1)))
    sync.stop()
    assert uploads == [1]


def test_start_sync_wires_the_commit_scheduler(store, tmp_path):
    made = {}

    class FakeScheduler:
        def __init__(self, **kw):
            made.update(kw)
            self.lock = threading.Lock()
            self.pushes = 0

        def trigger(self):
            assert not self.lock.locked()  # exports never hold the lock while the push runs
            self.pushes += 1
            f = Future()
            f.set_result(None)
            return f

    cfg = SyncConfig(repo_id="me/feedback", token="hf_x", every_minutes=0.001)
    sync = start_sync(store, tmp_path / "sync", cfg, scheduler_factory=FakeScheduler)
    try:
        deadline = time.monotonic() + 5
        while sync.runs < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        sync.stop()
    assert made["repo_id"] == "me/feedback" and made["repo_type"] == "dataset" and made["token"] == "hf_x"
    assert made["folder_path"] == str(tmp_path / "sync") and ".*" in made["ignore_patterns"]
    assert sync.runs >= 1 and (tmp_path / "sync" / "sft" / "sft.json").is_file()
