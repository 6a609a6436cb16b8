"""Trainer bundles for multi-GPU / multi-node training: ``longtracerl export verl|slime``.

We drive verl and slime; we do not vendor them. Each bundle holds the data in the framework's
layout, the import paths of our reward hooks (``longtracerl.rewards.integrations``), a config with
the paper's recipe (docs/method.md#training-recipe) in the framework's option names, and a ``launch.sh``.

verl (checked against verl 0.9.1's ``verl/trainer/config/_generated_ppo_trainer.yaml``; the
dotted keys are in ``tests/fixtures/verl_0.9.1_ppo_trainer_keys.txt`` and a test checks every
override against them; when verl is installed its own YAML is checked too):

- ``DIR/train.parquet``, ``DIR/val.parquet``: verl's RLHF layout (``data_source``, ``prompt``,
  ``ability``, ``reward_model.ground_truth``, ``extra_info`` with ``index``, ``question``,
  ``rubrics``), written from the released-format rows;
- ``DIR/reward.json``: ``custom_reward_function.path`` (the file of
  ``longtracerl/rewards/integrations/verl.py`` in the installed package) and ``name``;
- ``DIR/config.yaml``: the Hydra overrides as a flat ``key: value`` mapping;
- ``DIR/launch.sh``: ``python -m verl.trainer.main_ppo`` with those overrides.

slime (flags checked against THUDM/slime's ``arguments.py`` and the authors' training script
THU-KEG/LongTraceRL ``scripts/train/train-qwen3-4B-2507.sh``):

- ``DIR/train.jsonl``, ``DIR/eval.jsonl``: the released format (validated line by line);
- ``DIR/reward.json``: ``--custom-rm-path`` / ``--custom-reward-post-process-path`` values;
- ``DIR/source_config.json``: for the authors' slime fork (``--source-config-path``), routing
  source ``longqa`` to the Qwen3 message processor and ``remote_rm`` at ``longtracerl rewards
  serve``'s ``/evaluate``;
- ``DIR/launch.sh`` (upstream slime with our reward hooks) and ``DIR/launch_fork.sh`` (the
  authors' fork with its own rubric flags and our reward server).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from longtracerl.config import ConfigError
from longtracerl.records import TrainingRow, atomic_write_text, read_jsonl

VERL_REWARD_MODULE = "longtracerl.rewards.integrations.verl"
SLIME_REWARD_FUNC = "longtracerl.rewards.integrations.slime.reward_func"
SLIME_POST_PROCESS = "longtracerl.rewards.integrations.slime.post_process"
DEFAULT_MODEL = "Qwen/Qwen3-4B-Thinking-2507"
QWEN3_STOP_IDS = (151643, 151645)  # <|endoftext|>, <|im_end|>

# the paper's recipe (docs/method.md#training-recipe), one place for both bundles
RECIPE = {
    "prompts_per_step": 16,
    "n": 8,
    "steps": 200,
    "lr": 2e-6,
    "weight_decay": 0.1,
    "betas": [0.9, 0.98],
    "grad_clip": 1.0,
    "clip_low": 0.2,
    "clip_high": 0.28,
    "max_prompt": 128000,
    "max_response": 32000,
    "max_context": 160000,
    "eta": 0.3,
    "icepop": [0.5, 2.0],
    "temperature": 1.0,
    "top_p": 1.0,
}


def module_file(module: str) -> Path:
    """File of a module of this package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        raise ConfigError(f"cannot locate module {module}")
    return Path(spec.origin).resolve()


def _rows_paths(args: Any) -> tuple[Path, Path | None]:
    if args.data:
        train = Path(args.data)
        held = train.with_name("heldout.jsonl")
    elif args.run:
        train = Path(args.run) / "rows.jsonl"
        held = Path(args.run) / "heldout.jsonl"
    else:
        raise ConfigError("export TARGET: give --data ROWS (released-format rows) or --run RUN")
    if not train.exists():
        raise FileNotFoundError(
            f"{train}: rows not found (run `longtracerl run` / `longtracerl export --run RUN`)"
        )
    return train, (held if held.exists() and held != train else None)


