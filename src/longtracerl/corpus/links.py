"""Link-graph builders: from the links a source carries, or rebuilt from title mentions.

``build_anchor_graph`` resolves each page's ``links`` (id first, then exact title; unresolved
targets are counted as dangling). ``build_mention_graph`` links page A to page B when A's text
mentions B's title (longest leftmost whole-word match, no self-links), except for the title forms
that the :class:`CorpusConfig` rules drop (a qualifier without evidence in A, short or letterless
forms, common words, hubs); a dropped form still consumes its text. The rules and their measured
effect: docs/corpus.md (Link graph).

Example:
    >>> from longtracerl.corpus.config import CorpusConfig
    >>> titles = ["Paris", "Paris Hilton", "Seine", "Hilton (hotel)"]
    >>> texts = ["Paris is on the Seine.", "Paris Hilton was born in New York.", "A river.", "Hotels."]
    >>> g, stats = build_mention_graph(titles, texts, CorpusConfig(symmetric_mentions=False))
    >>> [g.neighbors(i).tolist() for i in range(4)], stats["links"]
    ([[2], [], [], []], 1)
    >>> g, stats = build_mention_graph(titles, texts, CorpusConfig())  # reverse edges added
    >>> [g.neighbors(i).tolist() for i in range(4)], stats["mention_links"], stats["links"]
    ([[2], [], [0], []], 1, 2)
"""

from __future__ import annotations

import math
import re
import time
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from longtracerl.corpus.config import CorpusConfig
from longtracerl.corpus.graph import LinkGraph
from longtracerl.text import PatternMatcher
from longtracerl.textfacts import strip_qualifier

__all__ = [
    "MentionTargets",
    "qualifier_words",
    "qualifier_pattern",
    "mention_targets",
    "build_mention_graph",
    "build_anchor_graph",
    "build_anchor_graph_indexed",
]

_LETTER = re.compile(r"[^\W\d_]")
_WORD_CHAR = re.compile(r"\w")  # same word characters as longtracerl.text
_TOKEN = re.compile(r"\w+")


def _is_disambiguation(title: str) -> bool:
    return title.rstrip().lower().endswith("(disambiguation)")


_QUALIFIER_WORD = re.compile(r"[^\W\d_]{3,}")
_QUALIFIER_STOP = frozenset({"the", "and", "for", "from", "with", "of", "des", "der", "die", "les", "del"})


def qualifier_words(title: str) -> tuple[str, ...]:
    """Lower-case words (3+ letters) of a title's trailing qualifier: the evidence looked for.

    >>> qualifier_words("Astoria (Marianas Trench album)"), qualifier_words("Up (2009 film)"), qualifier_words("Up")
    (('marianas', 'trench', 'album'), ('film',), ())
    """
    m = re.search(r"\(([^()]*)\)\s*$", title)
    if not m:
        return ()
    words = _QUALIFIER_WORD.findall(m.group(1).lower())
    return tuple(dict.fromkeys(w for w in words if w not in _QUALIFIER_STOP))


@dataclass
class MentionTargets:
    """Every match form and the page(s) it may link to."""

    patterns: list[str]
    owners: list[int]  # the page with this bare title, or -1
    candidates: list[list[int]]  # qualified pages sharing the form (used when there is no owner)
    linkable: list[bool]  # False: the form only consumes its text (short, no letter, no page)
    dropped: Counter  # counts by reason


def mention_targets(titles: Sequence[str], cfg: CorpusConfig) -> MentionTargets:
    """Static title rules (1-2 of the module doc): match forms, owners and candidates."""
    dropped: Counter = Counter()
    groups: dict[str, list[int]] = {}
    for i, title in enumerate(titles):
        if _is_disambiguation(title):
            dropped["disambiguation"] += 1
            continue
        key = strip_qualifier(title) if cfg.strip_qualifier else title.strip()
        groups.setdefault(key, []).append(i)
    mt = MentionTargets([], [], [], [], dropped)
    for key, pages in groups.items():
        bare = [i for i in pages if titles[i].strip() == key]
        linkable = True
        if len(key) < cfg.min_title_chars:
            dropped["short"] += 1
            linkable = False
        elif cfg.require_letter and not _LETTER.search(key):
            dropped["no_letter"] += 1
            linkable = False
        elif bare:
            dropped["qualified_shadowed_by_bare_title"] += len(pages) - len(bare)
        elif len(pages) > 1:
            dropped["ambiguous_bases"] += 1
        mt.patterns.append(key)
        mt.owners.append(bare[0] if bare else -1)
        mt.candidates.append([] if bare else pages)
        mt.linkable.append(linkable)
    return mt


def qualifier_pattern(words: tuple[str, ...]) -> re.Pattern | None:
    """Whole-word test for a qualifier's words, plural 's'/'es' allowed; None for no words.

    >>> p = qualifier_pattern(("rock", "film"))
    >>> bool(p.search("two films")), bool(p.search("rocky mountains")), qualifier_pattern(()) is None
    (True, False, True)
    """
    if not words:
        return None
    return re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")(?:s|es)?\b")


