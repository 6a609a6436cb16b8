"""``longtracerl eval`` and ``longtracerl eval-compare`` (nothing heavy imported at module level)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from longtracerl.config import ConfigError

# CLI flag -> EvalConfig field
_FLAGS = {
    "benchmark": "benchmark", "data": "data", "data_dir": "data_dir", "model": "model", "judge": "judge", "limit": "limit",
    "samples": "samples", "base_url": "base_url", "tokenizer": "tokenizer",
    "max_context_tokens": "max_context_tokens", "max_tokens": "max_tokens", "concurrency": "concurrency",
    "judge_model": "judge_model", "judge_base_url": "judge_base_url", "processor": "processor",
    "api_key_env": "api_key_env", "articles": "articles", "context_length": "context_length",
}  # fmt: skip


def register(subparsers: Any) -> None:
    from longtracerl.cliargs import add_config_args

    p = subparsers.add_parser(
        "eval",
        help="Evaluate a model on a long-context benchmark (AA-LCR, MRCR, FRAMES, LongBench v2, LongReason, held-out).",
        description=(
            "Writes OUT/samples.jsonl (one line per item and sample; a re-run resumes) and OUT/summary.json "
            "(avg@k and counts). Sampling defaults follow the paper: T=0.6, top-p 0.95, top-k 20, 4 samples, "
            "32K response tokens. See docs/evals.md."
        ),
    )
    p.add_argument(
        "--benchmark", help="aa-lcr | longbench-v2 | mrcr | frames | longreason | heldout | module:attr"
    )
    p.add_argument("--data", metavar="PATH", help="Benchmark file (AA-LCR defaults to the embedded copy).")
    p.add_argument("--data-dir", metavar="DIR", help="Folder with one <benchmark>.<ext> file per benchmark.")
    p.add_argument("--model", help="Local model folder, 'smollm2', or openai:NAME (with --base-url).")
    p.add_argument("--out", required=True, metavar="DIR", help="Output folder (samples.jsonl, summary.json).")
    p.add_argument(
        "--base-url", help="OpenAI-compatible endpoint for openai:NAME, e.g. http://127.0.0.1:8000/v1."
    )
    p.add_argument("--api-key-env", metavar="VAR", help="Environment variable with the endpoint's API key.")
    p.add_argument(
        "--judge", choices=["rule", "llm"], help="Answer judge for judged benchmarks (default rule)."
    )
    p.add_argument("--judge-model", help="Grader model name for --judge llm.")
    p.add_argument("--judge-base-url", help="Grader endpoint for --judge llm.")
    p.add_argument("--limit", type=int, metavar="N", help="Only the first N items.")
    p.add_argument("--samples", type=int, metavar="K", help="Samples per item (default 4).")
    p.add_argument("--max-tokens", type=int, help="Response budget in tokens (default 32768).")
    p.add_argument(
        "--max-context-tokens", type=int, help="Model window; longer prompts are middle-truncated."
    )
    p.add_argument(
        "--tokenizer", help="Tokenizer of the served model (for --max-context-tokens with openai:)."
    )
    p.add_argument("--processor", help="Response parser: auto (default), plain, qwen3-thinking, ...")
    p.add_argument("--concurrency", type=int, help="Samples in flight (default 8).")
    p.add_argument("--articles", metavar="FILE", help="FRAMES: JSONL of article texts {url, title, text}.")
    p.add_argument("--context-length", help="LongReason: keep rows of this length (e.g. 32k).")
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

    return stage_config(EvalConfig, args, _FLAGS, "eval")


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
