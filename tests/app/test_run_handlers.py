"""The Run tab's handlers called directly, on the replay backend: every task streams, is parsed and drawn."""

from __future__ import annotations

import json

import numpy as np
import pytest

from components import run as R
from components import views
from components.context import Session
from onethinker.answer import Answer
from onethinker.runs import parse_truth
from onethinker.tasks import TASKS
from tests.app.conftest import form, make_ctx
from tests.app.replay_backend import ReplayBackend

DRAWN_AS = {"spatial grounding": "image", "segmentation-image": "image", "temporal grounding": "timeline",
            "spatial-temporal grounding": "video", "tracking": "video", "segmentation-video": "video"}


def run_all(ctx, session, args, truth=""):
    return list(R.run_stream(ctx, session, args, truth))


@pytest.mark.parametrize("task", list(TASKS))
def test_every_task_streams_parses_draws_and_scores(ctx, examples, task):
    ex = examples[task]
    s = Session()
    ups = run_all(ctx, s, form(ex), ex.get("truth", ""))
    last = ups[-1]
    run = s.run
    assert last["status"].startswith("✅ done") and run.finish_reason == "stop"
    assert run.answer.ok and run.answer.phase == "done"
    assert last["answer"] == run.answer.answer_text
    # the chat shows the reasoning inside the reasoning tags, then the answer
    assistant = last["chat"][-1]["content"]
    assert assistant.startswith("<think>") and "</think>" in assistant and assistant.endswith(run.answer.answer_text)
    kind = DRAWN_AS.get(task)
    if kind is None:  # nothing to draw for text answers
        assert s.render is None and last["overlay"] is None and last["video"] is None
    else:
        assert s.render.kind == kind
        assert (last["video"] is not None) == (kind in ("video", "timeline"))
        assert (last["overlay"] is not None) == (kind in ("image", "timeline"))
    if ex.get("truth"):
        assert "accuracy 1.000" in last["notes"]
    # what the model saw, from Sent
    assert ("**Video:**" in last["seen"]) == bool(ex.get("video"))
    # the download holds raw text, the parsed answer, what was sent and the settings
    bundle = json.loads(open(last["download"], encoding="utf-8").read())
    assert bundle["raw"] == run.text and Answer.from_dict(bundle["answer"]) == run.answer
    assert bundle["sent"]["prompt"] == run.sent.prompt and bundle["settings"]["sampling"]["temperature"] == 0.0


def test_timeline_thumbnails_and_clip(ctx, examples):
    s = Session()
    last = run_all(ctx, s, form(examples["temporal grounding"]))[-1]
    assert [c for _, c in last["thumbs"]][0].startswith("start")
    assert len(last["thumbs"]) == 3 and last["video"].endswith(".mp4")


def test_reasoning_streams_before_the_answer(tmp_path, examples):
    ctx = make_ctx(tmp_path, ReplayBackend(chunk=3, delay=0.008))
    ups = run_all(ctx, Session(), form(examples["captioning"]))
    streaming = [u for u in ups if u.get("status", "").startswith("⏳ thinking")]
    assert streaming, "no update while the model was thinking"
    first = streaming[0]["chat"][-1]["content"]
    assert first.startswith("<think>") and "</think>" not in first  # the reasoning block is still open
    assert [u for u in ups if u.get("status", "").startswith("⏳ answering")]
    assert "tokens/s" in streaming[-1]["status"]


def test_the_first_update_carries_the_first_visible_text(tmp_path, examples):
    """A first delta with nothing to show (an empty answer tag) neither yields an empty update nor holds
    the first visible text back for the update interval."""

    class AnswersAtOnce(ReplayBackend):  # test double: a model that writes no reasoning
        def response(self, task, sample=None):
            return "<answer>3</answer>"

    ctx = make_ctx(tmp_path, AnswersAtOnce(chunk=8, delay=0.01))  # "<answer>", "3</answe", "r>"
    first = run_all(ctx, Session(), form(examples["numerical"]))[0]
    assert first["chat"][-1] == {"role": "assistant", "content": "3"} and first["status"].startswith("⏳")


@pytest.mark.parametrize("task", ["tracking", "spatial-temporal grounding"])
def test_live_overlay_grows_while_streaming(tmp_path, examples, task):
    """Before the answer closes, the overlay already shows the latest completed second's box."""
    ctx = make_ctx(tmp_path, ReplayBackend(chunk=2, delay=0.025, reasoning="Follow it."))
    ups = run_all(ctx, Session(), form(examples[task]))
    live = [u["overlay"] for u in ups[:-1] if u.get("overlay") is not None and u["status"].startswith("⏳ answering")]
    assert len(live) >= 2, "the overlay was not updated while the answer streamed"
    assert not np.array_equal(live[0], live[-1])  # a later frame / box


