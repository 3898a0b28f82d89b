"""What every tab shares: settings, the model in use, the feedback store, the output folder, examples.

One :class:`AppContext` per process, built by ``app.py`` from its flags and handed to each tab
builder.  Per-browser-session values live in :class:`Session` (a ``gr.State``), never here.
Nothing in this module imports gradio.
"""

from __future__ import annotations

import hmac
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from onethinker.engine import DEFAULT_MODEL_ID, Backend, EngineError, TextStream
from onethinker.tasks import DEFAULT_TEMPLATES, PromptTemplates

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = ROOT / "examples" / "app"

Progress = Callable[[float, str], None]


@dataclass
class Settings:
    """The app's configuration (``app.py`` fills it from flags and environment variables)."""

    model: str = DEFAULT_MODEL_ID
    openai_url: str | None = None
    openai_model: str | None = None  # the served model's name; None = the first one the server lists
    api_key: str | None = None
    fallback_model: str | None = None
    data_dir: Path = Path("data")
    output_dir: Path | None = None  # rendered videos, downloads; default: inside gradio's cache folder
    max_output_files: int = 200
    max_output_mb: int = 2048
    segmenter: str = "sam2"  # "sam2", "segment-anything" or "none"
    sam_checkpoint: str | None = None
    admin_user: str | None = None
    admin_password: str | None = None
    load_at_start: bool = False
    examples_dir: Path = EXAMPLES_DIR
    results_root: Path = Path("results")  # the Inspect tab opens results files and media only under it

    @property
    def admin_enabled(self) -> bool:
        return bool(self.admin_user and self.admin_password)


# ------------------------------------------------------------------------------------------------
# The model in use


class ModelUnavailable(RuntimeError):
    """No model can run: the message (Markdown) says which model failed, why, and what to do."""


@dataclass(frozen=True)
class ModelStatus:
    name: str  # what is (or will be) answering
    backend: str  # "transformers" or "openai"
    state: str  # "not loaded", "loading", "ready", "fallback", "failed"
    error: str | None = None  # why the configured model could not be used
    configured: str = ""  # the model the user asked for

    def markdown(self) -> str:
        where = {"transformers": "local transformers", "openai": "OpenAI-compatible server"}.get(self.backend,
                                                                                             self.backend)
        if self.state == "fallback":
            return (f"**Model:** `{self.name}` (fallback, {where}).  The configured model `{self.configured}` "
                    f"could not be loaded: {self.error}  Answers come from the small fallback model.  "
                    "To run the real model, pass a local folder or an OpenAI-compatible URL in **Model settings**.")
        if self.state == "failed":
            return (f"**Model:** `{self.configured}` ({where}) **could not be loaded.**  Why: {self.error}  \n"
                    "What to do: give a local model folder (saved with `save_pretrained`, with `config.json`) or the "
                    "URL of an OpenAI-compatible server (vLLM / SGLang, e.g. `http://localhost:8000/v1`) in "
                    "**Model settings**, or restart with `--model PATH` / `--openai-url URL`.  Everything else in "
                    "the app keeps working.")
        state = {"not loaded": "loads on first run", "loading": "loading…", "ready": "ready"}[self.state]
        return f"**Model:** `{self.name}` ({where}, {state})"


def _prompt_templates(model: str) -> PromptTemplates:
    """The prompt templates the model's folder ships (its ``onethinker.json`` profile, or a
    ``prompt_templates.*`` file), else the catalogue's instructions."""
    from onethinker.engine.profile import load_profile

    return load_profile(model).templates


