"""End to end: AA-LCR items against a REAL OpenAI-compatible server (llama.cpp serving SmolLM2-135M),
middle-truncated to a 1024-token window (kept small: the server
processes prompts at ~30-60 tokens/s on the shared 2-core machine), rule judge, through the CLI."""

from __future__ import annotations

import json

import pytest

from longtracerl.cli import main

pytestmark = pytest.mark.llm_server


def test_aa_lcr_on_real_llama_server(llama_server, tmp_path, capsys):
    out = tmp_path / "aa"
    argv = [
        "eval", "--benchmark", "aa-lcr", "--model", "openai:smollm2", "--base-url", llama_server,
        "--out", str(out), "--limit", "3", "--samples", "1", "--max-context-tokens", "1024",
        "--max-tokens", "32", "--tokenizer", "smollm2", "--judge", "rule", "--concurrency", "2", "--no-progress",
    ]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| avg@1 |" in printed and "| context-truncated items | 3 |" in printed

    lines = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    assert sorted(r["key"] for r in lines) == [f"aa-lcr-00{i}#0" for i in range(3)]
    for r in lines:
        assert r["context_truncated"] and not r["context_overflow"]
        assert r["removed_context_tokens"] > 50_000  # AA-LCR document sets are ~100K tokens
        # the window really held: what the server counted (chat template included) fits 1024 - 32
        assert r["server_prompt_tokens"] <= 1024 - 32
        assert r["prompt_tokens"] <= 1024 - 32 - 64
        assert 0 < r["completion_tokens"] <= 32
        assert r["status"] in ("ok", "truncated") and r["finish_reason"] in ("stop", "length")
        assert (r["status"] == "truncated") == (r["finish_reason"] == "length")
        assert isinstance(r["response"], str) and r["latency_s"] > 0
        assert r["score"] in (0.0, 1.0)
        if r["status"] == "ok":
            assert r["judge"]["approximate"] and r["judge"]["method"].startswith("rule:")
        else:
            assert r["judge"] is None and r["score"] == 0.0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_samples"] == 3 and summary["complete"] and summary["n_context_truncated_items"] == 3
    per_item = {}
    for r in lines:
        per_item.setdefault(r["item_id"], []).append(r["score"])
    expected = round(100 * sum(sum(v) / 1 for v in per_item.values()) / 3, 2)
    assert summary["avg_at_k"] == expected
    assert summary["n_truncated"] == sum(r["status"] == "truncated" for r in lines)
    # a re-run finds everything done and sends nothing
    assert main(argv) == 0
    assert len((out / "samples.jsonl").read_text().splitlines()) == 3
