"""Local inference with transformers: one model per process, streamed from one long-lived worker thread.

``AutoModelForImageTextToText`` + ``AutoProcessor.from_pretrained(model_id_or_path)`` (default
``OneThink/OneThinker-8B``), loaded lazily on first use with ``device_map="auto"``, in the checkpoint's
own dtype on GPU (bf16 when it names none) and fp32 on CPU, optionally 4/8-bit when bitsandbytes is
installed.  Vision inputs are prepared as the official inference does (see
:mod:`onethinker.engine.request`) and handed to the processor with ``do_resize=False`` and, for
videos, ``VideoMetadata`` with the original frame indices and ``do_sample_frames=False``.  Generation
runs under a process-wide lock, so two requests never run on the model at once; a stop request ends
it at the next token through a ``StoppingCriteria``.
"""

from __future__ import annotations

import gc
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any

from onethinker.engine.base import Backend, Completion, ProgressFn, Sent, TextStream
from onethinker.engine.errors import EngineError, InputError, ModelLoadError
from onethinker.engine.profile import ModelProfile, load_profile
from onethinker.engine.request import Prepared, Request, SamplingParams, prepare
from onethinker.engine.zerogpu import gpu

DEFAULT_MODEL_ID = "OneThink/OneThinker-8B"
GPU_DURATION_S = int(os.environ.get("ONETHINKER_GPU_DURATION", "120"))

_LOAD_LOCK = threading.RLock()
_GENERATE_LOCK = threading.Lock()  # one generation at a time on the shared model
_SHARED: dict[str, Any] = {}  # key, model, processor


# ------------------------------------------------------------------------------------------------
# Loading


_HUB_ID = __import__("re").compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


def _looks_like_path(model: str) -> bool:
    """A local folder rather than a hub id (``name`` or ``org/name``)?"""
    return not _HUB_ID.match(model) or Path(model).expanduser().exists()


def _check_model_location(model: str) -> str:
    if not isinstance(model, (str, os.PathLike)) or not str(model).strip():
        raise ModelLoadError("no model given; pass a hub id such as OneThink/OneThinker-8B or a local folder")
    model = os.fspath(model)
    if _looks_like_path(model):
        p = Path(model).expanduser()
        if not p.exists():
            raise ModelLoadError(
                f"model path {model} does not exist; pass a folder saved with save_pretrained "
                f"(with config.json) or a hub id such as {DEFAULT_MODEL_ID}")
        if p.is_dir() and not (p / "config.json").is_file():
            raise ModelLoadError(f"model folder {model} has no config.json; it is not a saved model "
                                 "(download the whole repository, or point to the right sub-folder)")
        return str(p)
    return model


def _load_failure(model: str, e: Exception) -> ModelLoadError:
    msg = str(e)
    low = msg.lower()
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    hub_down = ("couldn't connect", "offline", "connection", "cannot find the requested files")
    if any(k in low for k in hub_down) or type(e).__name__ in ("LocalEntryNotFoundError", "OfflineModeIsEnabled"):
        why = "offline mode is on (HF_HUB_OFFLINE=1)" if offline else "the Hugging Face hub cannot be reached"
        return ModelLoadError(
            f"model {model} is not in the local Hugging Face cache and {why}; download it where there is "
            f"internet (`hf download {model}`) and copy the cache, or pass a local model folder")
    if "not a valid model identifier" in low or "repository not found" in low or "404" in low:
        return ModelLoadError(f"model {model} was not found on the hub; check the id (e.g. {DEFAULT_MODEL_ID}) "
                              "or, for a private model, log in with `hf auth login`")
    if "out of memory" in low:
        return ModelLoadError(f"not enough memory to load {model}; use a GPU with more memory, or "
                              "quantization='4bit' (needs bitsandbytes)")
    first = (msg.strip().splitlines() or [type(e).__name__])[0][:200]
    return ModelLoadError(f"cannot load model {model}: {first}")


