"""Benchmark: context assembly and row export at 32K and 128K tokens on the embedded corpus.

Inputs are SYNTHETIC trajectories over the real embedded corpus (HotpotQA dev pages, 66,581
Wikipedia intros) and its real BM25 index: for each HotpotQA question, gold pages = its two
supporting-fact pages, rubrics = their titles, and one correct "trajectory" made by real BM25
searches (the question, then each gold title; top 10 shown = seen, top 3 of each opened, gold
cited). No agent runs here; this measures the contexts and export stages only.

Usage:
    python benchmarks/bench_contexts.py                       # 100 x 32K, 100 x 128K, 2815 x 128K, 2815 walks
    python benchmarks/bench_contexts.py --only 32768:100      # one case
    python benchmarks/bench_contexts.py --only walks:2815 --walks-corpus DIR   # walks only
    python benchmarks/bench_contexts.py --corpus DIR          # reuse a prepared corpus (needs index/)

Each case runs in its own process (so peak memory is per case) and prints contexts/s, rows/s
and peak RSS (``resource.getrusage``), plus the peak RSS of each phase (a thread samples
``/proc/self/statm`` every 0.1 s): assembling contexts, writing rows.

``walks:N`` runs the walks stage (default ``WalksConfig``: 8-page segments, the ``related``
chooser) to N kept walks on ``--walks-corpus`` (a prepared corpus with ``graph.npz``; default: a
synthetic KILT-shaped corpus of 100,000 pages made once in the cache with ``corpus synth`` and
``corpus prepare``, as walks on the 66k HotpotQA intros survive too rarely at 8 pages). Walks do
not depend on the token budget; they are the stage before the questions of a 128K run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

DEFAULT_CASES = ["32768:100", "131072:100", "131072:2815", "walks:2815"]


class PeakSampler(threading.Thread):
    """Largest resident set size (``/proc/self/statm``) per named phase, sampled every 0.1 s."""

    def __init__(self):
        super().__init__(daemon=True)
        self.phase = "setup"
        self.peaks: dict[str, int] = {}
        self._halt = threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE")

    def sample(self) -> None:
        with open("/proc/self/statm") as fh:
            rss = int(fh.read().split()[1]) * self._page
        self.peaks[self.phase] = max(self.peaks.get(self.phase, 0), rss)

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(0.1)

    def enter(self, phase: str) -> None:
        self.sample()
        self.phase = phase
        self.sample()

    def stop(self) -> dict[str, float]:
        self.sample()
        self._halt.set()
        self.join()
        return {k: round(v / 2**20, 1) for k, v in self.peaks.items()}


def walks_corpus(cache: Path) -> Path:
    """A synthetic KILT-shaped corpus of 100,000 pages with its link graph (built once, reused)."""
    from longtracerl.corpus.config import CorpusConfig
    from longtracerl.corpus.prepare import prepare_corpus, read_manifest
    from longtracerl.corpus.synthetic import SynthSpec, write_synthetic

    out = cache / "synth-100k"
    if read_manifest(out) is None:
        src = cache / "synth-100k.jsonl.gz"
        write_synthetic(src, 100_000, SynthSpec(seed=0), fmt="jsonl")
        prepare_corpus("jsonl", src, out, CorpusConfig(build_index=False))
        src.unlink()
    return out


def run_walks_case(corpus: Path, n: int) -> dict:
    from longtracerl.config import load_config
    from longtracerl.walks import WalksConfig, run_walks

    tmp = Path(tempfile.mkdtemp(prefix=f"bench-walks-{n}-"))
    cfg = load_config(WalksConfig, overrides={"num_walks": n})
    sampler = PeakSampler()
    sampler.start()
    sampler.enter("walks")
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    stats = run_walks(cfg, corpus, tmp, progress=False)
    dt = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    peaks = sampler.stop()
    out = {
        "walks": stats.kept,
        "attempted": stats.attempted,
        "hops": cfg.hops,
        "chooser": cfg.chooser,
        "walks_s": round(dt, 2),
        "walks_per_s": round(stats.kept / dt, 2),
        "cpu_s": round((ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime), 1),
        "load_avg_1m": round(os.getloadavg()[0], 1),
        "corpus": str(corpus),
        "peak_rss_walks_mb": peaks.get("walks"),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    shutil.rmtree(tmp, ignore_errors=True)
    return out


def bench_corpus(cache: Path) -> Path:
    """The embedded HotpotQA pages in a PageStore + BM25 index (built once, reused)."""
    from longtracerl.assets import asset_path
    from longtracerl.corpus.store import PageStore
    from longtracerl.records import Page
    from longtracerl.search.index import build_index

    corpus = cache / "corpus"
    if not (corpus / "pages.sqlite").exists():
        data = json.loads(asset_path("hotpotqa").read_text(encoding="utf-8"))
        seen: set[str] = set()
        with PageStore.create(corpus) as w:
            for ex in data:
                for title, sents in ex["context"]:
                    if title in seen:
                        continue
                    seen.add(title)
                    w.add(Page(id=f"hp{len(seen) - 1}", title=title, text="".join(sents).strip()))
    build_index(corpus, progress=False)
    return corpus


def make_run(corpus: Path, run: Path, n: int) -> None:
    """questions.jsonl + trajectories.jsonl (synthetic, see the module docstring)."""
    from longtracerl.assets import asset_path
    from longtracerl.corpus.store import PageStore
    from longtracerl.records import Label, Provenance, Question, Trajectory, write_jsonl
    from longtracerl.search.index import open_retriever

    store, ret = PageStore(corpus), open_retriever(corpus)
    data = json.loads(asset_path("hotpotqa").read_text(encoding="utf-8"))
    qs, ts = [], []
    for ex in data:
        if len(qs) >= n:
            break
        titles = list(dict.fromkeys(t for t, _ in ex["supporting_facts"]))
        gold = [store.find_title(t) for t in titles]
        if not ex["answer"].strip() or None in gold or len(gold) < 2:
            continue
        qid = f"hq{len(qs)}"
        qs.append(
            Question(
                question_id=qid,
                question=ex["question"],
                label=Label(answer=ex["answer"], rubrics=titles, gold_page_ids=gold),
                provenance=Provenance(stage="questions", producer="bench:hotpotqa"),
            )
        )
        seen, opened = [], []
        for query in [ex["question"], *titles]:
            hits = [h.page_id for h in ret.search(query, 10)]
            seen += hits
            opened += hits[:3]
        ts.append(
            Trajectory(
                question_id=qid,
                attempt=1,
                policy="bench-synthetic",
                seen_ids=list(dict.fromkeys(seen)),
                opened_ids=list(dict.fromkeys(opened + gold)),
                cited_ids=gold,
                correct=True,
                provenance=Provenance(stage="agent", producer="bench-synthetic"),
            )
        )
    write_jsonl(run / "questions.jsonl", qs)
    write_jsonl(run / "trajectories.jsonl", ts)


def run_case(corpus: Path, target: int, n: int, keep: bool) -> dict:
    from longtracerl.contexts.config import ContextsConfig
    from longtracerl.contexts.export import export_rows
    from longtracerl.contexts.stage import build_contexts

    tmp = Path(tempfile.mkdtemp(prefix=f"bench-ctx-{target}-{n}-"))
    make_run(corpus, tmp, n)
    cfg = ContextsConfig(target_tokens=target, export={"enabled": False})
    sampler = PeakSampler()
    sampler.start()
    sampler.enter("contexts")
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    s = build_contexts(cfg, corpus, tmp, progress=False)
    t_ctx = time.perf_counter() - t0
    sampler.enter("rows")
    t1 = time.perf_counter()
    ex = export_rows(tmp, corpus, cfg.export)
    t_exp = time.perf_counter() - t1
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    peaks = sampler.stop()
    cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    rows = ex["rows"] + ex["heldout"]
    sizes = {f: (tmp / f).stat().st_size for f in ex["outputs"]}
    out = {
        "target_tokens": target,
        "questions": n,
        "contexts": s["contexts"],
        "mean_tokens": s["tokens"]["mean"],
        "max_tokens": s["tokens"]["max"],
        "over_budget": s["over_budget"],
        "docs_per_context": s["docs_per_context"],
        "contexts_s": round(t_ctx, 2),
        "contexts_per_s": round(s["contexts"] / t_ctx, 2),
        "export_s": round(t_exp, 2),
        "rows_per_s": round(rows / t_exp, 2),
        "total_s": round(t_ctx + t_exp, 2),
        "cpu_s": round(cpu, 1),
        "load_avg_1m": round(os.getloadavg()[0], 1),
        "output_mb": {k: round(v / 2**20, 1) for k, v in sizes.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_contexts_mb": peaks.get("contexts"),
        "peak_rss_rows_mb": peaks.get("rows"),
        "run_dir": str(tmp),
    }
    if not keep:
        for f in tmp.iterdir():
            if f.is_file():
                f.unlink()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, help="Prepared corpus folder with index/.")
    ap.add_argument(
        "--cache", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "longtracerl-bench"
    )
    ap.add_argument("--only", action="append", help="TARGET:N (repeatable).")
    ap.add_argument("--keep", action="store_true", help="Keep the run folders.")
    ap.add_argument(
        "--warm",
        action="store_true",
        help="Reuse the user cache of page token counts (default: a fresh cache per case, as on a new machine).",
    )
    ap.add_argument(
        "--walks-corpus",
        type=Path,
        help="Prepared corpus with graph.npz for the walks:N case (default: a synthetic 100k-page one).",
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    cases = args.only or DEFAULT_CASES
    if args.child and args.child.startswith("walks:"):
        print(json.dumps(run_walks_case(args.walks_corpus, int(args.child.split(":")[1]))))
        return
    corpus = args.corpus or bench_corpus(args.cache)
    if args.child:
        target, n = (int(x) for x in args.child.split(":"))
        print(json.dumps(run_case(corpus, target, n, args.keep)))
        return
    if any(c.startswith("walks:") for c in cases) and args.walks_corpus is None:
        args.walks_corpus = walks_corpus(args.cache)
    print(f"corpus: {corpus}; cpus: {os.cpu_count()}; page-token cache: {'warm' if args.warm else 'cold'}")
    for case in cases:
        cmd = [sys.executable, __file__, "--corpus", str(corpus), "--child", case]
        if case.startswith("walks:"):
            cmd += ["--walks-corpus", str(args.walks_corpus)]
        if args.keep:
            cmd.append("--keep")
        env = dict(os.environ)
        if not args.warm:
            env["LONGTRACERL_CACHE"] = tempfile.mkdtemp(prefix="bench-cache-")
        res = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
        if res.returncode != 0:
            print(f"{case}: FAILED\n{res.stderr[-3000:]}")
            continue
        r = json.loads(res.stdout.strip().splitlines()[-1])
        if case.startswith("walks:"):
            print(
                f"walks ({r['hops']} pages, {r['chooser']}) x {r['walks']:>5}: {r['walks_s']:7.1f} s "
                f"({r['walks_per_s']:7.1f} walks/s, {r['attempted']} segments walked), CPU {r['cpu_s']} s, "
                f"load {r['load_avg_1m']}, peak RSS {r['peak_rss_walks_mb']} MB; corpus {r['corpus']}"
            )
            continue
        print(
            f"{r['target_tokens']:>7} tok x {r['contexts']:>5}: contexts {r['contexts_s']:7.1f} s "
            f"({r['contexts_per_s']:7.1f}/s), export {r['export_s']:6.1f} s ({r['rows_per_s']:6.1f} rows/s), "
            f"total {r['total_s']:7.1f} s (CPU {r['cpu_s']} s, load {r['load_avg_1m']}), mean {r['mean_tokens']} tok (max {r['max_tokens']}, "
            f"over budget {r['over_budget']}), {r['docs_per_context']} docs/ctx, "
            f"peak RSS {r['peak_rss_mb']} MB (assembling contexts {r['peak_rss_contexts_mb']} MB, "
            f"writing rows {r['peak_rss_rows_mb']} MB), files {r['output_mb']} MB"
        )


if __name__ == "__main__":
    main()
