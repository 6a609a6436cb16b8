"""docs/method.md#rubric-reward: rubric recall, exact numbers and equivalence with the plain reference."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from longtracerl.rewards.rubric import rubric_score, rubric_score_reference, scored_text

METHODS = ["scan", "automaton"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "text, rubrics, score, matched",
    [
        (
            "The Eiffel Tower, Paris",
            ["eiffel tower", "PARIS", "Lyon", "Rome"],
            0.5,
            ["eiffel tower", "PARIS"],
        ),
        ("anything", [], 0.0, []),
        ("", ["a"], 0.0, []),
        # substring, no word boundary: 'erl' inside 'berlin', 'lin ro' across tokens
        ("Berlin, Rome", ["erl", "lin ro", "lin  ROMA"], 2 / 3, ["erl", "lin ro"]),
        # punctuation and case vanish in both
        ("U.S.A. is big", ["u s a", "usa"], 0.5, ["u s a"]),
        # duplicates count separately
        ("paris", ["Paris", "paris", "lyon"], 2 / 3, ["Paris", "paris"]),
        # a rubric that normalises to '' is a hit, as '' in s is True in the reference
        ("text", ["!!!", "zzz"], 0.5, ["!!!"]),
        ("", ["---"], 1.0, ["---"]),
        # CJK: single characters are tokens, so spacing between them does not matter
        ("他在北京大学读书", ["北京大学", "北 京", "上海"], 2 / 3, ["北京大学", "北 京"]),
        ("Peking大学 in 北京", ["peking 大学", "大学in", "in北京"], 1.0, ["peking 大学", "大学in", "in北京"]),
        # unicode outside the token set is dropped: accents split words
        ("Zürich and Café", ["zurich", "z rich", "caf"], 2 / 3, ["z rich", "caf"]),
        # underscore and digits are token characters
        ("var_name = 42km", ["var_name", "42km", "42 km"], 2 / 3, ["var_name", "42km"]),
    ],
)
def test_exact_scores(method, text, rubrics, score, matched):
    s = rubric_score(text, rubrics, method=method)
    assert s.score == pytest.approx(score, abs=1e-12)
    assert s.matched == matched
    assert len(s.matched) + len(s.missing) == len(rubrics)
    assert s == rubric_score_reference(text, rubrics)


@pytest.mark.parametrize("method", METHODS)
def test_word_boundary_departure(method):
    s = rubric_score(
        "Berlin and the Eiffel Tower",
        ["erl", "berlin", "eiffel", "fel tow", "北"],
        word_boundary=True,
        method=method,
    )
    assert s == rubric_score_reference(
        "Berlin and the Eiffel Tower", ["erl", "berlin", "eiffel", "fel tow", "北"], word_boundary=True
    )
    assert s.matched == ["berlin", "eiffel"]


def test_special_lowercase_characters_follow_str_lower():
    # KELVIN SIGN lower-cases to 'k'; dotted capital I to 'i' + combining dot
    for text, rubric in [
        ("\u212aelvin", "kelvin"),
        ("\u0130stanbul", "i stanbul"),
        ("\u0130stanbul", "istanbul"),
    ]:
        assert rubric_score(text, [rubric]) == rubric_score_reference(text, [rubric])


_ALPHABET = list("abzAZ09_ -.,\n\t'é\u00df\u0130\u212a北京大\u4e00\u9fff\u3000\u00ad\U0001f600")
_text = st.text(st.sampled_from(_ALPHABET), max_size=60)
_rubric = st.text(st.sampled_from(_ALPHABET), max_size=10)


@settings(max_examples=400, deadline=None)
@given(_text, st.lists(_rubric, max_size=6), st.booleans(), st.sampled_from(METHODS))
def test_identical_to_reference_on_random_inputs(text, rubrics, word_boundary, method):
    got = rubric_score(text, rubrics, word_boundary=word_boundary, method=method)
    assert got == rubric_score_reference(text, rubrics, word_boundary=word_boundary)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80), st.lists(st.text(max_size=12), max_size=5), st.sampled_from(METHODS))
def test_identical_to_reference_on_arbitrary_unicode(text, rubrics, method):
    assert rubric_score(text, rubrics, method=method) == rubric_score_reference(text, rubrics)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["new", "york", "city", "北", "京", "x1"]), max_size=30), st.data())
def test_rubrics_cut_from_the_text_always_hit(words, data):
    seps = [data.draw(st.sampled_from([" ", ", ", "\n", "--", ""])) for _ in words]
    text = "".join(w + s for w, s in zip(words, seps, strict=True))
    if text:
        i = data.draw(st.integers(0, len(text) - 1))
        j = data.draw(st.integers(i, len(text)))
        rub = text[i:j]
        assert rubric_score(text, [rub]) == rubric_score_reference(text, [rub])


_WORDS = [
    "paris",
    "Paris",
    "zürich",
    "ZÜRICH",
    "北京大学",
    "北京",
    "new",
    "York",
    "city",
    "x1",
    "2008",
    "st",
    "İstanbul",
    "\u212aelvin",
    "ﬁnance",
    "naïve",
    "a",
    "the",
    "Ωmega",
    "東京",
    "😀",
    "snake_case",
]
_SEPS = [" ", ", ", "\n", "--", "", "\u3000", "·", " (", ") "]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(_WORDS), min_size=1, max_size=60),
    st.lists(st.sampled_from(_SEPS), min_size=60, max_size=60),
    st.lists(st.lists(st.sampled_from(_WORDS + [" ", "-"]), min_size=1, max_size=4).map("".join), max_size=8),
    st.booleans(),
)
def test_identical_to_reference_on_word_texts(words, seps, rubrics, word_boundary):
    text = "".join(w + s for w, s in zip(words, seps, strict=False))
    got = rubric_score(text, rubrics, word_boundary=word_boundary)
    assert got == rubric_score_reference(text, rubrics, word_boundary=word_boundary)


def test_only_two_code_points_lower_case_into_tokens_differently():
    """The scan lower-cases ASCII bytes only, after replacing the code points listed here."""
    import re

    token = re.compile(r"[a-z0-9_]|[\u4e00-\u9fff]")
    odd = []
    for cp in range(0x80, 0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        low = ch.lower()
        if low != ch and any(token.match(c) for c in low):
            odd.append(cp)
    assert odd == [0x130, 0x212A]


def test_one_megabyte_text():
    text = ("Paris is the capital of France; Berlin of Germany. " * 21_000)[:1_048_576] + " Kyoto 京都"
    rubrics = ["Paris", "france", "Kyoto", "京都", "Madrid", "capital of germany"]
    s = rubric_score(text, rubrics)
    assert s.score == pytest.approx(4 / 6)
    assert s == rubric_score_reference(text, rubrics)


def test_unknown_method():
    with pytest.raises(ValueError, match="scan, automaton"):
        rubric_score("x", ["x"], method="fast")  # type: ignore[arg-type]


def test_scored_text():
    assert scored_text("c", "r") == "c"
    assert scored_text("c", "r", use_reasoning=True) == "r\nc"
    assert scored_text("c", "r", use_content=False, use_reasoning=True) == "r"
    # reasoning optionally counts toward the rubric score
    text = scored_text("Paris", "I recall Berlin", use_reasoning=True)
    assert rubric_score(text, ["paris", "berlin"]).score == 1.0
