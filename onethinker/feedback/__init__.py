"""Feedback: store people's judgements of model outputs and export them as training data.

    store = FeedbackStore("data/feedback.db")              # SQLite (WAL); media in data/media/
    ref = store.put_media(uploaded_path, "image")          # content-addressed; the upload's name is never used
    store.add(Record(task=..., media=(ref,), outputs=(raw,), answers=(answer,), feedback=Vote(+1), ...))
    export("data/feedback.db", "sft", "exports/sft")       # also "rl", "dpo", "eval", "hf"; atomic, deterministic

Command line: ``python -m onethinker.feedback export --db … --format sft|rl|dpo|eval|hf --out …``.
"""

from onethinker.feedback.exports import FORMATS, ExportOptions, ExportResult, export
from onethinker.feedback.media import MediaStore
from onethinker.feedback.record import (
    Correction,
    Feedback,
    FeedbackError,
    MediaRef,
    Preference,
    Record,
    Vote,
)
from onethinker.feedback.schema import SCHEMA_VERSION, SchemaError
from onethinker.feedback.store import FeedbackStore
from onethinker.feedback.validate import parse_correction, validate

__all__ = [
    "FeedbackStore", "MediaStore", "Record", "Vote", "Preference", "Correction", "Feedback", "MediaRef",
    "FeedbackError", "SchemaError", "SCHEMA_VERSION", "validate", "parse_correction",
    "export", "ExportOptions", "ExportResult", "FORMATS",
]
