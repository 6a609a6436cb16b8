"""Text analysis shared by the index, the query parser and the snippet maker.

One analyzer turns text into index terms: split on non-alphanumeric characters, drop tokens
longer than 40 characters, lowercase, fold accents to ASCII, drop English stop words, Snowball
English stemming. The index, the query and the snippet all go through it, so a snippet
highlights exactly the words that made the page match.

Queries are sanitised before they reach tantivy's query parser: only runs of letters and digits
survive, lowercased (so ``AND``/``OR``/``NOT`` and ``field:`` syntax lose their meaning), and at
most ``max_terms`` of them are kept. Any user string is therefore a valid query.

Example:
    >>> sanitize_query('title:"Ed Wood" AND (film)?')
    'title ed wood and film'
    >>> sanitize_query("   ")
    ''
    >>> sorted(query_terms("The films of Tim Burton"))
    ['burton', 'film', 'tim']
    >>> make_snippet("Burton films", "Ed Wood is a 1994 film directed by Tim Burton.", chars=200)
    'Ed Wood is a 1994 film directed by Tim Burton.'
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

ANALYZER_NAME = "lt_en_v1"
"""Name under which the analyzer is registered in the tantivy index (stored in meta.json)."""

ANALYZER_DESCRIPTION = (
    "simple tokenizer | remove_long(40) | lowercase | ascii_fold | stopword(english) | stemmer(english)"
)

_WORD_RE = re.compile(r"[^\W_]+")
_ELLIPSIS = "…"


@lru_cache(maxsize=1)
def analyzer():
    """The tantivy ``TextAnalyzer`` (built once per process)."""
    import tantivy

    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stopword("english"))
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


@lru_cache(maxsize=200_000)
def term_of(word: str) -> str | None:
    """The index term of one alphanumeric word, or None when the analyzer drops it (stop word)."""
    tokens = analyzer().analyze(word)
    return tokens[0] if tokens else None


def sanitize_query(query: str, max_terms: int = 256) -> str:
    """A string that tantivy's query parser accepts for any input: lowercased alphanumeric runs."""
    words = _WORD_RE.findall(query.lower())
    return " ".join(words[:max_terms])


def query_terms(query: str, max_terms: int = 256) -> set[str]:
    """The set of index terms of a query (stop words removed, stemmed)."""
    out: set[str] = set()
    for word in _WORD_RE.findall(query.lower())[:max_terms]:
        term = term_of(word)
        if term is not None:
            out.add(term)
    return out


def make_snippet(query: str, text: str, chars: int = 200) -> str:
    """A window of about ``chars`` characters of ``text`` around the best-matching query terms.

    The window holding the most distinct query terms wins (then the most matches, then the
    earliest). Whitespace is collapsed; cuts fall on word boundaries and are marked with "…".
    Without any matching term the snippet is the start of the text.
    """
    flat = " ".join(text.split())
    if len(flat) <= chars:
        return flat
    terms = query_terms(query) if query else set()
    start = 0
    if terms:
        matches = [
            (m.start(), m.end(), t) for m in _WORD_RE.finditer(flat) if (t := term_of(m.group())) in terms
        ]
        start = _best_window(matches, chars) if matches else 0
    return _cut(flat, start, chars)


def _best_window(matches: list[tuple[int, int, str]], chars: int) -> int:
    """Start offset of the window (``chars`` long, opening a little before a match) with most terms."""
    lead = chars // 5
    best_key: tuple[int, int, int] | None = None
    best_start = 0
    counts: Counter[str] = Counter()
    lo = hi = 0  # matches[lo:hi] lie inside the current window
    for s, _e, _t in matches:
        ws = max(0, s - lead)
        we = ws + chars
        while hi < len(matches) and matches[hi][1] <= we:
            counts[matches[hi][2]] += 1
            hi += 1
        while lo < hi and matches[lo][0] < ws:
            counts[matches[lo][2]] -= 1
            if not counts[matches[lo][2]]:
                del counts[matches[lo][2]]
            lo += 1
        key = (len(counts), hi - lo, -ws)
        if best_key is None or key > best_key:
            best_key, best_start = key, ws
    return best_start


def _cut(flat: str, start: int, chars: int) -> str:
    if start > 0:
        # begin at the start of the word that holds `start`
        space = flat.rfind(" ", 0, start + 1)
        start = space + 1 if space >= 0 else 0
    end = min(len(flat), start + chars)
    if end < len(flat):
        space = flat.rfind(" ", start, end + 1)
        if space > start + chars // 2:
            end = space
    body = flat[start:end].strip()
    return (_ELLIPSIS if start > 0 else "") + body + (_ELLIPSIS if end < len(flat) else "")
