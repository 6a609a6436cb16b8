"""What a policy is, and what one attempt returns.

A policy gets the question *text* only (never the :class:`~longtracerl.records.Label`), a fresh
:class:`~longtracerl.agent.tools.ToolBox` and a seed, and works the tools until it answers or
gives up. It returns an :class:`AttemptEnd` (``answered``, ``turn_limit``, ``malformed``,
``loop``, ``error`` or ``gave_up``); the tool box holds everything it did.

Synchronous policies implement ``run``; policies that wait on a network implement ``arun`` (the
runner then works on many questions at once with asyncio).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from longtracerl.agent.tools import ToolBox

END_REASONS = ("answered", "turn_limit", "malformed", "loop", "error", "gave_up")


@dataclass
class AttemptEnd:
    """How an attempt ended; ``detail`` says why for failures (error text, bad action...)."""

    reason: str = "answered"
    detail: str | None = None


@runtime_checkable
class Policy(Protocol):
    name: str
    model: str | None

    def run(self, question: str, tools: ToolBox, *, attempt: int, seed: int) -> AttemptEnd: ...


@runtime_checkable
class AsyncPolicy(Protocol):
    name: str
    model: str | None

    async def arun(self, question: str, tools: ToolBox, *, attempt: int, seed: int) -> AttemptEnd: ...


def attempt_seed(base_seed: int, question_id: str, attempt: int) -> int:
    """A stable 31-bit seed per (run seed, question, attempt).

    >>> attempt_seed(0, "q1", 1) == attempt_seed(0, "q1", 1) != attempt_seed(0, "q1", 2)
    True
    """
    h = hashlib.sha256(f"{base_seed}|{question_id}|{attempt}".encode()).digest()
    return int.from_bytes(h[:4], "big") & 0x7FFFFFFF
