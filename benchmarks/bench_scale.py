"""Scale benchmark: synthetic KILT corpora -> ``prepare_corpus``; pages/s, graph time, peak memory.

For each ``--pages`` size: writes (or reuses) a synthetic KILT file (``corpus synth``), then runs
``prepare_corpus`` in a fresh child process (so its peak memory is its own) with a thread that
samples the process RSS every 0.1 s. Prints per-phase wall and CPU time, pages/s, peak RSS (from
``resource.getrusage`` and per phase from the sampler), the load average, and, from the sizes run,
an extrapolation to the KILT snapshot (5.9 M pages):

- time: linear in pages, ``t(N) = t(N_max) * N / N_max`` per phase (the largest run's rate);
- memory, per phase (load, graph, index): ``fixed + per_page * N``, fitted on the two largest runs
  (one run: the fixed part is the RSS of a child that imported everything and loaded nothing); the
  overall peak is the largest phase.

    python benchmarks/bench_scale.py --pages 20000 100000                 # no search index
    python benchmarks/bench_scale.py --pages 100000 1000000 --index       # + tantivy index
    python benchmarks/bench_scale.py --pages 100000 --format jsonl         # generic JSONL input
    python benchmarks/bench_scale.py --pages 250000 500000 1000000 --index --keep   # sharded index (default)
    python benchmarks/bench_scale.py --pages 500000 1000000 --index-only --shard-mb 0  # kept corpora, one shard

``--shard-mb`` is the search index shard size (``SearchConfig.shard_mb``, millions of characters
of text; 0 = one shard, the build before shards); ``--index-only`` reuses corpora kept by an
earlier ``--keep`` run and times the index build alone (prepare phases then read 0). With
``--index``, 200 queries (page titles and 3-word samples of page text) are timed on the built
index (ranking only, k=10).

Results are also written to ``WORK/results.json``. Inputs are cached in ``--work`` by
(pages, seed, format); corpora are deleted after each run unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

KILT_PAGES = 5_900_000


class RssSampler(threading.Thread):
    """Samples this process's resident set size (``/proc/self/statm``) every ``interval`` s."""

    def __init__(self, interval: float = 0.1):
        super().__init__(daemon=True)
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self.anon: list[tuple[float, int]] = []
        self._halt = threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE")
        self.t0 = time.perf_counter()

    def rss(self) -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * self._page

    def rss_anon(self) -> int:
        """Anonymous resident memory (heap), without file pages mapped by tantivy's mmap reads."""
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
        return 0

    def run(self) -> None:
        while not self._halt.is_set():
            self.samples.append((time.perf_counter() - self.t0, self.rss()))
            self.anon.append((time.perf_counter() - self.t0, self.rss_anon()))
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()
        self.samples.append((time.perf_counter() - self.t0, self.rss()))

    def peak_between(self, a: float, b: float, anon: bool = False) -> int:
        vals = [r for t, r in (self.anon if anon else self.samples) if a <= t <= b]
        return max(vals) if vals else 0


