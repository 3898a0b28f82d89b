"""The app in a real browser (Debian's chromium through Playwright), on the replay backend.

Each step leaves a screenshot in ``test-output/browser/`` (git-ignored).  These tests run by default
and in CI (``.ci/run`` installs chromium when it is missing); they are marked ``browser``.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

import app
from components.page import launch_options
from onethinker.feedback import Preference
from tests.app.conftest import make_ctx
from tests.app.replay_backend import ReplayBackend

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-output" / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser-app")
    backend = ReplayBackend(chunk=4, delay=0.03)
    ctx = make_ctx(tmp, backend, admin_user="admin", admin_password="open sesame")
    demo = app.build_demo(ctx)
    demo.launch(**launch_options(ctx, "127.0.0.1", None), prevent_thread_lock=True, quiet=True)
    yield demo.local_url.rstrip("/"), ctx, backend
    demo.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, served, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    pg.goto(served[0] + "/", wait_until="domcontentloaded")
    pg.wait_for_selector("#run-button")
    pg.shot = lambda name: pg.screenshot(path=str(SHOTS / f"{request.node.name}-{name}.png"), full_page=True)
    yield pg
    context.close()


def text(pg, selector: str) -> str:
    loc = pg.locator(selector)
    return loc.inner_text() if loc.count() else ""


def fill(pg, elem_id: str, value: str):
    pg.locator(f"#{elem_id}").locator("input, textarea").first.fill(value)


def start_run(pg, image: str, question: str):
    pg.set_input_files("#run-image input[type=file]", image)
    pg.wait_for_selector("#run-image img")
    pg.fill("#run-question textarea", question)
    pg.click("#run-button")


def wait_js(pg, condition: str, timeout_s: float = 30):
    """Wait for a JavaScript condition; on timeout, a screenshot and the Run tab's state go into the error."""
    try:
        pg.wait_for_function(condition, timeout=timeout_s * 1000)
    except Exception as e:
        pg.shot("timeout")
        state = {sel: pg.eval_on_selector(sel, "e => e.value ?? e.innerText") if pg.locator(sel).count() else None
                 for sel in ("#run-status", "#run-task input", "#run-question textarea", "#run-answer textarea")}
        raise AssertionError(f"waited {timeout_s} s for {condition!r}; the page shows {state}") from e


def wait_status(pg, words: str, timeout_s: float = 30):
    pg.wait_for_function(f"(document.querySelector('#run-status')?.innerText || '').includes({words!r})",
                         timeout=timeout_s * 1000)


def test_run_shows_the_reasoning_while_streaming_then_draws_the_answer(page, examples):
    start_run(page, examples["spatial grounding"]["image"], "Where is the blue square?")
    # an intermediate state: reasoning text on the page while the run is still going
    deadline, seen = time.time() + 30, False
    while time.time() < deadline and not seen:
        status, chat = text(page, "#run-status"), text(page, "#run-chat")
        seen = "I look at the picture" in chat and "⏳" in status and "done" not in status
        if not seen:
            time.sleep(0.05)
    assert seen, "the reasoning never showed before the run ended"
    assert page.is_disabled("#run-button"), "Run must stay disabled while its run is going"
    page.shot("1-thinking")
    wait_status(page, "done")
    page.wait_for_selector("#run-button:not([disabled])")  # enabled again once the whole run has ended
    page.wait_for_selector("#run-overlay img")
    width = page.eval_on_selector("#run-overlay img", "img => img.complete ? img.naturalWidth : 0")
    assert width == 320  # the annotated image, at the image's own size
    assert '{"boxes": [469, 250, 719, 583]}' in page.input_value("#run-answer textarea")
    page.shot("2-drawn")
    page.get_by_text("What the model saw").click()
    page.wait_for_selector("#run-frames img")
    assert "sent at 320×256" in text(page, "#run-frames")
    page.shot("3-what-the-model-saw")


def test_stop_mid_stream_keeps_the_partial_text(page, served, examples):
    _, ctx, backend = served
    backend.delay = 0.1
    try:
        start_run(page, examples["numerical"]["image"], "How many shapes are in the picture?")
        page.wait_for_function("(document.querySelector('#run-chat')?.innerText || '').includes('I look at')")
        page.shot("1-streaming")
        page.click("#stop-button")
        wait_status(page, "stopped")
    finally:
        backend.delay = 0.03
    chat = text(page, "#run-chat")
    assert "I look at" in chat
    page.shot("2-stopped")


def open_correct(pg):
    pg.get_by_role("tab", name="Correct").click()
    pg.wait_for_selector("#correct-box canvas")
    pg.wait_for_function("(document.querySelector('#correct-summary')?.innerText || '').includes('Correcting')")
    time.sleep(0.5)  # let the editor lay the picture out