def _requested_dtype(dtype: Any):
    """``"auto"`` or a torch dtype; a dtype name that torch does not know is a :class:`ModelLoadError`."""
    import torch

    if dtype in (None, "auto"):
        return "auto"
    if isinstance(dtype, str):
        found = getattr(torch, dtype, None)
        if not isinstance(found, torch.dtype):
            raise ModelLoadError(f"unknown dtype {dtype!r}; use 'auto', 'bfloat16', 'float16' or 'float32'")
        return found
    return dtype


def _saved_dtype(location: str, revision: str | None):
    """The dtype a checkpoint's ``config.json`` names (``dtype``, formerly ``torch_dtype``), or None."""
    import torch
    from transformers import AutoConfig

    saved = getattr(AutoConfig.from_pretrained(location, revision=revision), "dtype", None)
    if isinstance(saved, str):
        saved = getattr(torch, saved.removeprefix("torch."), None)
    return saved if saved in (torch.float32, torch.bfloat16, torch.float16) else None


def _resolve_dtype(requested: Any, saved=lambda: None):
    """The dtype to load in.  ``"auto"``: fp32 on CPU; on a GPU the dtype the checkpoint was saved in (the 8B
    model's bf16; the nano model's fp32, where bf16 changed 5 of 11 greedy answers on an H200), else bf16.
    ``saved`` is called only on a GPU, so a CPU load reads no config first."""
    import torch

    if requested != "auto":
        return requested
    if not torch.cuda.is_available():
        return torch.float32
    return saved() or torch.bfloat16


def _quantization_config(quantization: str | None, dtype):
    if quantization in (None, "", "none"):
        return None
    if quantization not in ("4bit", "8bit"):
        raise ModelLoadError(f"unknown quantization {quantization!r}; use None, '4bit' or '8bit'")
    import importlib.util

    if importlib.util.find_spec("bitsandbytes") is None:
        raise ModelLoadError(f"{quantization} loading needs the bitsandbytes package (`pip install bitsandbytes`) "
                             "and a CUDA GPU; or load without quantization")
    from transformers import BitsAndBytesConfig

    if quantization == "4bit":
        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=dtype, bnb_4bit_quant_type="nf4")
    return BitsAndBytesConfig(load_in_8bit=True)


def unload_model() -> None:
    """Drop the shared model (frees its memory)."""
    with _LOAD_LOCK:
        _SHARED.clear()
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:
            pass


def load_model(model: str = DEFAULT_MODEL_ID, *, dtype: Any = "auto", device_map: Any = "auto",
               quantization: str | None = None, revision: str | None = None,
               progress: ProgressFn | None = None) -> tuple[Any, Any]:
    """(model, processor), loaded once per process; loading another model replaces the previous one.

    Two requests that resolve to the same weights share them: ``dtype="auto"`` on a CPU is ``"float32"``, on a GPU
    the checkpoint's own dtype, so asking for one after the other loads nothing again."""
    location = _check_model_location(model)
    requested = _requested_dtype(dtype)
    key = (location, str(requested), str(device_map), quantization, revision)
    report = progress or (lambda f, m: None)
    with _LOAD_LOCK:
        if key in _SHARED.get("keys", ()):  # asked for before: no config to read again
            return _SHARED["model"], _SHARED["processor"]
        try:  # fail before dropping the current model
            torch_dtype = _resolve_dtype(requested, lambda: _saved_dtype(location, revision))
        except Exception as e:  # the config cannot be read: the same reasons as the weights
            raise _load_failure(model, e) from None
        loaded_as = (location, str(torch_dtype), str(device_map), quantization, revision)
        if _SHARED.get("loaded_as") == loaded_as:  # the loaded weights, asked for by another name
            _SHARED["keys"].add(key)
            return _SHARED["model"], _SHARED["processor"]
        qconf = _quantization_config(quantization, torch_dtype)
        with _GENERATE_LOCK:  # never swap the model under a running generation
            unload_model()
            from transformers import AutoModelForImageTextToText, AutoProcessor

            t0 = time.perf_counter()
            report(0.0, f"loading processor of {model}")
            try:
                processor = AutoProcessor.from_pretrained(location, revision=revision)
                report(0.1, f"loading weights of {model}")
                kwargs: dict[str, Any] = {"dtype": torch_dtype, "revision": revision}
                if device_map is not None:
                    kwargs["device_map"] = device_map
                if qconf is not None:
                    kwargs["quantization_config"] = qconf
                net = AutoModelForImageTextToText.from_pretrained(location, **kwargs).eval()
            except ModelLoadError:
                raise
            except Exception as e:  # OSError, ValueError, RuntimeError from hub / safetensors / config
                raise _load_failure(model, e) from None
            if getattr(processor, "tokenizer", None) is None:
                raise ModelLoadError(f"{model} has no tokenizer in its processor; it is not a chat vision model")
            _SHARED.update(keys={key}, loaded_as=loaded_as, model=net, processor=processor, model_id=model,
                           load_s=time.perf_counter() - t0)
            report(1.0, f"{model} ready in {_SHARED['load_s']:.1f} s")
            return net, processor