def _resolve_qualified(
    candidates: list[int], low_text: str, patterns: Sequence[re.Pattern | None], cfg: CorpusConfig
) -> int:
    """The qualified page a mention links to (rule 1), or -1."""
    if cfg.qualifier_evidence:
        hits = [c for c, p in zip(candidates, patterns, strict=True) if p is not None and p.search(low_text)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1 and cfg.ambiguous_base == "first":
            return hits[0]
        return -1
    if len(candidates) == 1 or cfg.ambiguous_base == "first":
        return candidates[0]
    return -1


def _scan(matcher: PatternMatcher, text: str) -> np.ndarray:
    found = {idx for _s, _e, idx in matcher.mentions(text, word_boundary=True)}
    return np.fromiter(found, dtype=np.int32, count=len(found))


def _lowercase_page_counts(
    patterns: Sequence[str], texts: Sequence[str], progress: bool, only: np.ndarray | None = None
) -> np.ndarray:
    """For each pattern with upper-case letters, the number of pages where its lower-cased form
    occurs as a whole word (0 for patterns already in lower case, or outside ``only``).

    One-token forms (``\\w+``) are looked up in each page's token set; longer forms are found with
    a raw Aho-Corasick scan and the same word-boundary test as :class:`PatternMatcher` (every
    occurrence counts: this is a statistic, no longest-match resolution is needed).
    """
    import ahocorasick

    counts = np.zeros(len(patterns), dtype=np.int64)
    single: dict[str, list[int]] = {}
    multi: dict[str, list[int]] = {}
    for j, p in enumerate(patterns):
        low = p.lower()
        if low != p and (only is None or only[j]):
            (single if _TOKEN.fullmatch(low) else multi).setdefault(low, []).append(j)
    single_set = frozenset(single)
    token_pages: Counter = Counter()
    multi_forms = list(multi)
    multi_pages = np.zeros(len(multi_forms), dtype=np.int64)
    automaton = None
    if multi_forms:
        automaton = ahocorasick.Automaton()
        for k, low in enumerate(multi_forms):
            automaton.add_word(low, (k, len(low)))
        automaton.make_automaton()
    is_word = _WORD_CHAR.match
    for text in _progress(texts, len(texts), "common words", progress):
        if single_set:
            token_pages.update(single_set.intersection(_TOKEN.findall(text)))
        if automaton is None:
            continue
        last = len(text) - 1
        found = set()
        for end, (k, length) in automaton.iter(text):
            start = end - length + 1
            if (start > 0 and is_word(text[start - 1])) or (end < last and is_word(text[end + 1])):
                continue
            found.add(k)
        if found:
            multi_pages[list(found)] += 1
    for low, js in single.items():
        counts[js] = token_pages.get(low, 0)
    for k, low in enumerate(multi_forms):
        counts[multi[low]] = multi_pages[k]
    return counts


def _progress(iterable: Iterable, total: int, desc: str, enabled: bool) -> Iterable:
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="page", mininterval=0.5)


