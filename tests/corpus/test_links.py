"""Properties of the link-graph builders."""

from __future__ import annotations

import re

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from longtracerl.corpus.config import CorpusConfig
from longtracerl.corpus.links import build_anchor_graph, build_mention_graph, strip_qualifier

# directed graphs, no frequency filters, so each test sees one rule at a time
BASE = dict(symmetric_mentions=False, share_floor_pages=1000, common_word_min_pages=1000)


def edges(titles: list[str], texts: list[str], **kw) -> set[tuple[str, str]]:
    g, _ = build_mention_graph(titles, texts, CorpusConfig(**(BASE | kw)))
    return {(titles[i], titles[int(j)]) for i in range(len(titles)) for j in g.neighbors(i)}


def test_no_self_links() -> None:
    titles = ["Berlin", "Germany"]
    texts = ["Berlin is the capital of Germany. Berlin is big.", "Germany has Berlin. Germany!"]
    assert edges(titles, texts) == {("Berlin", "Germany"), ("Germany", "Berlin")}


def test_longest_match_wins() -> None:
    titles = ["New York", "New York City", "Story"]
    texts = ["A state.", "A city.", "It happened in New York City and in New York."]
    assert edges(titles, texts) == {("Story", "New York City"), ("Story", "New York")}
    texts[2] = "It happened in New York City."
    assert edges(titles, texts) == {("Story", "New York City")}


def test_whole_words_only() -> None:
    titles = ["Cats", "Page"]
    texts = ["Felines.", "Bobcats and Catskills are not Cats-free."]
    assert edges(titles, texts) == {("Page", "Cats")}  # only the hyphen-bounded 'Cats'
    texts[1] = "Bobcats and Catskills."
    assert edges(titles, texts) == set()


def test_case_aware() -> None:
    titles = ["Apple", "Fruit page"]
    assert edges(titles, ["x", "An apple a day."]) == set()
    assert edges(titles, ["x", "Apple sells phones."]) == {("Fruit page", "Apple")}


def test_short_and_letterless_titles_do_not_link() -> None:
    titles = ["Ice", "1989", "Page", "Iceland"]
    texts = ["x", "y", "Ice in 1989 in Iceland.", "z"]
    assert edges(titles, texts) == {("Page", "Iceland")}
    assert ("Page", "Ice") in edges(titles, texts, min_title_chars=3)


def test_qualifier_dropped_with_evidence() -> None:
    titles = ["Paris (band)", "Tour", "Mathematician"]
    texts = ["A rock band.", "The band Paris played the tour.", "He lived in Paris."]
    assert edges(titles, texts) == {("Tour", "Paris (band)")}
    # without the evidence rule, the sole qualified page takes every mention of its base
    assert edges(titles, texts, qualifier_evidence=False) == {
        ("Tour", "Paris (band)"),
        ("Mathematician", "Paris (band)"),
    }
    # without qualifier stripping, 'Paris' is not a form of the title at all
    assert edges(titles, texts, strip_qualifier=False) == set()


def test_qualifier_evidence_is_whole_words() -> None:
    titles = ["Floyd (30 Rock)", "Cheyenne", "Episode", "Films page", "Up (2009 film)"]
    texts = [
        "A character.",
        "Floyd crossed the Rocky Mountains.",
        "Floyd appeared on 30 Rock.",
        "He starred in Up and other films.",
        "A film.",
    ]
    assert edges(titles, texts) == {("Episode", "Floyd (30 Rock)")}  # 'Up' is too short anyway
    assert ("Films page", "Up (2009 film)") in edges(titles, texts, min_title_chars=2)  # plural 'films'


def test_bare_title_owns_its_base() -> None:
    titles = ["Paris", "Paris (band)", "Gig"]
    texts = ["City.", "Band.", "The band played in Paris."]
    assert edges(titles, texts) == {("Gig", "Paris")}


def test_ambiguous_base() -> None:
    titles = ["Mercury (planet)", "Mercury (element)", "Astronomy", "Neutral", "Both"]
    texts = [
        "A planet.",
        "An element.",
        "Mercury is the closest planet to the Sun.",
        "Mercury was mentioned.",
        "Mercury: planet or element?",
    ]
    assert edges(titles, texts) == {("Astronomy", "Mercury (planet)")}
    got = edges(titles, texts, ambiguous_base="first")
    assert got == {("Astronomy", "Mercury (planet)"), ("Both", "Mercury (planet)")}
    got = edges(titles, texts, ambiguous_base="first", qualifier_evidence=False)
    assert {s for s, _ in got} == {"Astronomy", "Neutral", "Both"} and {d for _, d in got} == {
        "Mercury (planet)"
    }
    assert edges(titles, texts, qualifier_evidence=False) == set()  # drop


