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


@pytest.mark.parametrize(
    "text, sentences",
    [
        (
            "Dr. Dre met Gen. George S. Patton in St. Louis.",
            ["Dr. Dre met Gen. George S. Patton in St. Louis."],
        ),
        (
            "It was shot in the U.S. Which director made it?",
            ["It was shot in the U.S.", "Which director made it?"],
        ),
        (
            "It opened in Washington, D.C. In 1990 it closed.",
            ["It opened in Washington, D.C.", "In 1990 it closed."],
        ),
        ("It stood on Baker St. Later it moved.", ["It stood on Baker St.", "Later it moved."]),
        ("Hulk Hogan vs. The Rock drew a crowd.", ["Hulk Hogan vs. The Rock drew a crowd."]),
        (
            "The film (a.k.a. The Lolly-Madonna War) flopped.",
            ["The film (a.k.a. The Lolly-Madonna War) flopped."],
        ),
        ("It cites Powell v. The Home Depot at length.", ["It cites Powell v. The Home Depot at length."]),
        (
            "Written by C. Robert Cargill. It grossed $87 million.",
            ["Written by C. Robert Cargill.", "It grossed $87 million."],
        ),
    ],
)
def test_sentences_end_after_an_abbreviation_only_when_a_sentence_opener_follows(text, sentences):
    from longtracerl.textfacts import split_sentences

    assert split_sentences(text) == sentences
