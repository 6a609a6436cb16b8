"""The one place for text normalisation and matching.

- :func:`normalize_rubric` is the rubric-reward normaliser of the authors' code (docs/method.md#rubric-reward):
  lower-case, keep tokens that are runs of ``[a-z0-9_]`` or single CJK characters
  (U+4E00..U+9FFF), join with one space. Confusability in the report uses it too.
- :func:`normalize_answer` is the answer normaliser for rule-based matching (SQuAD style:
  accents folded, lower-case, punctuation and articles dropped, spaces collapsed).
- :class:`PatternMatcher` finds many patterns in a text at once (Aho-Corasick, pyahocorasick):
  which patterns occur (substring semantics, as the rubric reward), or the longest
  non-overlapping whole-word mentions (as the title-mention link builder).

Examples:
    >>> normalize_rubric("The Eiffel-Tower (Paris) 北京!")
    'the eiffel tower paris 北 京'
    >>> normalize_answer("The  Beatles!")
    'beatles'
    >>> m = PatternMatcher(["new york", "york"])
    >>> sorted(m.present("i love new york"))
    [0, 1]
    >>> [(s, e, i) for s, e, i in m.mentions("i love new york", word_boundary=True)]
    [(7, 15, 0)]
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable, Iterator

_RUBRIC_TOKEN = re.compile(r"[a-z0-9_]+|[\u4e00-\u9fff]")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT_TABLE = str.maketrans({c: " " for c in string.punctuation + "‘’“”–—…"})
_WORD_CHAR = re.compile(r"\w")


def normalize_rubric(text: str) -> str:
    """Normalise text exactly as the reference rubric reward does (docs/method.md#rubric-reward)."""
    return " ".join(_RUBRIC_TOKEN.findall(text.lower()))


def fold_accents(text: str) -> str:
    """Strip combining marks: 'Zürich' -> 'Zurich'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalize_answer(text: str) -> str:
    """Normalise an answer for rule-based comparison (not the rubric normaliser)."""
    text = fold_accents(text).lower().translate(_PUNCT_TABLE)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def answer_tokens(text: str) -> list[str]:
    return normalize_answer(text).split()


def token_f1(prediction: str, reference: str) -> float:
    """Token-level F1 between two answers after :func:`normalize_answer`."""
    pred, ref = answer_tokens(prediction), answer_tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    common: dict[str, int] = {}
    ref_counts: dict[str, int] = {}
    for t in ref:
        ref_counts[t] = ref_counts.get(t, 0) + 1
    overlap = 0
    for t in pred:
        if ref_counts.get(t, 0) > common.get(t, 0):
            common[t] = common.get(t, 0) + 1
            overlap += 1
    if overlap == 0:
        return 0.0
    p, r = overlap / len(pred), overlap / len(ref)
    return 2 * p * r / (p + r)


def _is_word_char(ch: str) -> bool:
    return bool(_WORD_CHAR.match(ch))


class PatternMatcher:
    """Aho-Corasick matcher over a fixed list of patterns (matched as given: normalise first).

    Empty patterns never match. Duplicate patterns share one automaton entry; every index that
    holds the pattern is reported.
    """

    def __init__(self, patterns: Iterable[str]):
        import ahocorasick  # light C extension; imported here to keep `import longtracerl` lean

        self.patterns = list(patterns)
        self._owners: dict[str, list[int]] = {}
        for i, p in enumerate(self.patterns):
            if p:
                self._owners.setdefault(p, []).append(i)
        self._automaton = ahocorasick.Automaton()
        for p, owners in self._owners.items():
            self._automaton.add_word(p, (len(p), tuple(owners)))
        self._empty = not self._owners
        if not self._empty:
            self._automaton.make_automaton()

    def present(self, text: str) -> set[int]:
        """Indices of patterns that occur anywhere in ``text`` as substrings."""
        found: set[int] = set()
        if self._empty or not text:
            return found
        remaining = len(self._owners)
        for _end, (_length, owners) in self._automaton.iter(text):
            if owners[0] not in found:
                found.update(owners)
                remaining -= 1
                if remaining == 0:
                    break
        return found

    def mentions(self, text: str, *, word_boundary: bool = True) -> Iterator[tuple[int, int, int]]:
        """Longest, leftmost, non-overlapping matches as (start, end, pattern index).

        With ``word_boundary`` a match must not be preceded or followed by a word character.
        """
        if self._empty or not text:
            return
        candidates = []
        for end, (length, owners) in self._automaton.iter(text):
            start = end - length + 1
            if word_boundary:
                if start > 0 and _is_word_char(text[start - 1]):
                    continue
                if end + 1 < len(text) and _is_word_char(text[end + 1]):
                    continue
            candidates.append((start, -length, owners[0]))
        candidates.sort()
        last_end = -1
        for start, neg_len, idx in candidates:
            if start < last_end:
                continue
            last_end = start - neg_len
            yield start, last_end, idx
