"""Check a :class:`Record` before it is written; every refusal names the field that is wrong.

Validation runs before the write transaction starts, so a refused record leaves nothing behind in
the database.  A correction is checked three ways: its payload must be the task's payload type, its
coordinates must lie on the 0–1000 grid, and the answer text it would export must parse back with
:func:`onethinker.answer.parse` without error (what training will read is what we checked); its
rationale, if any, must be plain reasoning (no think/answer tags: exports write those around it).
A preference between two outputs that are the same text is refused: it would teach nothing.
"""

from __future__ import annotations

import math
import re
from typing import Any, Mapping

from onethinker.answer import Answer, SegmentationPrompt, SpatioTemporal, TimeSpan, Track, coordinate_fields, parse
from onethinker.payloads import OptionLetter
from onethinker.coords import GRID_SIZE
from onethinker.feedback.media import MediaStore, is_sha256
from onethinker.feedback.record import Correction, FeedbackError, Preference, Record, Vote, same_output
from onethinker.tasks import DATA_TYPES, IMAGE, MAX_TRACK_SECONDS, VIDEO, Task, UnknownTaskError, get_task

MAX_TEXT = 1_000_000  # characters in one prompt or output; a guard against pasting a file by mistake
# A rationale is written inside <think>…</think>: its own think/answer tags would end that block early.
# One optional group, not \s*/?\s*: a "<" before a long run of spaces must cost linear time, not quadratic.
_FORMAT_TAG = re.compile(r"<\s*(?:/\s*)?(?:think|answer)\s*>", re.IGNORECASE)


def validate(record: Record, media: MediaStore | None = None) -> Task:
    """Raise :class:`FeedbackError` for the first problem found; return the record's task."""
    if not isinstance(record, Record):
        raise FeedbackError("record", f"must be a Record, got {type(record).__name__}")
    task = _task(record)
    _texts(record)
    _media(record, task, media)
    _outputs(record, task)
    _frame_times(record.frame_times)
    _sampling(record.sampling)
    if record.session and not is_sha256(record.session):
        raise FeedbackError("session", "must be FeedbackStore.hash_session(...) of the id, never the raw id")
    _feedback(record, task)
    return task


def _task(record: Record) -> Task:
    if record.data_type not in DATA_TYPES:
        raise FeedbackError("data_type", f"must be one of {DATA_TYPES}, got {record.data_type!r}")
    try:
        task = get_task(record.task, record.data_type)
    except UnknownTaskError as e:
        raise FeedbackError("task", str(e)) from None
    kind = VIDEO if record.data_type.startswith(VIDEO) else IMAGE
    if kind not in task.media:
        raise FeedbackError("data_type", f"task {task.id!r} takes {' or '.join(task.media)}, not {record.data_type!r}")
    return task


def _texts(record: Record) -> None:
    for name in ("prompt", "question"):
        value = getattr(record, name)
        if not isinstance(value, str) or not value.strip():
            raise FeedbackError(name, "must be non-empty text")
        if len(value) > MAX_TEXT:
            raise FeedbackError(name, f"is longer than {MAX_TEXT} characters")
    for i, o in enumerate(record.options):
        if not isinstance(o, str) or not o.strip():
            raise FeedbackError(f"options[{i}]", "must be non-empty text")
    for name in ("model_id", "model_revision", "backend", "uid", "created"):
        if not isinstance(getattr(record, name), str):
            raise FeedbackError(name, "must be text")
    if not record.uid:
        raise FeedbackError("uid", "must not be empty")


def _media(record: Record, task: Task, store: MediaStore | None) -> None:
    needed = {"image": (IMAGE,), "video": (VIDEO,), "video-image": (VIDEO, IMAGE)}[record.data_type]
    kinds = [m.kind for m in record.media]
    for kind in needed:
        if kind not in kinds:
            raise FeedbackError("media", f"a {record.data_type} request needs at least one {kind}; none was given")
    for i, ref in enumerate(record.media):
        if ref.kind not in needed:
            raise FeedbackError(f"media[{i}].kind", f"a {record.data_type} request takes no {ref.kind}")
        if not is_sha256(ref.sha256):
            raise FeedbackError(f"media[{i}].sha256", "must be a sha256 from MediaStore.put, not a file name")
        if store is not None and not store.has(ref):
            raise FeedbackError(f"media[{i}]", f"{ref.filename} is not in the media store (store it with put_media)")


