"""Content-addressed media: each image or video is stored once, named by the sha256 of its bytes.

The stored name is ``<sha256><ext>`` under a two-letter fan-out folder.  The extension comes from
the file's first bytes (its magic number), never from an uploaded file name, so a name such as
``../../etc/passwd`` or ``x.png;rm -rf`` can never steer where anything is written.  Files are
written to a temporary name and renamed into place, so readers never see half a file and two
writers storing the same bytes at once both succeed.  Stored files are made read-only: exports may
hard-link them.

What is let in, and why:

* Only regular files (after following links).  Opening a named pipe blocks until someone writes to it
  and a device such as ``/dev/zero`` never ends, so a path is checked with ``stat`` before it is
  opened (without blocking) and checked again on the open file, in case it was swapped meanwhile.
  A file object whose descriptor is a device or folder is refused the same way; pipes, sockets and
  in-memory streams are read as streams.
* At most ``max_image_bytes`` (default 50 MiB) or ``max_video_bytes`` (default 2 GiB), counted while
  reading, so an endless stream stops at the limit and is never held in memory: it is copied to a
  temporary file in chunks.  50 MiB holds any photo or screenshot (a 100-megapixel JPEG is ~30 MB; the
  renderer refuses more than ~89 megapixels anyway) and 2 GiB 15–30 minutes of 1080p phone video (8–16
  Mbit/s), while the model sees at most 128 frames of any video.
* Content that decodes: an image must open and decode in full (:func:`onethinker.media.images.open_image`,
  which also refuses decompression bombs) and a video must probe with a video stream, at least one
  frame and a frame rate, so a positive duration (:func:`onethinker.media.probe.probe_video`).  A
  0-byte source is refused as empty.  Bytes already in the store were checked when first stored.
* A refused source leaves nothing behind: the temporary file is removed on every error.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import tempfile
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import BinaryIO, ContextManager, Iterator, Union

from onethinker.feedback.record import FeedbackError, MediaRef
from onethinker.media.probe import MediaError, check_file, check_stat, file_type, over_limit

Source = Union[bytes, bytearray, memoryview, str, os.PathLike, BinaryIO]

_CHUNK = 1 << 20

MAX_IMAGE_BYTES = 50 * 2**20  # 50 MiB (see the module docstring for why)
MAX_VIDEO_BYTES = 2 * 2**30  # 2 GiB

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
    """A folder of immutable, content-addressed media files.

    ``max_image_bytes`` / ``max_video_bytes``: the largest image / video :meth:`put` accepts.
    """

    def __init__(self, root: str | os.PathLike, *, max_image_bytes: int = MAX_IMAGE_BYTES,
                 max_video_bytes: int = MAX_VIDEO_BYTES) -> None:
        self.root = Path(root)
        self.max_bytes = {"image": max_image_bytes, "video": max_video_bytes}
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

        Raises ``FeedbackError("media", …)`` when the source is not a regular file, is empty or over the size
        limit, or its content is not an image or video of that kind that decodes; nothing is left behind then.
        """
        if kind not in ("image", "video"):
            raise FeedbackError("media.kind", f"must be 'image' or 'video', got {kind!r}")
        limit = self.max_bytes[kind]
        with _open_source(source, kind, limit) as reader:
            tmp_dir = self.root / ".tmp"
            tmp_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=tmp_dir)
            try:
                with os.fdopen(fd, "wb") as out:
                    digest, head = _copy_hashing(reader, out, kind, limit)
                return self._keep(Path(tmp_name), digest, head, kind)
            except BaseException:
                if os.path.exists(tmp_name):
                    os.unlink(tmp_name)
                raise

    def _keep(self, tmp: Path, digest: str, head: bytes, kind: str) -> MediaRef:
        """Check the copied file ``tmp`` and move it into place (or drop it when those bytes are stored)."""
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
            tmp.unlink()
        else:
            _check_content(tmp, kind)
            os.chmod(tmp, 0o444)
            os.replace(tmp, final)
        return ref


