"""verl adapter: ``compute_score`` (per response), ``compute_score_batch`` (a batch, grouped) and
``compute_score_scalar`` (a float, for verl's ``prime`` manager). Importing it needs no verl.

Use with ``reward.custom_reward_function.path=pkg://longtracerl.rewards.integrations.verl`` and
``reward.custom_reward_function.name=compute_score``. verl 0.9.1 scores one response at a time,
so :func:`compute_score` uses the raw rubric score (``M = 1``) instead of the group max; verl
decodes without special tokens and passes no finish reason, so responses count as stopped. Row
layout, options, environment variables and the check against verl's own code: docs/adapters.md
(verl). A verdict the judge could not give raises
:class:`~longtracerl.rewards.combine.JudgeFailure` (never a score of 0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from longtracerl.records import RewardResult
from longtracerl.rewards.combine import JudgeFailure, RewardSettings, score_group, score_one
from longtracerl.rewards.integrations._common import (
    components,
    make_judge,
    reward_settings,
    setting_overrides,
    task_fields,
)
from longtracerl.rewards.judge import Judge

__all__ = ["compute_score", "compute_score_batch", "compute_score_scalar"]


def _result_dict(result: RewardResult) -> dict[str, float]:
    out = {"score": float(result.reward)}
    out.update(components(result))
    out["acc"] = float(result.outcome)
    return out


def compute_score(
    data_source: str | None,
    solution_str: str,
    ground_truth: str,
    extra_info: Mapping[str, Any] | None = None,
    *,
    judge: str | Judge | None = None,
    settings: RewardSettings | Mapping[str, Any] | None = None,
    finish_reason: str | None = "stop",
    **kwargs: Any,
) -> dict[str, float]:
    """Score one response the way verl's reward managers call it (no group: ``M = 1``).

    ``settings`` (a :class:`RewardSettings` or a mapping of its fields) says how; keyword
    arguments named like its fields (``mode``, ``eta``, ``processor``, ``use_content``,
    ``use_reasoning``, ``word_boundary``) change single ones. Other keyword arguments that verl
    adds (``reward_router_address``, ...) are ignored.

    >>> d = compute_score("longqa", "thinking\\n</think>\\n\\nParis", "Paris",
    ...                   {"question": "Capital of France?", "rubrics": ["France", "Paris"]})
    >>> d["score"], d["outcome"], d["rubric"]
    (0.85, 1.0, 0.5)
    """
    question, rubrics, aliases = task_fields(extra_info, where="extra_info")
    result = score_one(
        solution_str if isinstance(solution_str, str) else str(solution_str),
        label=str(ground_truth),
        question=question,
        rubrics=rubrics,
        aliases=aliases,
        judge=make_judge(judge),
        settings=reward_settings(settings, **setting_overrides(kwargs)),
        finish_reason=finish_reason,
    )
    if result.judge_error:
        raise JudgeFailure([result.judge_error], "verl compute_score: ")
    return _result_dict(result)


def compute_score_scalar(
    data_source: str | None,
    solution_str: str,
    ground_truth: str,
    extra_info: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> float:
    """:func:`compute_score`'s ``score`` alone, for callers that need a float.

    verl's legacy ``PrimeRewardManager`` calls the function positionally and puts the results
    straight into a tensor: a dict there makes it log an error and set every score to 0.

    >>> compute_score_scalar("longqa", "r\\n</think>\\n\\nParis", "Paris", {"question": "Capital?"})
    0.7
    """
    return compute_score(data_source, solution_str, ground_truth, extra_info, **kwargs)["score"]


def _group_key(info: Mapping[str, Any] | None, ground_truth: Any, question: str) -> tuple:
    info = info if isinstance(info, Mapping) else {}
    for key in ("uid", "index"):
        if info.get(key) is not None:
            value = info[key]
            return (key, value.item() if hasattr(value, "item") else value)
    return ("text", question, str(ground_truth))


def compute_score_batch(
    data_sources: Sequence[str | None],
    solution_strs: Sequence[str],
    ground_truths: Sequence[str],
    extra_infos: Sequence[Mapping[str, Any] | None] | None = None,
    *,
    judge: str | Judge | None = None,
    settings: RewardSettings | Mapping[str, Any] | None = None,
    finish_reason: str | None = "stop",
    group_size: int | None = None,
    **kwargs: Any,
) -> list[dict[str, float]]:
    """Score a whole batch with the group step (verl's ``BatchRewardManager`` call shape).

    Rows are grouped by ``extra_info["uid"]``, else ``extra_info["index"]``, else (question,
    answer), in order of first appearance; each group is one
    :func:`~longtracerl.rewards.combine.score_group` call. ``group_size`` (e.g. the rollout
    ``n``), when given, must equal every group's size. Returns one dict per row, in row order.

    >>> rows = compute_score_batch(
    ...     ["longqa"] * 2, ["r\\n</think>\\n\\nParis", "r\\n</think>\\n\\nParis, France"], ["Paris"] * 2,
    ...     [{"index": 7, "question": "Capital?", "rubrics": ["France"]}] * 2)
    >>> [d["score"] for d in rows]
    [0.7, 1.0]
    """
    n = len(solution_strs)
    if len(ground_truths) != n:
        raise ValueError(f"compute_score_batch: {len(ground_truths)} ground_truths for {n} solution_strs")
    infos = list(extra_infos) if extra_infos is not None else [None] * n
    if len(infos) != n:
        raise ValueError(f"compute_score_batch: {len(infos)} extra_infos for {n} solution_strs")
    the_judge = make_judge(judge)
    the_settings = reward_settings(settings, **setting_overrides(kwargs))
    fields = [task_fields(info, where=f"extra_infos[{i}]") for i, info in enumerate(infos)]
    groups: dict[tuple, list[int]] = {}
    for i in range(n):
        groups.setdefault(_group_key(infos[i], ground_truths[i], fields[i][0]), []).append(i)
    out: list[dict[str, float] | None] = [None] * n
    for key, idx in groups.items():
        if group_size is not None and len(idx) != group_size:
            raise ValueError(
                f"compute_score_batch: group {key[1:]} has {len(idx)} rows, expected {group_size}"
            )
        first = idx[0]
        question, rubrics, aliases = fields[first]
        for i in idx[1:]:
            if str(ground_truths[i]) != str(ground_truths[first]) or fields[i][0] != question:
                raise ValueError(
                    f"compute_score_batch: rows {first} and {i} share group {key[1:]} but differ in "
                    "ground_truth or question"
                )
        g = score_group(
            [str(solution_strs[i]) for i in idx],
            label=str(ground_truths[first]),
            question=question,
            rubrics=rubrics,
            aliases=aliases,
            judge=the_judge,
            settings=the_settings,
            finish_reasons=[finish_reason] * len(idx),
        ).raise_on_judge_failure(f"verl compute_score_batch, group {key[1:]}: ")
        for i, r in zip(idx, g.results, strict=True):
            out[i] = _result_dict(r)
    return out  # type: ignore[return-value]
