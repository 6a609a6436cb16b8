"""Group combination of outcome and rubric rewards, GRPO advantages, and one-call scoring (docs/method.md#group-combination).

Pure functions of strings and numbers; no I/O and no globals besides the (thread-safe) judge.

- :func:`combine_group`: the modes of the release over one prompt's group, with the group max
  ``M`` of the raw rubric scores over the whole group (wrong and gated responses included):

  ==============  ===============================================  ======================
  mode            reward                                           note
  ==============  ===============================================  ======================
  positive-only   ``0 if o == 0 else (1 - eta) + eta * r'``        the method (default)
  negative-only   ``o if o > 0 else eta * r'``                     release option
  mix             ``(1 - eta) * o + eta * r'``                     release option
  outcome-only    ``o``                                            RLVR baseline
  longrlvr        ``o + eta * F + (1 - eta) * o * F``              ``rubrics`` are F-beta
  ==============  ===============================================  ======================

  with ``r' = r / M`` when ``M > 0`` (else 0). In ``longrlvr`` mode the second sequence holds the
  per-response F-beta of cited chunk ids (:func:`longrlvr_reward`) and is not group-normalised.
- :func:`grpo_advantages`: ``(R - mean) / (sample std (n - 1) + eps)``.
- :func:`score_group`: parse -> gate -> judge -> rubric -> combine -> advantages -> monitors, for
  the raw responses of one prompt. Gated responses (any parse status but ``ok``) get reward 0
  and are never sent to the judge; their rubric score (on whatever content parsed) still counts
  toward ``M``.
- :func:`score_one`: one response alone (no group; ``M`` is taken as 1).

Worked check (docs/method.md#worked-example):
    >>> combine_group([1, 1, 1, 0, 0, 1, 0, 0], [.6, .4, .6, .8, 0, .2, 0, 0])
    [0.925, 0.85, 0.925, 0.0, 0.0, 0.775, 0.0, 0.0]
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from longtracerl.records import RewardResult
from longtracerl.rewards.judge import Judge, JudgeResult
from longtracerl.rewards.parse import REASONS, ParsedResponse, Processor, get_processor
from longtracerl.rewards.rubric import rubric_score, scored_text

_ROUND = 12  # results are rounded to 12 decimals so 0.7 + 0.3 * 0.75 prints as 0.925


def _positive_only(o: float, r: float, eta: float) -> float:
    return 0.0 if o <= 0 else (1 - eta) + eta * r


def _negative_only(o: float, r: float, eta: float) -> float:
    return o if o > 0 else eta * r


def _mix(o: float, r: float, eta: float) -> float:
    return (1 - eta) * o + eta * r


def _outcome_only(o: float, r: float, eta: float) -> float:
    return o


def _longrlvr(o: float, f: float, eta: float) -> float:
    return o + eta * f + (1 - eta) * o * f


# name -> (combiner, whether the second input is group-max normalised)
MODES: dict[str, tuple[Callable[[float, float, float], float], bool]] = {
    "positive-only": (_positive_only, True),
    "negative-only": (_negative_only, True),
    "mix": (_mix, True),
    "outcome-only": (_outcome_only, True),
    "longrlvr": (_longrlvr, False),
}


def _mode(mode: str) -> tuple[Callable[[float, float, float], float], bool]:
    if mode not in MODES:
        raise ValueError(f"unknown reward mode '{mode}'. Valid: {', '.join(MODES)}")
    return MODES[mode]


def _check_unit(values: Sequence[float], name: str) -> list[float]:
    out = []
    for i, v in enumerate(values):
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"{name}[{i}] = {v!r} is not a number") from None
        if not (0.0 <= x <= 1.0):
            raise ValueError(f"{name}[{i}] = {v!r} is outside [0, 1]")
        out.append(x)
    return out


def _check_eta(eta: float) -> float:
    if not (0.0 <= float(eta) <= 1.0):
        raise ValueError(f"eta = {eta!r} must be in [0, 1]")
    return float(eta)


def normalise_group(rubrics: Sequence[float]) -> list[float]:
    """``r / M`` with ``M`` the group max (0 everywhere when ``M`` is 0)."""
    m = max(rubrics, default=0.0)
    return [r / m if m > 0 else 0.0 for r in rubrics]


def combine_group(
    outcomes: Sequence[float], rubrics: Sequence[float], *, mode: str = "positive-only", eta: float = 0.3
) -> list[float]:
    """Final rewards of one group (see the module table). Inputs must lie in [0, 1]."""
    fn, normalised = _mode(mode)
    eta = _check_eta(eta)
    o = _check_unit(outcomes, "outcomes")
    r = _check_unit(rubrics, "rubrics")
    if len(o) != len(r):
        raise ValueError(f"outcomes has {len(o)} values but rubrics has {len(r)}")
    rr = normalise_group(r) if normalised else r
    return [round(fn(oi, ri, eta), _ROUND) for oi, ri in zip(o, rr, strict=True)]


def grpo_advantages(rewards: Sequence[float], eps: float = 1e-6) -> list[float]:
    """GRPO advantage ``(R - mean) / (std + eps)`` with the sample std (n - 1); 0 for n = 1.

    >>> [round(a, 4) for a in grpo_advantages([1.0, 0.0])]
    [0.7071, -0.7071]
    """
    values = [float(x) for x in rewards]
    n = len(values)
    if n == 0:
        return []
    mean = sum(values) / n
    std = math.sqrt(sum((x - mean) ** 2 for x in values) / (n - 1)) if n > 1 else 0.0
    return [(x - mean) / (std + eps) for x in values]


# --------------------------------------------------------------------------- LongRLVR baseline

_USEFUL_BLOCK = re.compile(r"<useful_chunks>(.*?)</useful_chunks>", re.DOTALL)
_CHUNK_ID = re.compile(r"[A-Za-z0-9_\-\.:]+")


def useful_chunk_ids(text: str) -> list[str] | None:
    """Chunk ids listed in the **last** ``<useful_chunks>...</useful_chunks>`` block (None if absent).

    Ids are separated by commas, spaces, brackets or quotes; duplicates keep their first place.

    >>> useful_chunk_ids("<useful_chunks>1</useful_chunks> ... <useful_chunks>[3, 7, 3]</useful_chunks>")
    ['3', '7']
    """
    blocks = _USEFUL_BLOCK.findall(text)
    if not blocks:
        return None
    seen: dict[str, None] = {}
    for tok in _CHUNK_ID.findall(blocks[-1]):
        seen.setdefault(tok, None)
    return list(seen)


def fbeta(predicted: Sequence[str], gold: Sequence[str], beta: float = 2.0) -> float:
    """F-beta of two id sets (0 when either is empty)."""
    p, g = set(predicted), set(gold)
    tp = len(p & g)
    if not p or not g or tp == 0:
        return 0.0
    precision, recall = tp / len(p), tp / len(g)
    b2 = beta * beta
    return (1 + b2) * precision * recall / (b2 * precision + recall)


def longrlvr_reward(
    outcome: float, response: str, gold_chunk_ids: Sequence[str], *, eta: float = 0.3, beta: float = 2.0
) -> tuple[float, float]:
    """(reward, F) of the LongRLVR baseline: F-beta of the ids in the last ``<useful_chunks>``.

    >>> longrlvr_reward(1.0, "<useful_chunks>1, 2</useful_chunks> answer", ["1", "2"])
    (2.0, 1.0)
    """
    o = _check_unit([outcome], "outcome")[0]
    eta = _check_eta(eta)
    ids = useful_chunk_ids(response) or []
    f = fbeta(ids, [str(x) for x in gold_chunk_ids], beta)
    return round(_longrlvr(o, f, eta), _ROUND), f


# --------------------------------------------------------------------------- monitors


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def batch_monitors(results: Sequence[RewardResult]) -> dict[str, Any]:
    """Per-batch means of each component, gating shares by reason, and the reward-hacking signal.

    ``rubric_on_wrong`` is the mean raw rubric score of judged responses with outcome 0 (rising
    while accuracy stalls = the policy collects entities instead of answering);
    ``rubric_hit_share_wrong`` is the share of those that hit at least one rubric. Values are None
    when no response falls in the group they average over.
    """
    n = len(results)
    judged = [r for r in results if not r.gated]
    wrong = [r for r in judged if r.outcome <= 0]
    right = [r for r in judged if r.outcome > 0]
    by_reason = dict.fromkeys(REASONS, 0)
    by_status: dict[str, int] = {}
    for r in results:
        by_status[r.status] = by_status.get(r.status, 0) + 1
        for reason in r.gate_reasons:
            by_reason[reason] = by_reason.get(reason, 0) + 1
    return {
        "n": n,
        "reward_mean": _mean([r.reward for r in results]),
        "outcome_mean": _mean([r.outcome for r in results]),
        "rubric_mean": _mean([r.rubric for r in results]),
        "rubric_normalised_mean": _mean([r.rubric_normalised for r in results]),
        "accuracy_judged": _mean([r.outcome for r in judged]),
        "gated_share": (n - len(judged)) / n if n else None,
        "gated_by_reason": {k: v / n for k, v in by_reason.items()} if n else {},
        "status_counts": by_status,
        "rubric_on_wrong": _mean([r.rubric for r in wrong]),
        "rubric_hit_share_wrong": _mean([1.0 if r.matched else 0.0 for r in wrong]),
        "rubric_on_correct": _mean([r.rubric for r in right]),
        "judge_error_share": (sum(1 for r in judged if r.judge_error) / len(judged)) if judged else None,
        "n_wrong": len(wrong),
    }


# --------------------------------------------------------------------------- one-call scoring


@dataclass
class GroupScore:
    """Scores of one prompt's group: per-response results (with advantages) and monitors."""

    results: list[RewardResult]
    monitors: dict[str, Any] = field(default_factory=dict)

    @property
    def rewards(self) -> list[float]:
        return [r.reward for r in self.results]

    @property
    def advantages(self) -> list[float]:
        return [r.advantage if r.advantage is not None else 0.0 for r in self.results]


