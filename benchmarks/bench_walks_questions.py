"""Walks per second, questions per second and segment survival on the embedded HotpotQA corpus.

Usage:
    python benchmarks/bench_walks_questions.py [--corpus /tmp/corpus_hp] [--walks 500]
        [--hops 8,6,5,4] [--chooser related] [--seed 0]

The corpus folder is made with ``longtracerl corpus prepare --source hotpotqa --out DIR`` when
that command is available; otherwise (or with ``--self-build``) this script builds a PageStore
and a title-mention link graph itself (titles of 4+ characters, trailing ``(qualifier)``
dropped, whole-word longest matches, no self-links), as the corpus stage does.
Prints: corpus build time, for each hop count the walks/s, kept segments and rejections by
reason (survival = kept / attempted segments), then questions/s of the masked composer and its
rejections, and the peak memory.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path


def self_build_hotpotqa(out: Path) -> None:
    """PageStore + title-mention graph over the 66,581 HotpotQA paragraphs (fallback builder)."""
    from longtracerl.assets import asset_path
    from longtracerl.corpus.graph import LinkGraph
    from longtracerl.corpus.store import PageStore
    from longtracerl.records import Page
    from longtracerl.text import PatternMatcher

    data = json.loads(asset_path("hotpotqa").read_text(encoding="utf-8"))
    pages: dict[str, str] = {}
    for ex in data:
        for title, sents in ex["context"]:
            if title not in pages:
                pages[title] = "".join(sents).strip()
    titles = list(pages)
    out.mkdir(parents=True, exist_ok=True)
    with PageStore.create(out) as w:
        for i, t in enumerate(titles):
            w.add(Page(id=f"hp{i}", title=t, text=pages[t] or t))
    forms = [re.sub(r"\s*\([^()]*\)\s*$", "", t) for t in titles]
    matcher = PatternMatcher([f if len(f) >= 4 else "" for f in forms])
    src, dst = [], []
    for i, t in enumerate(titles):
        for _s, _e, j in matcher.mentions(pages[t], word_boundary=True):
            for owner in matcher._owners[matcher.patterns[j]]:
                src.append(i)
                dst.append(owner)
    LinkGraph.from_edges(len(titles), src, dst).save(out / "graph.npz")


def ensure_corpus(path: Path, self_build: bool) -> float:
    if (path / "pages.sqlite").exists() and (path / "graph.npz").exists():
        return 0.0
    t0 = time.perf_counter()
    if not self_build:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "longtracerl.cli",
                "corpus",
                "prepare",
                "--source",
                "hotpotqa",
                "--out",
                str(path),
            ],
            capture_output=True,
            text=True,
        )
        if proc.returncode == 0 and (path / "graph.npz").exists():
            return time.perf_counter() - t0
        print(f"[corpus prepare unavailable ({proc.returncode}); building the corpus here]")
        shutil.rmtree(path, ignore_errors=True)
    self_build_hotpotqa(path)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="/tmp/corpus_hp")
    ap.add_argument("--walks", type=int, default=500)
    ap.add_argument("--hops", default="8,6,5,4")
    ap.add_argument("--chooser", default="related")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--self-build", action="store_true")
    ap.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        help="Walks config override KEY=VALUE (repeatable).",
    )
    ap.add_argument("--no-questions", action="store_true", help="Measure walks only.")
    args = ap.parse_args()

    from longtracerl.config import load_config, parse_overrides
    from longtracerl.corpus.graph import LinkGraph
    from longtracerl.questions import QuestionsConfig, run_questions
    from longtracerl.walks import WalksConfig, run_walks

    corpus = Path(args.corpus)
    built = ensure_corpus(corpus, args.self_build)
    graph = LinkGraph.load(corpus)
    deg = graph.out_degree()
    print(
        f"corpus {corpus}: {graph.num_pages} pages, {graph.num_links} links, mean out-degree "
        f"{deg.mean():.2f}, {100 * (deg > 3).mean():.1f}% with >3 links (built in {built:.1f} s)"
    )
    from longtracerl.corpus.store import PageStore
    from longtracerl.walks import make_chooser

    t0 = time.perf_counter()
    make_chooser(load_config(WalksConfig, overrides={"chooser": args.chooser}), PageStore(corpus))
    setup = time.perf_counter() - t0
    print(
        f"chooser '{args.chooser}' setup (IDF estimate for 'related'): {setup:.2f} s, included in each walks run below"
    )
    tmp = Path(tempfile.mkdtemp(prefix="bench_wq_"))
    for hops in [int(h) for h in args.hops.split(",")]:
        run = tmp / f"h{hops}"
        cfg = load_config(
            WalksConfig,
            overrides={
                "num_walks": args.walks,
                "hops": hops,
                "seed": args.seed,
                "chooser": args.chooser,
                **parse_overrides(args.overrides),
            },
        )
        t0 = time.perf_counter()
        stats = run_walks(cfg, corpus, run, progress=False)
        dt = time.perf_counter() - t0
        attempted = stats.attempted
        print(
            f"walks hops={hops} min_unique={cfg.effective_min_unique}: {stats.kept} kept / {attempted} "
            f"segments ({100 * stats.kept / max(attempted, 1):.1f}% survive) in {dt:.2f} s = "
            f"{stats.kept / dt:.1f} walks/s (chooser set-up included); "
            f"rejected {dict(stats.rejected)}; jumps {dict(stats.jumps)}"
        )
        if args.no_questions:
            continue
        qcfg = load_config(QuestionsConfig, overrides={"composer": "masked"})
        t0 = time.perf_counter()
        qstats = run_questions(qcfg, corpus, run, progress=False)
        dt = time.perf_counter() - t0
        total = qstats.written + sum(qstats.rejected.values())
        qs = [json.loads(line) for line in (run / "questions.jsonl").read_text().splitlines()]
        kinds = Counter(q["question"].rsplit(". ", 1)[-1] for q in qs)
        mean_len = sum(len(q["question"]) for q in qs) / max(len(qs), 1)
        mean_hops = sum(len(q["label"]["gold_page_ids"]) for q in qs) / max(len(qs), 1)
        print(
            f"  questions (masked): {qstats.written} / {total} walks in {dt:.2f} s = "
            f"{total / dt:.0f} walks/s, {qstats.written / dt:.0f} questions/s; mean {mean_len:.0f} chars, "
            f"{mean_hops:.2f} hops; rejected {dict(qstats.rejected)}; asks {dict(kinds.most_common(6))}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS): {peak:.0f} MiB")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
