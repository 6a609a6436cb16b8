"""Split a thinking model's raw response into reasoning and answer content (docs/method.md#parsing-the-response).

A processor knows one model family's tags and stop tokens. :func:`parse_response` returns a
:class:`ParsedResponse` (reasoning, content, status and every rule that fired); any status but
``"ok"`` means reward 0 without judging. The rules, the split and how a stop token is seen (in the
raw text, or through ``finish_reason``): docs/rewards.md (2.1 Parsing).

Example:
    >>> r = parse_response("Paris is in France.\\n</think>\\n\\nParis<|im_end|>")
    >>> (r.status, r.reasoning, r.content)
    ('ok', 'Paris is in France.', 'Paris')
    >>> parse_response("thinking...", finish_reason="length").status
    'truncated'
    >>> r = parse_response("a\\n</think>\\n\\nb<|endoftext|>")
    >>> (r.status, r.reasons)
    ('ill_formed', ['wrong_stop_token'])
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from longtracerl.config import resolve

Status = Literal["ok", "truncated", "aborted", "unfinished", "ill_formed"]

# every reason string parse_response can emit (monitors aggregate by these)
REASONS = (
    "aborted",
    "truncated",
    "unfinished",
    "unknown_finish_reason",
    "think_close_count",
    "empty_reasoning",
    "empty_content",
    "special_token_in_content",
    "wrong_stop_token",
)
_STATUS_OF_REASON: dict[str, Status] = {
    "aborted": "aborted",
    "truncated": "truncated",
    "unfinished": "unfinished",
    "unknown_finish_reason": "unfinished",
}
_STATUS_PRIORITY: tuple[Status, ...] = ("aborted", "truncated", "unfinished", "ill_formed")
_STOP_FINISH = frozenset({"stop", "eos", "stop_token", "eos_token"})


@dataclass(frozen=True, slots=True)
class ParsedResponse:
    """A response split into reasoning and content, with its gate status and every reason."""

    reasoning: str
    content: str
    status: Status
    reasons: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@runtime_checkable
class Processor(Protocol):
    """One model family's response layout."""

    name: str

    def parse(self, text: str, finish_reason: str | None = None) -> ParsedResponse: ...


@dataclass(frozen=True)
class GenericProcessor:
    """A configurable processor: think tags, stop tokens and the special tokens banned in content.

    Args:
        think_open: tag that opens the reasoning (stripped when the response starts with it).
        think_close: tag that ends the reasoning; exactly one must occur.
        stop_tokens: accepted end-of-turn tokens (the right ones).
        special_tokens: literal tokens that make the content ill-formed when they occur in it.
        wrong_stop_tokens: end tokens that stop generation but are the wrong ones (ill-formed).
        special_token_pattern: optional regex of further special tokens (e.g. ``<\\|[a-z_]+\\|>``).
        name: registry name, for messages.
    """

    think_open: str = "<think>"
    think_close: str = "</think>"
    stop_tokens: Sequence[str] = ()
    special_tokens: Sequence[str] = ()
    wrong_stop_tokens: Sequence[str] = ()
    special_token_pattern: str | None = None
    name: str = "generic"

    def __post_init__(self) -> None:
        if not self.think_close:
            raise ValueError("GenericProcessor: think_close must be a non-empty tag")
        for attr in ("stop_tokens", "special_tokens", "wrong_stop_tokens"):
            value = getattr(self, attr)
            if isinstance(value, str):
                raise ValueError(f"GenericProcessor: {attr} must be a list of strings, not one string")
            if any(not t for t in value):
                raise ValueError(f"GenericProcessor: {attr} contains an empty token")
            object.__setattr__(self, attr, tuple(value))
        banned = set(self.special_tokens) | set(self.stop_tokens) | set(self.wrong_stop_tokens)
        if self.think_open:
            banned.add(self.think_open)
        parts = [re.escape(t) for t in sorted(banned, key=len, reverse=True)]
        if self.special_token_pattern:
            parts.append(f"(?:{self.special_token_pattern})")
        object.__setattr__(self, "_banned", re.compile("|".join(parts)) if parts else None)
        # longest first, so a stop token that ends with another one wins
        ends = [(t, True) for t in self.stop_tokens] + [(t, False) for t in self.wrong_stop_tokens]
        ends.sort(key=lambda x: len(x[0]), reverse=True)
        object.__setattr__(self, "_ends", tuple(ends))

    def parse(self, text: str, finish_reason: str | None = None) -> ParsedResponse:
        if not isinstance(text, str):
            raise TypeError(f"response must be a str, got {type(text).__name__}")
        reasons: list[str] = []
        if finish_reason == "abort":
            reasons.append("aborted")
        elif finish_reason == "length":
            reasons.append("truncated")
        elif finish_reason is not None and finish_reason not in _STOP_FINISH:
            reasons.append("unknown_finish_reason")

        body = text
        stop_seen = finish_reason in _STOP_FINISH
        for token, right in self._ends:  # type: ignore[attr-defined]
            if body.endswith(token):
                body = body[: -len(token)]
                stop_seen = True
                if not right:
                    reasons.append("wrong_stop_token")
                break
        if not stop_seen and finish_reason is None:
            reasons.append("unfinished")

        if self.think_open and body.startswith(self.think_open):
            body = body[len(self.think_open) :]
            if body.startswith("\n"):
                body = body[1:]
        close = self.think_close
        n_close = body.count(close)
        if n_close != 1:
            reasons.append("think_close_count")
        if n_close == 0:
            reasoning, content = body, ""
        else:
            cut = body.rfind(close)
            reasoning, content = body[:cut], body[cut + len(close) :]
            if reasoning.endswith("\n"):
                reasoning = reasoning[:-1]
            if content.startswith("\n\n"):
                content = content[2:]
            elif content.startswith("\n"):
                content = content[1:]
        if not reasoning.strip():
            reasons.append("empty_reasoning")
        if not content.strip():
            reasons.append("empty_content")
        banned = self._banned  # type: ignore[attr-defined]
        if banned is not None and content and banned.search(content):
            reasons.append("special_token_in_content")
        return ParsedResponse(reasoning, content, status_of(reasons), reasons)


