import pytest

from longtracerl.text import PatternMatcher, normalize_answer, normalize_rubric, token_f1


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("The Eiffel Tower", "the eiffel tower"),
        ("  A.B.C-123  ", "a b c 123"),
        ("snake_case Word", "snake_case word"),
        ("北京大学", "北 京 大 学"),
        ("Zürich", "z rich"),  # non-ASCII letters are separators in the reference normaliser
        ("", ""),
    ],
)
def test_rubric_normaliser(raw, expected):
    assert normalize_rubric(raw) == expected


def test_answer_normaliser_and_f1():
    assert normalize_answer("The Zürich  Opera!") == "zurich opera"
    assert token_f1("the Zurich opera house", "Zürich Opera") == pytest.approx(0.8)
    assert token_f1("", "") == 1.0
    assert token_f1("x", "") == 0.0


def test_matcher_present_and_duplicates():
    m = PatternMatcher(["abc", "", "bc", "abc"])
    assert m.present("xxabcxx") == {0, 2, 3}
    assert m.present("") == set()
    assert PatternMatcher([]).present("abc") == set()


def test_matcher_mentions_longest_whole_word():
    m = PatternMatcher(["new york", "york", "new york city", "ork"])
    text = "new york city and york and yorkshire"
    found = [(text[s:e], i) for s, e, i in m.mentions(text)]
    assert found == [("new york city", 2), ("york", 1)]
