"""Question-quality audit for any question file: shortcuts, chain necessity, text defects, answers.

``longtracerl questions audit --corpus C --run R`` reads ``R/questions.jsonl`` (any composer, or
questions imported from elsewhere) and writes one row per question to ``R/questions.audit.jsonl``
and the summary to ``R/questions.audit.json``. Per question:

- **shortcut**: the whole question, each sentence and each clause (a sentence cut at ``, ; : ( )``
  and dashes; pieces of at least two index terms) is searched alone with the corpus's BM25
  index. ``shortcut`` is true when one of them puts the answer page (the last gold page) in the
  top ``top_k`` (5); ``answer_in_snippet`` when the answer string (answer normaliser, whole
  words) is in one of the top ``top_k`` snippets of a piece.
- **chain necessity**, for each hop after the first (gold page ``g_i``, previous ``g_{i-1}``):
  the piece of the question that ranks ``g_i`` best is its description; ``fits_alone`` = the
  corpus pages scoring at least as high as ``g_i`` for it (its BM25 rank; ``None`` when below the
  first ``depth`` = 100 results), ``fits_among_neighbours`` = the same count among the link-graph
  neighbours of ``g_{i-1}`` (plus ``g_i``), ``neighbours`` = how many there are. A hop is
  *ambiguous alone* when ``fits_alone`` is over ``top_k`` or ``None``, and *unique given the
  chain* when ``fits_among_neighbours`` is 1. BM25 is a lexical judge: a blurred description
  ("an American actor born in the 1960s") often ranks no page well, and then the hop counts as
  ambiguous alone and not measured given the chain.
- **text defects** (:func:`text_defects`): markup (``#`` headings, ``==``, ``Section::::``,
  ``BULLET::::``, braces, ``[[``/``]]``, ``|``, HTML tags), empty or unbalanced brackets, unbalanced
  quotes, doubled words (``a a``), cut-off endings (a sentence ending in a function word), a
  blank in a question that asks no blank, unmasked path names (a gold page title, as
  :func:`~longtracerl.questions.validate.name_leak`), and role words that contradict the page
  (:func:`role_defects`: in a question whose sentences are the hops, the last role keyword of
  hop ``i``'s description against the head noun of page ``i``; other questions are not checked),
  HTML entities (``&amp;``; in the question, the answer or a rubric: :func:`label_defects`), a
  kind word that is no noun where a noun must end the phrase (``a held, whose``, ``a stories and``,
  ``names that operating.``: participles, adjectives, plurals by
  :func:`~longtracerl.questions.wordclass.not_noun`) and quoted clue words that are not content
  words (``uses the word "almost"``: :func:`~longtracerl.questions.wordclass.distinctive`).
- **answer**: present on the last gold page (answer normaliser, whole words; not checked for a
  yes/no answer, which is on no page), absent from the question, and of the asked type
  (:func:`~longtracerl.textfacts.asked_type`: a year for "In which year", a number for "How many", not a bare number for
  "Who"/"Which ...", yes/no for a yes/no question).

The summary has the rates, the counts per defect, the hop-count and answer-type distributions,
and (with ``plots``) two PNG bar charts next to it.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from longtracerl.questions.validate import answer_in_question, name_leak
from longtracerl.questions.wordclass import distinctive, not_noun
from longtracerl.records import Page, Question, atomic_write_text, dump_line, read_jsonl, sha256_file
from longtracerl.text import normalize_answer
from longtracerl.textfacts import (
    CUT_OFF_WORDS,
    KEYWORD_ROLE,
    answer_fits_type,
    asked_type,
    question_sentences,
)

if TYPE_CHECKING:
    from longtracerl.search.index import BM25Retriever


AUDIT_FILE = "questions.audit.jsonl"
SUMMARY_FILE = "questions.audit.json"
DEPTH = 100  # BM25 results read per piece for the chain-necessity counts
RECENT_SEARCHES = 2048  # searches an Auditor keeps for pieces that recur (least recently used dropped first)

# --------------------------------------------------------------------------- pieces of a question

_CLAUSE_SPLIT = re.compile(r"\s*(?:[,;:()]|\s[–—-]\s)\s*")
_TERM = re.compile(r"[^\W_]+")


def pieces(question: str) -> list[tuple[str, str]]:
    """``(where, text)`` of everything searched alone: the question, its sentences, their clauses."""
    out: list[tuple[str, str]] = [("question", question)]
    sents = question_sentences(question)
    seen = {question.strip()}
    for s in sents:
        if s not in seen and len(sents) > 1:
            out.append(("sentence", s))
            seen.add(s)
    for s in sents:
        for c in _CLAUSE_SPLIT.split(s):
            c = c.strip(" .?!")
            if c and c not in seen and len(_TERM.findall(c)) >= 2:
                out.append(("clause", c))
                seen.add(c)
    return out


# --------------------------------------------------------------------------- text defects

_MARKUP = [
    ("markup_heading", re.compile(r"(?:^|\s)#{1,6}(?:\s|$)")),
    ("markup_wikitext", re.compile(r"==|'''|\[\[|\]\]|\{\{|\}\}|\{\||\|\}")),
    ("markup_kilt", re.compile(r"Section::::|BULLET::::")),
    ("markup_braces", re.compile(r"[{}]")),
    ("markup_html", re.compile(r"</?[a-zA-Z][^<>]{0,40}>|&[a-z]+;")),
    ("markup_pipe", re.compile(r"\|")),
    ("markup_emphasis", re.compile(r"\*\*|__[A-Za-z]|(?:^|\s)[*+]\s")),
]
_EMPTY_BRACKETS = re.compile(r"\(\s*[,;:.]?\s*\)|\[\s*\]|\(\s*[,;]|[,;]\s*\)")
_DOUBLED = re.compile(r"\b([a-z]+)\s+\1\b")  # 'a a person', 'in in'; not names ('Pago Pago')
_DOUBLED_OK = frozenset({"had", "that", "is", "bora", "so", "no", "ha"})
_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")
# a kind word after a/an or this/that where a noun must end the phrase: 'a held, whose', 'an
# operating, whose', 'a stories and author', 'names that held.', 'of that operating.' ('a large,
# multi-tribal confederacy' and 'a large and busy port' are English: an adjective counts only before
# a sentence end or a relative clause)
_KIND_END = (
    r"(?=\s*[.;:?!]|,?\s+(?:whose|who|which|named|born|released|directed|written|starring|located)\b"
    r"|(?P<conj>\s+(?:and|or)\b))"
)
_KIND_AFTER_A = re.compile(r"\b(?:[Aa]|[Aa]n)\s+([a-z][a-z'-]+)" + _KIND_END)
_KIND_AFTER_THAT = re.compile(r"\b(?:that|this)\s+([a-z][a-z'-]+)(?=\s*[,.;:?!]|\s+(?:names|born|die)\b)")
_BAD_KIND = ("participle", "adjective", "plural")
_CLUE_WORDS = re.compile(r'\buses the words? (?:"[^"]+"(?:,\s*|\s+and\s+)?)+')
_SENT_END_WORD = re.compile(r"([A-Za-z]+)\s*[.!]+[\"'”’)]?\s*(?=$|\s)")  # '?' may end in 'from', 'whom'


def text_defects(question: str, gold_titles: Sequence[str] = ()) -> list[str]:
    """Defect codes of a question's text (module docstring); [] when clean."""
    out: list[str] = []
    for code, rx in _MARKUP:
        if rx.search(question):
            out.append(code)
    if _EMPTY_BRACKETS.search(question):
        out.append("empty_brackets")
    for a, b in ("()", "[]"):
        if question.count(a) != question.count(b):
            out.append("unbalanced_brackets")
            break
    if question.count('"') % 2 or question.count("“") != question.count("”"):
        out.append("unbalanced_quotes")
    for m in _DOUBLED.finditer(question):
        if m.group(1).lower() not in _DOUBLED_OK:
            out.append("doubled_word")
            break
    for m in _SENT_END_WORD.finditer(question):
        if m.group(1).lower() in CUT_OFF_WORDS:
            out.append("cut_off")
            break
    if not question.rstrip().endswith(("?", ".")) or question.rstrip().endswith(("...", "…")):
        out.append("cut_off")
    if "___" in question and "blank" not in question.lower():
        out.append("stray_blank")
    if gold_titles and name_leak(question, gold_titles) is not None:
        out.append("path_name")
    if _ENTITY.search(question):
        out.append("html_entity")
    for m in _KIND_AFTER_A.finditer(question):
        why = not_noun(m.group(1))
        if why in _BAD_KIND and not (m.group("conj") and why == "adjective"):
            out.append("kind_not_noun")
            break
    for m in _KIND_AFTER_THAT.finditer(question):
        if not_noun(m.group(1)) in _BAD_KIND:
            out.append("kind_not_noun")
            break
    for m in _CLUE_WORDS.finditer(question):
        if not all(distinctive(w) for w in re.findall(r'"([^"]+)"', m.group(0))):
            out.append("weak_clue_word")
            break
    return list(dict.fromkeys(out))


