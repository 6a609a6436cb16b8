"""The offline search agent: an iterative retrieval policy that uses **no LLM**.

Its trajectories are labelled ``policy="retrieval-nonllm"`` (``model`` is None). It works only
through the tools (search results and opened pages); it gets the question text and nothing else.

How one attempt works:

1. **Parse.** The question is split into sentences. Sentences that end in ``?`` form the final
   question; the others are *clauses*, one per hop of the chain ("Start with ... . Move to ...
   . Then ..."), with the leading connective ("Start with", "Move to", "Then", ...) removed.
   The final question's wording gives the answer type (year, date, number, person, place,
   name).
2. **Search per clause.** Each clause is searched (the whole question once first only with
   ``question_search``). The most promising result is opened and read, and the next ones (up
   to ``open_per_clause``) when they compete with it (prior within ``open_margin``); results
   whose title or snippet names the entity the previous hop resolved to are preferred (the next
   entity is "mentioned" by, so usually connected to, the previous one).
3. **Follow entities.** A chain hop's page usually names the next hop's entity. For each read
   page, the titles of candidate pages of the next clause found in its text give a *link*
   between the two. When no candidate of the next clause is linked from the best pages of the
   current one, the agent searches for names written in those pages (capitalised phrases and
   quoted titles), combined with the next clause's words, and reads what it finds.
3b. **Look up the resolved entity by name** (``probe_entities``). Once a hop's pages are read,
   the best one is taken as the entity identified; the agent searches its name (the page title
   without a qualifier) alone and with a few keywords of the next clause, as a search agent that
   has identified someone searches for them, and reads the ``probe_open`` results that best fit
   the next clause. They join the next hop's candidates; the chain search decides later.
4. **Pick the chain.** Each candidate page gets a score per clause (its search score, normalised
   by the best score of that query, plus the share of the clause's words found in the page);
   consecutive hops earn a bonus when one page mentions the other. The best chain is found by
   dynamic programming (Viterbi) over the clauses.
5. **Answer.** From the page chosen for the last clause, candidates of the asked type are
   extracted; each is scored by how well its sentence matches the final clause and question
   (the question describes that sentence with the answer hidden), and candidates that already
   appear in the question are excluded. The best candidate is the answer. With
   ``verify_answer`` it is checked by one search of the answer page's name with the answer
   (one new result that shows the answer is read); the chain's pages are cited.

Attempts differ: attempt 1 is deterministic; later attempts perturb the query words, the
number of pages read and the scores with seeded noise, so they explore other chains and
candidates.

Example:
    >>> parse_question("Start with a band from Ohio. Move to its first album. In what year was it released?")
    (['a band from Ohio', 'its first album'], 'In what year was it released?', 'year')
"""

from __future__ import annotations

import functools
import math
import random
import re
from dataclasses import dataclass, field
from typing import Any

from longtracerl.agent.base import AttemptEnd
from longtracerl.agent.tools import ToolBox
from longtracerl.records import Page
from longtracerl.textfacts import (
    CLAUSE_STOPWORDS,
    DATE,
    NUMBER_DIGITS,
    NUMBER_WORDS,
    YEAR_DIGITS,
    split_sentences,
)

__all__ = ["RetrievalPolicy", "parse_question", "answer_type", "extract_candidates"]

POLICY_NAME = "retrieval-nonllm"

_STOP = CLAUSE_STOPWORDS
_TYPE_WORDS = frozenset(
    ["year", "years", "date", "day", "month", "many", "much", "number", "amount", "total", "name", "called"]
)

