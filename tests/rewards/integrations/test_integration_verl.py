"""verl adapter, called the way verl 0.9.1 calls it (without verl installed: the real verl run is
scripts/check_verl.sh in its own environment).

- reward-loop managers (naive/dapo/gdpo/remote): ``compute_score(data_source=, solution_str=,
  ground_truth=, extra_info=, **reward_kwargs)`` with ``reward_kwargs`` merged by
  ``get_custom_reward_fn`` (and ``reward_router_address``/``reward_model_tokenizer`` when a reward
  model runs); ``extra_info`` also gets ``num_turns`` and ``rollout_reward_scores``;
- legacy ``BatchRewardManager``: ``compute_score(data_sources=, solution_strs=, ground_truths=,
  extra_infos=, **reward_kwargs)``.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from longtracerl.rewards.combine import combine_group
from longtracerl.rewards.integrations import verl as adapter
from tests.helpers.llm_servers import FakeResponse

INFO = {
    "index": 3,
    "split": "train",
    "question": "Which city hosts the tower?",
    "rubrics": ["Eiffel Tower", "France"],
}
KEYS = {"score", "outcome", "rubric", "rubric_normalised", "gated", "judge_error", "rubric_hits", "acc"}


def call_like_naive_manager(fn, solution_str, ground_truth="Paris", extra_info=None, **extra):
    """What NaiveRewardManager.run_single passes (extra_info gets two keys added by verl)."""
    info = dict(INFO if extra_info is None else extra_info)
    info["num_turns"] = None
    info["rollout_reward_scores"] = {}
    return fn(
        data_source="longqa", solution_str=solution_str, ground_truth=ground_truth, extra_info=info, **extra
    )


def merged(fn, **reward_kwargs):
    """verl's get_custom_reward_fn: partial(_call_with_kwargs, fn, reward_kwargs)."""

    def call(*args, **kwargs):
        return fn(*args, **{**kwargs, **reward_kwargs})

    return functools.wraps(fn)(call)


def test_compute_score_components_and_keys():
    d = call_like_naive_manager(adapter.compute_score, "The tower.\n</think>\n\nParis, France.")
    assert set(d) == KEYS
    assert all(isinstance(v, float) for v in d.values())
    assert (d["outcome"], d["rubric"], d["acc"], d["gated"]) == (1.0, 0.5, 1.0, 0.0)
    assert d["score"] == pytest.approx(0.7 + 0.3 * 0.5)  # per sample: M = 1


def test_compute_score_gates_and_wrong_answers():
    wrong = call_like_naive_manager(adapter.compute_score, "x\n</think>\n\nLyon, France, Eiffel Tower")
    assert (wrong["score"], wrong["outcome"], wrong["rubric"]) == (0.0, 0.0, 1.0)
    cut = call_like_naive_manager(adapter.compute_score, "still thinking about the Eiffel Tower")
    assert (cut["score"], cut["gated"]) == (0.0, 1.0)
    # a finish reason from a custom manager: "length" gates even a well-formed answer
    trunc = call_like_naive_manager(adapter.compute_score, "x\n</think>\n\nParis", finish_reason="length")
    assert (trunc["score"], trunc["gated"]) == (0.0, 1.0)


def test_reward_kwargs_from_config_and_extra_verl_kwargs():
    fn = merged(adapter.compute_score, eta=0.5, mode="mix", judge="rule")
    d = call_like_naive_manager(
        fn, "x\n</think>\n\nLyon, France", reward_router_address="127.0.0.1:1", reward_model_tokenizer=None
    )
    assert d["score"] == pytest.approx(0.5 * 0 + 0.5 * 0.5)


def test_nested_extra_reward_info_and_parquet_round_trip(tmp_path):
    nested = {
        "index": 0,
        "extra_reward_info": {"question": "Which city?", "rubrics": ["France"], "dataset_name": "longqa"},
    }
    d = call_like_naive_manager(adapter.compute_score, "x\n</think>\n\nParis, France", extra_info=nested)
    assert (d["score"], d["rubric"]) == (1.0, 1.0)
    # rows written to Parquet and read back with pandas carry numpy arrays, not lists
    path = tmp_path / "rows.parquet"
    pq.write_table(
        pa.Table.from_pylist([{"reward_model": {"ground_truth": "Paris"}, "extra_info": INFO}]), path
    )
    row = pd.read_parquet(path).iloc[0]
    assert isinstance(row["extra_info"]["rubrics"], np.ndarray)
    d = call_like_naive_manager(
        adapter.compute_score,
        "x\n</think>\n\nParis, France",
        row["reward_model"]["ground_truth"],
        row["extra_info"],
    )
    assert (d["outcome"], d["rubric"]) == (1.0, 0.5)


