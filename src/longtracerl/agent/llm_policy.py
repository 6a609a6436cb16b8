"""The LLM policy: a chat model works the tools, one action per turn.

Two action formats:

- **native**: the request carries OpenAI ``tools`` (function specs for search / open / cite /
  answer); the model replies with ``tool_calls`` and each result goes back as a ``tool``
  message.
- **json**: the model writes one JSON object per turn, ``{"tool": "search", "args": {"query":
  "..."}}``; it is found anywhere in the reply (code fences, prose around it) and a few common
  spellings are accepted (``name``/``action`` for ``tool``, ``arguments``/``parameters``/
  ``input`` for ``args``, a bare string argument).

``auto`` starts native and switches the policy to json for good when the server rejects the
``tools`` field (HTTP 4xx/5xx) or the model replies with neither a tool call nor a JSON action.
Replies without a tool call are parsed as JSON actions in every mode. In json mode the request
asks for a JSON reply (``json_response_format``; by default a ``json_object`` with the action
schema, which llama.cpp servers enforce with a grammar), dropped if the server rejects it.

An attempt fails with a recorded reason when the model emits more than ``max_malformed``
malformed actions (``malformed``), repeats the same action ``loop_repeats`` times in a row
(``loop``), makes ``max_turns`` tool calls without answering (``turn_limit``), or the server
refuses a request (HTTP 4xx, e.g. the conversation outgrew the context window: ``error``). An
endpoint failure (connection refused, timeout, HTTP 429/5xx after the client's retries:
:class:`~longtracerl.llm.base.EndpointError`) is not the model's doing and ends no attempt: it
raises, the question goes to ``agent.errors.jsonl`` and the next run tries it again. The endpoint
is checked once when the policy is built. Observations are cut to
``observation_chars``; older observations are shortened when the conversation grows past
``context_chars``.

Example (parsing only):
    >>> parse_json_action('Sure. ```json\\n{"tool": "search", "args": {"query": "x"}}\\n```')
    ('search', {'query': 'x'})
    >>> parse_json_action('{"name": "open", "arguments": "\\\\"p1\\\\""}')
    ('open', {'page_id': 'p1'})
    >>> parse_json_action("I think the answer is 4")
    Traceback (most recent call last):
    ...
    longtracerl.agent.llm_policy.MalformedAction: no JSON object in the reply
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from typing import Any

from longtracerl.agent.base import AttemptEnd
from longtracerl.agent.tools import ToolBox
from longtracerl.llm.base import (
    ChatParams,
    Completion,
    EndpointError,
    LLMError,
    check_endpoint,
    format_rejected,
    json_objects,
)

__all__ = ["LLMPolicy", "TOOL_SPECS", "parse_json_action", "MalformedAction", "normalize_args"]

TOOL_NAMES = ("search", "open", "cite", "answer")

TOOL_SPECS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "search",
            "description": "Search the document collection. Returns ranked results: [page_id] title -- snippet.",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string", "description": "Search keywords."}},
                "required": ["query"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "open",
            "description": "Read the whole document with this page_id.",
            "parameters": {
                "type": "object",
                "properties": {
                    "page_id": {"type": "string", "description": "A page_id from search results."}
                },
                "required": ["page_id"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "cite",
            "description": "Mark documents as the evidence for your final answer.",
            "parameters": {
                "type": "object",
                "properties": {"page_ids": {"type": "array", "items": {"type": "string"}}},
                "required": ["page_ids"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "answer",
            "description": "Give the final answer (a short phrase: a name, place, date or number). Ends the task.",
            "parameters": {
                "type": "object",
                "properties": {"text": {"type": "string", "description": "The final answer only."}},
                "required": ["text"],
            },
        },
    },
]

ACTION_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "type": "object",
            "properties": {
                "tool": {"const": spec["function"]["name"]},
                "args": spec["function"]["parameters"],
            },
            "required": ["tool", "args"],
        }
        for spec in TOOL_SPECS
    ]
}
"""JSON schema of one action in json mode (sent as the response format where supported)."""

_SYSTEM = """You answer a multi-step question by searching a document collection.
Each step of the question describes an entity without naming it; find each one in order, then answer.
Tools:
- search(query): ranked results as "[page_id] title -- snippet"
- open(page_id): the full text of a document
- cite(page_ids): the documents that support your answer
- answer(text): your final answer, as short as possible (a name, place, date or number)
Use one tool per turn. Cite the documents you used, then answer."""

_JSON_FORMAT = """Reply with exactly one JSON object per turn and nothing else, for example:
{"tool": "search", "args": {"query": "1994 biographical film about a director"}}
{"tool": "open", "args": {"page_id": "123"}}
{"tool": "cite", "args": {"page_ids": ["123", "456"]}}
{"tool": "answer", "args": {"text": "1966"}}"""

_ARG_NAME = {"search": "query", "open": "page_id", "cite": "page_ids", "answer": "text"}


class MalformedAction(ValueError):
    """The model's reply is not a usable action; the message is fed back to it."""