_CONNECTIVE = re.compile(
    r"^\s*(?:(?:and|so|now)\s+)?(?:start(?:ing)? (?:with|from|at)|begin(?:ning)? (?:with|at)|"
    r"move (?:on )?(?:to|from)|then,?(?: (?:go|move|turn|jump|continue) (?:on )?to| find| consider| look at| take)?|"
    r"next,?(?: (?:go|move|turn) to| consider| find| take)?|after that,?(?: (?:go|move|turn) to| consider)?|"
    r"from (?:there|here|it|this),?(?: (?:go|move|turn) to)?|finally,?(?: (?:go|move|turn) to| consider)?|"
    r"this (?:leads|points) (?:to|us to)|which leads to|go to|turn to|continue (?:on )?to|"
    r"step \d+:?|hop \d+:?)\s*[:,]?\s*",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z0-9]+(?:'[a-z]+)?")
_YEAR = re.compile(rf"(?<![\d,.])({YEAR_DIGITS})(?![\d,])")
_NUMBER = re.compile(NUMBER_DIGITS)
_NUMBER_WORDS = re.compile(NUMBER_WORDS, re.IGNORECASE)
_CAP_CONNECT = r"(?:of|the|de|la|le|von|van|der|and|&|for|du|del|da|on|in|upon|y)"
_NAME = re.compile(rf"\b[A-Z][\w'’.-]*(?:\s+(?:{_CAP_CONNECT}\s+)*[A-Z][\w'’.-]*)*")
_QUOTED = re.compile(r"[\"“]([^\"”]{2,80})[\"”]")
_QUALIFIER = re.compile(r"\s*\([^)]*\)\s*$")

_TYPE_RULES: list[tuple[str, re.Pattern]] = [
    ("date", re.compile(r"\b(what|which|on what) (date|day)\b|\bwhat (exact )?date\b|\bdate\b", re.I)),
    ("year", re.compile(r"\b(what|which|in what|in which) year\b|\byear\b|\bwhen\b|\bdecade\b", re.I)),
    (
        "number",
        re.compile(
            r"\bhow (many|much|tall|long|high|old|large|big|far|deep)\b|\bwhat (number|population|"
            r"percentage|amount|total|count|capacity|length|height|area|size|age)\b|\bnumber of\b",
            re.I,
        ),
    ),
    (
        "person",
        re.compile(r"\bwho(m|se)?\b|\bwhich (person|man|woman|actor|actress|singer|author|writer)", re.I),
    ),
    (
        "place",
        re.compile(
            r"\bwhere\b|\b(what|which|in what|in which) (city|country|state|town|place|county|region|"
            r"province|village|location|continent|island|district|nation)\b",
            re.I,
        ),
    ),
]


def answer_type(final_question: str) -> str:
    """The type of answer asked for: year, date, number, person, place or name.

    >>> answer_type("In what year was it founded?"), answer_type("How many members does it have?")
    ('year', 'number')
    >>> answer_type("Who directed it?"), answer_type("Which city hosts it?"), answer_type("What is its name?")
    ('person', 'place', 'name')
    """
    for kind, rx in _TYPE_RULES:
        if rx.search(final_question):
            return kind
    return "name"


_LEAD_ROLE = re.compile(
    r"^\s*(?:start with|begin with|move to|then|next,?|finally,?|after that,?)\s+"
    r"((?:an?|the|this|some)\s+[^:]{1,40}?)(?:\s+(?:it|which it|that it) mentions)?\s*:\s+",
    re.IGNORECASE,
)


def parse_question(question: str) -> tuple[list[str], str, str]:
    """(clauses, final question, answer type) of a chained-narration question.

    Sentences ending in ``?`` are the final question; the others are clauses, with their lead
    ("Start with a film:", "Move to a person it mentions:", "Then ...") removed. A clause may hold
    the blank ``___`` that stands for the answer.
    """
    text = " ".join(question.split())
    sentences = split_sentences(text)
    clauses: list[str] = []
    finals: list[str] = []
    for s in sentences:
        if s.endswith("?") or (s.endswith(('?"', "?'", "?”"))):
            finals.append(s)
            continue
        m = _LEAD_ROLE.match(s)
        body = s[m.end() :] if m else _CONNECTIVE.sub("", s, count=1)
        body = body.strip().rstrip(".;: ").strip()
        if body:
            clauses.append(body)
    if not finals and clauses:
        finals = [clauses.pop()]  # no question mark: the last sentence asks
    final = " ".join(finals)
    if not clauses:
        clauses = [final]
    return clauses, final, answer_type(final)


def _content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1]


def _base_title(title: str) -> str:
    return _QUALIFIER.sub("", title).strip()


