"""A model whose window is known (a local model, or --max-context-tokens) gets defaults that fit
it: prompts middle-truncated, max_tokens within the window, and the summary says what was cut."""

from __future__ import annotations

import json

import pytest

from longtracerl.config import ConfigError, load_config
from longtracerl.evals.config import EvalConfig
from longtracerl.evals.runner import format_summary, run_eval
from longtracerl.llm.base import Completion


def test_a_window_without_max_tokens_answers_in_a_quarter_of_it():
    assert EvalConfig(max_context_tokens=8192).max_tokens == 2048
    assert load_config(EvalConfig, overrides={"max_context_tokens": 8192}).max_tokens == 2048
    assert EvalConfig(max_context_tokens=8192, max_tokens=1000).max_tokens == 1000  # given: kept
    assert EvalConfig().max_tokens == 32768  # no window: the paper's budget
    with pytest.raises(ConfigError, match="lower max_tokens"):
        load_config(EvalConfig, overrides={"max_context_tokens": 8192, "max_tokens": 32768})


def test_a_local_model_window_is_fitted_and_the_summary_says_what_was_cut(tmp_path):
    sent = []

    class LocalLike:
        """Stands in for a local model: it knows its window and refuses longer requests."""

        name = "local:tiny"
        max_context = 900

        def complete(self, messages, params=None):
            sent.append((messages[-1]["content"], params.max_tokens))
            return Completion(text="Answer: 1931", finish_reason="stop")

    data = tmp_path / "long.jsonl"
    rows = [
        {"question": "In which year?", "answer": "1931", "context": "Founded in 1931. " + "Filler. " * 2000},
        {"question": "short one?", "answer": "x", "context": "tiny"},
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = EvalConfig(benchmark="aa-lcr", data=str(data), samples=1, tokenizer="smollm2")
    summary = run_eval(cfg, tmp_path / "w", model=LocalLike())
    w = summary["window"]
    assert (w["max_context_tokens"], w["max_tokens"], w["from"]) == (900, 225, "model")
    assert all(max_tokens == 225 for _, max_tokens in sent) and len(sent) == 2
    recs = {json.loads(x)["item_id"]: json.loads(x) for x in (tmp_path / "w" / "samples.jsonl").open()}
    long = recs["aa-lcr-000"]
    assert long["context_truncated"] and long["prompt_tokens"] <= 900 - 225 - 64
    assert (
        long["removed_context_tokens"] > 1000
        and w["removed_context_tokens_max"] == long["removed_context_tokens"]
    )
    assert not recs["aa-lcr-001"]["context_truncated"]
    assert summary["n_context_truncated_items"] == 1
    table = format_summary(summary)
    assert "900 tokens (the model's own), max_tokens 225" in table and "middle of the documents cut" in table
