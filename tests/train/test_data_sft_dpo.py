"""SFT (LLaMA-Factory sharegpt) and DPO (our preference export) loaders: markers → blocks in place, tags, errors."""

from __future__ import annotations

import json

import pytest

from train.data import DataError, load_dpo, load_sft

from tests.train.helpers import kinds, write_json

ANSWER = "<think>\nIt is on the left.\n</think>\n<answer>A</answer>"


def test_llama_factory_default_tags_system_and_markers_in_place(media_dir, tmp_path):
    f = write_json(tmp_path / "data.json", [{
        "conversations": [
            {"from": "system", "value": "Be brief."},
            {"from": "human", "value": "Compare <image> with this clip: <video>. Which is brighter?"},
            {"from": "gpt", "value": ANSWER},
            {"from": "human", "value": "And now?"},
            {"from": "gpt", "value": "<answer>B</answer>"},
        ],
        "images": ["photo.png"], "videos": ["clip.mp4"]}])
    row = load_sft(f, media_dir)[0]
    img, vid = str(media_dir / "photo.png"), str(media_dir / "clip.mp4")
    assert row["messages"] == [
        {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
        {"role": "user", "content": [{"type": "text", "text": "Compare "}, {"type": "image", "image": img},
                                     {"type": "text", "text": " with this clip: "}, {"type": "video", "video": vid},
                                     {"type": "text", "text": ". Which is brighter?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": ANSWER}]},
        {"role": "user", "content": [{"type": "text", "text": "And now?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "<answer>B</answer>"}]},
    ]
    assert (row["images"], row["videos"]) == ([img], [vid])


def test_dataset_info_columns_and_tags_are_honoured(media_dir, tmp_path):
    write_json(tmp_path / "mine.json", [{"chat": [{"speaker": "me", "text": "<image>Q"},
                                                  {"speaker": "bot", "text": ANSWER}],
                                         "pics": [str(media_dir / "photo.png")]}])
    (tmp_path / "dataset_info.json").write_text(json.dumps({"x": {
        "file_name": "mine.json", "formatting": "sharegpt", "columns": {"messages": "chat", "images": "pics"},
        "tags": {"role_tag": "speaker", "content_tag": "text", "user_tag": "me", "assistant_tag": "bot"}}}))
    row = load_sft(tmp_path / "mine.json")[0]
    assert kinds(row["messages"][0]["content"]) == ["image", "text"]
    assert row["messages"][1] == {"role": "assistant", "content": [{"type": "text", "text": ANSWER}]}


def test_openai_style_rows_and_a_video_row(media_dir, tmp_path):
    f = write_json(tmp_path / "sft.json", [{"messages": [{"role": "user", "content": "<video>When?"},
                                                         {"role": "assistant", "content": ANSWER}],
                                            "images": [], "videos": ["clip.mp4"]}])
    row = load_sft(tmp_path, media_root=media_dir)[0]  # a folder holding sft.json: an export folder
    assert row["messages"][0]["content"] == [{"type": "video", "video": str(media_dir / "clip.mp4")},
                                             {"type": "text", "text": "When?"}]


@pytest.mark.parametrize("messages, images, message", [
    ([{"from": "human", "value": "<image><image>Q"}, {"from": "gpt", "value": "A"}], ["photo.png"],
     r"row 0: 2 <image> marker\(s\) but 1 image\(s\)"),
    ([{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}], ["photo.png"],
     r"row 0: 0 <image> marker\(s\) but 1 image\(s\)"),
    ([{"from": "gpt", "value": "A"}, {"from": "human", "value": "<image>Q"}], ["photo.png"],
     r"row 0: message 0 has role 'gpt' where 'human' was expected"),
    ([{"from": "human", "value": "<image>Q"}], ["photo.png"], r"row 0: 1 message\(s\)"),
    ([{"from": "human", "value": "<image>Q"}, {"from": "gpt", "value": "A"}], ["nope.png"],
     r"row 0: image 'nope.png' not found"),
    ([{"from": "human", "value": "<image>Q"}, {"from": "function_call", "value": "{}"}], ["photo.png"],
     r"row 0: message 1 is a tool turn"),
])
def test_bad_sft_rows_are_named(media_dir, tmp_path, messages, images, message):
    with pytest.raises(DataError, match=message):
        load_sft(write_json(tmp_path / "d.json", [{"conversations": messages, "images": images}]), media_dir)


def _export_row(media: str, kind: str = "image") -> dict:
    """A row exactly as onethinker/feedback/exports/rows.py writes it."""
    return {"prompt": [{"role": "user", "content": [{"type": kind}, {"type": "text", "text": "Where is the dog?"}]}],
            "chosen": [{"role": "assistant", "content": [{"type": "text", "text": ANSWER}]}],
            "rejected": [{"role": "assistant", "content": [{"type": "text", "text": "<answer>C</answer>"}]}],
            "images": [media] if kind == "image" else [], "videos": [media] if kind == "video" else []}


def test_dpo_export_rows_get_their_media_in_place(media_dir, tmp_path):
    f = write_json(tmp_path / "dpo.json", [_export_row("photo.png"), _export_row("clip.mp4", "video")])
    ds = load_dpo(f, media_dir)
    assert ds[0]["prompt"][0]["content"] == [{"type": "image", "image": str(media_dir / "photo.png")},
                                             {"type": "text", "text": "Where is the dog?"}]
    assert ds[1]["prompt"][0]["content"][0] == {"type": "video", "video": str(media_dir / "clip.mp4")}
    assert ds[0]["chosen"] == [{"role": "assistant", "content": [{"type": "text", "text": ANSWER}]}]
    assert ds[1]["videos"] == [str(media_dir / "clip.mp4")] and ds[1]["images"] == []


def test_dpo_markers_in_plain_text_prompts(media_dir, tmp_path):
    row = {"prompt": [{"role": "user", "content": "Look: <image> where?"}], "chosen": ANSWER,
           "rejected": "<answer>x</answer>", "images": ["photo.png"]}
    got = load_dpo(write_json(tmp_path / "dpo.json", [row]), media_dir)[0]
    assert kinds(got["prompt"][0]["content"]) == ["text", "image", "text"]
    assert got["rejected"] == [{"role": "assistant", "content": [{"type": "text", "text": "<answer>x</answer>"}]}]


@pytest.mark.parametrize("change, message", [
    (lambda r: r.update(images=[]), r"row 0: 1 image block\(s\) or <image> marker\(s\) but 0 image\(s\)"),
    (lambda r: r.update(images=["photo.png", "photo.png"]), r"row 0: 1 image block\(s\).* but 2 image\(s\)"),
    (lambda r: r.update(rejected=r["chosen"]), r"row 0: 'chosen' and 'rejected' are the same"),
    (lambda r: r.update(chosen=None), r"row 0: 'chosen' must be"),
])
def test_bad_dpo_rows_are_named(media_dir, tmp_path, change, message):
    row = _export_row("photo.png")
    change(row)
    with pytest.raises(DataError, match=message):
        load_dpo(write_json(tmp_path / "dpo.json", [row]), media_dir)
