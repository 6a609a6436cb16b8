"""Small helpers shared by the framework adapters: judge choice, row fields, flat components.

Nothing here scores anything; scoring is :mod:`longtracerl.rewards.combine`. Frameworks hand
rows over in their own shapes (a Parquet row read back as numpy arrays, a JSON string, the
released row's nested ``extra_reward_info``), so the adapters accept all of them here, once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from longtracerl.records import RewardResult
from longtracerl.rewards.combine import SETTING_NAMES, RewardSettings
from longtracerl.rewards.judge import Judge, LLMJudge, RuleJudge

ENV_JUDGE = "LONGTRACERL_JUDGE"  # "rule" (default) or "llm"
ENV_JUDGE_LLM = "LONGTRACERL_JUDGE_LLM"  # chat-model spec, e.g. "openai:MODEL@http://host:port/v1"
ENV_JUDGE_TIMEOUT = "LONGTRACERL_JUDGE_TIMEOUT_S"  # one grader request, seconds (default 60)
ENV_JUDGE_BUDGET = "LONGTRACERL_JUDGE_BUDGET_S"  # hard deadline of one verdict, seconds (default 300)


@lru_cache(maxsize=8)
def _llm_judge(spec: str, timeout_s: float, budget_s: float) -> Judge:
    # one judge (one HTTP client, one verdict cache) per process and spec, not one per sample
    from longtracerl.llm.openai import make_chat_model

    return LLMJudge(
        make_chat_model(spec, timeout_s=timeout_s) if spec.startswith("openai:") else make_chat_model(spec),
        max_total_s=budget_s,
    )


@lru_cache(maxsize=1)
def _rule_judge() -> Judge:
    return RuleJudge()


def make_judge(judge: str | Judge | None = None) -> Judge:
    """A judge from a name or an object.

    - ``"rule"``: :class:`RuleJudge` (offline approximation);
    - ``"llm"``: :class:`LLMJudge` over the chat model named by ``$LONGTRACERL_JUDGE_LLM``
      (default ``"openai:"``: the OpenAI-compatible client, endpoint/model/key from
      ``$LONGTRACERL_BASE_URL`` / ``$LONGTRACERL_MODEL`` / ``$LONGTRACERL_API_KEY``);
    - ``"llm:SPEC"``: the same over the chat-model spec ``SPEC`` (``openai:MODEL@URL``, ...);
    - ``None``: ``$LONGTRACERL_JUDGE`` (default ``"rule"``);
    - any object with a ``judge(question, answer, response, *, aliases=())`` method.

    >>> make_judge("rule").name.startswith("rule")
    True
    """
    if judge is None:
        judge = os.environ.get(ENV_JUDGE, "rule").strip() or "rule"
    if not isinstance(judge, str):
        if not callable(getattr(judge, "judge", None)):
            raise TypeError(f"judge must be 'rule', 'llm', 'llm:SPEC' or a Judge object, got {judge!r}")
        return judge
    name, _, spec = judge.partition(":")
    if name == "rule" and not spec:
        return _rule_judge()
    if name == "llm":
        spec = spec or os.environ.get(ENV_JUDGE_LLM, "openai:")
        return _llm_judge(
            spec,
            float(os.environ.get(ENV_JUDGE_TIMEOUT, "60")),
            float(os.environ.get(ENV_JUDGE_BUDGET, "300")),
        )
    raise ValueError(f"unknown judge '{judge}'. Valid: rule, llm, llm:SPEC (e.g. llm:openai:MODEL@URL)")


def reward_settings(
    settings: RewardSettings | Mapping[str, Any] | None = None, **overrides: Any
) -> RewardSettings:
    """One :class:`RewardSettings` from an object, a mapping (YAML ``reward_kwargs``) or None,
    with keyword overrides (None keeps the value)."""
    if settings is None:
        settings = RewardSettings()
    elif isinstance(settings, Mapping):
        settings = RewardSettings().replace(**settings)
    elif not isinstance(settings, RewardSettings):
        raise TypeError(f"settings must be a RewardSettings or a mapping, got {type(settings).__name__}")
    return settings.replace(**overrides)


def setting_overrides(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The :class:`RewardSettings` fields (``mode=``, ``eta=``, ...) among the keyword arguments a
    framework passes; the others (verl's ``reward_router_address``, ...) are left out."""
    return {k: v for k, v in kwargs.items() if k in SETTING_NAMES}


def as_str_list(value: Any, *, field: str) -> list[str]:
    """A list of strings from a list, tuple, numpy array, JSON list string or None.

    >>> as_str_list('["a", "b"]', field="rubrics"), as_str_list(None, field="rubrics")
    (['a', 'b'], [])
    """
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as err:
                raise ValueError(f"{field}: not a JSON list ({err})") from None
        else:
            return [value]
    if hasattr(value, "tolist"):  # numpy arrays (Parquet list columns read by pandas)
        value = value.tolist()
    if not isinstance(value, list | tuple):
        raise ValueError(f"{field}: expected a list of strings, got {type(value).__name__}")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise ValueError(f"{field}[{i}]: expected a string, got {type(item).__name__}")
        out.append(item)
    return out


def task_fields(info: Mapping[str, Any] | None, *, where: str) -> tuple[str, list[str], list[str]]:
    """(question, rubrics, aliases) of a row's side information.

    Looks at the top level first, then inside ``extra_reward_info`` (the released row layout,
    ``metadata.extra_reward_info``). A missing question is an error; missing rubrics are ``[]``.
    """
    info = info or {}
    if isinstance(info, str):
        try:
            info = json.loads(info)
        except json.JSONDecodeError:
            raise ValueError(f"{where}: expected a mapping or a JSON object, got a plain string") from None
    if not isinstance(info, Mapping):
        raise ValueError(f"{where}: expected a mapping, got {type(info).__name__}")
    nested = info.get("extra_reward_info")
    nested = nested if isinstance(nested, Mapping) else {}

    def pick(key: str) -> Any:
        return info[key] if info.get(key) is not None else nested.get(key)

    question = pick("question")
    if not isinstance(question, str) or not question.strip():
        raise ValueError(f"{where}: field 'question' is missing or empty")
    rubrics = as_str_list(pick("rubrics"), field=f"{where}.rubrics")
    aliases = as_str_list(pick("aliases"), field=f"{where}.aliases")
    return question, rubrics, aliases


def components(result: RewardResult, *, prefix: str = "") -> dict[str, float]:
    """The scalar components of one result (numbers only, the same keys for every result)."""
    return {
        f"{prefix}outcome": float(result.outcome),
        f"{prefix}rubric": float(result.rubric),
        f"{prefix}rubric_normalised": float(result.rubric_normalised),
        f"{prefix}gated": 1.0 if result.gated else 0.0,
        f"{prefix}judge_error": 1.0 if result.judge_error else 0.0,
        f"{prefix}rubric_hits": float(len(result.matched)),
    }


def scalar_monitors(monitors: Mapping[str, Any], *, prefix: str = "") -> dict[str, float]:
    """Flatten :func:`~longtracerl.rewards.combine.batch_monitors` to ``name -> float``.

    None values (a mean over nothing) are left out; nested dicts become ``outer/inner``.
    """
    out: dict[str, float] = {}
    for key, value in monitors.items():
        if isinstance(value, Mapping):
            for sub, v in value.items():
                if isinstance(v, int | float) and not isinstance(v, bool):
                    out[f"{prefix}{key}/{sub}"] = float(v)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[f"{prefix}{key}"] = float(value)
    return out