def _judge_all(
    judge: Judge, items: list[tuple[int, str]], question: str, label: str, aliases: Sequence[str]
) -> dict[int, JudgeResult]:
    workers = min(int(getattr(judge, "max_concurrency", 1) or 1), len(items))

    def one(item: tuple[int, str]) -> tuple[int, JudgeResult]:
        i, content = item
        try:
            return i, judge.judge(question, label, content, aliases=aliases)
        except Exception as err:  # a judge must never crash training: record, outcome 0
            return i, _judge_failure(err)

    if workers <= 1:
        return dict(map(one, items))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pool.map(one, items))


def _judge_failure(err: Exception) -> JudgeResult:
    return JudgeResult(False, None, None, None, f"judge raised {type(err).__name__}: {err}", 0, "error")


def score_parsed(
    parsed: Sequence[ParsedResponse],
    *,
    label: str,
    question: str,
    rubrics: Sequence[str],
    judge: Judge,
    mode: str = "positive-only",
    eta: float = 0.3,
    use_content: bool = True,
    use_reasoning: bool = False,
    aliases: Sequence[str] = (),
    group_normalise: bool = True,
    word_boundary: bool = False,
) -> GroupScore:
    """Score already-parsed responses of one group (see :func:`score_group`)."""
    if mode == "longrlvr":
        return _score_longrlvr(
            parsed, label=label, question=question, gold=rubrics, judge=judge, eta=eta, aliases=aliases
        )
    fn, normalised = _mode(mode)
    eta = _check_eta(eta)
    rubric_scores = [
        rubric_score(
            scored_text(p.content, p.reasoning, use_content=use_content, use_reasoning=use_reasoning),
            rubrics,
            word_boundary=word_boundary,
        )
        for p in parsed
    ]
    verdicts = _judge_ok(parsed, judge, question, label, aliases)
    raw = [s.score for s in rubric_scores]
    norm = normalise_group(raw) if (group_normalise and normalised) else raw
    results: list[RewardResult] = []
    for i, p in enumerate(parsed):
        v = verdicts.get(i)
        o = 1.0 if (v is not None and v.correct) else 0.0
        reward = 0.0 if not p.ok else round(fn(o, norm[i], eta), _ROUND)
        results.append(
            _result(
                p,
                v,
                reward=reward,
                outcome=o,
                rubric=raw[i],
                rubric_normalised=norm[i],
                matched=rubric_scores[i].matched,
                missing=rubric_scores[i].missing,
            )
        )
    return _group(results)