def loadavg() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def child_prepare(args: argparse.Namespace) -> None:
    """Runs in a child process: one prepare, JSON result on stdout."""
    from longtracerl.corpus.config import CorpusConfig
    from longtracerl.corpus.prepare import prepare_corpus

    if args.index:
        import tantivy  # noqa: F401  (imported before the baseline sample, like numpy)
    import numpy  # noqa: F401

    sampler = RssSampler()
    baseline = sampler.rss()
    sampler.start()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter() - sampler.t0
    # the index is built by the same build_index call prepare makes, but here with --heap-mb
    if args.index_only:
        from longtracerl.corpus.prepare import read_manifest

        m = read_manifest(args.out)
        if m is None:
            raise SystemExit(f"{args.out}: no prepared corpus (run once with --keep)")
        tm = {"load_s": 0.0, "graph_s": 0.0, "index_s": 0.0, "total_s": 0.0}
    else:
        cfg = CorpusConfig(build_index=False, skip_bad=False)
        m = prepare_corpus(args.source, args.input, args.out, cfg, force=True, progress=False)
        tm = dict(m.timings)
    print(
        f"PROGRESS prepare done: {json.dumps(tm)}, RSS peak so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB",
        flush=True,
    )
    if args.index:
        from longtracerl.search.index import SearchConfig, build_index

        rss_index_start = sampler.rss()
        ti = time.perf_counter()
        imeta = build_index(
            args.out,
            progress=False,
            force=True,
            config=SearchConfig(writer_heap_mb=args.heap_mb, shard_mb=args.shard_mb),
        )
        tm["index_s"] = round(time.perf_counter() - ti, 3)
        tm["total_s"] = round(tm["total_s"] + tm["index_s"], 3)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    sampler.stop()
    query = time_queries(args.out, 200) if args.index else None
    bounds = {
        "load": (t0, t0 + tm["load_s"]),
        "graph": (t0 + tm["load_s"], t0 + tm["load_s"] + tm["graph_s"]),
        "index": (t0 + tm["load_s"] + tm["graph_s"], t0 + tm["total_s"]),
    }
    out = {
        "pages": m.counts["pages"],
        "links": m.counts["links"],
        "dangling": m.graph.get("dangling"),
        "timings": tm,
        "cpu_s": round(cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime, 2),
        "baseline_rss_mb": round(baseline / 1e6, 1),
        "peak_rss_mb": round(cpu1.ru_maxrss / 1024 * 1.048576, 1),  # ru_maxrss is KiB
        "phase_peak_rss_mb": {
            k: round(sampler.peak_between(a, b) / 1e6, 1) if (k != "index" or args.index) else 0.0
            for k, (a, b) in bounds.items()
        },
        "phase_peak_anon_mb": {
            k: round(sampler.peak_between(a, b, anon=True) / 1e6, 1) if (k != "index" or args.index) else 0.0
            for k, (a, b) in bounds.items()
        },
        "index_build": imeta.get("build") if args.index else None,
        "index_start_rss_mb": round(rss_index_start / 1e6, 1) if args.index else None,
        "query": query,
        "index_only": bool(args.index_only),
        "store_mb": round((Path(args.out) / "pages.sqlite").stat().st_size / 1e6, 1),
        "index_mb": round(
            sum(p.stat().st_size for p in (Path(args.out) / "index").rglob("*") if p.is_file()) / 1e6, 1
        )
        if args.index
        else None,
    }
    print("RESULT " + json.dumps(out))


