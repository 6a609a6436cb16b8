"""The held-out benchmark on the real output of `longtracerl run` (a slice of the embedded corpus)."""

from __future__ import annotations

import json

from longtracerl.assets import asset_path
from longtracerl.cli import main
from longtracerl.evals.config import EvalConfig
from longtracerl.evals.runner import run_eval
from longtracerl.llm.base import Completion
from longtracerl.records import TrainingRow, read_jsonl


def test_heldout_rows_from_a_real_run(tmp_path):
    data = json.loads(asset_path("hotpotqa").read_text(encoding="utf-8"))[:400]
    src = tmp_path / "slice.json"
    src.write_text(json.dumps(data), encoding="utf-8")
    run = tmp_path / "run"
    argv = [
        "run", "--out", str(run), "--num-questions", "12", "--target-tokens", "2048", "--no-progress",
        "--set", f"input={src}", "--set", "walks.hops=4", "--set", "contexts.export.heldout_count=3",
    ]  # fmt: skip
    assert main(argv) == 0
    rows = list(read_jsonl(run / "heldout.jsonl", TrainingRow))
    assert rows
    gold = {r.metadata.extra_reward_info.question: r.label for r in rows}
    seen = []

    class Oracle:  # answers with the gold label of the question it finds at the end of the prompt
        name = "oracle"

        def complete(self, messages, params=None):
            text = messages[-1]["content"]
            seen.append(text)
            q = next(q for q in gold if text.endswith(q))
            return Completion(text=f"Answer: {gold[q]}", finish_reason="stop")

    cfg = EvalConfig(benchmark="heldout", data=str(run / "heldout.jsonl"), samples=1, max_context_tokens=1024,
                     max_tokens=64, tokenizer="smollm2")  # fmt: skip
    summary = run_eval(cfg, tmp_path / "ev", model=Oracle())
    assert summary["n_items"] == len(rows) and summary["avg_at_k"] == 100.0
    # the ~2K-token contexts were middle-truncated to the window, the question kept intact
    assert summary["n_context_truncated_items"] == len(rows)
    assert all("Documents:" in t and "\n\nQuestion: " in t for t in seen)
