"""Reading every accepted file shape, atomic writes, and media paths kept inside the media root."""

import json
import os

import pytest

from onethinker.eval import EvalFileError, media_file, parse_rows, read_rows, resolve_media, write_results
from onethinker.eval.files import write_atomic

ROWS = [{"problem_id": 1, "problem": "q1"}, {"problem_id": 2, "problem": "q2"}]


@pytest.mark.parametrize("data, wrapped", [
    (json.dumps(ROWS), False),  # the official JSON list
    ("\n".join(json.dumps(r) for r in ROWS) + "\n", False),  # JSONL
    ("\ufeff" + json.dumps(ROWS, indent=2), False),  # with a byte-order mark
    (json.dumps({"results": ROWS, "metrics": {"overall/acc": 9}, "meta": {"model_path": "m"}}), True),
])
def test_every_row_file_shape(data, wrapped):
    f = parse_rows(data.encode("utf-8"), "f")
    assert f.results == ROWS and f.wrapped == wrapped
    if wrapped:
        assert f.metrics == {"overall/acc": 9} and f.meta == {"model_path": "m"}


def test_empty_and_broken_files(tmp_path):
    assert parse_rows(b"  \n").results == []
    with pytest.raises(EvalFileError, match="f line 2 is not valid JSON"):
        parse_rows(b'{"a": 1}\n{"a": \n', "f")
    with pytest.raises(EvalFileError, match="not valid JSON"):
        parse_rows(b"[1, 2", "f")
    with pytest.raises(EvalFileError, match="row 1 is a int"):
        parse_rows(b'[{"a": 1}, 2]', "f")
    with pytest.raises(EvalFileError, match="'results' must be a list"):
        parse_rows(b'{"results": 3}', "f")
    with pytest.raises(EvalFileError, match="file not found"):
        read_rows(tmp_path / "nope.json")
    with pytest.raises(EvalFileError, match="is a folder"):
        read_rows(tmp_path)


def test_results_are_written_atomically(tmp_path, monkeypatch):
    out = tmp_path / "r.json"
    write_results(out, ROWS, {"overall/acc": 0.5}, {"model_path": "m"})
    assert read_rows(out).results == ROWS and json.loads(out.read_text())["metrics"] == {"overall/acc": 0.5}
    before = out.read_bytes()

    def crash(*a):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(out, b"half a file")
    assert out.read_bytes() == before  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # and no temporary file is left behind


def test_media_paths_stay_inside_the_root(tmp_path):
    root = tmp_path / "media"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.png").write_bytes(b"x")
    (tmp_path / "secret.txt").write_text("secret")
    (root / "inside_link.png").symlink_to(root / "sub" / "a.png")
    (root / "escape_link.png").symlink_to(tmp_path / "secret.txt")
    (root / "escape_dir").symlink_to(tmp_path)

    for ok in ("sub/a.png", "./sub/a.png", "././sub/a.png", "inside_link.png", "sub\\a.png"):
        m = resolve_media(root, ok)
        assert m.ok and m.path == (root / "sub" / "a.png").resolve(), ok
    refused = {
        "../secret.txt": "'..'",
        "sub/../../secret.txt": "'..'",
        str(tmp_path / "secret.txt"): "absolute",
        "/etc/passwd": "absolute",
        "C:\\Windows\\win.ini": "absolute",
        "escape_link.png": "symbolic link",
        "escape_dir/secret.txt": "symbolic link",
    }
    for raw, words in refused.items():
        m = resolve_media(root, raw)
        assert not m.ok and m.kind == "media_path" and words in m.error and m.path is None, raw
    for raw in ("", None, 3, "./"):
        m = resolve_media(root, raw)
        assert m.kind == "missing_field" and "no media path" in m.error


def test_missing_and_empty_media_files(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    m = media_file(tmp_path, "./gone.mp4")
    assert m.kind == "missing_media" and "not found" in m.error and "./gone.mp4" in m.error
    assert "empty" in media_file(tmp_path, "empty.png").error
    assert media_file(tmp_path, "..").kind == "media_path"
