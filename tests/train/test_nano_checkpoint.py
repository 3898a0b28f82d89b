"""The committed OneThinker-nano checkpoint answers held-out synthetic samples of every task in the output contract.

Samples come from ``train.synthetic`` with a seed none of the training splits uses, so the model has not seen
them; the checkpoint loads through the engine's ``TransformersBackend`` like any model, and its own
``onethinker.json`` sets the prompts and input sizes.  What is checked is the contract (well-formed
``<think>…</think><answer>…</answer>``, an answer that parses into the task's payload), not accuracy, which
``train/reports/nano.md`` measures.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from onethinker.answer import parse
from onethinker.rewards import score
from train.synthetic import GENERATORS
from train.synthetic.write import SplitSpec, write_split

NANO = Path(__file__).resolve().parents[2] / "models" / "onethinker-nano"
HELD_OUT_SEED = 987_654_321  # not one of the seeds the training run's splits draw


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    """Two held-out samples of each synthetic task (images and videos), written as evaluation rows."""
    if not (NANO / "model.safetensors").is_file():
        pytest.skip(f"{NANO} has no checkpoint yet; `python -m train.nano` writes it")
    out = tmp_path_factory.mktemp("held-out")
    write_split(out, SplitSpec("heldout", 2 * len(GENERATORS), HELD_OUT_SEED), mix={g: 1.0 for g in GENERATORS})
    return out, json.loads((out / "eval.json").read_text(encoding="utf-8"))


def test_checkpoint_is_small_and_carries_its_profile():
    if not (NANO / "model.safetensors").is_file():
        pytest.skip(f"{NANO} has no checkpoint yet; `python -m train.nano` writes it")
    from onethinker.engine import load_profile

    assert (NANO / "model.safetensors").stat().st_size <= 30 * 2**20
    p = load_profile(NANO)
    assert p.video and p.image and p.template_file and (NANO / "README.md").is_file()


def test_answers_are_well_formed_and_parse_for_every_task(samples):
    from onethinker.engine import Request, SamplingParams, TransformersBackend

    folder, rows = samples
    backend = TransformersBackend(str(NANO))
    tasks = set()
    for row in rows:
        media = folder / row["path"]
        kw = {"image": str(media)} if row["data_type"] == "image" else {"video": str(media)}
        c = backend.generate(Request(row["problem"], row["task"], options=row["options"] or None,
                                     sampling=SamplingParams(max_new_tokens=320), **kw))
        answer = parse(c.text, row["task"], data_type=row["data_type"])
        s = score(c.text, row["solution"], row["task"], data_type=row["data_type"])
        assert c.finish_reason == "stop", (row["problem_id"], c.text)
        assert s.format == 1.0 and answer.error is None and answer.payload is not None, (row["problem_id"], c.text)
        tasks.add(row["task"])
    assert len(tasks) == 9  # every catalogue task the synthetic data covers


def test_batched_answers_are_the_answers_one_at_a_time(samples):
    """``generate_many`` decodes greedy requests as left-padded batches: every answer, finish reason and token
    count is the one ``generate`` gives alone; a request that cannot be prepared gets its own error, and a
    sampled one (its own seed) is answered alone, in its place."""
    from onethinker.engine import EngineError, Request, SamplingParams, TransformersBackend

    folder, rows = samples
    greedy = SamplingParams(max_new_tokens=320)
    asks = []
    for row in rows:
        media = folder / row["path"]
        kw = {"image": str(media)} if row["data_type"] == "image" else {"video": str(media)}
        asks.append(Request(row["problem"], row["task"], options=row["options"] or None, sampling=greedy, **kw))
    asks.insert(3, Request("Find the red circle.", "spatial grounding", image=str(folder / "missing.png"),
                           sampling=greedy))
    asks.insert(5, Request(asks[0].question, asks[0].task, options=asks[0].options, image=asks[0].image,
                           video=asks[0].video, sampling=SamplingParams(max_new_tokens=64, temperature=1.0, seed=3)))
    backend = TransformersBackend(str(NANO))
    many = backend.generate_many(asks, batch_size=8)
    assert isinstance(many[3], EngineError) and "missing.png" in str(many[3])
    sampled = backend.generate(asks[5])
    assert many[5].text == sampled.text and "batch_size" not in many[5].sent.extra
    for i, ask in enumerate(asks):
        if i in (3, 5):
            continue
        alone, together = backend.generate(ask), many[i]
        assert together.text == alone.text, (i, ask.question)
        assert (together.finish_reason, together.completion_tokens, together.prompt_tokens) == \
            (alone.finish_reason, alone.completion_tokens, alone.prompt_tokens)
        assert together.sent.media == alone.sent.media and together.sent.extra["batch_size"] > 1
