"""The local transformers backend (``--model smollm2``) through the CLI (slow: ~1 min on 2 cores)."""

from __future__ import annotations

import json

import pytest

from longtracerl.cli import main


@pytest.mark.slow
def test_local_smollm2_one_aa_lcr_item(tmp_path):
    out = tmp_path / "local"
    argv = [
        "eval", "--benchmark", "aa-lcr", "--model", "smollm2", "--out", str(out), "--limit", "1",
        "--samples", "1", "--max-context-tokens", "1024", "--max-tokens", "16", "--no-progress",
    ]  # fmt: skip
    assert main(argv) == 0
    (rec,) = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    assert rec["context_truncated"] and rec["prompt_tokens"] <= 1024 - 16 - 64
    assert rec["finish_reason"] in ("stop", "length") and rec["response"]
    assert (rec["status"] == "truncated") == (rec["finish_reason"] == "length")
