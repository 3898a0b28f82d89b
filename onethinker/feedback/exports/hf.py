"""The ``hf`` export: one ``datasets.DatasetDict`` saved to disk, a split per row format.

The splits ``sft``, ``rl``, ``dpo`` and ``eval`` have exactly the columns of the JSON exports; explicit
features keep the types stable even for an empty split or a column that is empty in every row.
Media stay files under ``media/`` (paths relative to the export folder), as in the JSON exports.
``datasets`` is imported here only, so the store and the JSON exports do not pay for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _features(fmt: str) -> Any:
    from datasets import Features, List, Value

    text, number = Value("string"), Value("int64")
    if fmt == "sft":
        return Features({"messages": List({"role": text, "content": text}), "images": List(text), "videos": List(text)})
    if fmt == "rl":
        return Features({"problem_id": number, "problem": text, "answer": text, "images": List(text),
                         "videos": List(text), "problem_type": text, "data_type": text, "options": List(text),
                         "problem_reserved_text": text})
    if fmt == "eval":
        return Features({"problem_id": number, "problem": text, "problem_type": text, "data_type": text,
                         "path": text, "additional_path": text, "options": List(text), "solution": text})
    turn = List({"role": text, "content": List({"type": text, "text": text})})
    return Features({"prompt": turn, "chosen": turn, "rejected": turn, "images": List(text), "videos": List(text)})


def save_dataset_dict(splits: dict[str, list[str]], folder: Path) -> None:
    """Write ``{split: rows as JSON lines}`` as a DatasetDict into ``folder`` (``datasets.load_from_disk`` reads it).

    The rows are already JSON (the JSON exports' lines), so Arrow's own JSON reader builds each table
    against the explicit schema, several times faster than converting Python dicts row by row; a row
    that does not fit the schema is an error, not a silently different column type.
    """
    import io

    import pyarrow.json as pj
    from datasets import Dataset, DatasetDict, DatasetInfo
    from datasets.table import InMemoryTable
    from datasets.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    dd = DatasetDict()
    for name, lines in splits.items():
        features = _features(name)
        if lines:
            options = pj.ParseOptions(explicit_schema=features.arrow_schema, unexpected_field_behavior="error")
            table = pj.read_json(io.BytesIO("\n".join(lines).encode("utf-8")), parse_options=options)
            dd[name] = Dataset(InMemoryTable(table), info=DatasetInfo(features=features), split=name)
        else:
            dd[name] = Dataset.from_dict({k: [] for k in features}, features=features, split=name)
    quiet_before = are_progress_bars_disabled()
    disable_progress_bars()  # a CLI or an admin panel has no use for three progress bars per export
    try:
        # One shard per split: feedback data is small, and datasets cannot load an empty split saved with none.
        dd.save_to_disk(str(folder), num_shards={name: 1 for name in dd})
    finally:
        if not quiet_before:
            enable_progress_bars()
