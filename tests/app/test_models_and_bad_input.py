"""Models that load, fail or fall back, and every kind of bad input: a clear message, and the app goes on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from gradio.components.image import ImageData
from PIL import Image

import app
from components import run as R
from components.context import AppContext, ModelManager, ModelUnavailable, Session, Settings
from onethinker.engine import DEFAULT_MODEL_ID
from onethinker.media.images import load_image
from tests.app.conftest import form


def last(ctx, args, truth="") -> tuple[dict, Session]:
    s = Session()
    return list(R.run_stream(ctx, s, args, truth))[-1], s


def still_serves(ctx, examples):
    out, s = last(ctx, form(examples["numerical"]))
    assert out["status"].startswith("✅ done") and s.run.answer.ok


# -- bad input ---------------------------------------------------------------------------------------


@pytest.fixture
def bad_files(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    broken_img = tmp_path / "broken.png"
    broken_img.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0garbage" * 20)
    broken_vid = tmp_path / "broken.mp4"
    broken_vid.write_bytes(b"\0\0\0\x18ftypmp42" + b"\x01" * 500)
    return {"empty": str(empty), "broken_img": str(broken_img), "broken_vid": str(broken_vid)}


@pytest.mark.parametrize("case, over, words", [
    ("no media", dict(image=None, video=None), "attach an image or a video"),
    ("wrong media for the task", dict(task="temporal grounding"), "needs a video"),
    ("empty question", dict(question="  "), "question is empty"),
    ("no task", dict(task=None), "choose a task"),
    ("bad setting", dict(max_new_tokens=0), "max new tokens"),
])
def test_bad_form_values(ctx, examples, case, over, words):
    out, s = last(ctx, form(examples["spatial grounding"], **over))
    assert out["status"].startswith("⚠️") and words in out["status"], (case, out["status"])
    assert s.run is None and not s.pending
    still_serves(ctx, examples)


@pytest.mark.parametrize("which, kind, words", [
    ("empty", "image", "empty (0 bytes)"),
    ("broken_img", "image", "damaged or truncated"),
    ("broken_vid", "video", "cannot decode"),
])
def test_unusable_uploads(ctx, examples, bad_files, which, kind, words):
    ex = examples["spatial grounding"] if kind == "image" else examples["tracking"]
    over = {"image": bad_files[which]} if kind == "image" else {"video": bad_files[which]}
    out, _ = last(ctx, form(ex, **over))
    assert out["status"].startswith("⚠️") and words in out["status"], out["status"]
    still_serves(ctx, examples)


def test_unreachable_openai_url(tmp_path, examples):
    ctx = AppContext(Settings(data_dir=tmp_path, output_dir=tmp_path / "o", openai_url="http://127.0.0.1:9/v1",
                              segmenter="none"))
    out, _ = last(ctx, form(examples["numerical"]))
    assert out["status"].startswith("❌") and "http://127.0.0.1:9/v1" in out["status"]
    assert "could not be loaded" in out["status"] and "OpenAI-compatible" in out["status"]


def test_a_model_that_cannot_load_is_named_with_the_reason_and_what_to_do(tmp_path, examples):
    ctx = AppContext(Settings(model=str(tmp_path / "no-such-model"), data_dir=tmp_path, output_dir=tmp_path / "o",
                              segmenter="none"))
    out, _ = last(ctx, form(examples["numerical"]))
    msg = out["status"]
    assert "no-such-model" in msg and "does not exist" in msg and "What to do" in msg and "--openai-url" in msg
    assert ctx.models.status().state == "failed"
    # the failure is remembered: the next run says the same at once, without trying again
    assert last(ctx, form(examples["numerical"]))[0]["status"] == msg


# -- loading, fallback, switching ------------------------------------------------------------------


def test_hub_model_offline_falls_back_to_the_local_folder_and_says_so(tmp_path, tiny_model_dir, examples):
    m = ModelManager(DEFAULT_MODEL_ID, fallback=tiny_model_dir)
    assert m.status().state == "not loaded" and DEFAULT_MODEL_ID in m.status().markdown()
    b = m.backend()
    st = m.status()
    assert b.model_id == tiny_model_dir and st.state == "fallback" and st.name == tiny_model_dir
    text = st.markdown()
    assert "fallback" in text and DEFAULT_MODEL_ID in text and "offline" in text
    # a run on the fallback model, through the app
    ctx = AppContext(Settings(data_dir=tmp_path, output_dir=tmp_path / "o", segmenter="none"), models=m)
    out, s = last(ctx, form(examples["open-ended"], max_new_tokens=6, image=examples["numerical"]["image"],
                            video=None))
    assert out["status"].startswith("✅ done") and s.run.completion_tokens == 6 and s.run.model == tiny_model_dir


def test_no_fallback_means_a_clear_failure_and_switching_recovers(tmp_path, tiny_model_dir):
    m = ModelManager(DEFAULT_MODEL_ID, fallback=str(tmp_path / "missing-nano"))
    with pytest.raises(ModelUnavailable) as e:
        m.backend()
    assert DEFAULT_MODEL_ID in str(e.value) and "could not be loaded" in str(e.value)
    st = m.configure(tiny_model_dir)
    assert st.state == "not loaded"
    assert m.backend().model_id == tiny_model_dir and m.status().state == "ready"


def test_a_prompt_template_shipped_with_the_model_is_used(tmp_path, tiny_model_dir, examples):
    folder = tmp_path / "nano"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "prompt_templates.json").write_text(json.dumps({"preamble": "Q: {question}\n"}), encoding="utf-8")
    ctx = AppContext(Settings(model=str(folder), data_dir=tmp_path, output_dir=tmp_path / "o", segmenter="none"))
    out, s = last(ctx, form(examples["numerical"], max_new_tokens=2))
    assert s.run.sent.prompt.startswith("Q: How many shapes are in the picture?\n")


def test_default_fallback_flag(monkeypatch, tmp_path):
    import app

    args = app.parser().parse_args(["--fallback-model", "none"])
    assert app.settings_from(args).fallback_model is None
    args = app.parser().parse_args(["--fallback-model", str(tmp_path)])
    assert app.settings_from(args).fallback_model == str(tmp_path)
    with pytest.raises(SystemExit):
        app.settings_from(app.parser().parse_args(["--admin-user", "a"]))


def test_an_uploaded_image_reaches_the_engine_as_uploaded(ctx, tmp_path):
    """Gradio would re-encode a transparent upload with its transparency dropped onto black; the Run tab
    hands the file on untouched, so the engine reads it as the official loader does (onto white)."""
    path = tmp_path / "clear.png"
    Image.new("RGBA", (64, 48), (0, 0, 0, 0)).save(path)
    widget = next(b for b in app.build_demo(ctx).blocks.values() if getattr(b, "elem_id", None) == "run-image")
    assert widget.preprocess(ImageData(path=str(path), orig_name="clear.png")) == str(path)
    assert load_image(str(path)).image.getpixel((5, 5)) == (255, 255, 255)


def test_the_feedback_store_defaults_to_persistent_storage_on_a_space(monkeypatch):
    import app

    monkeypatch.delenv("SPACE_ID", raising=False)
    assert app.default_data_dir() == Path("data")
    monkeypatch.setenv("SPACE_ID", "someone/onethinker-studio")
    real_is_dir = Path.is_dir
    monkeypatch.setattr(Path, "is_dir", lambda p: str(p) == "/data" or real_is_dir(p))
    assert app.default_data_dir() == Path("/data")  # a Space with persistent storage mounted
    monkeypatch.setattr(Path, "is_dir", lambda p: False if str(p) == "/data" else real_is_dir(p))
    assert app.default_data_dir() == Path("data")  # a Space without it