def score_group(
    responses: Sequence[str],
    *,
    label: str,
    question: str,
    rubrics: Sequence[str],
    judge: Judge,
    processor: str | Processor = "qwen3-thinking",
    mode: str = "positive-only",
    eta: float = 0.3,
    finish_reasons: Sequence[str | None] | None = None,
    use_reasoning: bool = False,
    use_content: bool = True,
    aliases: Sequence[str] = (),
    word_boundary: bool = False,
) -> GroupScore:
    """Score the raw responses of one prompt: parse, gate, judge, rubric, combine, advantages.

    Truncated, aborted, unfinished and ill-formed responses get reward 0 and are not judged.
    ``finish_reasons`` (one per response, e.g. ``"stop"``/``"length"``/``"abort"``) tell the
    parser how generation ended when the framework strips the stop token (see
    :mod:`longtracerl.rewards.parse`). In ``longrlvr`` mode ``rubrics`` are the gold chunk ids and
    the second component is the F-beta of the cited ids.

    >>> from longtracerl.rewards.judge import RuleJudge
    >>> g = score_group(["r\\n</think>\\n\\nParis<|im_end|>", "r\\n</think>\\n\\nLyon<|im_end|>", "cut"],
    ...     label="Paris", question="Capital of France?", rubrics=["Paris"], judge=RuleJudge(),
    ...     finish_reasons=[None, None, "length"])
    >>> [r.reward for r in g.results], [r.status for r in g.results]
    ([1.0, 0.0, 0.0], ['ok', 'ok', 'truncated'])
    """
    proc = get_processor(processor)
    if finish_reasons is not None and len(finish_reasons) != len(responses):
        raise ValueError(f"finish_reasons has {len(finish_reasons)} values for {len(responses)} responses")
    reasons = finish_reasons if finish_reasons is not None else [None] * len(responses)
    parsed = [proc.parse(t, fr) for t, fr in zip(responses, reasons, strict=True)]
    return score_parsed(
        parsed,
        label=label,
        question=question,
        rubrics=rubrics,
        judge=judge,
        mode=mode,
        eta=eta,
        use_content=use_content,
        use_reasoning=use_reasoning,
        aliases=aliases,
        word_boundary=word_boundary,
    )


