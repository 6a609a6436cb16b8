"""Sharded index builds (``SearchConfig.shard_mb``): same hits and BM25 scores as one shard."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from longtracerl.corpus.store import PageStore
from longtracerl.corpus.synthetic import SynthSpec, iter_synthetic_kilt
from longtracerl.records import Page
from longtracerl.search.index import INDEX_DIR, TANTIVY_SUBDIR, SearchConfig, build_index, open_retriever

N_PAGES = 1200


def _synthetic_store(d: Path) -> list[Page]:
    pages = [
        Page(id=str(r["wikipedia_id"]), title=r["wikipedia_title"], text="".join(r["text"][1:]).strip())
        for r in iter_synthetic_kilt(N_PAGES, SynthSpec(seed=7))
    ]
    with PageStore.create(d) as w:
        for p in pages:
            w.add(p)
    return pages


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory):
    """The same store indexed as one shard and as several (a few hundred thousand chars each)."""
    one = tmp_path_factory.mktemp("one")
    pages = _synthetic_store(one)
    many = tmp_path_factory.mktemp("many")
    shutil.copy(one / "pages.sqlite", many / "pages.sqlite")
    meta_one = build_index(one, progress=False, config=SearchConfig(shard_mb=0))
    chars = sum(len(p.title) + len(p.text) + 1 for p in pages)
    shard_mb = chars / 7 / 1e6  # about 7 shards
    meta_many = build_index(many, progress=False, config=SearchConfig(shard_mb=shard_mb, writer_heap_mb=16))
    return pages, (one, meta_one), (many, meta_many)


def _queries(pages: list[Page]) -> list[str]:
    rng = random.Random(3)
    qs = [p.title for p in rng.sample(pages, 25)]
    for p in rng.sample(pages, 25):
        words = p.text.split()
        qs.append(" ".join(rng.sample(words, min(3, len(words)))))
    qs.append(" ".join(pages[0].text.split()[:40]))  # a long query
    return qs


def test_several_shards_and_segments_were_built(two_builds):
    _, (one, meta_one), (many, meta_many) = two_builds
    assert meta_one["build"]["shards"] == 1
    assert 6 <= meta_many["build"]["shards"] <= 8
    assert meta_many["build"]["segments"] >= meta_many["build"]["shards"]
    assert meta_one["doc_count"] == meta_many["doc_count"] == N_PAGES
    # one tantivy index (one meta.json listing every segment), no shard folders left
    tdir = many / INDEX_DIR / TANTIVY_SUBDIR
    tmeta = json.loads((tdir / "meta.json").read_text())
    assert len(tmeta["segments"]) == meta_many["build"]["segments"]
    assert sum(s["max_doc"] for s in tmeta["segments"]) == N_PAGES
    assert not any(p.is_dir() for p in tdir.iterdir())
    assert sorted(p.name for p in many.iterdir()) == ["index", "pages.sqlite"]
    # every segment's files are there and listed for tantivy's garbage collector
    managed = set(json.loads((tdir / ".managed.json").read_text()))
    for seg in tmeta["segments"]:
        stem = seg["segment_id"].replace("-", "")
        names = {p.name for p in tdir.glob(f"{stem}.*")}
        assert {f"{stem}.idx", f"{stem}.term", f"{stem}.store"} <= names
        assert names <= managed


def test_sharded_scores_equal_one_shard(two_builds):
    pages, (one, _), (many, _) = two_builds
    r1, r2 = open_retriever(one), open_retriever(many)
    k = 10
    compared = 0
    for q in _queries(pages):
        h1, h2 = r1.search(q, k), r2.search(q, k)
        assert [h.score for h in h1] == [h.score for h in h2], q  # identical floats: global statistics
        if not h1:
            continue
        compared += 1
        # same pages, except that pages tied at the k-th score may be cut differently
        kth = h1[-1].score
        assert {h.page_id for h in h1 if h.score > kth} == {h.page_id for h in h2 if h.score > kth}, q
        # each page's score is its own (not just the same list of numbers)
        s2 = {h.page_id: h.score for h in h2}
        for h in h1:
            if h.page_id in s2:
                assert s2[h.page_id] == h.score
    assert compared >= 45
    r1.close()
    r2.close()


def test_per_shard_statistics_would_differ(two_builds):
    """The check above has teeth: one shard alone scores the same query differently."""
    pages, (one, _), _ = two_builds
    part = one.parent / "part"
    part.mkdir()
    with PageStore.create(part) as w:
        for p in pages[:200]:
            w.add(p)
    build_index(part, progress=False, config=SearchConfig(shard_mb=0))
    r_all, r_part = open_retriever(one), open_retriever(part)
    q = pages[10].title
    s_all = {h.page_id: h.score for h in r_all.search(q, 5)}
    s_part = {h.page_id: h.score for h in r_part.search(q, 5)}
    assert pages[10].id in s_all and pages[10].id in s_part
    assert s_all[pages[10].id] != s_part[pages[10].id]


def test_crash_in_a_later_shard_leaves_old_index(two_builds, monkeypatch):
    pages, _, (many, _) = two_builds
    before = open_retriever(many).search(pages[5].title, k=3)

    def broken(self, batch=2000):
        yield from pages[:900]
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(PageStore, "iter_pages", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        build_index(many, progress=False, force=True, config=SearchConfig(shard_mb=0.3, writer_heap_mb=16))
    monkeypatch.undo()
    assert sorted(p.name for p in many.iterdir()) == ["index", "pages.sqlite"]
    assert open_retriever(many).search(pages[5].title, k=3) == before


def test_shard_mb_does_not_change_the_index_params(tmp_path):
    _synthetic_store(tmp_path)
    m1 = build_index(tmp_path, progress=False, config=SearchConfig(shard_mb=1.0, writer_heap_mb=16))
    m2 = build_index(tmp_path, progress=False, config=SearchConfig(shard_mb=0))
    assert m1["build"]["shards"] > 1
    assert m2 == m1  # same scores either way, so an index built with other shards is current


def test_shard_mb_is_validated():
    with pytest.raises(ValueError):
        SearchConfig(shard_mb=-1)
