"""slime adapter: contract tests with ``args`` and ``Sample`` objects shaped like slime's.

The Sample below copies the fields and the ``Status`` enum of ``slime/utils/types.py`` that the
reward path touches; ``load_function`` is slime's loader (``module.attr`` -> import + getattr);
``async_rm`` / ``batched_async_rm`` / ``_post_process_rewards`` mirror how slime calls the two
hooks (``await rm(args, sample)``, ``await rm(args, group)`` under ``--group-rm``,
``post_process(args, samples)`` on the flattened rollout).
"""

from __future__ import annotations

import asyncio
import importlib
from argparse import Namespace
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import pytest

from longtracerl.rewards.combine import combine_group, grpo_advantages

RUBRICS = ["alpha", "beta", "gamma", "delta", "epsilon"]


@dataclass
class Sample:
    group_index: int | None = None
    index: int | None = None
    prompt: str | list[dict[str, str]] = ""
    tokens: list[int] = field(default_factory=list)
    response: str = ""
    response_length: int = 0
    label: str | None = None
    reward: float | dict[str, Any] | None = None
    loss_mask: list[int] | None = None

    class Status(Enum):
        PENDING = "pending"
        COMPLETED = "completed"
        TRUNCATED = "truncated"
        ABORTED = "aborted"
        FAILED = "failed"

    status: Status = Status.PENDING
    metadata: dict = field(default_factory=dict)

    def get_reward_value(self, args) -> float:
        return self.reward if not args.reward_key else self.reward[args.reward_key]


def load_function(path: str):
    module_path, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module_path), attr)


def slime_args(**over) -> Namespace:
    args = Namespace(
        custom_rm_path="longtracerl.rewards.integrations.slime.reward_func",
        custom_reward_post_process_path="longtracerl.rewards.integrations.slime.post_process",
        group_rm=False,
        reward_key="reward",
        n_samples_per_prompt=8,
        rollout_batch_size=1,
        advantage_estimator="grpo",
        rewards_normalization=True,
        grpo_std_normalization=True,
    )
    for k, v in over.items():
        setattr(args, k, v)
    return args


def make_sample(
    correct: bool, hits: int, *, group=0, index=0, status=Sample.Status.COMPLETED, stop="<|im_end|>"
):
    text = f"reasoning\n</think>\n\n{'Paris' if correct else 'Lyon'}. " + " ".join(RUBRICS[:hits]) + stop
    return Sample(
        group_index=group,
        index=index,
        prompt="<|im_start|>user\n...<|im_end|>\n<|im_start|>assistant\n<think>\n",
        response=text,
        response_length=len(text.split()),
        label="Paris",
        status=status,
        metadata={
            "extra_reward_info": {
                "question": "Capital of France?",
                "rubrics": RUBRICS,
                "dataset_name": "longqa",
            }
        },
    )


def worked_group(group=0) -> list[Sample]:
    o = [1, 1, 1, 0, 0, 1, 0, 0]
    h = [3, 2, 3, 4, 0, 1, 0, 0]
    return [
        make_sample(bool(a), k, group=group, index=8 * group + i)
        for i, (a, k) in enumerate(zip(o, h, strict=True))
    ]


async def async_rm(args, sample):  # slime rm_hub.async_rm with --custom-rm-path
    rm = load_function(args.custom_rm_path)
    return await rm(args, sample)


async def generate_and_rm_group(args, group):  # slime: per sample, or the whole group with --group-rm
    if args.group_rm:
        rewards = await load_function(args.custom_rm_path)(args, group)
        for s, r in zip(group, rewards, strict=False):
            s.reward = r
    else:
        for s, r in zip(group, await asyncio.gather(*(async_rm(args, s) for s in group)), strict=True):
            s.reward = r
    return group


def test_reward_func_single_sample_dict():
    args = slime_args()
    s = make_sample(True, 2)
    out = asyncio.run(async_rm(args, s))
    assert {"reward", "outcome_reward", "rubric_reward", "gated"} <= set(out)
    assert (out["outcome_reward"], out["rubric_reward"], out["gated"]) == (1.0, 0.4, False)
    assert out["reward"] == pytest.approx(0.7 + 0.3 * 0.4)  # per sample, M = 1
    s.reward = out
    assert s.get_reward_value(args) == out["reward"]  # --reward-key reward


