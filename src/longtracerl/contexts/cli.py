"""``longtracerl contexts``: assemble long contexts (gold + Tier-1 + Tier-2 + fill) and export training rows.

Reads RUN/questions.jsonl and RUN/trajectories.jsonl, writes RUN/contexts.jsonl (resumable),
RUN/contexts.rejected.jsonl and RUN/contexts.summary.json, then exports RUN/rows.jsonl,
RUN/heldout.jsonl (released format) and RUN/rows.parquet, RUN/heldout.parquet (verl) unless
--no-export.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

# flag -> dotted config field of ContextsConfig
_CONTEXT_FLAGS = {
    "strategy": "strategy",
    "target_tokens": "target_tokens",
    "tokenizer": "tokenizer",
    "seed": "seed",
    "limit": "limit",
    "format": "export.format",
    "heldout_fraction": "export.heldout_fraction",
    "heldout_count": "export.heldout_count",
}


def _add_export_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--format",
        choices=["released", "verl", "all"],
        help="released: rows.jsonl + heldout.jsonl; verl: *.parquet; all (default): both.",
    )
    p.add_argument("--heldout-fraction", dest="heldout_fraction", type=float, help="Held-out share (0.05).")
    p.add_argument("--heldout-count", dest="heldout_count", type=int, help="Held-out questions (at most).")


def register(subparsers: argparse._SubParsersAction) -> None:
    # `longtracerl export` (the re-export alone, and the trainer bundles) is registered by train/cli.py
    from longtracerl.cliargs import stage_parser

    p = stage_parser(subparsers, "contexts", __doc__)
    p.add_argument("--target-tokens", dest="target_tokens", type=int, help="Token budget (default 32768).")
    p.add_argument(
        "--strategy",
        choices=["traj-tiered", "traj-random", "one-shot-search", "random"],
        help="Distractor strategy (default traj-tiered).",
    )
    p.add_argument(
        "--tokenizer",
        metavar="PATH_OR_NAME",
        help="smollm2-gguf (default), a tokenizer.json, a tokenizer folder or a .gguf file.",
    )
    p.add_argument("--seed", type=int)
    p.add_argument("--limit", type=int, help="Only the first N questions.")
    p.add_argument("--no-export", dest="no_export", action="store_true", help="Only write contexts.jsonl.")
    p.add_argument("--force", action="store_true", help="Rebuild contexts.jsonl from scratch.")
    _add_export_flags(p)
    p.set_defaults(func=_handle_contexts)


def load_contexts_config(args: argparse.Namespace, flags: dict[str, str], **set_: Any) -> Any:
    from longtracerl.cliargs import stage_config
    from longtracerl.contexts.config import ContextsConfig

    return stage_config(ContextsConfig, args, flags, "contexts", **set_)


def _handle_contexts(args: argparse.Namespace) -> int:
    from contextlib import closing

    from longtracerl.cliargs import executor_from_args, require
    from longtracerl.contexts.stage import build_contexts

    require(args, "corpus", "run")
    cfg = load_contexts_config(args, _CONTEXT_FLAGS, **({"export.enabled": False} if args.no_export else {}))
    with closing(executor_from_args(args)) as executor:
        summary = build_contexts(
            cfg, args.corpus, args.run, force=args.force, progress=not args.no_progress, executor=executor
        )
    print(json.dumps({k: v for k, v in summary.items() if k != "export"}, indent=2))
    if "export" in summary:
        ex = summary["export"]
        print(f"export: {ex['rows']} training rows, {ex['heldout']} held out -> {', '.join(ex['outputs'])}")
    return 0
