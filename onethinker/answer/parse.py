"""``parse(text, task)``: model text -> :class:`Answer`, while streaming or when done.  Never raises."""

from __future__ import annotations

import re
from dataclasses import dataclass

from onethinker.answer.answer import Answer, Phase
from onethinker.answer.decode import DECODERS, GRID_EXTENT, STREAMING_PREVIEW, DecodeContext, Decoded, Extent
from onethinker.tasks import VIDEO, Task, UnknownTaskError, get_task

# Tags with any whitespace inside: "<think>", "< / think >", "</ANSWER >".
_TAG = re.compile(r"<\s*(/?)\s*(think|answer)\s*>", re.IGNORECASE)
# A tag cut off by the stream: "<", "</", "</ans", "< thi" at the very end of the text.
_CUT_TAG = re.compile(r"<\s*/?\s*([a-zA-Z]*)\s*$")


def _strip_cut_tag(s: str) -> str:
    m = _CUT_TAG.search(s)
    if m and any(name.startswith(m.group(1).lower()) for name in ("think", "answer")):
        return s[: m.start()]
    return s


@dataclass(frozen=True)
class Split:
    """Where a response stands: its reasoning, its answer text (None if not reached) and phase."""

    phase: Phase
    think: str
    answer_text: str | None
    warnings: tuple[str, ...] = ()
    error: str | None = None
    closed: bool = False  # the answer tag was closed


def split_response(text: str, final: bool = True) -> Split:
    """Find reasoning and answer in ``text``; ``final=False`` while the model is still writing."""
    warnings: list[str] = []
    tags = [(m.start(), m.end(), bool(m.group(1)), m.group(2).lower()) for m in _TAG.finditer(text)]

    def first(name: str, closing: bool, after: int = 0):
        return next((t for t in tags if t[3] == name and t[2] == closing and t[0] >= after), None)

    t_open = first("think", False)
    t_close = first("think", True, t_open[1] if t_open else 0)
    a_open = first("answer", False, t_close[1] if t_close else (t_open[1] if t_open else 0))
    a_close = first("answer", True, a_open[1]) if a_open else None

    think_start = t_open[1] if t_open else 0
    if t_close:
        think = text[think_start : t_close[0]]
        if not t_open:
            warnings.append("missing <think> tag before the reasoning")
    elif a_open:
        think = text[think_start : a_open[0]]
        warnings.append("reasoning has no </think> tag" if t_open else "missing <think>…</think> tags")
    else:
        think = _strip_cut_tag(text[think_start:])
    think = think.strip()

    if a_open and a_close:
        tail = text[a_close[1] :].strip()
        if tail:
            warnings.append("ignored text after </answer>")
        return Split("done", think, text[a_open[1] : a_close[0]].strip(), tuple(warnings), None, True)
    if a_open:
        partial = text[a_open[1] :]
        if final:
            warnings.append("answer has no </answer> tag; used the text to the end")
            return Split("done", think, partial.strip(), tuple(warnings))
        return Split("answering", think, _strip_cut_tag(partial).strip(), tuple(warnings))
    if not final:
        return Split("answering" if t_close else "thinking", think, None, tuple(warnings))
    # The stream has ended and there was no <answer>: salvage what we can, say so.
    if t_close:
        rest = text[t_close[1] :].strip()
        if rest:
            warnings.append("no <answer> tags; used the text after </think>")
            return Split("done", think, rest, tuple(warnings))
        return Split("done", think, None, tuple(warnings), "the response has no answer after </think>")
    if t_open:
        return Split("done", think, None, tuple(warnings), "the response ended inside <think> without an answer")
    whole = text.strip()
    if not whole:
        return Split("done", "", None, tuple(warnings), "the response is empty")
    warnings.append("no <think>/<answer> tags; used the whole response as the answer")
    return Split("done", "", whole, tuple(warnings))


def parse(
    text: str,
    task: "str | Task",
    *,
    data_type: str | None = None,
    final: bool = True,
    extent: Extent = GRID_EXTENT,
) -> Answer:
    """Turn model text into an :class:`Answer`.

    ``final=False`` while streaming: the phase is then "thinking" or "answering" until the answer
    closes, and tracking / spatio-temporal answers carry the seconds completed so far.
    ``extent`` is the model-space size used to clamp coordinates: the 0–1000 grid by default, the
    resized input size for absolute-pixel models, or None for no clamping.
    Never raises: problems come back in ``Answer.error``.
    """
    if not isinstance(text, str):
        return Answer(task=str(task), phase="done", error=f"model output must be text, got {type(text).__name__}")
    try:
        t = get_task(task, data_type)
    except UnknownTaskError as e:
        return Answer(task=str(task), phase="done", raw=text, error=str(e))
    try:
        return _parse(text, t, data_type, final, extent)
    except Exception as e:  # pragma: no cover - a bug; the tests assert this branch is never taken
        return Answer(task=t.id, phase="done", raw=text, data_type=data_type,
                      error=f"internal parser error ({type(e).__name__}: {e}); please report this response")


def _parse(text: str, t: Task, data_type: str | None, final: bool, extent: Extent) -> Answer:
    split = split_response(text, final)
    video = (data_type or "").startswith(VIDEO) or t.is_video_only
    base = dict(task=t.id, phase=split.phase, think=split.think, answer_text=split.answer_text,
                raw=text, data_type=data_type)
    if split.error or split.answer_text is None:
        return Answer(**base, error=split.error, warnings=split.warnings)
    streaming = split.phase == "answering"
    if streaming and t.payload not in STREAMING_PREVIEW:
        return Answer(**base, warnings=split.warnings)
    out = Decoded(warnings=list(split.warnings))
    DECODERS[t.payload](split.answer_text, DecodeContext(extent, video, streaming), out)
    return Answer(**base, payload=out.payload, error=out.error, warnings=tuple(out.warnings))
