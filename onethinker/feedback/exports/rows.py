"""Stored records → training rows, one builder per format.  No files, no database, no re-parsing.

A :class:`Rows` builder is fed :class:`~onethinker.feedback.codec.Item` s in id order.  For each it
gives a ``(row, media)`` pair, a :data:`REASONS` text saying why the item was left out of this
format, or None when the item has nothing for it (a down-vote in ``sft``); DPO vote pairs come at
the end, grouped by request.  Media paths in rows are ``media/<sha256><ext>``, relative to the export
folder, which consumers take as their media root.  Texts that a trainer reads as prompt or response
have literal media markers neutralised (:mod:`.markers`); ground-truth answers are left as written.
Answer texts are the ones computed from the parsed payloads when the record was written
(``payload.answer_text()``), so repairs the parser made for display are not trained in.

What teaches what: an up-voted output that parsed, or a correction (its answer is the ground truth).
Reasoning is never invented: an up-vote brings the model's reasoning; a correction brings the
reviewer's ``rationale``, else the model's reasoning if the reviewer kept it, else none, and then it
is left out of ``sft`` (counted) and used by ``rl`` and ``eval`` only.

* **sft** (LLaMA-Factory sharegpt): a user turn (one ``<image>``/``<video>`` per medium, then the exact
  prompt) and an assistant turn ``<think>…</think><answer>…</answer>``.
* **rl** (the OneThinker EasyR1 loader, ``prompt_key=problem``, ``answer_key=answer``): ``problem`` is
  the question after one ``<video>`` then one ``<image>`` marker per medium (the loader adds the format
  instructions and, for multiple choice, the options); ``answer`` the bare answer; ``images`` /
  ``videos`` path lists; ``problem_type``, ``data_type``, ``options``; and ``problem_reserved_text``
  (the question) and ``problem_id``, which the trainer's batch reward manager reads from every row.
* **eval** (the OneThinker evaluation script): ``problem`` (no markers: the script puts the media
  first), ``path`` (the video, or the image), ``additional_path`` (the image of a video-image request,
  else empty), ``options``, ``solution`` = ``<answer>…</answer>``, ``problem_id``.
* **dpo** (TRL conversational preference rows): preferences, and up/down votes on the same request
  (same prompt and media bytes) paired in id order.  Chosen and rejected are the raw outputs: the
  point of DPO is to move the model away from what it actually wrote.  A pair whose two outputs are
  the same (stored before that was refused) is never written.

``rl`` and ``eval`` rows name one video and one image at most (the loader hands one video to the
model; the evaluation script has one path and one additional path), so a request with more media is
left out of them.
"""

from __future__ import annotations

from typing import Any, Iterator

from onethinker.feedback.codec import Item
from onethinker.feedback.exports.markers import IMAGE_MARKER, MARKER, VIDEO_MARKER, neutralise
from onethinker.feedback.record import MediaRef, same_output
from onethinker.tasks import get_task

Row = dict[str, Any]
Built = tuple[Row, tuple[MediaRef, ...]]

NO_REASONING = "corrections without reasoning"
TOO_MANY_MEDIA = "requests with more than one image or video"
SAME_PAIR = "pairs whose two outputs are the same"
REASONS = (NO_REASONING, TOO_MANY_MEDIA, SAME_PAIR)

# Which feedback kinds each format reads (the rest are not even fetched).
KINDS = {"sft": ("vote", "correction"), "rl": ("vote", "correction"), "eval": ("vote", "correction"),
         "dpo": ("vote", "preference")}
# Formats whose rows carry ``problem_id``: their 1-based position in the file, after duplicates are dropped.
NUMBERED = ("rl", "eval")


def media_path(ref: MediaRef) -> str:
    return f"media/{ref.filename}"


def _paths(media: "tuple[MediaRef, ...] | list[MediaRef]", kind: str) -> list[str]:
    return [media_path(m) for m in media if m.kind == kind]


def response_text(think: str, answer: str) -> str:
    """A response in the format the model is trained on."""
    return f"<think>\n{think.strip()}\n</think>\n<answer>{answer}</answer>"


def _answer(it: Item) -> str | None:
    """The answer text an item teaches (an up-voted output that parsed, or a correction), else None."""
    if it.kind == "correction":
        return it.body["correction_text"]
    return it.upvoted_answer()


def _reasoning(it: Item) -> str | None:
    """The reasoning in front of that answer: someone's, never invented; None when there is none."""
    if it.kind != "correction":
        return it.think
    fb = it.feedback
    rationale = fb.get("rationale") or ""  # absent in records written before rationales existed
    if rationale.strip():
        return rationale
    if fb["keep_reasoning"] and it.think.strip():
        return it.think
    return None


_PROBLEM_TYPES: dict[tuple[str, str], str] = {}


