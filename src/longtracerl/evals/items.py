"""What a benchmark hands the runner: :class:`EvalItem` (prompt parts + gold data) and the
middle-truncation rule that fits a prompt into a model's window.

A single-turn prompt is three parts: ``head`` (instructions before the documents), ``body`` (the
documents: the only part that may be cut) and ``tail`` (the question and answer-format line: never
cut). A multi-turn item (MRCR) is a message list whose last message is the question; only whole
earlier messages may be dropped.

Truncation rule (when ``max_context_tokens`` is set): the prompt budget is ``max_context_tokens -
max_tokens - template_overhead_tokens``. If head + body + tail (+ system prompt) exceed it, the body
keeps its first ``ceil(b/2)`` and last ``floor(b/2)`` tokens, where ``b`` is what is left after
head, tail, system prompt and the marker, with the marker between them (so the head and tail of
the documents and the question survive). Message lists drop messages from the middle of the history
in whole (user, assistant) turns (keeping the earliest and latest alternately) until they fit; the
last message and a leading system message are never dropped.
If even an empty body does not fit, the item cannot be evaluated and the runner counts it as
``context_overflow`` (score 0).

Example:
    >>> from longtracerl.contexts.tokenizer import load_tokenizer
    >>> tok = load_tokenizer()
    >>> p = Prompt("Docs:\\n", " ".join(f"w{i}" for i in range(400)), "\\nQuestion: who?")
    >>> cut = truncate_prompt(p, tok, budget=60, marker=" [...] ")
    >>> cut.truncated, cut.text.startswith("Docs:\\nw0 w1"), cut.text.endswith("w399\\nQuestion: who?")
    (True, True, True)
    >>> tok.count(cut.text) <= 60
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from longtracerl.contexts.tokenizer import TokenCounter


@dataclass(frozen=True)
class Prompt:
    """A single user message made of ``head + body + tail``; only ``body`` may be cut."""

    head: str
    body: str
    tail: str

    @property
    def text(self) -> str:
        return self.head + self.body + self.tail


@dataclass(frozen=True)
class EvalItem:
    """One benchmark question.

    ``prompt`` (single user message) or ``messages`` (a chat whose last message is the question)
    is set, not both. ``answer`` is the gold answer (a letter for multiple choice); ``question``
    is the bare question the judge sees; ``meta`` is copied into every sample line.
    """

    item_id: str
    answer: str
    question: str = ""
    prompt: Prompt | None = None
    messages: tuple[dict[str, str], ...] | None = None
    aliases: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError(f"item {self.item_id}: set exactly one of prompt and messages")


@dataclass(frozen=True)
class FittedPrompt:
    """The messages actually sent, with what truncation did."""

    messages: list[dict[str, str]]
    truncated: bool
    prompt_tokens: int | None  # counted with the run's tokenizer (None without a window)
    removed_tokens: int = 0
    overflow: bool = False  # even the question alone does not fit


@dataclass(frozen=True)
class _Cut:
    text: str
    truncated: bool
    removed: int


def truncate_prompt(prompt: Prompt, tok: TokenCounter, budget: int, marker: str, reserved: int = 0) -> _Cut:
    """Cut the middle of ``prompt.body`` so the whole prompt has at most ``budget - reserved`` tokens."""
    fixed = tok.count(prompt.head) + tok.count(prompt.tail) + reserved
    body_ids = tok._tok.encode(prompt.body, add_special_tokens=False)  # one pass: offsets and count
    n_body = len(body_ids.ids)
    if fixed + n_body <= budget:
        return _Cut(prompt.text, False, 0)
    keep = budget - fixed - tok.count(marker)
    if keep <= 0:
        return _Cut(prompt.head + prompt.tail, True, n_body)
    n_head = (keep + 1) // 2
    n_tail = keep - n_head
    offsets = body_ids.offsets
    head_end = offsets[n_head - 1][1] if n_head else 0
    tail_start = offsets[n_body - n_tail][0] if n_tail else len(prompt.body)
    body = prompt.body[:head_end] + marker + prompt.body[tail_start:]
    text = prompt.head + body + prompt.tail
    # token boundaries can merge differently at the joins: shave until the whole really fits
    while tok.count(text) + reserved > budget and (n_head or n_tail):
        if n_head >= n_tail and n_head:
            n_head -= 1
            head_end = offsets[n_head - 1][1] if n_head else 0
        else:
            n_tail -= 1
            tail_start = offsets[n_body - n_tail][0] if n_tail else len(prompt.body)
        text = prompt.head + prompt.body[:head_end] + marker + prompt.body[tail_start:] + prompt.tail
    return _Cut(text, True, n_body - n_head - n_tail)


def _middle_order(n: int) -> list[int]:
    """Indices of a history of n messages in the order they are dropped: middle first."""
    keep_order: list[int] = []
    lo, hi = 0, n - 1
    while lo <= hi:
        keep_order.append(lo)
        if hi != lo:
            keep_order.append(hi)
        lo, hi = lo + 1, hi - 1
    return keep_order[::-1]


def fit_item(
    item: EvalItem,
    *,
    tok: TokenCounter | None,
    budget: int | None,
    marker: str,
    system_prompt: str | None = None,
) -> FittedPrompt:
    """The messages for ``item``, middle-truncated to ``budget`` tokens when a budget is given."""
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    reserved = tok.count(system_prompt) if (tok is not None and system_prompt) else 0
    if item.prompt is not None:
        if tok is None or budget is None:
            return FittedPrompt([*system, {"role": "user", "content": item.prompt.text}], False, None)
        cut = truncate_prompt(item.prompt, tok, budget, marker, reserved)
        n = tok.count(cut.text) + reserved
        overflow = n > budget
        return FittedPrompt(
            [*system, {"role": "user", "content": cut.text}], cut.truncated, n, cut.removed, overflow
        )
    messages = [dict(m) for m in item.messages or ()]
    if tok is None or budget is None:
        return FittedPrompt([*system, *messages], False, None)
    counts = tok.count_batch([m.get("content", "") for m in messages])
    total = sum(counts) + reserved
    # history = every message but the last; a leading system message is kept; the rest is dropped in
    # whole (user, assistant) turns so the roles still alternate
    start = 1 if messages and messages[0].get("role") == "system" else 0
    units = [list(range(i, min(i + 2, len(messages) - 1))) for i in range(start, len(messages) - 1, 2)]
    dropped: set[int] = set()
    for u in _middle_order(len(units)):
        if total <= budget:
            break
        for idx in units[u]:
            dropped.add(idx)
            total -= counts[idx]
    kept = [m for i, m in enumerate(messages) if i not in dropped]
    removed = sum(counts[i] for i in dropped)
    return FittedPrompt([*system, *kept], bool(dropped), total, removed, total > budget)


def require(row: dict[str, Any], fields: Sequence[str], path: str, line: int) -> None:
    """Raise a :class:`~longtracerl.records.RecordError` naming the first missing or empty field."""
    from longtracerl.records import RecordError

    for f in fields:
        value = row.get(f)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise RecordError(path, line, f, "missing required field" if value is None else "empty value")
