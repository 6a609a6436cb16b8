"""Rubric reward: entity recall of the answer text (method §2.3), exact and fast.

Reference behaviour (:func:`rubric_score_reference`, the plain implementation): normalise the text
and each rubric with :func:`longtracerl.text.normalize_rubric`; a rubric is hit when its normalised
form is a substring of the normalised text; score = hits / number of rubrics, 0 for an empty list.
A rubric that normalises to ``''`` is a hit, because ``'' in s`` is true in the reference.

:func:`rubric_score` gives identical results (property-tested) without building the normalised
text. The normalised text is the list of tokens of ``text.lower()`` (runs of ``[a-z0-9_]`` and
single CJK characters) joined by single spaces, so a normalised rubric ``t1 t2 ... tk`` is a
substring of it exactly when ``text.lower()`` contains ``t1``, then a gap, then ``t2``, ..., then
``tk``, where a gap is a run of characters that belong to no token, non-empty between two ASCII
tokens and possibly empty next to a CJK character. A one-token rubric is one ``str`` substring
test on the lower-cased text; a longer rubric is one compiled regular expression (cached per
rubric list). This skips the regex tokenisation of the whole response, which is most of the
reference's cost (see docs/rewards.md for the measured ratio).

``method="automaton"`` instead normalises the text once and finds all rubrics in one
Aho-Corasick pass (:class:`longtracerl.text.PatternMatcher`, automata cached per rubric list);
it is exact too and pays off for long rubric lists (hundreds), not for the usual 5-30.

``word_boundary=True`` (a departure, off by default) requires the rubric to start and end on
token boundaries of the normalised text: ``" " + r + " "`` in ``" " + text + " "``.

Example:
    >>> s = rubric_score("The Eiffel Tower is in PARIS.", ["Eiffel tower", "paris", "Lyon"])
    >>> (round(s.score, 4), s.matched, s.missing)
    (0.6667, ['Eiffel tower', 'paris'], ['Lyon'])
    >>> rubric_score("anything", []).score
    0.0
    >>> rubric_score("Berlin", ["erl"]).score, rubric_score("Berlin", ["erl"], word_boundary=True).score
    (1.0, 0.0)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from longtracerl.text import PatternMatcher, normalize_rubric

Method = Literal["scan", "automaton"]

_GAP = "[^a-z0-9_\u4e00-\u9fff]"
_ASCII_TOKEN_CHAR = "[a-z0-9_]"


@dataclass(frozen=True, slots=True)
class RubricScore:
    """Recall of the rubrics in a text: score in [0, 1], rubrics hit and missed (input order)."""

    score: float
    matched: list[str]
    missing: list[str]


def _result(rubrics: Sequence[str], hits: Sequence[bool]) -> RubricScore:
    if not rubrics:
        return RubricScore(0.0, [], [])
    matched = [r for r, h in zip(rubrics, hits, strict=True) if h]
    missing = [r for r, h in zip(rubrics, hits, strict=True) if not h]
    return RubricScore(len(matched) / len(rubrics), matched, missing)


def rubric_score_reference(text: str, rubrics: Sequence[str], *, word_boundary: bool = False) -> RubricScore:
    """The plain per-rubric implementation (normalise once, one substring test per rubric)."""
    norm = normalize_rubric(text)
    if word_boundary:
        padded = f" {norm} "
        hits = [(not r) or f" {r} " in padded for r in map(normalize_rubric, rubrics)]
    else:
        hits = [normalize_rubric(r) in norm for r in rubrics]
    return _result(rubrics, hits)


# --------------------------------------------------------------------------- scan plan


def _is_cjk(token: str) -> bool:
    return len(token) == 1 and "\u4e00" <= token <= "\u9fff"


def _compile_one(norm: str, word_boundary: bool) -> tuple[int, object]:
    """(kind, probe): kind 0 = always hit, 1 = substring test, 2 = regex search."""
    if not norm:
        return 0, None
    tokens = norm.split(" ")
    if len(tokens) == 1 and not word_boundary:
        return 1, tokens[0]
    parts: list[str] = []
    if word_boundary and not _is_cjk(tokens[0]):
        parts.append(f"(?<!{_ASCII_TOKEN_CHAR})")
    parts.append(re.escape(tokens[0]))
    for prev, tok in zip(tokens, tokens[1:], strict=False):
        parts.append(_GAP + ("*" if _is_cjk(prev) or _is_cjk(tok) else "+"))
        parts.append(re.escape(tok))
    if word_boundary and not _is_cjk(tokens[-1]):
        parts.append(f"(?!{_ASCII_TOKEN_CHAR})")
    return 2, re.compile("".join(parts))


@lru_cache(maxsize=4096)
def _scan_plan(rubrics: tuple[str, ...], word_boundary: bool) -> tuple[tuple[int, object], ...]:
    return tuple(_compile_one(normalize_rubric(r), word_boundary) for r in rubrics)


@lru_cache(maxsize=1024)
def _automaton(rubrics: tuple[str, ...], word_boundary: bool) -> tuple[PatternMatcher, tuple[bool, ...]]:
    norms = [normalize_rubric(r) for r in rubrics]
    patterns = [f" {n} " if (word_boundary and n) else n for n in norms]
    return PatternMatcher(patterns), tuple(not n for n in norms)


def rubric_score(
    text: str,
    rubrics: Sequence[str],
    *,
    word_boundary: bool = False,
    method: Method = "scan",
) -> RubricScore:
    """Rubric recall of ``text`` (method §2.3); identical to :func:`rubric_score_reference`."""
    if not rubrics:
        return RubricScore(0.0, [], [])
    key = tuple(rubrics)
    if method == "scan":
        lowered = text.lower()
        hits = []
        for kind, probe in _scan_plan(key, word_boundary):
            if kind == 0:
                hits.append(True)
            elif kind == 1:
                hits.append(probe in lowered)  # type: ignore[operator]
            else:
                hits.append(probe.search(lowered) is not None)  # type: ignore[union-attr]
        return _result(rubrics, hits)
    if method == "automaton":
        matcher, empty = _automaton(key, word_boundary)
        norm = normalize_rubric(text)
        found = matcher.present(f" {norm} " if word_boundary else norm)
        return _result(rubrics, [empty[i] or i in found for i in range(len(key))])
    raise ValueError(f"rubric_score: unknown method '{method}'. Valid: scan, automaton")


def scored_text(
    content: str, reasoning: str = "", *, use_content: bool = True, use_reasoning: bool = False
) -> str:
    """The text a rubric is scored on: content (default), reasoning, or both (newline-joined)."""
    parts = []
    if use_reasoning and reasoning:
        parts.append(reasoning)
    if use_content and content:
        parts.append(content)
    return "\n".join(parts)