def status_of(reasons: list[str]) -> Status:
    """The status of a response from its parse reasons: ``ok`` when there are none, else the most
    severe status any reason maps to (e.g. ``truncated`` before ``ill_formed``).

    >>> status_of([]), status_of(["empty_content"]), status_of(["truncated", "empty_content"])
    ('ok', 'ill_formed', 'truncated')
    """
    if not reasons:
        return "ok"
    found = {_STATUS_OF_REASON.get(r, "ill_formed") for r in reasons}
    for s in _STATUS_PRIORITY:
        if s in found:
            return s
    return "ill_formed"  # pragma: no cover


QWEN3_THINKING = GenericProcessor(
    name="qwen3-thinking",
    think_open="<think>",
    think_close="</think>",
    stop_tokens=("<|im_end|>",),
    wrong_stop_tokens=("<|endoftext|>",),
    special_tokens=("<|im_start|>", "<|im_end|>", "<|endoftext|>"),
    special_token_pattern=r"<\|[a-z_]+\|>",
)

# DeepSeek-R1-0528-Qwen3-8B: DeepSeek's full-width-bar tokens on the Qwen3 vocabulary; the Qwen
# end tokens are still in the vocabulary and count as wrong stops.
DEEPSEEK_R1_QWEN3 = GenericProcessor(
    name="deepseek-r1-qwen3",
    think_open="<think>",
    think_close="</think>",
    stop_tokens=("<｜end▁of▁sentence｜>",),
    wrong_stop_tokens=("<|endoftext|>", "<|im_end|>"),
    special_tokens=("<｜begin▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>"),
    special_token_pattern=r"<｜[^｜<>\n]{1,40}｜>|<\|[a-z_]+\|>",
)

PROCESSORS: dict[str, Processor] = {
    "qwen3-thinking": QWEN3_THINKING,
    "deepseek-r1-qwen3": DEEPSEEK_R1_QWEN3,
}


def get_processor(processor: str | Processor) -> Processor:
    """A processor by registry name (or ``module:attr``), or the object itself."""
    if isinstance(processor, str):
        target = resolve(PROCESSORS, processor, "response processor")
        return target() if isinstance(target, type) else target
    if not hasattr(processor, "parse"):
        raise TypeError(f"not a response processor: {processor!r}")
    return processor


def parse_response(
    text: str, processor: str | Processor = "qwen3-thinking", *, finish_reason: str | None = None
) -> ParsedResponse:
    """Split ``text`` and decide whether it may be judged (see the module docstring)."""
    return get_processor(processor).parse(text, finish_reason)