def time_queries(corpus: str, n: int) -> dict:
    """Median / p95 ms of ``n`` ranking calls (k=10): page titles and 3-word samples of page text."""
    import random
    import statistics

    from longtracerl.search.index import open_retriever

    r = open_retriever(corpus)
    rng = random.Random(0)
    qs = []
    for _ in range(n // 2):
        page = r.store.by_index(rng.randrange(len(r)))
        words = page.text.split()
        qs += [page.title, " ".join(rng.sample(words, min(3, len(words))))]
    r._ranked(qs[0], 10)  # warm-up
    ms = []
    for q in qs:
        t = time.perf_counter()
        r._ranked(q, 10)
        ms.append((time.perf_counter() - t) * 1000)
    ms.sort()
    r.close()
    return {
        "queries": len(ms),
        "median_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 2),
    }


def synth_file(work: Path, pages: int, seed: int, fmt: str) -> tuple[Path, dict]:
    from longtracerl.corpus.synthetic import SynthSpec, write_synthetic

    path = work / f"synth-{fmt}-{pages}-s{seed}.jsonl.gz"
    info_path = path.with_suffix(".info.json")
    if path.exists() and info_path.exists():
        info = json.loads(info_path.read_text())
        info["reused"] = True
        return path, info
    la = loadavg()
    t = time.perf_counter()
    c0 = resource.getrusage(resource.RUSAGE_SELF)
    info = write_synthetic(path, pages, SynthSpec(seed=seed), fmt=fmt)
    c1 = resource.getrusage(resource.RUSAGE_SELF)
    info.update(
        wall_s=round(time.perf_counter() - t, 1),
        cpu_s=round(c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime, 1),
        loadavg=la,
    )
    info.pop("spec", None)
    info_path.write_text(json.dumps(info))
    info["reused"] = False
    return path, info


def _fit(points: list[tuple[int, float]], baseline: float) -> tuple[float, float]:
    """(fixed MB, MB per page): least squares over the points (two or more), the per-page term
    clamped at 0 (then fixed = the largest point); with one point, fixed = the import baseline."""
    if len(points) >= 2:
        n_mean = sum(n for n, _ in points) / len(points)
        m_mean = sum(m for _, m in points) / len(points)
        var = sum((n - n_mean) ** 2 for n, _ in points)
        per_page = sum((n - n_mean) * (m - m_mean) for n, m in points) / var
        if per_page <= 0:
            return max(m for _, m in points), 0.0
        return m_mean - per_page * n_mean, per_page
    n1, m1 = points[-1]
    return baseline, max(0.0, (m1 - baseline) / n1)


def _growth_per_doubling(runs: list[dict], key: str) -> float:
    """How much the time per page grew per doubling of pages, smallest to largest run (>= 0)."""
    lo, hi = runs[0], runs[-1]
    if len(runs) < 2 or not lo["timings"].get(key) or not hi["timings"].get(key):
        return 0.0
    per_lo, per_hi = lo["timings"][key] / lo["pages"], hi["timings"][key] / hi["pages"]
    doublings = math.log2(hi["pages"] / lo["pages"])
    return max(0.0, (per_hi / per_lo) ** (1 / doublings) - 1)


def extrapolate(runs: list[dict], target: int = KILT_PAGES) -> dict:
    """Time: linear in pages at the largest run's rate per phase (low estimate), and the same with
    the time per page growing by the factor per doubling seen between the smallest and largest runs
    (high estimate: SQLite B-tree inserts and dict growth are not quite O(1) per page). Memory per
    phase: fixed + per-page, least squares over all runs (a phase whose peak does not grow, like the
    sharded index build, gets a per-page term of 0)."""
    runs = sorted(runs, key=lambda r: r["pages"])
    big = runs[-1]
    scale = target / big["pages"]
    times = {k: round(v * scale, 0) for k, v in big["timings"].items() if k.endswith("_s")}
    times_high = {}
    growth = {}
    for k, v in big["timings"].items():
        if k.endswith("_s") and k != "total_s":
            growth[k] = round(_growth_per_doubling(runs, k), 3)
            times_high[k] = round(v * scale * (1 + growth[k]) ** math.log2(scale), 0)
    times_high["total_s"] = sum(times_high.values())
    phases = {}
    for phase in ("load", "graph", "index"):
        pts = [(r["pages"], r["phase_peak_rss_mb"][phase]) for r in runs if r["phase_peak_rss_mb"][phase] > 0]
        if not pts:
            continue
        fixed, per_page = _fit(pts, big["baseline_rss_mb"])
        phases[phase] = {
            "fixed_mb": round(fixed, 1),
            "bytes_per_page": round(per_page * 1e6, 1),
            "at_target_mb": round(fixed + per_page * target, 0),
            "measured_mb": [m for _, m in pts],
        }
    basis = (
        "least squares on " + ", ".join(f"{r['pages']:,}" for r in runs) + " pages"
        if len(runs) >= 2
        else f"one run ({big['pages']:,} pages), fixed = import baseline"
    )
    return {
        "pages": target,
        "time_s": times,
        "time_high_s": times_high,
        "growth_per_doubling": growth,
        "cpu_s": round(big["cpu_s"] * scale, 0),
        "peak_rss_mb": max(p["at_target_mb"] for p in phases.values()),
        "memory_model": {"phases": phases, "basis": basis},
        "store_mb": round(big["store_mb"] * scale, 0),
        "index_mb": round(big["index_mb"] * scale, 0) if big.get("index_mb") else None,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, nargs="+", default=[20_000, 100_000])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--format", choices=("kilt", "jsonl"), default="kilt")
    ap.add_argument("--index", action="store_true", help="Also build the tantivy search index.")
    ap.add_argument(
        "--heap-mb", type=int, default=256, help="tantivy writer heap (SearchConfig.writer_heap_mb), MB."
    )
    ap.add_argument(
        "--shard-mb",
        type=float,
        default=1000.0,
        help="Search index shard size (SearchConfig.shard_mb), millions of characters; 0 = one shard.",
    )
    ap.add_argument(
        "--index-only",
        action="store_true",
        help="Only build the index of corpora kept by an earlier --keep run (implies --index, --keep).",
    )
    ap.add_argument("--work", default="/tmp/longtracerl-bench-scale", help="Folder for inputs and corpora.")
    ap.add_argument("--keep", action="store_true", help="Keep the prepared corpora.")
    ap.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--source", help=argparse.SUPPRESS)
    ap.add_argument("--input", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.index_only:
        args.index = args.keep = True
    if args._child:
        child_prepare(args)
        return 0

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} CPUs, load average {loadavg()} (1/5/15 min)", flush=True)
    runs = []
    for n in args.pages:
        if args.index_only:
            path, info = work / "unused", {"reused": True}
        else:
            path, info = synth_file(work, n, args.seed, args.format)
        how = (
            "reused"
            if info["reused"]
            else f"{info['wall_s']}s wall, {info['cpu_s']}s CPU, load {info['loadavg']}"
        )
        print(
            f"[{n:,}] input {path.name}: {info['bytes'] / 1e6:,.0f} MB gz, {info['anchors']:,} anchors ({how}); "
            f"synth rate {n / info['wall_s']:,.0f} pages/s"
            if not info["reused"]
            else f"[{n:,}] input {path.name} ({how})",
            flush=True,
        )
        out = work / f"corpus-{args.format}-{n}"
        la0 = loadavg()
        source = "kilt" if args.format == "kilt" else "jsonl"
        cmd = [
            sys.executable,
            __file__,
            "--_child",
            "--source",
            source,
            "--input",
            str(path),
            "--out",
            str(out),
        ]
        if args.index:
            cmd += ["--index", "--heap-mb", str(args.heap_mb), "--shard-mb", str(args.shard_mb)]
        if args.index_only:
            cmd.append("--index-only")
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        lines = []
        for line in proc.stdout:  # live progress lines (a long run killed midway still told something)
            lines.append(line)
            if line.startswith("PROGRESS "):
                print(f"[{n:,}] {line[9:].rstrip()} (load avg {loadavg()})", flush=True)
        proc.wait()
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            print("".join(lines), file=sys.stderr)
            return 1
        res = json.loads(next(ln for ln in lines if ln.startswith("RESULT "))[7:])
        res.update(loadavg_start=la0, loadavg_end=loadavg(), child_wall_s=round(wall, 1), format=args.format)
        runs.append(res)
        tm = res["timings"]
        print(
            f"[{n:,}] prepare: load {tm['load_s']:.1f}s ({n / max(tm['load_s'], 1e-9):,.0f} pages/s)  graph {tm['graph_s']:.1f}s  "
            f"index {tm['index_s']:.1f}s  total {tm['total_s']:.1f}s wall, {res['cpu_s']}s CPU; "
            f"links {res['links']:,}; peak RSS {res['peak_rss_mb']:,.0f} MB "
            f"(load {res['phase_peak_rss_mb']['load']:,.0f} / graph {res['phase_peak_rss_mb']['graph']:,.0f} / "
            f"index {res['phase_peak_rss_mb']['index']:,.0f}; baseline {res['baseline_rss_mb']:.0f}; "
            f"anonymous (heap) load/graph/index {res['phase_peak_anon_mb']['load']:,.0f} / "
            f"{res['phase_peak_anon_mb']['graph']:,.0f} / {res['phase_peak_anon_mb']['index']:,.0f}); "
            f"store {res['store_mb']:,.0f} MB"
            + (f", index {res['index_mb']:,.0f} MB" if res["index_mb"] else "")
            + f"; load avg {la0} -> {res['loadavg_end']}",
            flush=True,
        )
        if res["index_build"]:
            b, q = res["index_build"], res["query"]
            print(
                f"[{n:,}] index: {b['shards']} shards, {b['segments']} segments (shard_mb {b['shard_mb']}, heap "
                f"{b['writer_heap_mb']} MB); RSS at index start {res['index_start_rss_mb']:,.0f} MB; "
                f"{q['queries']} queries: median {q['median_ms']} ms, p95 {q['p95_ms']} ms",
                flush=True,
            )
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    ex = extrapolate(runs)
    t, th = ex["time_s"], ex["time_high_s"]
    print(
        f"extrapolated to {ex['pages']:,} pages (time linear in pages at the {runs[-1]['pages']:,}-page rate): "
        f"load {t['load_s']:,.0f}s  graph {t['graph_s']:,.0f}s  index {t['index_s']:,.0f}s  "
        f"total {t['total_s']:,.0f}s wall ({ex['cpu_s']:,.0f}s CPU); store {ex['store_mb']:,.0f} MB"
        + (f", index {ex['index_mb']:,.0f} MB" if ex["index_mb"] else "")
    )
    print(
        f"  with the per-page time growing as measured per doubling {ex['growth_per_doubling']}: "
        f"load {th['load_s']:,.0f}s  graph {th['graph_s']:,.0f}s  index {th['index_s']:,.0f}s  "
        f"total {th['total_s']:,.0f}s"
    )
    for phase, p in ex["memory_model"]["phases"].items():
        print(
            f"  peak RSS {phase}: {p['fixed_mb']:.0f} MB + {p['bytes_per_page']:.0f} B/page "
            f"-> {p['at_target_mb']:,.0f} MB ({ex['memory_model']['basis']}; measured {p['measured_mb']})"
        )
    print(f"  peak RSS overall: {ex['peak_rss_mb']:,.0f} MB")
    results = work / "results.json"
    old = json.loads(results.read_text()) if results.exists() else []
    old.append(
        {
            "args": {k: v for k, v in vars(args).items() if not k.startswith("_")},
            "runs": runs,
            "extrapolation": ex,
        }
    )
    results.write_text(json.dumps(old, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