def test_stop_mid_stream_keeps_the_partial_answer_parsed(tmp_path, examples):
    backend = ReplayBackend(chunk=2, delay=0.005)
    ctx = make_ctx(tmp_path, backend)
    s = Session(pending=True)
    gen = R.run_stream(ctx, s, form(examples["spatial grounding"]))
    seen = []
    for u in gen:
        seen.append(u)
        if u.get("chat") and len(u["chat"]) == 2 and len(u["chat"][-1]["content"]) > 30 and s.stream is not None:
            assert s.stop() == "Stopping…"
            break
    rest = list(gen)
    last = rest[-1]
    run = s.run
    assert run.finish_reason == "cancelled" and last["status"].startswith("⏹ stopped")
    full = backend.response("spatial grounding")
    assert full.startswith(run.text) and len(run.text) < len(full)
    assert run.answer.phase == "done" and run.answer.error  # parsed as final: says what is missing
    assert last["chat"][-1]["content"].startswith("<think>")
    assert s.stream is None and not s.pending


def test_stop_before_the_run_starts(ctx, examples):
    s = Session(pending=True)
    assert s.stop() == "Stopping before the run starts…"
    ups = run_all(ctx, s, form(examples["numerical"]))
    assert ups[-1]["status"].startswith("⏹ stopped before") and s.run is None
    assert not s.stop_requested and Session().stop() == "Nothing is running."


def test_tracking_object_box_drawn_on_the_first_frame_goes_into_the_question(ctx, examples):
    ex = examples["tracking"]
    first = R.first_frame(ex["video"], "tracking")
    h, w = first["image"].shape[:2]
    box = {"xmin": 0.1 * w, "ymin": 0.5 * h, "xmax": 0.3 * w, "ymax": 0.8 * h}
    s = Session()
    run_all(ctx, s, form(ex, track_object="the red circle", track_box={"image": first["image"], "boxes": [box]}))
    assert s.run.request.question == "the red circle. Its box in the first frame is [100, 500, 300, 800]."
    assert "[100, 500, 300, 800]" in s.run.sent.prompt


def test_task_choices_follow_the_media(examples):
    img, vid = examples["numerical"]["image"], examples["tracking"]["video"]
    image_tasks = {t for _, t in R.task_choices(img, None)}
    assert "tracking" not in image_tasks and "segmentation-image" in image_tasks
    video_tasks = {t for _, t in R.task_choices(None, vid)}
    assert "tracking" in video_tasks and "segmentation-image" not in video_tasks
    assert {t for _, t in R.task_choices(img, vid)} == video_tasks
    assert len(R.task_choices(None, None)) == len(TASKS)


def test_prompt_panel_shows_the_exact_text_sent(ctx, examples):
    ex = examples["multiple choice"]
    args = form(ex)
    shown = R.prompt_preview(ctx, *args.values())
    s = Session()
    run_all(ctx, s, args)
    assert shown == s.run.sent.prompt and "Options:\nA. red" in shown
    assert "cannot build the prompt yet" in R.prompt_preview(ctx, None, None, "numerical", "How many?", "")


def test_settings_reach_the_request(ctx, examples):
    ex = examples["regression"]
    s = Session()
    run_all(ctx, s, form(ex, temperature=0.5, top_p=0.9, max_new_tokens=64, seed=3, fps=1.0, max_frames=4,
                         max_pixels=64 * 32 * 32))
    r = s.run.request
    assert (r.sampling.temperature, r.sampling.top_p, r.sampling.max_new_tokens, r.sampling.seed) == (0.5, 0.9, 64, 3)
    assert s.run.sent.media[0]["num_frames"] == 4
    assert s.run.bundle()["settings"]["video_sampling"]["fps"] == 1.0
    s2 = Session()
    run_all(ctx, s2, form(ex))
    assert s2.run.request.video_sampling is None and s2.run.request.image_max_pixels is None  # official defaults


def test_reference_answer_that_does_not_parse_is_said_plainly(ctx, examples):
    s = Session()
    last = run_all(ctx, s, form(examples["spatial grounding"]), "{not json")[-1]
    assert "reference answer cannot be used" in last["notes"]
    assert parse_truth("", "spatial grounding") is None