def label_defects(answer: str, rubrics: Sequence[str] = ()) -> list[str]:
    """``['html_entity']`` when the answer or a rubric carries an HTML entity (``Queen &amp; Adam``)."""
    return ["html_entity"] if any(_ENTITY.search(t) for t in [answer, *rubrics]) else []


_HOP_LEAD = re.compile(
    r"^(?:Start with|Begin with|Move to|Then|Next|From there|After that|Finally)\b", re.IGNORECASE
)
_KEYWORD_WORD = re.compile(r"[A-Za-z-]+")


_DESC_END = re.compile(r",| (?:that|who|whose|which|where|named in) ")


def _said_role(sentence: str) -> str | None:
    """The role a hop sentence gives its entity: the last role keyword of its description (the
    part before a colon, else before the first comma or relative word)."""
    part = sentence.split(":", 1)[0] if ":" in sentence else _DESC_END.split(sentence, 1)[0]
    said = None
    for w in _KEYWORD_WORD.findall(_HOP_LEAD.sub("", part)):
        lw = w.lower()
        for form in (lw, lw[:-1] if lw.endswith("s") else lw):
            if form in KEYWORD_ROLE and w[:1].islower():
                said = KEYWORD_ROLE[form]
                break
    return said


def role_defects(question: str, pages: Sequence[Page]) -> list[str] | None:
    """``['role_contradicts_page']`` when a hop sentence's role word is not its page's kind.

    Only for questions written as one sentence per hop plus the ask (each hop sentence opening with
    ``Start with``/``Move to``/``Then``/``Next``/``Finally`` ...); None (not checked) otherwise.
    """
    from longtracerl.questions.facts import page_facts

    sents = question_sentences(question)
    hops = [s for s in sents if _HOP_LEAD.match(s)]
    if len(hops) != len(pages) or not pages:
        return None
    for s, page in zip(hops, pages, strict=True):
        said = _said_role(s)
        facts = page_facts(page.text)
        if said is not None and facts.kind is not None and facts.role != "topic" and said != facts.role:
            return ["role_contradicts_page"]
    return []


