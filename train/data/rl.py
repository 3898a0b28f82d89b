"""OneThinker RL rows → conversational prompts for GRPO (the contract ``train.grpo`` codes against).

``load_rl(path_or_paths, media_root=None, *, templates=DEFAULT_TEMPLATES) -> datasets.Dataset``

Reads both shapes of OneThinker RL JSON that people have:

* the official EMA-GRPO loader's (EasyR1 ``RLHFDataset`` with ``prompt_key=problem``, ``answer_key=answer``):
  ``problem`` with ``<image>`` / ``<video>`` markers, ``answer``, ``images``, ``videos``, ``problem_type``,
  ``data_type``, ``options``;
* the evaluation script's (``Evaluation/Eval/eval_bench.py``): ``problem``, ``path`` (the image or video,
  by ``data_type``), ``additional_path`` (the image of a ``video-image`` row), ``solution``, ``problem_type``,
  ``data_type``, ``options``.  Our feedback store's ``rl`` / ``eval`` exports are read the same way.

Each row of the returned dataset has

* ``prompt``: ``[{"role": "user", "content": [blocks]}]`` where the blocks are
  ``{"type": "image", "image": <abs path>, "max_pixels": …}``,
  ``{"type": "video", "video": <abs path>, "fps": 2.0, "max_frames": 128, "max_pixels": …, "min_pixels": …}``
  and ``{"type": "text", "text": <prompt>}``.  The text is :func:`onethinker.tasks.build_prompt` of the question
  (options appended for multiple choice, as the official loader does), so training sends exactly what the
  app's engine sends.  Media named by markers at the start of the question (the usual ``<image>\\n…``), or
  by no marker at all, come first (videos, then images: the engine's order) and the text follows — the same
  messages the engine builds; a marker inside the question becomes its block in place.
* ``solution``: the answer inside ``<answer>…</answer>`` (left as is when already wrapped).
* ``problem_type`` (the catalogue's name, e.g. ``OCR``), ``data_type`` (``image`` / ``video`` / ``video-image``),
  ``task_key`` (``problem_type``, with segmentation split into ``segmentation/image`` / ``segmentation/video``:
  the EMA-GRPO task groups), ``options`` (list of strings, empty when none).

The dataset is viewed through ``with_transform`` so that blocks read back without the ``None`` keys Arrow
would add (see :mod:`train.data.common`); ``dataset[i]``, iteration, ``shuffle`` and ``select`` keep it.
Turn a prompt into model inputs with :func:`train.data.vision.encode` (``add_generation_prompt=True``,
``padding_side="left"`` for generation); the limits in each block are applied there.

Video limits default to the official EasyR1 RL settings (2 fps, ≤ 128 frames, 64·32·32 px per frame, floor
4·32·32), images to the official inference cap (1024·32·32 px); both are keyword arguments, and a model
profile (``profile=``) replaces these defaults and the catalogue's prompts with the model's own.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from onethinker.engine.profile import EMPTY as EMPTY_PROFILE, ModelProfile
from onethinker.tasks import DEFAULT_TEMPLATES, IMAGE, VIDEO, PromptTemplates, Task, UnknownTaskError, build_prompt, get_task
from train.data.common import (
    Row, check_marker_counts, data_files, media_list, read_rows, resolve_media, split_markers,
    to_dataset,
)

RL_VIDEO_FPS = 2.0
RL_VIDEO_MAX_FRAMES = 128
RL_VIDEO_MAX_PIXELS = 64 * 32 * 32  # EasyR1 process_video default, used by the official EMA-GRPO run
RL_VIDEO_MIN_PIXELS = 4 * 32 * 32
RL_IMAGE_MAX_PIXELS = 1024 * 32 * 32  # official config max_pixels: 1048576

RL_FILES = ("rl.json", "eval.json")
_LEADING_MARKERS = re.compile(r"\s*(?:(?:<image>|<video>)\s*)+")


def task_key(task: Task, data_type: str) -> str:
    """The EMA-GRPO task group: the problem type, with segmentation split by medium."""
    if task.problem_type == "segmentation":
        return f"segmentation/{VIDEO if str(data_type).startswith(VIDEO) else IMAGE}"
    return task.problem_type


def load_rl(path_or_paths, media_root=None, *, templates: PromptTemplates | None = None,
            video_max_pixels: int | None = None, video_min_pixels: int | None = None,
            video_fps: float | None = None, video_max_frames: int | None = None,
            image_max_pixels: int | None = None, profile: ModelProfile | None = None):
    """RL rows of one or more JSON / JSONL files (or export folders) as a ``datasets.Dataset`` (see module doc).

    Settings left ``None`` come from ``profile`` (the model's ``onethinker.json``, see
    :func:`onethinker.engine.load_profile`) when it has them, else from the official RL run (templates: the
    catalogue's).  Relative media paths resolve under ``media_root`` (default: each file's folder).  Raises
    :class:`~train.data.common.DataError` naming the file and row for a missing file, an unknown task,
    markers that do not match the media, or a missing answer.
    """
    root = Path(media_root) if media_root is not None else None
    p = profile or EMPTY_PROFILE
    templates = templates if templates is not None else p.templates
    pv = p.video
    video = {"fps": float(video_fps or pv.get("fps") or RL_VIDEO_FPS),
             "max_frames": int(video_max_frames or pv.get("max_frames") or RL_VIDEO_MAX_FRAMES),
             "max_pixels": int(video_max_pixels or pv.get("max_pixels") or RL_VIDEO_MAX_PIXELS),
             "min_pixels": int(video_min_pixels or pv.get("min_pixels") or RL_VIDEO_MIN_PIXELS)}
    if "min_frames" in pv:
        video["min_frames"] = int(pv["min_frames"])
    image = {"max_pixels": int(image_max_pixels or p.image.get("max_pixels") or RL_IMAGE_MAX_PIXELS)}
    if "min_pixels" in p.image:
        image["min_pixels"] = int(p.image["min_pixels"])
    rows = [rl_row(r, root, templates, image, video) for r in read_rows(data_files(path_or_paths, RL_FILES))]
    return to_dataset(rows, ("prompt",))


def rl_row(row: Row, media_root: Path | None, templates: PromptTemplates, image_limits: dict,
           video_limits: dict) -> dict:
    """One raw row of either shape → the contract's row."""
    d = row.data
    question = d.get("problem", d.get("question"))
    if not isinstance(question, str) or not question.strip():
        raise row.fail("'problem' (the question) is missing or empty")
    media = _media(row, media_root)
    data_type = _data_type(row, media)
    try:
        task = get_task(d.get("problem_type") or "", data_type)
    except UnknownTaskError as e:
        raise row.fail(str(e)) from None
    kinds = {k for k, v in media.items() if v}
    if not kinds:
        raise row.fail("the row names no image or video ('images' / 'videos' or 'path')")
    if not kinds <= set(task.media):
        raise row.fail(f"task {task.id!r} takes {' or '.join(task.media)}, but the row has {' and '.join(sorted(kinds))}")
    answer = d.get("answer", d.get("solution"))
    if answer is None or (isinstance(answer, str) and not answer.strip()):
        raise row.fail("'answer' (or 'solution') is missing or empty")
    answer = answer if isinstance(answer, str) else str(answer)
    options = d.get("options") or []
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise row.fail("'options' must be a list of strings such as ['A. cat', 'B. dog']")
    blocks = {"image": [{"type": "image", "image": p, **image_limits} for p in media["image"]],
              "video": [{"type": "video", "video": p, **video_limits} for p in media["video"]]}
    content = _content(row, question, task, options, data_type, templates, blocks)
    return {
        "prompt": [{"role": "user", "content": content}],
        "solution": answer if "<answer>" in answer else f"<answer>{answer}</answer>",
        "problem_type": task.problem_type,
        "data_type": data_type,
        "task_key": task_key(task, data_type),
        "options": options,
    }


