"""docs/method.md#group-combination: group combination, advantages, gating, monitors, exact numbers."""

from __future__ import annotations

import math
import threading

import pytest

from longtracerl.rewards.combine import (
    batch_monitors,
    combine_group,
    fbeta,
    grpo_advantages,
    longrlvr_reward,
    score_group,
    score_one,
    useful_chunk_ids,
)
from longtracerl.rewards.judge import JudgeResult, RuleJudge

OUTCOMES = [1, 1, 1, 0, 0, 1, 0, 0]
RAW = [0.6, 0.4, 0.6, 0.8, 0, 0.2, 0, 0]


def test_worked_example():
    assert combine_group(OUTCOMES, RAW) == pytest.approx([0.925, 0.85, 0.925, 0, 0, 0.775, 0, 0], abs=1e-12)
    assert combine_group(OUTCOMES, RAW, mode="positive-only", eta=0.3) == [
        0.925,
        0.85,
        0.925,
        0.0,
        0.0,
        0.775,
        0.0,
        0.0,
    ]


@pytest.mark.parametrize(
    "mode, expected",
    [
        # r' = [.75, .5, .75, 1, 0, .25, 0, 0]
        ("negative-only", [1, 1, 1, 0.3, 0, 1, 0, 0]),
        ("mix", [0.925, 0.85, 0.925, 0.3, 0, 0.775, 0, 0]),
        ("outcome-only", [1, 1, 1, 0, 0, 1, 0, 0]),
        # longrlvr: second input is F, not normalised: o + .3F + .7oF
        ("longrlvr", [1 + 0.18 + 0.42, 1 + 0.12 + 0.28, 1.6, 0.24, 0, 1 + 0.06 + 0.14, 0, 0]),
    ],
)
def test_other_modes(mode, expected):
    assert combine_group(OUTCOMES, RAW, mode=mode) == pytest.approx(expected, abs=1e-12)


def test_eta_zero_is_accuracy():
    assert combine_group(OUTCOMES, RAW, eta=0.0) == [1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0]


def test_group_max_zero_and_empty():
    assert combine_group([1, 0], [0, 0]) == [0.7, 0.0]
    assert combine_group([], []) == []
    # the max comes from a wrong answer: correct ones are normalised by it
    assert combine_group([1, 0], [0.5, 1.0]) == pytest.approx([0.85, 0.0])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"outcomes": [1], "rubrics": [0.5, 0.5]}, "1 values but rubrics has 2"),
        ({"outcomes": [2], "rubrics": [0.5]}, r"outcomes\[0\]"),
        ({"outcomes": [1], "rubrics": [float("nan")]}, r"rubrics\[0\]"),
        ({"outcomes": [1], "rubrics": ["x"]}, "not a number"),
        ({"outcomes": [1], "rubrics": [0.5], "mode": "pos"}, "positive-only"),
        ({"outcomes": [1], "rubrics": [0.5], "eta": 1.5}, "eta"),
    ],
)
def test_combine_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        combine_group(**kwargs)


def test_grpo_advantages_exact():
    rewards = [0.925, 0.85, 0.925, 0, 0, 0.775, 0, 0]
    mean = sum(rewards) / 8
    std = math.sqrt(sum((x - mean) ** 2 for x in rewards) / 7)
    assert grpo_advantages(rewards) == pytest.approx([(x - mean) / (std + 1e-6) for x in rewards], rel=1e-12)
    assert grpo_advantages([0.5] * 4) == [0.0] * 4
    assert grpo_advantages([1.0]) == [0.0]
    assert grpo_advantages([]) == []
    assert grpo_advantages([1.0, 0.0]) == pytest.approx(
        [0.5 / (math.sqrt(0.5) + 1e-6), -0.5 / (math.sqrt(0.5) + 1e-6)]
    )


def test_longrlvr_pieces():
    text = "<useful_chunks>[1, 2]</useful_chunks> x <useful_chunks>\n3, 4, 9\n</useful_chunks> answer"
    assert useful_chunk_ids(text) == ["3", "4", "9"]
    assert useful_chunk_ids("no block") is None
    # P = 2/3, R = 2/4 -> F2 = 5 * P * R / (4P + R) = (5/3) / (8/3 + 1/2)
    f = fbeta(["3", "4", "9"], ["3", "4", "5", "6"])
    assert f == pytest.approx((5 * (2 / 3) * 0.5) / (4 * (2 / 3) + 0.5))
    reward, f2 = longrlvr_reward(1.0, text, ["3", "4", "5", "6"], eta=0.3)
    assert f2 == f and reward == pytest.approx(1 + 0.3 * f + 0.7 * f)
    assert longrlvr_reward(0.0, text, ["3", "4", "5", "6"])[0] == pytest.approx(0.3 * f)
    assert fbeta([], ["1"]) == 0.0