def _read_rows(path: Path) -> list[TrainingRow]:
    rows = list(read_jsonl(path, TrainingRow))
    if not rows:
        raise ConfigError(f"{path}: no rows")
    return rows


def _verl_records(rows: list[TrainingRow], split: str) -> list[dict[str, Any]]:
    out = []
    for i, row in enumerate(rows):
        info = row.metadata.extra_reward_info
        prov = dict((row.metadata.model_extra or {}).get("provenance") or {})
        out.append(
            {
                "data_source": row.source,
                "prompt": [m.model_dump() for m in row.input_messages],
                "ability": "long-context-qa",
                "reward_model": {"style": "rule", "ground_truth": row.label},
                "extra_info": {
                    "index": i,
                    "split": split,
                    "question_id": str(prov.get("question_id", "")),
                    "question": info.question,
                    "rubrics": list(info.rubrics),
                    "strategy": str(prov.get("strategy", "")),
                    "total_tokens": int(prov.get("total_tokens", -1) or -1),
                    "tokenizer": str(prov.get("tokenizer", "")),
                    "provenance": json.dumps(prov, ensure_ascii=False, sort_keys=True),
                },
            }
        )
    return out


def _write_parquet(records: list[dict[str, Any]], path: Path) -> None:
    import pyarrow.parquet as pq

    from longtracerl.contexts.export import verl_table

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(verl_table(records), str(tmp))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def verl_overrides(
    train_files: str,
    val_files: str,
    reward_path: str,
    *,
    model: str = DEFAULT_MODEL,
    nnodes: int = 4,
    gpus_per_node: int = 8,
    eta: float = RECIPE["eta"],
    mode: str = "positive-only",
    experiment: str = "longtracerl-grpo",
    has_val: bool = True,
) -> dict[str, Any]:
    """verl 0.9.1 Hydra overrides (dotted key -> value) for the paper's recipe. Keys starting with
    ``+`` are additions verl's schema does not declare (reward kwargs)."""
    r = RECIPE
    return {
        # data: 16 prompts per step; prompts over 128K dropped (verl filters, it does not cut documents)
        "data.train_files": train_files,
        "data.val_files": val_files,
        "data.prompt_key": "prompt",
        "data.max_prompt_length": r["max_prompt"],
        "data.max_response_length": r["max_response"],
        "data.train_batch_size": r["prompts_per_step"],
        "data.filter_overlong_prompts": True,
        "data.truncation": "error",
        # GRPO, no KL, std-normalised group advantage
        "algorithm.adv_estimator": "grpo",
        "algorithm.norm_adv_by_std_in_grpo": True,
        "algorithm.use_kl_in_reward": False,
        "algorithm.kl_ctrl.kl_coef": 0.0,
        # IcePop: token-level IS weights zeroed outside [0.5, 2]
        "algorithm.rollout_correction.rollout_is": "token",
        "algorithm.rollout_correction.rollout_is_threshold": f"{r['icepop'][0]}_{r['icepop'][1]}",
        # model and actor
        "actor_rollout_ref.model.path": model,
        "actor_rollout_ref.model.enable_gradient_checkpointing": True,
        "actor_rollout_ref.actor.optim.lr": r["lr"],
        "actor_rollout_ref.actor.optim.lr_scheduler_type": "constant",
        "actor_rollout_ref.actor.optim.lr_warmup_steps": 0,
        "actor_rollout_ref.actor.optim.weight_decay": r["weight_decay"],
        "actor_rollout_ref.actor.optim.betas": list(r["betas"]),
        "actor_rollout_ref.actor.optim.clip_grad": r["grad_clip"],
        "actor_rollout_ref.actor.ppo_mini_batch_size": r[
            "prompts_per_step"
        ],  # one optimiser step per rollout
        "actor_rollout_ref.actor.ppo_epochs": 1,
        "actor_rollout_ref.actor.clip_ratio_low": r["clip_low"],
        "actor_rollout_ref.actor.clip_ratio_high": r["clip_high"],
        "actor_rollout_ref.actor.loss_agg_mode": "token-mean",
        "actor_rollout_ref.actor.use_kl_loss": False,
        "actor_rollout_ref.actor.kl_loss_coef": 0.0,
        "actor_rollout_ref.actor.entropy_coeff": 0,
        # memory knobs for 160K-token sequences (not part of the recipe; tune to the cluster)
        "actor_rollout_ref.actor.use_dynamic_bsz": True,
        "actor_rollout_ref.actor.ppo_max_token_len_per_gpu": r["max_context"],
        "actor_rollout_ref.actor.ulysses_sequence_parallel_size": 4,
        # rollout: vLLM, n = 8, temperature 1, top-p 1
        "actor_rollout_ref.rollout.name": "vllm",
        "actor_rollout_ref.rollout.n": r["n"],
        "actor_rollout_ref.rollout.temperature": r["temperature"],
        "actor_rollout_ref.rollout.top_p": r["top_p"],
        "actor_rollout_ref.rollout.top_k": -1,
        "actor_rollout_ref.rollout.max_model_len": r["max_context"],
        "actor_rollout_ref.rollout.tensor_model_parallel_size": 8,
        "actor_rollout_ref.rollout.gpu_memory_utilization": 0.7,
        "actor_rollout_ref.rollout.calculate_log_probs": True,
        # reward: our verl adapter (per-sample, M = 1: see docs/adapters.md)
        "reward.reward_manager.name": "naive",
        "reward.custom_reward_function.path": reward_path,
        "reward.custom_reward_function.name": "compute_score",
        "+reward.custom_reward_function.reward_kwargs.eta": eta,
        "+reward.custom_reward_function.reward_kwargs.mode": mode,
        # trainer
        "trainer.total_training_steps": r["steps"],
        "trainer.nnodes": nnodes,
        "trainer.n_gpus_per_node": gpus_per_node,
        "trainer.save_freq": 20,
        "trainer.test_freq": 20 if has_val else -1,
        "trainer.val_before_train": has_val,
        "trainer.logger": ["console"],
        "trainer.project_name": "longtracerl",
        "trainer.experiment_name": experiment,
    }


