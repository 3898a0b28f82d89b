"""OneThinker Studio: the Gradio app (``python app.py --help``).  Flags, assembly of the tabs, launch.

Gradio's usage analytics are off unless asked for (``--analytics`` or ``GRADIO_ANALYTICS_ENABLED=True``):
the switch is set here, before anything imports gradio, so starting the app contacts no analytics host.
"""

from __future__ import annotations

import os
import sys

ANALYTICS_FLAG = "--analytics"


def _analytics_opt_in(argv: list[str]) -> bool:
    return ANALYTICS_FLAG in argv or os.environ.get("GRADIO_ANALYTICS_ENABLED", "").strip().lower() in ("true", "1")


if not _analytics_opt_in(sys.argv):
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import argparse  # noqa: E402
import importlib  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

from onethinker.engine import DEFAULT_MODEL_ID  # noqa: E402  (light: no torch, no gradio)

ROOT = Path(__file__).resolve().parent
DEFAULT_FALLBACK = ROOT / "models" / "onethinker-nano"

# The page's tabs, in order: modules of components/ with ``build(ctx, page)``; a new tab is one more line.
TABS = (
    "run",
    "judge",
    "correct",
    "inspect",
    "settings",
    "admin",
)


def tab_builders(names=TABS) -> list:
    return [importlib.import_module(f"components.{name}").build for name in names]


def _env(name: str, default: str | None = None) -> str | None:
    v = os.environ.get(name)
    return v if v not in (None, "") else default


def default_data_dir() -> Path:
    """``/data`` on a Hugging Face Space with persistent storage, else ``data/``."""
    if os.environ.get("SPACE_ID") and Path("/data").is_dir():
        return Path("/data")
    return Path("data")


def parser() -> argparse.ArgumentParser:
    fallback = str(DEFAULT_FALLBACK) if DEFAULT_FALLBACK.is_dir() else None
    p = argparse.ArgumentParser(
        prog="app.py", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="OneThinker Studio: run an all-in-one visual reasoning model, watch it think, see the answer "
                    "drawn, judge and correct it.  Starts without loading a model; the model loads on first use.",
        epilog="Environment variables: GRADIO_SERVER_NAME, GRADIO_SERVER_PORT, ONETHINKER_MODEL, "
               "ONETHINKER_OPENAI_URL, OPENAI_API_KEY, ONETHINKER_FALLBACK_MODEL, ONETHINKER_DATA_DIR, "
               "ONETHINKER_ADMIN_USER, ONETHINKER_ADMIN_PASSWORD, ONETHINKER_RESULTS_ROOT (flags win).")
    p.add_argument("--server-name", default=_env("GRADIO_SERVER_NAME", "127.0.0.1"),
                   help="address to listen on (0.0.0.0 for every interface, as on a Space)")
    p.add_argument("--port", type=int, default=int(_env("GRADIO_SERVER_PORT", "7860")), help="port to listen on")
    p.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    p.add_argument("--data-dir", type=Path, default=Path(_env("ONETHINKER_DATA_DIR") or default_data_dir()),
                   help="folder of the feedback store (feedback.db and media/); /data on a Space when it exists")
    p.add_argument("--model", default=_env("ONETHINKER_MODEL"),
                   help=f"hub id or local folder of the model (default {DEFAULT_MODEL_ID}; with --openai-url: the "
                        "served model name, default the first one the server lists)")
    p.add_argument("--openai-url", default=_env("ONETHINKER_OPENAI_URL"),
                   help="use an OpenAI-compatible server (vLLM / SGLang), e.g. http://localhost:8000/v1")
    p.add_argument("--fallback-model", default=_env("ONETHINKER_FALLBACK_MODEL", fallback),
                   help="local model folder used when the model cannot be loaded (default models/onethinker-nano "
                        "when it exists); 'none' to disable")
    p.add_argument("--load-at-start", action="store_true",
                   help="start loading the model in the background at start-up (the page is served at once)")
    p.add_argument("--admin-user", default=_env("ONETHINKER_ADMIN_USER"),
                   help="admin user name: enables the Admin panel (with --admin-password)")
    p.add_argument("--admin-password", default=_env("ONETHINKER_ADMIN_PASSWORD"), help="admin password")
    p.add_argument("--results-root", type=Path, default=Path(_env("ONETHINKER_RESULTS_ROOT", "results")),
                   help="folder the Inspect tab opens results files and media folders from; paths typed there are "
                        "relative to it, and nothing outside it is read")
    p.add_argument("--segmenter", default="sam2", choices=["sam2", "segment-anything", "none"],
                   help="segmentation model that turns segmentation answers into masks")
    p.add_argument("--sam-checkpoint", default=None,
                   help="segmentation checkpoint (hub id for sam2, a .pth file for segment-anything)")
    p.add_argument(ANALYTICS_FLAG, action="store_true", help="allow gradio's usage analytics (off by default)")
    return p


def settings_from(args: argparse.Namespace):
    from components.context import Settings

    if bool(args.admin_user) != bool(args.admin_password):
        raise SystemExit("app.py: --admin-user and --admin-password go together (give both or neither)")
    fallback = None if (args.fallback_model or "").lower() in ("", "none") else args.fallback_model
    settings = Settings(
        model=args.model or DEFAULT_MODEL_ID,
        openai_url=args.openai_url, openai_model=args.model if args.openai_url else None,
        api_key=_env("OPENAI_API_KEY"), fallback_model=fallback, data_dir=args.data_dir,
        segmenter=args.segmenter, sam_checkpoint=args.sam_checkpoint, admin_user=args.admin_user,
        admin_password=args.admin_password, load_at_start=args.load_at_start, results_root=args.results_root)
    return settings


def build_demo(ctx=None, tabs=TABS):
    """The Blocks app for ``ctx`` (an ``AppContext``; default: the default settings)."""
    from components.context import AppContext, Settings
    from components.page import build_page

    return build_page(ctx or AppContext(Settings()), tab_builders(tabs))


def main(argv: list[str] | None = None, *, prevent_thread_lock: bool = False):
    args = parser().parse_args(argv)
    from components.context import AppContext
    from components.page import launch_options

    ctx = AppContext(settings_from(args))
    demo = build_demo(ctx)
    if args.load_at_start:
        threading.Thread(target=_load_quietly, args=(ctx,), name="onethinker-load", daemon=True).start()
    demo.launch(**launch_options(ctx, args.server_name, args.port, args.share),
                prevent_thread_lock=prevent_thread_lock)
    return demo


def _load_quietly(ctx) -> None:
    from components.context import ModelUnavailable

    try:
        ctx.models.backend()
    except ModelUnavailable:
        pass  # the page says why


if __name__ == "__main__":
    main()