def _media(row: Row, root: Path | None) -> dict[str, list[str]]:
    d = row.data
    if "images" in d or "videos" in d:  # the official training shape
        return {"image": media_list(row, "images", "image", root), "video": media_list(row, "videos", "video", root)}
    if "path" in d:  # the evaluation shape: path by data_type, additional_path = the image of a video-image row
        dt = str(d.get("data_type") or "").strip().lower()
        main = _eval_path(row, d["path"], VIDEO if dt.startswith(VIDEO) else IMAGE, root)
        out = {"image": [], "video": []}
        out[VIDEO if dt.startswith(VIDEO) else IMAGE].append(main)
        if dt == "video-image":
            if not d.get("additional_path"):
                raise row.fail("a video-image row needs 'additional_path' (the image)")
            out["image"].append(_eval_path(row, d["additional_path"], IMAGE, root))
        return out
    raise row.fail("no media: expected 'images' / 'videos' (training shape) or 'path' (evaluation shape)")


def _eval_path(row: Row, value, kind: str, root: Path | None) -> str:
    """The evaluation script joins the base prefix with the path minus leading './' and '/': an absolute path
    that exists is taken as it is, anything else is read that way."""
    if isinstance(value, str) and Path(value).is_absolute() and Path(value).is_file():
        return resolve_media(row, value, kind, root)
    if isinstance(value, str):
        value = re.sub(r"^(?:\./|/)+", "", value)
    return resolve_media(row, value, kind, root)


def _data_type(row: Row, media: dict[str, list[str]]) -> str:
    given = str(row.data.get("data_type") or "").strip().lower()
    found = "video-image" if media["video"] and media["image"] else VIDEO if media["video"] else IMAGE
    if given and given != found:
        raise row.fail(f"data_type is {given!r} but the row has {_describe(media)}")
    return found


def _describe(media: dict[str, list[str]]) -> str:
    parts = [f"{len(v)} {k}(s)" for k, v in media.items() if v]
    return " and ".join(parts) or "no media"


def _content(row: Row, question: str, task: Task, options: list[str], data_type: str,
             templates: PromptTemplates, blocks: dict[str, list[dict]]) -> list[dict]:
    counts = check_marker_counts(row, [question], blocks, allow_unmarked=True)
    it: dict[str, Iterator[dict]] = {k: iter(v) for k, v in blocks.items()}
    lead: list[dict] = [b for kind in ("video", "image") if counts[kind] == 0 for b in blocks[kind]]
    m = _LEADING_MARKERS.match(question)
    if m:
        lead += [b for b in split_markers(m.group(0), it) if b["type"] != "text"]
        question = question[m.end():]
    if not question.strip():
        raise row.fail("the question has no text besides its media markers")
    try:
        text = build_prompt(task, question, options if task.problem_type == "multiple choice" else None,
                            data_type, templates)
    except ValueError as e:
        raise row.fail(str(e)) from None
    return lead + split_markers(text, it)


__all__ = ["load_rl", "rl_row", "task_key", "RL_VIDEO_MAX_PIXELS", "RL_VIDEO_MIN_PIXELS", "RL_IMAGE_MAX_PIXELS"]
