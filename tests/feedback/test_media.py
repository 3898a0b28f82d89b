"""Content-addressed media: stored once, named by hash and content, never by an uploaded name."""

import hashlib
import io
import os
import stat
import subprocess
import threading

import pytest

from onethinker.feedback import FeedbackError, FeedbackStore, MediaRef, MediaStore
from onethinker.media.probe import MediaError, check_file

from tests.feedback.helpers import mp4, png


def test_same_bytes_are_stored_once_under_their_hash(tmp_path):
    media = MediaStore(tmp_path / "media")
    a = media.put(png("x"), "image")
    b = media.put(io.BytesIO(png("x")), "image")
    assert a == b == MediaRef(hashlib.sha256(png("x")).hexdigest(), "image", ".png")
    files = [p for p in (tmp_path / "media").rglob("*") if p.is_file()]
    assert files == [media.path(a)]
    assert media.path(a).read_bytes() == png("x")
    assert not stat.S_IMODE(os.stat(media.path(a)).st_mode) & 0o222  # read-only: exports may hard-link it


def test_hostile_upload_name_never_becomes_a_path(tmp_path):
    upload_dir = tmp_path / "uploads"
    upload_dir.mkdir()
    hostile = upload_dir / "..%2F..%2Fevil;rm -rf ~.png"
    hostile.write_bytes(mp4("v"))  # a video with an image's name
    media = MediaStore(tmp_path / "media")
    ref = media.put(hostile, "video")
    assert ref.ext == ".mp4" and ref.sha256 == hashlib.sha256(mp4("v")).hexdigest()
    stored = media.path(ref)
    assert stored.parent.parent == tmp_path / "media" and "evil" not in str(stored)


def test_content_must_match_the_kind(tmp_path):
    media = MediaStore(tmp_path / "media")
    with pytest.raises(FeedbackError, match="expected an image"):
        media.put(mp4(), "image")
    with pytest.raises(FeedbackError, match="not a recognised format"):
        media.put(b"#!/bin/sh\necho hi\n", "image")
    with pytest.raises(FeedbackError, match="cannot read"):
        media.put(tmp_path / "missing.png", "image")
    with pytest.raises(FeedbackError, match="media.kind"):
        media.put(png(), "audio")
    leftovers = [p for p in (tmp_path / "media").rglob("*") if p.is_file()]
    assert leftovers == []  # refused uploads leave no temporary files behind


def test_path_refuses_references_that_are_not_hashes(tmp_path):
    media = MediaStore(tmp_path / "media")
    with pytest.raises(FeedbackError):
        media.path(MediaRef("../../../etc/passwd", "image", ".png"))
    with pytest.raises(FeedbackError):
        media.path(MediaRef("a" * 64, "image", "/../../x"))
    assert not media.has(MediaRef("a" * 64, "image", ".png"))


# -- what is let in: regular files only, within a size limit, whose content decodes ------------------------------

def _files(root):
    """Every file under the media folder, temporary ones included."""
    return sorted(p for p in root.rglob("*") if not p.is_dir())


def _within(seconds, fn, *args, unblock=None):
    """``fn(*args)`` in a thread; fails the test (instead of hanging it) if it has not returned in time.

    Returns the exception ``fn`` raised, or None.  ``unblock`` is called on a timeout to release the thread.
    """
    outcome = {}

    def run():
        try:
            fn(*args)
        except BaseException as e:  # noqa: BLE001 - handed to the test
            outcome["error"] = e
        outcome["done"] = True

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    if "done" not in outcome:
        if unblock is not None:
            unblock()
        pytest.fail(f"{getattr(fn, '__name__', fn)} still blocked after {seconds} s")
    return outcome.get("error")


def test_symlink_to_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "photo.png"
    link.symlink_to(fifo)
    media = MediaStore(tmp_path / "media")

    def unblock():  # a reader stuck in open() is released by a writer appearing and leaving
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    err = _within(5, media.put, link, "image", unblock=unblock)
    assert isinstance(err, FeedbackError) and "not a regular file (a named pipe)" in str(err)
    assert _files(tmp_path / "media") == []


def test_devices_are_refused_before_anything_is_read(tmp_path):
    link = tmp_path / "clip.mp4"
    link.symlink_to("/dev/zero")
    media = MediaStore(tmp_path / "media", max_video_bytes=2**20)  # bounds the damage should the check regress
    err = _within(5, media.put, link, "video")
    assert isinstance(err, FeedbackError) and "not a regular file (a character device)" in str(err)
    with open("/dev/zero", "rb") as zero:
        err = _within(5, media.put, zero, "video")
    assert isinstance(err, FeedbackError) and "not a regular file (a character device)" in str(err)
    with pytest.raises(FeedbackError, match=r"not a regular file \(a folder\)"):
        media.put(tmp_path, "image")
    assert _files(tmp_path / "media") == []


