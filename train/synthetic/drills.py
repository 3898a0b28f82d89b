"""Text-only multiple-choice drills: the image questions with their scene written in words, no picture.

    Scene: a red triangle and a blue circle.
    Which shape is blue?
    Options: …

They teach the language half of a multiple-choice answer (read the options in order, stop at the value the
scene gives, name its letter) apart from seeing: the nano run's language warm-up trains on them before SFT.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from onethinker.tasks import DEFAULT_TEMPLATES, PromptTemplates, build_prompt, get_task
from train.synthetic.samples import multiple_choice_image
from train.synthetic.write import response_text

SCENE_LEAD = "The image shows "


def drill(rng: np.random.Generator, templates: PromptTemplates = DEFAULT_TEMPLATES) -> dict:
    """One drill as a sharegpt row (``messages`` only)."""
    s = multiple_choice_image(rng)
    scene = s.meta["scene"]  # the reasoning's own listing marks the asked shape, which would give the answer away
    if not s.think.startswith(SCENE_LEAD):
        raise AssertionError(f"a multiple-choice reasoning that does not open with the scene: {s.think!r}")
    prompt = build_prompt(get_task(s.task), s.question, s.options, "image", templates)
    return {"messages": [{"role": "user", "content": f"Scene: {scene}.\n{prompt}"},
                         {"role": "assistant", "content": response_text(s)}],
            "task": s.task, "answer": s.answer.answer_text()}


def write_drills(path: str | Path, size: int, seed: int, templates: PromptTemplates = DEFAULT_TEMPLATES) -> Path:
    """``size`` drills (drill ``i`` drawn from ``[seed, i]``) as ``sft.json`` in the folder ``path``, with the
    ``dataset_info.json`` that names its columns; returns the file."""
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    rows = [dict(drill(np.random.default_rng([seed, i]), templates), problem_id=f"drill-{i:05d}") for i in range(size)]
    f = out / "sft.json"
    f.write_text("[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n]\n", encoding="utf-8")
    info = {"drills": {"file_name": "sft.json", "formatting": "sharegpt", "columns": {"messages": "messages"},
                       "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                                "assistant_tag": "assistant"}}}
    (out / "dataset_info.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return f