def _contains_words(haystack: str, needle: str) -> bool:
    return _contains_normalized(haystack, normalize_answer(needle))


def _contains_normalized(haystack: str, n: str) -> bool:
    """``_contains_words`` with the needle already normalised."""
    return bool(n) and f" {n} " in f" {normalize_answer(haystack)} "


def _may_contain(text: str, n: str) -> bool:
    """False only when no snippet of ``text`` can hold the normalised answer ``n`` as whole words.

    A snippet is a window of the text (whitespace collapsed, maybe cut inside a word, ``…`` at the
    cuts), so each word of its normalised form is a run of characters of the accent-folded,
    lowercased text; an ASCII ``n`` has each of its words there, as ASCII characters. A cheap test
    run before making the snippet; it answers True for a non-ASCII ``n`` (no shortcut taken).
    """
    if not n.isascii():
        return True
    if text.isascii():
        low = text.lower()
    else:  # folded and lowercased, every non-ASCII character dropped: ASCII runs only grow
        low = unicodedata.normalize("NFKD", text).lower().encode("ascii", "ignore").decode()
    return all(w in low for w in n.split())


def _not_in_store(corpus_dir: Path, page_id: str) -> Exception:
    from longtracerl.search.index import IndexNotFound

    return IndexNotFound(
        f"{corpus_dir}: page {page_id!r} is in the index but not in the store; "
        f"rebuild with `longtracerl search index --corpus {corpus_dir} --force`"
    )


# --------------------------------------------------------------------------- the auditor


@dataclass
class Shortcut:
    """Result of searching each piece of a question alone."""

    shortcut: bool  # some piece puts the answer page in the top k
    where: str | None  # 'question' | 'sentence' | 'clause'
    piece: str | None
    answer_in_snippet: bool
    snippet_piece: str | None


