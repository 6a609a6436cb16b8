"""Checks every composed question passes (both composers), and the rejection type.

Example:
    >>> name_leak("Start with a film: this film stars a person.", ["Sinister (film)", "Ethan Hawke"])
    >>> name_leak("Start with a film: Sinister stars a person.", ["Sinister (film)"])
    'Sinister (film)'
    >>> answer_in_question("What year? It opened in 1994.", "1994")
    True
"""

from __future__ import annotations

from collections.abc import Sequence

from longtracerl.records import Label, Page, Provenance, Question, Walk
from longtracerl.text import normalize_answer, normalize_rubric
from longtracerl.textfacts import strip_qualifier


class QuestionRejected(Exception):
    """A composer could not make a valid question from a walk; ``reason`` is counted."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def _contains(haystack: str, needle: str) -> bool:
    return bool(needle) and f" {needle} " in f" {haystack} "


def name_leak(question: str, titles: Sequence[str]) -> str | None:
    """The first path title whose normalised form (or parenthesis-stripped form) is a whole-word
    run of the normalised question (the docs/method.md#rubric-reward normaliser), else None."""
    q = normalize_rubric(question)
    for title in titles:
        for form in (title, strip_qualifier(title)):
            if _contains(q, normalize_rubric(form)):
                return title
    return None


def answer_in_question(question: str, answer: str) -> bool:
    """Does the answer occur as whole words in the question (answer or rubric normaliser)?"""
    return _contains(normalize_answer(question), normalize_answer(answer)) or _contains(
        normalize_rubric(question), normalize_rubric(answer)
    )


def rubric_in_pages(rubric: str, page_texts: Sequence[str]) -> bool:
    """Is the rubric (normalised, substring as the reward does) in one of the gold pages' text?"""
    r = normalize_rubric(rubric)
    return bool(r) and any(r in normalize_rubric(t) for t in page_texts)


def make_question(
    walk: Walk,
    text: str,
    answer: str,
    rubrics: list[str],
    pages: Sequence[Page],
    *,
    config_hash: str,
    producer: str,
) -> Question:
    """The record every composer writes: the question, its label and its provenance."""
    return Question(
        question_id=f"q-{walk.walk_id}",
        walk_id=walk.walk_id,
        question=text,
        label=Label(answer=answer, rubrics=rubrics, gold_page_ids=[p.id for p in pages]),
        provenance=Provenance(
            stage="questions",
            seed=walk.provenance.seed,
            config_hash=config_hash,
            source_ids=[walk.walk_id],
            producer=producer,
            producers={**walk.provenance.producers, "questions": producer},
        ),
    )
