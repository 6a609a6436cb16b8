"""Offline composer ``chain`` (default): blurred, chained descriptions that need every hop in order.

The question follows a window of the walk (at least ``min_hops`` consecutive pages; the longest
window ending as late as possible wins). Each page is described by blurred facts from its own
first sentences (:mod:`longtracerl.questions.facts`: its kind, a nationality, a dated fact given
as a decade, plain modifiers) and by its relation to the previous page, never by a copied
sentence; the last sentence asks for one attribute of the last page in plain words::

    Start with an American supernatural horror film released in the 2010s. Next comes an American
    director born in the 1960s, who directed that film. Then take ... . Finally, consider a
    British rock band formed in the 1990s, named in the description of that album. In which year
    was this band formed?

**Relations.** The link between two consecutive pages is a mention: the previous page names the
next (forward) or the next names the previous (backward). The words right before the mention
give the relation when they are a known cue (``directed by``, ``starring``, ``written by``,
``founded by``, ``album by``, ``member of``, ``played for``, ``born in``, ``located in``,
``married``, ``son of`` ...: :data:`CUES`); otherwise it is "named in the description of that X"
(forward) or "whose description names that X" (backward).

**Answers** (:func:`answer_candidates`): a birth or death year, a release / publication / founding
year ("In which year was this band formed?"), the director, writer, founder, recording artist,
birthplace or location ("Who directed this film?", "In which place is this company based?"),
a population or capacity ("What was the population of this town at the 2010 census?"). The
first kind tried per walk is drawn from ``answer_kind_weights`` as in ``masked``.

``max_hops`` bounds the window (default: the whole walk).

**Checks** (a window that fails one is dropped with the reason; a walk whose every window fails
is rejected with the reason of its first window):

- ``hop_not_describable``: a page without a kind (head noun) in its first sentence;
  ``hop_kind_not_noun``: its head word is no noun (``was held on ...``, ``the southern part of``,
  ``a collection`` is kept but a bare ``stories`` is not: :func:`~longtracerl.questions.facts._other_head`).
- ``start_not_findable``: the first sentence alone does not put the first page in the BM25 top
  ``start_rank``: the chain must be enterable by search. ``start_ambiguous``: another page of that
  top fits the first description too (same kind, nationality, decade, modifiers).
- ``not_unique_given_chain``: among the link-graph neighbours of the previous page, another page
  also fits the description and the relation (same kind, nationality, decade, cue); modifiers are
  added (level 2) before giving up.
- ``hop_findable_alone``: the hop's sentence alone puts its page in the BM25 top ``top_k``.
- ``no_answer``, ``too_long``, ``name_leak``, ``answer_in_question``, ``text_defect``
  (:func:`~longtracerl.questions.audit.text_defects`), ``shortcut`` (the whole question or one of
  its sentences or clauses alone puts the answer page in the BM25 top ``top_k``),
  ``answer_is_path_page`` (the answer names a page of the walk, e.g. the director two sentences
  earlier).
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from longtracerl.config import config_hash
from longtracerl.corpus.store import PageStore
from longtracerl.questions.audit import Auditor, text_defects
from longtracerl.questions.config import QuestionsConfig
from longtracerl.questions.facts import (
    _BORN,
    _LIFESPAN,
    _POPULATION,
    DEMONYMS,
    Facts,
    describe,
    fits,
    page_facts,
)
from longtracerl.questions.masked import answer_kind_order
from longtracerl.questions.validate import QuestionRejected, answer_in_question, make_question, name_leak
from longtracerl.questions.wordclass import distinctive
from longtracerl.records import Page, Question, Walk
from longtracerl.text import normalize_answer
from longtracerl.textfacts import (
    CAP_SPAN,
    ROLE_NOUNS,
    YEAR_DIGITS,
    name_forms,
    split_sentences,
    strip_qualifier,
    wordset,
)

# (cue name, regex on the lower-cased words before a mention, forward phrase, backward phrase).
# Forward: the previous page's text says "<cue> NEXT"; backward: the next page's says "<cue> PREV".
# fmt: off
CUES: list[tuple[str, str, str, str]] = [
    ("directed", r"directed by|directed and written by|written and directed by", "who directed {p}", "directed by {p}"),
    ("wrote", r"written by|screenplay by|novel by|book by|story by|poem by", "who wrote {p}", "written by {p}"),
    ("produced", r"produced by", "who produced {p}", "produced by {p}"),
    ("starred", r"starring|stars|starred|co-starring|featuring", "who appeared in {p}", "starring {p}"),
    ("founded", r"(?:co-)?founded by|created by|established by|formed by", "who founded {p}", "founded by {p}"),
    ("recorded", r"(?:album|single|song|ep|record|recorded|performed|released) by", "who recorded {p}", "recorded by {p}"),
    ("member", r"(?:a )?members? of|joined", "that {p} was part of", "a member of {p}"),
    ("played", r"play(?:s|ed) for|signed (?:with|for)", "that {p} played for", "who played for {p}"),
    ("born", r"born in|born at", "where {p} was born", "born in {p}"),
    ("located", r"located in|situated in|based in|headquartered in|lies in", "where {p} is located", "located in {p}"),
    ("married", r"married|married to|wife of|husband of", "who was married to {p}", "who was married to {p}"),
    ("family", r"(?:son|daughter|brother|sister|father|mother|nephew|niece|cousin|grandson|granddaughter) of", "a relative of {p}", "a relative of {p}"),
]
# fmt: on
_CUE_RES = [(name, re.compile(rf"\b(?:{rx})(?: the| a| an)?\s*$")) for name, rx, _, _ in CUES]
_NAMED_ROLES = {
    "born": {"place"},
    "located": {"place", "structure"},
    "member": {"band", "team", "organization"},
}
_NAMED_ROLES["played"] = _NAMED_ROLES["member"]
_NAMED_ROLES["recorded"] = {"person", "band"}
"""Roles the page named after a cue may have (default: a person); other mentions stay plain."""
_WORKS = {"film", "series", "recording", "book", "work", "game", "character"}
_ANY_ROLE = set(ROLE_NOUNS)
_SUBJECT_ROLES = {
    "directed": _WORKS,
    "wrote": _WORKS,
    "produced": _WORKS,
    "starred": _WORKS,
    "recorded": {"recording"},
    "founded": _ANY_ROLE - {"person"},
    "located": _ANY_ROLE - {"person"},
    "member": {"person"},
    "played": {"person"},
    "born": {"person"},
    "married": {"person"},
    "family": {"person"},
}
"""Roles of the page whose text carries a cue ('starring X' on a film's page, not a director's)."""
_CUE_PHRASE = {name: (fwd, bwd) for name, _, fwd, bwd in CUES}
GENERIC_FWD = "named in the description of {p}"
GENERIC_BWD = "whose description names {p}"

_VAGUE_WORDS = wordset(
    """
    perhaps once better best however although including several various currently later earlier
    former latter another within without whose where which while during since until around become
    became becoming known called named
    """
)
_PARENS = re.compile(r"\([^()]*\)")
_MIDDLE_LEADS = ("Next comes", "Then take", "From there, go to")


@lru_cache(maxsize=50_000)
def _mention_re(title: str, role: str) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    forms = name_forms(title, role)
    full = sorted(forms.full, key=len, reverse=True)
    part = sorted(forms.partial, key=len, reverse=True)
    f = (
        re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, full)) + r")(?!\w)", re.IGNORECASE)
        if full
        else None
    )
    p = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, part)) + r")(?!\w)") if part else None
    return f, p


def mention_cues(text: str, title: str, role: str, subject_role: str | None = None) -> set[str]:
    """Relation keys of every mention of ``title`` (a page of ``role``) in ``text`` (the text of a
    page of ``subject_role``): cue names, or ``mention`` (also when a page's role does not suit the
    cue: :data:`_NAMED_ROLES`, :data:`_SUBJECT_ROLES`)."""
    out: set[str] = set()
    for rx in _mention_re(title, role):
        if rx is None:
            continue
        for m in rx.finditer(text):
            before = text[max(0, m.start() - 40) : m.start()].lower()
            cue = next((name for name, crx in _CUE_RES if crx.search(before)), None)
            if cue is not None and (
                role not in _NAMED_ROLES.get(cue, {"person"})
                or (subject_role is not None and subject_role not in _SUBJECT_ROLES.get(cue, _ANY_ROLE))
            ):
                cue = None  # 'directed by' before a film's name, 'starring' on a director's page
            out.add(cue or "mention")
    return out


@dataclass(frozen=True)
class Relation:
    direction: str  # 'fwd' (previous names next) | 'bwd' (next names previous)
    cue: str  # a CUES name or 'mention'

    def phrase(self, prev_kind: str) -> str:
        p = f"that {prev_kind}"
        if self.cue == "mention":
            return (GENERIC_FWD if self.direction == "fwd" else GENERIC_BWD).format(p=p)
        fwd, bwd = _CUE_PHRASE[self.cue]
        return (fwd if self.direction == "fwd" else bwd).format(p=p)


def relations(prev: Page, prev_facts: Facts, nxt: Page, nxt_facts: Facts) -> set[Relation]:
    """Every relation the texts state between two pages (forward and backward mentions)."""
    out = {Relation("fwd", c) for c in mention_cues(prev.text, nxt.title, nxt_facts.role, prev_facts.role)}
    out |= {Relation("bwd", c) for c in mention_cues(nxt.text, prev.title, prev_facts.role, nxt_facts.role)}
    for r in list(out):
        if r.cue != "mention":
            out.add(Relation(r.direction, "mention"))  # a cued mention is a mention too
    return out


def best_relation(rels: set[Relation]) -> Relation:
    """A cued relation before a plain mention; forward before backward."""
    if not rels:
        return Relation("fwd", "mention")  # linked without a name in the text (e.g. an anchor)
    return min(rels, key=lambda r: (r.cue == "mention", r.direction != "fwd", r.cue))


def _all_forms(title: str, role: str) -> set[str]:
    """Every surface form of a page's name (title, stripped title, comma head, surname ...)."""
    forms = name_forms(title, role)
    return {title} | forms.full | forms.partial