def _mentions(text: str, name: str) -> bool:
    if len(name) < 3:
        return False
    i = text.find(name)
    while i >= 0:
        before = text[i - 1] if i > 0 else " "
        after = text[i + len(name)] if i + len(name) < len(text) else " "
        if not before.isalnum() and not after.isalnum():
            return True
        i = text.find(name, i + 1)
    return False


@functools.lru_cache(maxsize=20000)
def _bigrams(text: str) -> frozenset[tuple[str, str]]:
    """Word pairs of a text, without pairs of two stop words (cached: pages recur across hops)."""
    words = _WORD.findall(text.lower())
    return frozenset(
        (a, b) for a, b in zip(words, words[1:], strict=False) if a not in _STOP or b not in _STOP
    )


@functools.lru_cache(maxsize=20000)
def _word_set(text: str) -> frozenset[str]:
    return frozenset(_content_words(text))


def _bigram_overlap(clause: str | frozenset[tuple[str, str]], text: str) -> float:
    """Share of the clause's word pairs (not both stop words) that occur in ``text``.

    >>> _bigram_overlap("a debut single recorded by a singer", "It is the debut single recorded by Ann.")
    0.6
    """
    want = clause if isinstance(clause, (set, frozenset)) else _bigrams(clause.replace(BLANK, " "))
    if not want:
        return 0.0
    return len(want & _bigrams(text)) / len(want)


def extract_candidates(text: str, kind: str) -> list[tuple[str, int]]:
    """(candidate, sentence index) pairs of the given type found in ``text``.

    >>> extract_candidates("Formed in 1990 in Ohio. It had 12 members by March 3, 2001.", "year")
    [('1990', 0), ('2001', 1)]
    >>> extract_candidates("Formed in 1990 in Ohio. It had 12 members by March 3, 2001.", "date")
    [('1990', 0), ('March 3, 2001', 1)]

    (a sentence without a full date offers its years as date candidates).
    """
    out: list[tuple[str, int]] = []
    for si, sent in enumerate(split_sentences(text)):
        if kind == "year":
            found = [m.group(1) for m in _YEAR.finditer(sent)]
        elif kind == "date":
            found = [m.group(0) for m in DATE.finditer(sent)]
            if not found:
                found = [m.group(1) for m in _YEAR.finditer(sent)]
        elif kind == "number":
            found = [m.group(0) for m in _NUMBER.finditer(sent) if not _YEAR.fullmatch(m.group(0))]
            found += [m.group(0) for m in _NUMBER_WORDS.finditer(sent)]
        else:
            found = [m.group(1).strip() for m in _QUOTED.finditer(sent)]
            for m in _NAME.finditer(sent):
                name = m.group(0).strip(" .'’-")
                if len(name) > 1 and name.lower() not in _STOP and not name.isdigit():
                    found.append(name)
        for f in found:
            out.append((f, si))
    return out


BLANK = "___"
_TOK = re.compile(r"\w+|[^\w\s]")
_QUOTES = frozenset("\"'`\u201c\u201d\u2018\u2019.")  # the composer drops quotes and inner full stops
_CAP_SPAN = re.compile(
    r"(?<![\w'’])[A-Z0-9][\w'’.&-]*(?:\s+(?:(?:of|the|de|del|von|van|du|da|la|le|and|y)\s+)*"
    r"[A-Z0-9][\w'’.&-]*)*"
)
_YEAR_AT = re.compile(rf"({YEAR_DIGITS})(?![\w]|,\d|\.\d)")
_NUMBER_AT = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")


_SENTENCE_END = re.compile(r"(?<=[A-Za-z0-9]{2})\.\s+(?=[A-Z])")
_CONNECTOR_GAP = re.compile(r"\s+(?:of|the|de|del|von|van|du|da|la|le|and|y)\s+")


