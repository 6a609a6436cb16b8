"""TRL adapter: a reward callable for ``trl.GRPOTrainer(reward_funcs=[...])``.

TRL (checked against trl 1.16.0, ``GRPOTrainer._calculate_rewards``) calls every custom reward
function as ``f(prompts=..., completions=..., completion_ids=..., **columns, trainer_state=...,
log_extra=..., log_metric=...)``, where ``columns`` are the dataset's other columns repeated per
completion, and the ``num_generations`` completions of one prompt are consecutive. The callable
built here reshapes that into one :func:`~longtracerl.rewards.combine.score_group` call per
group, so the group-max rubric normalisation of the method happens inside the callable, and
returns one float per completion. TRL then computes its own GRPO advantage from these rewards
(``(R - group mean) / (group std + 1e-4)`` with ``scale_rewards="group"``, sample std), which is
the method's advantage up to the epsilon (the method uses 1e-6).

Logging: each call reports batch monitors through TRL's ``log_metric`` (scalar, averaged per
logging step; e.g. ``longtracerl/outcome_mean``, ``longtracerl/gated_share``,
``longtracerl/rubric_hit_share_wrong``, the reward-hacking signal) and per-completion columns
through ``log_extra`` (outcome, raw rubric, gate status) into TRL's completions table. Outside
TRL (or in addition) pass ``metrics_sink=callable(monitors: dict[str, float], results)``.

No ``trl`` import here: the callable is plain Python, importable without TRL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from longtracerl.records import RewardResult
from longtracerl.rewards.combine import GroupScore, RewardSettings, batch_monitors, score_group
from longtracerl.rewards.integrations._common import as_str_list, make_judge, reward_settings, scalar_monitors
from longtracerl.rewards.judge import Judge

MetricsSink = Callable[[dict[str, float], list[RewardResult]], None]

# monitors that are counts, not rates: left out of the logged scalars
_SKIP_MONITORS = ("n", "n_wrong", "status_counts")


def make_trl_reward(
    judge: str | Judge = "rule",
    *,
    settings: RewardSettings | Mapping[str, Any] | None = None,
    num_generations: int | None = None,
    tokenizer: Any = None,
    max_completion_length: int | None = None,
    name: str = "longtracerl",
    label_key: str = "label",
    question_key: str = "question",
    rubrics_key: str = "rubrics",
    aliases_key: str = "aliases",
    log_columns: bool = True,
    metrics_sink: MetricsSink | None = None,
    max_parallel_groups: int = 4,
    **overrides: Any,
) -> Callable[..., list[float]]:
    """Build the reward callable for ``GRPOTrainer(reward_funcs=[...])``.

    Args:
        judge: ``"rule"``, ``"llm"``, ``"llm:SPEC"`` or a Judge object (see ``_common.make_judge``).
            A verdict the judge could not give raises
            :class:`~longtracerl.rewards.combine.JudgeFailure` out of the callable (the step
            fails; TRL never sees a reward of 0 for an outage).
        settings: a :class:`~longtracerl.rewards.combine.RewardSettings` (or a mapping of its
            fields); ``overrides``, keyword arguments named like its fields (``mode``, ``eta``,
            ``processor``, ``use_content``, ``use_reasoning``, ``word_boundary``,
            ``group_normalise``), change single fields (another name is a ``TypeError``).
        num_generations: the trainer's ``num_generations``. Completions are cut into consecutive
            groups of this size and each group must share one prompt (checked). ``None``: a group
            is a run of consecutive completions with the same prompt.
        tokenizer: the policy's tokenizer. When given, each completion is re-decoded from
            ``completion_ids`` with special tokens kept, so the stop-token rules of docs/method.md#parsing-the-response (wrong
            stop token, special token in content) see what the model emitted; a completion whose
            last id is not EOS/pad is ``truncated``. Without it the text TRL decoded (special
            tokens stripped) is scored and completions are taken as stopped unless
            ``max_completion_length`` tokens were generated.
        max_completion_length: the trainer's limit, used to spot truncation without a tokenizer.
        name: the callable's ``__name__`` (TRL logs ``rewards/<name>/mean``) and metric prefix.
        label_key, question_key, rubrics_key, aliases_key: dataset column names.
        log_columns: also send per-completion columns to TRL's ``log_extra``.
        metrics_sink: called once per batch with the flat monitors and the per-completion results.
        max_parallel_groups: groups scored at once when the judge calls a server.

    Example:
        >>> f = make_trl_reward("rule", num_generations=2)
        >>> f(prompts=["p", "p"], completions=["r\\n</think>\\n\\nParis", "r\\n</think>\\n\\nLyon"],
        ...   label=["Paris", "Paris"], question=["Capital?", "Capital?"], rubrics=[["Paris"], ["Paris"]])
        [1.0, 0.0]
    """
    if num_generations is not None and num_generations < 1:
        raise ValueError(f"num_generations must be >= 1, got {num_generations}")
    the_judge = make_judge(judge)
    the_settings = reward_settings(settings, **overrides)
    stop_ids = _stop_ids(tokenizer)
    think_close = getattr(the_settings.parser, "think_close", "</think>")

    def reward(
        prompts: Sequence[Any],
        completions: Sequence[Any],
        completion_ids: Sequence[Sequence[int]] | None = None,
        log_metric: Callable[[str, float], None] | None = None,
        log_extra: Callable[[str, list], None] | None = None,
        trainer_state: Any = None,
        **columns: Any,
    ) -> list[float]:
        n = len(completions)
        if len(prompts) != n:
            raise ValueError(f"{name}: {len(prompts)} prompts for {n} completions")
        labels = _column(columns, label_key, n, name)
        questions = _column(columns, question_key, n, name)
        rubrics = _column(columns, rubrics_key, n, name, required=False)
        aliases = _column(columns, aliases_key, n, name, required=False)
        if completion_ids is not None and len(completion_ids) != n:
            raise ValueError(f"{name}: {len(completion_ids)} completion_ids for {n} completions")

        texts, finish = [], []
        for i, c in enumerate(completions):
            ids = completion_ids[i] if completion_ids is not None else None
            texts.append(_text(c, ids, tokenizer, think_close))
            finish.append(_finish_reason(ids, stop_ids, tokenizer is not None, max_completion_length))

        groups = _groups(prompts, num_generations, name)

        def one(idx: list[int]) -> GroupScore:
            first = idx[0]
            for i in idx[1:]:
                if labels[i] != labels[first] or questions[i] != questions[first]:
                    raise ValueError(
                        f"{name}: completions {first} and {i} are in one group but have different "
                        f"'{label_key}'/'{question_key}' columns"
                    )
            return score_group(
                [texts[i] for i in idx],
                label=str(labels[first]),
                question=str(questions[first]),
                rubrics=as_str_list(rubrics[first], field=f"{rubrics_key}[{first}]"),
                aliases=as_str_list(aliases[first], field=f"{aliases_key}[{first}]"),
                judge=the_judge,
                settings=the_settings,
                finish_reasons=[finish[i] for i in idx],
            ).raise_on_judge_failure(f"{name}: group of completions {idx[0]}..{idx[-1]}: ")

        concurrent = (getattr(the_judge, "max_concurrency", 1) or 1) > 1
        workers = min(max_parallel_groups, len(groups)) if concurrent else 1
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                scored = list(pool.map(one, groups))
        else:
            scored = [one(idx) for idx in groups]

        results: list[RewardResult] = [None] * n  # type: ignore[list-item]
        for idx, g in zip(groups, scored, strict=True):
            for i, r in zip(idx, g.results, strict=True):
                results[i] = r
        monitors = {k: v for k, v in batch_monitors(results).items() if k not in _SKIP_MONITORS}
        flat = scalar_monitors(monitors, prefix=f"{name}/")
        if log_metric is not None:
            for key, value in flat.items():
                log_metric(key, value)
        if log_extra is not None and log_columns:
            log_extra(f"{name}/outcome", [r.outcome for r in results])
            log_extra(f"{name}/rubric", [r.rubric for r in results])
            log_extra(f"{name}/status", [r.status for r in results])
        if metrics_sink is not None:
            metrics_sink(flat, results)
        return [float(r.reward) for r in results]

    reward.__name__ = name
    reward.__qualname__ = name
    return reward


def _column(columns: Mapping[str, Any], key: str, n: int, name: str, *, required: bool = True) -> list:
    if key not in columns:
        if required:
            have = ", ".join(sorted(columns)) or "none"
            raise KeyError(f"{name}: the dataset has no '{key}' column (columns passed: {have})")
        return [None] * n
    values = list(columns[key])
    if len(values) != n:
        raise ValueError(f"{name}: column '{key}' has {len(values)} values for {n} completions")
    return values


def _groups(prompts: Sequence[Any], size: int | None, name: str) -> list[list[int]]:
    n = len(prompts)
    if size is None:
        groups: list[list[int]] = []
        for i in range(n):
            if groups and prompts[i] == prompts[groups[-1][0]]:
                groups[-1].append(i)
            else:
                groups.append([i])
        return groups
    if n % size:
        raise ValueError(
            f"{name}: {n} completions is not a multiple of num_generations={size}. With several "
            "processes, TRL hands each one a slice of the generation batch; keep whole groups per "
            "process (per_device_train_batch_size a multiple of num_generations)."
        )
    out = [list(range(s, s + size)) for s in range(0, n, size)]
    for idx in out:
        if any(prompts[i] != prompts[idx[0]] for i in idx):
            raise ValueError(
                f"{name}: completions {idx[0]}..{idx[-1]} should share one prompt (num_generations="
                f"{size}). Does num_generations match the trainer's? With several processes, set "
                "per_device_train_batch_size to a multiple of num_generations."
            )
    return out


def _stop_ids(tokenizer: Any) -> frozenset[int]:
    if tokenizer is None:
        return frozenset()
    ids = set()
    for attr in ("eos_token_id", "pad_token_id"):
        value = getattr(tokenizer, attr, None)
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, list | tuple):
            ids.update(v for v in value if isinstance(v, int))
    return frozenset(ids)


def _text(completion: Any, ids: Sequence[int] | None, tokenizer: Any, think_close: str) -> str:
    if tokenizer is not None and ids is not None:
        return tokenizer.decode(list(ids), skip_special_tokens=False)
    if isinstance(completion, str):
        return completion
    # conversational: a list of messages; score the last assistant turn
    if isinstance(completion, Sequence) and completion:
        msg = completion[-1]
        if isinstance(msg, Mapping):
            content = msg.get("content") or ""
            if isinstance(content, list):  # content blocks
                content = "".join(b.get("text", "") for b in content if isinstance(b, Mapping))
            reasoning = msg.get("reasoning_content") or msg.get("thinking")
            return f"{reasoning}\n{think_close}\n\n{content}" if reasoning else str(content)
    raise TypeError(
        f"completion must be a string or a list of chat messages, got {type(completion).__name__}"
    )


def _finish_reason(
    ids: Sequence[int] | None, stop_ids: frozenset[int], have_tokenizer: bool, max_len: int | None
) -> str:
    if ids is None:
        return "stop"
    if have_tokenizer and stop_ids:
        return "stop" if len(ids) and ids[-1] in stop_ids else "length"
    if max_len is not None and len(ids) >= max_len:
        return "length"
    return "stop"
