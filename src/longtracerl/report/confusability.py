"""Confusability (docs/method.md#confusability): share of distractor documents containing a gold rubric entity.

A distractor is any non-gold document of a context. It is *confusable* when its normalised text
(:func:`longtracerl.text.normalize_rubric`, the rubric reward's normaliser) contains the normalised
form of at least one of the question's rubric entities as a substring (no word boundary, no
aliases), as the rubric reward matches.

Example:
    >>> from longtracerl.records import ContextDoc
    >>> docs = [ContextDoc(page_id="g", title="G", tag="gold", n_tokens=1),
    ...         ContextDoc(page_id="a", title="A", tag="tier1", n_tokens=1),
    ...         ContextDoc(page_id="b", title="B", tag="tier2", n_tokens=1)]
    >>> texts = {"g": "Paris.", "a": "The city of PARIS, France.", "b": "Lyon."}
    >>> confusable_flags(docs, ["Paris"], texts)
    [None, True, False]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from longtracerl.records import ContextDoc
from longtracerl.text import PatternMatcher, normalize_rubric


@dataclass
class Tally:
    distractors: int = 0
    confusable: int = 0

    @property
    def rate(self) -> float | None:
        return self.confusable / self.distractors if self.distractors else None

    def add(self, other: Tally) -> None:
        self.distractors += other.distractors
        self.confusable += other.confusable


class NormalisedTexts:
    """Normalised document texts, computed once per page id."""

    def __init__(self, fetch: Callable[[Sequence[str]], Mapping[str, str]]):
        self.fetch = fetch
        self._norm: dict[str, str] = {}

    def get(self, ids: Iterable[str]) -> dict[str, str]:
        ids = list(ids)
        todo = [p for p in dict.fromkeys(ids) if p not in self._norm]
        if todo:
            for pid, text in self.fetch(todo).items():
                self._norm[pid] = normalize_rubric(text)
        return {p: self._norm[p] for p in ids if p in self._norm}


def confusable_flags(
    docs: Sequence[ContextDoc], rubrics: Sequence[str], texts: Mapping[str, str], *, normalised: bool = False
) -> list[bool | None]:
    """Per document: None for gold, else whether its text holds a rubric entity."""
    matcher = PatternMatcher([normalize_rubric(r) for r in rubrics])
    out: list[bool | None] = []
    for d in docs:
        if d.tag == "gold":
            out.append(None)
            continue
        text = texts.get(d.page_id, "")
        out.append(bool(matcher.present(text if normalised else normalize_rubric(text))))
    return out


def tally_by_tag(
    docs: Sequence[ContextDoc], rubrics: Sequence[str], texts: Mapping[str, str], *, normalised: bool = False
) -> dict[str, Tally]:
    """Tallies per document tag, plus ``"all"`` over every distractor."""
    out: dict[str, Tally] = {"all": Tally()}
    for d, flag in zip(docs, confusable_flags(docs, rubrics, texts, normalised=normalised), strict=True):
        if flag is None:
            continue
        for key in ("all", d.tag):
            t = out.setdefault(key, Tally())
            t.distractors += 1
            t.confusable += int(flag)
    return out
