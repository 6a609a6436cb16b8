"""``longtracerl contexts``: assemble long contexts (gold + Tier-1 + Tier-2 + fill) and export training rows.

Reads RUN/questions.jsonl and RUN/trajectories.jsonl, writes RUN/contexts.jsonl (resumable),
RUN/contexts.rejected.jsonl and RUN/contexts.summary.json, then exports RUN/rows.jsonl,
RUN/heldout.jsonl (released format) and RUN/rows.parquet, RUN/heldout.parquet (verl) unless
--no-export.
"""

from __future__ import annotations

import argparse
import json

# the flags that stand for a ContextsConfig field: flag -> dotted field
_CONTEXT_FLAGS = {
    "--target-tokens": "target_tokens", "--strategy": "strategy", "--tokenizer": "tokenizer",
    "--seed": "seed", "--limit": "limit",
}  # fmt: skip
EXPORT_FLAGS = {
    "--format": "export.format",
    "--heldout-fraction": "export.heldout_fraction",
    "--heldout-count": "export.heldout_count",
}
"""The export flags (``contexts`` and ``longtracerl export`` take them)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    # `longtracerl export` (the re-export alone, and the trainer bundles) is registered by train/cli.py
    from longtracerl.cliargs import field_flags, stage_parser
    from longtracerl.contexts.config import ContextsConfig

    p = stage_parser(subparsers, "contexts", __doc__)
    field_flags(p, ContextsConfig, _CONTEXT_FLAGS, metavars={"tokenizer": "PATH_OR_NAME"})
    p.add_argument("--no-export", dest="no_export", action="store_true", help="Only write contexts.jsonl.")
    p.add_argument("--force", action="store_true", help="Rebuild contexts.jsonl from scratch.")
    field_flags(p, ContextsConfig, EXPORT_FLAGS)
    p.set_defaults(func=_handle_contexts)


def _handle_contexts(args: argparse.Namespace) -> int:
    from longtracerl.cliargs import run_stage_command
    from longtracerl.contexts.config import ContextsConfig
    from longtracerl.contexts.stage import build_contexts

    _, summary = run_stage_command(
        args,
        ContextsConfig,
        [*_CONTEXT_FLAGS.values(), *EXPORT_FLAGS.values()],
        build_contexts,
        set_={"export.enabled": False} if args.no_export else None,
        force=args.force,
    )
    print(json.dumps({k: v for k, v in summary.items() if k != "export"}, indent=2))
    if "export" in summary:
        ex = summary["export"]
        print(f"export: {ex['rows']} training rows, {ex['heldout']} held out -> {', '.join(ex['outputs'])}")
    return 0
