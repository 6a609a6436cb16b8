"""The narrow boundary every LLM-using stage talks to: ``ChatModel.complete``.

Backends: :mod:`longtracerl.llm.openai` (any OpenAI-compatible HTTP endpoint) and
:mod:`longtracerl.llm.local` (a transformers model in-process).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field


def json_objects(text: str) -> Iterator[dict[str, Any]]:
    """Every JSON object in a model's reply, in order (prose, code fences and broken attempts
    around them are skipped). Raw newlines inside strings are accepted: llama.cpp's JSON grammars
    allow them.

    >>> list(json_objects('Sure: {"a": 1} and {"b": "x {y}"}; [1] {oops'))
    [{'a': 1}, {'b': 'x {y}'}]
    """
    decoder = json.JSONDecoder(strict=False)
    for m in re.finditer(r"\{", text):
        try:
            obj, _end = decoder.raw_decode(text, m.start())
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            yield obj


class LLMClientSettings(BaseModel):
    """How a stage's LLM client behaves (each stage config has one, ``llm_client``): unset fields
    keep the client's defaults (:class:`~longtracerl.llm.openai.LLMConfig`, environment). Only
    OpenAI-compatible endpoints take them; they decide how calls are made, never what a record
    holds, so they are not part of a stage's config hash (change them and resume).

    >>> LLMClientSettings(timeout_s=30, max_retries=1).overrides()
    {'timeout_s': 30.0, 'max_retries': 1}
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    timeout_s: float | None = Field(
        default=None, gt=0, description="Limit for one request, seconds (default 60)."
    )
    max_retries: int | None = Field(
        default=None, ge=0, le=10, description="Retries of a failed request (timeout, 429, 5xx) (default 4)."
    )
    backoff_s: float | None = Field(
        default=None, ge=0, description="Base backoff between retries (default 1 s)."
    )
    concurrency: int | None = Field(default=None, ge=1, description="Requests in flight at once (default 8).")
    max_failures_in_row: int | None = Field(
        default=None, ge=1, description="Failed calls in a row that stop the stage (default 5)."
    )
    cache_dir: str | None = Field(
        default=None, description="Folder of a SQLite completion cache (default: none)."
    )

    def overrides(self) -> dict[str, Any]:
        """The fields that are set, as :class:`~longtracerl.llm.openai.LLMConfig` keywords."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


def client_settings_field() -> Any:
    """The ``llm_client`` field of a stage config (excluded from dumps, so from the config hash)."""
    return Field(
        default_factory=LLMClientSettings,
        exclude=True,
        description="LLM client settings of this stage (timeout_s, max_retries, backoff_s, concurrency, "
        "max_failures_in_row, cache_dir), e.g. --set llm_client.timeout_s=120; not hashed.",
    )


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


class EndpointError(LLMError):
    """The endpoint could not serve a call (connection refused, timeout, HTTP 429/5xx, a body that is
    not a completion) after the client's retries. Never a model outcome: a stage records the item as
    failed (``RUN/<stage>.errors.jsonl``) and the next run tries it again.
    """


class EndpointDown(EndpointError):
    """The endpoint is unreachable (health check) or ``max_failures_in_row`` calls in a row failed:
    the stage stops (``halts_stage``) with this one-line message naming the URL; what was written
    is kept and a re-run resumes.
    """

    halts_stage = True


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


def check_endpoint(model: Any) -> None:
    """Run the model's cheap health call (``check_health``) when it has one: a wrong URL or a
    stopped server raises :class:`EndpointDown` in seconds instead of failing every item.
    Models without one (in-process, test doubles) pass.
    """
    check = getattr(model, "check_health", None)
    if callable(check):
        check()


STRUCTURED_KINDS = ("off", "json_object_schema", "json_schema", "json_object")


def response_format_for(
    schema: dict[str, Any], name: str, kind: str = "json_object_schema"
) -> dict[str, Any] | None:
    """The ``response_format`` asking for a reply that matches ``schema``.

    ``json_object_schema``: ``{"type": "json_object", "schema": ...}`` (llama.cpp and
    llama-cpp-python turn it into a grammar); ``json_schema``: the OpenAI structured-output form
    (vLLM, SGLang, hosted APIs, llama.cpp); ``json_object``: any JSON object; ``off``: None.

    >>> response_format_for({"type": "object"}, "x", "json_schema")["json_schema"]["name"]
    'x'
    """
    if kind == "off":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    if kind == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}
    raise ValueError(f"unknown structured-output kind {kind!r}; valid: {', '.join(STRUCTURED_KINDS)}")


def structured_field(who: str) -> Any:
    """The ``llm_structured`` field of a stage config (see :func:`response_format_for`)."""
    return Field(
        default="json_object_schema",
        description=f"Structured output of {who}: json_object_schema (a JSON schema that llama.cpp servers "
        "enforce with a grammar), json_schema (the OpenAI form: vLLM, SGLang), json_object, or off. "
        "A server that refuses it gets plain requests.",
    )


def complete_with_format(
    model: ChatModel,
    messages: list[dict[str, Any]],
    params: ChatParams,
    response_format: dict[str, Any] | None,
) -> tuple[Completion, bool]:
    """One completion asking for ``response_format``; when the server refuses the field (HTTP 4xx)
    the request is sent again without it. Returns the completion and whether the format was kept.
    """
    if response_format is None:
        return model.complete(messages, params), False
    try:
        return model.complete(messages, params.model_copy(update={"response_format": response_format})), True
    except LLMError as err:
        if not format_rejected(err):
            raise
        logging.getLogger(__name__).warning(
            "the server refused response_format (%s); asking in plain text", err
        )
        return model.complete(messages, params), False


def format_rejected(err: LLMError) -> bool:
    """Did the server refuse the request itself (HTTP 4xx other than 429), e.g. an unsupported
    ``response_format``? Then the request is sent again without it.
    """
    status = getattr(err, "status", None)
    return status is not None and 400 <= status < 500 and status != 429 and not isinstance(err, EndpointError)
