"""``longtracerl train`` (GRPO on TRL) and ``longtracerl train-report`` (the curves of a training run).

Nothing heavy is imported here; torch/transformers/trl load inside the handlers.
"""

from __future__ import annotations

import argparse
import json

from longtracerl.train.config import PRESETS, TrainConfig

# the train flags that stand for a TrainConfig field: flag -> dotted field (dest: the field's name)
_TRAIN_FLAGS = {
    "--reward": "reward.mode", "--rubric-weight": "reward.eta", "--max-steps": "grpo.max_steps",
    "--seed": "grpo.seed",
}  # fmt: skip


def register(subparsers: argparse._SubParsersAction) -> None:
    from longtracerl.cliargs import add_config_args, field_flag, field_flags

    _register_export(subparsers)

    p = subparsers.add_parser(
        "train",
        help="GRPO on TRL with the LongTraceRL reward (presets: cpu-smoke, cpu-smollm2, cpu-smollm2-easy, gpu-qwen3-4b).",
        description=(
            "Train with TRL's GRPOTrainer on released-format rows (RUN/rows.jsonl). Prompts are rendered "
            "with the model's chat template and bounded by data.max_prompt_tokens (truncate-middle / drop / "
            "error); rows made for much longer contexts are refused (data.max_cut_share) with the command that "
            "builds fitting ones. The reward is make_trl_reward (positive-only rubric reward by default). "
            "Writes OUT/metrics.jsonl (one line per step), OUT/model/, OUT/summary.json and the curves "
            "OUT/train_curves.png. See docs/training.md."
        ),
    )
    p.add_argument(
        "--preset", default="cpu-smoke", help=f"{' | '.join(PRESETS)} | FILE.yaml (default cpu-smoke)."
    )
    p.add_argument(
        "--data", metavar="ROWS", help="Released-format rows (RUN/rows.jsonl). cpu-smoke: optional."
    )
    p.add_argument("--out", required=True, metavar="DIR", help="Output folder.")
    field_flags(
        p,
        TrainConfig,
        _TRAIN_FLAGS,
        metavars={"reward.eta": "ETA", "grpo.max_steps": "N"},
        shown_default="the preset's",
    )
    p.add_argument(
        "--dry-run",
        dest="dry_run",
        action="store_true",
        help="Validate config, data and reward; print the resolved TRL arguments; load no model.",
    )
    add_config_args(p, example="grpo.learning_rate=1e-6")
    p.set_defaults(func=_handle_train)

    q = subparsers.add_parser(
        "train-probe",
        help="Solve rate of the untrained policy on training rows (same prompts, sampling and reward).",
        description=(
            "Before training: sample completions per prompt from the preset's model exactly as "
            "longtracerl train would (chat template, prompt bound, temperature, max_completion_length, "
            "TRL's EOS cut) and score them with the training reward. GRPO needs prompts whose samples "
            "differ in reward; writes OUT/probe.json (outcome_mean, groups_with_signal, gated_share) "
            "and OUT/probe.jsonl (per prompt). See docs/training.md."
        ),
    )
    q.add_argument("--preset", default="cpu-smollm2", help="Preset or FILE.yaml (default cpu-smollm2).")
    q.add_argument("--data", required=True, metavar="ROWS", help="Released-format rows.")
    q.add_argument("--out", required=True, metavar="DIR", help="Output folder.")
    q.add_argument(
        "--samples", type=int, metavar="N", help="Samples per prompt (default grpo.num_generations)."
    )
    q.add_argument("--max-rows", dest="max_rows", type=int, metavar="N", help="First N rows only.")
    field_flag(q, "--reward", TrainConfig, "reward.mode", shown_default="the preset's")
    q.add_argument("--seed", type=int, help="Sampling seed (default grpo.seed).")
    q.add_argument(
        "--endpoint",
        metavar="SPEC",
        help=(
            "Sample from an OpenAI-compatible server instead of the training model (e.g. "
            "openai:smollm2@http://127.0.0.1:8080/v1 for llama.cpp over the same GGUF): faster on CPU, "
            "an approximation (quantised weights)."
        ),
    )
    add_config_args(q)
    q.set_defaults(func=_handle_probe)

    r = subparsers.add_parser(
        "train-report",
        help="Plot a training run's metrics.jsonl (reward, accuracy, rubric, gating, length) to PNG.",
    )
    r.add_argument("runs", nargs="+", metavar="DIR", help="Training output folder(s); several are overlaid.")
    r.add_argument("--out", metavar="PNG", help="Figure path (default: FIRST_DIR/train_curves.png).")
    r.add_argument("--label", action="append", default=[], help="Legend label per DIR (repeatable).")
    r.add_argument(
        "--smooth",
        type=int,
        default=0,
        metavar="K",
        help="Also draw a trailing mean over K steps (per-step points drawn faint).",
    )
    r.set_defaults(func=_handle_report)


