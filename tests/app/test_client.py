"""The launched app through gradio_client and plain HTTP: streaming, sessions, stop, files, switching models."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.utils import Status

import app
from components.page import launch_options
from tests.app.conftest import make_ctx
from tests.app.replay_backend import ReplayBackend


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One app per module on 127.0.0.1, on the replay backend, with a small cap on rendered files."""
    tmp = tmp_path_factory.mktemp("served")
    backend = ReplayBackend(chunk=4, delay=0.004)
    ctx = make_ctx(tmp, backend, max_output_files=6)
    demo = app.build_demo(ctx)
    opts = launch_options(ctx, "127.0.0.1", None)
    demo.launch(**opts, prevent_thread_lock=True, quiet=True)
    yield demo.local_url.rstrip("/"), ctx, backend
    demo.close()


def run_args(examples, task, **over):
    ex = examples[task]
    args = dict(truth=ex.get("truth", ""), image=handle_file(ex["image"]) if ex.get("image") else None,
                video=handle_file(ex["video"]) if ex.get("video") else None, task=task,
                question=ex["question"], options="\n".join(ex.get("options") or []), track_object="",
                track_box=None, seed=None)
    args.update(over)
    return args


def value(x):
    """An output as the client gives it: plain, or inside a component update."""
    return x.get("value") if isinstance(x, dict) and x.get("__type__") == "update" else x


def test_a_run_streams_through_the_api(served, examples):
    url, ctx, _ = served
    c = Client(url, verbose=False)
    job = c.submit(**run_args(examples, "spatial grounding"), api_name="/run")
    final = job.result(timeout=60)
    outputs = job.outputs()
    assert len(outputs) > 3 and any(o[0].startswith("⏳ thinking") for o in outputs)  # intermediate states
    assert final[0].startswith("✅ done") and final[2] == json.loads(json.dumps(examples["spatial grounding"]["truth"]))
    assert value(final[3]).endswith(".png") and value(final[4]) is None  # the overlay image, no video
    bundle = json.loads(open(value(final[8]), encoding="utf-8").read())
    assert bundle["task"] == "spatial grounding" and bundle["answer"]["payload"]["type"] == "box"
    # then judged through the API, in the same session
    assert c.predict("looks right", api_name="/vote_up").startswith("✅ Saved as record #")


def test_two_sessions_take_turns_and_keep_their_own_state(served, examples):
    url, ctx, backend = served
    backend.delay = 0.02
    try:
        c1, c2 = Client(url, verbose=False), Client(url, verbose=False)
        j1 = c1.submit(**run_args(examples, "spatial grounding"), api_name="/run")
        time.sleep(0.3)
        j2 = c2.submit(**run_args(examples, "numerical"), api_name="/run")
        codes = set()
        while not j2.done():
            codes.add(j2.status().code)
            time.sleep(0.02)
        r1, r2 = j1.result(timeout=60), j2.result(timeout=60)
    finally:
        backend.delay = 0.004
    assert Status.IN_QUEUE in codes  # the second request waited its turn, and was told so
    assert r1[0].startswith("✅") and r2[0].startswith("✅") and r2[2] == "3" and r1[2].startswith('{"boxes"')
    before = ctx.store.count()
    c1.predict("", api_name="/vote_down")
    c2.predict("", api_name="/vote_up")
    recs = list(ctx.store.records())[before:]
    assert [(r.task, r.feedback.value) for r in recs] == [("spatial grounding", -1), ("numerical", 1)]


def test_stop_through_the_api_keeps_the_partial_answer(served, examples):
    url, ctx, backend = served
    backend.delay = 0.05
    try:
        c = Client(url, verbose=False)
        job = c.submit(**run_args(examples, "tracking"), api_name="/run")
        deadline = time.time() + 30
        while len(job.outputs()) < 4 and time.time() < deadline:
            time.sleep(0.05)
        assert c.predict(api_name="/stop") == "Stopping…"
        final = job.result(timeout=30)
    finally:
        backend.delay = 0.004
    assert final[0].startswith("⏹ stopped")
    chat = final[1]
    assert chat[-1]["content"][0]["text"]  # the partial reasoning is still shown


def test_only_the_examples_are_served_from_disk(served, examples):
    url, ctx, _ = served
    c = Client(url, verbose=False)
    c.predict(**run_args(examples, "numerical"), api_name="/run")
    c.predict("", api_name="/vote_up")
    db = ctx.store.path.resolve()
    with httpx.Client(timeout=10) as h:
        assert h.get(f"{url}/gradio_api/file=/etc/passwd").status_code == 403
        assert h.get(f"{url}/gradio_api/file={db}").status_code == 403
        assert h.get(f"{url}/gradio_api/file={app.__file__}").status_code == 403
        ok = h.get(f"{url}/gradio_api/file={examples['numerical']['image']}")
        assert ok.status_code == 200 and ok.content[:4] == b"\x89PNG"


def test_rendered_files_stay_bounded(served, examples):
    url, ctx, _ = served
    c = Client(url, verbose=False)
    for _ in range(5):
        assert c.predict(**run_args(examples, "tracking"), api_name="/run")[0].startswith("✅")
    files, _bytes = ctx.outputs.usage()
    assert files <= ctx.outputs.max_files