class _Searches:
    """The pieces of one question, each searched once (top ``k``), page ids fetched when read.

    With a BM25 index the hits are doc addresses and a page id is fetched from the index only for
    the hits a check reads (the auditor caches them); another retriever gives ids directly.
    """

    def __init__(self, auditor: Auditor, question: str, k: int):
        self.a, self.k = auditor, k
        self.pieces = pieces(question)
        self._hits: dict[str, tuple[list[Any], list[float], list[Any]]] = {}

    def _get(self, text: str) -> tuple[list[Any], list[float], list[Any]]:
        got = self._hits.get(text)
        if got is None:
            # boilerplate pieces ('From there', 'In which year was this film released?') recur
            # across questions: the auditor keeps its most recently used searches (a fifth of a run's audit)
            shared = self.a._recent
            got = shared.pop((text, self.k), None)
            if got is not None:  # kept as the most recent (least recently used go first)
                shared[(text, self.k)] = self._hits[text] = got
                return got
            if self.a._fast:
                pairs = self.a.retriever._hits(text, self.k)
                addrs = [addr for _, addr in pairs]
                got = ([(x.segment_ord, x.doc) for x in addrs], [s for s, _ in pairs], addrs)
            else:
                ranked = self.a.retriever._ranked(text, self.k)
                got = ([pid for pid, _ in ranked], [s for _, s in ranked], [])
            self._hits[text] = got
            if len(shared) >= RECENT_SEARCHES:
                del shared[next(iter(shared))]
            shared[(text, self.k)] = got
        return got

    def hits(self, text: str) -> tuple[list[Any], list[float]]:
        """(hit keys, scores) of the top ``k`` of a piece, best first."""
        keys, scores, _ = self._get(text)
        return keys, scores

    def ids(self, text: str, j: int) -> list[str]:
        """Page ids of the first ``j`` hits of a piece."""
        keys, _, addrs = self._get(text)
        if not self.a._fast:
            return keys[:j]
        known = self.a._page_ids
        out = []
        for key, addr in zip(keys[:j], addrs, strict=False):
            pid = known.get(key)
            if pid is None:
                pid = known[key] = self.a.retriever.doc_id(addr)
            out.append(pid)
        return out


