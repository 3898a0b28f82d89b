"""The app in a real browser on the committed OneThinker-nano model, the way a user without OneThinker-8B meets it.

The configured model cannot be loaded (a folder that does not exist), so the app falls back to
``models/onethinker-nano``, says so in the page, and the nano model answers a synthetic example: its
reasoning streams, its answer parses, and the box is drawn on the picture.  No test double anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import app
from components.context import AppContext, Settings
from components.page import launch_options
from tests.app.test_browser import SHOTS, browser, text, wait_js, wait_overlay_colours  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

NANO = Path(__file__).resolve().parents[2] / "models" / "onethinker-nano"


@pytest.fixture(scope="module")
def served_nano(tmp_path_factory):
    if not (NANO / "model.safetensors").is_file():
        pytest.skip(f"{NANO} has no checkpoint yet; `python -m train.nano` writes it")
    tmp = tmp_path_factory.mktemp("nano-app")
    ctx = AppContext(Settings(model=str(tmp / "no-such-model"), fallback_model=str(NANO), segmenter="none",
                              data_dir=tmp / "data", output_dir=tmp / "out"))
    demo = app.build_demo(ctx)
    demo.launch(**launch_options(ctx, "127.0.0.1", None), prevent_thread_lock=True, quiet=True)
    yield demo.local_url.rstrip("/"), tmp
    demo.close()


@pytest.fixture(scope="module")
def scene(served_nano):
    """A held-out synthetic picture with one shape to find (the kind of scene the nano model was trained on)."""
    from train.synthetic.write import SplitSpec, write_split

    out = served_nano[1] / "scene"
    write_split(out, SplitSpec("heldout", 1, 98_765), mix={"spatial": 1.0})
    row = json.loads((out / "eval.json").read_text(encoding="utf-8"))[0]
    return str(out / row["path"]), row["problem"]


def test_the_nano_model_runs_end_to_end_when_the_configured_model_cannot_load(browser, served_nano, scene):  # noqa: F811
    url, _ = served_nano
    image, question = scene
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.shot = lambda name: page.screenshot(path=str(SHOTS / f"nano-{name}.png"), full_page=True)
    try:
        page.goto(url + "/", wait_until="domcontentloaded")
        page.wait_for_selector("#run-button")
        page.set_input_files("#run-image input[type=file]", image)
        page.wait_for_selector("#run-image img")
        page.fill("#run-question textarea", question)
        page.click("#run-button")
        wait_js(page, "(document.querySelector('#run-status')?.innerText || '').includes('done')", 180)
        answer = page.input_value("#run-answer textarea")
        assert '"boxes"' in answer, answer  # the nano model's answer, parsed into a box
        orange, _ = wait_overlay_colours(page, "#run-overlay img", at_least=50, with_truth=False)
        assert orange > 50, orange  # the predicted box is drawn on the picture
        banner = text(page, "#model-banner")
        assert "onethinker-nano" in banner and "no-such-model" in banner, banner  # which model, and why
        page.shot("run")
    finally:
        context.close()
