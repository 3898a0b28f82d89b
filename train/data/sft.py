"""LLaMA-Factory sharegpt SFT rows → conversations with typed image / video blocks.

Read as LLaMA-Factory reads them (``data/converter.py`` ``SharegptDatasetConverter`` and ``mm_plugin.py``):

* columns ``messages``, ``images``, ``videos`` (renamed by a ``dataset_info.json`` entry when one sits next to
  the file and names it), tags ``from`` / ``value`` / ``human`` / ``gpt`` / ``system`` by default, or the ones
  the entry gives (our export uses ``role`` / ``content`` / ``user`` / ``assistant``); a row whose first message
  has ``role`` and no ``from`` is read with those OpenAI-style tags;
* an optional first ``system`` message, then user and assistant turns alternating, an even number of them
  (LLaMA-Factory skips a row that breaks this with a warning; here it is an error naming the row);
* the ``<image>`` / ``<video>`` markers across all messages must match the number of images / videos; each
  becomes, in place, the next ``{"type": "image", "image": <abs path>}`` / ``{"type": "video", "video": …}``
  block.  Media paths resolve under ``media_root`` (LLaMA-Factory's ``media_dir``, default the data file's
  folder); a missing file is an error here, where LLaMA-Factory would fall back to the path as written.

Each row of the dataset: ``messages`` (every ``content`` a list of typed blocks), ``images`` and ``videos``
(absolute paths, for reference; the blocks are what the collator reads).  Pixel limits are applied when a
batch is encoded (:class:`train.collators.VisionSFTCollator`), not here.
"""

from __future__ import annotations

import json
from pathlib import Path

from train.data.common import (
    DataError, Row, check_marker_counts, data_files, media_list, read_rows, split_markers, to_dataset,
)

SFT_FILES = ("sft.json",)
LF_DEFAULT_TAGS = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
                   "system_tag": "system", "observation_tag": "observation", "function_tag": "function_call"}
OPENAI_TAGS = {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant",
               "system_tag": "system", "observation_tag": "tool", "function_tag": "function"}
DEFAULT_COLUMNS = {"messages": "conversations", "images": "images", "videos": "videos", "system": None}


def load_sft(path_or_paths, media_root=None, *, profile=None):
    """SFT rows of one or more sharegpt JSON / JSONL files (or export folders) as a ``datasets.Dataset``.

    ``profile``: a model's :class:`~onethinker.engine.profile.ModelProfile`; its image and video limits are
    written into every media block, so they win over the collator's (the model sees the inputs its profile
    gives it at inference).  The prompt text is the row's own: write SFT rows with the profile's templates.
    """
    root = Path(media_root) if media_root is not None else None
    limits = {"image": dict(profile.image), "video": dict(profile.video)} if profile is not None else None
    rows = []
    for f in data_files(path_or_paths, SFT_FILES):
        columns, tags = _dataset_info(f)
        rows.extend(sft_row(r, root, columns, tags, limits) for r in read_rows([f]))
    return to_dataset(rows, ("messages",))


def _dataset_info(f: Path) -> tuple[dict, dict | None]:
    """Columns and tags of ``f``'s entry in a ``dataset_info.json`` beside it (LLaMA-Factory's registry)."""
    info_file = f.parent / "dataset_info.json"
    if info_file.is_file():
        try:
            info = json.loads(info_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise DataError(f"{info_file} is not valid JSON ({e})") from None
        for name, entry in (info.items() if isinstance(info, dict) else ()):
            if isinstance(entry, dict) and entry.get("file_name") == f.name:
                if entry.get("formatting", "alpaca") != "sharegpt":
                    raise DataError(f"{info_file}: dataset {name!r} has formatting {entry.get('formatting', 'alpaca')!r}; "
                                    "only sharegpt is read for SFT")
                return {**DEFAULT_COLUMNS, **entry.get("columns", {})}, {**LF_DEFAULT_TAGS, **entry.get("tags", {})}
    return dict(DEFAULT_COLUMNS), None


def sft_row(row: Row, media_root: Path | None, columns: dict, tags: dict | None,
            limits: dict[str, dict] | None = None) -> dict:
    d = row.data
    messages = d.get(columns["messages"])
    if messages is None and columns["messages"] == "conversations":
        messages = d.get("messages")  # the name our export and most converted sets use
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise row.fail(f"'{columns['messages']}' must be a non-empty list of messages")
    if tags is None:
        tags = OPENAI_TAGS if "role" in messages[0] and "from" not in messages[0] else LF_DEFAULT_TAGS
    turns = _turns(row, messages, tags, d.get(columns["system"]) if columns.get("system") else None)
    media = {"image": media_list(row, columns["images"], "image", media_root),
             "video": media_list(row, columns["videos"], "video", media_root)}
    check_marker_counts(row, [text for _, text in turns], media, allow_unmarked=False)
    extra = limits or {"image": {}, "video": {}}
    blocks = {"image": iter([{"type": "image", "image": p, **extra["image"]} for p in media["image"]]),
              "video": iter([{"type": "video", "video": p, **extra["video"]} for p in media["video"]])}
    return {"messages": [{"role": role, "content": split_markers(text, blocks)} for role, text in turns],
            "images": media["image"], "videos": media["video"]}


def _turns(row: Row, messages: list[dict], tags: dict, system: str | None) -> list[tuple[str, str]]:
    """(role, text) pairs: optional system, then user / assistant alternating and ending on the assistant."""
    role_tag, content_tag = tags["role_tag"], tags["content_tag"]
    out: list[tuple[str, str]] = []
    if messages[0].get(role_tag) == tags["system_tag"]:
        system, messages = messages[0].get(content_tag), messages[1:]
    if system:
        if not isinstance(system, str):
            raise row.fail("the system message must be text")
        out.append(("system", system))
    expected = (tags["user_tag"], tags["assistant_tag"])
    for i, m in enumerate(messages):
        who, text = m.get(role_tag), m.get(content_tag)
        if who in (tags["observation_tag"], tags["function_tag"]):
            raise row.fail(f"message {i} is a tool turn ({who!r}); tool calls are not supported for SFT here")
        if who != expected[i % 2]:
            raise row.fail(f"message {i} has role {who!r} where {expected[i % 2]!r} was expected "
                           f"(turns must alternate {expected[0]!r} / {expected[1]!r}, in '{role_tag}')")
        if not isinstance(text, str):
            raise row.fail(f"message {i} has no text in '{content_tag}'")
        out.append(("user" if i % 2 == 0 else "assistant", text))
    if not messages or len(messages) % 2:
        raise row.fail(f"{len(messages)} message(s) after the system prompt; sharegpt rows need user / assistant "
                       "pairs ending with the assistant's answer")
    return out