@pytest.mark.parametrize(
    ("status", "gated"),
    [
        (Sample.Status.TRUNCATED, True),
        (Sample.Status.ABORTED, True),
        (Sample.Status.FAILED, True),
        (Sample.Status.COMPLETED, False),
    ],
)
def test_status_gates(status, gated):
    out = asyncio.run(async_rm(slime_args(), make_sample(True, 2, status=status)))
    assert out["gated"] is gated
    assert (out["reward"] == 0.0) is gated


def test_wrong_stop_token_in_raw_response_is_gated():
    out = asyncio.run(async_rm(slime_args(), make_sample(True, 2, stop="<|endoftext|>")))
    assert out["gated"] and out["status"] == "ill_formed"


def test_stop_token_stripped_by_skip_special_tokens_still_counts_as_stopped():
    out = asyncio.run(async_rm(slime_args(), make_sample(True, 2, stop="")))
    assert not out["gated"] and out["outcome_reward"] == 1.0


def test_post_process_worked_example_and_grpo():
    args = slime_args(n_samples_per_prompt=8, rollout_batch_size=2)
    samples = asyncio.run(generate_and_rm_group(args, worked_group(0))) + asyncio.run(
        generate_and_rm_group(args, worked_group(1))
    )
    post = load_function(args.custom_reward_post_process_path)
    raw, rewards = post(args, samples)
    expected = [0.925, 0.85, 0.925, 0.0, 0.0, 0.775, 0.0, 0.0]
    assert raw == expected * 2
    assert rewards == pytest.approx(grpo_advantages(expected) * 2)


def test_post_process_groups_by_group_index_not_position():
    args = slime_args(n_samples_per_prompt=8, rollout_batch_size=2)
    a, b = worked_group(0), worked_group(1)
    b[0] = make_sample(True, 5, group=1, index=8)  # group 1 has a bigger max: M = 1
    for s in a + b:
        s.reward = asyncio.run(async_rm(args, s))
    mixed = [x for pair in zip(a, b, strict=True) for x in pair]  # interleaved order
    raw, _ = load_function(args.custom_reward_post_process_path)(args, mixed)
    assert raw[0::2] == [0.925, 0.85, 0.925, 0.0, 0.0, 0.775, 0.0, 0.0]
    assert raw[1::2] == combine_group([1, 1, 1, 0, 0, 1, 0, 0], [1.0, 0.4, 0.6, 0.8, 0, 0.2, 0, 0])


def test_post_process_without_group_index_uses_n_samples_per_prompt():
    args = slime_args(n_samples_per_prompt=4)
    samples = [make_sample(True, 1), make_sample(True, 2), make_sample(False, 5), make_sample(True, 0)]
    samples += [make_sample(True, 4), make_sample(True, 2), make_sample(False, 0), make_sample(False, 0)]
    for s in samples:
        s.group_index = None
        s.reward = asyncio.run(async_rm(args, s))
    raw, _ = load_function(args.custom_reward_post_process_path)(args, samples)
    # group 1: r = [.2, .4, 1, 0] -> M = 1 ; group 2: r = [.8, .4, 0, 0] -> M = .8
    assert raw == pytest.approx([0.76, 0.82, 0.0, 0.7, 1.0, 0.85, 0.0, 0.0])
    with pytest.raises(ValueError, match="n_samples_per_prompt=3"):
        load_function(args.custom_reward_post_process_path)(slime_args(n_samples_per_prompt=3), samples)


def test_post_process_gated_sample_keeps_zero_but_counts_for_the_max():
    args = slime_args(n_samples_per_prompt=2)
    cut = make_sample(True, 5, status=Sample.Status.TRUNCATED)
    ok = make_sample(True, 1)
    for s in (cut, ok):
        s.reward = asyncio.run(async_rm(args, s))
    raw, _ = load_function(args.custom_reward_post_process_path)(args, [cut, ok])
    assert raw == pytest.approx([0.0, 0.7 + 0.3 * (0.2 / 1.0)])


@pytest.mark.parametrize(
    ("over", "kind"),
    [
        ({"grpo_std_normalization": False}, "mean"),
        ({"advantage_estimator": "reinforce_plus_plus_baseline"}, "mean"),
        ({"advantage_estimator": "reinforce_plus_plus"}, "raw"),
        ({"rewards_normalization": False}, "raw"),
    ],
)
def test_post_process_follows_slime_normalisation_flags(over, kind):
    args = slime_args(**over)
    samples = asyncio.run(generate_and_rm_group(args, worked_group()))
    raw, rewards = load_function(args.custom_reward_post_process_path)(args, samples)
    mean = sum(raw) / len(raw)
    want = [x - mean for x in raw] if kind == "mean" else raw
    assert rewards == pytest.approx(want)


