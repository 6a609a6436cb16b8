"""Corpus stage benchmark: ingestion, link-graph build, pages, links, peak memory.

Runs ``prepare_corpus`` on an embedded corpus (no search index, which the search benchmark
measures), then times the title-mention graph build alone ``--repeat`` times (median), and with
``--variants`` shows what each title filter costs in links and hop-usable pages.

    python benchmarks/bench_corpus.py                       # HotpotQA, 66,581 pages
    python benchmarks/bench_corpus.py --source wiki-summaries
    python benchmarks/bench_corpus.py --variants            # filter trade-off table
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from longtracerl.corpus.config import CorpusConfig
from longtracerl.corpus.links import build_mention_graph
from longtracerl.corpus.prepare import prepare_corpus
from longtracerl.corpus.store import PageStore

VARIANTS: dict[str, dict] = {
    "no filters, directed": dict(
        symmetric_mentions=False,
        qualifier_evidence=False,
        ambiguous_base="first",
        common_word_min_pages=10**9,
        max_mention_share=1.0,
        qualified_max_mention_share=1.0,
    ),
    "+ common-word filter": dict(
        symmetric_mentions=False,
        qualifier_evidence=False,
        ambiguous_base="first",
        max_mention_share=1.0,
        qualified_max_mention_share=1.0,
    ),
    "+ frequency caps": dict(symmetric_mentions=False, qualifier_evidence=False, ambiguous_base="first"),
    "+ qualifier evidence (default rules), directed": dict(symmetric_mentions=False),
    "default (symmetric)": {},
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def graph_figures(g) -> str:
    d = g.out_degree()
    return f"links {g.num_links:>8,}  mean out {d.mean():5.2f}  >3 links {(d > 3).mean():6.1%}  none {(d == 0).mean():6.1%}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", default="hotpotqa", choices=["hotpotqa", "wiki-summaries"])
    ap.add_argument("--repeat", type=int, default=3, help="Graph-only builds to time (median).")
    ap.add_argument("--variants", action="store_true", help="Also print the title-filter trade-off table.")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "corpus"
        t0, c0 = time.perf_counter(), time.process_time()
        m = prepare_corpus(args.source, None, out, CorpusConfig(build_index=False))
        wall, cpu_prepare = time.perf_counter() - t0, time.process_time() - c0
        rss_prepare = peak_rss_mb()
        print(f"source: {args.source}  ({m.input})")
        print(f"load average (1 min): {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(f"pages: {m.counts['pages']:,}   skipped: {m.counts['skipped']}")
        print(
            f"links: {m.counts['links']:,} ({m.graph['method']}; {m.graph.get('mention_links', 0):,} directed mentions)"
        )
        print(
            f"prepare: load+store {m.timings['load_s']:.2f}s, graph {m.timings['graph_s']:.2f}s, "
            f"total {wall:.2f}s wall, {cpu_prepare:.2f}s CPU; peak RSS {rss_prepare:.0f} MB"
        )

        store = PageStore(out)
        t0 = time.perf_counter()
        pages = list(store.iter_pages())
        read_s = time.perf_counter() - t0
        titles = [p.title for p in pages]
        texts = [p.text for p in pages]
        del pages
        print(f"store read-back of all pages: {read_s:.2f}s")
        times, cpu = [], []
        for _ in range(max(1, args.repeat)):
            t0, c0 = time.perf_counter(), time.process_time()
            g, _ = build_mention_graph(titles, texts, CorpusConfig())
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        print(
            f"mention graph build alone: median {statistics.median(times):.2f}s wall, "
            f"{statistics.median(cpu):.2f}s CPU over {len(times)} (wall min {min(times):.2f}s, max {max(times):.2f}s)"
        )
        print(f"peak RSS after graph builds: {peak_rss_mb():.0f} MB")

        if args.variants:
            print("\ntitle-filter trade-off:")
            for name, kw in VARIANTS.items():
                g, _ = build_mention_graph(titles, texts, CorpusConfig(**kw))
                ind = g.in_degree()
                top = ", ".join(f"{titles[i]} ({ind[i]:,})" for i in np.argsort(-ind)[:3])
                print(f"  {name:<48} {graph_figures(g)}  top in: {top}")
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
