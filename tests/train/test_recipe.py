import importlib.util
import json

import pytest

from longtracerl.cli import main
from longtracerl.config import ConfigError
from longtracerl.train.config import load_preset
from longtracerl.train.recipe import build_grpo_config, check_batch, grpo_kwargs


def test_gpu_preset_maps_the_paper_recipe(tmp_path):
    cfg = load_preset("gpu-qwen3-4b")
    args = build_grpo_config(cfg, str(tmp_path), portable=True)
    assert args.num_generations == 8
    assert args.generation_batch_size == 128  # 16 prompts x 8 samples
    assert args.steps_per_generation == args.gradient_accumulation_steps == 128
    assert args.num_iterations == 1  # one optimiser step per rollout
    assert (args.epsilon, args.epsilon_high, args.beta) == (0.2, 0.28, 0.0)
    assert args.loss_type == "dapo"
    assert args.learning_rate == 2e-6 and str(args.lr_scheduler_type.value) == "constant"
    assert args.weight_decay == 0.1 and (args.adam_beta1, args.adam_beta2) == (0.9, 0.98)
    assert args.max_grad_norm == 1.0
    assert args.temperature == 1.0 and args.top_p == 1.0
    assert args.max_completion_length == 32000 and args.max_steps == 200
    assert args.use_vllm and args.vllm_importance_sampling_correction
    assert args.vllm_importance_sampling_mode == "token_mask"
    assert (args.vllm_importance_sampling_clip_min, args.vllm_importance_sampling_clip_max) == (0.5, 2.0)
    assert args.vllm_max_model_length == 160000
    assert args.scale_rewards == "group" and not args.mask_truncated_completions
    assert args.entropy_coef == 0.0
    assert grpo_kwargs(cfg, "x")["bf16"] is True  # the GPU run's value (portable only for validation)


def test_batch_that_does_not_divide_fails_with_the_fix():
    cfg = load_preset("cpu-smoke", ["grpo.prompts_per_step=3", "grpo.per_device_train_batch_size=8"])
    with pytest.raises(ConfigError, match=r"per_device_train_batch_size.*Fix"):
        check_batch(cfg)
    cfg2 = load_preset("cpu-smoke", ["grpo.per_device_train_batch_size=2"])
    with pytest.raises(ConfigError, match="multiple of num_generations"):
        check_batch(cfg2, world_size=2)


def test_unknown_key_and_bad_preset():
    with pytest.raises(ConfigError, match="unknown key"):
        load_preset("cpu-smoke", ["grpo.epsilonn=0.1"])
    with pytest.raises(ConfigError, match="not a preset"):
        load_preset("gpu-qwen3-5b")


def test_missing_model_path_fails_before_loading(tmp_path, capsys):
    code = main(
        [
            "train",
            "--preset",
            "cpu-smollm2",
            "--out",
            str(tmp_path / "o"),
            "--set",
            "model.path=/nonexistent/model.gguf",
        ]
    )
    assert code == 2
    assert "model.path" in capsys.readouterr().err
    code = main(
        [
            "train",
            "--preset",
            "gpu-qwen3-4b",
            "--out",
            str(tmp_path / "o"),
            "--set",
            "model.path=./no/such/dir/x",
            "--dry-run",
            "--data",
            "x.jsonl",
        ]
    )
    assert code == 2
    assert "model.path" in capsys.readouterr().err


def test_dry_run_gpu_preset(tmp_path, capsys):
    from longtracerl.train.config import smoke_rows_path

    out = tmp_path / "dry"
    code = main(
        [
            "train",
            "--preset",
            "gpu-qwen3-4b",
            "--data",
            str(smoke_rows_path()),
            "--out",
            str(out),
            "--dry-run",
        ]
    )
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["dry_run"] and summary["generation_batch_size"] == 128
    assert summary["grpo_config"]["epsilon_high"] == 0.28
    # the reward callable ran as TRL calls it: a correct answer (rule judge) gets > 0, a wrong one 0
    probe = summary["probe_rewards"]
    assert len(probe) == 8 and probe[0] > 0 and probe[1] == 0
    assert summary["kept"] == 8
    assert not (out / "model").exists()
    grpo_args = json.loads((out / "grpo_args.json").read_text())
    assert grpo_args["loss_type"] == "dapo"
    # the printed config is the one a GPU run gets (bf16 on), whatever this machine validated
    assert summary["grpo_config"]["bf16"] is True == grpo_args["bf16"]
    # it says what a real run needs, and whether this machine has it
    needs = {n["name"]: n for n in summary["needs"]}
    assert {"CUDA GPU", "vLLM", "flash-attn"} <= set(needs)
    assert needs["vLLM"]["ok"] == (importlib.util.find_spec("vllm") is not None)
    if not all(n["ok"] for n in needs.values()):
        assert summary["a_real_run_needs"]


def test_a_real_gpu_run_without_what_it_needs_stops_before_loading(tmp_path, capsys, monkeypatch):
    from longtracerl.train import needs
    from longtracerl.train.config import smoke_rows_path

    monkeypatch.setattr(needs, "_cuda", lambda: False)
    monkeypatch.setattr(needs.importlib.util, "find_spec", lambda name: None)
    argv = ["train", "--preset", "gpu-qwen3-4b", "--data", str(smoke_rows_path()), "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "CUDA GPU" in err and "vLLM" in err and "flash-attn" in err and "fix:" in err
    assert not (tmp_path / "o" / "grpo_args.json").exists()
