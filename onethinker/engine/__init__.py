"""Inference engines: official-preprocessing request building and streaming backends.

``TransformersBackend`` (local, one model per process) and ``OpenAIBackend`` (a vLLM / SGLang
server speaking the OpenAI chat-completions protocol) share one interface::

    stream = backend.stream(Request("What happens?", "temporal grounding", video="clip.mp4"))
    for delta in stream: ...            # text deltas
    stream.sent                         # what was sent: prompt, frame indices, timestamps, sizes
    stream.finish_reason, stream.completion_tokens
    backend.generate(request)           # whole Completion
    backend.cancel()                    # stop running streams
    backend.info()

Every failure is an :class:`EngineError` whose message names the file or model and what to do.
Heavy libraries (torch, transformers, httpx) load on first use, not on import.
"""

from onethinker.engine.base import Backend, Completion, Sent, TextStream
from onethinker.engine.errors import EngineError, InputError, ModelLoadError, ServerError
from onethinker.engine.profile import PROFILE_FILE, ModelProfile, load_profile, write_profile
from onethinker.engine.request import DEFAULT_MAX_NEW_TOKENS, Prepared, Request, SamplingParams, build_messages, prepare
from onethinker.engine.zerogpu import gpu, on_zero_gpu

DEFAULT_MODEL_ID = "OneThink/OneThinker-8B"


def __getattr__(name):  # lazy: backends pull in torch/transformers or httpx
    if name in ("TransformersBackend", "load_model", "unload_model"):
        from onethinker.engine import transformers_backend as m

        return getattr(m, name)
    if name == "OpenAIBackend":
        from onethinker.engine.openai_backend import OpenAIBackend

        return OpenAIBackend
    raise AttributeError(name)


__all__ = [
    "Backend", "Completion", "Sent", "TextStream", "EngineError", "InputError", "ModelLoadError", "ServerError",
    "Request", "SamplingParams", "Prepared", "prepare", "build_messages", "DEFAULT_MAX_NEW_TOKENS",
    "DEFAULT_MODEL_ID", "ModelProfile", "load_profile", "write_profile", "PROFILE_FILE", "TransformersBackend", "OpenAIBackend", "load_model", "unload_model", "gpu", "on_zero_gpu",
]
