"""Benchmark the BM25 backends (tantivy vs bm25s) on the 66,581 HotpotQA pages.

    python benchmarks/bench_search.py [--queries 1000] [--workdir DIR]

Builds a page store from the HotpotQA dev "distractor" file (one page per unique title, text =
the joined sentences), then, each in a fresh subprocess so peak memory is its own:

- tantivy: ``build_index`` / ``open_retriever`` of ``longtracerl.search.index`` (the shipped
  code), timing ``search(q, 10)`` (ranking + page fetch + snippets), the ranking alone, and
  ``HttpRetriever.search`` against the search server on 127.0.0.1;
- bm25s: ``bm25s.tokenize`` (English stop words; no stemmer, PyStemmer is not installed) on
  title + text, ``BM25(k1=1.2, b=0.75)``, saved and re-loaded, ``retrieve(k=10, n_threads=1)``.

Queries are the first N real HotpotQA questions. Quality: recall@10 of the questions'
supporting-fact titles. The tantivy title boost is swept on a separate slice of questions (the
next N), so the reported recall is not tuned on its own queries. Prints every figure for both
backends and then the chosen backend's figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BOOSTS = [0.0, 0.25, 0.5, 1.0, 2.0]


def peak_rss_mb() -> float:
    """Peak RSS of this process. Linux keeps ``ru_maxrss`` across exec (so a child would report its
    parent's peak); ``VmHWM`` starts afresh, so prefer it and fall back to getrusage."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def dir_size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def load_hotpotqa(path: Path | None = None):
    from longtracerl.assets import asset_path

    data = json.loads(Path(path or asset_path("hotpotqa")).read_text(encoding="utf-8"))
    pages: dict[str, str] = {}
    for item in data:
        for title, sentences in item["context"]:
            pages.setdefault(title, "".join(sentences))
    return data, pages


def queries(data, start: int, n: int):
    items = data[start : start + n]
    return [d["question"] for d in items], [sorted({t for t, _ in d["supporting_facts"]}) for d in items]


def recall_at(ids_per_query, gold) -> float:
    return statistics.mean(
        len(set(g) & set(ids)) / len(g) for ids, g in zip(ids_per_query, gold, strict=True)
    )


def lat_stats(lat_s: list[float], cpu_s: list[float] | None = None) -> dict:
    """Wall-clock median/p95/mean; with ``cpu_s`` also the median CPU time of this process per
    query, which a shared machine's load does not inflate."""
    s = sorted(lat_s)
    out = {
        "median_ms": round(statistics.median(s) * 1000, 3),
        "p95_ms": round(s[min(len(s) - 1, int(0.95 * len(s)))] * 1000, 3),
        "mean_ms": round(statistics.mean(s) * 1000, 3),
    }
    if cpu_s is not None:
        out["cpu_median_ms"] = round(statistics.median(cpu_s) * 1000, 3)
    return out


class Timer:
    """Collects wall-clock and process CPU time of repeated blocks."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __enter__(self) -> Timer:
        self._w, self._c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall.append(time.perf_counter() - self._w)
        self.cpu.append(time.process_time() - self._c)

    def stats(self) -> dict:
        return lat_stats(self.wall, self.cpu)


# ----------------------------------------------------------------------------- phases (children)


def phase_tantivy_build(work: Path, _n: int) -> dict:
    base = peak_rss_mb()
    from longtracerl.search.index import build_index

    t, c = time.perf_counter(), time.process_time()
    meta = build_index(work / "corpus", progress=False, force=True)
    dt, dc = time.perf_counter() - t, time.process_time() - c
    return {
        "build_s": round(dt, 2),
        "build_cpu_s": round(dc, 2),
        "docs": meta["doc_count"],
        "index_mb": round(dir_size_mb(work / "corpus" / "index"), 1),
        "build_peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_before_mb": round(base, 1),
    }


def phase_tantivy_query(work: Path, n: int) -> dict:
    from longtracerl.search.index import SearchConfig, open_retriever

    qs, gold, tune_qs, tune_gold = json.loads((work / "queries.json").read_text())
    base = peak_rss_mb()
    t = time.perf_counter()
    r = open_retriever(work / "corpus")
    open_s = time.perf_counter() - t
    r.search("warm up query", 10)
    full, rank, ids = Timer(), Timer(), []
    for q in qs:
        with full:
            hits = r.search(q, 10)
        ids.append([h.page_id for h in hits])
    for q in qs:
        with rank:
            r._ranked(q, 10)
    sweep = {}
    for b in BOOSTS:
        rb = open_retriever(work / "corpus", config=SearchConfig(title_boost=b))
        sweep[str(b)] = round(recall_at([[p for p, _ in rb._ranked(q, 10)] for q in tune_qs], tune_gold), 4)
        rb.close()
    return {
        "open_s": round(open_s, 3),
        "search": full.stats(),
        "rank_only": rank.stats(),
        "recall@10": round(recall_at(ids, gold), 4),
        "title_boost": r.config.title_boost,
        "title_boost_sweep_recall@10_on_tune_slice": sweep,
        "query_peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_before_open_mb": round(base, 1),
    }


def phase_tantivy_http(work: Path, n: int) -> dict:
    """Round trips through the search server (uvicorn in a thread) and ``HttpRetriever``."""
    import socket
    import threading

    import uvicorn

    from longtracerl.search.http import HttpRetriever
    from longtracerl.search.index import open_retriever
    from longtracerl.search.server import create_app

    qs, _gold, _tq, _tg = json.loads((work / "queries.json").read_text())
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(open_retriever(work / "corpus")), host="127.0.0.1", port=port, log_level="error"
        )
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    timer = Timer()  # CPU time: client and server threads together
    with HttpRetriever(f"http://127.0.0.1:{port}", timeout=10) as remote:
        remote.search("warm up query", 10)
        for q in qs:
            with timer:
                remote.search(q, 10)
    server.should_exit = True
    return {"http_search": timer.stats()}


def _bm25s_corpus(work: Path):
    from longtracerl.corpus.store import PageStore

    store = PageStore(work / "corpus")
    ids, texts = [], []
    for p in store.iter_pages():
        ids.append(p.id)
        texts.append(f"{p.title}\n{p.text}")
    store.close()
    return ids, texts


def phase_bm25s_build(work: Path, _n: int) -> dict:
    base = peak_rss_mb()
    import bm25s

    t, c = time.perf_counter(), time.process_time()
    ids, texts = _bm25s_corpus(work)
    tokens = bm25s.tokenize(texts, stopwords="en", show_progress=False)
    model = bm25s.BM25(k1=1.2, b=0.75)
    model.index(tokens, show_progress=False)
    out = work / "bm25s"
    model.save(str(out))
    (out / "ids.json").write_text(json.dumps(ids))
    dt, dc = time.perf_counter() - t, time.process_time() - c
    return {
        "build_s": round(dt, 2),
        "build_cpu_s": round(dc, 2),
        "docs": len(ids),
        "index_mb": round(dir_size_mb(out), 1),
        "build_peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_before_mb": round(base, 1),
    }


def phase_bm25s_query(work: Path, n: int) -> dict:
    import bm25s

    qs, gold, _tune_qs, _tune_gold = json.loads((work / "queries.json").read_text())
    base = peak_rss_mb()
    t = time.perf_counter()
    model = bm25s.BM25.load(str(work / "bm25s"), show_progress=False)
    doc_ids = json.loads((work / "bm25s" / "ids.json").read_text())
    open_s = time.perf_counter() - t
    timer, ids = Timer(), []
    for q in qs:
        with timer:
            qt = bm25s.tokenize([q], stopwords="en", show_progress=False)
            res, _scores = model.retrieve(qt, k=10, show_progress=False, n_threads=1)
        ids.append([doc_ids[i] for i in res[0]])
    return {
        "open_s": round(open_s, 3),
        "rank_only": timer.stats(),
        "recall@10": round(recall_at(ids, gold), 4),
        "query_peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_before_open_mb": round(base, 1),
    }


PHASES = {
    "tantivy-build": phase_tantivy_build,
    "tantivy-query": phase_tantivy_query,
    "tantivy-http": phase_tantivy_http,
    "bm25s-build": phase_bm25s_build,
    "bm25s-query": phase_bm25s_query,
}


# ----------------------------------------------------------------------------- driver


def write_store(work: Path, n: int) -> dict:
    from longtracerl.corpus.store import PageStore
    from longtracerl.records import Page

    t = time.perf_counter()
    data, pages = load_hotpotqa()
    with PageStore.create(work / "corpus") as w:
        for title, text in pages.items():
            w.add(Page(id=title, title=title, text=text))
    # the query children read only this small file, so their peak memory is the retriever's
    (work / "queries.json").write_text(json.dumps([*queries(data, 0, n), *queries(data, n, n)]))
    return {"pages": len(pages), "questions": len(data), "store_s": round(time.perf_counter() - t, 2)}


def run_phase(name: str, work: Path, n: int) -> dict:
    cmd = [sys.executable, __file__, "--phase", name, "--workdir", str(work), "--queries", str(n)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queries", type=int, default=1000, help="number of HotpotQA questions used as queries")
    ap.add_argument("--workdir", type=Path, help="scratch folder (default: a temp dir)")
    ap.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.phase:
        print(json.dumps(PHASES[args.phase](args.workdir, args.queries)))
        return 0

    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench_search-")
        args.workdir = Path(tmp.name)
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, python {sys.version.split()[0]}"
    )
    info = write_store(work, args.queries)
    print(
        f"corpus: {info['pages']} pages from {info['questions']} HotpotQA questions (store {info['store_s']} s)"
    )
    print(f"queries: the first {args.queries} HotpotQA questions; k=10; one thread")
    results = {}
    for backend in ("tantivy", "bm25s"):
        results[backend] = {**run_phase(f"{backend}-build", work, args.queries)}
        results[backend].update(run_phase(f"{backend}-query", work, args.queries))
        if backend == "tantivy":
            results[backend].update(run_phase("tantivy-http", work, args.queries))
        r = results[backend]
        print(f"\n== {backend}")
        print(
            f"  index build      {r['build_s']} s (CPU {r['build_cpu_s']} s, {r['docs']} docs), "
            f"peak RSS {r['build_peak_rss_mb']} MB"
        )
        print(f"  index size       {r['index_mb']} MB on disk")
        print(f"  open             {r['open_s']} s, peak RSS while querying {r['query_peak_rss_mb']} MB")
        print(
            f"  ranking only     median {r['rank_only']['median_ms']} ms, p95 {r['rank_only']['p95_ms']} ms"
            f" (CPU median {r['rank_only']['cpu_median_ms']} ms)"
        )
        if "search" in r:
            s = r["search"]
            print(
                f"  search() + pages + snippets  median {s['median_ms']} ms, p95 {s['p95_ms']} ms"
                f" (CPU median {s['cpu_median_ms']} ms)"
            )
        if "http_search" in r:
            s = r["http_search"]
            print(
                f"  HttpRetriever via the server  median {s['median_ms']} ms, p95 {s['p95_ms']} ms"
                f" (CPU median {s['cpu_median_ms']} ms, client + server)"
            )
        print(f"  recall@10 (supporting titles)  {r['recall@10']}")
        if "title_boost_sweep_recall@10_on_tune_slice" in r:
            print(
                f"  title boost sweep (recall@10, next {args.queries} questions): "
                f"{r['title_boost_sweep_recall@10_on_tune_slice']}; default {r['title_boost']}"
            )
    chosen = "tantivy"
    r = results[chosen]
    print(f"\nchosen backend: {chosen}")
    print(
        f"  build {r['build_s']} s | index {r['index_mb']} MB | search median {r['search']['median_ms']} ms, "
        f"p95 {r['search']['p95_ms']} ms (ranking only median {r['rank_only']['median_ms']} ms) | "
        f"over HTTP median {r['http_search']['median_ms']} ms | "
        f"peak RSS build {r['build_peak_rss_mb']} MB, query {r['query_peak_rss_mb']} MB | "
        f"recall@10 {r['recall@10']}"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print(json.dumps(results))
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