def _handle_train(args: argparse.Namespace) -> int:
    from longtracerl.cliargs import field_overrides
    from longtracerl.train.config import load_preset
    from longtracerl.train.runner import train

    cfg = load_preset(args.config or args.preset, field_overrides(args, _TRAIN_FLAGS.values()))
    summary = train(cfg, args.data, args.out, dry_run=args.dry_run)
    print(json.dumps(summary, indent=2, default=str))
    return 0


def _handle_probe(args: argparse.Namespace) -> int:
    from longtracerl.cliargs import field_overrides
    from longtracerl.train.config import load_preset
    from longtracerl.train.probe import probe

    cfg = load_preset(args.config or args.preset, field_overrides(args, ["reward.mode"]))
    summary = probe(
        cfg,
        args.data,
        args.out,
        samples=args.samples,
        max_rows=args.max_rows,
        seed=args.seed,
        endpoint=args.endpoint,
    )
    print(json.dumps(summary, indent=2, default=str))
    return 0


def _handle_report(args: argparse.Namespace) -> int:
    from longtracerl.train.plot import plot_runs

    path = plot_runs(args.runs, args.out, labels=args.label or None, smooth=args.smooth)
    print(f"train-report: {path}")
    return 0


def _register_export(subparsers: argparse._SubParsersAction) -> None:
    """``longtracerl export``: re-export a run's rows, or write a trainer bundle (verl, slime)."""
    from longtracerl.cliargs import add_config_args, field_flags
    from longtracerl.contexts.cli import EXPORT_FLAGS
    from longtracerl.contexts.config import ContextsConfig

    e = subparsers.add_parser(
        "export",
        help="Write training rows (released JSONL, verl Parquet, held-out split) from RUN/contexts.jsonl.",
        description="Re-export RUN/contexts.jsonl; skipped when the outputs are up to date (--force).",
    )
    e.add_argument(
        "target",
        nargs="?",
        choices=["verl", "slime"],
        help="Write a trainer bundle instead (rows + reward paths + config + launch.sh); see docs/training.md.",
    )
    e.add_argument("--run", metavar="RUN", help="Run folder (required unless TARGET is given with --data).")
    e.add_argument(
        "--data",
        metavar="ROWS|RUN",
        help="TARGET only: released-format rows, or a run folder holding rows.jsonl (default RUN/rows.jsonl).",
    )
    e.add_argument("--out", metavar="DIR", help="TARGET only: bundle folder.")
    e.add_argument(
        "--data-root",
        dest="data_root",
        metavar="DIR",
        help="TARGET only: where the bundle's data files will be on the training cluster "
        "(default: the folder launch.sh is in; $DATA_ROOT overrides at launch).",
    )
    e.add_argument("--corpus", metavar="DIR", help="Corpus folder (default: the one recorded by contexts).")
    e.add_argument("--force", action="store_true", help="Rewrite even when up to date.")
    field_flags(e, ContextsConfig, {**EXPORT_FLAGS, "--seed": "export.seed"})
    add_config_args(e, example="export.heldout_fraction=0.1 (with verl|slime: --set nnodes=2)")
    e.set_defaults(func=_handle_export)


def _handle_export(args: argparse.Namespace) -> int:
    if args.target:
        from longtracerl.train.export import handle_export_target

        return handle_export_target(args)
    if not args.run:
        from longtracerl.config import ConfigError

        raise ConfigError("export: --run RUN is required")
    from longtracerl.cliargs import stage_config
    from longtracerl.contexts.cli import EXPORT_FLAGS
    from longtracerl.contexts.config import ContextsConfig
    from longtracerl.contexts.export import export_rows

    cfg = stage_config(ContextsConfig, args, [*EXPORT_FLAGS.values(), "export.seed"], "contexts")
    summary = export_rows(args.run, args.corpus, cfg.export, force=args.force)
    print(json.dumps(summary, indent=2))
    return 0
