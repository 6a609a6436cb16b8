"""``longtracerl train`` (GRPO on TRL) and ``longtracerl train-report`` (the curves of a training run).

Nothing heavy is imported here; torch/transformers/trl load inside the handlers.
"""

from __future__ import annotations

import argparse
import json

from longtracerl.train.config import PRESETS, REWARD_MODES


def register(subparsers: argparse._SubParsersAction) -> None:
    from longtracerl.cli import add_config_args

    p = subparsers.add_parser(
        "train",
        help="GRPO on TRL with the LongTraceRL reward (presets: cpu-smoke, cpu-smollm2, gpu-qwen3-4b).",
        description=(
            "Train with TRL's GRPOTrainer on released-format rows (RUN/rows.jsonl). Prompts are rendered "
            "with the model's chat template and bounded by data.max_prompt_tokens (truncate-middle / drop / "
            "error); the reward is make_trl_reward (positive-only rubric reward by default). Writes "
            "OUT/metrics.jsonl (one line per step), OUT/model/, OUT/summary.json. See docs/training.md."
        ),
    )
    p.add_argument(
        "--preset", default="cpu-smoke", help=f"{' | '.join(PRESETS)} | FILE.yaml (default cpu-smoke)."
    )
    p.add_argument(
        "--data", metavar="ROWS", help="Released-format rows (RUN/rows.jsonl). cpu-smoke: optional."
    )
    p.add_argument("--out", required=True, metavar="DIR", help="Output folder.")
    p.add_argument("--reward", choices=sorted(REWARD_MODES), help="Reward mode (default: rubric-positive).")
    p.add_argument("--rubric-weight", dest="rubric_weight", type=float, metavar="ETA", help="eta (0.3).")
    p.add_argument("--max-steps", dest="max_steps", type=int, metavar="N", help="Optimiser steps.")
    p.add_argument("--seed", type=int, help="Seed (grpo.seed).")
    p.add_argument(
        "--dry-run",
        dest="dry_run",
        action="store_true",
        help="Validate config, data and reward; print the resolved TRL arguments; load no model.",
    )
    add_config_args(p)
    p.set_defaults(func=_handle_train)

    r = subparsers.add_parser(
        "train-report",
        help="Plot a training run's metrics.jsonl (reward, accuracy, rubric, gating, length) to PNG.",
    )
    r.add_argument("runs", nargs="+", metavar="DIR", help="Training output folder(s); several are overlaid.")
    r.add_argument("--out", metavar="PNG", help="Figure path (default: FIRST_DIR/train_curves.png).")
    r.add_argument("--label", action="append", default=[], help="Legend label per DIR (repeatable).")
    r.set_defaults(func=_handle_report)


def _overrides(args: argparse.Namespace) -> list[str]:
    over = list(args.overrides)
    if args.reward:
        over.append(f"reward.mode={args.reward}")
    if args.rubric_weight is not None:
        over.append(f"reward.eta={args.rubric_weight}")
    if args.max_steps is not None:
        over.append(f"grpo.max_steps={args.max_steps}")
    if args.seed is not None:
        over.append(f"grpo.seed={args.seed}")
    return over


def _handle_train(args: argparse.Namespace) -> int:
    from longtracerl.train.config import load_preset
    from longtracerl.train.runner import train

    preset = args.config or args.preset
    cfg = load_preset(preset, _overrides(args))
    summary = train(cfg, args.data, args.out, dry_run=args.dry_run)
    print(json.dumps(summary, indent=2, default=str))
    return 0


def _handle_report(args: argparse.Namespace) -> int:
    from longtracerl.train.plot import plot_runs

    path = plot_runs(args.runs, args.out, labels=args.label or None)
    print(f"train-report: {path}")
    return 0