def test_group_rm_mode_does_the_group_step_in_the_reward_function():
    args = slime_args(group_rm=True)
    group = asyncio.run(generate_and_rm_group(args, worked_group()))
    assert [s.reward["reward"] for s in group] == [0.925, 0.85, 0.925, 0.0, 0.0, 0.775, 0.0, 0.0]
    # post-process over group-rm rewards gives the same numbers
    raw, _ = load_function(args.custom_reward_post_process_path)(args, group)
    assert raw == [s.reward["reward"] for s in group]


def test_eta_from_extra_reward_info_then_args():
    s = make_sample(True, 5)
    s.metadata["extra_reward_info"]["rubric_reward_ratio"] = 0.0  # the fork's evaluation setting
    assert asyncio.run(async_rm(slime_args(), s))["reward"] == 1.0
    s = make_sample(True, 0)
    assert asyncio.run(async_rm(slime_args(rubric_reward_ratio=0.5), s))["reward"] == 0.5


def test_plain_float_rewards_are_refused_with_a_fix():
    args = slime_args(n_samples_per_prompt=1)
    s = make_sample(True, 1)
    s.reward = 1.0
    with pytest.raises(
        ValueError, match="--custom-rm-path longtracerl.rewards.integrations.slime.reward_func"
    ):
        load_function(args.custom_reward_post_process_path)(args, [s])


def test_missing_question_names_the_sample():
    s = make_sample(True, 1, index=17)
    s.metadata = {"rubrics": RUBRICS}
    with pytest.raises(ValueError, match=r"sample\(index=17.*question"):
        asyncio.run(async_rm(slime_args(), s))


class _BrokenJudge:
    name = "broken"

    def judge(self, question, answer, response, *, aliases=()):
        from longtracerl.rewards.judge import JudgeResult

        return JudgeResult(False, None, None, None, "grader timed out", 3, "llm")


def test_judge_failure_raises_instead_of_zero(monkeypatch):
    from longtracerl.rewards.combine import JudgeFailure
    from longtracerl.rewards.integrations import slime

    monkeypatch.setattr(slime, "make_judge", lambda: _BrokenJudge())
    with pytest.raises(JudgeFailure, match="grader timed out"):
        asyncio.run(async_rm(slime_args(), make_sample(True, 2)))
    with pytest.raises(JudgeFailure, match="group of sample"):
        asyncio.run(generate_and_rm_group(slime_args(group_rm=True), worked_group()))
    samples = worked_group()
    for s in samples:
        s.reward = {"outcome_reward": 0.0, "rubric_reward": 0.2, "judge_error": "grader down"}
    with pytest.raises(JudgeFailure, match="grader down"):
        load_function(slime_args().custom_reward_post_process_path)(slime_args(), samples)


def test_settings_from_row_and_args():
    s = make_sample(True, 0)
    s.response = "alpha beta\n</think>\n\nParis<|im_end|>"  # rubric words only in the reasoning
    assert asyncio.run(async_rm(slime_args(), s))["rubric_reward"] == 0.0
    s.metadata["extra_reward_info"]["rubric_use_reasoning_content"] = True
    assert asyncio.run(async_rm(slime_args(), s))["rubric_reward"] == pytest.approx(0.4)
    s.metadata["extra_reward_info"]["rubric_use_content"] = False
    s.response = "alpha\n</think>\n\nParis beta<|im_end|>"
    assert asyncio.run(async_rm(slime_args(), s))["rubric_reward"] == pytest.approx(0.2)
    w = make_sample(True, 0)
    w.response = "r\n</think>\n\nParis alphabet<|im_end|>"  # 'alpha' inside a longer word
    assert asyncio.run(async_rm(slime_args(), w))["rubric_reward"] == pytest.approx(0.2)
    assert asyncio.run(async_rm(slime_args(longtracerl_word_boundary=True), w))["rubric_reward"] == 0.0
    # without group normalisation post_process uses r' = r: the worked example changes
    samples = asyncio.run(generate_and_rm_group(slime_args(), worked_group()))
    post = load_function(slime_args().custom_reward_post_process_path)
    raw_norm, _ = post(slime_args(), samples)
    raw_plain, _ = post(slime_args(longtracerl_no_group_normalise=True), samples)
    assert raw_norm[:3] == pytest.approx([0.925, 0.85, 0.925])
    assert raw_plain[:3] == pytest.approx([0.7 + 0.3 * 0.6, 0.7 + 0.3 * 0.4, 0.7 + 0.3 * 0.6])