def hydra_value(v: Any) -> str:
    """A value in Hydra override syntax.

    >>> hydra_value(True), hydra_value([0.9, 0.98]), hydra_value("0.5_2.0"), hydra_value(2e-6)
    ('true', '[0.9,0.98]', "'0.5_2.0'", '2e-06')
    """
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ",".join(hydra_value(x) if not isinstance(x, str) else x for x in v) + "]"
    if isinstance(v, str):
        # quote strings Hydra would otherwise read as numbers or that hold special characters
        return f"'{v}'" if re.fullmatch(r"[0-9._eE+-]+", v) else v
    return repr(v) if isinstance(v, float) else str(v)


def verl_known_keys() -> set[str] | None:
    """Dotted keys of the installed verl's flattened ppo_trainer config (None: verl not installed)."""
    spec = importlib.util.find_spec("verl")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(list(spec.submodule_search_locations)[0]) / "trainer" / "config" / "_generated_ppo_trainer.yaml"
    if not p.exists():
        return None
    return flatten_keys(yaml.safe_load(p.read_text(encoding="utf-8")))


def flatten_keys(tree: Any, prefix: str = "") -> set[str]:
    out: set[str] = set()
    if isinstance(tree, dict):
        for k, v in tree.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            out.add(key)
            out |= flatten_keys(v, key)
    return out


def unknown_verl_keys(overrides: dict[str, Any], known: set[str]) -> list[str]:
    return sorted(k for k in overrides if not k.startswith("+") and k not in known)


