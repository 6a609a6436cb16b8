import importlib.util
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from longtracerl.cli import main
from longtracerl.train.config import smoke_rows_path
from longtracerl.train.export import hydra_value, unknown_verl_keys, verl_known_keys

KEYS = Path(__file__).parents[1] / "fixtures" / "verl_0.9.1_ppo_trainer_keys.txt"


def _known():
    return {k for k in KEYS.read_text().splitlines() if k and not k.startswith("#")}


@pytest.fixture
def run_dir(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    lines = smoke_rows_path().read_text().splitlines()
    (run / "rows.jsonl").write_text("\n".join(lines[:6]) + "\n")
    (run / "heldout.jsonl").write_text("\n".join(lines[6:]) + "\n")
    return run


def test_export_verl(run_dir, tmp_path, capsys):
    out = tmp_path / "verl"
    assert main(["export", "verl", "--run", str(run_dir), "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["train_rows"] == 6 and summary["val_rows"] == 2
    over = yaml.safe_load((out / "config.yaml").read_text())
    assert unknown_verl_keys(over, _known()) == []
    assert all(
        k.startswith("+reward.custom_reward_function.reward_kwargs.") for k in over if k.startswith("+")
    )
    assert over["algorithm.adv_estimator"] == "grpo"
    assert over["actor_rollout_ref.actor.clip_ratio_low"] == 0.2
    assert over["actor_rollout_ref.actor.clip_ratio_high"] == 0.28
    assert over["actor_rollout_ref.actor.loss_agg_mode"] == "token-mean"
    assert over["actor_rollout_ref.actor.use_kl_loss"] is False and over["algorithm.kl_ctrl.kl_coef"] == 0.0
    assert over["actor_rollout_ref.actor.entropy_coeff"] == 0
    assert over["actor_rollout_ref.actor.optim.lr"] == 2e-6
    assert over["actor_rollout_ref.rollout.n"] == 8 and over["data.train_batch_size"] == 16
    assert over["actor_rollout_ref.actor.ppo_mini_batch_size"] == 16
    assert (over["data.max_prompt_length"], over["data.max_response_length"]) == (128000, 32000)
    assert over["algorithm.rollout_correction.rollout_is_threshold"] == "0.5_2.0"
    # parquet in verl's layout, readable and with the reward fields
    t = pq.read_table(out / "train.parquet").to_pylist()
    assert len(t) == 6 and t[0]["reward_model"]["ground_truth"] and t[0]["extra_info"]["rubrics"]
    assert t[0]["prompt"][0]["role"] == "user"
    # the reward path is a module path verl imports wherever the package is installed,
    # and its function scores a row
    reward = json.loads((out / "reward.json").read_text())
    path = reward["custom_reward_function.path"]
    assert path == over["reward.custom_reward_function.path"] == "pkg://longtracerl.rewards.integrations.verl"
    mod = importlib.import_module(path.removeprefix("pkg://"))
    fn = getattr(mod, reward["custom_reward_function.name"])
    row = t[0]
    res = fn(
        row["data_source"],
        "r\n</think>\n\n" + row["reward_model"]["ground_truth"],
        row["reward_model"]["ground_truth"],
        row["extra_info"],
        eta=0.3,
        mode="positive-only",
    )
    assert res["outcome"] == 1.0 and res["score"] >= 0.7
    launch = (out / "launch.sh").read_text()
    assert "python3 -m verl.trainer.main_ppo" in launch
    assert "actor_rollout_ref.actor.clip_ratio_high=0.28" in launch
    import shlex

    argv = shlex.split(launch.split("python3 -m verl.trainer.main_ppo", 1)[1].replace("\\\n", " "))
    assert "algorithm.rollout_correction.rollout_is_threshold='0.5_2.0'" in argv
    assert argv[-1] == "$@" and len(argv) == len(over) + 2  # + trainer.default_local_dir=$SAVE_DIR
    assert "data.train_files=$DATA_ROOT/train.parquet" in argv and over["data.train_files"] == "train.parquet"


def test_installed_verl_keys_when_present(run_dir):
    known = verl_known_keys()
    if known is None:
        assert importlib.util.find_spec("verl") is None  # checked against the committed key list instead
    else:
        assert "actor_rollout_ref.actor.clip_ratio_high" in known


def test_export_slime(run_dir, tmp_path, capsys):
    out = tmp_path / "slime"
    assert main(["export", "slime", "--data", str(run_dir / "rows.jsonl"), "--out", str(out)]) == 0
    from longtracerl.records import TrainingRow, read_jsonl

    assert len(list(read_jsonl(out / "train.jsonl", TrainingRow))) == 6
    assert len(list(read_jsonl(out / "eval.jsonl", TrainingRow))) == 2
    reward = json.loads((out / "reward.json").read_text())
    for key in ("--custom-rm-path", "--custom-reward-post-process-path"):
        module, _, attr = reward[key].rpartition(".")
        assert callable(getattr(importlib.import_module(module), attr))
    launch = (out / "launch.sh").read_text()
    for flag in (
        "--rollout-batch-size 16",
        "--n-samples-per-prompt 8",
        "--eps-clip 0.2",
        "--eps-clip-high 0.28",
        "--lr 2e-06",
        "--weight-decay 0.1",
        "--adam-beta2 0.98",
        "--rollout-max-response-len 32000",
        "--custom-rm-path longtracerl.rewards.integrations.slime.reward_func",
        "--reward-key reward",
        "--input-key input_messages",
        "--label-key label",
        "--tis-clip-low 0.5",
        "--tis-clip 2.0",
    ):
        assert flag in launch, flag
    fork = (out / "launch_fork.sh").read_text()
    assert (
        "--rubric-only-positive" in fork
        and "--rubric-reward-ratio 0.3" in fork
        and "--custom-rm-path" not in fork
    )
    src = json.loads((out / "source_config.json").read_text())
    assert src["longqa"]["reward_model"]["kwargs"]["remote_url"].endswith("/evaluate")


def test_export_target_errors(tmp_path, capsys):
    assert main(["export", "verl", "--out", str(tmp_path / "o")]) == 2
    assert "--data" in capsys.readouterr().err
    assert (
        main(["export", "slime", "--data", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o")])
        == 2
    )
    assert "missing.jsonl" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"source": "longqa", "input_messages": [{"role": "user", "content": "c"}], "label": "x", '
        '"metadata": {"extra_reward_info": {"question": "q"}}}\n'
    )
    assert main(["export", "verl", "--data", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl" in err and "rubrics" in err


def test_hydra_values():
    assert hydra_value(False) == "false" and hydra_value(["console"]) == "[console]"


# --------------------------------------------------------------------------- bundles that move


def _stub_bin(tmp_path: Path) -> Path:
    """A ``python3`` first on PATH that records a verl launch and runs everything else for real."""
    import sys

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "python3"
    stub.write_text(
        f"""#!{sys.executable}
import json, os, sys
if sys.argv[1:3] == ["-m", "verl.trainer.main_ppo"]:
    with open(os.environ["ARGV_OUT"], "w") as f:
        json.dump(sys.argv[3:], f)
    sys.exit(0)
os.execv({sys.executable!r}, [{sys.executable!r}, *sys.argv[1:]])
"""
    )
    stub.chmod(0o755)
    return bin_dir


def _launch(script: Path, env: dict[str, str], timeout: float = 60):
    """Run a launch script with ``env`` (and none of our variables from this process)."""
    import os
    import subprocess

    base = {k: v for k, v in os.environ.items() if not k.startswith(("LONGTRACERL_", "SLIME_", "DATA_ROOT"))}
    return subprocess.run(
        ["bash", str(script)], env={**base, **env}, capture_output=True, text=True, timeout=timeout
    )


def test_bundles_copied_elsewhere_validate_and_launch_checks_stop_at_once(run_dir, tmp_path, capsys):
    import shutil

    from longtracerl.train.export import check_bundle
    from tests.helpers.llm_servers import free_port

    for target in ("verl", "slime"):
        made = tmp_path / f"made-{target}"
        # --data takes a run folder as well as a rows file
        assert main(["export", target, "--data", str(run_dir), "--out", str(made)]) == 0
        capsys.readouterr()
        moved = tmp_path / "elsewhere" / target
        shutil.copytree(made, moved)
        shutil.rmtree(made)
        assert check_bundle(moved) == []
        for f in moved.iterdir():
            if f.suffix in (".sh", ".json", ".yaml"):
                assert str(tmp_path) not in f.read_text() and "/src/longtracerl/" not in f.read_text(), f
    verl = tmp_path / "elsewhere" / "verl" / "launch.sh"
    # the judge endpoint is required (judge=llm is the default) and must answer
    # (each launch is bounded by _launch's timeout: a script that waited on a judge would fail it)
    res = _launch(verl, {})
    assert res.returncode != 0 and "LONGTRACERL_JUDGE_LLM" in res.stderr
    dead = f"openai:judge@http://127.0.0.1:{free_port()}/v1"
    res = _launch(verl, {"LONGTRACERL_JUDGE_LLM": dead})
    assert res.returncode != 0 and "does not answer" in res.stderr
    # with the rule judge it reaches verl with data files of the copied bundle
    bin_dir = _stub_bin(tmp_path)
    argv_out = tmp_path / "argv.json"
    env = {"LONGTRACERL_JUDGE": "rule", "PATH": f"{bin_dir}:/usr/bin:/bin", "ARGV_OUT": str(argv_out)}
    res = _launch(verl, env)
    assert res.returncode == 0, res.stderr
    args = dict(a.split("=", 1) for a in json.loads(argv_out.read_text()))
    assert Path(args["data.train_files"]) == verl.parent / "train.parquet"
    assert Path(args["data.val_files"]).is_file()
    assert args["reward.custom_reward_function.path"] == "pkg://longtracerl.rewards.integrations.verl"
    assert args["trainer.default_local_dir"] == str(verl.parent / "checkpoints")
    assert args["actor_rollout_ref.model.path"] == "Qwen/Qwen3-4B-Thinking-2507"
    # slime: the checklist's variables are required, and the parallelism fits 160K-token sequences
    slime = tmp_path / "elsewhere" / "slime" / "launch.sh"
    res = _launch(slime, {"LONGTRACERL_JUDGE": "rule"})
    assert res.returncode != 0 and "SLIME_DIR" in res.stderr
    text = slime.read_text()
    for item in ("HF_CHECKPOINT", "REF_LOAD", "SAVE_DIR", "MODEL_ARGS_FILE", "TP=2", "CP=4", "MAX_TOKENS_PER_GPU=40960"):
        assert item in text, item
    assert 40960 * 4 >= 160000 and "--max-tokens-per-gpu 8192" not in text
    slime_dir = tmp_path / "slime-checkout"
    slime_dir.mkdir()
    (slime_dir / "train.py").write_text(
        "import json, os, sys\njson.dump(sys.argv[1:], open(os.environ['ARGV_OUT'], 'w'))\n"
    )
    (slime_dir / "model.sh").write_text("MODEL_ARGS=(--num-layers 36)\n")
    env = {
        "LONGTRACERL_JUDGE": "rule",
        "ARGV_OUT": str(argv_out),
        "SLIME_DIR": str(slime_dir),
        "HF_CHECKPOINT": "/models/qwen3",
        "REF_LOAD": "/models/qwen3_torch_dist",
        "SAVE_DIR": str(tmp_path / "ckpt"),
        "MODEL_ARGS_FILE": str(slime_dir / "model.sh"),
    }
    res = _launch(slime, env)
    assert res.returncode == 0, res.stderr
    argv = json.loads(argv_out.read_text())
    assert argv[:2] == ["--num-layers", "36"]
    flag = {a: argv[i + 1] for i, a in enumerate(argv[:-1]) if a.startswith("--")}
    assert Path(flag["--prompt-data"]) == slime.parent / "train.jsonl" and Path(flag["--prompt-data"]).is_file()
    assert int(flag["--max-tokens-per-gpu"]) * int(flag["--context-parallel-size"]) >= 160000
    assert flag["--ref-load"] == "/models/qwen3_torch_dist" and flag["--save"] == flag["--load"]
    fork = (slime.parent / "launch_fork.sh").read_text()
    assert "longtracerl serve-reward --port 7248" in fork and "rewards serve" not in fork