def normalize_args(tool: str, args: Any) -> dict[str, Any]:
    """Coerce a tool's arguments to its schema; raise :class:`MalformedAction` if impossible.

    >>> normalize_args("cite", "p1, p2")
    {'page_ids': ['p1', 'p2']}
    >>> normalize_args("search", {"q": "x"})
    {'query': 'x'}
    """
    if tool not in _ARG_NAME:
        raise MalformedAction(f"unknown tool {tool!r}; use one of {', '.join(TOOL_NAMES)}")
    key = _ARG_NAME[tool]
    if isinstance(args, str):
        s = args.strip()
        if s.startswith(("{", "[", '"')):
            try:
                args = json.loads(s)
            except json.JSONDecodeError:
                args = s
        else:
            args = s
    if isinstance(args, dict):
        if key in args:
            value = args[key]
        elif len(args) == 1:
            value = next(iter(args.values()))
        elif not args:
            raise MalformedAction(f"{tool} needs the argument {key!r}")
        else:
            raise MalformedAction(f"{tool} takes one argument {key!r}, got {sorted(args)}")
    else:
        value = args
    if tool == "cite":
        if isinstance(value, str):
            value = [v.strip() for v in re.split(r"[,\s]+", value) if v.strip()]
        elif isinstance(value, (int, float)):
            value = [str(value)]
        if not isinstance(value, list) or not value:
            raise MalformedAction("cite needs a non-empty list of page ids")
        return {key: [str(v) for v in value]}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise MalformedAction(f"{tool} needs a non-empty string {key!r}")
    return {key: value.strip()}


_PLAIN_ANSWER = re.compile(r"^\s*[*#>_ ]*(?:final answer|answer)[*_ ]*[:\uff1a]\s*(.+?)\s*$", re.I | re.M)


def parse_json_action(text: str) -> tuple[str, dict[str, Any]]:
    """The first JSON object in ``text`` that names a tool, as (tool, args).

    Reasoning before a ``</think>`` is ignored; a reply without JSON whose line reads
    ``Answer: ...`` (or ``Final answer: ...``) is taken as the answer action.

    >>> parse_json_action('<think>maybe {"tool": "open"}</think>Final answer: 1971')
    ('answer', {'text': '1971'})
    """
    text = text or ""
    if "</think>" in text:
        text = text.rsplit("</think>", 1)[1]
    found_any = False
    for obj in json_objects(text):
        found_any = True
        tool = obj.get("tool", obj.get("name", obj.get("action", obj.get("function"))))
        if isinstance(tool, dict):  # {"function": {"name": ..., "arguments": ...}}
            obj, tool = tool, tool.get("name")
        if not isinstance(tool, str):
            single = [k for k in obj if k in TOOL_NAMES]
            if len(single) == 1:
                return single[0], normalize_args(single[0], obj[single[0]])
            continue
        tool = tool.strip().lower()
        args: Any = {}
        for k in ("args", "arguments", "parameters", "input", "action_input", "tool_input"):
            if k in obj:
                args = obj[k]
                break
        return tool, normalize_args(tool, args)
    if found_any:
        raise MalformedAction('JSON object without a "tool" field')
    m = _PLAIN_ANSWER.search(text)
    if m and m.group(1).strip(" .*_`\"'"):
        return "answer", {"text": m.group(1).strip(" .*_`\"'")}
    raise MalformedAction("no JSON object in the reply")


