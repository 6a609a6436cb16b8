"""Rubric reward: entity recall of the answer text (docs/method.md#rubric-reward), exact and fast.

:func:`rubric_score_reference` is the plain rule (normalise text and rubrics with
:func:`longtracerl.text.normalize_rubric`, substring test per rubric, hits / rubrics; a rubric
that normalises to ``''`` is a hit). :func:`rubric_score` returns identical results without
building the normalised text: one vectorised pass over the lower-cased UTF-8 bytes finds where a
rubric's longest token can occur, and each candidate is confirmed token by token (no regex per
rubric; only rubrics whose tokens are all shorter than 4 bytes use a lazily compiled one).
``method="automaton"`` (Aho-Corasick) is also exact. ``word_boundary=True`` is a departure, off by
default. How it works and what it measures: docs/rewards.md (Rubric reward).

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
from typing import Any, Literal

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
#
# The text is lower-cased with ``str.lower`` semantics and encoded as UTF-8 once. Only two code
# points lower-case differently under ``bytes.lower`` (ASCII-only) in a way that matters for the
# token set: U+212A KELVIN SIGN -> 'k' and U+0130 (I with dot above) -> 'i' + U+0307; they are
# replaced first (the test suite checks every code point). In the bytes, a token is a run of
# ``[a-z0-9_]`` or one 3-byte CJK character (U+4E00..U+9FFF = E4 B8 80 .. E9 BF BF); every other
# character is a gap character.

_GAP_CHAR = (
    rb"(?:[^a-z0-9_\x80-\xff]"  # ASCII, not a token character
    rb"|[\xc0-\xdf][\x80-\xbf]"  # 2-byte characters
    rb"|\xe4[\x80-\xb7][\x80-\xbf]"  # U+4000..U+4DFF
    rb"|[\xe0-\xe3\xea-\xef][\x80-\xbf][\x80-\xbf]"  # other 3-byte characters, not CJK
    rb"|[\xf0-\xf7][\x80-\xbf][\x80-\xbf][\x80-\xbf])"  # 4-byte characters
)
_ASCII_TOKEN_BYTE = rb"[a-z0-9_]"
_GRAM = 4  # bytes per gram of the one-pass candidate filter
_MUL = 2654435761
_TABLE_BITS = 16


_GAP_CHAR_REVERSED = (  # the same characters, each byte sequence reversed (for the reversed text)
    rb"(?:[^a-z0-9_\x80-\xff]"
    rb"|[\x80-\xbf][\xc0-\xdf]"
    rb"|[\x80-\xbf][\x80-\xb7]\xe4"
    rb"|[\x80-\xbf][\x80-\xbf][\xe0-\xe3\xea-\xef]"
    rb"|[\x80-\xbf][\x80-\xbf][\x80-\xbf][\xf0-\xf7])"
)


def _is_cjk(token: str) -> bool:
    return len(token) == 1 and "\u4e00" <= token <= "\u9fff"


_GAP_RUN = re.compile(_GAP_CHAR + b"*")  # a maximal run of gap characters (possibly empty)
_GAP_RUN_REVERSED = re.compile(_GAP_CHAR_REVERSED + b"*")
_TOKEN_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True)
class _Rubric:
    """One normalised rubric as UTF-8 tokens, and how to confirm it at an anchor occurrence.

    Gap characters and token characters are disjoint and a token starts with a token character,
    so between two rubric tokens the text must hold exactly one maximal run of gap characters
    (non-empty between two ASCII tokens): a match is checked deterministically, token by token,
    forward from an occurrence of the anchor (the longest token, index ``k``) and, for the tokens
    before it, backward in the reversed text. No per-rubric regex is compiled, so a new rubric
    list costs microseconds.
    """

    tokens: tuple[bytes, ...]
    cjk: tuple[bool, ...]
    k: int
    word_boundary: bool

    @property
    def anchor(self) -> bytes:
        return self.tokens[self.k]

    @property
    def single(self) -> bool:
        """One token and no boundary check: a plain substring test."""
        return len(self.tokens) == 1 and not self.word_boundary

    def at(self, data: bytes, pos: int, reversed_data: bytes) -> bool:
        """Whether the rubric occurs with its anchor at ``data[pos:]``."""
        toks, cjk, k = self.tokens, self.cjk, self.k
        end = pos
        for i in range(k, len(toks)):
            if i > k:
                gap_end = _GAP_RUN.match(data, end).end()  # type: ignore[union-attr]
                if gap_end == end and not (cjk[i - 1] or cjk[i]):
                    return False
                end = gap_end
            if not data.startswith(toks[i], end):
                return False
            end += len(toks[i])
        if self.word_boundary and not cjk[-1] and end < len(data) and data[end] in _TOKEN_BYTES:
            return False
        if k == 0:
            return not (self.word_boundary and not cjk[0] and pos > 0 and data[pos - 1] in _TOKEN_BYTES)
        start = len(data) - pos  # index in the reversed text of the byte before ``pos``
        for i in range(k - 1, -1, -1):
            gap_end = _GAP_RUN_REVERSED.match(reversed_data, start).end()  # type: ignore[union-attr]
            if gap_end == start and not (cjk[i] or cjk[i + 1]):
                return False
            start = gap_end
            if not reversed_data.startswith(toks[i][::-1], start):
                return False
            start += len(toks[i])
        return not (
            self.word_boundary and not cjk[0] and start < len(data) and reversed_data[start] in _TOKEN_BYTES
        )


def _compile_one(norm: str, word_boundary: bool) -> _Rubric:
    tokens = norm.split(" ")
    encoded = tuple(t.encode() for t in tokens)
    k = max(range(len(tokens)), key=lambda i: len(encoded[i]))
    return _Rubric(encoded, tuple(_is_cjk(t) for t in tokens), k, word_boundary)


@lru_cache(maxsize=4096)
def _whole_pattern(norm: str, word_boundary: bool) -> re.Pattern[bytes]:
    """One regex for a rubric whose tokens are all shorter than a gram (rare; compiled lazily)."""
    tokens = norm.split(" ")
    parts: list[bytes] = []
    if word_boundary and not _is_cjk(tokens[0]):
        parts.append(b"(?<!" + _ASCII_TOKEN_BYTE + b")")
    for k, tok in enumerate(tokens):
        if k:
            parts.append(_GAP_CHAR + (b"*" if _is_cjk(tokens[k - 1]) or _is_cjk(tok) else b"+"))
        parts.append(re.escape(tok.encode()))
    if word_boundary and not _is_cjk(tokens[-1]):
        parts.append(b"(?!" + _ASCII_TOKEN_BYTE + b")")
    return re.compile(b"".join(parts))


def _gram_hash(gram: bytes) -> int:
    return ((int.from_bytes(gram, "little") * _MUL) & 0xFFFFFFFF) >> (32 - _TABLE_BITS)


@dataclass(frozen=True)
class _Plan:
    """Everything about one rubric list that does not depend on the text (cached)."""

    rubrics: tuple[_Rubric | None, ...]  # None: normalises to '' (always a hit)
    norms: tuple[str, ...]
    table: Any  # numpy bool table over the hashes of the anchors' leading 4 bytes
    grams: Any  # sorted uint32 array of those 4-byte grams
    keys: Any  # uint64 per gram: the anchors' leading bytes (up to 8) shared by all its rubrics
    masks: Any  # uint64 per gram: which bytes of ``keys`` to compare
    ids: tuple[tuple[int, ...], ...]  # rubric ids per gram
    rest: tuple[int, ...]  # anchors shorter than a gram: searched one by one


@lru_cache(maxsize=256)  # each plan holds a 64 KiB table: at most 16 MiB
def _scan_plan(rubrics: tuple[str, ...], word_boundary: bool) -> _Plan:
    import numpy as np

    compiled: list[_Rubric | None] = []
    by_gram: dict[bytes, list[int]] = {}
    rest: list[int] = []
    norms = tuple(normalize_rubric(r) for r in rubrics)
    for i, norm in enumerate(norms):
        if not norm:
            compiled.append(None)
            continue
        r = _compile_one(norm, word_boundary)
        compiled.append(r)
        if len(r.anchor) >= _GRAM:
            by_gram.setdefault(r.anchor[:_GRAM], []).append(i)
        else:
            rest.append(i)
    table = np.zeros(1 << _TABLE_BITS, dtype=bool)
    order = sorted(by_gram, key=lambda g: int.from_bytes(g, "little"))
    keys, masks = [], []
    for gram in order:
        table[_gram_hash(gram)] = True
        anchors = [compiled[i].anchor[:8] for i in by_gram[gram]]  # type: ignore[union-attr]
        shared = 0
        while shared < min(map(len, anchors)) and len({a[shared] for a in anchors}) == 1:
            shared += 1
        keys.append(int.from_bytes(anchors[0][:shared].ljust(8, b"\0"), "little"))
        masks.append(int.from_bytes(b"\xff" * shared + b"\0" * (8 - shared), "little"))
    return _Plan(
        tuple(compiled),
        norms,
        table,
        np.array([int.from_bytes(g, "little") for g in order], dtype=np.uint32),
        np.array(keys, dtype=np.uint64),
        np.array(masks, dtype=np.uint64),
        tuple(tuple(by_gram[g]) for g in order),
        tuple(rest),
    )


def _lower_utf8(text: str) -> bytes:
    if not text.isascii() and ("\u212a" in text or "\u0130" in text):
        text = text.replace("\u212a", "k").replace("\u0130", "i\u0307")
    return text.encode("utf-8").lower()


def _scan(text: str, plan: _Plan) -> list[bool]:
    """One vectorised pass finds where each rubric's anchor can occur; ``_Rubric.at`` confirms there."""
    import numpy as np

    data = _lower_utf8(text)
    size = len(data)
    compiled = plan.rubrics
    hits = [r is None for r in compiled]
    if plan.ids and size >= _GRAM:
        padded = data + b"\0" * 8  # so that 8-byte windows exist at every position
        windows = np.ndarray((size - _GRAM + 1,), dtype="<u4", buffer=padded, strides=(1,))
        high = (windows * np.uint32(_MUL)).view("<u2")[1::2]  # top 16 bits of the hash
        cand = np.flatnonzero(np.take(plan.table, high))
        if cand.size:
            values = windows[cand]
            which = np.minimum(np.searchsorted(plan.grams, values), len(plan.grams) - 1)
            wide = np.ndarray((size - _GRAM + 1,), dtype="<u8", buffer=padded, strides=(1,))[cand]
            keep = (plan.grams[which] == values) & ((wide & plan.masks[which]) == plan.keys[which])
            cand, which = cand[keep], which[keep]
            order = np.argsort(which, kind="stable")  # one group per gram, positions ascending
            cand, which = cand[order].tolist(), which[order].tolist()
            reversed_data = b""
            start = 0
            while start < len(cand):
                g = which[start]
                end = start
                while end < len(cand) and which[end] == g:
                    end += 1
                left = list(plan.ids[g])
                for pos in cand[start:end]:
                    still = []
                    for i in left:
                        r = compiled[i]
                        assert r is not None
                        if not reversed_data and r.k:
                            reversed_data = data[::-1]
                        ok = r.at(data, pos, reversed_data)
                        if ok:
                            hits[i] = True
                        else:
                            still.append(i)
                    left = still
                    if not left:
                        break
                start = end
    for i in plan.rest:
        r = compiled[i]
        assert r is not None
        if r.single:
            hits[i] = r.anchor in data
        else:
            hits[i] = (
                r.anchor in data and _whole_pattern(plan.norms[i], r.word_boundary).search(data) is not None
            )
    return hits


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
    """Rubric recall of ``text`` (docs/method.md#rubric-reward); identical to :func:`rubric_score_reference`."""
    if not rubrics:
        return RubricScore(0.0, [], [])
    key = tuple(rubrics)
    if method == "scan":
        return _result(rubrics, _scan(text, _scan_plan(key, word_boundary)))
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