class Auditor:
    """Audits questions against a prepared corpus (page store, link graph, BM25 index)."""

    def __init__(
        self,
        corpus_dir: str | os.PathLike,
        *,
        retriever: BM25Retriever | None = None,
        top_k: int = 5,
        depth: int = DEPTH,
    ):
        from longtracerl.corpus.graph import LinkGraph
        from longtracerl.search.index import open_retriever

        self.corpus_dir = Path(corpus_dir)
        self.retriever = retriever or open_retriever(self.corpus_dir)
        self.store = self.retriever.store
        try:
            self.graph: Any = LinkGraph.load(self.corpus_dir)
        except FileNotFoundError:
            self.graph = None
        self.top_k, self.depth = top_k, depth
        self._ids: list[str] | None = None
        self._index: dict[str, int] = {}
        # BM25 index: hits are doc addresses, keyed (segment, doc); their page ids fetched once
        self._fast = all(hasattr(self.retriever, m) for m in ("_hits", "doc_id", "address_of"))
        self._page_ids: dict[tuple[int, int], str] = {}
        self._keys: dict[str, tuple[int, int] | None] = {}
        self._recent: dict[tuple[str, int], tuple[list[Any], list[float], list[Any]]] = {}

    def _key_of(self, page_id: str) -> Any:
        """The hit key of a page id (None when it is not in the index)."""
        if not self._fast:
            return page_id
        if page_id not in self._keys:
            addr = self.retriever.address_of(page_id)
            key = None if addr is None else (addr.segment_ord, addr.doc)
            if key is not None:
                self._page_ids[key] = page_id
            self._keys[page_id] = key
        return self._keys[page_id]

    # -- pieces --------------------------------------------------------------------------
    def shortcut(self, question: str, answer_page: str, answer: str) -> Shortcut:
        """Search the question, each sentence and each clause alone (module docstring)."""
        return self._shortcut(_Searches(self, question, self.top_k), answer_page, answer)

    def _shortcut(self, found: _Searches, answer_page: str, answer: str) -> Shortcut:
        from longtracerl.search.analysis import make_snippet

        target = self._key_of(answer_page) if answer_page else None
        n = normalize_answer(answer) if answer else ""
        texts: dict[str, str] = {}  # page id -> text, for the snippets
        hit_where = hit_piece = snip_piece = None
        for where, text in found.pieces:
            keys = found.hits(text)[0][: self.top_k]
            if target is not None and target in keys and hit_where is None:
                if not answer:  # page shortcut only: ids are enough
                    return Shortcut(True, where, text, False, None)
                hit_where, hit_piece = where, text
            if n and snip_piece is None:
                ids = found.ids(text, self.top_k)
                missing = [pid for pid in ids if pid not in texts]
                if missing:
                    pages = self.retriever.get_many(missing)
                    for pid in missing:
                        if pid not in pages:
                            raise _not_in_store(self.corpus_dir, pid)
                        texts[pid] = pages[pid].text
                for pid in ids:
                    t = texts[pid]
                    if _may_contain(t, n) and _contains_normalized(
                        make_snippet(text, t, self.retriever.config.snippet_chars), n
                    ):
                        snip_piece = text
                        break
            if hit_where is not None and snip_piece is not None:
                break
        return Shortcut(hit_where is not None, hit_where, hit_piece, snip_piece is not None, snip_piece)

    def _neighbours(self, page_id: str) -> set[str]:
        return set(self.neighbour_ids(page_id))

    def neighbour_ids(self, page_id: str) -> list[str]:
        """Ids of the link-graph neighbours of a page (out-links; [] without a graph)."""
        if self.graph is None:
            return []
        if self._ids is None:
            self._ids = self.store.ids()
            self._index = {pid: i for i, pid in enumerate(self._ids)}
        idx = self._index.get(page_id)
        return [] if idx is None else [self._ids[int(j)] for j in self.graph.neighbors(idx)]

    def chain(self, question: str, gold: Sequence[str]) -> list[dict[str, Any]]:
        """Per hop after the first: fits alone vs fits among the previous page's neighbours."""
        return self._chain(_Searches(self, question, self.depth), gold)

    def _chain(self, found: _Searches, gold: Sequence[str]) -> list[dict[str, Any]]:
        out = []
        for i in range(1, len(gold)):
            g, prev = gold[i], gold[i - 1]
            target = self._key_of(g)
            best: tuple[int, str, float] | None = None
            for _, t in found.pieces:
                keys = found.hits(t)[0][: self.depth]
                if target is not None and target in keys:
                    r = keys.index(target)
                    if best is None or r + 1 < best[0]:
                        best = (r + 1, t, found.hits(t)[1][r])
            nbrs = self._neighbours(prev)
            row: dict[str, Any] = {"hop": i + 1, "neighbours": len(nbrs), "fits_alone": None}
            row["fits_among_neighbours"] = None
            if best is not None:
                _rank, t, score = best
                row["fits_alone"] = n_above = sum(s >= score for s in found.hits(t)[1][: self.depth])
                # the hits scoring at least as high are the first ones: only their ids are read
                row["fits_among_neighbours"] = 1 + sum(
                    pid in nbrs and pid != g for pid in found.ids(t, n_above)
                )
            row["ambiguous_alone"] = row["fits_alone"] is None or row["fits_alone"] > self.top_k
            row["unique_given_chain"] = row["fits_among_neighbours"] == 1
            out.append(row)
        return out

    def audit(self, q: Question) -> dict[str, Any]:
        gold = list(q.label.gold_page_ids)
        pages = self.store.get_many(gold)
        gold_pages = [pages[g] for g in gold if g in pages]
        answer = q.label.answer
        last = pages.get(gold[-1]) if gold else None
        kind = asked_type(q.question)
        found = _Searches(self, q.question, max(self.depth, self.top_k))
        sc = self._shortcut(found, gold[-1] if gold else "", answer)
        defects = text_defects(q.question, [p.title for p in gold_pages])
        roles = role_defects(q.question, gold_pages) if len(gold_pages) == len(gold) else None
        defects += roles or []
        defects += label_defects(answer, q.label.rubrics)
        answer_checks = {
            # a yes/no answer is on no page: not applicable (None)
            "on_last_page": None
            if kind == "yes_no"
            else bool(last) and _contains_words(f"{last.title}\n{last.text}", answer),
            "in_question": answer_in_question(q.question, answer),
            "type_ok": answer_fits_type(answer, kind),
        }
        return {
            "question_id": q.question_id,
            "producer": q.provenance.producer,
            "chars": len(q.question),
            "hops": len(gold),
            "answer": answer,
            "answer_type": kind,
            "shortcut": sc.shortcut,
            "shortcut_where": sc.where,
            "shortcut_piece": sc.piece,
            "answer_in_snippet": sc.answer_in_snippet,
            "chain": self._chain(found, gold),
            "defects": defects,
            "roles_checked": roles is not None,
            "answer_checks": answer_checks,
            "answer_ok": answer_checks["on_last_page"] is not False
            and not answer_checks["in_question"]
            and answer_checks["type_ok"],
        }

    def close(self) -> None:
        self.retriever.close()


