"""Image loading and resizing exactly as OneThinker's official inference does it.

The reference (``qwen_vl_utils.fetch_image``) flattens transparency onto white, converts to RGB and
resizes with PIL's bicubic filter to a multiple of 32 pixels per side with the area in
[4·32·32, 1024·32·32].  We do the same, and refuse files that are not images or whose pixel count
could exhaust memory (decompression bombs) with a message naming the file.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onethinker.media.probe import MediaError, check_file
from onethinker.media.sampling import IMAGE_MAX_PIXELS, IMAGE_MIN_PIXELS, PATCH_FACTOR, smart_resize

# PIL's own warning threshold (~9459×9459); anything larger is refused before it is decoded.
MAX_SOURCE_PIXELS = 89_478_485


@dataclass
class PreparedImage:
    path: str | None  # None for an in-memory picture
    image: Any = field(repr=False)  # PIL.Image, RGB, resized
    width: int  # source
    height: int
    resized_width: int
    resized_height: int

    def describe(self) -> dict:
        return {"kind": "image", "path": self.path, "width": self.width, "height": self.height,
                "resized_width": self.resized_width, "resized_height": self.resized_height}


def _to_rgb(img):
    from PIL import Image

    if img.mode == "RGBA":
        bg = Image.new("RGB", img.size, (255, 255, 255))
        bg.paste(img, mask=img.split()[3])
        return bg
    return img.convert("RGB")


def open_image(src, max_source_pixels: int = MAX_SOURCE_PIXELS):
    """A fully loaded PIL image from a path or PIL image; :class:`MediaError` when it cannot be used."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(src, Image.Image):
        if src.width * src.height > max_source_pixels:
            raise MediaError(f"image of {src.width}x{src.height} pixels is too large "
                             f"(limit {max_source_pixels:,} pixels); downscale it first")
        return src
    p = check_file(os.fspath(src), "image")
    name = p.name
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(p)
            w, h = img.size  # header only, nothing decoded yet
            if w * h > max_source_pixels:
                img.close()
                raise MediaError(f"{name}: {w}x{h} pixels is too large to open safely (limit "
                                 f"{max_source_pixels:,} pixels, a possible decompression bomb); downscale it first")
            img.load()
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MediaError(f"{name}: the image is too large to open safely (a possible decompression bomb); "
                         "downscale it first") from None
    except UnidentifiedImageError:
        raise MediaError(f"{name}: not an image file PIL can read; use PNG, JPEG or WebP") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise MediaError(
            f"{name}: the image is damaged or truncated ({str(e)[:100]}); save or upload it again") from None
    return img


def load_image(src, min_pixels: int = IMAGE_MIN_PIXELS, max_pixels: int = IMAGE_MAX_PIXELS,
               max_source_pixels: int = MAX_SOURCE_PIXELS, factor: int = PATCH_FACTOR) -> PreparedImage:
    """Open, convert to RGB and resize an image as the official inference does."""
    from PIL import Image

    img = open_image(src, max_source_pixels)
    path = None if isinstance(src, Image.Image) else os.fspath(src)
    rgb = _to_rgb(img)
    w, h = rgb.size
    try:
        rh, rw = smart_resize(h, w, factor, min_pixels, max_pixels)
    except ValueError as e:
        raise MediaError(f"{Path(path).name if path else 'image'}: {e}") from None
    resized = rgb.resize((rw, rh), Image.Resampling.BICUBIC)
    return PreparedImage(path, resized, w, h, rw, rh)