# ------------------------------------------------------------------------------------------------
# Generation


def _streamer_class():
    from transformers import TextIteratorStreamer

    class TokenStreamer(TextIteratorStreamer):
        """TextIteratorStreamer that keeps the generated ids and releases text every token.

        Detokenisation is incremental (a window of the last few tokens, as serving engines do): with
        byte-level BPE, text can be released as soon as it does not end in an incomplete UTF-8
        sequence (decoded as U+FFFD), so there is no waiting for word boundaries and the per-token
        cost does not grow with the length of the answer.
        """

        coalesce_s = 0.01  # at most ~100 queue hand-overs a second after the first text

        def __init__(self, tokenizer, **kw):
            super().__init__(tokenizer, skip_prompt=True, **kw)
            self.token_ids: list[int] = []
            self.first_token_at: float | None = None
            self._prefix = 0  # ids[_prefix:_read] decode to _prefix_text, already released
            self._read = 0
            self._prefix_text = ""
            self._pending = ""
            self._flushed_at: float | None = None

        def put(self, value):
            if self.next_tokens_are_prompt:
                self.next_tokens_are_prompt = False
                return
            ids = value.reshape(-1).tolist()
            if not ids:
                return
            if self.first_token_at is None:
                self.first_token_at = time.perf_counter()
            self.token_ids.extend(ids)
            text = self.tokenizer.decode(self.token_ids[self._prefix:], **self.decode_kwargs)
            if text.endswith("\ufffd") or len(text) <= len(self._prefix_text):
                return  # incomplete character, or tokens with no text (special tokens)
            delta = text[len(self._prefix_text):]
            self._prefix, self._read = self._read, len(self.token_ids)
            # byte-level BPE decodes concatenatively at character boundaries, so the new window's text
            # is exactly the delta just released (saves a second decode per token)
            self._prefix_text = delta
            self._pending += delta
            now = time.perf_counter()
            if self._flushed_at is None or now - self._flushed_at >= self.coalesce_s:
                # the first text goes out at once; later text is batched every few ms, which spares the
                # consumer thread (and the GIL hand-over) one wake-up per token on fast models
                self._flushed_at = now
                text, self._pending = self._pending, ""
                self.on_finalized_text(text)

        def end(self):
            text = self.tokenizer.decode(self.token_ids[self._prefix:], **self.decode_kwargs)
            tail = self._pending + (text[len(self._prefix_text):] if text.startswith(self._prefix_text) else "")
            self._pending = ""
            self._prefix = self._read = len(self.token_ids)
            self._prefix_text = ""
            self.next_tokens_are_prompt = True
            self.on_finalized_text(tail, stream_end=True)

    return TokenStreamer


