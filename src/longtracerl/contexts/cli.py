"""``longtracerl contexts`` (assemble + export) and ``longtracerl export`` (re-export only)."""

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
    from longtracerl.cli import add_config_args, add_executor_args

    p = subparsers.add_parser(
        "contexts",
        help="Assemble long contexts (gold + Tier-1 + Tier-2 + fill) and export training rows.",
        description=(
            "Reads RUN/questions.jsonl and RUN/trajectories.jsonl, writes RUN/contexts.jsonl "
            "(resumable), RUN/contexts.rejected.jsonl and RUN/contexts.summary.json, then exports "
            "RUN/rows.jsonl, RUN/heldout.jsonl (released format) and RUN/rows.parquet, "
            "RUN/heldout.parquet (verl) unless --no-export."
        ),
    )
    p.add_argument("--corpus", required=True, metavar="DIR", help="Corpus folder (pages.sqlite, index/).")
    p.add_argument("--run", required=True, metavar="RUN", help="Run folder.")
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
    p.add_argument("--no-progress", dest="no_progress", action="store_true")
    _add_export_flags(p)
    add_config_args(p)
    add_executor_args(p)
    p.set_defaults(func=_handle_contexts)

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
    _add_export_flags(e)
    e.add_argument("--seed", type=int, help="Seed of the held-out split.")
    add_config_args(e, example="heldout_fraction=0.1 (with verl|slime: --set nnodes=2)")
    e.set_defaults(func=_handle_export)


def _nested(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for dotted, value in flat.items():
        node = out
        keys = dotted.split(".")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return out


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _section(path: str | None, name: str) -> str | None:
    """Use the ``name:`` section when the file is a whole-pipeline config."""
    if not path:
        return None
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
    except (OSError, yaml.YAMLError):
        return None  # load_config reports the problem precisely
    return name if isinstance(data, dict) and isinstance(data.get(name), dict) else None


def load_contexts_config(args: argparse.Namespace, flags: dict[str, str]):
    from longtracerl.config import load_config, parse_overrides
    from longtracerl.contexts.config import ContextsConfig

    flat = {
        field: getattr(args, flag) for flag, field in flags.items() if getattr(args, flag, None) is not None
    }
    merged = _merge(parse_overrides(args.overrides), _nested(flat))
    return load_config(ContextsConfig, args.config, merged, section=_section(args.config, "contexts"))


def _handle_contexts(args: argparse.Namespace) -> int:
    from contextlib import closing

    from longtracerl.cli import executor_from_args
    from longtracerl.contexts.stage import build_contexts

    cfg = load_contexts_config(args, _CONTEXT_FLAGS)
    if args.no_export:
        cfg = cfg.model_copy(update={"export": cfg.export.model_copy(update={"enabled": False})})
    with closing(executor_from_args(args)) as executor:
        summary = build_contexts(
            args.run, args.corpus, cfg, force=args.force, progress=not args.no_progress, executor=executor
        )
    print(json.dumps({k: v for k, v in summary.items() if k != "export"}, indent=2))
    if "export" in summary:
        ex = summary["export"]
        print(f"export: {ex['rows']} training rows, {ex['heldout']} held out -> {', '.join(ex['outputs'])}")
    return 0


def _handle_export(args: argparse.Namespace) -> int:
    if args.target:
        from longtracerl.train.export import handle_export_target

        return handle_export_target(args)
    if not args.run:
        from longtracerl.config import ConfigError

        raise ConfigError("export: --run RUN is required")
    from longtracerl.contexts.export import export_rows

    flags = {k: v for k, v in _CONTEXT_FLAGS.items() if v.startswith("export.")}
    cfg = load_contexts_config(args, flags)
    export_cfg = cfg.export if args.seed is None else cfg.export.model_copy(update={"seed": args.seed})
    summary = export_rows(args.run, args.corpus, export_cfg, force=args.force)
    print(json.dumps(summary, indent=2))
    return 0
