"""The Judge tab: thumbs up / down on the last run, and "Sample two" → which answer is better.

Every judgement is written through ``onethinker.feedback`` (a :class:`Vote` or a :class:`Preference`
record built by :func:`onethinker.runs.make_record`); the page shows the record id, or the store's
field-named refusal, and keeps the form as it was.
"""

from __future__ import annotations

import time
from typing import Any

import gradio as gr

from components import views
from components.context import AppContext, ModelUnavailable, Session
from components.page import enable_when_ended
from components.run import TEXT_EVERY_S, build_request, with_model_templates
from onethinker.answer import parse
from onethinker.engine import EngineError
from onethinker.feedback import FeedbackError, Preference, Vote
from onethinker.media.probe import MediaError
from onethinker.runs import Run, make_record

CHOICES = {"A better": "a", "B better": "b", "Tie (both good)": "tie", "Both bad": "bad"}


def save(ctx: AppContext, session: Session, runs: list[Run], feedbacks: list[Any]) -> str:
    """Store one record per feedback; the confirmation names the record ids, or the refusal its field."""
    if not runs:
        return "⚠️ Nothing to judge yet: run the model first (Run tab)."
    try:
        records = [make_record(ctx.store, runs_for, fb, session.id) for runs_for, fb in feedbacks]
        ids = ctx.store.add_many(records)
    except FeedbackError as e:
        return f"❌ Not saved — {e}"
    except (MediaError, OSError) as e:
        return f"❌ Not saved — the media could not be stored: {e}"
    return "✅ Saved as record " + ", ".join(f"#{i}" for i in ids) + "."


def describe(run: Run | None) -> str:
    if run is None:
        return "No run yet: run the model in the Run tab."
    answer = (run.answer.answer_text or "(no answer)")[:300]
    return f"The last run: **{run.task}** by `{run.model}` — answer `{answer}`"


def vote(ctx: AppContext, session: Session, value: int, comment: str) -> str:
    run = session.run
    if run is None:
        return "⚠️ Nothing to judge yet: run the model first (Run tab)."
    return save(ctx, session, [run], [([run], Vote(value, 0, comment or ""))])


def prefer(ctx: AppContext, session: Session, choice: str, comment: str) -> str:
    """A better / B better → one Preference; tie (both good) → an up-vote each; both bad → a down-vote each."""
    if len(session.samples) != 2:
        return "⚠️ Press **Sample two** first."
    a, b = session.samples
    kind = CHOICES.get(choice, choice)
    c = comment or ""
    if kind in ("a", "b"):
        return save(ctx, session, [a, b], [([a, b], Preference(0 if kind == "a" else 1, c))])
    if kind in ("tie", "bad"):
        v = 1 if kind == "tie" else -1
        return save(ctx, session, [a, b], [([a], Vote(v, 0, c)), ([b], Vote(v, 0, c))])
    return f"⚠️ Unknown choice {choice!r}."


def sample_two(ctx: AppContext, session: Session, req_args: dict, temperature: float, progress: Any = None):
    """Generator of (status, chat A, chat B, image A, video A, image B, video B) while sampling twice."""
    report = progress or (lambda *a, **k: None)
    session.samples, session.sample_renders = [], []
    keep = (gr.skip(),) * 6
    if not temperature or float(temperature) <= 0:
        yield ("⚠️ Sampling needs a temperature above 0.",) + keep
        return
    try:
        req = build_request(ctx, **{**req_args, "temperature": float(temperature), "seed": None})
        backend = ctx.models.backend(lambda f, m: report(f, desc=m))
        req = with_model_templates(ctx, req)
    except ModelUnavailable as e:
        yield (f"❌ {e}",) + keep
        return
    except EngineError as e:
        yield (f"⚠️ {e}",) + keep
        return
    chats: list[list[dict]] = [views.chat_messages(req.question, None)] * 2
    runs: list[Run] = []
    for i, label in enumerate("AB"):
        try:
            stream = backend.stream(req)
        except (EngineError, MediaError) as e:
            yield (f"⚠️ {e}",) + keep
            return
        session.stream = stream
        error = None
        rate, last = views.Rate(), 0.0
        try:
            for _ in stream:
                rate.add()
                if time.perf_counter() - last < TEXT_EVERY_S:
                    continue
                last = time.perf_counter()
                ans = parse(stream.text, stream.sent.task, data_type=stream.sent.data_type, final=False)
                chats[i] = views.chat_messages(req.question, ans)
                yield (f"sample {label}: " + rate.line(ans.phase, stream.sent.model), chats[0], chats[1]) \
                    + (gr.skip(),) * 4
        except EngineError as e:
            error = str(e)
        finally:
            if not stream.done:
                stream.close()
            session.stream = None
        run = Run.from_stream(req, stream, error)
        runs.append(run)
        chats[i] = views.chat_messages(req.question, run.answer)
        yield (f"⏳ sample {label} done; drawing…", chats[0], chats[1]) + (gr.skip(),) * 4
    pics = []
    for run in runs:
        try:
            res, _ = views.render_run(run, str(ctx.outputs.root), None, ctx.segmenters)
        except (MediaError, OSError):
            res = None
        session.sample_renders.append(res)
        image, video, _ = views.overlay_views(res)
        pics += [image, video]
    session.samples = runs
    ctx.outputs.prune()
    ready = "✅ Two samples ready: which is better?"
    if runs[0].text == runs[1].text:  # the store refuses a preference between identical texts
        ready = ("✅ Two samples ready, but they are the same text: there is nothing to prefer.  Sample again "
                 "(a higher temperature varies more), or mark them **Tie (both good)** or **Both bad**.")
    yield (ready, chats[0], chats[1], *pics)


