"""Stored records → training rows, one generator per format.  No files, no database, no re-parsing.

A :class:`Rows` builder is fed :class:`~onethinker.feedback.codec.Item` s in id order and gives
``(row, media)`` pairs; DPO vote pairs come at the end, grouped by request.  Media paths in rows
are ``media/<sha256><ext>``, relative to the export folder.  Answer texts are the ones computed
from the parsed payloads when the record was written (``payload.answer_text()``).

* **sft** (LLaMA-Factory sharegpt): up-voted outputs that parsed, and corrections, become one user
  turn (the exact prompt, preceded by one ``<image>``/``<video>`` placeholder per medium) and one
  assistant turn ``<think>…</think><answer>…</answer>`` in the canonical format, so repairs the
  parser made for display are not trained in.  A correction keeps the model's reasoning only when
  the reviewer kept it (see :class:`ExportOptions`).
* **rl** (OneThinker RL JSON): the same sources; ``solution`` is the answer inside
  ``<answer>…</answer>``, ``problem`` the question without the format instructions.
* **dpo** (TRL conversational preference rows): preferences, and up/down votes on the same request
  (same prompt and media bytes) paired in id order.  Chosen and rejected are the raw outputs: the
  point of DPO is to move the model away from what it actually wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from onethinker.feedback.codec import Item
from onethinker.feedback.record import MediaRef
from onethinker.tasks import get_task

Row = dict[str, Any]
Built = tuple[Row, tuple[MediaRef, ...]]
PLACEHOLDER = {"image": "<image>", "video": "<video>"}


@dataclass(frozen=True)
class ExportOptions:
    """How corrections are written into SFT rows.

    ``correction_reasoning``: "as-kept" (default) uses the model's reasoning where the reviewer
    ticked "keep reasoning" and the note elsewhere; "note" always the note; "model" always the
    model's reasoning.  ``link_media``: hard-link media into the export when possible (else copy).
    """

    correction_note: str = "The first answer was wrong; a reviewer corrected it."
    correction_reasoning: str = "as-kept"
    link_media: bool = True

    def __post_init__(self) -> None:
        if self.correction_reasoning not in ("as-kept", "note", "model"):
            raise ValueError("correction_reasoning must be 'as-kept', 'note' or 'model'")


# Which feedback kinds each format reads (the rest are not even fetched).
KINDS = {"sft": ("vote", "correction"), "rl": ("vote", "correction"), "dpo": ("vote", "preference")}


def media_path(ref: MediaRef) -> str:
    return f"media/{ref.filename}"


def _paths(media: Iterable[MediaRef], kind: str) -> list[str]:
    return [media_path(m) for m in media if m.kind == kind]


def response_text(think: str, answer: str) -> str:
    """A response in the format the model is trained on."""
    return f"<think>\n{think.strip()}\n</think>\n<answer>{answer}</answer>"


def _trainable(it: Item, opts: ExportOptions) -> tuple[str, str] | None:
    """(reasoning, answer text) an item teaches, or None when it teaches nothing."""
    if it.kind == "correction":
        keep = {"model": True, "note": False, "as-kept": it.feedback["keep_reasoning"]}[opts.correction_reasoning]
        return (it.think if keep and it.think.strip() else opts.correction_note), it.body["correction_text"]
    answer = it.upvoted_answer()
    return None if answer is None else (it.think, answer)


def sft_row(it: Item, opts: ExportOptions) -> Built | None:
    taught = _trainable(it, opts)
    if taught is None:
        return None
    user = "".join(PLACEHOLDER[m.kind] for m in it.media) + it.prompt
    return {
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": response_text(*taught)}],
        "images": _paths(it.media, "image"),
        "videos": _paths(it.media, "video"),
    }, it.media


_PROBLEM_TYPES: dict[tuple[str, str], str] = {}


def rl_row(it: Item, opts: ExportOptions) -> Built | None:
    taught = _trainable(it, opts)
    if taught is None:
        return None
    key = (it.task, it.data_type)
    if key not in _PROBLEM_TYPES:
        _PROBLEM_TYPES[key] = get_task(it.task, it.data_type).problem_type
    first = it.media[:1]  # OneThinker rows carry one path; a video-image request keeps its first medium
    return {
        "problem": it.question,
        "problem_type": _PROBLEM_TYPES[key],
        "data_type": it.data_type,
        "path": media_path(first[0]) if first else "",
        "options": it.body["options"],
        "solution": f"<answer>{taught[1]}</answer>",
    }, first


def _dpo_row(it: Item, chosen: str, rejected: str) -> Built:
    content: list[dict[str, str]] = [{"type": m.kind} for m in it.media]
    content.append({"type": "text", "text": it.prompt})
    return {
        "prompt": [{"role": "user", "content": content}],
        "chosen": [{"role": "assistant", "content": [{"type": "text", "text": chosen}]}],
        "rejected": [{"role": "assistant", "content": [{"type": "text", "text": rejected}]}],
        "images": _paths(it.media, "image"),
        "videos": _paths(it.media, "video"),
    }, it.media


class DpoRows:
    """Preferences give a row at once; votes wait in :meth:`pairs` for a partner on the same request."""

    def __init__(self) -> None:
        self._votes: dict[str, tuple[list[tuple[Item, str]], list[str]]] = {}  # prompt key -> (ups, downs)

    def row(self, it: Item, opts: ExportOptions) -> Built | None:
        fb, outputs = it.feedback, it.body["outputs"]
        if it.kind == "preference":
            return _dpo_row(it, outputs[fb["chosen"]], outputs[1 - fb["chosen"]])
        if it.kind == "vote":
            ups, downs = self._votes.setdefault(it.prompt_key, ([], []))
            if fb["value"] == 1:
                ups.append((it, outputs[fb["output"]]))
            else:
                downs.append(outputs[fb["output"]])
        return None

    def pairs(self) -> Iterator[Built]:
        for ups, downs in self._votes.values():
            for (it, chosen), rejected in zip(ups, downs):
                if chosen != rejected:
                    yield _dpo_row(it, chosen, rejected)


class Rows:
    """Builds one format's rows from items fed one at a time (so one pass can feed every format)."""

    def __init__(self, fmt: str, opts: ExportOptions) -> None:
        self.opts = opts
        self._dpo = DpoRows() if fmt == "dpo" else None
        self._row = {"sft": sft_row, "rl": rl_row}.get(fmt) or self._dpo.row  # type: ignore[union-attr]

    def feed(self, it: Item) -> Built | None:
        return self._row(it, self.opts)

    def rest(self) -> Iterator[Built]:
        """Rows that can only be made once every item has been seen."""
        return self._dpo.pairs() if self._dpo is not None else iter(())


def rows(items: Iterable[Item], fmt: str, opts: ExportOptions = ExportOptions()) -> Iterator[Built]:
    """All of one format's rows, in export order."""
    builder = Rows(fmt, opts)
    for it in items:
        built = builder.feed(it)
        if built is not None:
            yield built
    yield from builder.rest()