def test_no_admin_anything_in_the_page_config_without_credentials(served):
    url, ctx, _ = served
    config = httpx.get(f"{url}/config", timeout=10).json()
    text = json.dumps(config)
    assert "admin-" not in text and '"Admin"' not in text
    assert not any("admin" in (d.get("api_name") or "") for d in config["dependencies"])


def test_switching_to_the_tiny_model_without_a_restart(served, examples, tiny_model_dir):
    url, ctx, backend = served
    c = Client(url, verbose=False)
    try:
        status = c.predict(tiny_model_dir, "", "", "none", "", api_name="/switch_model")
        assert tiny_model_dir in status and "loads on first run" in status
        out = c.predict(**run_args(examples, "open-ended", image=handle_file(examples["numerical"]["image"]),
                                   video=None, max_new_tokens=5), api_name="/run")
        assert out[0].startswith("✅ done") and "5 tokens" in out[0] and tiny_model_dir in out[0]
    finally:
        ctx.models.use(backend, backend.model)


def test_an_empty_upload_gets_a_clear_message_in_the_page(served, examples, tmp_path):
    url, ctx, _ = served
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    c = Client(url, verbose=False)
    out = c.predict(**run_args(examples, "spatial grounding", image=handle_file(str(empty))), api_name="/run")
    assert out[0].startswith("⚠️") and "empty (0 bytes)" in out[0]
    assert c.predict(**run_args(examples, "numerical"), api_name="/run")[0].startswith("✅")  # still serving


# -- the Inspect tab through the API ---------------------------------------------------------------


def inspect_values(keys, outputs) -> dict:
    """An Inspect endpoint's outputs by name (``keys``: the order the tab returns them in)."""
    return {k: value(v) for k, v in zip(keys, outputs)}


def test_inspect_example_filter_show_and_save_through_the_api(served):
    from components.inspect import OPENED_KEYS, PAGE_KEYS, ROW_KEYS

    url, ctx, _ = served
    a, b = Client(url, verbose=False), Client(url, verbose=False)
    opened = inspect_values(OPENED_KEYS, a.predict(api_name="/inspect_example"))
    assert opened["status"].startswith("✅ Opened") and len(opened["table"]["data"]) == 14
    b.predict(api_name="/inspect_example")
    page = inspect_values(PAGE_KEYS, a.predict("tracking", "", None, None, False, "worst first", "",
                                               api_name="/inspect_filter"))
    assert [r[3] for r in page["table"]["data"]] == ["tracking"] and page["page_info"].startswith("1 of 14")
    b.predict("OCR", "", None, None, False, "worst first", "", api_name="/inspect_filter")
    row_a = inspect_values(ROW_KEYS, a.predict(1, api_name="/inspect_show"))
    row_b = inspect_values(ROW_KEYS, b.predict(api_name="/inspect_next"))
    assert "tracking" in row_a["header"] and "OCR" in row_b["header"]  # each session its own filters
    assert open(row_a["video"], "rb").read()[4:8] == b"ftyp"  # served (the client downloaded it): an MP4
    before = ctx.store.count("correction")
    refused = a.predict('{"boxes": {"1": [10, 20, 1200, 40]}}', False, "", api_name="/inspect_save")
    assert refused == "❌ Not saved — feedback.correction.boxes.1[2]: 1200 is outside the 0..1000 grid"
    assert ctx.store.count("correction") == before
    assert b.predict(row_b["correction"], False, "from the API", api_name="/inspect_save").startswith(
        "✅ Saved correction as record #")
    rec = list(ctx.store.records("correction"))[-1]
    assert rec.task == "ocr" and rec.feedback.comment == "from the API"


def test_inspect_upload_through_the_api_refuses_an_escaping_row_only(served, tmp_path):
    from components.inspect import OPENED_KEYS, ROW_KEYS

    url, ctx, _ = served
    root = tmp_path / "results"
    (root / "media").mkdir(parents=True)
    (root / "media" / "pic.png").write_bytes((app.ROOT / "examples" / "results" / "media" / "shapes.png").read_bytes())
    ctx.settings.results_root = root
    rows = [{"problem_id": i, "problem": "Where is the blue square?", "problem_type": "spatial grounding",
             "data_type": "image", "path": p, "solution": '<answer>{"boxes": [117, 208, 352, 521]}</answer>',
             "output": '<think>x</think><answer>{"boxes": [100, 200, 350, 500]}</answer>', "accuracy": acc}
            for i, (p, acc) in enumerate([("./pic.png", 0.9), ("../../etc/passwd", 0.1)])]
    upload = tmp_path / "mine.jsonl"
    upload.write_text("\n".join(json.dumps(r) for r in rows))
    c = Client(url, verbose=False)
    opened = inspect_values(OPENED_KEYS, c.predict(handle_file(str(upload)), "media", api_name="/inspect_upload"))
    assert opened["status"].startswith("✅ Opened **mine.jsonl**: 2 rows") and len(opened["table"]["data"]) == 2
    worst = inspect_values(ROW_KEYS, c.predict(api_name="/inspect_next"))
    assert "leads out of the media root with '..'" in worst["header"] and worst["overlay"] is None
    best = inspect_values(ROW_KEYS, c.predict(api_name="/inspect_next"))
    assert best["overlay"].endswith(".png") and best["header"].startswith("**Result 2 of 2**")
    with httpx.Client(timeout=10) as h:  # the results root itself is never served
        assert h.get(f"{url}/gradio_api/file={root / 'media' / 'pic.png'}").status_code == 403