# --------------------------------------------------------------------------- answers

_YEAR = f"({YEAR_DIGITS})"
_PASSIVE_YEAR = re.compile(
    r"\b(?:was|were|is|are|been)\s+(?:\w+\s+)?(founded|formed|established|opened|built|completed|launched|"
    r"created|incorporated|constructed|inaugurated|released|published)\b[^.;()]{0,30}?\b(?:in|on)\s+"
    r"(?:\w+\s+)?(?:\d{1,2},?\s+)?" + _YEAR + r"\b"
)
_WORK_ASK = {
    "film": "In which year was this {k} released?",
    "recording": "In which year was this {k} released?",
    "game": "In which year was this {k} released?",
    "book": "In which year was this {k} published?",
    "series": "In which year did this {k} first air?",
}
_ENTITY_CUES = [  # (cue before a name, ask, roles of the page the ask is about)
    (r"directed by", "Who directed this {k}?", _WORKS),
    (r"(?:written|composed) by", "Who wrote this {k}?", _WORKS),
    (r"produced by", "Who produced this {k}?", _WORKS),
    (r"created by", "Who created this {k}?", _WORKS),
    (r"(?:published|developed) by", "Which company {verb} this {k}?", _WORKS),
    (r"(?:co-)?founded by", "Who founded this {k}?", _ANY_ROLE - {"person"}),
    (r"(?:album|single|song|EP) by", "Which artist recorded this {k}?", {"recording"}),
    (r"born (?:[^()]{0,25}? )?in", "Where was this {k} born?", {"person"}),
    (
        r"(?:located|situated|based|headquartered) in (?:the )?",
        "In which place is this {k} located?",
        _ANY_ROLE - {"person"},
    ),
]
_ENTITY_CUE_RES = [(re.compile(rf"\b{rx}\s*(?=[A-Z])"), ask, roles) for rx, ask, roles in _ENTITY_CUES]
_MORE_NAMES = re.compile(r"\s*(?:,|and|&)\s+[A-Z]")
_CAPACITY = re.compile(r"\bcapacity of (?:about |approximately |around )?(\d{1,3}(?:,\d{3})+|\d{3,})\b")


