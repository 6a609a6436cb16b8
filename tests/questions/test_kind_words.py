"""Kind words that are nouns, distinctive clue words, no HTML entities: the text defects of issue 13's polish.

The strings are the defects seen in the default run's chain questions and the first sentences of
the embedded HotpotQA pages that produced them.
"""

from __future__ import annotations

import json

import pytest

from longtracerl.corpus.config import CorpusConfig
from longtracerl.corpus.markup import clean_page_text, clean_title
from longtracerl.corpus.prepare import prepare_corpus
from longtracerl.corpus.store import PageStore
from longtracerl.questions.audit import label_defects, text_defects
from longtracerl.questions.facts import describe, page_facts
from longtracerl.questions.importers import TitleResolver
from longtracerl.questions.wordclass import distinctive, not_noun, singular


@pytest.mark.parametrize(
    ("question", "code"),
    [
        (
            "Start with a held, whose description names that film. In which year was this film released?",
            "kind_not_noun",
        ),
        ("From there, go to an operating, whose description names that general. Who is it?", "kind_not_noun"),
        (
            'Start with a stories and author, whose description uses the word "fables". Who wrote it?',
            "kind_not_noun",
        ),
        (
            "Next comes a film, named in the description of that held. Who directed this film?",
            "kind_not_noun",
        ),
        ("Then take a country, named in the description of that operating. What is it?", "kind_not_noun"),
        ("Next comes a northern, whose description names that formation. Who led it?", "kind_not_noun"),
        ("Then take a conflicts, whose description names that country. When did it end?", "kind_not_noun"),
        (
            'Start with an American singer, whose description uses the word "almost". Who is it?',
            "weak_clue_word",
        ),
        (
            'Start with a general, whose description uses the words "chairman" and "himself". Who?',
            "weak_clue_word",
        ),
        (
            'Start with a held, whose description uses the words "mentions", "bringing" and "x". Who?',
            "weak_clue_word",
        ),
        ("Who performed Queen &amp; Adam Lambert Rock Big Ben Live?", "html_entity"),
    ],
)
def test_text_defects_catch_non_noun_kinds_weak_clues_and_entities(question, code):
    assert code in text_defects(question)


@pytest.mark.parametrize(
    "question",
    [
        "Next comes a featurette dating from the 1960s, whose description names that film. Who made it?",
        "Finally, consider an Italian city capital, named in the description of that featurette. Which year?",
        'Start with a general, whose description uses the words "chairman" and "fables". Who is that general?',
        "In what century did this Native chief become the leader of a large, multi tribal confederacy?",
        "Start with an American sports drama film released in the 1990s. Who directed this film?",
        "Which company runs an operating system used on a large and busy network?",
    ],
)
def test_clean_questions_have_no_such_defects(question):
    got = set(text_defects(question)) & {"kind_not_noun", "weak_clue_word", "html_entity"}
    assert not got, got


def test_label_defects_find_an_entity_in_a_rubric():
    rubrics = ["Kurt Cobain", "Queen + Adam Lambert", "Queen &amp; Adam Lambert Rock Big Ben Live"]
    assert label_defects("1977", rubrics) == ["html_entity"]
    assert label_defects("1977", ["Queen & Adam Lambert Rock Big Ben Live"]) == []


@pytest.mark.parametrize(
    ("word", "why"),
    [
        ("held", "participle"),
        ("operating", "participle"),
        ("fought", "participle"),
        ("stories", "plural"),
        ("conflicts", "plural"),
        ("northern", "adjective"),
        ("commonly", "function_word"),
        ("featurette", None),
        ("building", None),
        ("landing", None),
        ("series", None),
        ("campus", None),
        ("general", None),
        ("family", None),
    ],
)
def test_not_noun(word, why):
    assert not_noun(word) == why


def test_singular_and_distinctive():
    assert [singular(w) for w in ("operators", "stories", "churches", "series")] == [
        "operator",
        "story",
        "church",
        "series",
    ]
    assert [
        w
        for w in ("almost", "himself", "bringing", "mentions", "fables", "lineup", "perjury")
        if distinctive(w)
    ] == [
        "fables",
        "lineup",
        "perjury",
    ]


@pytest.mark.parametrize(
    ("sentence", "kind", "rejected"),
    [
        (
            "The 2003 NBA draft was held on June 26, 2003, at The Theater at Madison Square Garden.",
            None,
            "held",
        ),
        ("The 2015 MTV Video Music Awards were held on August 30, 2015.", None, "held"),
        ("The Cumberland Plateau is the southern part of the Appalachian Plateau.", None, "part"),
        (
            "There are three heavy rail and three light rail rapid transit systems operating in Canada.",
            "system",
            None,
        ),
        (
            "The Jungle Book (1894) is a collection of stories by English author Rudyard Kipling.",
            "collection",
            None,
        ),
        ("Citybus Limited () is one of the three major bus operators in Hong Kong.", "operator", None),
        (
            "The War of 1812 (18121815) was a conflict fought between the United States and the UK.",
            "conflict",
            None,
        ),
        (
            "The Belvidere Delaware Railroad was a railroad running along the eastern shore of the river.",
            "railroad",
            None,
        ),
        (
            "Winnie the Pooh and the Blustery Day is a 1968 animated featurette based on the book.",
            "featurette",
            None,
        ),
        ("Alex is a common given name commonly associated with the Greek name Alexandros.", "name", None),
        ("The Lesser Antilles are a group of islands in the Caribbean Sea.", "island", None),
    ],
)
def test_page_kind_is_a_noun_or_rejected_with_a_reason(sentence, kind, rejected):
    f = page_facts(sentence)
    assert f.kind == kind
    if rejected:
        assert f.kind_rejected and f.kind_rejected.startswith(rejected)
    else:
        assert f.kind_rejected is None
        assert text_defects(f"Start with {describe(f, 3)}, whose description names that {f.kind}. Who?") == []


def test_a_noun_outside_the_role_table_takes_no_role_from_later_words():
    f = page_facts("The Jungle Book (1894) is a collection of stories by English author Rudyard Kipling.")
    assert (f.role, f.also) == ("topic", ())
    assert describe(f, 3) == "a collection"
    memorial = page_facts(
        "The Jefferson Memorial is a presidential memorial dedicated to Thomas Jefferson (1743–1826)."
    )
    assert (memorial.kind, memorial.role, memorial.dated) == ("memorial", "topic", None)


def test_titles_are_unescaped_at_prepare_and_old_titles_still_resolve(tmp_path):
    rows = [
        {
            "id": "Queen_&amp;_Adam",
            "title": "Queen &amp; Adam Lambert Rock Big Ben Live",
            "text": "It was a concert.",
        },
        {"id": "Tom", "title": "Tom &amp; Jerry", "text": "Tom &amp; Jerry is a cartoon series."},
    ]
    src = tmp_path / "c.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    prepare_corpus("jsonl", src, tmp_path / "corpus", CorpusConfig(build_index=False))
    store = PageStore(tmp_path / "corpus")
    assert store.title_of("Queen_&amp;_Adam") == "Queen & Adam Lambert Rock Big Ben Live"  # id kept as given
    assert store.open("Tom").text == "Tom & Jerry is a cartoon series."
    assert TitleResolver(store)("Tom &amp; Jerry") == "Tom"  # a HotpotQA gold title
    assert clean_title("Tunnels &amp; Trolls") == "Tunnels & Trolls" and clean_title("A & B") == "A & B"
    assert clean_page_text("AT&amp;T &#8211; a company.") == "AT&T – a company."
