"""Synthetic KILT corpora: determinism, loader compatibility, anchor offsets, degree distribution."""

from __future__ import annotations

import gzip
import json
import statistics
import tracemalloc
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from longtracerl.cli import main
from longtracerl.corpus.config import CorpusConfig
from longtracerl.corpus.graph import LinkGraph
from longtracerl.corpus.links import build_anchor_graph, build_anchor_graph_indexed
from longtracerl.corpus.loaders import kilt_cut_index
from longtracerl.corpus.prepare import prepare_corpus
from longtracerl.corpus.store import PageStore
from longtracerl.corpus.synthetic import (
    SynthSpec,
    iter_synthetic_kilt,
    synthetic_id,
    synthetic_title,
    write_synthetic,
)

NO_INDEX = CorpusConfig(build_index=False)


def read_gz(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def test_deterministic_by_seed(tmp_path: Path) -> None:
    a = write_synthetic(tmp_path / "a.jsonl.gz", 300, SynthSpec(seed=5))
    b = write_synthetic(tmp_path / "b.jsonl.gz", 300, SynthSpec(seed=5))
    c = write_synthetic(tmp_path / "c.jsonl.gz", 300, SynthSpec(seed=6))
    assert (tmp_path / "a.jsonl.gz").read_bytes() == (tmp_path / "b.jsonl.gz").read_bytes()
    assert a["anchors"] == b["anchors"]
    assert read_gz(tmp_path / "a.jsonl.gz") != read_gz(tmp_path / "c.jsonl.gz")
    assert c["pages"] == 300
    assert not list(tmp_path.glob("*.partial"))


def test_records_are_kilt_shaped_and_offsets_match() -> None:
    spec = SynthSpec(seed=1)
    n = 400
    recs = list(iter_synthetic_kilt(n, spec))
    titles = {synthetic_id(spec, i): synthetic_title(spec, i) for i in range(n)}
    assert len(set(titles.values())) == n  # unique titles
    n_anchors = dangling = tails = 0
    for i, rec in enumerate(recs):
        assert set(rec) == {"wikipedia_id", "wikipedia_title", "text", "anchors"}
        assert rec["wikipedia_id"] == synthetic_id(spec, i)
        assert rec["text"][0] == rec["wikipedia_title"] + "\n"
        assert all(isinstance(p, str) and p.endswith("\n") for p in rec["text"])
        tails += kilt_cut_index(rec["text"]) < len(rec["text"])
        for a in rec["anchors"]:
            n_anchors += 1
            assert set(a) >= {"paragraph_id", "start", "end", "text", "href", "wikipedia_title"}
            para = rec["text"][a["paragraph_id"]]
            assert 1 <= a["paragraph_id"] < len(rec["text"])
            assert para[a["start"] : a["end"]] == a["text"] == a["wikipedia_title"]
            assert unquote(a["href"]).replace("_", " ") == a["wikipedia_title"]
            if "wikipedia_id" in a:
                assert titles[a["wikipedia_id"]] == a["wikipedia_title"]
            else:
                dangling += 1
                assert a["wikipedia_title"] not in titles.values()
    assert n_anchors > 10 * n
    assert 0 < dangling < 0.1 * n_anchors
    assert 0.3 * n < tails < 0.7 * n  # backmatter_share = 0.5


def test_length_distribution_is_lognormal_like() -> None:
    recs = list(iter_synthetic_kilt(1500, SynthSpec(seed=2)))
    paras = [len(r["text"]) - 1 for r in recs]
    words = [
        len(p.split()) for r in recs for p in r["text"][1:] if not p.startswith(("Section::::", "BULLET::::"))
    ]
    # medians near the spec (6 body paragraphs + some back matter, 45 words), long right tails
    assert 5 <= statistics.median(paras) <= 10
    assert 35 <= statistics.median(words) <= 55
    assert max(words) > 6 * statistics.median(words)
    assert statistics.mean(words) > statistics.median(words)


def test_kilt_loader_accepts_it_and_links_match(tmp_path: Path) -> None:
    spec = SynthSpec(seed=3)
    n = 600
    src = tmp_path / "synth.jsonl.gz"
    write_synthetic(src, n, spec)
    m = prepare_corpus("kilt", src, tmp_path / "corpus", NO_INDEX)
    assert m.counts["pages"] == n and m.counts["skipped_total"] == 0
    assert m.graph["method"] == "anchors"
    assert m.counts["notes"]["anchors_dropped_cut"] > 0  # See also anchors are cut
    # the expected graph, computed straight from the records
    index = {synthetic_id(spec, i): i for i in range(n)}
    expected = set()
    dangling = 0
    for i, rec in enumerate(read_gz(src)):
        cut = kilt_cut_index(rec["text"])
        for a in rec["anchors"]:
            if a["paragraph_id"] >= cut:
                continue
            j = index.get(a.get("wikipedia_id"))
            if j is None:
                dangling += 1
            elif j != i:
                expected.add((i, j))
    g = LinkGraph.load(tmp_path / "corpus")
    got = {(i, int(j)) for i in range(n) for j in g.neighbors(i)}
    assert got == expected
    assert m.graph["dangling"] == dangling > 0
    store = PageStore(tmp_path / "corpus")
    page = store.by_index(0)
    assert page.title == synthetic_title(spec, 0) and "Section::::" not in page.text
    store.close()


def test_jsonl_format_loads_with_same_graph(tmp_path: Path) -> None:
    write_synthetic(tmp_path / "k.jsonl", 300, SynthSpec(seed=4))
    write_synthetic(tmp_path / "j.jsonl.gz", 300, SynthSpec(seed=4), fmt="jsonl")
    mk = prepare_corpus("kilt", tmp_path / "k.jsonl", tmp_path / "ck", NO_INDEX)
    mj = prepare_corpus("jsonl", tmp_path / "j.jsonl.gz", tmp_path / "cj", NO_INDEX)
    assert mj.counts["pages"] == 300 and mj.graph["method"] == "anchors"
    # the jsonl form keeps the back-matter links (no KILT cut), so it has at least as many
    assert mj.counts["links"] >= mk.counts["links"] > 0


def test_in_degree_is_heavy_tailed(tmp_path: Path) -> None:
    n = 4000

    def in_degree(spec: SynthSpec) -> np.ndarray:
        deg = np.zeros(n, dtype=np.int64)
        ids = {synthetic_id(spec, i): i for i in range(n)}
        for rec in iter_synthetic_kilt(n, spec):
            for a in rec["anchors"]:
                j = ids.get(a.get("wikipedia_id"))
                if j is not None:
                    deg[j] += 1
        return deg

    heavy = in_degree(SynthSpec(seed=7))
    flat = in_degree(SynthSpec(seed=7, hub_share=0.0))  # local links only: Poisson-like
    for deg, lo, hi in ((heavy, 50, None), (flat, None, 5)):
        ratio = deg.max() / deg.mean()
        assert (lo is None or ratio > lo) and (hi is None or ratio < hi), ratio
    top1 = np.sort(heavy)[::-1][: n // 100].sum() / heavy.sum()
    assert top1 > 0.15  # the top 1 % of pages receive a large share of the links
    # power-law tail: log-log slope of the in-degree CCDF between degree 20 and 500 near -(1/zipf_s)
    ks = np.array([20, 40, 80, 160, 320])
    ccdf = np.array([(heavy >= k).mean() for k in ks])
    slope = np.polyfit(np.log(ks), np.log(ccdf), 1)[0]
    assert -2.0 < slope < -0.6, slope


def test_streaming_constant_memory() -> None:
    def peak(n: int) -> int:
        tracemalloc.start()
        for _ in iter_synthetic_kilt(n, SynthSpec(seed=9)):
            pass
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, big = peak(500), peak(5000)
    assert big < small * 1.3 + 2_000_000, (small, big)


def test_cli_synth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.jsonl"
    assert main(["corpus", "synth", "--pages", "40", "--out", str(out), "--seed", "2", "--no-progress"]) == 0
    assert "40 pages" in capsys.readouterr().out
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 40 and json.loads(lines[0])["wikipedia_id"] == synthetic_id(SynthSpec(seed=2), 0)
    assert main(["corpus", "synth", "--pages", "0", "--out", str(out)]) == 2


def test_spec_validation() -> None:
    with pytest.raises(ValueError, match="hub_share"):
        SynthSpec(hub_share=1.5)
    with pytest.raises(ValueError, match="pages"):
        list(iter_synthetic_kilt(0))


# ---- the bounded-memory anchor graph builder and the links-only store reader --------------------


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 12),
    rows=st.lists(
        st.lists(st.sampled_from(["p0", "p1", "p5", "T2", "T3", "x", "p11"]), max_size=8), max_size=12
    ),
)
def test_indexed_anchor_graph_equals_edge_list_graph(n: int, rows: list[list[str]]) -> None:
    ids = [f"p{i}" for i in range(n)]
    titles = [f"T{i}" for i in range(n)]
    rows = rows[:n]
    id_index = {p: i for i, p in enumerate(ids)}
    title_index = {t: i for i, t in enumerate(titles)}
    src, dst, dangling = [], [], 0
    for i, targets in enumerate(rows):
        for t in targets:
            j = id_index.get(t, title_index.get(t))
            if j is None:
                dangling += 1
            else:
                src.append(i)
                dst.append(j)
    want = LinkGraph.from_edges(n, src, dst)
    got, stats = build_anchor_graph_indexed(n, id_index, title_index, iter(rows))
    assert got.indptr.tolist() == want.indptr.tolist() and got.indices.tolist() == want.indices.tolist()
    assert stats["dangling"] == dangling and stats["links"] == want.num_links
    g2, _ = build_anchor_graph(ids, titles, rows + [[]] * (n - len(rows)))
    assert g2.indices.tolist() == want.indices.tolist()


def test_indexed_anchor_graph_rejects_extra_rows() -> None:
    with pytest.raises(ValueError, match="more rows"):
        build_anchor_graph_indexed(1, {"a": 0}, {}, [["a"], ["a"]])


def test_store_iter_links(tmp_path: Path) -> None:
    from longtracerl.records import Page

    with PageStore.create(tmp_path) as w:
        w.add(Page(id="a", title="A", text="x", links=["b", "Zed"]))
        w.add(Page(id="b", title="B", text="y"))
    store = PageStore(tmp_path)
    assert list(store.iter_links(batch=1)) == [["b", "Zed"], []]
    store.close()
