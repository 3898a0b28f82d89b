"""Language warm-up: the nano model's language half learns to read multiple-choice options before SFT.

Why.  After SFT the nano model named the value a multiple-choice question asks about right far more often than it
picked that value's letter: it wrote a fixed option list instead of reading the prompt's.  Text-only drills (the
same questions with the scene written in words, :mod:`train.synthetic.drills`) showed that this is a language skill
a 5 M model learns in a few hundred steps once the reasoning reads the options forwards (README, OneThinker-nano).
SFT mixes eleven tasks, so multiple choice gets a few thousand of its samples; the drills give the skill up front.

How.  ``train.sft`` on the drills alone (no media, so only the language model learns), from the warmed-up vision
model; then greedy answers to held-out drills of another seed, scored by question kind with the library's parser.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

KINDS = (("What colour is the", "colour"), ("Which shape is", "shape"), ("How many shapes", "count"))


def drill_kind(prompt: str) -> str:
    """``colour``, ``shape`` or ``count``: what a drill's question asks (its prompt's second line)."""
    question = prompt.split("\n", 2)[1]
    for lead, kind in KINDS:
        if question.startswith(lead):
            return kind
    raise ValueError(f"not a drill question: {question!r}")


def drill_scores(model, processor, drills: "str | Path", *, batch_size: int = 50, max_new_tokens: int = 160) -> dict:
    """Letter accuracy of ``model``'s greedy answers to the drills in ``drills`` (an ``sft.json``), per kind and
    ``all``; an answer that does not parse counts as wrong."""
    import torch

    from onethinker.answer import parse

    rows = json.loads(Path(drills).read_text(encoding="utf-8"))
    tokenizer = processor.tokenizer
    side, tokenizer.padding_side = tokenizer.padding_side, "left"
    right, total = Counter(), Counter()
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(rows), batch_size):
            chunk = rows[start:start + batch_size]
            prompts = [r["messages"][0]["content"] for r in chunk]
            texts = [processor.apply_chat_template([{"role": "user", "content": [{"type": "text", "text": p}]}],
                                                   add_generation_prompt=True, tokenize=False) for p in prompts]
            enc = tokenizer(texts, return_tensors="pt", padding=True).to(model.device)
            with torch.no_grad():
                out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False)
            for row, prompt, ids in zip(chunk, prompts, out[:, enc["input_ids"].shape[1]:]):
                kind = drill_kind(prompt)
                answer = parse(tokenizer.decode(ids, skip_special_tokens=True), "multiple choice", data_type="image")
                total[kind] += 1
                right[kind] += bool(answer.ok and answer.payload.answer_text() == row["answer"])
    finally:
        tokenizer.padding_side = side
        model.train(was_training)
    scores = {kind: round(right[kind] / total[kind], 3) for _, kind in KINDS if total[kind]}
    scores["all"] = round(sum(right.values()) / max(1, sum(total.values())), 3)
    return scores
