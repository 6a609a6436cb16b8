"""`longtracerl train-probe`: base solve rate with the training prompts, sampling cut and reward."""

import json

from longtracerl.cli import main
from longtracerl.train.config import load_preset, smoke_rows_path
from longtracerl.train.probe import cut_after_eos
from tests.helpers.llm_servers import FakeResponse


def test_easy_preset_loads_and_validates(tmp_path):
    cfg = load_preset("cpu-smollm2-easy")
    assert cfg.model.source == "gguf" and cfg.reward.judge == "rule"
    assert cfg.reward.mode == "rubric-positive"
    assert cfg.grpo.num_generations * cfg.grpo.prompts_per_step % cfg.grpo.per_device_train_batch_size == 0
    out = tmp_path / "dry"
    code = main(
        [
            "train",
            "--preset",
            "cpu-smollm2-easy",
            "--data",
            str(smoke_rows_path()),
            "--out",
            str(out),
            "--dry-run",
        ]
    )
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["generation_batch_size"] == cfg.grpo.num_generations * cfg.grpo.prompts_per_step
    assert summary["longest_prompt_tokens"] <= cfg.data.max_prompt_tokens
    probe = summary["probe_rewards"]
    assert probe[0] > 0 and probe[1] == 0  # right answer paid, wrong answer 0


def test_cut_after_eos_keeps_the_first_stop():
    assert cut_after_eos([1, 2, 9, 3, 9], [9, 7]) == [1, 2, 9]
    assert cut_after_eos([1, 7], [9, 7]) == [1, 7]
    assert cut_after_eos([], [9]) == []


def test_probe_scores_endpoint_samples_with_the_training_reward(tmp_path, fake_llm_server):
    srv = fake_llm_server
    row = json.loads(smoke_rows_path().read_text().splitlines()[0])
    label = row["label"]
    # 4 samples of one prompt: right, wrong, right but cut by the length limit (gated), empty
    srv.queue(
        FakeResponse.chat(label, finish_reason="stop"),
        FakeResponse.chat("I do not know.", finish_reason="stop"),
        FakeResponse.chat(label, finish_reason="length"),
        FakeResponse.chat("", finish_reason="stop"),
    )
    out = tmp_path / "probe"
    code = main(
        [
            "train-probe", "--preset", "cpu-smoke", "--data", str(smoke_rows_path()), "--out", str(out),
            "--samples", "4", "--max-rows", "1", "--set", "grpo.max_completion_length=32",
            "--endpoint", f"openai:fake@{srv.base_url}",
        ]
    )  # fmt: skip
    assert code == 0
    s = json.loads((out / "probe.json").read_text())
    assert s["prompts"] == 1 and s["samples"] == 4
    assert s["outcome_mean"] == 0.25  # only the stopped right answer is judged correct
    assert s["gated_by_reason"].get("truncated") == 1
    assert s["groups_with_signal"] == 1.0 and s["prompts_with_a_correct_sample"] == 1.0
    line = json.loads((out / "probe.jsonl").read_text().splitlines()[0])
    assert line["rewards"][0] > 0 and line["rewards"][1] == 0 and line["rewards"][2] == 0
    # the sampling settings of the training config reached the server; llama.cpp extras are off
    body = srv.requests[0].body
    assert body["max_tokens"] == 32 and body["temperature"] == 1.0 and body["min_p"] == 0.0


def test_probe_local_sampler_runs_the_training_model(tmp_path):
    out = tmp_path / "local"
    code = main(
        [
            "train-probe", "--preset", "cpu-smoke", "--out", str(out), "--data", str(smoke_rows_path()),
            "--samples", "2", "--max-rows", "2", "--set", "grpo.max_completion_length=4",
        ]
    )  # fmt: skip
    assert code == 0
    s = json.loads((out / "probe.json").read_text())
    assert s["samples"] == 4 and s["sampler"].startswith("local")
    lines = [json.loads(x) for x in (out / "probe.jsonl").read_text().splitlines()]
    assert all(n <= 4 for line in lines for n in line["completion_tokens"])
    # a random model does not stop within 4 tokens: truncated -> gated -> 0
    assert s["gated_share"] == 1.0 and s["reward_mean"] == 0.0


def test_train_report_smooth_draws_a_trailing_mean(tmp_path):
    from longtracerl.train.plot import rolling_mean

    assert rolling_mean([1.0, 0.0, 0.0, 1.0], 3) == [1.0, 0.5, 1 / 3, 1 / 3]
    runs = []
    for name, acc in (("a", [0.0, 0.5, 1.0, 0.5]), ("b", [0.25, 0.25, 0.0, 0.5])):
        d = tmp_path / name
        d.mkdir()
        lines = [
            {"step": i + 1, "reward": a * 0.7, "outcome": a, "rubric": 0.1, "gated_share": 0.0,
             "rubric_hit_rate_wrong": None, "response_length": 20.0}
            for i, a in enumerate(acc)
        ]  # fmt: skip
        (d / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
        runs.append(str(d))
    png = tmp_path / "fig.png"
    assert main(["train-report", *runs, "--smooth", "2", "--out", str(png)]) == 0
    assert png.stat().st_size > 10_000
