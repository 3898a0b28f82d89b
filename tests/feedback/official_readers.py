"""Readers that apply the official OneThinker consumers' rules to exported rows (our code, their rules).

Both were written from reading the official repository (mirrored, see HELPER_RULES):

* :func:`load_rl_row` — ``EasyR1/verl/utils/dataset.py`` (``RLHFDataset._build_messages`` and
  ``__getitem__``) as ``EasyR1/examples/config_ema_grpo_64.yaml`` and
  ``local_scripts/run_onethinker_rl.sh`` configure it (``prompt_key=problem``, ``answer_key=answer``,
  ``image_key=images``, ``video_key=videos``, ``data.image_dir``), plus the keys that
  ``verl/trainer/ray_trainer.py`` (advantages) and ``verl/workers/reward/function.py`` (batch reward
  manager) read from each row.
* :func:`read_eval_row` — ``Evaluation/Eval/eval_bench.py`` (``build_user_content_item`` and its
  main loop).

Each raises :class:`Refused` where the official code would fail or feed the model wrong input.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

# What the RL trainer reads from every row after the loader is done with it.
RL_TRAINER_KEYS = ("ground_truth", "data_type", "problem_type", "problem_reserved_text", "problem_id")
EVAL_KEYS = ("problem", "problem_type", "data_type", "path", "additional_path", "options", "solution")


class Refused(Exception):
    """The official code would stop here, or hand the model something other than the row describes."""


@dataclass
class LoadedRl:
    blocks: list[str]  # the user turn's content block types, in order
    fed: dict[str, list[str]]  # media handed to the processor: "images" or "videos" -> joined paths
    dropped: list[str] = field(default_factory=list)  # media columns removed without reaching the model
    batch: dict[str, Any] = field(default_factory=dict)  # the row as the trainer receives it


def _present(row: dict[str, Any], key: str) -> list[Any]:
    value = row.get(key)
    return value if isinstance(value, list) and len(value) > 0 else []


def load_rl_row(row: dict[str, Any], image_dir: "str | os.PathLike | None") -> LoadedRl:
    """One row through the RL loader's rules (``row`` as ``datasets`` gives it; it is not changed)."""
    row = dict(row)
    if "problem" not in row:
        raise Refused("no 'problem' (prompt_key)")
    prompt = row["problem"]
    options = row.get("options")
    if row.get("problem_type") == "multiple choice" and isinstance(options, list) and options:
        prompt += "\nOptions:\n" + "\n".join(options)  # the instruction template around it adds no markers
    # The image list wins whenever it is non-empty; the video list is looked at only when it is not.
    images, videos = _present(row, "images"), _present(row, "videos")
    if images:
        kind, marker, media = "image", "<image>", images
    elif videos:
        kind, marker, media = "video", "<video>", videos
    else:
        kind, marker, media = None, None, []
    blocks: list[str] = []
    if marker is None:
        blocks.append("text")
    else:
        for i, piece in enumerate(prompt.split(marker)):
            if i:
                blocks.append(kind)
            if piece:
                blocks.append("text")
    if kind == "video":
        media = media[-1:]  # each video is decoded, but only the last one decoded reaches the processor
    if kind is not None and blocks.count(kind) != len(media):
        raise Refused(f"{blocks.count(kind)} {marker} markers for {len(media)} {kind}(s) given to the processor")
    if kind == "video" and len(videos) != 1:
        raise Refused(f"{len(videos)} videos listed; the loader hands only the last one to the processor")
    paths = [os.path.join(image_dir, p) if image_dir is not None else p for p in media]
    for p in paths:
        if not os.path.isfile(p):
            raise Refused(f"{p} does not exist")
    # The pops, in the loader's order.
    row.pop("problem")
    dropped: list[str] = []
    if kind is not None:
        row.pop(f"{kind}s")
    if "images" in row:
        if _present(row, "images"):
            dropped.append("images")
        row.pop("images")
    elif "videos" in row:
        if _present(row, "videos"):
            dropped.append("videos")
        row.pop("videos")
    if "answer" not in row:
        raise Refused("no 'answer' (answer_key)")
    row["ground_truth"] = row.pop("answer")
    missing = [k for k in RL_TRAINER_KEYS if k not in row]
    if missing:
        raise Refused(f"the trainer reads {missing}, which the row lacks")
    return LoadedRl(blocks, {f"{kind}s": paths} if kind else {}, dropped, row)


_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


@dataclass
class ReadEval:
    media: list[tuple[str, str]]  # (kind, path) in the order the model sees them, before the text
    text: str  # the question text the prompt template wraps
    truth: str  # the ground truth the scorer compares with


def read_eval_row(row: dict[str, Any], base_prefix: "str | os.PathLike") -> ReadEval:
    """One row through the evaluation script's rules."""
    data_type = (row.get("data_type") or "").strip().lower()

    def joined(raw: str) -> str:
        return os.path.join(base_prefix, raw.lstrip("./").lstrip("/"))

    path = joined(row.get("path") or "")
    if data_type == "video":
        media = [("video", path)]
    elif data_type == "image":
        media = [("image", path)]
    elif data_type == "video-image":
        if not row.get("additional_path"):
            raise Refused("data_type=video-image needs additional_path (the image)")
        media = [("video", path), ("image", joined(row["additional_path"]))]
    else:
        media = []
    for _, p in media:
        if not os.path.isfile(p):
            raise Refused(f"{p} does not exist")
    text = row.get("problem") or ""
    options = row.get("options")
    if row.get("problem_type") == "multiple choice" and isinstance(options, list) and options:
        text += "\nOptions:\n" + "\n".join(options)
    solution = row.get("solution", "")
    found = _ANSWER.search(solution)
    inner = found.group(1).strip() if found else solution.strip()
    return ReadEval(media, text, inner or solution)  # an empty answer falls back to the whole solution