class LLMPolicy:
    """A chat model driving the tools. Build with :class:`AgentConfig` fields or a ready model."""

    name = "llm"

    def __init__(self, cfg: Any = None, *, chat_model: Any = None):
        from longtracerl.agent.config import AgentConfig

        self.cfg = cfg if cfg is not None else AgentConfig(policy="llm", model="injected")
        if chat_model is None:
            from longtracerl.llm.openai import stage_chat_model

            chat_model = stage_chat_model(self.cfg.model, getattr(self.cfg, "llm_client", None))
        else:
            check_endpoint(chat_model)  # a wrong URL fails here, in seconds
        self.chat = chat_model
        self.model = getattr(chat_model, "name", None) or getattr(
            getattr(chat_model, "cfg", None), "model", None
        )
        self.mode = "native" if self.cfg.tool_mode in ("native", "auto") else "json"
        self._mode_lock = asyncio.Lock()
        self._json_format_ok = True  # cleared when the server rejects response_format

    # -- model calls ---------------------------------------------------------------------
    async def _complete(self, messages: list[dict[str, Any]], params: ChatParams) -> Completion:
        acomplete = getattr(self.chat, "acomplete", None)
        if acomplete is not None:
            return await acomplete(messages, params)
        return await asyncio.to_thread(self.chat.complete, messages, params)

    def _response_format(self) -> dict[str, Any] | None:
        kind = self.cfg.json_response_format
        if kind == "off" or not self._json_format_ok:
            return None
        if kind == "json_object":
            return {"type": "json_object"}
        if kind == "json_object_schema":
            return {"type": "json_object", "schema": ACTION_SCHEMA}
        return {"type": "json_schema", "json_schema": {"name": "action", "schema": ACTION_SCHEMA}}

    def _params(self, seed: int, native: bool) -> ChatParams:
        return ChatParams(
            temperature=self.cfg.temperature,
            max_tokens=self.cfg.max_tokens,
            seed=seed,
            tools=TOOL_SPECS if native else None,
            response_format=None if native else self._response_format(),
        )

    def _system(self) -> str:
        if self.mode == "json":
            return _SYSTEM + "\n\n" + _JSON_FORMAT
        return (
            _SYSTEM
            + "\nIf you cannot call a tool, reply with one JSON object such as "
            + ('{"tool": "search", "args": {"query": "..."}}.')
        )

    async def _step(self, messages: list[dict[str, Any]], seed: int, turn: int) -> Completion:
        native = self.mode == "native"
        params = self._params(seed + turn, native)
        try:
            return await self._complete(messages, params)
        except LLMError as err:
            status = getattr(err, "status", None)
            if status is None or not 400 <= status < 600:
                raise
            if native and self.cfg.tool_mode == "auto":
                # The server does not take `tools`: use the plain-text JSON format from now on.
                async with self._mode_lock:
                    self.mode = "json"
                messages[0] = {"role": "system", "content": self._system()}
                return await self._step(messages, seed, turn)
            if params.response_format is not None and format_rejected(err):
                # The server does not take `response_format`: plain replies, parsed as before.
                self._json_format_ok = False
                return await self._complete(messages, self._params(seed + turn, native))
            raise

    # -- context management --------------------------------------------------------------
    def _shrink(self, messages: list[dict[str, Any]]) -> None:
        total = sum(len(m.get("content") or "") for m in messages)
        if total <= self.cfg.context_chars:
            return
        for m in messages[2:-2]:
            if total <= self.cfg.context_chars:
                break
            content = m.get("content") or ""
            if m["role"] in ("tool", "user") and len(content) > 300:
                total -= len(content) - 300
                m["content"] = content[:300] + " [...shortened]"

    # -- tool execution ------------------------------------------------------------------
    def _execute(self, tools: ToolBox, tool: str, args: dict[str, Any]) -> str:
        n = self.cfg.observation_chars
        if tool == "search":
            obs = tools.search(args["query"]).render()
        elif tool == "open":
            obs = tools.open(args["page_id"]).render(max_chars=n)
        elif tool == "cite":
            res = tools.cite(args["page_ids"])
            obs = "Cited." if res.ok else f"Error: {res.error}"
        else:
            tools.answer(args["text"])
            obs = "Answer recorded."
        return obs[:n]

    # -- one attempt ---------------------------------------------------------------------
    async def arun(self, question: str, tools: ToolBox, *, attempt: int, seed: int) -> AttemptEnd:
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": self._system()},
            {"role": "user", "content": f"Question: {question}"},
        ]
        malformed = 0
        last_action: str | None = None
        repeats = 0
        turn = 0
        while True:
            if tools.n_calls >= self.cfg.max_turns:
                return AttemptEnd("turn_limit", f"{self.cfg.max_turns} tool calls without an answer")
            self._shrink(messages)
            try:
                comp = await self._step(messages, seed, turn)
            except EndpointError:
                raise  # not the model's doing: the question is retried, no attempt is recorded
            except LLMError as err:
                return AttemptEnd("error", str(err)[:500])
            turn += 1
            if turn > self.cfg.max_turns + self.cfg.max_malformed + 1:
                return AttemptEnd("turn_limit", f"{turn - 1} model turns without an answer")
            actions: list[tuple[str | None, str, dict[str, Any] | None, str | None]] = []
            if comp.tool_calls:
                for call in comp.tool_calls:
                    try:
                        args = normalize_args(call.name.strip().lower(), call.arguments)
                        actions.append((call.id, call.name.strip().lower(), args, None))
                    except MalformedAction as err:
                        actions.append((call.id, call.name, None, str(err)))
                messages.append(
                    {
                        "role": "assistant",
                        "content": comp.text or "",
                        "tool_calls": [
                            {
                                "id": call.id or f"call_{turn}_{i}",
                                "type": "function",
                                "function": {"name": call.name, "arguments": call.arguments},
                            }
                            for i, call in enumerate(comp.tool_calls)
                        ],
                    }
                )
            else:
                messages.append({"role": "assistant", "content": comp.text or ""})
                try:
                    tool, args = parse_json_action(comp.text or "")
                    actions.append((None, tool, args, None))
                except MalformedAction as err:
                    actions.append((None, "", None, str(err)))
                    if self.mode == "native" and self.cfg.tool_mode == "auto":
                        # the model does not call tools: ask for JSON actions from now on
                        async with self._mode_lock:
                            self.mode = "json"
                        messages[0] = {"role": "system", "content": self._system()}

            for i, (call_id, tool, args, error) in enumerate(actions):
                if args is None:
                    malformed += 1
                    obs = f"Invalid action: {error}. " + (
                        "Call one of the tools." if call_id is not None else _JSON_FORMAT
                    )
                    if malformed > self.cfg.max_malformed:
                        return AttemptEnd("malformed", f"{malformed} malformed actions; last: {error}")
                else:
                    key = tool + json.dumps(args, sort_keys=True)
                    repeats = repeats + 1 if key == last_action else 1
                    last_action = key
                    if repeats >= self.cfg.loop_repeats:
                        return AttemptEnd("loop", f"{tool} {json.dumps(args)[:200]} repeated {repeats} times")
                    if tools.n_calls >= self.cfg.max_turns:
                        return AttemptEnd("turn_limit", f"{self.cfg.max_turns} tool calls without an answer")
                    obs = self._execute(tools, tool, args)
                    if tool == "answer":
                        return AttemptEnd("answered")
                if call_id is not None or comp.tool_calls:
                    messages.append(
                        {"role": "tool", "tool_call_id": call_id or f"call_{turn}_{i}", "content": obs}
                    )
                else:
                    messages.append({"role": "user", "content": f"Observation:\n{obs}"})

    async def aclose(self) -> None:
        closer = getattr(self.chat, "aclose", None)
        if closer is not None:
            with contextlib.suppress(Exception):  # closing is best effort
                await closer()