@dataclass(frozen=True)
class Answer:
    kind: str  # 'year' | 'entity' | 'number'
    text: str
    ask: str
    attribute: str | None = None  # the dated verb a year answer asks for ('born', 'formed', ...)


def _entity_after(sentence: str, at: int) -> str | None:
    m = CAP_SPAN.match(sentence, at)
    if m is None:
        return None
    text = m.group(0).rstrip(".'’-&")
    if len(text) < 3 or text in DEMONYMS or text.split()[0] in ("The", "A", "An") and len(text.split()) == 1:
        return None
    if not any(c.islower() for c in text):
        return None  # 'U.S' of 'the U.S. state of Michigan', 'NBC': not a plain-words answer
    return text


def answer_candidates(page: Page, facts: Facts) -> list[Answer]:
    """Plain-words answers about a page (module docstring), each with its ask sentence."""
    k = facts.kind or "topic"
    sents = split_sentences(page.text)[:4]
    first = sents[0] if sents else ""
    out: list[Answer] = []
    born, span = _BORN.search(first), _LIFESPAN.search(first)
    if facts.role != "person" or facts.plural:
        born = span = None  # a thing's span, or two brothers' two birth years
    if born:
        out.append(Answer("year", born.group(1), f"In which year was this {k} born?", "born"))
    elif span:
        out.append(Answer("year", span.group(1), f"In which year was this {k} born?", "born"))
        out.append(Answer("year", span.group(2), f"In which year did this {k} die?", "died"))
    if facts.role in _WORK_ASK and facts.dated and facts.dated[0] in ("released", "published", "first aired"):
        m = re.search(rf"\b{facts.dated[1][:3]}\d\b", re.sub(r"\([^()]*\)", "", first))
        if m:
            out.append(Answer("year", m.group(0), _WORK_ASK[facts.role].format(k=k), facts.dated[0]))
    if facts.role != "person":
        for s in sents:
            m = _PASSIVE_YEAR.search(s)
            if m:
                out.append(
                    Answer("year", m.group(2), f"In which year was this {k} {m.group(1)}?", m.group(1))
                )
                break
    for s in sents:
        for rx, ask, roles in _ENTITY_CUE_RES:
            m = rx.search(s)
            if m and facts.role in roles:
                ent = _entity_after(s, m.end())
                if ent is None or _MORE_NAMES.match(s, m.end() + len(ent)):
                    continue  # 'produced by A and B': no unique answer
                if not any(a.text == ent for a in out):
                    verb = "published" if "published" in m.group(0) else "developed"
                    out.append(Answer("entity", ent, ask.format(k=k, verb=verb)))
        m = _POPULATION.search(s)
        if m:
            when = f" at the {m.group(2)} census" if m.group(2) else ""
            out.append(
                Answer("number", m.group(1), f"What was the population of this {k}{when}?", "population")
            )
        m = _CAPACITY.search(s)
        if m:
            out.append(Answer("number", m.group(1), f"What is the capacity of this {k}?"))
    return out


