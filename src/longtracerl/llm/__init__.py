"""LLM layer: the :class:`ChatModel` protocol and its backends.

- :mod:`longtracerl.llm.base`: ``ChatModel``, ``ChatParams``, ``Completion``, ``ToolCall``,
  ``LLMError`` and its endpoint-failure subclasses ``EndpointError`` / ``EndpointDown``,
  ``acomplete`` (await any ChatModel), ``check_endpoint`` (the health call at stage start).
- :mod:`longtracerl.llm.openai`: ``LLMConfig``, ``OpenAIChatModel``, ``make_chat_model`` (the
  factory every stage uses).
- :mod:`longtracerl.llm.local`: ``LocalChatModel`` (transformers in-process; imports torch).
"""

from longtracerl.llm.base import (
    ChatModel,
    ChatParams,
    Completion,
    EndpointDown,
    EndpointError,
    LLMError,
    ToolCall,
    acomplete,
    check_endpoint,
)

__all__ = [
    "ChatModel",
    "ChatParams",
    "Completion",
    "EndpointDown",
    "EndpointError",
    "LLMError",
    "ToolCall",
    "acomplete",
    "check_endpoint",
    "make_chat_model",
]


def __getattr__(name: str):
    if name == "make_chat_model":  # lazy: keeps `import longtracerl.llm` free of httpx
        from longtracerl.llm.openai import make_chat_model

        return make_chat_model
    raise AttributeError(f"module 'longtracerl.llm' has no attribute {name!r}")
