"""A real cpu-smoke GRPO run through the CLI (TRL GRPOTrainer, tiny random Llama, real tokenizer)."""

import json

import pytest

from longtracerl.cli import main
from longtracerl.train.metrics import REQUIRED, read_metrics


@pytest.mark.slow  # a real 2-step GRPO run: about a minute on 2 loaded cores (tests/train/test_train_run.py is the fast twin)
def test_cpu_smoke_end_to_end(tmp_path, capsys):
    out = tmp_path / "smoke"
    code = main(
        ["train", "--preset", "cpu-smoke", "--out", str(out), "--set", "grpo.max_completion_length=8"]
    )
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    # the 8 shipped rows were made for the preset's length: nothing is cut
    assert summary["steps"] == 2 and summary["kept"] == 8 and summary["truncated"] == 0
    rows = read_metrics(out)
    assert [r["step"] for r in rows] == [1, 2]
    for r in rows:
        for key in REQUIRED + ("gated_share", "response_length", "gated_by_reason"):
            assert key in r and r[key] is not None, key
        # the reward callable's log_metric values reached the trainer's logs
        trl = r["trl"]
        assert "longtracerl/outcome_mean" in trl and "longtracerl/rubric_mean" in trl
        assert trl["reward"] == trl["rewards/longtracerl/mean"]
        assert r["response_length"] <= 8
    # a run in which every reward is 0 learnt nothing, and says so
    zero = all(r["reward"] == 0 for r in rows)
    assert ("every logged reward was 0" in summary.get("warning", "")) == zero
    assert (out / "model" / "config.json").exists()
    assert (out / "model" / "model.safetensors").exists()
    stats = json.loads((out / "data_stats.json").read_text())
    assert stats["longest_after"] <= 384 and stats["tokens_removed"] == 0
    # the run drew its curves; train-report draws the same figure again
    assert summary["curves"] == str(out / "train_curves.png")
    assert (out / "train_curves.png").stat().st_size > 10_000
    (out / "train_curves.png").unlink()
    assert main(["train-report", str(out)]) == 0
    assert (out / "train_curves.png").stat().st_size > 10_000
    (out / "train_curves.png").unlink()
    assert main(["report", "--train", str(out)]) == 0  # the same figure through `report`
    assert (out / "train_curves.png").exists()