class ModelManager:
    """The backend the app runs on, loaded on first use, with a fallback folder and a clear failure.

    ``backend()`` returns a ready backend or raises :class:`ModelUnavailable`.  A local model that
    fails to load is not retried on every run (loading an 8B model that does not fit takes minutes):
    :meth:`configure` (the settings panel) tries again.  A server URL is checked on every run.
    """

    def __init__(self, model: str = DEFAULT_MODEL_ID, *, openai_url: str | None = None,
                 openai_model: str | None = None, api_key: str | None = None, fallback: str | None = None):
        self._lock = threading.RLock()
        self.fallback = fallback
        self.api_key = api_key
        self._configure(model, openai_url, openai_model)

    def _configure(self, model: str | None, openai_url: str | None, openai_model: str | None = None) -> None:
        self.model = (model or "").strip() or DEFAULT_MODEL_ID
        self.openai_url = (openai_url or "").strip() or None
        self.openai_model = openai_model
        self._backend: Backend | None = None
        self._name = self.model
        self._state = "not loaded"
        self._error: str | None = None
        try:  # a template file inside a local model folder (checked again, loudly, when the model loads)
            self.templates: PromptTemplates = DEFAULT_TEMPLATES if self.openai_url else _prompt_templates(self.model)
        except (ValueError, EngineError):  # a broken profile or template file: the load says why
            self.templates = DEFAULT_TEMPLATES

    # -- what the page shows -------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return "openai" if self.openai_url else "transformers"

    def status(self) -> ModelStatus:
        with self._lock:
            configured = self.openai_url and f"{self.openai_model or 'served model'} at {self.openai_url}" \
                or self.model
            if self.openai_url and self._backend is not None:
                name = getattr(self._backend, "model", None) or configured
            else:
                name = self._name
            kind = self._backend.name if self._backend is not None else self.kind
            return ModelStatus(name, kind, self._state, self._error, configured)

    @property
    def ready(self) -> bool:
        """A backend is set up (a local model loaded, or a server checked): a run starts at once."""
        return self._backend is not None and self._state in ("ready", "fallback")

    # -- changing it ---------------------------------------------------------------------------
    def configure(self, model: str | None = None, openai_url: str | None = None,
                  openai_model: str | None = None, check: bool = True) -> ModelStatus:
        """Switch model or backend (no restart); a server URL is checked at once when ``check``."""
        with self._lock:
            self._configure(model, openai_url, openai_model)
            if self.openai_url and check:
                try:
                    self.backend()
                except ModelUnavailable:
                    pass
            return self.status()

    def use(self, backend: Backend, name: str) -> None:
        """Run on an already-made backend (benchmarks and tests)."""
        with self._lock:
            self._backend, self._name, self._state, self._error = backend, name, "ready", None
            self.model = name

    # -- getting it ----------------------------------------------------------------------------
    def backend(self, progress: Progress | None = None) -> Backend:
        with self._lock:
            if self._backend is not None and self._state in ("ready", "fallback"):
                return self._backend
            if self._state == "failed" and not self.openai_url:
                raise ModelUnavailable(self.status().markdown())
            if self.openai_url:
                return self._connect()
            return self._load(progress)

    def _connect(self) -> Backend:
        from onethinker.engine import OpenAIBackend

        b = OpenAIBackend(self.openai_url, self.openai_model, api_key=self.api_key, retries=1, connect_timeout=5.0)
        try:
            served = b.list_models()
        except EngineError as e:
            self._state, self._error = "failed", str(e)
            raise ModelUnavailable(self.status().markdown()) from None
        if self.openai_model and served and self.openai_model not in served:
            self._state = "failed"
            self._error = f"the server serves {', '.join(served)}, not {self.openai_model}."
            raise ModelUnavailable(self.status().markdown())
        self._backend, self._state, self._error = b, "ready", None
        return b

    def _load(self, progress: Progress | None) -> Backend:
        from onethinker.engine import TransformersBackend

        report = progress or (lambda f, m: None)
        self._state = "loading"
        try:
            b = TransformersBackend(self.model)
            b.load(report)
            self._backend, self._name, self._state, self._error = b, self.model, "ready", None
            self.templates = _prompt_templates(self.model)
            return b
        except Exception as e:  # ModelLoadError, or anything a broken checkpoint throws
            self._error = _sentence(e)
        fb = self.fallback
        if fb and Path(fb).expanduser().resolve() != Path(self.model).expanduser().resolve() \
                and Path(fb).expanduser().is_dir():
            try:
                report(0.0, f"{self.model} failed; loading the fallback model {fb}")
                b = TransformersBackend(fb)
                b.load(report)
                self._backend, self._name, self._state = b, fb, "fallback"
                self.templates = _prompt_templates(fb)
                return b
            except Exception as e:
                self._error += f"  The fallback model {fb} could not be loaded either: {_sentence(e)}"
        self._state = "failed"
        raise ModelUnavailable(self.status().markdown())


def _sentence(e: BaseException) -> str:
    msg = str(e).strip() or type(e).__name__
    if not isinstance(e, EngineError):
        msg = f"{type(e).__name__}: {msg.splitlines()[0][:300]}"
    return msg if msg.endswith(".") else msg + "."


