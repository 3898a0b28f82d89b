"""OneThinker Studio — Gradio app entry point (Hugging Face Spaces-ready).

Until the full app lands (issue D) this page shows the task catalogue and scores a pasted response,
which exercises the core library end to end without a model.
"""

from __future__ import annotations

import os

import gradio as gr

from onethinker.answer import parse
from onethinker.rewards import score
from onethinker.tasks import TASKS


def _check(task_id: str, response: str, ground_truth: str):
    ans = parse(response or "", task_id)
    parsed = ans.to_dict()
    parsed.pop("raw", None)
    result = score(response or "", ground_truth, task_id).to_dict() if ground_truth and ground_truth.strip() else None
    return parsed, result


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="OneThinker Studio") as demo:
        gr.Markdown("# OneThinker Studio\nPaste a model response to see how it parses and scores.")
        task = gr.Dropdown(choices=list(TASKS), value="spatial grounding", label="Task")
        response = gr.Textbox(label="Model response", lines=6,
                              value='<think>The dog is on the left.</think><answer>{"boxes": [40, 300, 420, 950]}</answer>')
        truth = gr.Textbox(label="Ground truth (optional)", value='{"boxes": [50, 310, 400, 940]}')
        btn = gr.Button("Parse and score")
        parsed = gr.JSON(label="Parsed answer")
        scored = gr.JSON(label="Reward")
        btn.click(_check, [task, response, truth], [parsed, scored])
    return demo


if __name__ == "__main__":
    build_demo().launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