def draw_box(pg, size: tuple[int, int], corner: tuple[float, float], opposite: tuple[float, float]):
    """Drag a new box in the box editor between two points given in the picture's own pixels."""
    cb = pg.locator("#correct-box canvas").bounding_box()
    cw = pg.eval_on_selector("#correct-box canvas", "c => c.clientWidth")
    scale = min(1.0, cw / size[0])  # the editor shows small pictures at their own size, centred
    x0, y0 = cb["x"] + (cw - size[0] * scale) / 2, cb["y"]
    pg.click("#correct-box button[aria-label='Create box']")
    pg.mouse.move(x0 + corner[0] * scale, y0 + corner[1] * scale)
    pg.mouse.down()
    mid = ((corner[0] + opposite[0]) / 2, (corner[1] + opposite[1]) / 2)
    pg.mouse.move(x0 + mid[0] * scale, y0 + mid[1] * scale, steps=5)
    pg.mouse.move(x0 + opposite[0] * scale, y0 + opposite[1] * scale, steps=5)
    pg.mouse.up()


def show_and_save(pg):
    pg.click("#correct-show")
    pg.wait_for_function("(document.querySelector('#correct-status')?.innerText || '').includes('Corrected answer')")
    pg.wait_for_selector("#correct-shown img")
    pg.shot("2-shown")
    pg.click("#correct-save")
    pg.wait_for_function("(document.querySelector('#correct-status')?.innerText || '').includes('Saved correction')")
    pg.shot("3-saved")


def test_draw_a_correction_box_and_save_it(page, served, examples):
    _, ctx, _ = served
    start_run(page, examples["spatial grounding"]["image"], "Where is the blue square?")
    wait_status(page, "done")
    open_correct(page)
    draw_box(page, (320, 240), (32, 24), (160, 120))  # examples/app/shapes.png
    page.shot("1-drawn")
    before = ctx.store.count("correction")
    show_and_save(page)
    assert ctx.store.count("correction") == before + 1
    box = list(ctx.store.records("correction"))[-1].feedback.payload.box
    assert box == pytest.approx((100, 100, 500, 500), abs=6)


def test_correct_a_box_about_a_video_on_a_chosen_frame(page, served, examples):
    _, ctx, _ = served
    page.set_input_files("#run-video input[type=file]", examples["regression"]["video"])  # 192 × 144, 6 s
    page.wait_for_selector("#run-video video")
    page.fill("#run-question textarea", "Where is the blue square?")  # the task stays spatial grounding
    page.click("#run-button")
    wait_status(page, "done")
    open_correct(page)
    number = page.locator("#correct-frame input[type=number]")
    number.fill("3")
    number.press("Tab")  # the slider's release
    page.wait_for_function("(document.querySelector('#correct-frame')?.innerText || '').includes('frame at 3.00 s')")
    time.sleep(0.5)
    draw_box(page, (192, 144), (19.2, 14.4), (96, 72))
    page.shot("1-drawn-on-frame-3s")
    show_and_save(page)
    assert "drawn on the frame at 3.00 s" in text(page, "#correct-status")
    rec = list(ctx.store.records("correction"))[-1]
    assert rec.data_type == "video" and rec.feedback.payload.box == pytest.approx((100, 100, 500, 500), abs=6)


def test_sample_two_then_prefer_a(page, served, examples):
    _, ctx, _ = served
    page.set_input_files("#run-image input[type=file]", examples["spatial grounding"]["image"])
    page.wait_for_selector("#run-image img")
    page.fill("#run-question textarea", "Where is the blue square?")
    page.get_by_role("tab", name="Judge").click()
    before = ctx.store.count("preference")
    page.click("#sample-button")
    page.wait_for_selector("#sample-button[disabled]", timeout=5_000)  # no second click while sampling
    page.wait_for_function("(document.querySelector('#sample-status')?.innerText || '').includes('Two samples')",
                           timeout=60_000)
    page.wait_for_selector("#sample-button:not([disabled])")
    page.wait_for_selector("#image-a img")
    page.shot("1-samples")
    page.click("#pref-a")
    page.wait_for_function("(document.querySelector('#pref-status')?.innerText || '').includes('Saved')")
    page.shot("2-saved")
    assert ctx.store.count("preference") == before + 1
    rec = list(ctx.store.records("preference"))[-1]
    assert rec.feedback == Preference(0, "") and len(rec.outputs) == 2


def test_admin_panel_is_absent_until_signed_in(page, served):
    url = served[0]
    page.get_by_role("tab", name="Admin").click()
    page.wait_for_selector("#admin-sign-in")
    assert page.locator("#admin-panel").count() == 0
    assert "admin-panel" not in page.evaluate("() => JSON.stringify(window.gradio_config || {})")
    page.shot("1-signed-out")
    fill(page, "admin-user", "admin")
    fill(page, "admin-password", "wrong")
    page.click("#admin-sign-in")
    page.wait_for_function("(document.querySelector('#admin-message')?.innerText || '').includes('Wrong')")
    assert page.locator("#admin-panel").count() == 0
    fill(page, "admin-password", "open sesame")
    page.click("#admin-sign-in")
    page.wait_for_selector("#admin-panel")
    page.wait_for_selector("#admin-counts")
    page.shot("2-signed-in")
    assert "records" in text(page, "#admin-summary")
    # another visitor's page still has no panel
    other = page.context.browser.new_page()
    other.goto(url + "/", wait_until="domcontentloaded")
    other.wait_for_selector("#run-button")
    other.get_by_role("tab", name="Admin").click()
    other.wait_for_selector("#admin-sign-in")
    assert other.locator("#admin-panel").count() == 0
    other.close()


