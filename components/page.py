"""The page: a header naming the model in use, then one tab per builder, in the order given.

A tab builder is ``build(ctx, page) -> None``, called inside the page's ``gr.Tabs``; it reads what
earlier tabs left on :class:`Page` (the session state, the Run tab's form and its finished-run event).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import gradio as gr

from components.context import AppContext, Session

TabBuilder = Callable[[AppContext, "Page"], None]

TITLE = "OneThinker Studio"
INTRO = ("# OneThinker Studio\nRun an all-in-one visual reasoning model on an image or a video, watch it think, "
         "see its answer drawn, then judge or correct it.")


def new_session() -> Session:
    return Session()


class Page:
    """What tab builders share while the page is assembled."""

    def __init__(self, ctx: AppContext, demo: gr.Blocks, session: gr.State, banner: gr.Markdown):
        self.ctx, self.demo, self.session, self.banner = ctx, demo, session, banner
        self.run_event: Any = None  # the Run tab's run (a gradio event: chain with .then)
        self.run_form: list = []  # the Run tab's form widgets, and the names build_request takes them by
        self.run_form_names: list[str] = []

    def refresh_banner(self) -> str:
        return self.ctx.models.status().markdown()


def enable_when_ended(button: gr.Button, event: Any) -> None:
    """Enable ``button`` again once ``event`` (the chain its click started, after disabling it) has ended.

    Gradio ignores a click on an event still pending, so a button whose work is still going (a status may
    already say "done" while the overlay is drawn) stays disabled rather than silently dropping the click."""
    event.then(lambda: gr.update(interactive=True), None, [button], queue=False, api_visibility="private")


def build_page(ctx: AppContext, tabs: Sequence[TabBuilder]) -> gr.Blocks:
    # rendered files older than an hour are deleted every 15 minutes (the app's own folder is also capped)
    with gr.Blocks(title=TITLE, delete_cache=(900, 3600)) as demo:
        gr.Markdown(INTRO)
        banner = gr.Markdown(ctx.models.status().markdown(), elem_id="model-banner")
        # a new Session for every browser session, dropped after two idle hours
        session = gr.State(new_session, time_to_live=2 * 3600)
        page = Page(ctx, demo, session, banner)
        with gr.Tabs():
            for build in tabs:
                build(ctx, page)
        demo.load(page.refresh_banner, None, [banner], api_visibility="private", queue=False)
        if page.run_event is not None:
            page.run_event.then(page.refresh_banner, None, [banner], api_visibility="private", queue=False)
    # the model runs one request at a time (run, sample two, switching); cheap events have their own limits
    demo.queue(default_concurrency_limit=8, max_size=64)
    return demo


def launch_options(ctx: AppContext, server_name: str, port: int, share: bool = False) -> dict[str, Any]:
    """Keyword arguments for ``demo.launch``: only the example media may be served from disk."""
    return dict(server_name=server_name, server_port=port, share=share, show_error=True, ssr_mode=False,
                allowed_paths=[str(Path(ctx.settings.examples_dir).resolve())], max_file_size="1gb",
                footer_links=["api"], run_history=False)
