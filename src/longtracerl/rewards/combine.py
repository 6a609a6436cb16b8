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

import dataclasses
import math
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from longtracerl.records import RewardResult
from longtracerl.rewards.judge import Judge, JudgeResult
from longtracerl.rewards.parse import REASONS, ParsedResponse, Processor, get_processor
from longtracerl.rewards.rubric import RubricScore, rubric_score, scored_text

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
    outcomes: Sequence[float],
    rubrics: Sequence[float],
    *,
    mode: str = "positive-only",
    eta: float = 0.3,
    group_normalise: bool = True,
) -> list[float]:
    """Final rewards of one group (see the module table). Inputs must lie in [0, 1].

    ``group_normalise=False`` uses the raw rubric scores (``M`` = 1)."""
    fn, normalised = _mode(mode)
    normalised = normalised and group_normalise
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


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class RewardSettings:
    """How responses become rewards: the one settings object of every path.

    :func:`score_group`, :func:`score_one`, :func:`score_parsed`, ``reward score``, the reward
    server and the TRL/verl/slime adapters all take one of these (or its fields as keyword
    overrides), so a setting cannot reach one path and miss another.

    Fields: ``mode`` (see :data:`MODES`), ``eta`` (rubric weight in [0, 1]), ``processor`` (a
    registry name, ``module:attr`` from trusted config, or a processor object), ``use_content``
    and ``use_reasoning`` (which text the rubric is scored on), ``word_boundary`` (a departure:
    rubrics must match whole tokens), ``group_normalise`` (divide by the group max ``M``; off
    means ``r' = r``, which is what :func:`score_one` always does).

    >>> s = RewardSettings().replace(eta=0.5, mode="mix")
    >>> (s.mode, s.eta, s.processor)
    ('mix', 0.5, 'qwen3-thinking')
    """

    mode: str = "positive-only"
    eta: float = 0.3
    processor: str | Processor = "qwen3-thinking"
    use_content: bool = True
    use_reasoning: bool = False
    word_boundary: bool = False
    group_normalise: bool = True

    def __post_init__(self) -> None:
        _mode(self.mode)
        object.__setattr__(self, "eta", _check_eta(self.eta))
        for name in ("use_content", "use_reasoning", "word_boundary", "group_normalise"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"RewardSettings.{name} must be true or false, got {getattr(self, name)!r}")

    def replace(self, **changes: Any) -> RewardSettings:
        """A copy with some fields changed; ``None`` values keep the current value."""
        unknown = sorted(set(changes) - set(SETTING_NAMES))
        if unknown:
            raise TypeError(f"unknown reward setting(s) {unknown}. Valid: {', '.join(SETTING_NAMES)}")
        changes = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **changes) if changes else self

    @property
    def parser(self) -> Processor:
        """The processor object (a registry name or ``module:attr`` resolved once)."""
        cached = self.__dict__.get("_parser")
        if cached is None:
            cached = get_processor(self.processor)
            object.__setattr__(self, "_parser", cached)
        return cached


SETTING_NAMES = tuple(f.name for f in dataclasses.fields(RewardSettings))
"""The fields of :class:`RewardSettings`: the keyword overrides every scoring path accepts."""


def _settings(settings: RewardSettings | None, overrides: dict[str, Any]) -> RewardSettings:
    return (settings or RewardSettings()).replace(**overrides)


# --------------------------------------------------------------------------- one-call scoring


class JudgeFailure(RuntimeError):
    """Some verdicts could not be obtained (timeout, grader errors, unparseable replies).

    Raised by the framework adapters instead of training on outcome 0; ``errors`` lists the
    ``judge_error`` messages.
    """

    def __init__(self, errors: Sequence[str], where: str = ""):
        self.errors = list(errors)
        super().__init__(
            f"{where}{len(self.errors)} verdict(s) could not be obtained from the judge "
            f"(first: {self.errors[0] if self.errors else '?'}); refusing to score them as wrong answers"
        )


