"""H.264 writer and the capped-rate frame reader."""

import weakref

import numpy as np
import pytest

from onethinker.media.frames import FrameSource, capped_size, iter_frames
from onethinker.media.probe import MediaError
from onethinker.media.video_writer import VideoWriteError, VideoWriter, probe_encoded, write_video
from tests.render.helpers import decode, make_video


def test_writer_makes_browser_playable_h264(tmp_path):
    path = write_video(tmp_path / "a.mp4", (np.full((48, 64, 3), 10 * i, np.uint8) for i in range(10)), fps=8)
    info = probe_encoded(path)
    assert (info.codec, info.pix_fmt) == ("h264", "yuv420p")
    assert (info.width, info.height, info.num_frames) == (64, 48, 10)
    assert info.duration == pytest.approx(10 / 8, abs=0.01)
    assert info.faststart  # index (moov) before the media data
    frames = decode(path)
    assert len(frames) == 10
    assert abs(int(frames[5].mean()) - 50) <= 3


def test_writer_pads_odd_sizes_and_rejects_size_changes(tmp_path):
    w = VideoWriter(tmp_path / "odd.mp4", fps=4)
    w.write(np.zeros((47, 63, 3), np.uint8))
    with pytest.raises(ValueError, match="differs"):
        w.write(np.zeros((48, 64, 3), np.uint8))
    w.close()
    info = probe_encoded(tmp_path / "odd.mp4")
    assert (info.width, info.height, info.num_frames) == (64, 48, 1)


def test_writer_without_frames_fails_clearly_and_abort_removes_file(tmp_path):
    with pytest.raises(VideoWriteError, match="no frames"):
        VideoWriter(tmp_path / "none.mp4", fps=4).close()
    with pytest.raises(RuntimeError):
        with VideoWriter(tmp_path / "x.mp4", fps=4) as w:
            w.write(np.zeros((8, 8, 3), np.uint8))
            raise RuntimeError("boom")
    assert not (tmp_path / "x.mp4").exists()


def test_frame_reader_caps_rate_and_size_with_true_timestamps(tmp_path):
    path = make_video(tmp_path / "m.mp4", n=30, w=96, h=64, fps=30, marker=True)
    src = FrameSource.open(path, max_fps=10, max_side=48)
    assert src.plan.fps == 10
    assert src.size == (48, 32)
    assert src.plan.src_indices == tuple(range(0, 30, 3))
    frames = list(src)
    assert [f.index for f in frames] == list(range(10))
    assert [round(f.time, 3) for f in frames] == [round(i / 30, 3) for i in range(0, 30, 3)]
    assert frames[0].image.shape == (32, 48, 3)
    # the marker's red value (8 × source index) says which source frame was decoded
    for f in frames:
        assert abs(int(f.image[1, 1, 0]) - 8 * f.src_index) <= 12
    assert abs(int(src.get(7).image[1, 1, 0]) - 8 * 21) <= 12


def test_frame_reader_keeps_low_rates_and_streams_in_batches(tmp_path):
    path = make_video(tmp_path / "s.mp4", n=12, fps=4)
    frames = list(iter_frames(path, max_fps=16))
    assert len(frames) == 12 and frames[-1].time == pytest.approx(11 / 4)
    src = FrameSource.open(path)
    assert src.plan.index_at(1.1) == 4 and src.plan.nearest_index(1.2) == 5
    sub = src.subclip(1.0, 2.0)
    assert [f.time for f in sub] == [1.0, 1.25, 1.5, 1.75, 2.0]


def test_capped_size_is_even():
    assert capped_size(1920, 1080, 1280) == (1280, 720)
    assert capped_size(63, 47, None) == (64, 48)


def test_unreadable_video_raises_media_error(tmp_path):
    p = tmp_path / "bad.mp4"
    p.write_bytes(b"not a video at all")
    with pytest.raises(MediaError):
        FrameSource.open(p)


class KeepsFramesWriter(VideoWriter):
    """Test double: a writer that wrongly holds on to every frame it is given."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.kept = []

    def write(self, frame):
        self.kept.append(frame)
        super().write(frame)


def frames_alive_while_writing(writer_cls, path, n=40):
    """After each ``write``, how many of the frames given so far are still alive.

    Counted with weak references and no garbage collection: a frame array is in no reference cycle,
    so it is freed the moment the last holder lets go of it, and a live weak reference means some
    holder (the writer's queue, its sender thread, or a leak) still has it.
    """
    refs, alive = [], []
    with writer_cls(path, fps=8) as w:
        for i in range(n):
            f = np.full((48, 64, 3), i * 5, np.uint8)
            refs.append(weakref.ref(f))
            w.write(f)
            del f
            alive.append(sum(r() is not None for r in refs))
    return alive


def test_writer_streams_frames_without_keeping_them(tmp_path):
    alive = frames_alive_while_writing(VideoWriter, tmp_path / "s.mp4")
    assert max(alive) <= 5  # the queue (2) plus the one being sent, never the whole clip
    assert probe_encoded(tmp_path / "s.mp4").num_frames == 40
    # the same count sees a writer that keeps its frames
    assert frames_alive_while_writing(KeepsFramesWriter, tmp_path / "k.mp4")[-1] == 40


def test_encoder_failure_is_reported(tmp_path):
    w = VideoWriter(tmp_path / "f.mp4", fps=8)
    w.write(np.zeros((48, 64, 3), np.uint8))

    w._error = OSError("Broken pipe")  # what the background sender records when ffmpeg dies
    with pytest.raises(VideoWriteError, match="Broken pipe"):
        w.write(np.zeros((48, 64, 3), np.uint8))
    assert not (tmp_path / "f.mp4").exists()


def test_prefetch_passes_errors_and_stops_early():
    from onethinker.media.frames import prefetch

    def boom():
        yield 1
        raise MediaError("decoder broke")

    it = prefetch(boom(), 2)
    assert next(it) == 1
    with pytest.raises(MediaError, match="decoder broke"):
        next(it)
    closed = []

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.append(True)

    g = prefetch(endless(), 2)
    assert [next(g) for _ in range(3)] == [0, 1, 2]
    g.close()
    assert closed == [True]


def test_partial_iteration_of_a_file_stops_the_decoder(tmp_path):
    path = make_video(tmp_path / "p.mp4", n=40, fps=8)
    src = FrameSource.open(path)
    for f in src:
        if f.index == 3:
            break
    assert [f.index for f in src][-1] == 39  # a fresh iteration starts over
