"""Drawing answers on their media: one entry point, dispatching on the payload type.

    from onethinker.render import render
    res = render(answer, "clip.mp4", truth=gt_payload)        # RenderResult
    res.video_path, res.image, res.figure, res.warnings, res.metrics

Boxes, masks, labels, traces and point markers are supervision annotators; videos are H.264 MP4
(yuv420p, faststart) written by :mod:`onethinker.media.video_writer`, frames streamed at a capped
rate and size (:class:`RenderOptions`).  See :mod:`onethinker.render.core`.
"""

from onethinker.render.core import (
    FrameRecord,
    RenderOptions,
    RenderResult,
    Thumbnail,
    find_renderer,
    load_media,
    render,
    renderer_for,
)
from onethinker.render.draw import Style

# registering the built-in renderers
from onethinker.render import image as _image  # noqa: E402,F401
from onethinker.render import timeline as _timeline  # noqa: E402,F401
from onethinker.render import video as _video  # noqa: E402,F401

__all__ = ["render", "RenderOptions", "RenderResult", "FrameRecord", "Thumbnail", "Style", "renderer_for",
           "find_renderer", "load_media"]
