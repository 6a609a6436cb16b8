"""slime adapter: a custom reward function and a reward post-process function.

``--custom-rm-path longtracerl.rewards.integrations.slime.reward_func`` scores each sample (or a
whole group with ``--group-rm``) and returns the authors' keys (``reward``, ``outcome_reward``,
``rubric_reward``, ...), ``reward`` with ``M = 1``;
``--custom-reward-post-process-path longtracerl.rewards.integrations.slime.post_process`` applies
the group step to the flattened rollout and returns ``(raw_rewards, rewards)`` the way slime's own
post-processing would. Use ``--reward-key reward --eval-reward-key outcome_reward``. Call shapes,
where each field comes from, options and tests: docs/adapters.md (slime). A verdict the judge
could not give raises :class:`~longtracerl.rewards.combine.JudgeFailure` (never a reward of 0).
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Mapping, Sequence
from typing import Any

from longtracerl.records import RewardResult
from longtracerl.rewards.combine import (
    JudgeFailure,
    RewardSettings,
    combine_group,
    grpo_advantages,
    score_group,
    score_one,
)
from longtracerl.rewards.integrations._common import make_judge, task_fields

__all__ = ["reward_func", "post_process"]

_STD_ESTIMATORS = ("grpo", "gspo", "cispo")  # slime: mean and std per group
_MEAN_ESTIMATORS = ("reinforce_plus_plus_baseline", "rloo")  # slime: mean only


def _status_name(sample: Any) -> str:
    status = getattr(sample, "status", None)
    value = getattr(status, "value", status)
    return str(value).lower() if value is not None else "pending"


def _finish_reason(sample: Any) -> str:
    return {"completed": "stop", "truncated": "length"}.get(_status_name(sample), "abort")


def _metadata(sample: Any) -> Mapping[str, Any]:
    meta = getattr(sample, "metadata", None)
    return meta if isinstance(meta, Mapping) else {}


def _settings(args: Any, sample: Any) -> RewardSettings:
    """The reward settings of one sample. eta: the row's ``rubric_reward_ratio`` (the authors'
    fork sets 0 for evaluation), else ``args.rubric_reward_ratio``, else ``$LONGTRACERL_ETA``,
    else 0.3; rubric text: the row's ``rubric_use_content`` / ``rubric_use_reasoning_content``,
    else ``args.rubric_use_reasoning_content`` (content only); mode and processor from
    ``args.longtracerl_*`` or ``$LONGTRACERL_REWARD_MODE`` / ``$LONGTRACERL_PROCESSOR``;
    ``args.longtracerl_word_boundary`` and ``args.longtracerl_no_group_normalise`` (both off)."""
    extra = _metadata(sample).get("extra_reward_info")
    extra = extra if isinstance(extra, Mapping) else {}
    eta = extra.get("rubric_reward_ratio")
    if eta is None:
        eta = getattr(args, "rubric_reward_ratio", None)
    if eta is None:
        eta = os.environ.get("LONGTRACERL_ETA", 0.3)
    use_content = extra.get("rubric_use_content")
    use_reasoning = extra.get("rubric_use_reasoning_content")
    if use_reasoning is None:
        use_reasoning = getattr(args, "rubric_use_reasoning_content", False)
    return RewardSettings(
        mode=getattr(args, "longtracerl_reward_mode", None)
        or os.environ.get("LONGTRACERL_REWARD_MODE", "positive-only"),
        eta=float(eta),
        processor=getattr(args, "longtracerl_processor", None)
        or os.environ.get("LONGTRACERL_PROCESSOR", "qwen3-thinking"),
        use_content=True if use_content is None else bool(use_content),
        use_reasoning=bool(use_reasoning),
        word_boundary=bool(getattr(args, "longtracerl_word_boundary", False)),
        group_normalise=not bool(getattr(args, "longtracerl_no_group_normalise", False)),
    )


def _where(sample: Any) -> str:
    return (
        f"sample(index={getattr(sample, 'index', None)}, group_index={getattr(sample, 'group_index', None)})"
    )


def _as_dict(result: RewardResult) -> dict[str, Any]:
    return {
        "reward": float(result.reward),
        "outcome_reward": float(result.outcome),
        "rubric_reward": float(result.rubric),
        "rubric_normalised": float(result.rubric_normalised),
        "gated": bool(result.gated),
        "status": result.status,
        "judge_error": result.judge_error,
    }


def _score_sample(args: Any, sample: Any) -> dict[str, Any]:
    question, rubrics, aliases = task_fields(_metadata(sample), where=f"{_where(sample)}.metadata")
    result = score_one(
        str(getattr(sample, "response", "") or ""),
        label=str(getattr(sample, "label", "") or ""),
        question=question,
        rubrics=rubrics,
        aliases=aliases,
        judge=make_judge(),
        finish_reason=_finish_reason(sample),
        settings=_settings(args, sample),
    )
    if result.judge_error:
        raise JudgeFailure([result.judge_error], f"slime reward_func, {_where(sample)}: ")
    return _as_dict(result)


def _score_samples(args: Any, samples: Sequence[Any]) -> list[dict[str, Any]]:
    first = samples[0]
    question, rubrics, aliases = task_fields(_metadata(first), where=f"{_where(first)}.metadata")
    g = score_group(
        [str(getattr(s, "response", "") or "") for s in samples],
        label=str(getattr(first, "label", "") or ""),
        question=question,
        rubrics=rubrics,
        aliases=aliases,
        judge=make_judge(),
        finish_reasons=[_finish_reason(s) for s in samples],
        settings=_settings(args, first),
    )
    g.raise_on_judge_failure(f"slime reward_func, group of {_where(first)}: ")
    return [_as_dict(r) for r in g.results]


async def reward_func(args: Any, sample: Any, **kwargs: Any) -> dict[str, Any] | list[dict[str, Any]]:
    """slime custom reward: one ``Sample`` -> a dict; one group (``--group-rm``) -> a list of dicts.

    Scoring (and an LLM judge's blocking HTTP calls) runs in a worker thread, so slime's event
    loop keeps generating while responses are judged.
    """
    if isinstance(sample, list | tuple):
        if not sample:
            return []
        return await asyncio.to_thread(_score_samples, args, list(sample))
    return await asyncio.to_thread(_score_sample, args, sample)


def _groups(args: Any, samples: list[Any]) -> list[list[int]]:
    if samples and all(getattr(s, "group_index", None) is not None for s in samples):
        by: dict[Any, list[int]] = {}
        for i, s in enumerate(samples):
            by.setdefault(s.group_index, []).append(i)
        return list(by.values())
    size = int(getattr(args, "n_samples_per_prompt", 0) or 0)
    if size < 1 or len(samples) % size:
        raise ValueError(
            f"post_process: samples carry no group_index and {len(samples)} samples cannot be cut into "
            f"groups of n_samples_per_prompt={size}"
        )
    return [list(range(s, s + size)) for s in range(0, len(samples), size)]


def _components(sample: Any) -> tuple[float, float, bool]:
    reward = getattr(sample, "reward", None)
    if isinstance(reward, Mapping) and "outcome_reward" in reward and "rubric_reward" in reward:
        if reward.get("judge_error"):
            raise JudgeFailure([str(reward["judge_error"])], f"post_process, {_where(sample)}: ")
        gated = bool(reward.get("gated", False))
        return float(reward["outcome_reward"]), float(reward["rubric_reward"]), gated
    meta = _metadata(sample)  # the authors' fork keeps the components in metadata
    if "outcome_reward" in meta and "rubric_reward" in meta:
        return float(meta["outcome_reward"]), float(meta["rubric_reward"]), _finish_reason(sample) != "stop"
    raise ValueError(
        f"post_process: {_where(sample)} has reward {reward!r}, not the components this post-process "
        "needs: use --custom-rm-path longtracerl.rewards.integrations.slime.reward_func"
    )


def post_process(args: Any, samples: Sequence[Any]) -> tuple[list[float], list[float]]:
    """slime reward post-process: the group step, then slime's advantage normalisation.

    Returns ``(raw_rewards, rewards)``: ``raw_rewards`` are the method's final rewards (group-max
    rubric normalisation, mode and eta as in :func:`reward_func`, gated samples 0);
    ``rewards`` are what slime trains on: for ``--advantage-estimator grpo|gspo|cispo`` with
    reward normalisation on (slime's default), ``(R - mean) / (std + 1e-6)`` per group (mean only
    with ``--disable-grpo-std-normalization``, and for ``reinforce_plus_plus_baseline``/``rloo``);
    otherwise the raw rewards.
    """
    flat = list(samples)
    while flat and isinstance(flat[0], list | tuple):
        flat = list(itertools.chain.from_iterable(flat))
    raw: list[float] = [0.0] * len(flat)
    shaped: list[float] = [0.0] * len(flat)
    estimator = str(getattr(args, "advantage_estimator", "grpo"))
    normalise = bool(getattr(args, "rewards_normalization", True))
    use_std = bool(getattr(args, "grpo_std_normalization", True)) and estimator in _STD_ESTIMATORS
    for idx in _groups(args, flat):
        parts = [_components(flat[i]) for i in idx]
        s = _settings(args, flat[idx[0]])
        combined = combine_group(
            [0.0 if gated else o for o, _, gated in parts],
            [r for _, r, _ in parts],
            mode=s.mode,
            eta=s.eta,
            group_normalise=s.group_normalise,
        )
        group_raw = [0.0 if gated else c for (_, _, gated), c in zip(parts, combined, strict=True)]
        if normalise and use_std:
            group_out = grpo_advantages(group_raw)
        elif normalise and estimator in _STD_ESTIMATORS + _MEAN_ESTIMATORS:
            mean = sum(group_raw) / len(group_raw)
            group_out = [x - mean for x in group_raw]
        else:
            group_out = list(group_raw)
        for i, r, a in zip(idx, group_raw, group_out, strict=True):
            raw[i], shaped[i] = r, a
    return raw, shaped
