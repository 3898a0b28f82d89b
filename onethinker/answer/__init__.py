"""Parsed answers: the :class:`Answer` value type, payload types and the streaming-tolerant parser."""

from onethinker.answer.answer import PHASES, Answer, Phase
from onethinker.answer.parse import parse, split_response
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
    coordinate_fields,
    payload_from_json,
)

__all__ = [
    "Answer", "Phase", "PHASES", "parse", "split_response", "Payload", "payload_from_json",
    "OptionLetter", "Number", "Text", "MathExpression", "TimeSpan", "BoxAnswer", "SpatioTemporal",
    "Track", "SegmentationPrompt", "coordinate_fields",
]