def _cancel_criteria(flag: threading.Event):
    import torch
    from transformers import StoppingCriteria

    class CancelCriteria(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            return torch.full((input_ids.shape[0],), flag.is_set(), dtype=torch.bool, device=input_ids.device)

    return CancelCriteria()


class _Done:
    def __init__(self, token_ids, error, first_token_at):
        self.token_ids, self.error, self.first_token_at = token_ids, error, first_token_at


_WORKER_LOCK = threading.Lock()
_WORKER: tuple[int, "queue.SimpleQueue"] | None = None  # (pid, job queue) of the generation thread


def run_on_generation_thread(job) -> threading.Event:
    """Run ``job()`` on the process's one long-lived generation thread; the event is set once it has run.

    Why one thread for every request instead of a thread per request: on an H200 with an 8B-shaped
    Qwen3-VL in bf16, ``generate`` decoded at ~14.7 tok/s in a freshly started thread against ~32.7 tok/s
    in a thread that had generated before (the main thread: ~33 tok/s; benchmarks/bench_stream.py
    --shape 8b).  ``job`` must not raise.  A forked child (ZeroGPU runs GPU work in one) starts its own
    thread, since threads do not survive a fork.
    """
    global _WORKER
    with _WORKER_LOCK:
        if _WORKER is None or _WORKER[0] != os.getpid():
            jobs: queue.SimpleQueue = queue.SimpleQueue()

            def loop() -> None:
                while True:
                    fn, done = jobs.get()
                    try:
                        fn()
                    finally:
                        done.set()

            threading.Thread(target=loop, name="onethinker-generate", daemon=True).start()
            _WORKER = (os.getpid(), jobs)
        done = threading.Event()
        _WORKER[1].put((job, done))
    return done


def _generate_deltas_impl(model, tokenizer, inputs, gen_kwargs, seed, cancel: threading.Event):
    """Yield text deltas from ``model.generate`` in a worker thread, then one :class:`_Done`."""
    import torch
    from transformers import StoppingCriteriaList

    streamer = _streamer_class()(tokenizer, skip_special_tokens=True)
    errors: list[BaseException] = []

    def work():
        returned = False
        with _GENERATE_LOCK:
            try:
                if cancel.is_set():
                    return
                if seed is not None:
                    torch.manual_seed(seed)
                    if torch.cuda.is_available():
                        torch.cuda.manual_seed_all(seed)
                with torch.inference_mode():
                    model.generate(**inputs, **gen_kwargs, streamer=streamer,
                                   stopping_criteria=StoppingCriteriaList([_cancel_criteria(cancel)]))
                returned = True  # generate() has called streamer.end()
            except BaseException as e:  # reported to the consumer, never kills the process
                errors.append(e)
            finally:
                if not returned:
                    streamer.end()

    ran = run_on_generation_thread(work)
    finished = False
    try:
        for delta in streamer:
            yield delta
        finished = True
    finally:
        if not finished:
            cancel.set()
        ran.wait()
    yield _Done(streamer.token_ids, errors[0] if errors else None, streamer.first_token_at)


def _generate_batch_impl(model, inputs, gen_kwargs, cancel: threading.Event):
    """``model.generate`` on a padded batch, on the generation thread; the output ids, or the error it raised."""
    import torch
    from transformers import StoppingCriteriaList

    result: list[Any] = [None, None]

    def work():
        with _GENERATE_LOCK:
            try:
                if not cancel.is_set():
                    with torch.inference_mode():
                        result[0] = model.generate(**inputs, **gen_kwargs, stopping_criteria=StoppingCriteriaList(
                            [_cancel_criteria(cancel)]))
            except BaseException as e:  # reported to the caller, never kills the process
                result[1] = e

    run_on_generation_thread(work).wait()
    return result[0], result[1]


def _gpu_seconds(*args, **kwargs) -> int:
    return GPU_DURATION_S


_generate_deltas = gpu(_generate_deltas_impl, duration=_gpu_seconds)
_generate_batch = gpu(_generate_batch_impl, duration=_gpu_seconds)


def _generation_error(e: BaseException) -> EngineError:
    name = type(e).__name__
    if "OutOfMemory" in name or "out of memory" in str(e).lower():
        return EngineError("the model ran out of memory while generating; lower the video frames or pixels, "
                           "or max new tokens, or load the model in 4-bit", "generation")
    first = (str(e).strip().splitlines() or [name])[0][:200]
    return EngineError(f"generation failed ({name}: {first})", "generation")


def generation_kwargs(sp: SamplingParams, generation_config=None) -> dict:
    """Keyword arguments for ``model.generate`` from our sampling settings."""
    kw: dict[str, Any] = {"max_new_tokens": sp.max_new_tokens, "do_sample": not sp.greedy}
    if sp.min_new_tokens:
        kw["min_new_tokens"] = sp.min_new_tokens
    if sp.greedy:
        # neutralise sampling knobs a checkpoint's generation_config may carry (they only warn under greedy)
        kw.update(temperature=None, top_p=None, top_k=None)
    else:
        kw.update(temperature=sp.temperature, top_p=sp.top_p, top_k=sp.top_k or None)
    if sp.repetition_penalty != 1.0:
        kw["repetition_penalty"] = sp.repetition_penalty
    return kw


def _eos_ids(model) -> set:
    eos = getattr(model.generation_config, "eos_token_id", None)
    return set(eos if isinstance(eos, (list, tuple)) else [eos] if eos is not None else [])


def _finish_reason(token_ids: list, eos_ids: set, max_new_tokens: int, cancelled: bool) -> str:
    """``stop`` (ended on an end-of-turn token, or stopped without a cap), ``length`` or ``cancelled``."""
    if token_ids and token_ids[-1] in eos_ids:
        return "stop"
    if len(token_ids) >= max_new_tokens:
        return "length"
    return "cancelled" if cancelled else "stop"


def _guess_factor(model_id: str) -> int:
    from onethinker.coords import CoordSystem, coord_system_for_model

    return 28 if coord_system_for_model(model_id) == CoordSystem.PIXELS else 32


def _processor_factor(processor) -> int:
    ip = getattr(processor, "image_processor", None)
    patch = getattr(ip, "patch_size", None) or 16
    merge = getattr(ip, "merge_size", None) or 2
    return int(patch) * int(merge)


class TransformersBackend(Backend):
    """Local transformers inference.  ``stream(request)`` → :class:`TextStream` of text deltas."""

    name = "transformers"

    def __init__(self, model: str = DEFAULT_MODEL_ID, *, dtype: Any = "auto", device_map: Any = "auto",
                 quantization: str | None = None, revision: str | None = None,
                 progress: ProgressFn | None = None):
        super().__init__()
        self.model_id = os.fspath(model)
        self.dtype, self.device_map, self.quantization, self.revision = dtype, device_map, quantization, revision
        self.progress = progress
        self._factor: int | None = None
        self._profile: ModelProfile | None = None
        self._batches: set[threading.Event] = set()  # cancel flags of the batches being decoded

    @property
    def profile(self) -> ModelProfile:
        """The model folder's ``onethinker.json`` (see :mod:`onethinker.engine.profile`), read once; it fills
        in the prompt templates and media limits a request leaves unset."""
        if self._profile is None:
            self._profile = load_profile(self.model_id)
        return self._profile

    # -- loading -------------------------------------------------------------------------------
    def load(self, progress: ProgressFn | None = None) -> tuple[Any, Any]:
        return load_model(self.model_id, dtype=self.dtype, device_map=self.device_map,
                          quantization=self.quantization, revision=self.revision,
                          progress=progress or self.progress)

    @property
    def loaded(self) -> bool:
        return _SHARED.get("model_id") == self.model_id and "model" in _SHARED

    # -- encoding ------------------------------------------------------------------------------
    def encode(self, prep: Prepared, processor) -> tuple[Any, str]:
        """Processor inputs (tensors) and the templated text for a prepared request."""
        inputs, texts = self.encode_many([prep], processor)
        return inputs, texts[0]

    def encode_many(self, preps: list[Prepared], processor) -> tuple[Any, list[str]]:
        """Processor inputs for several prepared requests as one batch (padded on the left, so every row's
        answer starts at the same column), and each request's templated text."""
        texts = []
        for prep in preps:
            try:
                texts.append(processor.apply_chat_template(prep.messages, tokenize=False, add_generation_prompt=True))
            except Exception as e:
                raise InputError(f"the model's chat template cannot render this request ({e})") from None
        kwargs: dict[str, Any] = {}
        images = [im.image for prep in preps for im in prep.images]
        videos = [v for prep in preps for v in prep.videos]
        if images:
            kwargs["images"] = images
        if videos:
            kwargs["videos"] = [v.frames for v in videos]
            # Qwen3-VL writes <t seconds> from the original indices; Qwen2.5-VL derives its temporal
            # position step from the same metadata (sampled fps = frames / total * fps)
            kwargs["video_metadata"] = [v.metadata() for v in videos]
            kwargs["do_sample_frames"] = False
            if hasattr(processor, "_calculate_timestamps"):  # Qwen3-VL
                kwargs["cap_pixels_per_frame"] = False  # frames are already sized; silences a v5 warning
        if len(preps) > 1:
            kwargs.update(padding=True, padding_side="left")
        try:
            inputs = processor(text=texts, return_tensors="pt", do_resize=False, **kwargs)
        except Exception as e:
            raise InputError(f"the processor rejected the inputs ({type(e).__name__}: {str(e)[:200]})") from None
        return inputs, texts

    def _sent(self, prep: Prepared, chat_text: str | None, prompt_tokens: int | None) -> Sent:
        from dataclasses import asdict

        msgs = [{"role": m["role"], "content": [
            {k: (v if isinstance(v, (str, int, float)) else repr(v)) for k, v in c.items()} for c in m["content"]]}
            for m in prep.messages]
        return Sent(self.name, self.model_id, prep.task.id, prep.data_type, prep.prompt, msgs,
                    prep.describe_media(), asdict(prep.request.sampling), chat_text, prompt_tokens)

    # -- the interface -------------------------------------------------------------------------
    def _prepared(self, request: Request) -> tuple[Prepared, Any, Any]:
        """The request prepared for the loaded model, the model and its processor."""
        # validate and load the media before paying for a model load; the token size (32 px for
        # Qwen3-VL, 28 for Qwen2/2.5-VL) is guessed from the id until the processor is known
        factor = self._factor or _guess_factor(self.model_id)
        prep = prepare(self.profile.apply(request, factor), factor=factor)
        model, processor = self.load()
        self._factor = _processor_factor(processor)
        if prep.factor != self._factor:
            prep = prepare(self.profile.apply(request, self._factor), factor=self._factor)
        return prep, model, processor

    def stream(self, request: Request) -> TextStream:
        t0 = time.perf_counter()
        prep, model, processor = self._prepared(request)
        inputs, chat_text = self.encode(prep, processor)
        device = getattr(model, "device", None)
        if device is not None:
            inputs = inputs.to(device)
        sp = request.sampling
        stream = TextStream(self._sent(prep, chat_text, int(inputs["input_ids"].shape[1])), t0)
        stream.sent.extra["first_token_s"] = None
        gen_kwargs = generation_kwargs(sp)
        eos_ids = _eos_ids(model)

        def run():
            done = None
            for item in _generate_deltas(model, processor.tokenizer, dict(inputs), gen_kwargs, sp.seed,
                                         stream._cancel):
                if isinstance(item, _Done):
                    done = item
                    break
                yield item
            if done is None:
                return
            stream.token_ids = done.token_ids
            stream.completion_tokens = len(done.token_ids)
            if done.first_token_at is not None:
                stream.sent.extra["first_token_s"] = done.first_token_at - t0
            if done.error is not None:
                stream.finish_reason = "error"
                raise _generation_error(done.error)
            stream.finish_reason = _finish_reason(done.token_ids, eos_ids, sp.max_new_tokens, stream.cancelled)

        return self._track(stream._attach(run()))

    def generate_many(self, requests, *, batch_size: int = 1) -> "list[Completion | EngineError]":
        """Greedy requests decoded ``batch_size`` at a time as one padded batch (on 2 CPU cores the nano model
        answers 16 pictures about 4× faster so, with the same text); sampled ones, and every request when
        ``batch_size`` is 1, one by one through :meth:`generate`, since a batch cannot give each its own seed.  Requests are batched
        with others of the same sampling settings and media kinds, in their order; a request that cannot be
        prepared gets its error and the rest go on."""
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch size must be a whole number ≥ 1, got {batch_size!r}")
        results: list[Completion | EngineError | None] = [None] * len(requests)
        groups: dict[tuple, list[tuple[int, Prepared]]] = {}
        model = processor = None
        for i, request in enumerate(requests):
            if batch_size == 1 or not request.sampling.greedy:
                continue
            try:
                prep, model, processor = self._prepared(request)
            except EngineError as e:
                results[i] = e
                continue
            key = (repr(request.sampling), len(prep.images), len(prep.videos))
            groups.setdefault(key, []).append((i, prep))
        for members in groups.values():
            for start in range(0, len(members), batch_size):
                chunk = members[start:start + batch_size]
                try:
                    done = self._decode_batch([p for _, p in chunk], model, processor)
                except EngineError as e:
                    done = [e] * len(chunk)
                for (i, _), result in zip(chunk, done):
                    results[i] = result
        for i, request in enumerate(requests):
            if results[i] is None:
                try:
                    results[i] = self.generate(request)
                except EngineError as e:
                    results[i] = e
        return results  # type: ignore[return-value]

    def _decode_batch(self, preps: list[Prepared], model, processor) -> list[Completion]:
        t0 = time.perf_counter()
        inputs, texts = self.encode_many(preps, processor)
        device = getattr(model, "device", None)
        if device is not None:
            inputs = inputs.to(device)
        sp = preps[0].request.sampling  # greedy: no seed to set
        cancel = threading.Event()
        self._batches.add(cancel)
        try:
            out, error = _generate_batch(model, dict(inputs), generation_kwargs(sp), cancel)
        finally:
            self._batches.discard(cancel)
        if error is not None:
            raise _generation_error(error)
        elapsed = time.perf_counter() - t0
        eos_ids = _eos_ids(model)
        width = int(inputs["input_ids"].shape[1])
        prompt_tokens = inputs["attention_mask"].sum(dim=1).tolist()
        completions = []
        for row, prep, text, n_prompt in zip(out[:, width:].tolist(), preps, texts, prompt_tokens):
            # a row that ended before the others is filled with padding after its end-of-turn token
            end = next((k for k, t in enumerate(row) if t in eos_ids), None)
            ids = row if end is None else row[:end + 1]
            reason = _finish_reason(ids, eos_ids, sp.max_new_tokens, cancel.is_set())
            sent = self._sent(prep, text, int(n_prompt))
            sent.extra["batch_size"] = len(preps)
            completions.append(Completion(processor.tokenizer.decode(ids, skip_special_tokens=True), reason,
                                          len(ids), int(n_prompt), None, elapsed, sent))
        return completions

    def cancel(self) -> None:
        super().cancel()
        for flag in list(self._batches):
            flag.set()

    def info(self) -> dict[str, Any]:
        out: dict[str, Any] = {"backend": self.name, "model": self.model_id, "loaded": self.loaded,
                               "quantization": self.quantization}
        if not self.profile.empty:
            out["profile"] = self.profile.to_json()
        if self.loaded:
            m = _SHARED["model"]
            out.update(device=str(getattr(m, "device", "?")), dtype=str(getattr(m, "dtype", "?")),
                       parameters=sum(p.numel() for p in m.parameters()), load_s=_SHARED.get("load_s"),
                       processor=type(_SHARED["processor"]).__name__)
        return out