def _pct(n: int, d: int) -> float | None:
    return round(100.0 * n / d, 1) if d else None


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The summary of audit rows: rates, defect counts and distributions."""
    n = len(rows)
    hops = [h for r in rows for h in r["chain"]]
    defects = Counter(d for r in rows for d in r["defects"])
    alone = [h["fits_alone"] for h in hops if h["fits_alone"] is not None]
    return {
        "questions": n,
        "shortcut_pct": _pct(sum(r["shortcut"] for r in rows), n),
        "shortcut_by": dict(Counter(r["shortcut_where"] for r in rows if r["shortcut"])),
        "answer_in_snippet_pct": _pct(sum(r["answer_in_snippet"] for r in rows), n),
        "defect_questions": sum(bool(r["defects"]) for r in rows),
        "defect_pct": _pct(sum(bool(r["defects"]) for r in rows), n),
        "defects": dict(defects.most_common()),
        "roles_checked": sum(r["roles_checked"] for r in rows),
        "answer_ok_pct": _pct(sum(r["answer_ok"] for r in rows), n),
        "answer_not_on_last_page": sum(r["answer_checks"]["on_last_page"] is False for r in rows),
        "answer_in_question": sum(r["answer_checks"]["in_question"] for r in rows),
        "answer_type_mismatch": sum(not r["answer_checks"]["type_ok"] for r in rows),
        "hops_measured": len(hops),
        "ambiguous_alone_pct": _pct(sum(h["ambiguous_alone"] for h in hops), len(hops)),
        "unique_given_chain_pct": _pct(sum(h["unique_given_chain"] for h in hops), len(hops)),
        "fits_alone_median": statistics.median(alone) if alone else None,
        "mean_chars": round(statistics.fmean(r["chars"] for r in rows), 1) if rows else None,
        "max_chars": max((r["chars"] for r in rows), default=None),
        "hop_counts": dict(sorted(Counter(r["hops"] for r in rows).items())),
        "answer_types": dict(Counter(r["answer_type"] for r in rows).most_common()),
    }


def write_audit_plots(summary: dict[str, Any], out_dir: Path, prefix: str = "questions_") -> list[str]:
    """Bar charts of the hop-count and answer-type distributions; returns the PNG paths."""
    from matplotlib.figure import Figure  # no pyplot state: nothing to close

    paths = []
    for key, xlabel, name in (
        ("hop_counts", "gold pages (hops)", "hops"),
        ("answer_types", "asked answer type", "answer_types"),
    ):
        data = summary.get(key) or {}
        if not data:
            continue
        fig = Figure(figsize=(6, 3.2))
        ax = fig.subplots()
        ax.bar([str(k) for k in data], list(data.values()))
        ax.set_xlabel(xlabel)
        ax.set_ylabel("questions")
        ax.tick_params(axis="x", labelrotation=20)
        fig.tight_layout()
        p = out_dir / f"{prefix}{name}.png"
        fig.savefig(p, dpi=100)
        paths.append(str(p))
    return paths


def audit_questions(
    corpus_dir: str | os.PathLike,
    questions: Iterable[Question],
    *,
    retriever: BM25Retriever | None = None,
    top_k: int = 5,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Audit questions in memory: (per-question rows, summary)."""
    auditor = Auditor(corpus_dir, retriever=retriever, top_k=top_k)
    rows = [auditor.audit(q) for q in questions]
    return rows, summarize(rows)