class EndlessStreamDouble:
    """Test double for an upload stream that never ends; counts what was read from it."""

    def __init__(self, chunk=png("endless")):
        self.chunk, self.read_bytes = chunk, 0

    def read(self, n=-1):
        n = 1 << 16 if n is None or n < 0 else n
        data = (self.chunk * (n // len(self.chunk) + 1))[:n]
        self.read_bytes += len(data)
        return data


def test_size_limit_for_bytes_paths_and_streams(tmp_path):
    limit = 4096
    store = FeedbackStore(tmp_path / "db" / "f.db", max_image_bytes=limit, max_video_bytes=limit)
    big = tmp_path / "big.png"
    big.write_bytes(png("x" * limit))
    with pytest.raises(FeedbackError, match=r"4,1\d\d bytes is over the 4 KiB limit for an image; downscale"):
        store.put_media(big, "image")
    with pytest.raises(FeedbackError, match=r"over the 4 KiB limit for an image"):
        store.put_media(big.read_bytes(), "image")
    stream = EndlessStreamDouble()
    with pytest.raises(FeedbackError, match=r"over the 4 KiB limit for an image"):
        store.put_media(stream, "image")
    assert stream.read_bytes == limit + 1  # stopped at the limit: never read to the end, never held whole
    with pytest.raises(FeedbackError, match=r"over the 4 KiB limit for a video; shorten"):
        store.put_media(EndlessStreamDouble(mp4()), "video")
    assert _files(tmp_path / "db" / "media") == []
    assert store.put_media(png(), "image") == store.put_media(io.BytesIO(png()), "image")  # under the limit: kept
    store.close()


def test_default_limits_fit_what_people_upload(tmp_path):
    media = MediaStore(tmp_path / "media")
    assert media.max_bytes == {"image": 50 * 2**20, "video": 2 * 2**30}


def test_empty_sources_are_refused_as_empty(tmp_path):
    media = MediaStore(tmp_path / "media")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    for source in (b"", empty, io.BytesIO(b"")):
        with pytest.raises(FeedbackError, match=r"empty \(0 bytes\)"):
            media.put(source, "image")
    assert _files(tmp_path / "media") == []


def _audio_only_mp4(path):
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i", "sine=d=0.3",
                    "-c:a", "aac", str(path)], check=True)
    return path


def _cut_png():
    """A 64×64 noise PNG with the second half of its pixel data cut off."""
    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()[: len(buf.getvalue()) // 2]


def test_content_must_decode_not_only_start_right(tmp_path):
    media = MediaStore(tmp_path / "media")
    with pytest.raises(FeedbackError, match="the image cannot be used: .*not an image"):
        media.put(b"\x89PNG\r\n\x1a\n and then no picture", "image")
    with pytest.raises(FeedbackError, match="the image cannot be used: .*(damaged|truncated)"):
        media.put(_cut_png(), "image")
    with pytest.raises(FeedbackError, match="the video cannot be used: .*cannot decode"):
        media.put(mp4()[:40] + b"no frames here", "video")
    with pytest.raises(FeedbackError, match="the video cannot be used: .*cannot decode"):
        media.put(_audio_only_mp4(tmp_path / "sound.mp4"), "video")  # an MP4 without a video stream
    assert _files(tmp_path / "media") == []  # nothing in the content-addressed folder, no temporary file
    for source, kind in ((_cut_png(), "image"), (mp4()[:-400], "video")):
        message = str(pytest.raises(FeedbackError, media.put, source, kind).value)
        assert ".tmp" not in message  # the temporary file's name means nothing to the caller

    clip = tmp_path / "clip.mp4"
    clip.write_bytes(mp4("real"))
    with open(clip, "rb") as f:
        stored = [media.put(clip, "video"), media.put(f, "video"), media.put(mp4("real"), "video")]
    assert len(set(stored)) == 1 and media.path(stored[0]).read_bytes() == mp4("real")


def test_check_file_refuses_pipes_devices_and_oversized_files_without_opening_them(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "via-link.mp4").symlink_to(fifo)
    with pytest.raises(MediaError, match=r"via-link\.mp4: not a regular file \(a named pipe\)"):
        check_file(tmp_path / "via-link.mp4")
    with pytest.raises(MediaError, match=r"not a regular file \(a character device\)"):
        check_file("/dev/zero")
    big = tmp_path / "big.mp4"
    big.write_bytes(mp4())
    assert check_file(big, "video", max_bytes=len(mp4())) == big
    with pytest.raises(MediaError, match=r"big\.mp4: 1,\d{3} bytes is over the 1 KiB limit for a video"):
        check_file(big, "video", max_bytes=1024)