@dataclass
class GroupScore:
    """Scores of one prompt's group: per-response results (with advantages) and monitors.

    A result whose ``judge_error`` is set has no verdict: its ``outcome`` 0 and ``reward`` are
    placeholders, not a judgement (see :attr:`judge_errors`).
    """

    results: list[RewardResult]
    monitors: dict[str, Any] = field(default_factory=dict)

    @property
    def rewards(self) -> list[float]:
        return [r.reward for r in self.results]

    @property
    def advantages(self) -> list[float]:
        return [r.advantage if r.advantage is not None else 0.0 for r in self.results]

    @property
    def judge_errors(self) -> list[str]:
        """The ``judge_error`` of every response whose verdict could not be obtained."""
        return [r.judge_error for r in self.results if r.judge_error]

    def raise_on_judge_failure(self, where: str = "") -> GroupScore:
        """``self``, or :class:`JudgeFailure` when any verdict is missing."""
        if self.judge_errors:
            raise JudgeFailure(self.judge_errors, where)
        return self


@dataclass
class PreparedGroup:
    """A parsed group with its rubric (or F-beta) scores, waiting for verdicts.

    ``to_judge`` holds ``(index, content)`` of the responses that passed the gate. The server
    fills the verdicts asynchronously; :func:`score_parsed` fills them with :meth:`Judge.judge`.
    """

    parsed: list[ParsedResponse]
    rubrics: list[RubricScore]
    settings: RewardSettings

    @property
    def to_judge(self) -> list[tuple[int, str]]:
        return [(i, p.content) for i, p in enumerate(self.parsed) if p.ok]


def prepare_parsed(
    parsed: Sequence[ParsedResponse], rubrics: Sequence[str], settings: RewardSettings
) -> PreparedGroup:
    """Rubric recall (or, in ``longrlvr`` mode, F-beta of cited chunk ids) of each response."""
    if settings.mode == "longrlvr":
        gold = [str(x) for x in rubrics]
        scores = []
        for p in parsed:
            ids = useful_chunk_ids(p.content) or useful_chunk_ids(p.reasoning) or []
            hit = set(ids) & set(gold)
            scores.append(
                RubricScore(
                    fbeta(ids, gold), [g for g in gold if g in hit], [g for g in gold if g not in hit]
                )
            )
        return PreparedGroup(list(parsed), scores, settings)
    text = [
        scored_text(
            p.content, p.reasoning, use_content=settings.use_content, use_reasoning=settings.use_reasoning
        )
        for p in parsed
    ]
    scores = [rubric_score(t, rubrics, word_boundary=settings.word_boundary) for t in text]
    return PreparedGroup(list(parsed), scores, settings)


def finish_group(prepared: PreparedGroup, verdicts: dict[int, JudgeResult]) -> GroupScore:
    """Combine verdicts and rubric scores (the one combination step of every path)."""
    settings = prepared.settings
    fn, normalised = _mode(settings.mode)
    raw = [s.score for s in prepared.rubrics]
    norm = normalise_group(raw) if (settings.group_normalise and normalised) else raw
    results: list[RewardResult] = []
    for i, p in enumerate(prepared.parsed):
        v = verdicts.get(i)
        o = 1.0 if (v is not None and v.correct and not v.error) else 0.0
        results.append(
            RewardResult(
                reward=0.0 if not p.ok else round(fn(o, norm[i], settings.eta), _ROUND),
                outcome=o,
                rubric=raw[i],
                rubric_normalised=norm[i],
                gated=not p.ok,
                gate_reasons=list(p.reasons),
                matched=prepared.rubrics[i].matched,
                missing=prepared.rubrics[i].missing,
                extracted_answer=v.extracted_answer if v else None,
                judge_error=v.error if v else None,
                status=p.status,
                judge_attempts=v.attempts if v else 0,
                judge_method=v.method if v else None,
            )
        )
    for r, a in zip(results, grpo_advantages([r.reward for r in results]), strict=True):
        r.advantage = a
    return GroupScore(results, batch_monitors(results))


def judge_all(
    judge: Judge, items: list[tuple[int, str]], question: str, label: str, aliases: Sequence[str]
) -> dict[int, JudgeResult]:
    """Verdicts for ``(index, content)`` items (blocking; threads when the judge allows several
    at once); a judge that raises gives a recorded failure (``error`` set), never outcome 0."""
    if not items:
        return {}
    workers = min(int(getattr(judge, "max_concurrency", 1) or 1), len(items))

    def one(item: tuple[int, str]) -> tuple[int, JudgeResult]:
        i, content = item
        try:
            return i, judge.judge(question, label, content, aliases=aliases)
        except Exception as err:  # recorded as a judge failure (judge_error), never as outcome 0
            return i, judge_failure(err)

    if workers <= 1:
        return dict(map(one, items))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pool.map(one, items))


