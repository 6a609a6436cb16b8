"""BM25 index: ranking, snippets, nasty queries, persistence, idempotent and atomic builds."""

from __future__ import annotations

import json
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from longtracerl.corpus.store import PageNotFound, PageStore
from longtracerl.records import Page
from longtracerl.search.base import Hit, Retriever
from longtracerl.search.index import (
    INDEX_DIR,
    META_FILE,
    IndexNotFound,
    SearchConfig,
    build_index,
    open_retriever,
)
from tests.helpers.search_corpus import PAGES, make_corpus

RANKING = [
    ("Which film did Tim Burton make about a cult filmmaker starring Johnny Depp?", "ed-wood-film"),
    ("director of Doctor Strange and Sinister", "scott-derrickson"),
    ("wrought-iron tower in Paris built for the World's Fair", "eiffel-tower"),
    ("Guido van Rossum programming language indentation", "python-language"),
    ("largest river by discharge volume", "amazon-river"),
    ("first woman to win a Nobel Prize radioactivity", "marie-curie"),
    ("coral reef off Queensland", "great-barrier-reef"),
    ("highest mountain in Africa, a dormant volcano in Tanzania", "kilimanjaro"),
    ("how do plants convert light energy into chemical energy", "photosynthesis"),
    ("mathematician who worked on Babbage's Analytical Engine", "ada-lovelace"),
]


def test_retriever_satisfies_protocol(retriever):
    assert isinstance(retriever, Retriever)
    assert len(retriever) == len(PAGES)


@pytest.mark.parametrize(("query", "expected"), RANKING)
def test_page_about_x_ranks_first(retriever, query, expected):
    hits = retriever.search(query, k=5)
    assert hits, query
    assert hits[0].page_id == expected


def test_hits_are_ranked_and_complete(retriever):
    hits = retriever.search("the world's largest", k=4)
    assert 1 <= len(hits) <= 4
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    titles = {p.id: p.title for p in PAGES}
    for h in hits:
        assert isinstance(h, Hit)
        assert h.title == titles[h.page_id]
        assert h.score > 0


def test_stemming_matches_other_word_forms(retriever):
    # "volcanoes" / "mountains" are not in the text; their stems are
    assert retriever.search("volcanoes mountains", k=1)[0].page_id == "kilimanjaro"


def test_title_counts(retriever):
    # the Zebra page never says "zebra" in its text
    assert retriever.search("zebra", k=1)[0].page_id == "zebra"


def test_title_boost_is_configurable(corpus):
    plain = open_retriever(corpus, config=SearchConfig(title_boost=0.0))
    boosted = open_retriever(corpus, config=SearchConfig(title_boost=2.0))
    q = "Eiffel"
    assert boosted.search(q, 1)[0].score > plain.search(q, 1)[0].score


def test_snippet_short_page_is_whole_text(retriever):
    hit = retriever.search("zebra", k=1)[0]
    assert hit.snippet == PAGES[-1].text


def test_snippet_window_around_matching_terms(tmp_path):
    filler = " ".join(f"Sentence number {i} talks about nothing in particular." for i in range(60))
    text = filler + " The ornithopter prototype was flown by Hargrave in Sydney. " + filler
    make_corpus(tmp_path, [Page(id="long", title="Long page", text=text), *PAGES[:3]])
    build_index(tmp_path, progress=False)
    r = open_retriever(tmp_path)
    hit = r.search("ornithopter Hargrave", k=1)[0]
    assert hit.page_id == "long"
    assert "ornithopter prototype was flown by Hargrave" in hit.snippet
    assert hit.snippet.startswith("…") and hit.snippet.endswith("…")
    assert len(hit.snippet) <= 200 + 2
    # a match on the title only: the snippet is the start of the text
    hit = r.search("long page", k=1)[0]
    assert hit.page_id == "long"
    assert hit.snippet.startswith("Sentence number 0 talks")
    assert hit.snippet.endswith("…")
    # snippet length follows the config
    short = open_retriever(tmp_path, config=SearchConfig(snippet_chars=60))
    assert len(short.search("ornithopter", k=1)[0].snippet) <= 62


NASTY = [
    "",
    "   ",
    '"',
    '"unbalanced quote',
    "title:Eiffel",
    "body:(a OR b",
    "AND OR NOT",
    '+-!(){}[]^"~*?:\\/',
    "Eiffel^5 tower~2",
    "[1 TO 5]",
    "café naïve 東京 Ελλάδα İstanbul",
    "\x00\x01\ufeff\u200b",
    "emoji 🚀🔥 rocket",
    "a" * 10_000,
    "Eiffel " * 2_000,
    "x" * 10_000 + " tower",
    "IN [a b]",
    "*",
]


@pytest.mark.parametrize("query", NASTY)
def test_nasty_queries_never_raise(retriever, query):
    hits = retriever.search(query, k=3)
    assert isinstance(hits, list)
    assert all(isinstance(h, Hit) for h in hits)