def _inputs(corpus_dir: str | os.PathLike, questions: Path, top_k: int, depth: int) -> dict[str, Any]:
    """What an audit depends on: the questions file's hash, the corpus index and graph, the settings."""
    from longtracerl.corpus.graph import GRAPH_FILE
    from longtracerl.search.index import INDEX_DIR, META_FILE

    corpus = Path(corpus_dir)
    try:
        meta = json.loads((corpus / INDEX_DIR / META_FILE).read_text(encoding="utf-8"))
        index = f"{meta.get('store_fingerprint')}@{meta.get('built_at')}"
    except (OSError, ValueError):
        index = None
    graph = corpus / GRAPH_FILE
    return {
        "questions_sha256": sha256_file(questions),
        "index": index,
        "graph_mtime_ns": graph.stat().st_mtime_ns if graph.exists() else None,
        "top_k": top_k,
        "depth": depth,
    }


def fresh_summary(
    corpus_dir: str | os.PathLike,
    run_dir: str | os.PathLike,
    questions: Path,
    *,
    top_k: int = 5,
    depth: int = DEPTH,
) -> dict[str, Any] | None:
    """The stored summary of ``RUN/questions.audit.json`` when it still describes ``questions``:
    both audit files written after it, one row per question, and the same inputs (questions file
    hash, corpus index and graph, settings) recorded; None when it must be audited again."""
    run = Path(run_dir)
    rows_path, summary_path = run / AUDIT_FILE, run / SUMMARY_FILE
    try:
        q_mtime = questions.stat().st_mtime_ns
        if min(rows_path.stat().st_mtime_ns, summary_path.stat().st_mtime_ns) < q_mtime:
            return None
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        if not isinstance(summary, dict) or summary.get("inputs") != _inputs(
            corpus_dir, questions, top_k, depth
        ):
            return None
        with open(rows_path, "rb") as f:
            n_rows = sum(1 for line in f if line.strip())
        with open(questions, "rb") as f:
            n_questions = sum(1 for line in f if line.strip())
    except (OSError, ValueError):
        return None
    return summary if summary.get("questions") == n_rows == n_questions else None


def audit_run(
    corpus_dir: str | os.PathLike,
    run_dir: str | os.PathLike,
    *,
    questions_file: str | os.PathLike | None = None,
    plots: bool = True,
    plots_dir: str | os.PathLike | None = None,
    retriever: BM25Retriever | None = None,
    top_k: int = 5,
    reuse: bool = False,
) -> dict[str, Any]:
    """Audit ``RUN/questions.jsonl``; writes ``RUN/questions.audit.jsonl`` + ``.json`` (and the
    plots into ``plots_dir``, default RUN); returns the summary. With ``reuse``, audit files that
    are up to date (:func:`fresh_summary`) are kept (``reused: true`` in the returned summary)."""
    run = Path(run_dir)
    path = Path(questions_file) if questions_file else run / "questions.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no questions to audit (run `longtracerl questions` first)")
    out_plots = Path(plots_dir) if plots_dir else run
    if reuse and (summary := fresh_summary(corpus_dir, run, path, top_k=top_k)) is not None:
        summary.pop("plots", None)
        if plots and summary["questions"]:
            summary["plots"] = write_audit_plots(summary, out_plots)
        return {**summary, "reused": True}
    inputs = _inputs(corpus_dir, path, top_k, DEPTH)
    rows, summary = audit_questions(corpus_dir, read_jsonl(path, Question), retriever=retriever, top_k=top_k)
    summary["file"] = str(path)
    summary["inputs"] = inputs
    atomic_write_text(run / AUDIT_FILE, "".join(dump_line(r) for r in rows))
    if plots and rows:
        summary["plots"] = write_audit_plots(summary, out_plots)
    atomic_write_text(run / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
    return summary


def render_summary(s: dict[str, Any]) -> str:
    """A short plain-text summary (what the CLI prints)."""
    d = ", ".join(f"{k}={v}" for k, v in s["defects"].items()) or "none"
    return (
        f"audited {s['questions']} questions: shortcut {s['shortcut_pct']} % "
        f"(by {s['shortcut_by'] or 'none'}); answer in a snippet {s['answer_in_snippet_pct']} %; "
        f"text defects in {s['defect_questions']} ({d}); answer checks ok {s['answer_ok_pct']} %; "
        f"hops ambiguous alone {s['ambiguous_alone_pct']} %, unique given the chain "
        f"{s['unique_given_chain_pct']} %; hop counts {s['hop_counts']}; answer types {s['answer_types']}"
    )
