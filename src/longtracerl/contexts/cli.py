"""``longtracerl contexts``: assemble long contexts (gold + Tier-1 + Tier-2 + fill) and export training rows.

Reads RUN/questions.jsonl and RUN/trajectories.jsonl, writes RUN/contexts.jsonl (resumable),
RUN/contexts.rejected.jsonl and RUN/contexts.summary.json, then exports RUN/rows.jsonl,
RUN/heldout.jsonl (released format) and RUN/rows.parquet, RUN/heldout.parquet (verl) unless
--no-export.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from typing import Any

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


def add_field_flags(p: argparse.ArgumentParser, flags: dict[str, str]) -> None:
    """Add ``flags`` (flag -> dotted ContextsConfig field) with :func:`~longtracerl.cliargs.field_flag`."""
    from longtracerl.cliargs import field_flag
    from longtracerl.contexts.config import ContextsConfig

    for flag, field in flags.items():
        field_flag(
            p, flag, ContextsConfig, field, **({"metavar": "PATH_OR_NAME"} if field == "tokenizer" else {})
        )


def register(subparsers: argparse._SubParsersAction) -> None:
    # `longtracerl export` (the re-export alone, and the trainer bundles) is registered by train/cli.py
    from longtracerl.cliargs import stage_parser

    p = stage_parser(subparsers, "contexts", __doc__)
    add_field_flags(p, _CONTEXT_FLAGS)
    p.add_argument("--no-export", dest="no_export", action="store_true", help="Only write contexts.jsonl.")
    p.add_argument("--force", action="store_true", help="Rebuild contexts.jsonl from scratch.")
    add_field_flags(p, EXPORT_FLAGS)
    p.set_defaults(func=_handle_contexts)


def load_contexts_config(args: argparse.Namespace, flags: Iterable[str], **set_: Any) -> Any:
    """The ContextsConfig of --config (its ``contexts:`` section), --set and ``flags`` (dotted fields)."""
    from longtracerl.cliargs import stage_config
    from longtracerl.contexts.config import ContextsConfig

    return stage_config(ContextsConfig, args, flags, "contexts", **set_)


def _handle_contexts(args: argparse.Namespace) -> int:
    from contextlib import closing

    from longtracerl.cliargs import executor_from_args, require
    from longtracerl.contexts.stage import build_contexts

    require(args, "corpus", "run")
    cfg = load_contexts_config(
        args,
        [*_CONTEXT_FLAGS.values(), *EXPORT_FLAGS.values()],
        **({"export.enabled": False} if args.no_export else {}),
    )
    with closing(executor_from_args(args)) as executor:
        summary = build_contexts(
            cfg, args.corpus, args.run, force=args.force, progress=not args.no_progress, executor=executor
        )
    print(json.dumps({k: v for k, v in summary.items() if k != "export"}, indent=2))
    if "export" in summary:
        ex = summary["export"]
        print(f"export: {ex['rows']} training rows, {ex['heldout']} held out -> {', '.join(ex['outputs'])}")
    return 0
