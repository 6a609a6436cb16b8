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
- ``DIR/reward.json``: ``custom_reward_function.path`` (``pkg://longtracerl.rewards.integrations.verl``:
  found by module name wherever the package is installed) and ``name``;
- ``DIR/config.yaml``: the Hydra overrides as a flat ``key: value`` mapping; data files are named
  relative to the bundle (``train.parquet``);
- ``DIR/launch.sh``: ``python -m verl.trainer.main_ppo`` with those overrides, data files under
  ``$DATA_ROOT`` (default: the folder the script is in, or ``--data-root``).

slime (flags checked against THUDM/slime's ``arguments.py`` and the authors' training script
THU-KEG/LongTraceRL ``scripts/train/train-qwen3-4B-2507.sh``):

- ``DIR/train.jsonl``, ``DIR/eval.jsonl``: the released format (validated line by line);
- ``DIR/reward.json``: ``--custom-rm-path`` / ``--custom-reward-post-process-path`` values;
- ``DIR/source_config.json``: for the authors' slime fork (``--source-config-path``), routing
  source ``longqa`` to the Qwen3 message processor and ``remote_rm`` at ``longtracerl
  serve-reward``'s ``/evaluate``;
- ``DIR/launch.sh`` (upstream slime with our reward hooks) and ``DIR/launch_fork.sh`` (the
  authors' fork with its own rubric flags and our reward server).

Bundles run elsewhere: nothing in them names this machine (data under ``$DATA_ROOT``, reward hooks
by module name), and every ``launch.sh`` starts with a checklist of what the user must fill in
(model, checkpoints, parallelism) and pre-flight checks that stop it within seconds: the package
must import, and with ``LONGTRACERL_JUDGE=llm`` (the default) ``LONGTRACERL_JUDGE_LLM`` must be
set and its endpoint must answer (``python -m longtracerl.llm.check``).
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
VERL_REWARD_PATH = f"pkg://{VERL_REWARD_MODULE}"
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
        if train.is_dir():  # a run folder: its rows
            train = train / "rows.jsonl"
        held = train.with_name("heldout.jsonl")
    elif args.run:
        train = Path(args.run) / "rows.jsonl"
        held = Path(args.run) / "heldout.jsonl"
    else:
        raise ConfigError(
            "export TARGET: give --data ROWS|RUN (released-format rows, or a run folder) or --run RUN"
        )
    if not train.exists():
        hint = (
            f"`longtracerl export --run {train.parent}` writes it from contexts.jsonl"
            if (train.parent / "contexts.jsonl").exists()
            else "give a rows file in the released format, or a run folder that has rows.jsonl "
            "(`longtracerl run` / `longtracerl contexts` make it)"
        )
        raise FileNotFoundError(f"{train}: rows not found; {hint}")
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


def shell_arg(text: str) -> str:
    """One shell word: single-quoted, or double-quoted when it expands ``$VARIABLES``.

    >>> shell_arg("a=b c"), shell_arg("data.train_files=$DATA_ROOT/train.parquet")
    ("'a=b c'", '"data.train_files=$DATA_ROOT/train.parquet"')
    """
    if "$" not in text:
        return shlex.quote(text)
    return '"' + re.sub(r'(["\\`])', r"\\\1", text) + '"'


def _preflight(data_root: str | None, reward_module: str | None) -> str:
    """Shell lines run before the trainer: bundle location and data root; with ``reward_module``
    (our hooks run in the trainer) also the package and judge checks."""
    root = shlex.quote(data_root) if data_root else '"$BUNDLE"'
    lines = f"""BUNDLE="$(cd "$(dirname "$0")" && pwd)"
cd "$BUNDLE"
DATA_ROOT="${{DATA_ROOT:-{root}}}"
fail() {{ echo "launch.sh: $*" >&2; exit 1; }}"""
    if reward_module is None:
        return lines
    return (
        lines
        + f"""
python3 -c 'import {reward_module}' 2>/dev/null \\
  || fail "cannot import {reward_module}: pip install longtracerl (on every node)"
: "${{LONGTRACERL_JUDGE:=llm}}"; export LONGTRACERL_JUDGE
if [ "$LONGTRACERL_JUDGE" = llm ]; then
  [ -n "${{LONGTRACERL_JUDGE_LLM:-}}" ] || fail "LONGTRACERL_JUDGE=llm needs the judge endpoint: \\
export LONGTRACERL_JUDGE_LLM=openai:MODEL@http://HOST:PORT/v1 (or LONGTRACERL_JUDGE=rule)"
  python3 -m longtracerl.llm.check "$LONGTRACERL_JUDGE_LLM" \\
    || fail "the judge endpoint in LONGTRACERL_JUDGE_LLM does not answer: start it or fix the URL"
fi"""
    )


def _write_launch(path: Path, lines: list[str], header: str, preflight: str) -> None:
    """An executable bash script: ``header`` comments, ``preflight`` checks, then the command."""
    body = " \\\n  ".join([*lines, '"$@"'])
    atomic_write_text(path, f"#!/usr/bin/env bash\n{header}\nset -euo pipefail\n{preflight}\n\n{body}\n")
    os.chmod(path, 0o755)


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
    module_file(VERL_REWARD_MODULE)  # the hook exists in this install
    val_name = "val.parquet" if has_val else "train.parquet"
    model = args.model or DEFAULT_MODEL
    over = verl_overrides(
        "train.parquet",
        val_name,
        VERL_REWARD_PATH,
        model=model,
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
        "custom_reward_function.path": VERL_REWARD_PATH,
        "custom_reward_function.name": "compute_score",
        "batch_function": "compute_score_batch",
        "scalar_function": "compute_score_scalar",
    }
    atomic_write_text(out / "reward.json", json.dumps(reward, indent=2) + "\n")
    atomic_write_text(
        out / "config.yaml",
        "# verl 0.9.1 Hydra overrides for `python -m verl.trainer.main_ppo` (the paper's recipe, docs/method.md#training-recipe).\n"
        "# See docs/training.md for the mapping; launch.sh passes exactly these, with the data files\n"
        "# (named relative to the bundle here) under $DATA_ROOT, the model from $MODEL_PATH and\n"
        "# checkpoints under $SAVE_DIR.\n" + yaml.safe_dump(over, sort_keys=False),
    )
    shell_values = {
        "data.train_files": "$DATA_ROOT/train.parquet",
        "data.val_files": f"$DATA_ROOT/{val_name}",
        "actor_rollout_ref.model.path": "$MODEL_PATH",
    }
    lines = ["python3 -m verl.trainer.main_ppo"] + [
        shell_arg(f"{k}={shell_values.get(k) or hydra_value(v)}") for k, v in over.items()
    ]
    lines.append(shell_arg("trainer.default_local_dir=$SAVE_DIR"))
    header = f"""# verl 0.9.1: GRPO with the LongTraceRL reward (generated by `longtracerl export verl`).
#
# Checklist: fill in (export) before launching; extra key=value arguments override any setting,
# e.g. ./launch.sh trainer.nnodes=2
#   MODEL_PATH   the policy model, HF id or local folder (default {model})
#   SAVE_DIR     checkpoint folder, trainer.default_local_dir (default $BUNDLE/checkpoints);
#                resume: trainer.resume_mode=auto (default) picks up the latest one there
#   DATA_ROOT    folder holding train.parquet / val.parquet (default: this script's folder)
#   parallelism  sized for 128K-token prompts + 32K responses on 8x80GB nodes:
#                trainer.nnodes={args.nnodes} trainer.n_gpus_per_node={args.gpus_per_node}, rollout tensor_model_parallel_size=8,
#                actor ulysses_sequence_parallel_size=4, ppo_max_token_len_per_gpu=160000
#                (one 160K sequence per micro-batch); smaller GPUs: raise Ulysses SP
#   judge        LONGTRACERL_JUDGE=llm (default) needs LONGTRACERL_JUDGE_LLM=openai:MODEL@http://HOST:PORT/v1
#                reachable from every node; LONGTRACERL_JUDGE=rule needs none
#   Ray          start Ray on every node first (ray start --head / --address=HEAD:6379)
: "${{MODEL_PATH:={model}}}"
: "${{SAVE_DIR:=$(cd "$(dirname "$0")" && pwd)/checkpoints}}"
"""
    preflight = _preflight(getattr(args, "data_root", None), VERL_REWARD_MODULE)
    _write_launch(out / "launch.sh", lines, header, preflight)
    summary = {
        "target": "verl",
        "out": str(out),
        "train_rows": len(rows),
        "val_rows": len(held),
        "overrides": len(over),
        "checked_against_installed_verl": known is not None,
        "reward_path": VERL_REWARD_PATH,
        "data_root": getattr(args, "data_root", None) or "the bundle folder",
    }
    return _write_summary(out, summary)


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
        # 160K-token sequences: context parallel splits one sequence over CP GPUs, so the
        # per-GPU budget must hold 160000 / CP tokens (see the checklist in launch.sh)
        '--tensor-model-parallel-size "$TP"',
        "--sequence-parallel",
        '--context-parallel-size "$CP"',
        '--max-tokens-per-gpu "$MAX_TOKENS_PER_GPU"',
        "--recompute-granularity full",
        "--recompute-method uniform",
        "--recompute-num-layers 1",
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


_SLIME_REQUIRED = """
: "${TP:=2}" "${CP:=4}" "${MAX_TOKENS_PER_GPU:=40960}"
[ -n "${SLIME_DIR:-}" ] || fail "set SLIME_DIR to the slime checkout"
[ -n "${HF_CHECKPOINT:-}" ] || fail "set HF_CHECKPOINT to the model's HF folder (weights + tokenizer)"
[ -n "${REF_LOAD:-}" ] || fail "set REF_LOAD to its Megatron torch_dist checkpoint (slime's tools/convert_hf_to_torch_dist.py)"
[ -n "${SAVE_DIR:-}" ] || fail "set SAVE_DIR to the checkpoint folder (also --load: a re-run resumes)"
[ -n "${MODEL_ARGS_FILE:-}" ] || fail "set MODEL_ARGS_FILE to the model's architecture flags, e.g. \\
\\$SLIME_DIR/scripts/models/qwen3-4B.sh (it defines MODEL_ARGS)"
# shellcheck disable=SC1090
source "$MODEL_ARGS_FILE"
[ "${#MODEL_ARGS[@]}" -gt 0 ] || fail "$MODEL_ARGS_FILE did not define MODEL_ARGS"
"""


def _slime_checklist(model: str, nodes: int, gpus: int) -> str:
    return f"""# slime: GRPO with the LongTraceRL reward (generated by `longtracerl export slime`).
#
# Checklist: fill in (export) before launching; the script stops at once when one is missing.
#   SLIME_DIR        the slime checkout
#   HF_CHECKPOINT    the policy model's HF folder (e.g. {model})
#   REF_LOAD         its Megatron torch_dist checkpoint (slime's tools/convert_hf_to_torch_dist.py)
#   SAVE_DIR         checkpoints (--save; also --load, so a re-run resumes)
#   MODEL_ARGS_FILE  architecture flags, e.g. $SLIME_DIR/scripts/models/qwen3-4B.sh (defines MODEL_ARGS)
#   DATA_ROOT        folder holding train.jsonl / eval.jsonl (default: this script's folder)
#   parallelism      TP=2 CP=4 MAX_TOKENS_PER_GPU=40960 (defaults): context parallel 4 splits one
#                    160K-token sequence (128K prompt + 32K response) into 40K per GPU; on
#                    {nodes} nodes x {gpus} GPUs. Fewer/smaller GPUs: raise CP, keep
#                    MAX_TOKENS_PER_GPU >= 160000 / CP
#   judge            LONGTRACERL_JUDGE=llm (default) needs LONGTRACERL_JUDGE_LLM=openai:MODEL@http://HOST:PORT/v1;
#                    LONGTRACERL_JUDGE=rule needs none
#   Ray              start Ray on every node first"""


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
    flags = slime_flags(
        '"$DATA_ROOT/train.jsonl"',
        '"$DATA_ROOT/eval.jsonl"' if held else None,
        '"$HF_CHECKPOINT"',
        eta=eta,
        mode=mode,
        nodes=args.nnodes,
        gpus=args.gpus_per_node,
    )
    flags[1:1] = ['--ref-load "$REF_LOAD"', '--load "$SAVE_DIR"', '--save "$SAVE_DIR"', "--save-interval 20"]
    header = _slime_checklist(model, args.nnodes, args.gpus_per_node) + (
        f"\nexport LONGTRACERL_ETA={eta} LONGTRACERL_REWARD_MODE={mode} LONGTRACERL_PROCESSOR=qwen3-thinking"
    )
    preflight = (
        _preflight(getattr(args, "data_root", None), "longtracerl.rewards.integrations.slime")
        + _SLIME_REQUIRED
    )
    lines = ['python3 "$SLIME_DIR/train.py"', '"${MODEL_ARGS[@]}"'] + flags
    _write_launch(out / "launch.sh", lines, header, preflight)
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
        '--source-config-path "$BUNDLE/source_config.json"',
        "--custom-generate-function-path slime.rollout.rollout_skip_illform.generate",
        "--custom-tis-function-path slime.backends.megatron_utils.loss.icepop_function",
        f"--rubric-reward-ratio {eta}",
        "--normalize-rubric-reward",
        "--rubric-use-content",
    ]
    if mode == "positive-only":
        fork.append("--rubric-only-positive")
    port = args.reward_url.rsplit(":", 1)[-1].strip("/")
    fork_header = (
        _slime_checklist(model, args.nnodes, args.gpus_per_node)
        + "\n# The authors' slime fork (THU-KEG/LongTraceRL slime/, SLIME_DIR): its own rubric flags;"
        "\n# rewards from our reward server (POST /evaluate, the drop-in for the authors' one), started first:"
        f"\n#   longtracerl serve-reward --port {port}"
    )
    health = args.reward_url.rstrip("/") + "/health"
    fork_preflight = (
        _preflight(getattr(args, "data_root", None), None)
        + _SLIME_REQUIRED
        + f"""
python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' \\
  {shlex.quote(health)} 2>/dev/null \\
  || fail "no reward server at {health}: start longtracerl serve-reward --port {port} (it holds the judge)"
"""
    )
    _write_launch(
        out / "launch_fork.sh",
        ['python3 "$SLIME_DIR/train.py"', '"${MODEL_ARGS[@]}"'] + fork,
        fork_header,
        fork_preflight,
    )
    summary = {
        "target": "slime",
        "out": str(out),
        "train_rows": len(rows),
        "eval_rows": len(held),
        "custom_rm_path": SLIME_REWARD_FUNC,
        "custom_reward_post_process_path": SLIME_POST_PROCESS,
    }
    return _write_summary(out, summary)


