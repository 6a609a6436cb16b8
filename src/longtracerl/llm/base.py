"""The narrow boundary every LLM-using stage talks to: ``ChatModel.complete``.

Backends: :mod:`longtracerl.llm.openai` (any OpenAI-compatible HTTP endpoint) and
:mod:`longtracerl.llm.local` (a transformers model in-process).
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field


class ChatParams(BaseModel):
    """Sampling parameters of one request."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int | None = None
    max_tokens: int = 512
    stop: list[str] | None = None
    seed: int | None = None
    tools: list[dict[str, Any]] | None = Field(
        default=None, description="OpenAI tool specs (native tool calling)."
    )
    response_format: dict[str, Any] | None = None
    n: int = 1


class ToolCall(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str | None = None
    name: str
    arguments: str  # raw JSON text as the server sent it


class Completion(BaseModel):
    """One completion; ``text`` is the assistant content ('' when only tool calls came back)."""

    model_config = ConfigDict(extra="forbid")
    text: str
    reasoning: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    finish_reason: str | None = None
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached: bool = False


class LLMError(RuntimeError):
    """An LLM call failed after its bounded retries (timeout, HTTP error, bad payload).

    ``status`` is the last HTTP status seen (None for timeouts and connection errors) and
    ``attempts`` how many requests were made.
    """

    def __init__(self, message: str, *, status: int | None = None, attempts: int | None = None):
        super().__init__(message)
        self.status = status
        self.attempts = attempts


@runtime_checkable
class ChatModel(Protocol):
    """Anything that turns chat messages into one completion."""

    name: str

    def complete(self, messages: list[dict[str, Any]], params: ChatParams | None = None) -> Completion: ...


async def acomplete(
    model: ChatModel, messages: list[dict[str, Any]], params: ChatParams | None = None
) -> Completion:
    """Await a completion from any :class:`ChatModel`: its own ``acomplete`` when it has one,
    else ``complete`` in a worker thread.

    >>> import asyncio
    >>> class Echo:
    ...     name = "echo"
    ...     def complete(self, messages, params=None):
    ...         return Completion(text=messages[-1]["content"])
    >>> asyncio.run(acomplete(Echo(), [{"role": "user", "content": "hi"}])).text
    'hi'
    """
    native = getattr(model, "acomplete", None)
    if native is not None:
        return await native(messages, params)
    return await asyncio.to_thread(model.complete, messages, params)
