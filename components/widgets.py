"""Widgets the app needs beyond gradio's own."""

from __future__ import annotations

from typing import Any

import gradio as gr


class ImageInput(gr.Image):
    """``gr.Image(type="filepath")`` that hands a file it cannot open to the handler.

    Gradio's own preprocessing opens every upload with PIL and fails with a bare error on a damaged
    or empty file; passing the path on lets the core say what is wrong with it, in the page.
    """

    is_template = True  # rendered by the frontend as a plain Image

    def preprocess(self, payload: Any) -> Any:
        try:
            return super().preprocess(payload)
        except Exception:
            path = getattr(payload, "path", None)
            if path is None:
                raise
            return str(path)