def _judge_ok(
    parsed: Sequence[ParsedResponse], judge: Judge, question: str, label: str, aliases: Sequence[str]
) -> dict[int, JudgeResult]:
    """Judge only the responses that passed parsing; a failing judge gives recorded zeros."""
    to_judge = [(i, p.content) for i, p in enumerate(parsed) if p.ok]
    if not to_judge:
        return {}
    try:
        return _judge_all(judge, to_judge, question, label, aliases)
    except Exception as err:  # a judge must never crash training: record and score 0
        return {i: _judge_failure(err) for i, _ in to_judge}


def _result(
    p: ParsedResponse,
    v: JudgeResult | None,
    *,
    reward: float,
    outcome: float,
    rubric: float,
    rubric_normalised: float,
    matched: list[str],
    missing: list[str],
) -> RewardResult:
    return RewardResult(
        reward=reward,
        outcome=outcome,
        rubric=rubric,
        rubric_normalised=rubric_normalised,
        gated=not p.ok,
        gate_reasons=list(p.reasons),
        matched=matched,
        missing=missing,
        extracted_answer=v.extracted_answer if v else None,
        judge_error=v.error if v else None,
        status=p.status,
        judge_attempts=v.attempts if v else 0,
        judge_method=v.method if v else None,
    )


def _group(results: list[RewardResult]) -> GroupScore:
    """Attach GRPO advantages and the batch monitors."""
    for r, a in zip(results, grpo_advantages([r.reward for r in results]), strict=True):
        r.advantage = a
    return GroupScore(results, batch_monitors(results))


def _score_longrlvr(
    parsed: Sequence[ParsedResponse],
    *,
    label: str,
    question: str,
    gold: Sequence[str],
    judge: Judge,
    eta: float,
    aliases: Sequence[str],
) -> GroupScore:
    eta = _check_eta(eta)
    verdicts = _judge_ok(parsed, judge, question, label, aliases)
    results = []
    for i, p in enumerate(parsed):
        v = verdicts.get(i)
        o = 1.0 if (v is not None and v.correct) else 0.0
        ids = useful_chunk_ids(p.content) or useful_chunk_ids(p.reasoning) or []
        f = fbeta(ids, [str(x) for x in gold])
        hit = set(ids) & {str(x) for x in gold}
        results.append(
            _result(
                p,
                v,
                reward=0.0 if not p.ok else round(_longrlvr(o, f, eta), _ROUND),
                outcome=o,
                rubric=f,
                rubric_normalised=f,
                matched=[str(x) for x in gold if str(x) in hit],
                missing=[str(x) for x in gold if str(x) not in hit],
            )
        )
    return _group(results)


def score_one(
    response: str,
    *,
    label: str,
    question: str,
    rubrics: Sequence[str],
    judge: Judge,
    processor: str | Processor = "qwen3-thinking",
    mode: str = "positive-only",
    eta: float = 0.3,
    finish_reason: str | None = None,
    use_reasoning: bool = False,
    use_content: bool = True,
    aliases: Sequence[str] = (),
) -> RewardResult:
    """Score one response alone: no group, so the rubric score is used raw (``M`` = 1) and the
    advantage is None. ``mode="mix"`` gives the authors' per-sample ``/evaluate`` reward."""
    proc = get_processor(processor)
    parsed = proc.parse(response, finish_reason)
    res = score_parsed(
        [parsed],
        label=label,
        question=question,
        rubrics=rubrics,
        judge=judge,
        mode=mode,
        eta=eta,
        use_content=use_content,
        use_reasoning=use_reasoning,
        aliases=aliases,
        group_normalise=False,
    )
    out = res.results[0]
    out.advantage = None
    return out
