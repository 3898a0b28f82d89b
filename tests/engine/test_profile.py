"""A model folder's onethinker.json: read, checked, applied to requests the user left unset, copied on."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from onethinker.engine import ModelLoadError, Request, SamplingParams, TransformersBackend, load_profile, write_profile
from onethinker.engine.profile import copy_profile
from onethinker.media.sampling import VideoSampling
from onethinker.tasks import DEFAULT_TEMPLATES, PromptTemplates, build_prompt, get_task, load_prompt_templates

SHORT = {"preamble": "{question}\n", "instructions": {"multiple choice": "Letter only.", "tracking": "Boxes."}}
VIDEO = {"fps": 1.0, "max_frames": 6, "min_pixels": 4 * 32 * 32, "max_pixels": 6 * 32 * 32}
IMAGE = {"min_pixels": 4 * 32 * 32, "max_pixels": 9 * 32 * 32}


@pytest.fixture
def templates_file(tmp_path):
    p = tmp_path / "prompt_templates.json"
    p.write_text(json.dumps(SHORT), encoding="utf-8")
    return p


@pytest.fixture
def profiled_model(tiny_model_dir, tmp_path, templates_file):
    """A copy of the tiny model with a profile: short prompts, 1 fps video of ≤ 6 frames, small images."""
    d = tmp_path / "model"
    shutil.copytree(tiny_model_dir, d)
    write_profile(d, templates_from=templates_file, video=VIDEO, image=IMAGE)
    return d


def test_round_trip_and_empty_profiles(profiled_model, tmp_path):
    p = load_profile(profiled_model)
    assert p.video == VIDEO and p.image == IMAGE and not p.empty
    assert p.templates == load_prompt_templates(profiled_model / "prompt_templates.json")
    assert json.loads((profiled_model / "onethinker.json").read_text())["prompt_templates"] == "prompt_templates.json"
    for nothing in ("OneThink/OneThinker-8B", str(tmp_path / "missing"), None):
        assert load_profile(nothing).empty  # a hub id, a missing folder: the official settings
    (tmp_path / "plain").mkdir()
    assert load_profile(tmp_path / "plain").empty


def test_a_template_file_alone_is_the_apps_convention(tmp_path, templates_file):
    d = tmp_path / "m"
    d.mkdir()
    shutil.copyfile(templates_file, d / "prompt_templates.json")
    p = load_profile(d)
    assert p.templates.instruction_for(get_task("tracking")) == "Boxes."
    assert p.video == {} and p.image == {}


@pytest.mark.parametrize("content, named", [
    ('{"video": {"fps": -1}}', "video.fps"),
    ('{"video": {"max_frames": 2.5}}', "video.max_frames"),
    ('{"image": {"min_pixels": 9000, "max_pixels": 4096}}', "min_pixels is larger"),
    ('{"video": {"frames": 3}}', "unknown keys ['frames']"),
    ('{"sizes": {}}', "unknown keys ['sizes']"),
    ('{"prompt_templates": "../elsewhere.json"}', "file name in the model folder"),
    ('{"prompt_templates": "absent.json"}', "absent.json, which is not in"),
    ('{"format": 7}', "format 7"),
    ('[1, 2]', "object at the top level"),
    ('{"video": ', "cannot be read as JSON"),
])
def test_broken_profiles_name_the_problem(tmp_path, content, named):
    (tmp_path / "onethinker.json").write_text(content, encoding="utf-8")
    with pytest.raises(ModelLoadError, match="onethinker.json") as e:
        load_profile(tmp_path)
    assert named in str(e.value)


def test_apply_fills_only_what_the_request_leaves_unset(profiled_model, image_path):
    p = load_profile(profiled_model)
    r = p.apply(Request("Q?", "multiple choice", ["A. a", "B. b"], image=image_path))
    assert r.templates is p.templates and r.image_max_pixels == IMAGE["max_pixels"]
    assert r.image_min_pixels == IMAGE["min_pixels"]
    assert r.video_sampling == dataclasses.replace(VideoSampling.official(32), **VIDEO)
    mine, own = VideoSampling(fps=4.0), PromptTemplates(preamble="{question}")
    kept = p.apply(Request("Q?", "tracking", video="v.mp4", video_sampling=mine, image_max_pixels=12345, templates=own))
    assert kept.video_sampling is mine and kept.image_max_pixels == 12345 and kept.templates is own
    assert load_profile(None).apply(r) is r


def test_backend_sends_the_profiles_prompt_and_sizes(profiled_model, clips, image_path):
    """The engine applies the model's profile: its prompt text, its frame rate and frame count, its pixel caps."""
    b = TransformersBackend(str(profiled_model))
    c = b.generate(Request("Which one?", "multiple choice", ["A. x", "B. y"], image=image_path,
                           sampling=SamplingParams(max_new_tokens=2)))
    assert c.sent.prompt == "Which one?\nOptions:\nA. x\nB. y\nLetter only."
    img = c.sent.media[0]
    assert img["resized_width"] * img["resized_height"] <= IMAGE["max_pixels"]
    c = b.generate(Request("Follow it.", "tracking", video=clips["wide_25fps"], sampling=SamplingParams(max_new_tokens=2)))
    video = c.sent.media[0]
    assert video["num_frames"] == 6 and video["resized_width"] * video["resized_height"] <= VIDEO["max_pixels"]
    assert c.sent.prompt == "Follow it.\nBoxes."
    assert b.info()["profile"]["video"] == VIDEO
    # the same request to the model without a profile gets the catalogue's prompt and the official sampling
    plain = TransformersBackend(str(profiled_model.parent / "plain-copy"))
    shutil.copytree(profiled_model, plain.model_id, ignore=shutil.ignore_patterns("onethinker.json", "prompt_*"))
    c = plain.generate(Request("Follow it.", "tracking", video=clips["wide_25fps"], sampling=SamplingParams(max_new_tokens=2)))
    assert c.sent.prompt == build_prompt("tracking", "Follow it.", None, "video", DEFAULT_TEMPLATES)
    assert c.sent.media[0]["num_frames"] == 14


def test_copy_profile_travels_with_a_checkpoint(profiled_model, tmp_path):
    out = tmp_path / "finetuned"
    out.mkdir()
    assert copy_profile(profiled_model, out)
    q = load_profile(out)
    assert (q.video, q.image, q.templates) == (VIDEO, IMAGE, load_profile(profiled_model).templates)
    assert q.template_file == str(out / "prompt_templates.json")
    assert not copy_profile("OneThink/OneThinker-8B", out)


def test_the_evaluation_runner_sends_the_profiles_inputs(profiled_model, clips, tmp_path):
    """onethinker.eval builds requests with the catalogue's defaults; the backend's profile then applies."""
    from onethinker.eval import Runner

    shutil.copyfile(clips["wide_25fps"], tmp_path / "clip.mp4")
    row = {"problem_id": 1, "problem": "Follow it.", "problem_type": "tracking", "data_type": "video",
           "path": "clip.mp4", "additional_path": "", "options": [],
           "solution": '<answer>{"boxes": {"1": [1, 2, 30, 40]}}</answer>'}
    runner = Runner(TransformersBackend(str(profiled_model)), tmp_path, segmenter=None,
                    sampling=SamplingParams(max_new_tokens=2))
    (result,) = runner.evaluate([row])
    video = result["sent"]["media"][0]
    assert video["num_frames"] == 6 and video["resized_width"] * video["resized_height"] <= VIDEO["max_pixels"]