def _write_summary(out: Path, summary: dict[str, Any]) -> dict[str, Any]:
    """``export.json``: the summary without this machine's folder (the bundle may move); returns
    ``summary``."""
    kept = {k: v for k, v in summary.items() if k != "out"}
    atomic_write_text(out / "export.json", json.dumps(kept, indent=2) + "\n")
    return summary


_ABS_PATH = re.compile(r"(?<![\w$}./:-])/(?:[\w.+-]+/)+[\w.+-]*")
_SYSTEM_PATHS = ("/usr/bin/env", "/dev/null")


def check_bundle(bundle: str | os.PathLike) -> list[str]:
    """Problems that stop a bundle from running on another machine (empty: none).

    Checked without verl or slime: every file the config names exists in the bundle; no file
    names a path of this machine; the reward hooks import by module name; the launch scripts
    parse (``bash -n``). ``scripts/check_verl_export.py`` adds verl's own config check.
    """
    import subprocess

    b = Path(bundle)
    problems: list[str] = []
    try:
        target = json.loads((b / "export.json").read_text(encoding="utf-8"))["target"]
    except (OSError, ValueError, KeyError) as err:
        return [f"{b / 'export.json'}: not a bundle of `longtracerl export` ({err})"]
    for f in sorted(b.iterdir()):
        if f.suffix not in (".sh", ".json", ".yaml"):
            continue
        text = f.read_text(encoding="utf-8")
        found = [m for m in _ABS_PATH.findall(text) if m not in _SYSTEM_PATHS]
        if found:
            problems.append(f"{f.name}: names paths of this machine: {found[:3]}")
        if f.suffix == ".sh":
            res = subprocess.run(["bash", "-n", str(f)], capture_output=True, text=True)
            if res.returncode:
                problems.append(f"{f.name}: bash syntax error: {res.stderr.strip()}")
    reward = json.loads((b / "reward.json").read_text(encoding="utf-8"))
    if target == "verl":
        over = yaml.safe_load((b / "config.yaml").read_text(encoding="utf-8"))
        for key in ("data.train_files", "data.val_files"):
            if not (b / str(over[key])).is_file():
                problems.append(f"config.yaml: {key}={over[key]} is not a file of the bundle")
        hooks = [
            (str(over["reward.custom_reward_function.path"]), over["reward.custom_reward_function.name"])
        ]
        if not hooks[0][0].startswith("pkg://"):
            problems.append(f"config.yaml: the reward path {hooks[0][0]} is not a pkg:// module path")
        hooks = [(h.removeprefix("pkg://"), name) for h, name in hooks]
    else:
        for name in ("train.jsonl",):
            if not (b / name).is_file():
                problems.append(f"{name} is missing")
        hooks = [
            tuple(reward[k].rsplit(".", 1)) for k in ("--custom-rm-path", "--custom-reward-post-process-path")
        ]
    for module, attr in hooks:
        try:
            ok = callable(getattr(importlib.import_module(module), attr, None))
        except ImportError as err:
            ok, attr = False, f"{attr} ({err})"
        if not ok:
            problems.append(f"reward hook {module}.{attr} does not import")
    return problems


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
        "data_root": None,
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
