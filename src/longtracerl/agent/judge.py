"""Correctness of an attempt's final answer: the only place the agent stage reads the label.

The policy never receives the :class:`~longtracerl.records.Label`; the runner calls
:meth:`AnswerChecker.check` after the attempt has ended.

Rule (default): the reward stage's :class:`longtracerl.rewards.judge.RuleJudge` with exact
numbers (normalised exact match, number match, containment of the gold answer in a short answer,
token F1 >= ``f1_threshold``, aliases). ``judge=llm`` adds the reward stage's ``LLMJudge`` over
the configured chat model; a rule match is accepted without calling it. :func:`rule_correct` is
the bare normalised-match / token-F1 test, for callers that want only that. See docs/agent.md.

Example:
    >>> rule_correct("The Beatles", "beatles")
    True
    >>> rule_correct("16 July 1966", "July 16, 1966")
    True
    >>> rule_correct("1966", "July 16, 1966")
    False
    >>> rule_correct("NYC", "New York City", aliases=["NYC"])
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from longtracerl.text import normalize_answer, token_f1

__all__ = ["rule_correct", "AnswerChecker"]


def rule_correct(
    response: str | None, answer: str, aliases: Sequence[str] = (), f1_threshold: float = 1.0
) -> bool:
    """Normalised exact match (or token F1 >= ``f1_threshold``) against the answer or an alias."""
    if response is None:
        return False
    pred = normalize_answer(response)
    if not pred:
        return False
    for gold in (answer, *aliases):
        ref = normalize_answer(gold)
        if not ref:
            continue
        if pred == ref or token_f1(pred, ref) >= f1_threshold:
            return True
    return False


class AnswerChecker:
    """Checks final answers: the rule judge by default, an LLM judge when one is given.

    ``rule_judge`` / ``llm_judge`` are objects with ``judge(question, answer, response, *,
    aliases=()) -> result`` whose result has a boolean ``correct`` (the reward stage's judges).
    """

    def __init__(self, *, f1_threshold: float = 0.8, rule_judge: Any = None, llm_judge: Any = None):
        self.f1_threshold = f1_threshold
        if rule_judge is None:
            from longtracerl.rewards.judge import RuleJudge

            # numbers must be equal: a relative tolerance would accept a neighbouring year
            # (1966 for 1971 is within 1 %)
            rule_judge = RuleJudge(f1_threshold=f1_threshold, numeric_rel_tol=0.0)
        self.rule_judge = rule_judge
        self.llm_judge = llm_judge
        self.name = "llm" if llm_judge is not None else "rule"

    def rule(self, question: str, answer: str, response: str, aliases: Sequence[str] = ()) -> bool:
        return bool(self.rule_judge.judge(question, answer, response, aliases=tuple(aliases)).correct)

    def check(self, question: str, answer: str, response: str | None, aliases: Sequence[str] = ()) -> bool:
        if response is None or not response.strip():
            return False
        if self.rule(question, answer, response, aliases):
            return True
        if self.llm_judge is None:
            return False
        result = self.llm_judge.judge(question, answer, response, aliases=tuple(aliases))
        error = getattr(result, "error", None)
        if error:  # no verdict (grader down or unreadable): not the policy's answer; the question is retried
            from longtracerl.llm.base import EndpointError

            raise EndpointError(f"LLM judge gave no verdict: {error}")
        return bool(getattr(result, "correct", result))

    @classmethod
    def from_config(cls, cfg: Any) -> AnswerChecker:
        if cfg.judge != "llm":
            return cls(f1_threshold=cfg.f1_threshold)
        from longtracerl.llm.openai import stage_chat_model
        from longtracerl.rewards.judge import LLMJudge  # the reward stage's judge

        # the stage's llm_client settings and its health call (a wrong judge URL fails at start)
        model = stage_chat_model(cfg.judge_model or cfg.model, getattr(cfg, "llm_client", None))
        return cls(f1_threshold=cfg.f1_threshold, llm_judge=LLMJudge(model))
