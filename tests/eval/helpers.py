"""Row builders and test doubles for the evaluation tests (nothing here is used outside tests)."""

from __future__ import annotations

import json
from dataclasses import asdict

from onethinker.engine import Completion, Sent, prepare
from onethinker.engine.base import Backend


def R(answer) -> str:
    """A well-formed model output with ``answer`` inside the answer tags."""
    text = answer if isinstance(answer, str) else json.dumps(answer)
    return f"<think>reasoning</think>\n<answer>{text}</answer>"


def row(problem_type: str, solution, output: str | None = None, data_type: str = "image", **kw) -> dict:
    """A row in the official evaluation format (plus ``output`` when given)."""
    sol = solution if isinstance(solution, str) else json.dumps(solution)
    r = {"problem_id": kw.pop("problem_id", 1), "problem": kw.pop("problem", "question?"),
         "problem_type": problem_type, "data_type": data_type, "path": kw.pop("path", "./shapes.png"),
         "solution": f"<answer>{sol}</answer>", **kw}
    if output is not None:
        r["output"] = output
    return r


class ScriptedBackend(Backend):
    """Test double: answers each request from a {question: output} table, after the real media
    preparation (so missing or broken media fail exactly as with a model)."""

    name = "scripted"

    def __init__(self, answers: dict[str, str], default: str = R("A")) -> None:
        super().__init__()
        self.answers, self.default, self.calls = answers, default, []
        self.model = "scripted-model"

    def generate(self, request) -> Completion:
        self.calls.append(request.question)
        prep = prepare(request)
        sent = Sent(self.name, self.model, prep.task.id, prep.data_type, prep.prompt, prep.messages,
                    prep.describe_media(), asdict(request.sampling))
        return Completion(self.answers.get(request.question, self.default), "stop", 3, 5, None, None, sent)


class InterruptAfter(Backend):
    """Test double: delegates to ``inner`` for ``n`` requests, then raises KeyboardInterrupt (a user's Ctrl-C)."""

    def __init__(self, inner, n: int) -> None:
        super().__init__()
        self.inner, self.n, self.name = inner, n, inner.name
        self.model_id = getattr(inner, "model_id", None)

    def generate(self, request) -> Completion:
        if self.n == 0:
            raise KeyboardInterrupt
        self.n -= 1
        return self.inner.generate(request)