# --------------------------------------------------------------------------- score_group


def _resp(content: str, reasoning: str = "Thinking it over.", end: str = "<|im_end|>") -> str:
    return f"{reasoning}\n</think>\n\n{content}{end}"


class CountingJudge:
    name = "counting"

    def __init__(self, inner=None):
        self.inner = inner or RuleJudge()
        self.seen: list[str] = []
        self.lock = threading.Lock()

    def judge(self, question, answer, response, *, aliases=()):
        with self.lock:
            self.seen.append(response)
        return self.inner.judge(question, answer, response, aliases=aliases)


def test_score_group_worked_example_from_raw_responses():
    # five rubrics; raw scores [.6,.4,.6,.8,0,.2,0,0] as in docs/method.md#worked-example
    rubrics = ["alpha", "beta", "gamma", "delta", "epsilon"]
    contents = [
        "Paris. alpha beta gamma",
        "Paris. alpha beta",
        "Paris. gamma delta epsilon",
        "Lyon. alpha beta gamma delta",
        "Lyon.",
        "Paris. alpha",
        "Lyon.",
        "Nice.",
    ]
    judge = CountingJudge()
    g = score_group(
        [_resp(c) for c in contents],
        label="Paris",
        question="Capital of France?",
        rubrics=rubrics,
        judge=judge,
    )
    assert [r.outcome for r in g.results] == OUTCOMES
    assert [r.rubric for r in g.results] == pytest.approx(RAW)
    assert g.rewards == pytest.approx([0.925, 0.85, 0.925, 0, 0, 0.775, 0, 0], abs=1e-12)
    assert g.advantages == pytest.approx(grpo_advantages(g.rewards))
    assert len(judge.seen) == 8
    m = g.monitors
    assert m["n"] == 8 and m["gated_share"] == 0.0
    assert m["outcome_mean"] == 0.5
    assert m["rubric_mean"] == pytest.approx(sum(RAW) / 8)
    assert m["rubric_on_wrong"] == pytest.approx(0.8 / 4)  # wrong: .8, 0, 0, 0
    assert m["rubric_hit_share_wrong"] == 0.25
    assert m["rubric_on_correct"] == pytest.approx((0.6 + 0.4 + 0.6 + 0.2) / 4)
    assert m == batch_monitors(g.results)


def test_gated_responses_are_not_judged_and_score_zero():
    responses = [
        _resp("Paris alpha"),  # ok
        _resp("Paris alpha", end="<|endoftext|>"),  # wrong stop token
        _resp("Paris alpha", end=""),  # unfinished (no stop token, no finish reason)
        "Thinking without end",  # truncated
        _resp("Paris alpha beta"),  # aborted by finish reason
        _resp("Paris </think> alpha beta"),  # two </think>
        _resp("", end="<|im_end|>"),  # empty content
        _resp("Paris alpha beta", reasoning=""),  # empty reasoning
    ]
    finish = [None, None, None, "length", "abort", None, None, None]
    judge = CountingJudge()
    g = score_group(
        responses, label="Paris", question="q", rubrics=["alpha", "beta"], judge=judge, finish_reasons=finish
    )
    assert judge.seen == ["Paris alpha"]  # only the well-formed one reached the judge
    assert [r.status for r in g.results] == [
        "ok",
        "ill_formed",
        "unfinished",
        "truncated",
        "aborted",
        "ill_formed",
        "ill_formed",
        "ill_formed",
    ]
    assert g.rewards[1:] == [0.0] * 7
    # gated responses still count for the group max: max raw rubric is 1.0 (from gated ones)
    assert g.results[0].rubric == 0.5 and g.results[0].rubric_normalised == 0.5
    assert g.rewards[0] == pytest.approx(0.7 + 0.3 * 0.5)
    assert all(r.gated for r in g.results[1:]) and not g.results[0].gated
    m = g.monitors
    assert m["gated_share"] == 7 / 8
    assert m["gated_by_reason"]["wrong_stop_token"] == 1 / 8
    assert m["gated_by_reason"]["truncated"] == 1 / 8
    assert m["status_counts"] == {"ok": 1, "ill_formed": 4, "unfinished": 1, "truncated": 1, "aborted": 1}


def test_negative_only_gated_get_zero():
    g = score_group(
        [_resp("Lyon alpha"), _resp("Lyon alpha", end="")],
        label="Paris",
        question="q",
        rubrics=["alpha"],
        judge=RuleJudge(),
        mode="negative-only",
    )
    assert g.rewards == [0.3, 0.0]


def test_empty_rubric_list():
    g = score_group(
        [_resp("Paris"), _resp("Lyon")], label="Paris", question="q", rubrics=[], judge=RuleJudge()
    )
    assert g.rewards == [0.7, 0.0]
    assert [r.rubric for r in g.results] == [0.0, 0.0]