def judge_failure(err: BaseException) -> JudgeResult:
    """The result recorded when a judge raised instead of answering."""
    return JudgeResult(False, None, None, None, f"judge raised {type(err).__name__}: {err}", 0, "error")


def score_parsed(
    parsed: Sequence[ParsedResponse],
    *,
    label: str,
    question: str,
    rubrics: Sequence[str],
    judge: Judge,
    settings: RewardSettings | None = None,
    aliases: Sequence[str] = (),
    **overrides: Any,
) -> GroupScore:
    """Score already-parsed responses of one group (see :func:`score_group`)."""
    prepared = prepare_parsed(parsed, rubrics, _settings(settings, overrides))
    return finish_group(prepared, judge_all(judge, prepared.to_judge, question, label, aliases))


def score_group(
    responses: Sequence[str],
    *,
    label: str,
    question: str,
    rubrics: Sequence[str],
    judge: Judge,
    settings: RewardSettings | None = None,
    finish_reasons: Sequence[str | None] | None = None,
    aliases: Sequence[str] = (),
    **overrides: Any,
) -> GroupScore:
    """Score the raw responses of one prompt: parse, gate, judge, rubric, combine, advantages.

    ``settings`` (default :class:`RewardSettings`) says how; keyword ``overrides`` (``mode=``,
    ``eta=``, ``processor=``, ``use_content=``, ``use_reasoning=``, ``word_boundary=``,
    ``group_normalise=``) change single fields. Truncated, aborted, unfinished and ill-formed
    responses get reward 0 and are not judged. ``finish_reasons`` (one per response, e.g.
    ``"stop"``/``"length"``/``"abort"``) tell the parser how generation ended when the framework
    strips the stop token (see :mod:`longtracerl.rewards.parse`). In ``longrlvr`` mode
    ``rubrics`` are the gold chunk ids and the second component is the F-beta of the cited ids.
    A verdict the judge could not give leaves ``judge_error`` set (see :class:`GroupScore`).

    >>> from longtracerl.rewards.judge import RuleJudge
    >>> g = score_group(["r\\n</think>\\n\\nParis<|im_end|>", "r\\n</think>\\n\\nLyon<|im_end|>", "cut"],
    ...     label="Paris", question="Capital of France?", rubrics=["Paris"], judge=RuleJudge(),
    ...     finish_reasons=[None, None, "length"])
    >>> [r.reward for r in g.results], [r.status for r in g.results]
    ([1.0, 0.0, 0.0], ['ok', 'ok', 'truncated'])
    """
    s = _settings(settings, overrides)
    return score_parsed(
        parse_all(responses, finish_reasons, s.parser),
        label=label,
        question=question,
        rubrics=rubrics,
        judge=judge,
        settings=s,
        aliases=aliases,
    )


def parse_all(
    responses: Sequence[str], finish_reasons: Sequence[str | None] | None, processor: Processor
) -> list[ParsedResponse]:
    """Parse a group's raw responses (``finish_reasons`` None, or one per response)."""
    if finish_reasons is not None and len(finish_reasons) != len(responses):
        raise ValueError(f"finish_reasons has {len(finish_reasons)} values for {len(responses)} responses")
    reasons = finish_reasons if finish_reasons is not None else [None] * len(responses)
    return [processor.parse(t, fr) for t, fr in zip(responses, reasons, strict=True)]


def score_one(
    response: str,
    *,
    label: str,
    question: str,
    rubrics: Sequence[str],
    judge: Judge,
    settings: RewardSettings | None = None,
    finish_reason: str | None = None,
    aliases: Sequence[str] = (),
    **overrides: Any,
) -> RewardResult:
    """Score one response alone: no group, so the rubric score is used raw (``M`` = 1) and the
    advantage is None. ``mode="mix"`` gives the authors' per-sample ``/evaluate`` reward."""
    out = score_group(
        [response],
        label=label,
        question=question,
        rubrics=rubrics,
        judge=judge,
        settings=_settings(settings, overrides).replace(group_normalise=False),
        finish_reasons=[finish_reason],
        aliases=aliases,
    ).results[0]
    out.advantage = None
    return out