def test_missing_question_is_a_clear_error():
    with pytest.raises(ValueError, match="extra_info: field 'question' is missing"):
        adapter.compute_score("longqa", "x\n</think>\n\nParis", "Paris", {"rubrics": ["a"]})


def test_batch_groups_by_index_in_any_order_and_applies_group_max():
    # two prompts (index 1 and 2), 4 responses each, interleaved in the batch
    texts = {
        1: [
            "a\n</think>\n\nParis, France",
            "a\n</think>\n\nParis",
            "a\n</think>\n\nLyon, Eiffel Tower, France",
            "cut",
        ],
        2: [
            "a\n</think>\n\n1889, Eiffel Tower",
            "a\n</think>\n\n1889",
            "a\n</think>\n\n1925",
            "a\n</think>\n\n1950",
        ],
    }
    labels = {1: "Paris", 2: "1889"}
    order = [(1, 0), (2, 0), (1, 1), (2, 1), (1, 2), (2, 2), (1, 3), (2, 3)]
    infos = [dict(INFO, index=k) for k, _ in order]
    out = adapter.compute_score_batch(
        data_sources=["longqa"] * 8,
        solution_strs=[texts[k][j] for k, j in order],
        ground_truths=[labels[k] for k, _ in order],
        extra_infos=infos,
        group_size=4,
    )
    assert all(set(d) == KEYS for d in out)
    by = {(k, j): d for (k, j), d in zip(order, out, strict=True)}
    # prompt 1: o = [1,1,0,gated], r = [.5,0,1,0] -> M = 1
    assert [by[(1, j)]["score"] for j in range(4)] == combine_group([1, 1, 0, 0], [0.5, 0, 1, 0])
    # prompt 2: r = [.5, 0, 0, 0] -> M = .5: the first gets the full bonus
    assert [by[(2, j)]["score"] for j in range(4)] == pytest.approx([1.0, 0.7, 0.0, 0.0])
    assert by[(1, 3)]["gated"] == 1.0


def test_batch_group_size_and_consistency_checks():
    with pytest.raises(ValueError, match="has 1 rows, expected 2"):
        adapter.compute_score_batch(["s"], ["x\n</think>\n\nParis"], ["Paris"], [INFO], group_size=2)
    with pytest.raises(ValueError, match="differ in ground_truth or question"):
        adapter.compute_score_batch(["s"] * 2, ["a", "b"], ["Paris", "Lyon"], [INFO, INFO])


def test_llm_judge_from_environment(fake_llm_server, monkeypatch):
    fake_llm_server.default = FakeResponse.chat(
        "extracted_final_answer: Paris\nreasoning: same\ncorrect: yes"
    )
    monkeypatch.setenv("LONGTRACERL_JUDGE", "llm")
    monkeypatch.setenv("LONGTRACERL_JUDGE_LLM", f"openai:judge@{fake_llm_server.base_url}")
    d = call_like_naive_manager(adapter.compute_score, "x\n</think>\n\nIt is Paris.")
    assert d["outcome"] == 1.0 and d["judge_error"] == 0.0
    body = fake_llm_server.requests[0].body
    assert body["model"] == "judge"
    prompt = " ".join(m["content"] for m in body["messages"])
    assert "Which city hosts the tower?" in prompt and "It is Paris." in prompt


def test_llm_judge_server_down_raises_not_zero(fake_llm_server):
    from longtracerl.llm.openai import make_chat_model
    from longtracerl.rewards.combine import JudgeFailure
    from longtracerl.rewards.judge import LLMJudge

    fake_llm_server.default = FakeResponse.error(500)
    model = make_chat_model(f"openai:down@{fake_llm_server.base_url}", max_retries=0, backoff_s=0.01)
    fn = merged(adapter.compute_score, judge=LLMJudge(model, backoff_s=0.01))
    with pytest.raises(JudgeFailure, match="HTTP 500"):
        call_like_naive_manager(fn, "x\n</think>\n\nParis")
    assert len(fake_llm_server.requests) == 3  # bounded: 3 attempts, then the failure is raised
    # a gated response is never judged, so an outage cannot fail it
    d = call_like_naive_manager(fn, "no think tag at all")
    assert d["gated"] == 1.0 and d["score"] == 0.0 and len(fake_llm_server.requests) == 3


def test_judge_budget_from_the_environment(monkeypatch):
    from longtracerl.rewards.integrations._common import make_judge

    monkeypatch.setenv("LONGTRACERL_JUDGE_BUDGET_S", "7")
    assert make_judge("llm:openai:grader@http://127.0.0.1:9/v1").max_total_s == 7
    monkeypatch.delenv("LONGTRACERL_JUDGE_BUDGET_S")
    assert make_judge("llm:openai:grader@http://127.0.0.1:9/v1").max_total_s == 300