# ------------------------------------------------------------------------------------------------
# The segmentation model


class SegmenterSlot:
    """The configured segmentation backend, loaded on first use, with a load failure remembered.

    ``get(video)`` returns ``(backend, None)`` or ``(None, why)``: ``why`` says in plain words which
    checkpoint could not be loaded, why, and what to do.  A failure is remembered until
    :meth:`configure` changes the setting, so an offline machine does not try to fetch the weights
    again (and wait on the network) for every segmentation it draws.  A failure while segmenting
    (not loading) is the renderer's to report and is not remembered.
    """

    def __init__(self, name: str | None = "none", checkpoint: str | None = None):
        self._lock = threading.Lock()
        self.configure(name, checkpoint)

    def configure(self, name: str | None, checkpoint: str | None = None) -> None:
        with self._lock:
            self.name = (name or "none").strip().lower()
            self.checkpoint = checkpoint or None
            self._backend: Any = None
            self._loaded: set[bool] = set()  # video flags whose model is loaded
            self.failure: str | None = None
            self.load_attempts = 0

    def use(self, backend: Any, name: str) -> None:
        """An already-made backend (tests, benchmarks); it loads what it needs on first use."""
        self.configure(name)
        with self._lock:
            self._backend = backend

    def get(self, video: bool = False) -> tuple[Any, str | None]:
        with self._lock:
            if self.name == "none":
                return None, None
            if self.failure is not None:
                return None, self.failure
            try:
                if self._backend is None:
                    from onethinker.segment import get_segmenter

                    self._backend = get_segmenter(self.name, **({"checkpoint": self.checkpoint}
                                                                 if self.checkpoint else {}))
                load = getattr(self._backend, "load", None)
                if load is not None and video not in self._loaded:
                    self.load_attempts += 1
                    load(video=video)
                self._loaded.add(video)
            except Exception as e:  # any failure to build or load: remembered and explained
                self.failure = self._explain(e)
                self._backend = None
                return None, self.failure
            return self._backend, None

    def remember(self, failure: str) -> None:
        """Keep a failure found elsewhere (on ZeroGPU the loading runs in a worker process)."""
        with self._lock:
            self.failure, self._backend = failure, None

    def _explain(self, e: BaseException) -> str:
        ckpt = self.checkpoint or getattr(self._backend, "checkpoint", None) or _default_checkpoint(self.name)
        what = f"`{ckpt}` ({self.name})" if ckpt else f"the {self.name} model"
        return (f"**No masks:** the segmentation model {what} could not be loaded — {_sentence(e)}  "
                "The box and points are drawn without a mask.  To get masks, give a local checkpoint with "
                "`--sam-checkpoint PATH` (a folder saved with `save_pretrained` for sam2, a `.pth` file for "
                "segment-anything) or in the **Model** tab; to stop trying, start with `--segmenter none`.  "
                "It is not tried again until the segmentation setting changes.")


def _default_checkpoint(name: str) -> str | None:
    if name.startswith("sam2"):
        from onethinker.segment.sam2 import DEFAULT_SAM2_CHECKPOINT

        return DEFAULT_SAM2_CHECKPOINT
    return None


# ------------------------------------------------------------------------------------------------
# Files the app writes


class OutputDir:
    """Rendered videos, downloads and export zips; the oldest files go once there are too many.

    Placed inside gradio's cache folder by default, so gradio serves them without copying them.
    """

    def __init__(self, root: Path, max_files: int = 200, max_mb: int = 2048):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_files, self.max_bytes = max_files, max_mb * 2**20
        self._lock = threading.Lock()

    def path(self, stem: str, suffix: str) -> str:
        return str(self.root / f"{stem}-{uuid.uuid4().hex[:10]}{suffix}")

    def folder(self, stem: str) -> Path:
        p = self.root / f"{stem}-{uuid.uuid4().hex[:10]}"
        p.mkdir()
        return p

    def usage(self) -> tuple[int, int]:
        """(files, bytes) under the folder."""
        files = [p for p in self.root.rglob("*") if p.is_file()]
        return len(files), sum(p.stat().st_size for p in files)

    def prune(self) -> int:
        """Delete the oldest entries beyond the limits; returns how many were removed."""
        import shutil

        with self._lock:
            entries = []
            for p in self.root.iterdir():
                try:
                    st = p.stat()
                    size = st.st_size if p.is_file() else sum(q.stat().st_size for q in p.rglob("*") if q.is_file())
                    entries.append((st.st_mtime, size, p))
                except OSError:
                    continue
            entries.sort()
            total = sum(e[1] for e in entries)
            removed = 0
            while entries and (len(entries) > self.max_files or total > self.max_bytes):
                _, size, p = entries.pop(0)
                try:
                    shutil.rmtree(p) if p.is_dir() else p.unlink()
                except OSError:
                    continue
                total -= size
                removed += 1
            return removed


