"""``parse(text, task)``: model text -> :class:`Answer`, while streaming or when done.  Never raises."""

from __future__ import annotations

import re
from dataclasses import dataclass

from onethinker.answer.answer import Answer, Phase
from onethinker.answer.decode import DECODERS, GRID_EXTENT, STREAMING_PREVIEW, DecodeContext, Decoded, Extent
from onethinker.tasks import VIDEO, Task, UnknownTaskError, get_task

# Tags with any whitespace inside: "<think>", "< / think >", "</ANSWER >".  The slash and the spaces
# after it form one optional group, so a '<' followed by many spaces is scanned once (two adjacent
# "\s*" split the spaces every possible way: quadratic).
_TAG = re.compile(r"<\s*(?:(/)\s*)?(think|answer)\s*>", re.IGNORECASE)
_TAG_NAMES = ("think", "answer")


def _strip_cut_tag(s: str) -> str:
    """Drop a tag cut off by the stream at the very end: "<", "</", "</ans", "< thi"."""
    i = s.rfind("<")
    if i < 0:
        return s
    rest = s[i + 1 :].lstrip()
    if rest.startswith("/"):
        rest = rest[1:].lstrip()
    rest = rest.rstrip()
    if (rest == "" or (rest.isascii() and rest.isalpha())) and any(n.startswith(rest.lower()) for n in _TAG_NAMES):
        return s[:i]
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
    """Find reasoning and answer in ``text``; ``final=False`` while the model is still writing.

    The answer is the first ``<answer>…</answer>`` block, wherever it is: the block the reward scores
    (see :func:`onethinker.rewards.extract_answer`), so what is shown is what is scored.  Every choice
    below depends only on complete tags, which text appended later cannot change, so while streaming
    the phase only moves forward: thinking → answering → done.
    """
    warnings: list[str] = []
    tags = [(m.start(), m.end(), bool(m.group(1)), m.group(2).lower()) for m in _TAG.finditer(text)]

    def first(name: str, closing: bool, after: int = 0, before: int | None = None):
        return next((t for t in tags if t[3] == name and t[2] == closing and t[0] >= after
                     and (before is None or t[0] < before)), None)

    t_close = first("think", True)
    t_open = first("think", False, before=t_close[0] if t_close else None)
    a_open = first("answer", False)
    a_close = first("answer", True, a_open[1]) if a_open else None
    if a_open and first("answer", False, a_open[1]):
        warnings.append("the response has several <answer> blocks; showing the first, the one that is scored")

    think_start = t_open[1] if t_open else 0
    ends = [t[0] for t in (t_close, a_open) if t and t[0] >= think_start]
    if ends:
        think = text[think_start : min(ends)]
        if t_close and not t_open:
            warnings.append("missing <think> tag before the reasoning")
        elif not t_close:
            warnings.append("reasoning has no </think> tag" if t_open else "missing <think>…</think> tags")
    else:
        think = _strip_cut_tag(text[think_start:])
    think = think.strip()

    if a_open and a_close:
        if text[a_close[1] :].strip():
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
    if data_type is not None and not isinstance(data_type, str):
        return Answer(task=str(task), phase="done", raw=text,
                      error=f"data_type must be text such as 'image' or 'video', got {type(data_type).__name__}")
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
    return Answer(**base, payload=out.payload, error=out.error, warnings=out.all_warnings())