@pytest.mark.parametrize("query", ["", "   ", "?!:()", "the of and"])
def test_queries_without_terms_give_no_hits(retriever, query):
    assert retriever.search(query, k=5) == []


def test_ten_thousand_char_query_still_ranks(retriever):
    assert retriever.search("Eiffel " * 2_000, k=1)[0].page_id == "eiffel-tower"


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_any_string_is_a_valid_query(retriever, query):
    assert isinstance(retriever.search(query, k=3), list)


def test_bad_k_and_type(retriever):
    with pytest.raises(ValueError, match="k must be"):
        retriever.search("tower", k=0)
    with pytest.raises(TypeError):
        retriever.search(None, k=3)  # type: ignore[arg-type]


def test_open_through_store(retriever):
    page = retriever.open("marie-curie")
    assert page.title == "Marie Curie" and "Nobel" in page.text
    with pytest.raises(PageNotFound):
        retriever.open("no-such-page")


def test_search_pages_returns_full_text(retriever):
    sp = retriever.search_pages("Analytical Engine", k=1)[0]
    assert sp.page.id == "ada-lovelace" and sp.page.text == PAGES[9].text and sp.rank == 1


# ---------------------------------------------------------------------------- persistence / builds


def test_meta_json(corpus):
    meta = json.loads((corpus / INDEX_DIR / META_FILE).read_text())
    assert meta["backend"] == "tantivy"
    assert meta["doc_count"] == len(PAGES)
    assert meta["params"]["bm25"] == {"k1": 1.2, "b": 0.75}
    assert meta["params"]["analyzer"]


def test_reopen_gives_same_results(tmp_path):
    make_corpus(tmp_path)
    build_index(tmp_path, progress=False)
    queries = [q for q, _ in RANKING] + ["the world", "film director"]
    first = open_retriever(tmp_path)
    before = [first.search(q, k=5) for q in queries]
    first.close()
    moved = tmp_path.parent / (tmp_path.name + "-moved")
    shutil.copytree(tmp_path, moved)  # a copied corpus folder keeps working without a rebuild
    again = build_index(moved, progress=False)
    assert again["built_at"] == json.loads((tmp_path / INDEX_DIR / META_FILE).read_text())["built_at"]
    second = open_retriever(moved)
    assert [second.search(q, k=5) for q in queries] == before


def test_build_is_idempotent(tmp_path):
    make_corpus(tmp_path)
    meta1 = build_index(tmp_path, progress=False)
    files = {p: p.stat().st_mtime_ns for p in (tmp_path / INDEX_DIR).rglob("*") if p.is_file()}
    meta2 = build_index(tmp_path, progress=False)
    assert meta2 == meta1
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / INDEX_DIR).rglob("*") if p.is_file()} == files
    meta3 = build_index(tmp_path, progress=False, force=True)
    assert meta3["doc_count"] == meta1["doc_count"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index", "pages.sqlite"]  # no leftovers


def test_changed_store_triggers_rebuild(tmp_path):
    make_corpus(tmp_path)
    build_index(tmp_path, progress=False)
    (tmp_path / "pages.sqlite").unlink()
    extra = Page(id="kiwi", title="Kiwi", text="Kiwi are flightless birds endemic to New Zealand.")
    make_corpus(tmp_path, [*PAGES, extra])
    with pytest.raises(IndexNotFound, match="rebuild"):
        open_retriever(tmp_path)  # count differs: refuses a stale index
    meta = build_index(tmp_path, progress=False)
    assert meta["doc_count"] == len(PAGES) + 1
    assert open_retriever(tmp_path).search("flightless birds", k=1)[0].page_id == "kiwi"


def test_missing_index_is_a_clear_error(tmp_path):
    make_corpus(tmp_path)
    with pytest.raises(IndexNotFound, match="search index"):
        open_retriever(tmp_path)


def test_crashed_build_leaves_old_index_intact(tmp_path, monkeypatch):
    make_corpus(tmp_path)
    build_index(tmp_path, progress=False)
    before = open_retriever(tmp_path).search("Eiffel", k=1)

    def broken(self, batch=2000):
        yield PAGES[0]
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(PageStore, "iter_pages", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        build_index(tmp_path, progress=False, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index", "pages.sqlite"]
    monkeypatch.undo()
    assert open_retriever(tmp_path).search("Eiffel", k=1) == before


def test_crashed_first_build_leaves_nothing(tmp_path, monkeypatch):
    make_corpus(tmp_path)

    def broken(self, batch=2000):
        raise RuntimeError("boom")
        yield  # pragma: no cover

    monkeypatch.setattr(PageStore, "iter_pages", broken)
    with pytest.raises(RuntimeError):
        build_index(tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pages.sqlite"]