def _outputs(record: Record, task: Task) -> None:
    if not record.outputs:
        raise FeedbackError("outputs", "must hold at least one model output")
    if len(record.answers) != len(record.outputs):
        raise FeedbackError("answers", f"must hold one parsed answer per output ({len(record.outputs)}), "
                                       f"got {len(record.answers)}")
    for i, (text, ans) in enumerate(zip(record.outputs, record.answers)):
        if not isinstance(text, str):
            raise FeedbackError(f"outputs[{i}]", "must be text")
        if len(text) > MAX_TEXT:
            raise FeedbackError(f"outputs[{i}]", f"is longer than {MAX_TEXT} characters")
        if not isinstance(ans, Answer):
            raise FeedbackError(f"answers[{i}]", f"must be an onethinker.answer.Answer, got {type(ans).__name__}")
        if ans.raw not in ("", text):
            raise FeedbackError(f"answers[{i}].raw", f"must be the text of outputs[{i}] it was parsed from")
        if ans.task != task.id:
            raise FeedbackError(f"answers[{i}].task", f"is {ans.task!r} but the record's task is {task.id!r}")
        if ans.payload is not None and not isinstance(ans.payload, task.payload):
            raise FeedbackError(f"answers[{i}].payload", f"must be a {task.payload.__name__} for task {task.id!r}, "
                                                         f"got {type(ans.payload).__name__}")


def _frame_times(times: tuple[float, ...]) -> None:
    last = -math.inf
    for i, t in enumerate(times):
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t < 0:
            raise FeedbackError(f"frame_times[{i}]", f"must be a non-negative number of seconds, got {t!r}")
        if t < last:
            raise FeedbackError(f"frame_times[{i}]", "frame times must not go backwards")
        last = t


def _sampling(sampling: Mapping[str, Any]) -> None:
    if not isinstance(sampling, Mapping):
        raise FeedbackError("sampling", "must be a mapping of setting names to values")
    for key, value in sampling.items():
        if not isinstance(key, str):
            raise FeedbackError("sampling", f"setting names must be text, got {key!r}")
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise FeedbackError(f"sampling.{key}",
                                f"must be a number, text, true/false or null, got {type(value).__name__}")
        if isinstance(value, float) and not math.isfinite(value):
            raise FeedbackError(f"sampling.{key}", "must be a finite number")


def _output_index(i: Any, record: Record, name: str) -> None:
    if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(record.outputs):
        raise FeedbackError(name, f"must index one of the {len(record.outputs)} outputs, got {i!r}")


def _feedback(record: Record, task: Task) -> None:
    fb = record.feedback
    if not isinstance(getattr(fb, "comment", None), str):
        raise FeedbackError("feedback.comment", "must be text")
    if isinstance(fb, Vote):
        if fb.value not in (1, -1) or isinstance(fb.value, bool):
            raise FeedbackError("feedback.value", f"a vote must be +1 or -1, got {fb.value!r}")
        _output_index(fb.output, record, "feedback.output")
    elif isinstance(fb, Preference):
        if len(record.outputs) != 2:
            raise FeedbackError("outputs", f"a preference compares exactly two outputs, got {len(record.outputs)}")
        _output_index(fb.chosen, record, "feedback.chosen")
        if same_output(*record.outputs):
            raise FeedbackError("outputs", "a preference needs two different outputs; outputs[0] and outputs[1] "
                                           "are the same text, so there is nothing to prefer")
    elif isinstance(fb, Correction):
        _output_index(fb.output, record, "feedback.output")
        if not isinstance(fb.keep_reasoning, bool):
            raise FeedbackError("feedback.keep_reasoning", "must be true or false")
        _rationale(fb.rationale)
        check_correction(fb.payload, task, record.data_type, len(record.options))
    else:
        raise FeedbackError("feedback", f"must be a Vote, Preference or Correction, got {type(fb).__name__}")


def _rationale(text: Any) -> None:
    if not isinstance(text, str):
        raise FeedbackError("feedback.rationale", "must be text")
    if len(text) > MAX_TEXT:
        raise FeedbackError("feedback.rationale", f"is longer than {MAX_TEXT} characters")
    tag = _FORMAT_TAG.search(text)
    if tag:
        raise FeedbackError("feedback.rationale", f"must be plain reasoning without {tag.group(0)!r}: the export "
                                                  "writes it inside <think>…</think> itself")