def _typed_at(text: str, pos: int, kind: str) -> list[str]:
    """Answers of type ``kind`` that start at ``pos`` in ``text`` (longest first).

    A capitalised name may run over a joining word ("Omarion and Gunplay"): its shorter forms,
    cut before each joining word, are candidates too.
    """
    if kind == "year":
        m = _YEAR_AT.match(text, pos)
    elif kind == "number":
        m = _NUMBER_AT.match(text, pos) or _NUMBER_WORDS.match(text, pos)
    elif kind == "date":
        m = DATE.match(text, pos) or _YEAR_AT.match(text, pos)
    else:
        m = _CAP_SPAN.match(text, pos)
    if m is None:
        return []
    # a name ends where its sentence ends: "CBS. The" -> "CBS" (initials such as "J. R." stay)
    full = _SENTENCE_END.split(m.group(0), maxsplit=1)[0].rstrip(".'\u2019-&, ")
    if not full:
        return []
    out = [full]
    if kind not in ("year", "number", "date"):
        for gap in reversed(list(_CONNECTOR_GAP.finditer(full))):
            out.append(full[: gap.start()].rstrip(".'\u2019-&, "))
    return [a for a in out if a]


def align_blank(clause: str, text: str, kind: str) -> list[tuple[str, int]]:
    """Fill the clause's ``___`` from ``text``: (answer, matched context tokens), best first.

    The clause is the page's own words with the answer replaced by the blank (names may be
    masked), so the words right before and after the blank locate the answer in the page.

    >>> align_blank("this person was born in ___ in a city", "Ann Lee was born in 1971 in Oslo.", "year")
    [('1971', 4)]
    >>> align_blank("artists such as a person, ___ and Gunplay", "artists such as Wale, Omarion and Gunplay.", "person")[0]
    ('Omarion', 3)
    >>> align_blank("it first aired on ___", "The show first aired on CBS. The show ran long.", "name")[0]
    ('CBS', 3)
    """
    ctoks = [m.group(0).lower() for m in _TOK.finditer(clause) if m.group(0) not in _QUOTES]
    try:
        b = next(i for i, t in enumerate(ctoks) if BLANK in t)
    except StopIteration:
        return []
    left, right = ctoks[:b][::-1], ctoks[b + 1 :]
    ptoks = [m for m in _TOK.finditer(text) if m.group(0) not in _QUOTES]  # clauses drop quotes
    words = [m.group(0).lower() for m in ptoks]
    starts = [m.start() for m in ptoks]
    best: dict[str, int] = {}
    for i in range(len(ptoks)):
        lm = 0
        while lm < len(left) and i - 1 - lm >= 0 and words[i - 1 - lm] == left[lm]:
            lm += 1
        if lm == 0 and left:
            continue
        for ans in _typed_at(text, starts[i], kind):
            end = starts[i] + len(ans)
            j = i
            while j < len(ptoks) and starts[j] < end:
                j += 1
            rm = 0
            while rm < len(right) and j + rm < len(words) and words[j + rm] == right[rm]:
                rm += 1
            score = lm + rm
            if score > best.get(ans, 0):
                best[ans] = score
    return sorted(best.items(), key=lambda kv: -kv[1])


# ---------------------------------------------------------------------------------- policy


@dataclass
class _Cand:
    page_id: str
    title: str
    search: float = 0.0  # best normalised search score for this clause
    align: int = 0  # context tokens matched around the blank (last clause only)
    phrase: float = 0.0  # share of the clause's word pairs found in the page (clauses copy page text)
    linked: bool = False  # a page read for the previous hop mentions this page's title
    snippet_overlap: float = 0.0  # share of the clause's words in the title + snippet shown
    snippet_phrase: float = 0.0  # share of the clause's word pairs in the title + snippet shown
    page: Page | None = None  # set once the page has been opened
    overlap: float = 0.0  # share of the clause's words found in the page
    score: float = 0.0  # emission score of the chain search

    near: bool = False  # the shown title + snippet names the entity the previous hop resolved to

    def note_snippet(self, hop: _Hop, shown: str) -> None:
        self.snippet_overlap = max(self.snippet_overlap, RetrievalPolicy._overlap_text(hop.words, shown))
        self.snippet_phrase = max(self.snippet_phrase, _bigram_overlap(hop.pairs, shown))
        if hop.anchor and not self.near:
            self.near = _mentions(shown, hop.anchor)

    def prior(self, *, noise_of: random.Random, noise: float) -> float:
        """How promising the page looks before reading it."""
        base = 0.6 * self.search + self.snippet_overlap + 1.0 * self.snippet_phrase + 0.8 * self.linked
        base += 0.4 * self.near  # connected to the previous entity ("... it mentions")
        return base + (noise_of.gauss(0.0, noise) if noise else 0.0)


