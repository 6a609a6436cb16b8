"""``longtracerl corpus prepare|stats``: build a corpus folder, print its figures.

Imports nothing heavy at module level (the loaders and numpy are imported by the handlers).
"""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    from longtracerl.cliargs import add_config_args, command_group, field_flag
    from longtracerl.corpus.config import CorpusConfig

    sub = command_group(
        subparsers,
        "corpus",
        "Load a document corpus into a page store and build its link graph.",
        "Load a document corpus into CORPUS/ (pages.sqlite, graph.npz, index/, manifest.json).",
    )

    prep = sub.add_parser(
        "prepare",
        help="Load pages, build the link graph and the search index (resumable, idempotent).",
        description=(
            "Load pages from --source (with no --input: the embedded copy of hotpotqa or wiki-summaries), "
            "build the link graph (anchors, or title mentions) and the search index. A second run with "
            "the same source, input and config is skipped."
        ),
    )
    prep.add_argument(
        "--source",
        required=True,
        help="hotpotqa | kilt | jsonl | wiki-summaries, or module:attr for your own loader.",
    )
    prep.add_argument(
        "--input", metavar="PATH", help="Input file (.gz accepted); default: the embedded copy."
    )
    prep.add_argument("--out", required=True, metavar="DIR", help="Corpus folder to write.")
    field_flag(prep, "--skip-bad", CorpusConfig, "skip_bad")
    prep.add_argument("--force", action="store_true", help="Rebuild even when the folder is complete.")
    prep.add_argument("--no-progress", action="store_true", help="No progress bars.")
    add_config_args(prep)
    prep.set_defaults(func=_prepare)

    stats = sub.add_parser("stats", help="Print pages, links, out-degree distribution and hubs.")
    stats.add_argument("dir", metavar="DIR", help="A prepared corpus folder.")
    stats.add_argument("--top", type=int, default=10, help="How many top in-degree pages to list.")
    stats.add_argument("--json", action="store_true", help="Print JSON instead of text.")
    stats.set_defaults(func=_stats)

    synth = sub.add_parser(
        "synth",
        help="Write a synthetic KILT-shaped corpus (generated words, power-law links) of any size.",
        description=(
            "Write N synthetic pages in the KILT knowledge-source format (or generic JSONL) for scale "
            "tests: log-normal page lengths, power-law in-degree, deterministic by --seed, streamed "
            "(constant memory). Nothing in it is third-party text."
        ),
    )
    synth.add_argument("--pages", type=int, required=True, metavar="N", help="Number of pages.")
    synth.add_argument(
        "--out", required=True, metavar="FILE", help="Output file (.jsonl, or .jsonl.gz for gzip)."
    )
    synth.add_argument("--seed", type=int, default=0, help="Random seed (default 0).")
    synth.add_argument(
        "--format",
        choices=("kilt", "jsonl"),
        default="kilt",
        help="kilt (default) or jsonl ({id, title, text, links}).",
    )
    synth.add_argument("--no-progress", action="store_true", help="No progress bar.")
    synth.set_defaults(func=_synth)


def _synth(args: argparse.Namespace) -> int:
    from longtracerl.config import ConfigError
    from longtracerl.corpus.synthetic import SynthSpec, write_synthetic

    if args.pages < 1:
        raise ConfigError(f"--pages must be >= 1 (got {args.pages})")
    info = write_synthetic(
        args.out, args.pages, SynthSpec(seed=args.seed), fmt=args.format, progress=not args.no_progress
    )
    print(
        f"{args.out}: {info['pages']:,} pages, {info['anchors']:,} anchors, "
        f"{info['bytes'] / 1e6:,.1f} MB ({info['format']}, seed {args.seed})"
    )
    return 0


def _prepare(args: argparse.Namespace) -> int:
    from longtracerl.cliargs import stage_config
    from longtracerl.corpus.config import CorpusConfig
    from longtracerl.corpus.prepare import prepare_corpus

    cfg = stage_config(CorpusConfig, args, ["skip_bad"], "corpus")
    m = prepare_corpus(
        args.source, args.input, args.out, cfg, force=args.force, progress=not args.no_progress
    )
    c = m.counts
    if m.skipped_run:
        print(
            f"{args.out}: already complete for this source, input and config ({m.config_hash}); nothing to do"
        )
    skipped = ", ".join(f"{k} {v:,}" for k, v in c["skipped"].items()) or "none"
    print(f"pages: {c['pages']:,}   links: {c['links']:,} ({m.graph['method']})   skipped: {skipped}")
    if c["skipped_total"]:
        print(f"skipped records: {args.out}/skipped.jsonl")
    t = m.timings
    print(
        f"time: load {t['load_s']:.1f}s  graph {t['graph_s']:.1f}s  index {t['index_s']:.1f}s  total {t['total_s']:.1f}s"
    )
    return 0


def _stats(args: argparse.Namespace) -> int:
    from longtracerl.corpus.stats import corpus_stats, format_stats

    s = corpus_stats(args.dir, top=args.top)
    print(json.dumps(s, indent=2) if args.json else format_stats(s))
    return 0