def build(ctx: AppContext, page: Any) -> None:
    session = page.session
    with gr.Tab("Judge", id="judge"):
        gr.Markdown("### Was the last run right?")
        last_run = gr.Markdown("No run yet: run the model in the Run tab.", elem_id="vote-run")
        with gr.Row():
            up = gr.Button("👍 Right", elem_id="vote-up")
            down = gr.Button("👎 Wrong", elem_id="vote-down")
        vote_comment = gr.Textbox(label="Comment (optional)", elem_id="vote-comment")
        vote_status = gr.Markdown(elem_id="vote-status")

        gr.Markdown("### Sample two answers and pick the better one\nUses the request in the Run tab.")
        with gr.Row():
            temp = gr.Slider(0.05, 1.5, value=0.7, step=0.05, label="Temperature", elem_id="sample-temperature")
            sample_btn = gr.Button("Sample two", variant="primary", elem_id="sample-button")
        sample_status = gr.Markdown(elem_id="sample-status")
        with gr.Row(equal_height=False):
            with gr.Column():
                chat_a = gr.Chatbot(label="A", reasoning_tags=[("<think>", "</think>")], height=260, elem_id="chat-a")
                img_a = gr.Image(label="A drawn", interactive=False, elem_id="image-a")
                vid_a = gr.Video(label="A drawn", interactive=False, visible=False, elem_id="video-a")
            with gr.Column():
                chat_b = gr.Chatbot(label="B", reasoning_tags=[("<think>", "</think>")], height=260, elem_id="chat-b")
                img_b = gr.Image(label="B drawn", interactive=False, elem_id="image-b")
                vid_b = gr.Video(label="B drawn", interactive=False, visible=False, elem_id="video-b")
        with gr.Row():
            pref_buttons = [gr.Button(label, elem_id=f"pref-{CHOICES[label]}") for label in CHOICES]
        pref_comment = gr.Textbox(label="Comment (optional)", elem_id="pref-comment")
        pref_status = gr.Markdown(elem_id="pref-status")

    cheap = dict(concurrency_id="feedback", concurrency_limit=8)
    page.run_event.then(lambda s: describe(s.run), [session], [last_run], api_visibility="private", queue=False)
    up.click(lambda s, comment: vote(ctx, s, 1, comment), [session, vote_comment], [vote_status],
             api_name="vote_up", **cheap)
    down.click(lambda s, comment: vote(ctx, s, -1, comment), [session, vote_comment], [vote_status],
               api_name="vote_down", **cheap)
    for btn, label in zip(pref_buttons, CHOICES):
        btn.click(lambda s, comment, _l=label: prefer(ctx, s, _l, comment), [session, pref_comment], [pref_status],
                  api_name=f"prefer_{CHOICES[label]}", **cheap)

    form, names = page.run_form, page.run_form_names

    def sample_fn(s: Session, temperature: float, image: str | None, video: str | None, task: str, question: str,
                  options: str, track_object: str, track_box: dict | None, temperature_run: float, top_p: float,
                  max_new_tokens: int, seed: int | None, fps: float, max_frames: int, max_pixels: int,
                  image_max_pixels: int, progress=gr.Progress()):
        values = dict(locals(), temperature=temperature_run)
        args = {n: values[n] for n in names}
        for out in sample_two(ctx, s, args, temperature, progress):
            if len(out) == 7 and not isinstance(out[4], dict):  # the drawings: a video panel only for videos
                out = (*out[:4], gr.update(value=out[4], visible=out[4] is not None), out[5],
                       gr.update(value=out[6], visible=out[6] is not None))
            yield out

    pressed = sample_btn.click(lambda: gr.update(interactive=False), None, [sample_btn], queue=False,
                               api_visibility="private")
    outputs = [sample_status, chat_a, chat_b, img_a, vid_a, img_b, vid_b]
    sampled = pressed.then(sample_fn, [session, temp, *form], outputs, api_name="sample_two", concurrency_id="model",
                           concurrency_limit=1)
    enable_when_ended(sample_btn, sampled)
