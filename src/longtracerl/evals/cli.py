"""``longtracerl eval`` and ``longtracerl eval-compare`` (nothing heavy imported at module level)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from longtracerl.config import ConfigError

# the flags that stand for an EvalConfig field: flag -> field
_FLAGS = {
    "--benchmark": "benchmark", "--data": "data", "--data-dir": "data_dir", "--model": "model",
    "--base-url": "base_url", "--api-key-env": "api_key_env", "--judge": "judge",
    "--judge-model": "judge_model", "--judge-base-url": "judge_base_url", "--limit": "limit",
    "--samples": "samples", "--max-tokens": "max_tokens", "--max-context-tokens": "max_context_tokens",
    "--tokenizer": "tokenizer", "--processor": "processor", "--concurrency": "concurrency",
    "--articles": "articles", "--context-length": "context_length",
}  # fmt: skip
_METAVARS = {
    "data": "PATH",
    "data_dir": "DIR",
    "api_key_env": "VAR",
    "limit": "N",
    "samples": "K",
    "articles": "FILE",
}


def register(subparsers: Any) -> None:
    from longtracerl.cliargs import add_config_args, field_flags
    from longtracerl.evals.config import EvalConfig

    p = subparsers.add_parser(
        "eval",
        help="Evaluate a model on a long-context benchmark (AA-LCR, MRCR, FRAMES, LongBench v2, LongReason, held-out).",
        description=(
            "Writes OUT/samples.jsonl (one line per item and sample; a re-run resumes) and OUT/summary.json "
            "(avg@k and counts). Sampling defaults follow the paper: T=0.6, top-p 0.95, top-k 20, 4 samples, "
            "32K response tokens. See docs/evals.md."
        ),
    )
    p.add_argument("--out", required=True, metavar="DIR", help="Output folder (samples.jsonl, summary.json).")
    field_flags(p, EvalConfig, _FLAGS, metavars=_METAVARS)
    p.add_argument("--restart", action="store_true", help="Discard samples already in --out and start over.")
    p.add_argument("--no-progress", action="store_true", help="No progress bar.")
    add_config_args(p, example="temperature=0.6")
    p.set_defaults(func=_eval)

    c = subparsers.add_parser(
        "eval-compare",
        help="Put several eval runs side by side with the paper's numbers (markdown).",
        description="Each DIR is a run folder or a folder of per-benchmark run folders (one table row).",
    )
    c.add_argument("dirs", nargs="+", metavar="DIR")
    c.add_argument("--labels", nargs="+", help="Row labels, one per DIR (default: folder names).")
    c.add_argument("--no-reference", action="store_true", help="Leave out the paper's rows.")
    c.add_argument("--out", metavar="FILE", help="Also write the table to FILE.")
    c.set_defaults(func=_compare)


def load_eval_config(args: argparse.Namespace):
    """--config (its ``eval:`` section in a whole-pipeline file), --set, then the flags."""
    from longtracerl.cliargs import stage_config
    from longtracerl.evals.config import EvalConfig

    return stage_config(EvalConfig, args, _FLAGS.values(), "eval")


def _eval(args: argparse.Namespace) -> int:
    from longtracerl.evals.runner import EvalError, format_summary, run_eval

    cfg = load_eval_config(args)
    try:
        summary = run_eval(cfg, args.out, restart=args.restart, progress=not args.no_progress)
    except EvalError as err:
        print(f"longtracerl eval: error: {err}", file=sys.stderr)
        return 1
    print(format_summary(summary))
    print(f"\nwrote {Path(args.out) / 'samples.jsonl'} and {Path(args.out) / 'summary.json'}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from longtracerl.evals.report import compare_table
    from longtracerl.records import atomic_write_text

    try:
        table = compare_table(args.dirs, args.labels, reference=not args.no_reference)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    print(table)
    if args.out:
        atomic_write_text(args.out, table + "\n")
    return 0