def build_mention_graph(
    titles: Sequence[str], texts: Sequence[str], cfg: CorpusConfig, *, progress: bool = False
) -> tuple[LinkGraph, dict]:
    """Link graph from title mentions (rules in the module doc). Returns (graph, stats)."""
    n = len(titles)
    if len(texts) != n:
        raise ValueError(f"{n} titles but {len(texts)} texts")
    clock = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now

    mt = mention_targets(titles, cfg)
    lap("forms_s")
    dropped = Counter(mt.dropped)
    n_forms = len(mt.patterns)
    owners = np.asarray(mt.owners, dtype=np.int64)
    qualified = owners < 0
    keep = np.asarray(mt.linkable, dtype=bool) & (
        ~qualified | np.fromiter(map(bool, mt.candidates), bool, n_forms)
    )

    # the scan. Forms that give no link take part too when they span several tokens: they consume
    # their text. A one-token form that gives no link cannot change any other match (a match
    # cannot start inside it at a word boundary, and a longer one at the same start wins), so
    # those are left out: same result, far fewer raw matches ('It', '1989' ...).
    multi_token = np.fromiter((not _TOKEN.fullmatch(p) for p in mt.patterns), bool, n_forms)
    in_scan = keep | multi_token
    scan_idx = np.flatnonzero(in_scan)
    matcher = PatternMatcher([mt.patterns[j] for j in scan_idx])
    matches: list[np.ndarray] = []
    df = np.zeros(n_forms, dtype=np.int64)
    for text in _progress(texts, n, "mentions", progress):
        found = scan_idx[_scan(matcher, text)]
        matches.append(found)
        df[found] += 1
    lap("scan_s")

    # common words (rule 4): only forms that were mentioned at all need the lower-case count
    common_limit = max(cfg.common_word_min_pages, math.ceil(cfg.common_word_share * n))
    tested = keep & (df > 0)
    if not cfg.common_word_phrases:
        tested &= ~multi_token
    common = tested & (_lowercase_page_counts(mt.patterns, texts, progress, only=tested) >= common_limit)
    dropped["common_word"] += int(common.sum())
    keep &= ~common
    lap("common_words_s")

    # hubs (rule 5), from the same scan's counts
    limit = max(cfg.max_mention_share * n, cfg.share_floor_pages)
    qlimit = max(cfg.qualified_max_mention_share * n, cfg.share_floor_pages)
    too_many = keep & ~qualified & (df > limit)
    too_many_q = keep & qualified & (df > qlimit)
    dropped["frequent"] += int(too_many.sum())
    dropped["frequent_qualified_base"] += int(too_many_q.sum())
    keep &= ~(too_many | too_many_q)

    # edges: bare owners directly; qualified forms resolved per page (rule 1)
    evidence: dict[int, re.Pattern | None] = {}
    src: list[int] = []
    dst: list[int] = []
    qual_links = qual_no_evidence = 0
    for i, found in enumerate(matches):
        found = found[keep[found]]
        if not len(found):
            continue
        low_text = None
        for j in found.tolist():
            owner = mt.owners[j]
            if owner < 0:
                cands = mt.candidates[j]
                if low_text is None:
                    low_text = texts[i].lower()
                for c in cands:
                    if c not in evidence:
                        evidence[c] = qualifier_pattern(qualifier_words(titles[c]))
                owner = _resolve_qualified(cands, low_text, [evidence[c] for c in cands], cfg)
                if owner < 0:
                    qual_no_evidence += 1
                    continue
                qual_links += 1
            src.append(i)
            dst.append(owner)
    lap("resolve_s")
    graph = LinkGraph.from_edges(n, src, dst)
    directed = graph.num_links
    if cfg.symmetric_mentions:
        graph = LinkGraph.from_edges(n, src + dst, dst + src)
    stats = {
        "method": "mentions",
        "symmetric": cfg.symmetric_mentions,
        "mention_links": directed,
        "match_forms": n_forms,
        "linking_forms": int(keep.sum()),
        "qualified_mentions_linked": qual_links,
        "qualified_mentions_unresolved": qual_no_evidence,
        "titles_dropped": dict(sorted(dropped.items())),
        "common_word_min_pages": int(common_limit),
        "max_mentions": float(limit),
        "max_mentions_qualified": float(qlimit),
        "links": graph.num_links,
    }
    lap("csr_s")
    stats["timings"] = timings
    return graph, stats


def build_anchor_graph(
    ids: Sequence[str], titles: Sequence[str], links: Iterable[list[str]]
) -> tuple[LinkGraph, dict]:
    """Graph from the links pages carry: each target resolved as a page id, else an exact title.

    >>> g, st = build_anchor_graph(["1", "2"], ["A", "B"], [["2", "B", "Nowhere"], ["1"]])
    >>> [g.neighbors(i).tolist() for i in range(2)], st["dangling"]
    ([[1], [0]], 1)
    """
    id_index = {pid: i for i, pid in enumerate(ids)}
    title_index: dict[str, int] = {}
    for i, t in enumerate(titles):
        title_index.setdefault(t, i)
    return build_anchor_graph_indexed(len(ids), id_index, title_index, links)


def build_anchor_graph_indexed(
    n: int, id_index: Mapping[str, int], title_index: Mapping[str, int], links: Iterable[list[str]]
) -> tuple[LinkGraph, dict]:
    """:func:`build_anchor_graph` from ready lookups (``id -> index``, ``title -> first index``).

    ``links`` yields each page's targets in index order (streamed, e.g. ``PageStore.iter_links()``).
    The CSR arrays are built directly (4 bytes per edge, rows deduplicated and sorted one at a
    time), so memory is the two lookups plus the graph itself.

    >>> g, st = build_anchor_graph_indexed(3, {"a": 0, "b": 1, "c": 2}, {"B": 1}, [["b", "B", "a"], [], ["a"]])
    >>> [g.neighbors(i).tolist() for i in range(3)], st["links_given"], st["dangling"]
    ([[1], [], [0]], 4, 0)
    """
    indices = array("i")
    indptr = array("q", [0])
    given = dangling = rows = 0
    for i, targets in enumerate(links):
        if i >= n:
            raise ValueError(f"links has more rows than the {n} pages")
        rows += 1
        row: set[int] = set()
        for t in targets:
            given += 1
            j = id_index.get(t)
            if j is None:
                j = title_index.get(t)
            if j is None:
                dangling += 1
                continue
            if j != i:
                row.add(j)
        indices.extend(sorted(row))
        indptr.append(len(indices))
    if rows < n:  # pages after the last row have no links
        indptr.extend([len(indices)] * (n - rows))
    graph = LinkGraph(np.frombuffer(indptr, dtype=np.int64), np.frombuffer(indices, dtype=np.int32))
    stats = {"method": "anchors", "links_given": given, "dangling": dangling, "links": graph.num_links}
    return graph, stats