def _problem_type(it: Item) -> str:
    key = (it.task, it.data_type)
    if key not in _PROBLEM_TYPES:
        _PROBLEM_TYPES[key] = get_task(it.task, it.data_type).problem_type
    return _PROBLEM_TYPES[key]


def _one_each(it: Item) -> tuple[list[MediaRef], list[MediaRef]] | None:
    """(videos, images) when there is at most one of each, else None."""
    videos = [m for m in it.media if m.kind == "video"]
    images = [m for m in it.media if m.kind == "image"]
    return None if len(videos) > 1 or len(images) > 1 else (videos, images)


def sft_row(it: Item) -> Built | str | None:
    answer = _answer(it)
    if answer is None:
        return None
    think = _reasoning(it)
    if think is None:
        return NO_REASONING
    user = "".join(MARKER[m.kind] for m in it.media) + neutralise(it.prompt)
    return {
        "messages": [{"role": "user", "content": user},
                     {"role": "assistant", "content": response_text(neutralise(think), neutralise(answer))}],
        "images": _paths(it.media, "image"),
        "videos": _paths(it.media, "video"),
    }, it.media


def rl_row(it: Item) -> Built | str | None:
    answer = _answer(it)
    if answer is None:
        return None
    media = _one_each(it)
    if media is None:
        return TOO_MANY_MEDIA
    videos, images = media
    question = neutralise(it.question)
    return {
        "problem": VIDEO_MARKER * len(videos) + IMAGE_MARKER * len(images) + question,
        "answer": answer,
        "images": [media_path(m) for m in images],
        "videos": [media_path(m) for m in videos],
        "problem_type": _problem_type(it),
        "data_type": it.data_type,
        "options": [neutralise(o) for o in it.body["options"]],
        "problem_reserved_text": question,
    }, (*videos, *images)


def eval_row(it: Item) -> Built | str | None:
    answer = _answer(it)
    if answer is None:
        return None
    media = _one_each(it)
    if media is None:
        return TOO_MANY_MEDIA
    videos, images = media
    first = (videos or images)[0]  # validation guarantees the media the data type names
    return {
        "problem": neutralise(it.question),
        "problem_type": _problem_type(it),
        "data_type": it.data_type,
        "path": media_path(first),
        "additional_path": media_path(images[0]) if videos and images else "",
        "options": [neutralise(o) for o in it.body["options"]],
        "solution": f"<answer>{answer}</answer>",
    }, (*videos, *images)


def _dpo_row(it: Item, chosen: str, rejected: str) -> Built:
    content: list[dict[str, str]] = [{"type": m.kind} for m in it.media]
    content.append({"type": "text", "text": neutralise(it.prompt)})
    return {
        "prompt": [{"role": "user", "content": content}],
        "chosen": [{"role": "assistant", "content": [{"type": "text", "text": neutralise(chosen)}]}],
        "rejected": [{"role": "assistant", "content": [{"type": "text", "text": neutralise(rejected)}]}],
        "images": _paths(it.media, "image"),
        "videos": _paths(it.media, "video"),
    }, it.media


class DpoRows:
    """Preferences give a row at once; votes wait in :meth:`pairs` for a partner on the same request."""

    def __init__(self) -> None:
        self._votes: dict[str, tuple[list[tuple[Item, str]], list[str]]] = {}  # prompt key -> (ups, downs)

    def row(self, it: Item) -> Built | str | None:
        fb, outputs = it.feedback, it.body["outputs"]
        if it.kind == "preference":
            chosen, rejected = outputs[fb["chosen"]], outputs[1 - fb["chosen"]]
            return SAME_PAIR if same_output(chosen, rejected) else _dpo_row(it, chosen, rejected)
        if it.kind == "vote":
            ups, downs = self._votes.setdefault(it.prompt_key, ([], []))
            if fb["value"] == 1:
                ups.append((it, outputs[fb["output"]]))
            else:
                downs.append(outputs[fb["output"]])
        return None

    def pairs(self) -> Iterator[Built | str]:
        for ups, downs in self._votes.values():
            for (it, chosen), rejected in zip(ups, downs):
                yield SAME_PAIR if same_output(chosen, rejected) else _dpo_row(it, chosen, rejected)


class Rows:
    """Builds one format's rows from items fed one at a time (so one pass can feed every format)."""

    def __init__(self, fmt: str) -> None:
        self._dpo = DpoRows() if fmt == "dpo" else None
        self._row = {"sft": sft_row, "rl": rl_row, "eval": eval_row}.get(fmt) or self._dpo.row  # type: ignore[union-attr]

    def feed(self, it: Item) -> Built | str | None:
        return self._row(it)

    def rest(self) -> Iterator[Built | str]:
        """Rows that can only be made once every item has been seen."""
        return self._dpo.pairs() if self._dpo is not None else iter(())
