"""Media markers in exported text, and how literal ones in people's or models' text are neutralised.

Trainers find where media go by counting markers in the text: LLaMA-Factory refuses a row unless
the ``<image>`` / ``<video>`` / ``<audio>`` counts over all its messages equal its image / video /
audio counts, the OneThinker RL loader splits the prompt on ``<image>`` or ``<video>``, and the
Qwen-VL processors expand every ``<|image_pad|>`` / ``<|video_pad|>`` they find.  So a question
such as "what does the <image> tag do?" would shift every medium by one or make the row fail.

:func:`neutralise` writes such a literal marker with a space after its ``<`` (``<image>`` →
``< image>``, ``<|image_pad|>`` → ``< |image_pad|>``): still readable, no longer a marker.  Exports
apply it to every text a trainer reads as a prompt or a response, then add the real markers
themselves.  Ground-truth answers are left as written: they are compared, never parsed for media.
"""

from __future__ import annotations

import re

IMAGE_MARKER = "<image>"
VIDEO_MARKER = "<video>"
MARKER = {"image": IMAGE_MARKER, "video": VIDEO_MARKER}

# "<" only when it starts a marker; the lookahead keeps each match one character long (linear time).
_LITERAL = re.compile(r"<(?=(?:image|video|audio)>|\|(?:image_pad|video_pad|vision_start|vision_end)\|>)")


def neutralise(text: str) -> str:
    """``text`` with every literal media marker broken by a space after its ``<``."""
    return _LITERAL.sub("< ", text) if "<" in text else text