def test_use_reasoning_and_cjk():
    responses = [_resp("答案是北京", reasoning="想到了清华大学和Peking"), _resp("北京")]
    g = score_group(
        responses,
        label="北京",
        question="中国的首都?",
        rubrics=["清华大学", "北京", "peking"],
        judge=RuleJudge(),
        use_reasoning=True,
    )
    assert [r.rubric for r in g.results] == pytest.approx([1.0, 1 / 3])
    assert [r.outcome for r in g.results] == [1.0, 1.0]
    g2 = score_group(
        responses, label="北京", question="q", rubrics=["清华大学", "北京", "peking"], judge=RuleJudge()
    )
    assert [r.rubric for r in g2.results] == pytest.approx([1 / 3, 1 / 3])


def test_judge_that_raises_never_crashes():
    class Broken:
        name = "broken"

        def judge(self, question, answer, response, *, aliases=()):
            raise RuntimeError("judge exploded")

    g = score_group([_resp("Paris")], label="Paris", question="q", rubrics=["paris"], judge=Broken())
    assert g.rewards == [0.0] and "judge exploded" in g.results[0].judge_error


def test_judge_error_recorded_in_results_and_monitors():
    class Failing:
        name = "failing"

        def judge(self, question, answer, response, *, aliases=()):
            return JudgeResult(False, None, None, None, "judge API error: 500", 3, "llm")

    g = score_group(
        [_resp("Paris alpha"), _resp("x")], label="Paris", question="q", rubrics=["alpha"], judge=Failing()
    )
    assert g.rewards == [0.0, 0.0]
    assert g.results[0].judge_error == "judge API error: 500" and g.results[0].judge_attempts == 3
    assert g.monitors["judge_error_share"] == 1.0


def test_longrlvr_mode_group():
    responses = [
        _resp("<useful_chunks>1, 2</useful_chunks>\nParis"),
        _resp("<useful_chunks>3</useful_chunks>\nLyon"),
        _resp("<useful_chunks>1, 2</useful_chunks>\nParis", end=""),
    ]
    g = score_group(
        responses, label="Paris", question="q", rubrics=["1", "2"], judge=RuleJudge(), mode="longrlvr"
    )
    assert g.rewards == [2.0, 0.0, 0.0]
    assert g.results[0].matched == ["1", "2"]


def test_finish_reasons_length_mismatch():
    with pytest.raises(ValueError, match="finish_reasons"):
        score_group(
            ["a"], label="x", question="q", rubrics=[], judge=RuleJudge(), finish_reasons=[None, None]
        )


def test_score_one():
    r = score_one(
        _resp("Paris alpha"), label="Paris", question="q", rubrics=["alpha", "beta"], judge=RuleJudge()
    )
    assert r.reward == pytest.approx(0.7 + 0.3 * 0.5) and r.advantage is None
    r = score_one(
        _resp("Lyon alpha"),
        label="Paris",
        question="q",
        rubrics=["alpha", "beta"],
        judge=RuleJudge(),
        mode="mix",
    )
    assert r.reward == pytest.approx(0.15)
    r = score_one(
        _resp("Paris", end=""),
        label="Paris",
        question="q",
        rubrics=[],
        judge=RuleJudge(),
        finish_reason="stop",
    )
    assert r.reward == 0.7
    r = score_one("cut", label="Paris", question="q", rubrics=[], judge=RuleJudge(), finish_reason="length")
    assert (r.reward, r.status, r.gated) == (0.0, "truncated", True)


def test_monitors_empty_and_none():
    m = batch_monitors([])
    assert m["n"] == 0 and m["reward_mean"] is None and m["rubric_on_wrong"] is None


def test_one_megabyte_group():
    content = "Paris is the answer. " * 50_000  # ~1 MB
    g = score_group(
        [_resp(content)] * 2, label="Paris", question="q", rubrics=["paris", "lyon"], judge=RuleJudge()
    )
    assert [r.rubric for r in g.results] == [0.5, 0.5]


def test_one_failing_judge_call_does_not_spoil_the_others():
    class Flaky:
        name = "flaky"
        max_concurrency = 4

        def judge(self, question, answer, response, *, aliases=()):
            if "Lyon" in response:
                raise ValueError("bad input for the judge")
            return RuleJudge().judge(question, answer, response, aliases=aliases)

    g = score_group(
        [_resp("Paris"), _resp("Lyon"), _resp("Paris")],
        label="Paris",
        question="q",
        rubrics=[],
        judge=Flaky(),
    )
    assert g.rewards == [0.7, 0.0, 0.7]
    assert "bad input" in g.results[1].judge_error and g.results[0].judge_error is None