def test_views_chat_and_seen():
    assert views.chat_messages("q", None) == [{"role": "user", "content": "q"}]
    thinking = Answer("numerical", "thinking", think="hm")
    assert views.chat_messages("q", thinking)[-1]["content"] == "<think>hm"
    done = Answer("numerical", "done", think="", answer_text="3")
    assert views.chat_messages("q", done)[-1]["content"] == "3"


def test_segmentation_masks_come_from_the_configured_segmenter(ctx, examples):
    from onethinker.segment.sam1 import SamV1Segmenter
    from tests.segment.tiny import tiny_sam1

    ctx.use_segmenter(SamV1Segmenter(model=tiny_sam1(), device="cpu"), "segment-anything")
    s = Session()
    last = run_all(ctx, s, form(examples["segmentation-image"]))[-1]
    assert s.render.segmentation is not None and "mask_area" in s.render.metrics
    assert "no segmentation backend" not in last["notes"]


def test_drawing_a_video_reports_progress(ctx, examples):
    calls = []
    s = Session()
    list(R.run_stream(ctx, s, form(examples["tracking"]), "", lambda f, desc=None: calls.append((f, desc))))
    assert calls and calls[-1] == (1.0, "drawing the overlay") and len(calls) >= 10


def test_a_page_that_goes_away_frees_the_model(tmp_path, examples):
    backend = ReplayBackend(chunk=2, delay=0.005)
    ctx = make_ctx(tmp_path, backend)
    s = Session()
    gen = R.run_stream(ctx, s, form(examples["captioning"]))
    for u in gen:
        if s.stream is not None and len(u.get("chat", [])) == 2:
            stream = s.stream
            break
    gen.close()  # what gradio does when the browser leaves or the event is cancelled
    assert stream.done and stream.cancelled and s.stream is None and s.run is None


# -- what the model saw ---------------------------------------------------------------------------


def test_what_the_model_saw_shows_the_frames_sent_with_their_times(ctx, examples):
    s = Session()
    last = run_all(ctx, s, form(examples["tracking"]))[-1]
    m = s.run.sent.media[0]
    assert [c for _, c in last["frames"]] == [f"{t:.2f} s" for t in m["timestamps"]]
    assert f"**Frame indices:** {', '.join(map(str, m['frame_indices']))}" in last["seen"]
    assert all(max(img.shape[:2]) <= 192 for img, _ in last["frames"])
    # each thumbnail is the frame the model got (the red circle moves right: compare with the source frame)
    import cv2
    from onethinker.media.probe import open_video

    vr = open_video(m["path"])
    for k in (0, len(m["frame_indices"]) - 1):
        thumb = last["frames"][k][0]
        src = cv2.resize(vr[m["frame_indices"][k]].asnumpy(), thumb.shape[1::-1], interpolation=cv2.INTER_AREA)
        assert np.abs(src.astype(int) - thumb.astype(int)).mean() < 2
    assert not np.array_equal(last["frames"][0][0], last["frames"][-1][0])


def test_what_the_model_saw_caps_the_frames_and_gives_the_image_size(ctx, examples):
    s = Session()
    last = run_all(ctx, s, form(examples["regression"], fps=4.0, max_frames=40))[-1]
    sent = s.run.sent.media[0]
    n = sent["num_frames"]
    assert n > 16 and len(last["frames"]) == 16 and f"16 of the {n} frames" in last["seen"]
    assert last["frames"][0][1] == f"{sent['timestamps'][0]:.2f} s"  # the first and the last are kept
    assert last["frames"][-1][1] == f"{sent['timestamps'][-1]:.2f} s"
    s = Session()
    last = run_all(ctx, s, form(examples["numerical"]))[-1]
    m = s.run.sent.media[0]
    assert [c for _, c in last["frames"]] == [f"sent at {m['resized_width']}×{m['resized_height']}"]
    assert f"**Image:** 320×240 → sent at {m['resized_width']}×{m['resized_height']}" in last["seen"]


# -- sending updates cheaply ------------------------------------------------------------------------


def _is_update(v) -> bool:
    return isinstance(v, dict) and v.get("__type__") == "update"  # gr.update and gr.skip: a widget rebuild