def check_correction(payload: Any, task: Task, data_type: str, n_options: int = 0) -> None:
    """Refuse a corrected answer that training could not use, naming the field (``feedback.correction.…``)."""
    where = "feedback.correction"
    if not isinstance(payload, task.payload):
        raise FeedbackError(where, f"task {task.id!r} needs a {task.payload.__name__} answer, "
                                   f"got {type(payload).__name__}")
    for name, value in coordinate_fields(payload):
        if not math.isfinite(value) or not 0 <= value <= GRID_SIZE:
            raise FeedbackError(f"{where}.{name}", f"{value:g} is outside the 0..{GRID_SIZE} grid")
    _check_shape(payload, task, data_type, n_options, where)
    text = payload.answer_text()
    back = parse(f"<answer>{text}</answer>", task, data_type=data_type, extent=None)
    if back.error or back.payload is None:
        raise FeedbackError(where, f"the answer {text[:120]!r} does not parse: {back.error}")


def _check_shape(p: Any, task: Task, data_type: str, n_options: int, where: str) -> None:
    if isinstance(p, (TimeSpan, SpatioTemporal)):
        if not (math.isfinite(p.start) and math.isfinite(p.end)) or not 0 <= p.start <= p.end:
            raise FeedbackError(f"{where}.time",
                                f"must be [start, end] with 0 <= start <= end, got [{p.start:g}, {p.end:g}]")
    if isinstance(p, (Track, SpatioTemporal)):
        if isinstance(p, Track) and not p.boxes:
            raise FeedbackError(f"{where}.boxes", "must hold at least one box")
        for sec, (x1, y1, x2, y2) in p.boxes.items():
            if sec < 0 or (isinstance(p, Track) and not 1 <= sec <= MAX_TRACK_SECONDS):
                raise FeedbackError(f"{where}.boxes.{sec}", f"second {sec} is outside 1..{MAX_TRACK_SECONDS}")
            if x1 > x2 or y1 > y2:
                raise FeedbackError(f"{where}.boxes.{sec}", "corners must be [x1, y1, x2, y2] with x1 <= x2, y1 <= y2")
    box = getattr(p, "box", None)
    if box is not None and (box[0] > box[2] or box[1] > box[3]):
        raise FeedbackError(f"{where}.boxes", "corners must be [x1, y1, x2, y2] with x1 <= x2, y1 <= y2")
    if isinstance(p, SegmentationPrompt):
        video = data_type.startswith(VIDEO)
        if video and (p.time is None or not math.isfinite(p.time) or p.time < 0):
            raise FeedbackError(f"{where}.time", "video segmentation needs the key frame's time in seconds (>= 0)")
        if not video and p.time is not None:
            raise FeedbackError(f"{where}.time", "an image segmentation answer has no time")
        if not p.positive_points:
            raise FeedbackError(f"{where}.positive_points", "must hold at least one point")
    if isinstance(p, OptionLetter):
        letter = p.letter
        if len(letter) != 1 or not "A" <= letter <= "Z":
            raise FeedbackError(f"{where}.letter", f"must be one capital letter, got {letter!r}")
        if n_options and ord(letter) - ord("A") >= n_options:
            raise FeedbackError(f"{where}.letter", f"{letter!r} is not one of the {n_options} options")


def parse_correction(text: str, task: "str | Task", data_type: str | None = None, **fields: Any) -> Correction:
    """A :class:`Correction` from answer text as a person typed it (``{"boxes": [..]}``, ``B``, ``3.5``).

    Parsed with :func:`onethinker.answer.parse` without clamping, then checked like any correction,
    so ``{"boxes": [0, 0, 1200, 50]}`` is refused as ``feedback.correction.boxes[2]``.
    """
    t = get_task(task, data_type)
    dt = data_type or (VIDEO if t.is_video_only else IMAGE)
    back = parse(f"<answer>{text}</answer>", t, data_type=dt, extent=None)
    if back.error or back.payload is None:
        raise FeedbackError("feedback.correction", f"{text[:120]!r} is not a valid {t.id} answer: {back.error}")
    correction = Correction(back.payload, **fields)
    check_correction(correction.payload, t, dt)
    return correction