def test_examples_switch_between_video_and_image_tasks(page):
    """An example brings its own media and task: a video task, then an image task, each runs."""
    page.get_by_text("When is the blue square visible?").first.click()
    page.wait_for_selector("#run-video video")
    page.click("#run-button")
    wait_status(page, "done")
    page.get_by_text("Segment the green triangle.").first.click()
    page.wait_for_selector("#run-image img")
    # the example's inputs land in several events: press Run once its question and task are in place
    wait_js(page, "(document.querySelector('#run-question textarea')?.value || '').includes('green triangle') && "
                  "(document.querySelector('#run-task input')?.value || '').toLowerCase().includes('segmentation') && "
                  "!document.querySelector('#run-video video')")
    page.click("#run-button")
    wait_js(page, "(document.querySelector('#run-status')?.innerText || '').includes('done') && "
                  "(document.querySelector('#run-answer textarea')?.value || '').includes('positive_points')")
    assert page.locator(".toast-body.error").count() == 0
    page.shot("1-image-task-after-video-task")


def overlay_colours(pg, selector: str) -> tuple[int, int]:
    """Pixels of the prediction's orange and the ground truth's blue in the picture as the page shows it
    (within 12 per channel: none of the example picture's own shapes is that close to either colour)."""
    import io

    import numpy as np
    from PIL import Image

    from onethinker.render import Style

    pic = np.asarray(Image.open(io.BytesIO(pg.locator(selector).screenshot())).convert("RGB")).astype(int)
    st = Style()
    return tuple(int((np.abs(pic - np.asarray(c)).max(axis=-1) <= 12).sum()) for c in (st.pred, st.truth))


def wait_overlay_colours(pg, selector: str, at_least: int, timeout_s: float = 30,
                         with_truth: bool = True) -> tuple[int, int]:
    """overlay_colours once the prediction's (and, `with_truth`, the ground truth's) reach `at_least`, or the
    last reading when `timeout_s` runs out."""
    deadline = time.monotonic() + timeout_s
    while True:
        pg.wait_for_selector(selector)
        pg.wait_for_function(f"document.querySelector({selector!r})?.complete")
        seen = overlay_colours(pg, selector)
        if min(seen if with_truth else seen[:1]) > at_least or time.monotonic() > deadline:
            return seen
        pg.wait_for_timeout(250)


def wait_text(pg, selector: str, words: str, timeout_s: float = 30):
    pg.wait_for_function(f"(document.querySelector({selector!r})?.innerText || '').includes({words!r})",
                         timeout=timeout_s * 1000)


def choose(pg, elem_id: str, option: str):
    pg.click(f"#{elem_id} input")
    pg.get_by_role("option", name=option, exact=True).click()


def test_inspect_the_example_results_filter_draw_and_refuse(page):
    page.get_by_role("tab", name="Inspect").click()
    page.click("#inspect-example")
    wait_text(page, "#inspect-status", "Opened", 60)
    page.wait_for_selector("#inspect-plot img")
    assert "14 of 14 rows match" in text(page, "#inspect-page-info")
    page.shot("1-opened")
    choose(page, "inspect-task", "spatial grounding")
    wait_text(page, "#inspect-page-info", "1 of 14 rows match")
    page.shot("2-filtered")
    page.click('#inspect-table [data-testid="cell-0-3"]')  # the row's task cell
    wait_text(page, "#inspect-header", "Result 1 of 1")
    # the prediction and the ground truth, drawn together (the header can change before the picture does: poll)
    orange, blue = wait_overlay_colours(page, "#inspect-overlay img", at_least=150)
    assert orange > 150 and blue > 150, (orange, blue)
    assert page.input_value("#inspect-truth input, #inspect-truth textarea") == '{"boxes": [117, 208, 352, 521]}'
    page.shot("3-overlay")
    choose(page, "inspect-task", "all tasks")
    wait_text(page, "#inspect-page-info", "14 of 14 rows match")
    page.click("#inspect-errors input")
    wait_text(page, "#inspect-page-info", "1 of 14 rows match")
    page.click("#inspect-header")  # focus outside any text field, then the keyboard: j = next
    page.keyboard.press("j")
    wait_text(page, "#inspect-header", "leads out of the media root")
    assert page.locator("#inspect-overlay img").count() == 0 or not page.locator("#inspect-overlay").is_visible()
    page.shot("4-refusal")
