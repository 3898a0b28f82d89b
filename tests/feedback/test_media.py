"""Content-addressed media: stored once, named by hash and content, never by an uploaded name."""

import hashlib
import io
import os
import stat

import pytest

from onethinker.feedback import FeedbackError, MediaRef, MediaStore

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
