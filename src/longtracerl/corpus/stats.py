"""Figures of a prepared corpus: pages, links, out-degree distribution, hubs.

Example:
    >>> import tempfile
    >>> from longtracerl.records import Page
    >>> from longtracerl.corpus.store import PageStore
    >>> from longtracerl.corpus.graph import LinkGraph
    >>> d = tempfile.mkdtemp()
    >>> with PageStore.create(d) as w:
    ...     for i in range(5):
    ...         _ = w.add(Page(id=str(i), title=f"P{i}", text="x"))
    >>> LinkGraph.from_edges(5, [0, 0, 0, 0, 1], [1, 2, 3, 4, 2]).save(f"{d}/graph.npz")
    >>> s = corpus_stats(d)
    >>> s["pages"], s["links"], s["out_degree"]["max"], s["share_more_than_3"], s["share_no_links"]
    (5, 5, 4, 0.2, 0.6)
    >>> s["top_in_degree"][0]
    {'id': '2', 'title': 'P2', 'in_degree': 2}
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from longtracerl.corpus.graph import LinkGraph
from longtracerl.corpus.store import PageStore

__all__ = ["corpus_stats", "format_stats", "HIST_BINS"]

# out-degree histogram buckets: [lo, hi] inclusive, hi None = open
HIST_BINS: list[tuple[int, int | None]] = [
    (0, 0),
    (1, 1),
    (2, 2),
    (3, 3),
    (4, 5),
    (6, 10),
    (11, 20),
    (21, 50),
    (51, None),
]


def corpus_stats(corpus_dir: str | os.PathLike, top: int = 10) -> dict:
    """Pages, links, out-degree min/median/mean/p90/max and histogram, hop-usable share, hubs."""
    corpus_dir = Path(corpus_dir)
    store = PageStore(corpus_dir)
    try:
        graph = LinkGraph.load(corpus_dir)
        n = len(store)
        if graph.num_pages != n:
            raise ValueError(f"{corpus_dir}: graph has {graph.num_pages} pages but the store has {n}")
        out = graph.out_degree()
        ind = graph.in_degree()
        hist = []
        for lo, hi in HIST_BINS:
            sel = (out >= lo) if hi is None else ((out >= lo) & (out <= hi))
            label = f"{lo}+" if hi is None else (str(lo) if lo == hi else f"{lo}-{hi}")
            hist.append({"out_degree": label, "pages": int(sel.sum())})
        order = np.argsort(-ind, kind="stable")[:top]
        hubs = []
        for i in order:
            if ind[i] == 0:
                break
            pid = store.id_of(int(i))
            hubs.append({"id": pid, "title": store.title_of(pid), "in_degree": int(ind[i])})
        empty = n == 0
        return {
            "pages": n,
            "links": graph.num_links,
            "out_degree": {
                "min": int(out.min()) if not empty else 0,
                "median": float(np.median(out)) if not empty else 0.0,
                "mean": round(float(out.mean()), 3) if not empty else 0.0,
                "p90": float(np.percentile(out, 90)) if not empty else 0.0,
                "max": int(out.max()) if not empty else 0,
            },
            "histogram": hist,
            "share_more_than_3": round(float((out > 3).mean()), 4) if not empty else 0.0,
            "share_no_links": round(float((out == 0).mean()), 4) if not empty else 0.0,
            "top_in_degree": hubs,
        }
    finally:
        store.close()


def format_stats(stats: dict) -> str:
    """Human-readable rendering of :func:`corpus_stats` (what ``corpus stats`` prints)."""
    od = stats["out_degree"]
    lines = [
        f"pages: {stats['pages']:,}",
        f"links: {stats['links']:,}",
        (
            f"out-degree: min {od['min']}  median {od['median']:g}  mean {od['mean']:.2f}  "
            f"p90 {od['p90']:g}  max {od['max']}"
        ),
        f"pages with more than 3 links (usable as a hop): {stats['share_more_than_3']:.1%}",
        f"pages with no links: {stats['share_no_links']:.1%}",
        "out-degree histogram:",
    ]
    total = max(stats["pages"], 1)
    biggest = max((h["pages"] for h in stats["histogram"]), default=0) or 1
    for h in stats["histogram"]:
        bar = "#" * round(40 * h["pages"] / biggest)
        lines.append(f"  {h['out_degree']:>6}  {h['pages']:>9,}  {h['pages'] / total:6.1%}  {bar}")
    lines.append("top in-degree pages:")
    for hub in stats["top_in_degree"]:
        lines.append(f"  {hub['in_degree']:>7,}  {hub['title']}  [{hub['id']}]")
    return "\n".join(lines)
