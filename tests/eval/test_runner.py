"""The runner end to end: the tiny model, resume after an interruption, an OpenAI-compatible server with
several requests in flight, bad rows that do not stop a run, and failures that do."""

import json
import threading

import pytest

from onethinker.engine import OpenAIBackend, SamplingParams
from onethinker.eval import EvalError, compute_metrics, read_rows, run
from onethinker.eval.runner import Runner
from tests.engine.fake_openai_server import FakeOpenAIServer
from tests.eval.conftest import EXAMPLES
from tests.eval.helpers import R, InterruptAfter, ScriptedBackend, row

FIELDS = ("output", "prediction", "accuracy", "components", "format", "sent", "error")
FAST = SamplingParams(max_new_tokens=6)


def write_input(tmp_path, rows, name="eval_input.json"):
    p = tmp_path / name
    p.write_text(json.dumps(rows), encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def tiny_run(tiny_model_dir, tmp_path_factory):
    """One uninterrupted run of the tiny model over the example rows (batches of 4)."""
    import shutil

    from onethinker.engine import TransformersBackend

    d = tmp_path_factory.mktemp("tiny-run")
    shutil.copytree(EXAMPLES / "media", d / "media")
    rows = json.loads((EXAMPLES / "eval_input.json").read_text())
    inp = write_input(d, rows)
    res = run(inp, d / "full.json", TransformersBackend(tiny_model_dir), media_root=d / "media", batch_size=4,
              sampling=FAST, segmenter=None)
    return d, inp, rows, res


def test_tiny_model_end_to_end(tiny_run, tiny_model_dir):
    d, inp, rows, res = tiny_run
    saved = read_rows(d / "full.json")
    assert saved.wrapped and [r["problem_id"] for r in saved.results] == [r["problem_id"] for r in rows]
    assert saved.metrics == compute_metrics(saved.results) == res.metrics
    assert saved.meta["model_path"] == tiny_model_dir and saved.meta["batch_size"] == 4
    assert saved.meta["sampling"]["temperature"] == 0.0  # greedy by default
    for src, r in zip(rows, saved.results):
        assert all(r[k] == v for k, v in src.items())  # every input field kept as it was
        assert all(k in r for k in FIELDS)
    by_type = {(r["problem_type"], r["data_type"]): r for r in saved.results}
    video = by_type[("temporal grounding", "video")]
    assert isinstance(video["output"], str) and video["sent"]["backend"] == "transformers"
    (media,) = video["sent"]["media"]
    assert media["kind"] == "video" and media["frame_indices"][0] == 0 and len(media["timestamps"]) == media["num_frames"]
    both = by_type[("multiple choice", "video-image")]["sent"]["media"]
    assert [m["kind"] for m in both] == ["video", "image"]
    assert by_type[("segmentation", "image")]["error"]["kind"] == "not_segmented"  # no segmenter: said so
    refused = next(r for r in saved.results if r["path"].startswith(".."))
    assert refused["error"]["kind"] == "media_path" and refused["output"] is None and refused["sent"] is None
    assert res.generated == len(rows) - 1 and res.resumed == 0


def test_resume_after_an_interruption_gives_the_same_file(tiny_run, tiny_model_dir):
    from onethinker.engine import TransformersBackend

    d, inp, rows, res = tiny_run
    out = d / "resumed.json"
    with pytest.raises(KeyboardInterrupt):
        run(inp, out, InterruptAfter(TransformersBackend(tiny_model_dir), 5), media_root=d / "media",
            batch_size=4, sampling=FAST, segmenter=None)
    partial = read_rows(out)  # a complete, valid file holding the finished batch only
    assert len(partial.results) == 4 and partial.results == res.results[:4]
    again = run(inp, out, TransformersBackend(tiny_model_dir), media_root=d / "media", batch_size=4,
                sampling=FAST, segmenter=None)
    assert again.resumed == 4 and again.generated == len(rows) - 4 - 1  # the refused row is never sent
    assert json.loads(out.read_bytes()) == json.loads((d / "full.json").read_bytes())


class CountingServer(FakeOpenAIServer):
    """The local OpenAI-compatible test server, answering by question and counting requests in flight."""

    def __init__(self, answers: dict[str, str], **kw):
        super().__init__(**kw)
        self.answers, self.active, self.peak, self.lock = answers, 0, 0, threading.Lock()

    def _handler(self):
        base, server = super()._handler(), self

        class Handler(base):
            def do_POST(self):
                with server.lock:
                    server.active += 1
                    server.peak = max(server.peak, server.active)
                try:
                    super().do_POST()
                finally:
                    with server.lock:
                        server.active -= 1

            def _stream(self, body):
                prompt = body["messages"][0]["content"][-1]["text"]
                text = next((a for q, a in server.answers.items() if q in prompt), R("?"))
                for piece in (text[: len(text) // 2], text[len(text) // 2:]):
                    self._send(server._chunk({"content": piece}))
                self._send(server._chunk({}, finish="stop"))
                self._send(b"data: [DONE]\n\n")

        return Handler


class InFlight:
    """Test double around a backend that counts its requests in flight."""

    def __init__(self, inner):
        self.inner, self.name, self.active, self.peak, self.lock = inner, inner.name, 0, 0, threading.Lock()

    def generate(self, request):
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            return self.inner.generate(request)
        finally:
            with self.lock:
                self.active -= 1

    def cancel(self):
        self.inner.cancel()


def test_openai_compatible_server_with_requests_in_flight(example_rows, media_root, tmp_path):
    illustrative = read_rows(EXAMPLES / "results.json").results
    answers = {r["problem"]: r["output"] for r in illustrative if r["output"]}
    rows = [r for r in example_rows if r["problem_type"] != "segmentation"]
    inp = write_input(tmp_path, rows)
    with CountingServer(answers, delay=0.25) as server:  # each request outlasts preparing the next
        backend = InFlight(OpenAIBackend(server.base_url))
        res = run(inp, tmp_path / "out.json", backend, media_root=media_root, concurrency=4, batch_size=8,
                  segmenter=None)
    assert backend.peak == 4 and server.peak >= 2  # four requests in flight, and they overlapped at the server
    assert [r["problem_id"] for r in res.results] == [r["problem_id"] for r in rows]  # input order kept
    expected = {r["problem_id"]: r["accuracy"] for r in illustrative}
    assert all(r["accuracy"] == pytest.approx(expected[r["problem_id"]]) for r in res.results)
    sent = [r["sent"] for r in res.results if r["sent"]]
    assert all(s["backend"] == "openai" and s["model"] == "fake-onethinker" for s in sent)
    assert res.meta["model_path"] == "fake-onethinker" and res.meta["concurrency"] == 4
    image_req = next(q["json"] for q in server.requests
                     if q["json"] and any(c["type"] == "image_url" for c in q["json"]["messages"][0]["content"]))
    assert image_req["temperature"] == 0.0  # greedy


def test_bad_rows_get_errors_and_the_run_goes_on(media_root, tmp_path):
    (media_root / "broken.mp4").write_bytes(b"not a video at all")
    seg = {"problem_id": 6, "problem": "Segment it.", "problem_type": "segmentation", "data_type": "image",
           "path": "./shapes.png", "resolution": {"width": 256, "height": 192},
           "segmentation_output": {"segmentation_rle": {"size": [10, 10], "counts": "0d1"}}}
    rows = [
        row("multiple choice", "B", problem="good one", problem_id=1),
        row("multiple choice", "B", problem="missing media", path="./nowhere.png", problem_id=2),
        row("counting sheep", "B", problem="unknown type", problem_id=3),
        row("spatial grounding", "{oops", problem="malformed solution", problem_id=4),
        row("temporal grounding", {"time": [1, 2]}, data_type="video", path="./broken.mp4",
            problem="undecodable video", problem_id=5),
        seg,
        row("multiple choice", "A", problem="another good one", problem_id=7),
    ]
    backend = ScriptedBackend({"good one": R("B"), "another good one": R("A")})
    res = run(write_input(tmp_path, rows), tmp_path / "out.json", backend, media_root=media_root, batch_size=3,
              segmenter=None)
    kinds = [r["error"]["kind"] if r["error"] else None for r in res.results]
    assert kinds == [None, "missing_media", "unknown_problem_type", "malformed_solution", "missing_media",
                     "bad_rle", None]
    assert [r["accuracy"] for r in res.results] == [1.0, 0, 0, 0, 0, 0, 1.0]
    assert backend.calls == ["good one", "undecodable video", "another good one"]  # bad rows cost no generation
    assert "broken.mp4" in res.results[4]["error"]["message"]
    m = res.metrics
    assert (m["errors/total"], m["errors/missing_media"], m["errors/unknown_problem_type"],
            m["errors/malformed_solution"], m["errors/bad_rle"]) == (5, 2, 1, 1, 1)


def test_a_server_error_on_a_row_is_that_rows_error(media_root, tmp_path):
    rows = [row("multiple choice", "B", problem_id=i) for i in (1, 2)]
    with FakeOpenAIServer(status=400, error_message="prompt too long") as server:
        res = run(write_input(tmp_path, rows), tmp_path / "out.json", OpenAIBackend(server.base_url, "m"),
                  media_root=media_root, segmenter=None)
    assert [r["error"]["kind"] for r in res.results] == ["engine", "engine"]
    assert "prompt too long" in res.results[0]["error"]["message"]


def test_an_unreachable_server_stops_the_run_and_keeps_what_was_saved(media_root, tmp_path):
    rows = [row("multiple choice", "B", problem_id=i) for i in (1, 2, 3)]
    inp, out = write_input(tmp_path, rows), tmp_path / "out.json"
    run(inp, out, ScriptedBackend({}), media_root=media_root, limit=2, segmenter=None)
    before = out.read_bytes()
    with pytest.raises(EvalError, match="cannot connect"):
        run(inp, out, OpenAIBackend("http://127.0.0.1:9/v1", retries=0), media_root=media_root, segmenter=None)
    assert out.read_bytes() == before


def test_resume_refuses_another_input_or_model(media_root, tmp_path):
    inp, out = write_input(tmp_path, [row("multiple choice", "B", problem_id=1)]), tmp_path / "out.json"
    run(inp, out, ScriptedBackend({}), media_root=media_root, segmenter=None)
    other = write_input(tmp_path, [row("multiple choice", "B", problem_id=99)], "other.json")
    with pytest.raises(EvalError, match="another input"):
        run(other, out, ScriptedBackend({}), media_root=media_root, segmenter=None)
    other_model = ScriptedBackend({})
    other_model.model = "another-model"
    with pytest.raises(EvalError, match="scripted-model, not another-model"):
        run(inp, out, other_model, media_root=media_root, segmenter=None)
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(EvalError, match="cannot resume"):
        run(inp, tmp_path / "junk.json", ScriptedBackend({}), media_root=media_root, segmenter=None)


def test_empty_input_and_a_finished_run(media_root, tmp_path):
    res = run(write_input(tmp_path, []), tmp_path / "out.json", ScriptedBackend({}), media_root=media_root)
    assert res.results == [] and read_rows(tmp_path / "out.json").metrics["overall/acc"] == 0.0
    inp = write_input(tmp_path, [row("multiple choice", "B", problem_id=1)], "one.json")
    first = run(inp, tmp_path / "one_out.json", ScriptedBackend({}, R("B")), media_root=media_root)
    again = run(inp, tmp_path / "one_out.json", ScriptedBackend({}), media_root=media_root)
    assert again.resumed == 1 and again.generated == 0 and again.results == first.results
    with pytest.raises(EvalError, match="not a folder"):
        run(inp, tmp_path / "x.json", ScriptedBackend({}), media_root=tmp_path / "nope")


def test_a_generation_batch_gives_the_same_results_as_one_at_a_time(tiny_run, tiny_model_dir):
    """Rows decoded together (left-padded batches, images and videos in their own groups) get the answers, sent
    records and scores that the one-by-one run got; only the batch size in ``sent.extra`` tells them apart."""
    from onethinker.engine import TransformersBackend

    d, inp, rows, res = tiny_run
    batched = run(inp, d / "batched.json", TransformersBackend(tiny_model_dir), media_root=d / "media",
                  batch_size=8, generation_batch=4, sampling=FAST, segmenter=None)
    assert batched.meta["generation_batch"] == 4 and batched.generated == res.generated
    for one, many in zip(res.results, batched.results):
        assert many["output"] == one["output"] and many["accuracy"] == one["accuracy"], one["problem_id"]
        if one["sent"] is not None:
            assert many["sent"]["media"] == one["sent"]["media"]
            assert many["sent"]["prompt_tokens"] == one["sent"]["prompt_tokens"]
            assert many["sent"]["completion_tokens"] == one["sent"]["completion_tokens"]
    assert batched.metrics == res.metrics


def test_generation_batch_and_concurrency_are_checked(media_root):
    backend = ScriptedBackend({})
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="generation batch must be a whole number"):
            Runner(backend, media_root, generation_batch=bad)
    with pytest.raises(ValueError, match="not both"):
        Runner(backend, media_root, generation_batch=4, concurrency=4)


def test_a_backend_without_batching_answers_a_generation_batch_one_by_one(media_root):
    """The base backend's ``generate_many`` answers in order and gives a request that fails its own error."""
    from onethinker.engine import EngineError, Request

    backend = ScriptedBackend({"first?": R("A"), "third?": R("B")})
    asks = [Request(q, "multiple choice", options=["A. x", "B. y"], image=str(media_root / name))
            for q, name in (("first?", "shapes.png"), ("second?", "no-such-file.png"), ("third?", "shapes.png"))]
    first, second, third = backend.generate_many(asks, batch_size=8)
    assert first.text == R("A") and third.text == R("B")
    assert isinstance(second, EngineError) and "no-such-file.png" in str(second)
    rows = [row("multiple choice", "A", problem="first?", options=["A. x", "B. y"]),
            row("multiple choice", "A", problem="third?", options=["A. x", "B. y"])]
    scored = Runner(backend, media_root, generation_batch=8, segmenter=None).evaluate(rows)
    assert [r["accuracy"] for r in scored] == [1.0, 0.0]
    assert backend.calls == ["first?", "second?", "third?", "first?", "third?"]
