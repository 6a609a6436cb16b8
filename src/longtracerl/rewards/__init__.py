"""Rewards (docs/method.md#rewards): parse a thinking model's response, judge the answer, score rubric recall,
combine a group, and compute GRPO advantages. Pure functions; the server and CLI are thin edges.

Public API (import from the submodules, or from here):

- :func:`~longtracerl.rewards.parse.parse_response` -> :class:`~longtracerl.rewards.parse.ParsedResponse`
- :func:`~longtracerl.rewards.rubric.rubric_score` -> :class:`~longtracerl.rewards.rubric.RubricScore`
- :class:`~longtracerl.rewards.judge.RuleJudge`, :class:`~longtracerl.rewards.judge.LLMJudge`
- :func:`~longtracerl.rewards.combine.combine_group`, :func:`~longtracerl.rewards.combine.score_group`,
  :func:`~longtracerl.rewards.combine.score_one`, :func:`~longtracerl.rewards.combine.grpo_advantages`,
  :func:`~longtracerl.rewards.combine.batch_monitors`
"""

from longtracerl.rewards.combine import (
    MODES,
    GroupScore,
    JudgeFailure,
    RewardSettings,
    batch_monitors,
    combine_group,
    grpo_advantages,
    longrlvr_reward,
    score_group,
    score_one,
    score_parsed,
)
from longtracerl.rewards.judge import Judge, JudgeResult, LLMJudge, RuleJudge
from longtracerl.rewards.parse import (
    PROCESSORS,
    GenericProcessor,
    ParsedResponse,
    Processor,
    get_processor,
    parse_response,
)
from longtracerl.rewards.rubric import RubricScore, rubric_score, rubric_score_reference

__all__ = [
    "MODES",
    "PROCESSORS",
    "GenericProcessor",
    "GroupScore",
    "JudgeFailure",
    "Judge",
    "JudgeResult",
    "LLMJudge",
    "ParsedResponse",
    "Processor",
    "RewardSettings",
    "RubricScore",
    "RuleJudge",
    "batch_monitors",
    "combine_group",
    "get_processor",
    "grpo_advantages",
    "longrlvr_reward",
    "parse_response",
    "rubric_score",
    "rubric_score_reference",
    "score_group",
    "score_one",
    "score_parsed",
]