# ------------------------------------------------------------------------------------------------
# Per-session values (kept in a gr.State)


@dataclass
class Session:
    """One browser session's values: the last run and what was drawn for it, the two samples, the
    stream running now (so Stop can reach it) and the correction being edited."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    run: Any = None  # onethinker.runs.Run
    render: Any = None  # onethinker.render.RenderResult of run
    truth: Any = None  # the reference Answer typed for run, if any
    samples: list = field(default_factory=list)  # two Runs of the same request
    sample_renders: list = field(default_factory=list)
    stream: TextStream | None = None
    pending: bool = False  # Run was clicked and the run has not ended
    stop_requested: bool = False
    edit: Any = None  # components.correct.Edit: the correction being made
    correction: Any = None  # the corrected payload last shown for confirmation
    admin: bool = False
    panels: set = field(default_factory=set)  # the Run tab's optional panels now on show (components.run.Outputs)

    def stop(self) -> str:
        if self.stream is not None and not self.stream.done:
            self.stream.cancel()
            return "Stopping…"
        if self.pending:
            self.stop_requested = True
            return "Stopping before the run starts…"
        return "Nothing is running."


# ------------------------------------------------------------------------------------------------
# The context


class AppContext:
    def __init__(self, settings: Settings, models: ModelManager | None = None):
        self.settings = settings
        self.models = models or ModelManager(settings.model, openai_url=settings.openai_url,
                                             openai_model=settings.openai_model, api_key=settings.api_key,
                                             fallback=settings.fallback_model)
        out = settings.output_dir
        if out is None:
            from gradio.utils import get_upload_folder  # files there are served without a copy

            out = Path(get_upload_folder()) / f"onethinker-{os.getpid()}"
        self.outputs = OutputDir(out, settings.max_output_files, settings.max_output_mb)
        self._store = None
        self._store_lock = threading.Lock()
        self.segmenters = SegmenterSlot(settings.segmenter, settings.sam_checkpoint)
        self.started = time.time()

    # -- feedback store ------------------------------------------------------------------------
    @property
    def store(self):
        with self._store_lock:
            if self._store is None:
                from onethinker.feedback import FeedbackStore

                self._store = FeedbackStore(Path(self.settings.data_dir) / "feedback.db")
            return self._store

    # -- segmentation --------------------------------------------------------------------------
    def use_segmenter(self, segmenter, name: str) -> None:
        """Draw masks with an already-made segmentation backend (tests, benchmarks)."""
        self.settings.segmenter = name
        self.segmenters.use(segmenter, name)

    def set_segmenter(self, name: str, checkpoint: str | None = None) -> None:
        """A new segmentation setting (a remembered load failure is forgotten: the next render tries it)."""
        self.settings.segmenter, self.settings.sam_checkpoint = name or "none", checkpoint or None
        self.segmenters.configure(self.settings.segmenter, self.settings.sam_checkpoint)

    # -- admin ---------------------------------------------------------------------------------
    def is_admin(self, user: str, password: str) -> bool:
        s = self.settings
        if not s.admin_enabled:
            return False
        ok_user = hmac.compare_digest(str(user or "").encode(), s.admin_user.encode())
        ok_pass = hmac.compare_digest(str(password or "").encode(), s.admin_password.encode())
        return ok_user and ok_pass

    # -- examples ------------------------------------------------------------------------------
    def examples(self) -> list[dict]:
        return load_examples(self.settings.examples_dir)


def load_examples(folder: Path = EXAMPLES_DIR) -> list[dict]:
    """The example requests of ``folder/examples.json``, media as absolute paths."""
    path = Path(folder) / "examples.json"
    if not path.is_file():
        return []
    items = json.loads(path.read_text(encoding="utf-8"))
    for it in items:
        for k in ("image", "video"):
            if it.get(k):
                it[k] = str((path.parent / it[k]).resolve())
    return items