# --------------------------------------------------------------------------- the composer


class ChainComposer:
    """Offline, non-LLM composer (see module docstring)."""

    name = "chain (non-LLM)"

    def __init__(self, cfg: QuestionsConfig, store: PageStore, *, auditor: Auditor | None = None):
        self.cfg = cfg
        self.store = store
        self.config_hash = config_hash(cfg)
        self.auditor = auditor or Auditor(store.dir, top_k=cfg.shortcut_top_k)
        self.retriever = self.auditor.retriever
        self.graph = self.auditor.graph
        self._facts: dict[str, Facts] = {}
        self._neighbours: dict[str, list[Page]] = {}

    # -- facts and neighbours ----------------------------------------------------------
    def facts(self, page: Page) -> Facts:
        f = self._facts.get(page.id)
        if f is None:
            if len(self._facts) > 200_000:
                self._facts.clear()
            f = self._facts[page.id] = page_facts(page.text)
        return f

    def _neighbour_pages(self, page: Page) -> list[Page]:
        got = self._neighbours.get(page.id)
        if got is None:
            if len(self._neighbours) > 2000:
                self._neighbours.clear()
            got = self._neighbours[page.id] = list(
                self.store.get_many(self.auditor.neighbour_ids(page.id)).values()
            )
        return got

    def _top(self, text: str, k: int) -> list[str]:
        return [pid for pid, _ in self.retriever._ranked(text, k)]

    # -- hops ----------------------------------------------------------------------------
    def _lead(self, walk_id: str, i: int) -> str:
        h = int(hashlib.sha256(f"{walk_id}:{i}".encode()).hexdigest()[:6], 16)
        return _MIDDLE_LEADS[h % len(_MIDDLE_LEADS)]

    def topic_words(self, page: Page, exclude: Sequence[str]) -> list[str]:
        """Lower-case words of the page's first sentences, rarest in the corpus first (document
        frequency of at least 2), that are content words (:func:`~longtracerl.questions.wordclass.distinctive`:
        not ``almost``, ``himself``, ``bringing``, ``mentions``) and not in ``exclude`` texts."""
        from longtracerl.search.analysis import term_of

        banned = {w for t in exclude for w in re.findall(r"[a-z][a-z-]+", t.lower())}
        seen: dict[str, int] = {}
        for sent in split_sentences(page.text)[:3]:
            for w in re.findall(r"(?<![\w-])[a-z][a-z-]{3,}(?![\w-])", _PARENS.sub(" ", sent)):
                term = term_of(w)
                if w in banned or w in seen or term is None or w in _VAGUE_WORDS or not distinctive(w):
                    continue
                df = self.retriever._searcher.doc_freq("body", term)
                if df >= 2:
                    seen[w] = df
        return sorted(seen, key=lambda w: (seen[w], w))

    def start_sentence(self, page: Page, titles: Sequence[str] = ()) -> tuple[str, list[str]]:
        """The first sentence and its BM25 top ``start_rank``: the level-3 description, plus up to
        ``start_words`` rare words of the page when the description alone does not find it."""
        base = describe(self.facts(page), 3)
        sentence = f"Start with {base}."
        top = self._top(sentence, self.cfg.start_rank)
        words = self.topic_words(page, [base, *titles]) if page.id not in top else []
        for k in range(1, min(len(words), self.cfg.start_words) + 1):
            quoted = [f'"{w}"' for w in words[:k]]
            listed = quoted[0] if k == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
            sentence = f"Start with {base}, whose description uses the word{'s' if k > 1 else ''} {listed}."
            top = self._top(sentence, self.cfg.start_rank)
            if page.id in top:
                break
        return sentence, top

    def hop_description(self, prev: Page, page: Page, levels: Sequence[int]) -> tuple[str, int]:
        """(description + relation, level) of ``page`` after ``prev``: the first level at which no
        other neighbour of ``prev`` fits; raises ``not_unique_given_chain``."""
        pf, f = self.facts(prev), self.facts(page)
        rel = best_relation(relations(prev, pf, page, f))
        others = [c for c in self._neighbour_pages(prev) if c.id not in (page.id, prev.id)]
        first_rivals: list[Page] = []
        for level in levels:
            rivals = [
                c
                for c in others
                if fits(self.facts(c), f, level) and rel in relations(prev, pf, c, self.facts(c))
            ]
            first_rivals = first_rivals or rivals
            if not rivals:
                return f"{describe(f, level)}, {rel.phrase(pf.kind or 'topic')}", level
        order = self._mention_order(prev, page, first_rivals)
        if (
            order is not None
        ):  # 'the first American actor born in the 1960s that the description of that film names'
            return (
                f"the {order} {describe(f, levels[0], article=False)} that the description of that {pf.kind} names",
                levels[0],
            )
        raise QuestionRejected(
            "not_unique_given_chain", f"{page.title}: also fits {[c.title for c in rivals[:3]]}"
        )

    def _mention_order(self, prev: Page, page: Page, rivals: Sequence[Page]) -> str | None:
        """'first' / 'last' when ``page`` is named in ``prev``'s text before / after every rival
        (pages fitting the same description); None otherwise (or when one is not named there)."""

        def at(p: Page) -> int | None:
            hits = [
                m.start()
                for rx in _mention_re(p.title, self.facts(p).role)
                if rx
                for m in [rx.search(prev.text)]
                if m
            ]
            return min(hits) if hits else None

        mine, theirs = at(page), [at(c) for c in rivals]
        if mine is None or not theirs or any(t is None for t in theirs):
            return None
        if all(mine < t for t in theirs):
            return "first"
        if all(mine > t for t in theirs):
            return "last"
        return None

    def _middle(self, walk_id: str, pages: Sequence[Page], i: int) -> str:
        text, _ = self.hop_description(pages[i - 1], pages[i], (1, 2))
        sentence = f"{self._lead(walk_id, i)} {text}."
        if pages[i].id in self._top(sentence, self.cfg.shortcut_top_k):
            raise QuestionRejected("hop_findable_alone", pages[i].title)
        return sentence

    # -- compose -------------------------------------------------------------------------
    def compose(self, walk: Walk, pages: Sequence[Page]) -> Question:
        """One question from a walk and its pages (in path order); raises QuestionRejected."""
        n, min_hops = len(pages), self.cfg.min_hops
        if n < min_hops:
            raise QuestionRejected("too_few_pages", f"{n} pages, min_hops={min_hops}")
        first_reason: QuestionRejected | None = None
        cache: dict[Any, Any] = {}

        def cached(key: Any, fn: Any) -> Any:
            if key not in cache:
                try:
                    cache[key] = ("ok", fn())
                except QuestionRejected as err:
                    cache[key] = ("err", err)
            status, value = cache[key]
            if status == "err":
                raise value
            return value

        longest = self.cfg.max_hops or n
        for end in range(n - 1, min_hops - 2, -1):
            start = max(0, end + 1 - longest)
            while end - start + 1 >= min_hops:
                try:
                    return self._window(walk, pages, start, end, cached)
                except _HopFailed as fail:
                    first_reason = first_reason or fail.err
                    start = max(start + 1, fail.at)
                except QuestionRejected as err:
                    first_reason = first_reason or err
                    start += 1
        assert first_reason is not None
        raise first_reason

    def _window(self, walk: Walk, pages: Sequence[Page], start: int, end: int, cached: Any) -> Question:
        cfg = self.cfg
        window = pages[start : end + 1]
        for i, p in enumerate(window):
            pf = self.facts(p)
            if pf.kind is None:
                reason = "hop_kind_not_noun" if pf.kind_rejected else "hop_not_describable"
                raise _HopFailed(
                    start + i + 1,
                    QuestionRejected(reason, f"{p.title}: {pf.kind_rejected or 'no noun phrase'}"),
                )
        first = pages[start]

        def start_ok() -> str:
            sentence, top = self.start_sentence(first, [p.title for p in pages])
            if first.id not in top:
                raise QuestionRejected("start_not_findable", first.title)
            ff = self.facts(first)
            quoted = re.findall(r'"([a-z-]+)"', sentence)
            rivals = [
                p.title
                for p in self.store.get_many(top).values()
                if p.id != first.id
                and fits(self.facts(p), ff, 3)
                and all(re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", p.text) for w in quoted)
            ]
            if rivals:
                raise QuestionRejected("start_ambiguous", f"{first.title}: also fits {rivals[:3]}")
            return sentence

        parts = []
        for i in range(start + 1, end):
            try:
                parts.append(cached(("hop", i), lambda i=i: self._middle(walk.walk_id, pages, i)))
            except QuestionRejected as err:
                raise _HopFailed(i, err) from None
        parts.insert(0, cached(("start", start), start_ok))
        last, lf = pages[end], self.facts(pages[end])
        answers = cached(("answers", end), lambda: answer_candidates(last, lf))
        if not answers:
            raise QuestionRejected("no_answer", last.title)
        order = answer_kind_order(cfg, walk.walk_id)
        answers = sorted(answers, key=lambda a: order.index(a.kind) if a.kind in order else len(order))
        titles = [p.title for p in pages]
        reason = QuestionRejected("no_answer", last.title)
        path_names = {
            normalize_answer(form) for p in pages for form in _all_forms(p.title, self.facts(p).role)
        }
        for ans in answers:
            if ans.kind not in order:
                continue
            if normalize_answer(ans.text) in path_names:
                reason = QuestionRejected("answer_is_path_page", ans.text)
                continue  # 'Who wrote this film?' -> the director two sentences earlier
            asked_blurred = (lf.dated and lf.dated[0] == ans.attribute) or (
                lf.size and ans.attribute == "population"
            )
            levels = (0, 1, 2) if asked_blurred else (1, 2)
            try:
                desc, _ = cached(
                    ("last", end, levels),
                    lambda levels=levels: self.hop_description(pages[end - 1], last, levels),
                )
            except QuestionRejected as err:
                raise _HopFailed(end, err) from None
            text = " ".join([*parts, f"Finally, consider {desc}.", ans.ask])
            if len(text) > cfg.max_chars:
                reason = QuestionRejected("too_long", f"{len(text)} chars")
                continue
            leak = name_leak(text, titles)
            if leak is not None:
                reason = QuestionRejected("name_leak", leak)
                continue
            if answer_in_question(text, ans.text):
                reason = QuestionRejected("answer_in_question", ans.text)
                continue
            defects = text_defects(text)
            if defects:
                reason = QuestionRejected("text_defect", ", ".join(defects))
                continue
            sc = self.auditor.shortcut(text, last.id, "")
            if sc.shortcut:
                reason = QuestionRejected("shortcut", f"{sc.where}: {sc.piece}")
                continue
            # unescaped: a corpus prepared before titles were cleaned may still say 'Queen &amp; Adam'
            rubrics = list(
                dict.fromkeys(html.unescape(strip_qualifier(p.title)) for p in pages[start : end + 1])
            )
            if cfg.rubrics_include_answer and ans.text not in rubrics:
                rubrics.append(ans.text)
            return make_question(
                walk,
                text,
                ans.text,
                rubrics,
                pages[start : end + 1],
                config_hash=self.config_hash,
                producer=self.name,
            )
        raise reason


class _HopFailed(Exception):
    """A hop failed: no window containing page ``at - 1 -> at`` can work; next start is ``at``."""

    def __init__(self, at: int, err: QuestionRejected):
        super().__init__(str(err))
        self.at, self.err = at, err
