"""Query sanitising and snippets as pure functions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from longtracerl.search.analysis import make_snippet, query_terms, sanitize_query


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('title:"Ed Wood"', "title ed wood"),
        ("a AND b OR NOT c", "a and b or not c"),
        ("(x) [1 TO 2] {y} ^3 ~2 *", "x 1 to 2 y 3 2"),
        ("snake_case under_score", "snake case under score"),
        ("", ""),
    ],
)
def test_sanitize_query(query, expected):
    assert sanitize_query(query) == expected


def test_sanitize_query_caps_terms():
    assert sanitize_query("w " * 1000, max_terms=5) == "w w w w w"


def test_query_terms_stem_and_drop_stop_words():
    assert query_terms("The running dogs and a Café") == {"run", "dog", "cafe"}
    assert query_terms("the of and") == set()


def test_snippet_prefers_window_with_most_distinct_terms():
    text = (
        "alpha appears here alone. " * 10
        + "Here alpha and beta and gamma appear together in one sentence. "
        + "beta appears here alone. " * 10
    )
    snip = make_snippet("alpha beta gamma", text, chars=80)
    assert "alpha and beta and gamma" in snip


words = st.sampled_from(["tower", "river", "Paris", "the", "built", "1889", "é", "x" * 50, "\n", "  "])


@settings(max_examples=200, deadline=None)
@given(
    query=st.text(max_size=40) | st.lists(words, max_size=5).map(" ".join),
    text=st.text(max_size=600) | st.lists(words, max_size=200).map(" ".join),
    chars=st.integers(min_value=20, max_value=300),
)
def test_snippet_is_a_bounded_window_of_the_text(query, text, chars):
    snip = make_snippet(query, text, chars)
    flat = " ".join(text.split())
    assert len(snip) <= chars + 2  # two ellipses at most
    assert snip.strip("…") in flat
    if len(flat) <= chars:
        assert snip == flat