def test_disambiguation_pages_are_not_targets() -> None:
    titles = ["Jaguar (disambiguation)", "Zoo"]
    assert edges(titles, ["Jaguar may mean many things.", "A Jaguar lives here."]) == set()


def test_common_word_filter() -> None:
    titles = ["Energy", "Physics", "Trade", "Notes"]
    texts = ["Energy is conserved.", "Energy and energy again.", "The energy trade.", "energy"]
    kw = dict(BASE, common_word_min_pages=3)
    assert edges(titles, texts, **kw) == set()  # 'energy' in 3 pages: a common word
    kw["common_word_min_pages"] = 4
    assert edges(titles, texts, **kw) == {("Physics", "Energy")}


def test_common_word_phrases_are_optional() -> None:
    titles = ["The City", "Report"]
    texts = ["x", "The City grew. In the city, the city hall. Not the city."]
    texts += ["the city"] * 3
    titles += ["A", "B", "C"]
    kw = dict(BASE, common_word_min_pages=3)
    assert edges(titles, texts, **kw) == {("Report", "The City")}  # phrases not tested by default
    assert edges(titles, texts, **kw, common_word_phrases=True) == set()


def test_frequent_titles_dropped_but_still_consume_text() -> None:
    titles = ["New York", "York"] + [f"Page{i}" for i in range(10)]
    texts = ["A state.", "A city in England."] + ["Born in New York."] * 9 + ["Born in York."]
    kw = dict(BASE, share_floor_pages=0, max_mention_share=0.5, qualified_max_mention_share=0.5)
    got = edges(titles, texts, **kw)
    # 'New York' (9 of 12 pages) gives no link, and the 'York' inside it is not a mention of York
    assert got == {("Page9", "York")}
    kw["max_mention_share"] = 0.9
    assert ("Page0", "New York") in edges(titles, texts, **kw)


def test_qualified_base_has_a_stricter_cap() -> None:
    titles = ["September (song)"] + [f"P{i}" for i in range(10)]
    texts = ["A song."] + ["Released as a song in September 1999."] * 10
    kw = dict(BASE, share_floor_pages=0, max_mention_share=1.0)
    assert len(edges(titles, texts, **kw, qualified_max_mention_share=1.0)) == 10
    assert edges(titles, texts, **kw, qualified_max_mention_share=0.5) == set()


def test_symmetric_adds_reverse_edges() -> None:
    titles = ["Alpha", "Beta"]
    texts = ["Alpha cites Beta.", "Nothing."]
    g, stats = build_mention_graph(titles, texts, CorpusConfig(**(BASE | {"symmetric_mentions": True})))
    assert g.neighbors(0).tolist() == [1] and g.neighbors(1).tolist() == [0]
    assert stats["mention_links"] == 1 and stats["links"] == 2


def test_strip_qualifier() -> None:
    assert strip_qualifier("Paris (band)") == "Paris"
    assert strip_qualifier("Up (2009 film)") == "Up"
    assert strip_qualifier("Oh (Hello) there") == "Oh (Hello) there"


def test_anchor_graph_resolution() -> None:
    ids = ["10", "20", "30"]
    titles = ["A", "B", "C"]
    links = [["20", "C", "missing", "10"], [], ["B", "20"]]
    g, stats = build_anchor_graph(ids, titles, links)
    assert [g.neighbors(i).tolist() for i in range(3)] == [[1, 2], [], [1]]
    assert stats == {"method": "anchors", "links_given": 6, "dangling": 1, "links": 3}


WORDS = ["Alpha Star", "Beta", "Gamma Ray", "Delta Force", "Epsilon", "Zeta Jones", "Omega"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(WORDS + ["and", "the", "of", "xyz"]), max_size=12),
        min_size=len(WORDS),
        max_size=len(WORDS),
    )
)
def test_every_edge_is_a_whole_word_mention(bodies: list[list[str]]) -> None:
    titles = list(WORDS)
    texts = [" ".join(b) + "." for b in bodies]
    g, _ = build_mention_graph(titles, texts, CorpusConfig(**BASE))
    for i in range(len(titles)):
        nb = g.neighbors(i).tolist()
        assert i not in nb
        for j in nb:
            assert re.search(rf"(?<!\w){re.escape(titles[j])}(?!\w)", texts[i])
        for j, t in enumerate(titles):
            if j != i and re.search(rf"(?<!\w){re.escape(t)}(?!\w)", texts[i]):
                assert j in nb  # no title here contains another, so every mention links
    assert np.all(np.diff(g.indptr) >= 0)
