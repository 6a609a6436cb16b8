"""The fixed grammar of masked questions: how they are written and how an agent can read them.

A masked question is a sequence of sentences separated by ``". "``::

    Start with <role>: <clause>.
    Move to <role> it mentions: <clause>.          (2nd page)
    Then <role> it mentions: <clause>.             (3rd .. second-to-last page, repeated)
    Finally, <role> it mentions: <clause with ___>.
    <Ask> fills the blank?

- ``<role>`` is an indefinite role phrase from :data:`ROLE_PHRASES` ("a person", "a film", ...).
- ``<clause>`` is words of that page's own text with every path entity's name replaced by a role
  phrase ("a person", or "this film" for the page's own name). Clauses never contain ``". "``,
  ``"?"`` or ``"___"``; only the final clause holds the blank ``___``, which stands for the answer.
- ``<Ask>`` names the answer type: ``What year``, ``What number``, ``Which person``, ``Which
  place``, ``Which <noun>`` (film, band, organization, ...), or ``What name`` (unknown type).
  :func:`answer_type` maps it back ("year", "number", "person", "place", "film", ..., "name").
- A two-page question has no ``Move to`` sentence.

Example:
    >>> q = build_question(
    ...     [("film", "this film is a 2012 horror film directed by a person"),
    ...      ("person", "this person is an American director")],
    ...     ("place", "this place had ___ residents in 2010"), "What number")
    >>> q
    'Start with a film: this film is a 2012 horror film directed by a person. Move to a person it mentions: this person is an American director. Finally, a place it mentions: this place had ___ residents in 2010. What number fills the blank?'
    >>> p = parse_question(q)
    >>> [h.lead for h in p.hops], p.hops[1].role, p.answer_type
    (['Start with', 'Move to', 'Finally,'], 'a person', 'number')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from longtracerl.textfacts import ROLE_NOUNS, role_phrase

BLANK = "___"
ASK_SUFFIX = " fills the blank?"
ROLE_PHRASES: tuple[str, ...] = tuple(role_phrase(r) for r in ROLE_NOUNS)
"""Every indefinite role phrase a question may use."""


def ask_for(kind: str, role: str | None = None) -> str:
    """The ask words for an answer kind (``year``/``number``/``entity``) and an entity role."""
    if kind == "year":
        return "What year"
    if kind == "number":
        return "What number"
    if kind == "date":
        return "What date"
    if role is None or role == "topic":
        return "What name"
    return f"Which {ROLE_NOUNS.get(role, role)}"


def build_question(hops: Sequence[tuple[str, str]], final: tuple[str, str], ask: str) -> str:
    """Assemble a question from (role, clause) pairs, the final (role, clause) and the ask words."""
    parts = []
    for i, (role, clause) in enumerate(hops):
        phrase = role_phrase(role)
        if i == 0:
            parts.append(f"Start with {phrase}: {clause}")
        elif i == 1:
            parts.append(f"Move to {phrase} it mentions: {clause}")
        else:
            parts.append(f"Then {phrase} it mentions: {clause}")
    role, clause = final
    phrase = role_phrase(role)
    parts.append(f"Finally, {phrase} it mentions: {clause}" if hops else f"Start with {phrase}: {clause}")
    return ". ".join(parts) + ". " + ask + ASK_SUFFIX


@dataclass(frozen=True)
class Hop:
    lead: str  # "Start with" | "Move to" | "Then" | "Finally,"
    role: str  # the role phrase, e.g. "a person"
    clause: str


@dataclass(frozen=True)
class ParsedQuestion:
    hops: list[Hop]
    ask: str  # e.g. "What year"
    answer_type: str  # year | number | date | name | person | place | film | ...

    @property
    def final(self) -> Hop:
        return self.hops[-1]


_ROLE_ALT = "|".join(re.escape(p) for p in sorted(ROLE_PHRASES, key=len, reverse=True))
_HOP = re.compile(rf"^(Start with|Move to|Then|Finally,) ({_ROLE_ALT})(?: it mentions)?: (.*)$", re.DOTALL)
_ASK = re.compile(
    r"^(What year|What number|What date|What name|Which ([\w ]+?))" + re.escape(ASK_SUFFIX) + "$"
)


def answer_type(ask: str) -> str:
    """``'What year'`` -> ``'year'``; ``'Which person'`` -> ``'person'``; ``'What name'`` -> ``'name'``."""
    words = ask.split(maxsplit=1)
    return words[1] if len(words) > 1 else "name"


def parse_question(text: str) -> ParsedQuestion:
    """Read a masked question back into hops and the answer type; ValueError if off-grammar."""
    body, sep, ask_sentence = text.rpartition(". ")
    m = _ASK.match(ask_sentence.strip())
    if not sep or m is None:
        raise ValueError("not a masked-grammar question: no final '<Ask> fills the blank?' sentence")
    hops = []
    for sentence in body.split(". "):
        hm = _HOP.match(sentence.strip().rstrip("."))
        if hm is None:
            raise ValueError(f"not a masked-grammar hop sentence: {sentence[:80]!r}")
        hops.append(Hop(hm.group(1), hm.group(2), hm.group(3)))
    ask = m.group(1)
    return ParsedQuestion(hops=hops, ask=ask, answer_type=answer_type(ask))
