"""Content-addressed media: each image or video is stored once, named by the sha256 of its bytes.

The stored name is ``<sha256><ext>`` under a two-letter fan-out folder.  The extension comes from
the file's first bytes (its magic number), never from an uploaded file name, so a name such as
``../../etc/passwd`` or ``x.png;rm -rf`` can never steer where anything is written.  Files are
written to a temporary name and renamed into place, so readers never see half a file and two
writers storing the same bytes at once both succeed.  Stored files are made read-only: exports may
hard-link them.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Union

from onethinker.feedback.record import FeedbackError, MediaRef

Source = Union[bytes, bytearray, memoryview, str, os.PathLike, BinaryIO]

_CHUNK = 1 << 20

# (offset, magic bytes, extension, kind)
_MAGIC: tuple[tuple[int, bytes, str, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", ".png", "image"),
    (0, b"\xff\xd8\xff", ".jpg", "image"),
    (0, b"GIF87a", ".gif", "image"),
    (0, b"GIF89a", ".gif", "image"),
    (0, b"BM", ".bmp", "image"),
    (0, b"II*\x00", ".tif", "image"),
    (0, b"MM\x00*", ".tif", "image"),
    (0, b"\x1a\x45\xdf\xa3", ".webm", "video"),  # Matroska / WebM
)


def sniff(head: bytes) -> tuple[str, str] | None:
    """``(ext, kind)`` recognised from a file's first bytes, or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp", "image"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return ".avi", "video"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return ".avif", "image"
        if brand in (b"heic", b"heix", b"mif1"):
            return ".heic", "image"
        return (".mov", "video") if brand == b"qt  " else (".mp4", "video")
    for offset, magic, ext, kind in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return ext, kind
    return None


class MediaStore:
    """A folder of immutable, content-addressed media files."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self._seen: set[MediaRef] = set()  # found on disk once; stored files are never removed by the store

    def path(self, ref: MediaRef) -> Path:
        """Where a stored medium lives.  Raises ``FeedbackError`` for a reference that is not a hash."""
        if not is_sha256(ref.sha256) or ref.ext not in _EXTENSIONS:
            raise FeedbackError("media", f"not a stored media reference: {ref.sha256!r}{ref.ext!r}")
        return self.root / ref.sha256[:2] / ref.filename

    def has(self, ref: MediaRef) -> bool:
        if ref in self._seen:
            return True
        try:
            found = self.path(ref).is_file()
        except FeedbackError:
            return False
        if found:
            self._seen.add(ref)
        return found

    def put(self, source: Source, kind: str) -> MediaRef:
        """Store bytes, a file path or a binary file object as ``kind`` ("image"/"video"); returns its reference.

        Raises ``FeedbackError("media", …)`` when the content is not a recognised image or video of that kind.
        """
        if kind not in ("image", "video"):
            raise FeedbackError("media.kind", f"must be 'image' or 'video', got {kind!r}")
        tmp_dir = self.root / ".tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir)
        try:
            with os.fdopen(fd, "wb") as out:
                digest, head = _copy_hashing(source, out)
            found = sniff(head)
            if found is None:
                known = ", ".join(sorted(_EXTENSIONS))
                raise FeedbackError("media", f"the {kind} is not a recognised format ({known})")
            ext, found_kind = found
            if found_kind != kind:
                raise FeedbackError("media", f"expected an {kind}, but the file is a {found_kind} ({ext})")
            ref = MediaRef(digest, kind, ext)
            final = self.path(ref)
            final.parent.mkdir(exist_ok=True)
            if final.is_file():
                os.unlink(tmp_name)
            else:
                os.chmod(tmp_name, 0o444)
                os.replace(tmp_name, final)
            return ref
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise


_EXTENSIONS = frozenset(m[2] for m in _MAGIC) | {".webp", ".avi", ".avif", ".heic", ".mov", ".mp4"}


_SHA256 = re.compile(r"[0-9a-f]{64}")


def is_sha256(s: str) -> bool:
    return isinstance(s, str) and _SHA256.fullmatch(s) is not None


def _copy_hashing(source: Source, out: BinaryIO) -> tuple[str, bytes]:
    """Copy ``source`` to ``out``; return its sha256 and its first 32 bytes."""
    h = hashlib.sha256()
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        h.update(data)
        out.write(data)
        return h.hexdigest(), data[:32]
    if isinstance(source, (str, os.PathLike)):
        try:
            f: BinaryIO = open(source, "rb")
        except OSError as e:
            raise FeedbackError("media", f"cannot read the media file: {e.strerror or e}") from None
        with f:
            return _copy_hashing(f, out)
    head = b""
    while chunk := source.read(_CHUNK):
        if len(head) < 32:
            head += chunk[: 32 - len(head)]
        h.update(chunk)
        out.write(chunk)
    return h.hexdigest(), head
