"""Test double: a backend that streams a fixed response for every task (no model).

``ReplayBackend`` prepares each request exactly as the real backends do (``onethinker.engine.prepare``:
real media loading, so bad uploads fail the real way) and then streams its scripted text in small
chunks, optionally with a delay per chunk, honouring ``cancel`` between chunks.  The scripted answers
are the example media's reference answers (``examples/make_media.py``), so every overlay path draws
something real.  At a temperature above 0 the reasoning ends with the call's number, so two samples
differ as a sampler's would (the store refuses a preference between identical texts); greedy calls
repeat exactly.  Nothing here is used outside tests and benchmarks.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict

from onethinker.engine import Backend, Sent, TextStream, prepare
from onethinker.engine.request import Request

REASONING = ("I look at the picture carefully. The shapes are drawn on a light background; I compare their "
             "colours and positions, then I check the answer format before writing it. ")


def _examples() -> tuple[dict[str, dict], object]:
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root / "examples"))
    try:
        import make_media
    finally:
        sys.path.pop(0)
    return {e["task"]: e for e in make_media.examples()}, make_media


def scripted_answers() -> dict[str, str]:
    """The answer text (between the answer tags) scripted for every task."""
    examples, mm = _examples()
    out = {task: ex["truth"] for task, ex in examples.items() if ex.get("truth")}
    # tracking: the red circle's box at each key's time (key k is drawn at k seconds in the replay)
    out["tracking"] = json.dumps({"boxes": {str(k): mm.grid(mm.circle_box(float(k - 1)), mm.VIDEO_SIZE)
                                            for k in range(1, 7)}})
    return out


class ReplayBackend(Backend):
    name = "replay"

    def __init__(self, answers: dict[str, str] | None = None, *, chunk: int = 6, delay: float = 0.0,
                 reasoning: str = REASONING, model: str = "replay-onethinker"):
        super().__init__()
        self.answers = answers or scripted_answers()
        self.chunk, self.delay, self.reasoning, self.model = chunk, delay, reasoning, model
        self.requests: list[Request] = []
        self.sampled = 0  # calls at a temperature above 0

    def response(self, task: str, sample: int | None = None) -> str:
        reasoning = self.reasoning if sample is None else f"{self.reasoning}(sample {sample}) "
        return f"<think>{reasoning}</think><answer>{self.answers[task]}</answer>"

    def stream(self, request: Request) -> TextStream:
        t0 = time.perf_counter()
        prep = prepare(request)
        self.requests.append(request)
        sent = Sent(self.name, self.model, prep.task.id, prep.data_type, prep.prompt,
                    [{"role": "user", "content": [{k: (v if isinstance(v, (str, int, float)) else repr(v))
                                                   for k, v in c.items()} for c in prep.messages[0]["content"]]}],
                    prep.describe_media(), asdict(request.sampling), prompt_tokens=len(prep.prompt.split()))
        stream = TextStream(sent, t0)
        sample = None
        if request.sampling.temperature > 0:
            self.sampled += 1
            sample = self.sampled
        text = self.response(prep.task.id, sample)
        pieces = [text[i:i + self.chunk] for i in range(0, len(text), self.chunk)]

        def gen():
            n = 0
            for piece in pieces:
                if stream.cancelled:
                    break
                if self.delay:
                    time.sleep(self.delay)
                n += 1
                yield piece
            stream.completion_tokens = n
            stream.finish_reason = "cancelled" if n < len(pieces) else "stop"

        return self._track(stream._attach(gen()))