def _launch(lines: list[str], header: str) -> str:
    body = " \\\n  ".join([*lines, '"$@"'])
    return f'#!/usr/bin/env bash\n{header}\nset -euo pipefail\ncd "$(dirname "$0")"\n\n{body}\n'


def export_verl(args: Any) -> dict[str, Any]:
    train_path, held_path = _rows_paths(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = _read_rows(train_path)
    _write_parquet(_verl_records(rows, "train"), out / "train.parquet")
    held = _read_rows(held_path) if held_path else []
    has_val = bool(held)
    if has_val:
        _write_parquet(_verl_records(held, "heldout"), out / "val.parquet")
    reward_file = str(module_file(VERL_REWARD_MODULE))
    over = verl_overrides(
        str((out / "train.parquet").resolve()),
        str((out / ("val.parquet" if has_val else "train.parquet")).resolve()),
        reward_file,
        model=args.model or DEFAULT_MODEL,
        nnodes=args.nnodes,
        gpus_per_node=args.gpus_per_node,
        eta=args.rubric_weight,
        mode=args.reward_mode,
        has_val=has_val,
    )
    known = verl_known_keys()
    unknown = unknown_verl_keys(over, known) if known is not None else None
    if unknown:
        raise ConfigError(f"verl overrides not in the installed verl's ppo_trainer config: {unknown}")
    reward = {
        "custom_reward_function.path": reward_file,
        "custom_reward_function.name": "compute_score",
        "pkg_path": f"pkg://{VERL_REWARD_MODULE}",
        "batch_function": "compute_score_batch",
        "scalar_function": "compute_score_scalar",
    }
    atomic_write_text(out / "reward.json", json.dumps(reward, indent=2) + "\n")
    atomic_write_text(
        out / "config.yaml",
        "# verl 0.9.1 Hydra overrides for `python -m verl.trainer.main_ppo` (the paper's recipe, docs/method.md#training-recipe).\n"
        "# See docs/training.md for the mapping; launch.sh passes exactly these.\n"
        + yaml.safe_dump(over, sort_keys=False),
    )
    lines = ["python3 -m verl.trainer.main_ppo"] + [
        shlex.quote(f"{k}={hydra_value(v)}") for k, v in over.items()
    ]
    header = (
        "# verl 0.9.1: GRPO with the LongTraceRL reward (generated by `longtracerl export verl`).\n"
        "# Start Ray on every node first (ray start --head / --address=HEAD:6379). Judge:\n"
        "#   export LONGTRACERL_JUDGE=llm LONGTRACERL_JUDGE_LLM=openai:MODEL@http://JUDGE:8000/v1\n"
        ': "${LONGTRACERL_JUDGE:=llm}"; export LONGTRACERL_JUDGE'
    )
    atomic_write_text(out / "launch.sh", _launch(lines, header))
    os.chmod(out / "launch.sh", 0o755)
    summary = {
        "target": "verl",
        "out": str(out),
        "train_rows": len(rows),
        "val_rows": len(held),
        "overrides": len(over),
        "checked_against_installed_verl": known is not None,
        "reward_path": reward_file,
    }
    atomic_write_text(out / "export.json", json.dumps(summary, indent=2) + "\n")
    return summary


def slime_flags(
    train: str, eval_: str | None, model_hf: str, *, eta: float, mode: str, nodes: int, gpus: int
) -> list[str]:
    """Upstream slime flags (our reward hooks) reproducing the released recipe."""
    r = RECIPE
    flags = [
        f"--hf-checkpoint {model_hf}",
        f"--prompt-data {train}",
        "--input-key input_messages",
        "--label-key label",
        "--metadata-key metadata",
        "--apply-chat-template",
        "--rollout-shuffle",
        f"--rollout-batch-size {r['prompts_per_step']}",
        f"--n-samples-per-prompt {r['n']}",
        f"--global-batch-size {r['prompts_per_step'] * r['n']}",
        f"--num-rollout {r['steps']}",
        f"--rollout-max-context-len {r['max_context']}",
        f"--rollout-max-response-len {r['max_response']}",
        f"--rollout-temperature {r['temperature']}",
        f"--rollout-top-p {r['top_p']}",
        "--rollout-stop-token-ids " + " ".join(str(i) for i in QWEN3_STOP_IDS),
        f"--custom-rm-path {SLIME_REWARD_FUNC}",
        f"--custom-reward-post-process-path {SLIME_POST_PROCESS}",
        "--reward-key reward",
        "--eval-reward-key outcome_reward",
        "--advantage-estimator grpo",
        "--kl-loss-coef 0.00",
        "--kl-coef 0.00",
        "--entropy-coef 0.00",
        f"--eps-clip {r['clip_low']}",
        f"--eps-clip-high {r['clip_high']}",
        "--calculate-per-token-loss",
        "--use-tis",
        f"--tis-clip-low {r['icepop'][0]}",
        f"--tis-clip {r['icepop'][1]}",
        f"--lr {r['lr']}",
        "--lr-warmup-iters 0",
        "--lr-decay-style constant",
        f"--weight-decay {r['weight_decay']}",
        f"--adam-beta1 {r['betas'][0]}",
        f"--adam-beta2 {r['betas'][1]}",
        f"--clip-grad {r['grad_clip']}",
        "--micro-batch-size 1",
        "--use-dynamic-batch-size",
        "--max-tokens-per-gpu 8192",
        f"--actor-num-nodes {nodes}",
        f"--actor-num-gpus-per-node {gpus}",
        f"--rollout-num-gpus {nodes * gpus}",
        "--rollout-num-gpus-per-engine 8",
        "--colocate",
    ]
    if eval_:
        flags += [
            f"--eval-prompt-data longqa-heldout {eval_}",
            "--eval-input-key input_messages",
            "--eval-label-key label",
            "--eval-interval 20",
        ]
    return flags


def export_slime(args: Any) -> dict[str, Any]:
    train_path, held_path = _rows_paths(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = _read_rows(train_path)
    atomic_write_text(out / "train.jsonl", "".join(r.model_dump_json() + "\n" for r in rows))
    held = _read_rows(held_path) if held_path else []
    if held:
        atomic_write_text(out / "eval.jsonl", "".join(r.model_dump_json() + "\n" for r in held))
    eta, mode = args.rubric_weight, args.reward_mode
    reward = {
        "--custom-rm-path": SLIME_REWARD_FUNC,
        "--custom-reward-post-process-path": SLIME_POST_PROCESS,
        "reward_func_file": str(module_file("longtracerl.rewards.integrations.slime")),
        "env": {
            "LONGTRACERL_ETA": eta,
            "LONGTRACERL_REWARD_MODE": mode,
            "LONGTRACERL_PROCESSOR": "qwen3-thinking",
        },
    }
    atomic_write_text(out / "reward.json", json.dumps(reward, indent=2) + "\n")
    source_config = {
        "longqa": {
            "message_processor": {
                "class": "slime.rollout.message_processor_hub.qwen3_message_processor.Qwen3MessageProcessor"
            },
            "reward_model": {
                "function": "remote_rm",
                "kwargs": {
                    "remote_url": args.reward_url.rstrip("/") + "/evaluate",
                    "input_keys": ["label", "extra_reward_info", "history"],
                },
            },
            "remote_environment": {},
        }
    }
    atomic_write_text(out / "source_config.json", json.dumps(source_config, indent=4) + "\n")
    model = args.model or DEFAULT_MODEL
    train_abs = str((out / "train.jsonl").resolve())
    eval_abs = str((out / "eval.jsonl").resolve()) if held else None
    flags = slime_flags(
        train_abs, eval_abs, model, eta=eta, mode=mode, nodes=args.nnodes, gpus=args.gpus_per_node
    )
    header = (
        "# slime (THUDM/slime): GRPO with the LongTraceRL reward hooks (generated by `longtracerl export slime`).\n"
        "# Add your model architecture flags (Megatron: --num-layers ... or scripts/models/qwen3-4B.sh),\n"
        "# --ref-load/--load/--save, and start Ray first. Judge: LONGTRACERL_JUDGE / LONGTRACERL_JUDGE_LLM.\n"
        f"export LONGTRACERL_ETA={eta} LONGTRACERL_REWARD_MODE={mode} LONGTRACERL_PROCESSOR=qwen3-thinking\n"
        ': "${LONGTRACERL_JUDGE:=llm}"; export LONGTRACERL_JUDGE\n'
        ': "${SLIME_DIR:?set SLIME_DIR to your slime checkout}"'
    )
    lines = ['python3 "$SLIME_DIR/train.py"'] + flags
    atomic_write_text(out / "launch.sh", _launch(lines, header))
    os.chmod(out / "launch.sh", 0o755)
    fork = [
        f
        for f in flags
        if not f.startswith(
            (
                "--custom-rm-path",
                "--custom-reward-post-process-path",
                "--reward-key",
                "--eval-reward-key",
                "--apply-chat-template",
                "--metadata-key",
            )
        )
    ]
    fork += [
        "--source-key source",
        f"--source-config-path {(out / 'source_config.json').resolve()}",
        "--custom-generate-function-path slime.rollout.rollout_skip_illform.generate",
        "--custom-tis-function-path slime.backends.megatron_utils.loss.icepop_function",
        f"--rubric-reward-ratio {eta}",
        "--normalize-rubric-reward",
        "--rubric-use-content",
    ]
    if mode == "positive-only":
        fork.append("--rubric-only-positive")
    fork_header = (
        "# The authors' slime fork (THU-KEG/LongTraceRL slime/): its own rubric flags; rewards from\n"
        "# `longtracerl rewards serve` (POST /evaluate, the drop-in for the authors' reward server):\n"
        f"#   longtracerl rewards serve --port {args.reward_url.rsplit(':', 1)[-1].strip('/')}\n"
        ': "${SLIME_DIR:?set SLIME_DIR to the fork checkout (THU-KEG/LongTraceRL/slime)}"'
    )
    atomic_write_text(out / "launch_fork.sh", _launch(['python3 "$SLIME_DIR/train.py"'] + fork, fork_header))
    os.chmod(out / "launch_fork.sh", 0o755)
    summary = {
        "target": "slime",
        "out": str(out),
        "train_rows": len(rows),
        "eval_rows": len(held),
        "custom_rm_path": SLIME_REWARD_FUNC,
        "custom_reward_post_process_path": SLIME_POST_PROCESS,
    }
    atomic_write_text(out / "export.json", json.dumps(summary, indent=2) + "\n")
    return summary


def handle_export_target(args: Any) -> int:
    """``longtracerl export verl|slime`` (called from the contexts stage's ``export`` command)."""
    if not getattr(args, "out", None):
        raise ConfigError(f"export {args.target}: --out DIR is required")
    defaults = {
        "model": None,
        "nnodes": 4,
        "gpus_per_node": 8,
        "rubric_weight": RECIPE["eta"],
        "reward_mode": "positive-only",
        "reward_url": "http://127.0.0.1:7248",
    }
    for k, v in defaults.items():
        if getattr(args, k, None) is None:
            setattr(args, k, v)
    from longtracerl.config import parse_overrides

    for k, v in parse_overrides(getattr(args, "overrides", []) or []).items():
        if k not in defaults:
            raise ConfigError(f"export {args.target}: unknown --set key {k!r}; valid: {', '.join(defaults)}")
        setattr(args, k, v)
    summary = export_verl(args) if args.target == "verl" else export_slime(args)
    print(json.dumps(summary, indent=2))
    return 0