_EXTENSIONS = frozenset(m[2] for m in _MAGIC) | {".webp", ".avi", ".avif", ".heic", ".mov", ".mp4"}


_SHA256 = re.compile(r"[0-9a-f]{64}")


def is_sha256(s: str) -> bool:
    return isinstance(s, str) and _SHA256.fullmatch(s) is not None


def _open_source(source: Source, kind: str, limit: int) -> ContextManager[BinaryIO]:
    """A binary reader over ``source``; refuses, before reading, what is not a regular file, empty or too large."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        size = memoryview(source).nbytes
        if size == 0:
            raise FeedbackError("media", f"the {kind} is empty (0 bytes); upload it again")
        if size > limit:
            raise FeedbackError("media", f"the {kind} ({size:,} bytes) is {over_limit(kind, limit)}")
        return nullcontext(io.BytesIO(source))
    if isinstance(source, (str, os.PathLike)):
        return _open_path(source, kind, limit)
    try:
        mode = os.fstat(source.fileno()).st_mode
    except (AttributeError, OSError, ValueError):  # no descriptor: an in-memory or wrapped stream
        mode = None
    if mode is not None and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISDIR(mode)):
        raise FeedbackError("media", f"the {kind} is not a regular file ({file_type(mode)})")
    return nullcontext(source)  # the caller's file: read it, leave closing it to the caller


@contextmanager
def _open_path(path: str | os.PathLike, kind: str, limit: int) -> Iterator[BinaryIO]:
    """Open a regular file without ever blocking; it is checked by name first, then again once open."""
    try:
        before = check_file(path, kind, limit).stat()
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    except MediaError as e:
        raise FeedbackError("media", f"cannot read the {kind} file {e}") from None
    except OSError as e:
        raise FeedbackError("media", f"cannot read the {kind} file {path}: {e.strerror or e}") from None
    with os.fdopen(fd, "rb") as f:
        now = os.fstat(fd)
        if (now.st_dev, now.st_ino) != (before.st_dev, before.st_ino):
            raise FeedbackError("media", f"{path} was replaced while it was being stored; try again")
        try:
            check_stat(path, now, kind, limit)
        except MediaError as e:
            raise FeedbackError("media", f"cannot read the {kind} file {e}") from None
        yield f


def _copy_hashing(source: BinaryIO, out: BinaryIO, kind: str, limit: int) -> tuple[str, bytes]:
    """Copy at most ``limit`` bytes of ``source`` to ``out``; return their sha256 and first 32 bytes.

    Reads at most ``limit + 1`` bytes, so an endless stream is refused at the limit.
    """
    h = hashlib.sha256()
    head = b""
    size = 0
    while chunk := source.read(min(_CHUNK, limit + 1 - size)):
        size += len(chunk)
        if size > limit:
            raise FeedbackError("media", f"the {kind} is {over_limit(kind, limit)}")
        if len(head) < 32:
            head += chunk[: 32 - len(head)]
        h.update(chunk)
        out.write(chunk)
    if size == 0:
        raise FeedbackError("media", f"the {kind} is empty (0 bytes); upload it again")
    return h.hexdigest(), head


def _check_content(path: Path, kind: str) -> None:
    """Decode an image in full, or probe a video for a video stream, frames and a frame rate."""
    try:
        if kind == "image":
            from onethinker.media.images import open_image

            open_image(path).close()
        else:
            from onethinker.media.probe import probe_video

            probe_video(path)  # refuses a file with no video stream, no frames or no frame rate
    except MediaError as e:  # its message names the temporary file, which means nothing to the caller
        problem = str(e).removeprefix(f"{path}: ").removeprefix(f"{path.name}: ").replace(path.name, f"the {kind}")
        raise FeedbackError("media", f"the {kind} cannot be used: {problem}") from None
