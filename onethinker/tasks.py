"""The task catalogue: one registry entry per task.

An entry says what the task is called in the official data (``problem_type``), which media it takes,
the instruction appended to the user's question, the answer payload type it produces and the
reward kind that scores it.  Parsing, rendering and scoring all look a task up here, so a new task
of a known kind is one new :class:`Task` in :data:`TASKS` and nothing else.

The instructions restate the output contract the model was trained on, in our own words.  Users
can replace any of them with a prompt-template file (JSON or YAML, see :func:`load_prompt_templates`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping

from onethinker.payloads import (
    BoxAnswer,
    MathExpression,
    Number,
    OptionLetter,
    Payload,
    SegmentationPrompt,
    SpatioTemporal,
    Text,
    TimeSpan,
    Track,
)

IMAGE = "image"
VIDEO = "video"
MEDIA_KINDS = (IMAGE, VIDEO)
DATA_TYPES = ("image", "video", "video-image")  # video-image: a request with a video and an image

MAX_TRACK_SECONDS = 32


class UnknownTaskError(ValueError):
    """Raised by :func:`get_task` with a message that lists the known tasks."""


@dataclass(frozen=True)
class Task:
    id: str  # unique key in the registry
    problem_type: str  # the name the official data and rewards use
    title: str  # shown to people
    media: tuple[str, ...]  # which media kinds it accepts
    payload: type[Payload]
    reward: str  # reward kind, see onethinker.rewards
    instruction: str  # appended to the question
    aliases: tuple[str, ...] = ()

    @property
    def is_video_only(self) -> bool:
        return self.media == (VIDEO,)

    @property
    def has_coordinates(self) -> bool:
        return self.payload in (BoxAnswer, SpatioTemporal, Track, SegmentationPrompt)


_FORMAT = (
    "{question}\n"
    "Answer from what you see in the {media}. Reason step by step inside <think> and </think>, "
    "then give only the final answer inside <answer> and </answer>.\n"
)

_SEG_ADVICE = (
    "Put the positive points well inside the object and the negative points on clear background, "
    "never on the object or its outline; negatives inside the box are best when they are safely off the object. "
)

TASKS: dict[str, Task] = {}


def register(task: Task) -> Task:
    """Add a task to the catalogue (ids and aliases must be new)."""
    for key in (task.id, *task.aliases):
        if key in TASKS and TASKS[key] is not task:
            raise ValueError(f"task name {key!r} is already registered")
    TASKS[task.id] = task
    if "_lookup" in globals():
        _lookup.cache_clear()
    return task


for _t in (
    Task("multiple choice", "multiple choice", "Multiple choice", MEDIA_KINDS, OptionLetter, "option",
         "Write only the letter of the chosen option between the answer tags, e.g. <answer>B</answer>.",
         aliases=("multiple-choice", "mcq")),
    Task("numerical", "numerical", "Numerical answer", MEDIA_KINDS, Number, "number_exact",
         "Write only the number between the answer tags, e.g. <answer>2.5</answer>."),
    Task("regression", "regression", "Estimate (regression)", MEDIA_KINDS, Number, "relative_accuracy",
         "Write only your numeric estimate between the answer tags, e.g. <answer>37.5</answer>."),
    Task("ocr", "OCR", "Read the text (OCR)", MEDIA_KINDS, Text, "wer",
         "Write only the text you read between the answer tags, e.g. <answer>OPEN 24 HOURS</answer>."),
    Task("open-ended", "open-ended", "Open-ended question", MEDIA_KINDS, Text, "rouge",
         "Write only your answer as plain text between the answer tags, e.g. <answer>A dog chases a ball.</answer>.",
         aliases=("open ended",)),
    Task("captioning", "open-ended", "Captioning", MEDIA_KINDS, Text, "rouge",
         "Write only the description between the answer tags, e.g. "
         "<answer>A cyclist rides past a red shop front at dusk.</answer>.",
         aliases=("caption",)),
    Task("math", "math", "Math", MEDIA_KINDS, MathExpression, "math",
         "Write only the final result, a number or a LaTeX expression, between the answer tags, "
         "e.g. <answer>$\\frac{7}{2}$</answer>."),
    Task("temporal grounding", "temporal grounding", "Temporal grounding", (VIDEO,), TimeSpan, "tiou",
         "Write only the start and end time in seconds as JSON between the answer tags, "
         'e.g. <answer>{"time": [4.2, 11.8]}</answer>.'),
    Task("spatial grounding", "spatial grounding", "Spatial grounding", MEDIA_KINDS, BoxAnswer, "box_iou",
         "Write only one bounding box [x1, y1, x2, y2] as JSON under the key \"boxes\" between the answer tags, "
         "with coordinates as integers from 0 to 1000 relative to the image width and height, "
         'e.g. <answer>{"boxes": [120, 340, 560, 910]}</answer>.'),
    Task("spatial-temporal grounding", "spatial-temporal grounding", "Spatio-temporal grounding", (VIDEO,),
         SpatioTemporal, "spatio_temporal",
         "Write only JSON between the answer tags with the time span in seconds under \"time\" and, under "
         "\"boxes\", one box [x1, y1, x2, y2] for every whole second inside that span, keyed by the second; "
         "coordinates are integers from 0 to 1000 relative to the frame width and height, e.g. "
         '<answer>{"time": [3.4, 6.1], "boxes": {"4": [210, 300, 480, 820], "5": [230, 310, 500, 830], '
         '"6": [250, 305, 520, 840]}}</answer>.',
         aliases=("spatio-temporal grounding", "st grounding")),
    Task("tracking", "tracking", "Tracking", (VIDEO,), Track, "track",
         f"Follow the object given in the question and write one box [x1, y1, x2, y2] per second, for at most "
         f"{MAX_TRACK_SECONDS} seconds, as JSON under \"boxes\" keyed 1, 2, 3, ... between the answer tags: key \"1\" "
         "is the first frame (t = 0 s), key \"2\" the frame at t = 1 s, and so on; coordinates are integers from 0 "
         "to 1000 relative to the frame width and height, e.g. "
         '<answer>{"boxes": {"1": [400, 220, 650, 460], "2": [430, 225, 670, 450]}}</answer>.'),
    Task("segmentation-image", "segmentation", "Segmentation (image)", (IMAGE,), SegmentationPrompt,
         "segmentation_image",
         "Your answer will prompt a segmentation model such as SAM2. Give one box around the object, three "
         "positive points and three negative points, as JSON between the answer tags; coordinates are integers "
         "from 0 to 1000 relative to the image width and height. " + _SEG_ADVICE +
         'E.g. <answer>{"boxes": [100, 150, 600, 900], "positive_points": [[300, 400], [350, 600], [280, 700]], '
         '"negative_points": [[120, 170], [580, 200], [50, 950]]}</answer>.',
         aliases=("image segmentation",)),
    Task("segmentation-video", "segmentation", "Segmentation (video)", (VIDEO,), SegmentationPrompt,
         "segmentation_video",
         "Your answer will prompt a video segmentation model such as SAM2. Choose one key moment (in seconds) "
         "where the object is clearly visible and, for that frame, give one box around the object, three positive "
         "points and three negative points, as JSON between the answer tags; coordinates are integers from 0 to "
         "1000 relative to the frame width and height. " + _SEG_ADVICE +
         'E.g. <answer>{"time": 7.5, "boxes": [100, 150, 600, 900], "positive_points": [[300, 400], [350, 600], '
         '[280, 700]], "negative_points": [[120, 170], [580, 200], [50, 950]]}</answer>.',
         aliases=("video segmentation",)),
):
    register(_t)


def _norm(name: str) -> str:
    return " ".join(name.strip().lower().replace("_", " ").split())


def get_task(name: "str | Task", data_type: str | None = None) -> Task:
    """Find a task by id, alias or official ``problem_type`` (case-insensitive).

    ``problem_type="segmentation"`` needs ``data_type`` ("image" or "video") to choose the variant;
    without it the image variant is returned.  Unknown names raise :class:`UnknownTaskError`.
    """
    if isinstance(name, Task):
        return name
    if not isinstance(name, str) or not name.strip():
        raise UnknownTaskError(f"task must be a non-empty string, got {name!r}; known tasks: {task_names()}")
    task = _lookup(name, data_type if isinstance(data_type, str) else None)
    if task is None:
        raise UnknownTaskError(f"unknown task {name!r}; known tasks: {task_names()}")
    return task


@lru_cache(maxsize=1024)
def _lookup(name: str, data_type: str | None) -> Task | None:
    key = _norm(name)
    candidates = [t for t in TASKS.values() if key in {_norm(t.id), *(_norm(a) for a in t.aliases)}] or [
        t for t in TASKS.values() if _norm(t.problem_type) == key and t.id != "captioning"
    ]
    if not candidates:
        return None
    if len(candidates) > 1 and data_type:
        kind = VIDEO if _norm(data_type).startswith("video") else IMAGE
        for t in candidates:
            if kind in t.media:
                return t
    return candidates[0]


def task_names() -> list[str]:
    return list(TASKS)


# ---------------------------------------------------------------------------------------------
# Prompts


@dataclass(frozen=True)
class PromptTemplates:
    """The text wrapped around a question.  ``preamble`` takes ``{question}`` and ``{media}``."""

    preamble: str = _FORMAT
    instructions: Mapping[str, str] = field(default_factory=dict)  # task id -> instruction override
    options_header: str = "Options:"

    def instruction_for(self, task: Task) -> str:
        return self.instructions.get(task.id, task.instruction)


DEFAULT_TEMPLATES = PromptTemplates()


def load_prompt_templates(path: str | Path) -> PromptTemplates:
    """Read a JSON or YAML file ``{"preamble": ..., "instructions": {task: text}, "options_header": ...}``.

    Every key is optional.  Raises ``ValueError`` naming the file and the problem.
    """
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ValueError(f"cannot read prompt template file {p}: {e.strerror or e}") from None
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(raw)
        else:
            data = json.loads(raw)
    except Exception as e:  # any parse error of the file format
        raise ValueError(f"prompt template file {p} is not valid {p.suffix.lstrip('.') or 'JSON'}: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"prompt template file {p} must hold an object at the top level")
    unknown_keys = set(data) - {"preamble", "instructions", "options_header"}
    if unknown_keys:
        raise ValueError(f"prompt template file {p} has unknown keys {sorted(unknown_keys)}")
    preamble = data.get("preamble", _FORMAT)
    if not isinstance(preamble, str) or "{question}" not in preamble:
        raise ValueError(f"prompt template file {p}: 'preamble' must be text containing {{question}}")
    try:
        preamble.format(question="", media="")
    except (KeyError, IndexError, ValueError) as e:
        raise ValueError(f"prompt template file {p}: 'preamble' may only use {{question}} and {{media}} ({e})") from None
    instr = data.get("instructions", {}) or {}
    if not isinstance(instr, dict) or not all(isinstance(v, str) for v in instr.values()):
        raise ValueError(f"prompt template file {p}: 'instructions' must map task names to text")
    resolved: dict[str, str] = {}
    for name, text in instr.items():
        try:
            resolved[get_task(name).id] = text
        except UnknownTaskError as e:
            raise ValueError(f"prompt template file {p}: {e}") from None
    header = data.get("options_header", "Options:")
    if not isinstance(header, str):
        raise ValueError(f"prompt template file {p}: 'options_header' must be text")
    return PromptTemplates(preamble, resolved, header)


def build_prompt(
    task: "str | Task",
    question: str,
    options: Iterable[str] | None = None,
    data_type: str = IMAGE,
    templates: PromptTemplates = DEFAULT_TEMPLATES,
) -> str:
    """The user turn's text: question, options (multiple choice), format preamble, task instruction.

    Raises :class:`UnknownTaskError` / ``ValueError`` with a message naming what is wrong.
    """
    t = get_task(task, data_type)
    if not isinstance(question, str):
        raise ValueError(f"question must be text, got {type(question).__name__}")
    q = question.strip()
    if options is not None and not isinstance(options, (str, bytes)):
        opts = [str(o).strip() for o in options if str(o).strip()]
        if opts:
            q = f"{q}\n{templates.options_header}\n" + "\n".join(opts)
    elif isinstance(options, (str, bytes)):
        raise ValueError("options must be a list of strings such as ['A. cat', 'B. dog'], not one string")
    media = VIDEO if str(data_type).startswith("video") else IMAGE
    return templates.preamble.format(question=q, media=media) + templates.instruction_for(t)


def with_instruction(task: Task, instruction: str) -> Task:
    """A copy of ``task`` with another instruction (for experiments; the registry is unchanged)."""
    return replace(task, instruction=instruction)


def tasks_for(data_type: str) -> list[Task]:
    """The tasks a request of ``data_type`` can ask, in catalogue order.

    A ``video-image`` request needs a task that takes video, as the engine and the feedback store require.
    """
    kind = VIDEO if str(data_type).startswith(VIDEO) else IMAGE
    return [t for t in TASKS.values() if kind in t.media]


def tracking_question(description: str, first_box: "Iterable[float] | None" = None) -> str:
    """The question of a tracking request: the object to follow and, when given, its first-frame box
    ``[x1, y1, x2, y2]`` on the 0–1000 grid, written as the answers write boxes."""
    text = (description or "").strip()
    if first_box is None:
        return text
    box = [int(round(float(v))) for v in first_box]
    if len(box) != 4:
        raise ValueError(f"a first-frame box needs 4 numbers, got {len(box)}")
    lead = text if text else "Track the object"
    if lead[-1] not in ".?!":
        lead += "."
    return f"{lead} Its box in the first frame is [{box[0]}, {box[1]}, {box[2]}, {box[3]}]."