def test_outputs_send_plain_values_and_visibility_only_when_it_changes():
    visible: set = set()
    o = R.Outputs(visible)
    first = o.update({"status": "⏳", "chat": [], "answer": "", **R.PANELS, "notes": "", "seen": ""})
    assert set(first) == set(R.OUTPUT_KEYS) and not any(_is_update(v) for v in first.values())
    pic = np.zeros((4, 4, 3), np.uint8)
    shown = o.update({"overlay": pic})
    assert shown["overlay"]["visible"] is True and visible == {"overlay"}
    assert shown["status"] == "⏳" and shown["video"] is None and shown["frames"] == []  # cheap re-sends
    assert o.update({"status": "x"})["overlay"] == {"__type__": "update"}  # the picture on show: skipped
    assert not _is_update(o.update({"overlay": pic})["overlay"])  # already on show: a plain value
    # emptied: at once with a plain value, hidden with the next update
    emptied = o.update({"overlay": None})
    assert emptied["overlay"] is None and "overlay" in visible
    assert o.update({"status": "y"})["overlay"] == {"__type__": "update", "value": None, "visible": False}
    assert visible == set() and o.flush() is None
    o.update({"download": "f.json"})
    o.update({"download": None})
    assert o.flush()["download"]["visible"] is False and visible == set()


def test_a_new_run_clears_the_last_one_without_rebuilding_widgets_before_its_first_token(ctx, examples):
    s = Session()
    o = R.Outputs(s.panels)
    for u in R.run_stream(ctx, s, form(examples["spatial grounding"])):
        o.update(u)
    assert {"overlay", "download", "frames"} <= s.panels
    o = R.Outputs(s.panels)
    gen = R.run_stream(ctx, s, form(examples["captioning"]))
    first = o.update(next(gen))
    assert first["chat"][-1]["role"] == "assistant" and not any(_is_update(v) for v in first.values())
    assert first["overlay"] is None and first["download"] is None and first["frames"] == []
    second = o.update(next(gen))  # the next update hides what stayed empty (captions draw nothing)
    assert second["overlay"] == {"__type__": "update", "value": None, "visible": False}
    for u in gen:
        o.update(u)
    assert o.flush() is None and "overlay" not in s.panels and {"download", "frames"} <= s.panels


# -- segmentation without its weights ---------------------------------------------------------------


def test_a_segmentation_model_that_cannot_load_is_tried_once_and_explained(tmp_path, examples, monkeypatch):
    """Offline, no weights: the failure is remembered until the setting changes and said once, in plain
    words; the answer's box and points are still drawn."""
    from onethinker.segment.sam2 import Sam2Segmenter

    tries = []
    real_load = Sam2Segmenter.load
    monkeypatch.setattr(Sam2Segmenter, "load", lambda self, video=False: (tries.append(video), real_load(self, video)))
    missing = str(tmp_path / "no-such-sam2")  # not a folder here, not a hub id: fails at once, offline
    ctx = make_ctx(tmp_path)
    ctx.set_segmenter("sam2", missing)
    for task in ("segmentation-image", "segmentation-image", "segmentation-video"):
        s = Session()
        last = run_all(ctx, s, form(examples[task]))[-1]
        notes = last["notes"]
        assert notes.count("**No masks:**") == 1 and f"`{missing}` (sam2)" in notes
        assert "--sam-checkpoint" in notes and "--segmenter none" in notes
        assert "segmentation failed" not in notes and "no segmentation backend given" not in notes
        assert s.render is not None and s.render.segmentation is None  # drawn, without a mask
        plain = views.render_run(s.run, str(tmp_path), None, None)[0]
        assert s.render.kind == plain.kind and s.render.warnings == plain.warnings  # box and points as always
    assert tries == [False]  # one attempt for all three renders
    ctx.set_segmenter("sam2", missing)  # a new setting is tried again
    run_all(ctx, Session(), form(examples["segmentation-image"]))
    assert tries == [False, False]
    ctx.set_segmenter("none")
    last = run_all(ctx, Session(), form(examples["segmentation-image"]))[-1]
    assert "No masks" not in last["notes"] and tries == [False, False]


def test_an_image_and_a_video_together_run_as_video_image(ctx, examples):
    """Both media uploaded: the request is video-image, both reach the model, and the answer is drawn."""
    ex = examples["multiple choice"]
    s = Session()
    last = run_all(ctx, s, form(ex, video=examples["tracking"]["video"]))[-1]
    assert last["status"].startswith("✅ done") and s.run.answer.ok
    assert s.run.request.video and s.run.request.image
    assert sorted(m["kind"] for m in s.run.sent.media) == ["image", "video"]
    assert s.run.answer.data_type == "video-image"