@dataclass
class _Hop:
    clause: str
    words: list[str]
    cands: dict[str, _Cand] = field(default_factory=dict)
    pairs: frozenset[tuple[str, str]] = frozenset()  # the clause's word pairs
    anchor: str = ""  # name of the entity the previous hop resolved to (set once it is resolved)

    def __post_init__(self) -> None:
        self.pairs = _bigrams(self.clause.replace(BLANK, " "))


class RetrievalPolicy:
    """Iterative non-LLM retrieval agent (see the module docstring)."""

    name = POLICY_NAME
    model: str | None = None

    def __init__(self, cfg: Any = None):
        from longtracerl.agent.config import AgentConfig

        self.cfg = cfg if cfg is not None else AgentConfig()
        self.open_per_clause = self.cfg.open_per_clause
        self.follow = self.cfg.follow_entities
        self.probe_open = self.cfg.probe_open if self.cfg.probe_entities else None

    # -- helpers -------------------------------------------------------------------------
    def _budget_ok(self, tools: ToolBox, reserve: int = 2) -> bool:
        return tools.n_calls + reserve < self.cfg.max_turns

    def _read(self, tools: ToolBox, cand: _Cand) -> None:
        if cand.page is None:
            res = tools.open(cand.page_id)
            if res.ok:
                cand.page = res.page

    @staticmethod
    def _overlap_text(words: list[str], text: str) -> float:
        if not words:
            return 0.0
        have = _word_set(text)
        return sum(1 for w in set(words) if w in have) / len(set(words))

    @classmethod
    def _overlap(cls, words: list[str], page: Page) -> float:
        return cls._overlap_text(words, page.title + " " + page.text)

    def _query(self, words: list[str], clause: str, rng: random.Random, attempt: int) -> str:
        if attempt == 1 or len(words) < 5:
            return clause
        keep = [w for w in words if rng.random() > 0.25]
        return " ".join(keep if len(keep) >= 3 else words)

    def _search_into(self, tools: ToolBox, hop: _Hop, query: str, weight: float = 1.0) -> list[_Cand]:
        res = tools.search(query)
        if not res.ok or not res.hits:
            return []
        top = max(h.score for h in res.hits) or 1.0
        added = []
        for h in res.hits:
            c = hop.cands.get(h.page_id)
            if c is None:
                c = hop.cands[h.page_id] = _Cand(h.page_id, h.title)
            c.search = max(c.search, weight * (h.score / top if top > 0 else 0.0))
            c.note_snippet(hop, h.title + " " + h.snippet)
            added.append(c)
        return added

    # -- the attempt ---------------------------------------------------------------------
    def run(self, question: str, tools: ToolBox, *, attempt: int, seed: int) -> AttemptEnd:
        rng = random.Random(seed)
        clauses, final, kind = parse_question(question)
        hops = [_Hop(c, _content_words(c)) for c in clauses]
        # the final question often re-describes the last entity
        hops[-1].words = hops[-1].words + [w for w in _content_words(final) if w not in hops[-1].words]
        n_open = self.open_per_clause + (0 if attempt == 1 else rng.randint(0, 2))
        noise = 0.0 if attempt == 1 else 0.15 + 0.05 * min(attempt, 5)

        # 1) optional whole-question search: a first look at the neighbourhood (seen pages)
        if self.cfg.question_search:
            tools.search(question.replace(BLANK, " "))

        # 2) hop by hop: search the clause, prefer results the previous hop's pages mention,
        #    read the best ones; follow names from the previous pages when nothing links
        prev: list[_Cand] = []
        for i, hop in enumerate(hops):
            reserve = 2 + (len(hops) - i - 1)
            if not self._budget_ok(tools, reserve=reserve):
                break
            text = hop.clause.replace(BLANK, " ")
            q = self._query(hop.words, text if i < len(hops) - 1 else text + " " + final, rng, attempt)
            self._search_into(tools, hop, q)
            if prev and self.follow and self._budget_ok(tools, reserve=reserve + n_open):
                # the next entity is named in the previous page: search its names with the clause
                names = self._names(prev[0])
                if names:
                    self._search_into(tools, hop, " ".join(names[:12]) + " " + text, weight=0.8)
            if prev and self._budget_ok(tools, reserve=reserve + n_open):
                # what the previous hop resolved to, with this clause (pages around that entity)
                self._search_into(tools, hop, _base_title(prev[0].title) + " " + text, weight=0.8)
            self._mark_links(hop, prev)
            if prev and self.follow and not any(c.linked for c in hop.cands.values()):
                self._follow(tools, hop, prev, rng, reserve + n_open)
            priors = {c.page_id: c.prior(noise_of=rng, noise=noise) for c in hop.cands.values()}
            ranked = sorted(hop.cands.values(), key=lambda c: -priors[c.page_id])
            margin = self.cfg.open_margin
            for j, c in enumerate(ranked[:n_open]):
                if j and margin is not None and priors[c.page_id] < priors[ranked[0].page_id] - margin:
                    break  # only candidates that compete with the best one are worth reading
                if not self._budget_ok(tools, reserve=reserve):
                    break
                self._read(tools, c)
            # the pages this hop most likely is, for the next hop's links
            read = [c for c in hop.cands.values() if c.page is not None]
            for c in read:
                c.overlap = self._overlap(hop.words, c.page)
                c.phrase = _bigram_overlap(hop.pairs, c.page.text)
            prev = sorted(
                read, key=lambda c: -(c.overlap + 1.5 * c.phrase + 0.6 * c.search + 0.5 * c.linked)
            )[:3]
            # the hop is resolved to an entity: look it up by NAME, as a search agent does, and
            # check the pages that mention it against the next clause
            if prev and i + 1 < len(hops) and self.probe_open is not None:
                hops[i + 1].anchor = _base_title(prev[0].title)
                self._probe(tools, prev[0], hops[i + 1], rng, noise, reserve + n_open)

        # 3) score candidates and pick the chain
        blank = BLANK in hops[-1].clause
        for hi, hop in enumerate(hops):
            for c in hop.cands.values():
                c.overlap = self._overlap(hop.words, c.page) if c.page is not None else 0.0
                c.phrase = _bigram_overlap(hop.pairs, c.page.text) if c.page is not None else 0.0
                c.score = (
                    0.6 * c.search
                    + 1.0 * c.overlap
                    + 1.5 * c.phrase
                    + (rng.gauss(0.0, noise) if noise else 0.0)
                )
                if hi == len(hops) - 1 and blank and c.page is not None:
                    # the last clause is the answer sentence with a blank: it aligns with its page
                    aligned = align_blank(hop.clause, c.page.text, kind)
                    c.align = aligned[0][1] if aligned else 0
                    c.score += min(1.0, c.align / 6.0)
        chain = self._viterbi(hops)
        if not chain:
            return self._give_up(tools, "no search results")

        # 4) answer from the last page of the chain
        last = chain[-1]
        if last.page is None:
            self._read(tools, last)
        answer = self._answer(last, hops[-1], question, final, kind, rng, noise)
        if answer is None:
            # try the next best page for the last clause
            for alt in sorted(hops[-1].cands.values(), key=lambda c: -c.score)[:3]:
                if alt.page_id == last.page_id or not self._budget_ok(tools):
                    continue
                self._read(tools, alt)
                answer = self._answer(alt, hops[-1], question, final, kind, rng, noise)
                if answer is not None:
                    chain = chain[:-1] + [alt]
                    break
        if answer is None:
            return self._give_up(tools, f"no {kind} candidate in the chosen pages", chain)
        if self.cfg.verify_answer:
            self._verify(tools, chain, answer)
        tools.cite([c.page_id for c in chain if c.page is not None])
        tools.answer(answer)
        return AttemptEnd("answered")

    def _give_up(self, tools: ToolBox, why: str, chain: list[_Cand] | None = None) -> AttemptEnd:
        if chain:
            tools.cite([c.page_id for c in chain if c.page is not None])
        return AttemptEnd("gave_up", why)

    @staticmethod
    def _mark_links(hop: _Hop, prev: list[_Cand]) -> None:
        for c in hop.cands.values():
            base = _base_title(c.title)
            c.linked = any(p.page is not None and _mentions(p.page.text, base) for p in prev)

    @staticmethod
    def _names(page_cand: _Cand) -> list[str]:
        """Names written in a read page (capitalised phrases, quoted titles), first seen first."""
        if page_cand.page is None:
            return []
        own = _base_title(page_cand.title)
        names: list[str] = []
        for cand, _si in extract_candidates(page_cand.page.text, "name"):
            if cand not in names and cand != own and len(cand) >= 4 and cand.lower() not in _STOP:
                names.append(cand)
        return names

    def _follow(self, tools: ToolBox, hop: _Hop, prev: list[_Cand], rng: random.Random, reserve: int) -> None:
        """Search names written in the previous hop's best pages; keep exact-title hits."""
        names: list[str] = []
        for p in prev[:2]:
            names += [n for n in self._names(p) if n not in names]
        names.sort(key=lambda n: -len(n))
        if rng.random() < 0.3:
            rng.shuffle(names)
        for name in names[: self.follow]:
            if not self._budget_ok(tools, reserve=reserve):
                return
            res = tools.search(name, k=3)
            if not res.ok:
                continue
            for h in res.hits:
                if _base_title(h.title).lower() != name.lower():
                    continue
                c = hop.cands.get(h.page_id)
                if c is None:
                    c = hop.cands[h.page_id] = _Cand(h.page_id, h.title)
                c.linked = True
                c.note_snippet(hop, h.title + " " + h.snippet)

    def _probe(
        self, tools: ToolBox, ent: _Cand, nxt: _Hop, rng: random.Random, noise: float, reserve: int
    ) -> None:
        """Look up a resolved entity by name; read the pages that mention it and fit the next clause.

        Two searches: the entity's name alone (its page and the pages that mention it), and the
        name with a few keywords of the next clause (pages around the entity of the next hop's
        kind). The results that are not the entity's own page are ranked by how well their shown
        title and snippet fit the next clause and whether the entity's page mentions them; the
        best ``probe_open`` are opened and join the next hop's candidates (the chain search
        decides later whether one of them is that hop).
        """
        if ent.page is None or not self._budget_ok(tools, reserve=reserve + 2 + self.probe_open):
            return
        name = _base_title(ent.title)
        if len(name) < 2:
            return
        name_words = set(_content_words(name))
        keys = [w for w in dict.fromkeys(nxt.words) if w not in name_words and w not in _TYPE_WORDS]
        if noise and len(keys) > 3:
            keys = [w for w in keys if rng.random() > 0.25] or keys
        queries = [name] + ([name + " " + " ".join(keys[:4])] if keys else [])
        shown: dict[str, tuple[_Cand, str]] = {}
        for q in queries:
            res = tools.search(q)
            if not res.ok:
                continue
            for h in res.hits:
                if h.page_id == ent.page_id or h.page_id in shown:
                    continue
                c = nxt.cands.get(h.page_id) or _Cand(h.page_id, h.title)
                shown[h.page_id] = (c, h.title + " " + h.snippet)
        if self.probe_open <= 0:
            return
        scored = []
        already = set(tools.opened_ids)
        for c, text in shown.values():
            if c.page is not None or c.page_id in already:
                continue
            fit = self._overlap_text(nxt.words, text) + _bigram_overlap(nxt.pairs, text)
            linked = _mentions(ent.page.text, _base_title(c.title))
            mentions_ent = _mentions(text, name)
            s = fit + 0.5 * linked + 0.3 * mentions_ent + (rng.gauss(0.0, noise) if noise else 0.0)
            scored.append((s, c, text))
        scored.sort(key=lambda t: -t[0])
        for _s, c, text in scored[: self.probe_open]:
            if not self._budget_ok(tools, reserve=reserve):
                return
            self._read(tools, c)
            if c.page is not None and c.page_id not in nxt.cands:
                nxt.cands[c.page_id] = c
                c.note_snippet(nxt, text)

    def _verify(self, tools: ToolBox, chain: list[_Cand], answer: str) -> None:
        """Check the answer by searching it with the answer page's name; read one new hit with it."""
        last = chain[-1]
        if not self._budget_ok(tools, reserve=3):
            return
        res = tools.search(f"{_base_title(last.title)} {answer}")
        if not res.ok:
            return
        skip = {c.page_id for c in chain} | set(tools.opened_ids)
        key = answer.lower()
        for h in res.hits:
            if h.page_id in skip:
                continue
            if key in (h.title + " " + h.snippet).lower():
                tools.open(h.page_id)
                break

    @staticmethod
    def _viterbi(hops: list[_Hop]) -> list[_Cand]:
        layers = [
            [c for c in h.cands.values() if c.page is not None] or list(h.cands.values())[:5] for h in hops
        ]
        layers = [layer for layer in layers if layer]
        if not layers:
            return []
        best: list[dict[str, tuple[float, str | None]]] = []
        first = {c.page_id: (c.score, None) for c in layers[0]}
        best.append(first)
        for li in range(1, len(layers)):
            prev_layer, layer = layers[li - 1], layers[li]
            cur: dict[str, tuple[float, str | None]] = {}
            for c in layer:
                top = (-math.inf, None)
                for p in prev_layer:
                    s = best[li - 1][p.page_id][0]
                    if p.page_id == c.page_id:
                        s -= 2.0
                    elif p.page is not None and _mentions(p.page.text, _base_title(c.title)):
                        s += 0.8
                    elif c.page is not None and _mentions(c.page.text, _base_title(p.title)):
                        s += 0.3
                    if s > top[0]:
                        top = (s, p.page_id)
                cur[c.page_id] = (top[0] + c.score, top[1])
            best.append(cur)
        by_id = [{c.page_id: c for c in layer} for layer in layers]
        end = max(best[-1], key=lambda k: best[-1][k][0])
        chain = [by_id[-1][end]]
        back = best[-1][end][1]
        for li in range(len(layers) - 2, -1, -1):
            chain.append(by_id[li][back])
            back = best[li][back][1]
        return chain[::-1]

    def _answer(
        self,
        page_cand: _Cand,
        hop: _Hop,
        question: str,
        final: str,
        kind: str,
        rng: random.Random,
        noise: float,
    ) -> str | None:
        page = page_cand.page
        if page is None:
            return None
        q_norm = " " + " ".join(_WORD.findall(question.lower())) + " "
        if BLANK in hop.clause:
            scored = []
            for cand, score in align_blank(hop.clause, page.text, kind):
                key = " ".join(_WORD.findall(cand.lower()))
                if key and f" {key} " not in q_norm:  # the question never contains its answer
                    scored.append((score + (rng.gauss(0.0, 3 * noise) if noise else 0.0), cand))
            if scored:
                return max(scored)[1]
        title_words = set(_content_words(_base_title(page.title)))
        # the final question says which fact is asked (weight 2); the last clause describes the
        # entity around it (weight 1)
        asked = set(_content_words(final)) - _TYPE_WORDS
        described = set(hop.words) - asked
        total = 2 * len(asked) + len(described) or 1
        sent_scores = []
        for s in split_sentences(page.text):
            ws = set(_content_words(s))
            sent_scores.append((2 * len(ws & asked) + len(ws & described)) / total)
        best: tuple[float, str] | None = None
        seen: dict[str, int] = {}
        for cand, si in extract_candidates(page.text, kind):
            key = " ".join(_WORD.findall(cand.lower()))
            if not key or f" {key} " in q_norm:
                continue  # the question never contains its own answer
            if kind in ("person", "place", "name") and set(key.split()) <= title_words:
                continue  # the entity itself is not its own attribute
            seen[key] = seen.get(key, 0) + 1
            score = sent_scores[si] if si < len(sent_scores) else 0.0
            score += 0.05 / (1 + si) + 0.02 * seen[key]
            if noise:
                score += rng.gauss(0.0, noise)
            if best is None or score > best[0]:
                best = (score, cand)
        return best[1] if best else None
