"""The offline search agent: answers a question from its text alone, with **no LLM** and no
knowledge of how the question was written.

Trajectories are labelled ``policy="search-nonllm"`` (``model`` is None). The policy sees the
question text, the search results and the pages it opens, nothing else. One attempt:

1. **Read the question** (:func:`~longtracerl.agent.answer.analyse`). Sentences ending in ``?`` ask; the others (chained
   narration: "Begin with a band ... . Move to the ... .") each describe one entity of a chain.
   The wh-word and the noun after it give the answer type (year, date, number, person, place,
   nationality, name) and a head noun ("which *band*"); a question starting with *is / are / was /
   did ...* is a yes/no question; "..., A or B?" is a choice between two named options. Named
   parts are collected: quoted titles, capitalised phrases, the options.
2. **Search the question and its parts**: the question's words, each named part alone (its page
   usually bears that name); read the pages titled by named parts and the question's best results.
3. **Bridge.** The names written on the best read pages, in the sentences that share the most
   words with the question, are *bridge candidates*: each is searched (with the question's
   unexplained words when it has no page of its own) and a result titled by it, or named by a read
   page, is read. A round that reads nothing searches the words the read pages do not explain
   (another reading of the question). Rounds stop when the two best read pages hold ``cover`` of
   the question's words; a last look reads the best remaining results, ``max_open`` pages in all.
4. **Chained narration** instead: each description is resolved in turn, within its share of
   ``chain_turns`` tool calls, among the previous entity's neighbours (names on its page and their
   shorter forms, looked up one by one and then a few per search, with the second page of results
   for a name whose own page is not among the first; pages naming it, deeper when the wording
   says the new page names the previous one), by how well a page fits the description
   (:class:`_Description`: its kind noun as a head of the page's defining words, the kind's other
   words and the nationality there, the title's qualifier, the decade of its first year, a stated
   size, quoted words, "the first / last X that ... names") and the connection the wording states
   ("who directed that film": the film's page names it; "directed by that director": it names the
   director; the relation's words before the name count more). Before settling a description it
   also reads a few results that name the entity just resolved, and before citing the chain a few
   results that name each of its entities (what a searcher reads to check a link; they become the
   opened-but-not-cited Tier-1 pages). The answer is read from the last entity's page.
5. **Answer** (:func:`~longtracerl.agent.answer.extract_answer`): typed candidate spans from the read pages' sentences
   (inside one sentence: a span never runs into the next one), scored by the sentence's share of
   the question's words, how close the span sits to them and to the words before the wh-phrase,
   the head noun beside it, and the page's relevance; a read page's own title when the page is
   what is asked; spans the question already contains are excluded. Yes/no questions compare the
   two pages; choices compare years or numbers for "first / older / more", or else pick the option
   whose page holds the question's words. The answer's page (a narration: its chain) is cited.

See docs/agent.md for the weights and the measured figures.

Attempt 1 is deterministic; later attempts add seeded noise to the ranking and the answer
scores and may read one more page, so they explore other pages and answers; in a chained
narration they read more candidates per description and take detours instead (the 2nd or 3rd
candidate at a close call, ``_DETOURS``).

Example:
    >>> a = analyse("Which magazine was started first, Arthur's Magazine or First for Women?")
    >>> a.kind, a.options, a.direction
    ('choice', ["Arthur's Magazine", 'First for Women'], 'earlier')
    >>> analyse("The Oberoi family is part of a hotel company that has a head office in what city?").kind
    'place'
"""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass, field
from typing import Any

from longtracerl.agent.answer import (
    _ANS_CAP,
    _DEFINES,
    _DEMONYM,
    _FIRST_YEAR,
    _NOT_ANSWER,
    _PERSONISH,
    _PHRASE_END,
    _POSSESSIVE,
    _QUOTED,
    _STOP,
    _WORD,
    _YEAR,
    QuestionPlan,
    _base,
    _page_for,
    _Read,
    _stem,
    _stems,
    _words,
    analyse,
    extract_answer,
)
from longtracerl.agent.base import AttemptEnd
from longtracerl.agent.retrieval import _mentions
from longtracerl.agent.tools import ToolBox
from longtracerl.textfacts import split_sentences
from longtracerl.textfacts import wordset as _wordset

__all__ = ["SearchAgentPolicy", "analyse", "extract_answer", "QuestionPlan"]

POLICY_NAME = "search-nonllm"
# chained narration: a hop whose two best read candidates score within CLOSE_CALL is a close call;
# attempt a takes, at the n-th close call of its chain, the candidate _DETOURS[a][n] (0 = best)
CLOSE_CALL = 0.5
CHAIN_OPEN_MAX = 14  # chained narration: candidates read per description at most
CHAIN_OPEN_STEP = 2  # chained narration: more candidates read per description at each later attempt
CHAIN_BATCH = 4  # chained narration: names of the previous page looked up per search beyond chain_names
CHAIN_LOOKUP_BATCHES = 8  # chained narration: such searches per description
CHAIN_MENTIONS = 3  # chained narration: results naming the entity just resolved, read per description
CHAIN_CHECKS = 3  # chained narration: results naming an entity of the chain, read per entity before citing
# chained narration: a hop whose best read candidate scores under WEAK_HOP has not found its entity
# (on the default run's first attempts no such hop was right): a second look widens the pool
WEAK_HOP = 1.2
SECOND_LOOK_READS = 3  # candidates of the second look read per weak hop
SECOND_LOOK_BATCHES = 4  # searches of the previous page's names not looked up yet, per weak hop
_DETOURS: dict[int, dict[int, int]] = {2: {0: 1}, 3: {1: 1}, 4: {2: 1}, 5: {0: 2}}

_NAMED_IN = re.compile(
    r"\b(?:named|mentioned|listed|cited) in the (?:description|text|article|page) of th(?:at|is|e)\b", re.I
)
_NAMES_THAT = re.compile(r"\bwhose (?:description|text|article|page) (?:names|mentions|cites)\b", re.I)
# the relation a description states, read as English: "X, who directed that film" (the film's
# page names its director: forward), "X, directed by that director" (X's page names the director:
# backward); with the words a page writes before the other's name ("directed by", "starring" ...)
_CUE_FWD = re.compile(
    r",\s*(?:who\s+(?!was married|played for)\w+(?:\s+in)?\s+that|where that .+ (?:was born|is located)|"
    r"that that .+ (?:was part of|played for))\b",
    re.I,
)
_CUE_BACK = re.compile(
    r",\s*(?:\w+ed by|starring|a member of|who played for|born in|located in)\s+that\b", re.I
)
_CUE_WORDS: list[tuple[re.Pattern, re.Pattern]] = [
    (re.compile(rx, re.I), re.compile(rf"\b(?:{before})\w*\W+(?:\w+\W+)?$", re.I))
    for rx, before in (
        (r"\bdirected\b", r"direct"),
        (r"\b(?:wrote|written)\b", r"writ|screenplay|novel|book|story|poem"),
        (r"\bproduced\b", r"produc"),
        (r"\b(?:appeared|starring)\b", r"star|featur|appear"),
        (r"\bfounded\b", r"found|co-found|creat|establish|form"),
        (r"\brecorded\b", r"album|single|song|record|perform|releas"),
        (r"\b(?:part of|member of)\b", r"member|join"),
        (r"\bplayed for\b", r"play|sign"),
        (r"\bborn\b", r"born"),
        (r"\blocated\b", r"locat|situat|based|headquarter|lies"),
        (r"\bmarried\b", r"marri|wife|husband"),
    )
]
# a name written on a page may have its own page under a shorter form: without a company suffix
# ("Neiman Marcus Group Inc"), a leading number or "The" ("30 Rockefeller Center"), a modifier
# ("Dan Schneider-produced"), or as one of the names joined inside it ("Northern Interior of
# British Columbia")
_NAME_SUFFIX = _wordset(
    "inc inc. ltd ltd. llc plc group corporation corp corp. company co co. limited holdings"
)
_NAME_JOIN = re.compile(r"\s+(?:of|by|for|and|&|at|in|on|from|with|to|du|de)\s+")
_KIND_END = _wordset(
    """
    formed premiered published opened established created produced recorded whose where when and
    or
    """
)
_DECADE = re.compile(r"\b(1[0-9]{2}|20[0-9])0s\b")
# "the last song that the description of that tale names": the previous page names it, in order
_ORDINAL = re.compile(
    r"\bthe (first|last) .+? that the (?:description|text|article|page) of th(?:at|is|e) \S+ (?:names|mentions)\b",
    re.I,
)
# "a county of hundreds of thousands of people": the size its page gives
_PEOPLE = re.compile(
    r"\bof (hundreds|thousands|tens of thousands|hundreds of thousands|millions) of (?:people|inhabitants|residents)\b",
    re.I,
)
_PEOPLE_RANGE = {
    "hundreds": (100, 1000),
    "thousands": (1000, 10000),
    "tens of thousands": (10000, 100000),
    "hundreds of thousands": (100000, 1000000),
    "millions": (1000000, 10**10),
}
_POPULATION = re.compile(
    r"\bpopulation (?:was|of|is|stood at|estimated at)?\s*(?:about |approximately |around )?(\d{1,3}(?:,\d{3})+|\d+)",
    re.I,
)
# the defining words end where the page turns to other entities ("a 1950 film *based on* the novel")
_DEFINE_END = re.compile(
    r"\b(?:based|by|directed|written|starring|featuring|adapted|about|from|that|which|who|whose|"
    r"produced|released|published|created|founded|located)\b|[.;:]\s"
)
_QUALIFIER = re.compile(r"\(([^()]+)\)\s*$")
# stems of the narration's own words ("Next comes ..., whose description uses the words ...")
_CHAIN_STOP = _wordset(
    """
    start begin next com come finally consider take then word us description nam go there
    """
)
_TYPE_WORDS = _wordset(
    """
    year date day month many much number name called city country
    """
)


@functools.lru_cache(maxsize=8192)
def _names(text: str) -> tuple[str, ...]:
    """Quoted titles and capitalised phrases of a text, in order (a phrase never crosses a sentence end);
    cached: the sentences of the pages read are looked at again at every hop and attempt."""
    out: list[str] = []
    for sent in split_sentences(text):
        out += [m.group(1).strip() for m in _QUOTED.finditer(sent)]
        for m in _ANS_CAP.finditer(sent):
            name = _POSSESSIVE.sub("", m.group(0).strip(" '’-&"))  # "Peter Jackson's film"
            first = name.split()[0].lower() if name else ""
            if first in _NOT_ANSWER and first != "the" and " " in name:  # "In 1990 Ann" -> "1990 Ann"
                name = name.split(" ", 1)[1]
            elif (
                m.start() == 0 and " " not in name and (first in _STOP or first.isalpha() and len(first) < 6)
            ):
                continue  # a sentence's capitalised first word ("Start", "Move", "Its")
            if len(name) > 1 and name.lower() not in _NOT_ANSWER and not name.isdigit():
                out.append(name)
    return tuple(dict.fromkeys(out))


def _variants(name: str) -> list[str]:
    """Shorter forms of a name under which its page may be titled (see ``_NAME_SUFFIX``)."""
    out: list[str] = []
    m = re.fullmatch(r"(.{3,}?)-[a-z]+", name)  # "Dan Schneider-produced"
    if m:
        out.append(m.group(1))
    words = name.split()
    core = list(words)
    while len(core) > 1 and core[-1].lower().rstrip(",") in _NAME_SUFFIX:
        core.pop()
    while len(core) > 1 and (core[0].isdigit() or core[0].lower() == "the"):
        core = core[1:]
    if core != words:
        out.append(" ".join(core))
    parts = _NAME_JOIN.split(" ".join(core))
    if len(parts) > 1:
        out += [p for p in parts if len(p) >= 4 and p[:1].isupper()]
    return [v for v in dict.fromkeys(out) if v != name and len(v) >= 3]


def _forms(title: str) -> tuple[list[str], str | None]:
    """(full forms, surname) of a page's name as other pages write it: the title without its
    qualifier, without a leading "The", its part before a comma; the last word of a longer name."""
    base = _base(title)
    full = [base]
    if base.lower().startswith("the ") and len(base) > 8:
        full.append(base[4:])
    if "," in base and len(base.split(",")[0]) >= 4:
        full.append(base.split(",")[0].strip())
    words = base.split()
    last = (
        words[-1]
        if len(words) >= 2
        and "," not in base
        and words[0] != "The"
        and len(words[-1]) >= 4
        and words[-1][:1].isupper()
        else None
    )
    return full, last


def _kind_of(description: str) -> tuple[str | None, str | None, set[str]]:
    """(kind noun stem, nationality, stems of the other words of the kind) of a description: "Next
    comes an Australian romantic drama film born in ..." -> ('film', 'Australian', {'romantic', 'drama'})."""
    m = re.search(r"\b(?:an?|the)\s+([^,;]+)", description)
    if m is None:
        return None, None, set()
    phrase: list[str] = []
    for w in m.group(1).split():
        if w.lower() in _PHRASE_END or w.lower() in _KIND_END:
            break
        phrase.append(w)
    nouns = [w for w in phrase if w.islower() and w not in _STOP]
    dem = _DEMONYM.search(" ".join(phrase))
    mods = {_stem(w) for w in nouns[:-1] if w not in ("first", "last")}
    return (_stem(nouns[-1]) if nouns else None), (dem.group(0) if dem else None), mods


def _defining(text: str) -> str:
    """A page's defining words: after its first "is / was", up to where it turns to other entities."""
    m = _DEFINES.search(text[:300])
    return _DEFINE_END.split(m.group(1) if m else text[:150], maxsplit=1)[0]


# ---------------------------------------------------------------------------------- policy


class _Description:
    """One description of a chained narration, as a searcher reads it: what the entity is ("an
    Australian director"), a decade ("born in the 1960s"), quoted words, the other words, and which
    way it is connected to the previous entity."""

    def __init__(self, clause: str):
        self.query = " ".join(
            w for w in _words(clause) if _stem(w) not in _CHAIN_STOP and not _DECADE.match(w)
        )
        self.stems = _stems(clause) - _CHAIN_STOP
        self.decades = [m.group(1) for m in _DECADE.finditer(clause)]
        self.kind, self.demonym, self.mods = _kind_of(clause)
        # words the description quotes from the page: the surest sign of it
        self.quoted = {w.lower() for m in _QUOTED.finditer(clause) for w in _WORD.findall(m.group(1))}
        # "named in the description of that film": the previous page names it; "whose description
        # names that band": it names the previous one; otherwise either way
        self.way = "fwd" if _NAMED_IN.search(clause) else "back" if _NAMES_THAT.search(clause) else None
        if self.way is None:  # "..., who directed that film" / "..., directed by that director"
            self.way = "fwd" if _CUE_FWD.search(clause) else "back" if _CUE_BACK.search(clause) else None
        # the words a page writes right before the other's name for the relation stated
        self.cue = next((before for rx, before in _CUE_WORDS if rx.search(clause)), None)
        om = _ORDINAL.search(clause)
        self.ordinal = om.group(1).lower() if om else None  # "the first/last X that ... names"
        if om:
            self.way = "fwd"
        pm = _PEOPLE.search(clause)
        self.people = _PEOPLE_RANGE[pm.group(1).lower()] if pm else None

    def defines(self, text: str) -> bool:
        """The kind noun is a head of the page's defining words ("X is an American *director* ...",
        "an animator, film *director*": a director, not a film)."""
        if not self.kind:
            return True
        return self._kind_in(_defining(text)) == 2

    def _kind_in(self, words: str) -> int:
        """2: the kind noun is a head of ``words`` (last, or before a comma / and / or); 1: it is
        there as a modifier ("*film* director"); 0: not there."""
        toks = re.findall(r"[\w'’-]+|[,;&]", words.lower())
        found = 0
        for i, tok in enumerate(toks):
            if self.kind == _stem(tok) or self.kind in {_stem(t) for t in tok.split("-")}:
                if i + 1 == len(toks) or toks[i + 1] in (",", ";", "&", "and", "or"):
                    return 2
                found = 1
        return found

    def fit(self, text: str) -> float:
        """How well a page's (or a result's shown) text fits the description."""
        s = len(_stems(text[:400]) & self.stems) / (len(self.stems) or 1)
        words = _defining(text)
        if self.kind:  # what the entity is: its page's defining words say so, else its first words
            k = self._kind_in(words)
            s += 0.6 if k == 2 else 0.3 if k == 1 else 0.2 if self.kind in _stems(text[:250]) else -0.2
        if self.mods:  # "a romantic drama film": the other words of what it is, in the defining words
            s += 0.4 * len(self.mods & _stems(words)) / len(self.mods)
        if (
            self.demonym
        ):  # "an American actor", not "a British-American actor" or "Portuguese ... for a Spanish club"
            own = re.search(rf"(?<![\w-]){re.escape(self.demonym)}(?![\w-])", words)
            other = [m.group(0) for m in _DEMONYM.finditer(words) if m.group(0) != self.demonym]
            if own and not other:
                s += 0.3
            elif other:
                s -= 0.3 if not own else 0.0
            else:
                s += 0.1 if self.demonym.lower() in text[:250].lower() else -0.1
        if self.quoted:
            s += 0.8 * len(self.quoted & {w.lower() for w in _WORD.findall(text)}) / len(self.quoted)
        if self.decades:  # the dated fact ("born in the 1950s") is most often the page's first year
            years = _FIRST_YEAR.findall(text[:400])
            if years and any(years[0][:3] == d for d in self.decades):
                s += 0.5
            elif any(y[:3] == d for y in years for d in self.decades):
                s += 0.15
            elif years:
                s -= 0.2
        return s

    def title_fit(self, title: str, text: str) -> float:
        """A title's qualifier ("Treasure Island (1950 film)") against the kind; the size stated."""
        s = 0.0
        q = _QUALIFIER.search(title)
        if q and self.kind:
            words = [_stem(w) for w in _WORD.findall(q.group(1).lower()) if not w.isdigit()]
            if any(self.kind in w or (len(w) > 3 and w in self.kind) for w in words):
                s += 0.2
            elif words:
                s -= 0.3
        if self.people:
            pm = _POPULATION.search(text)
            if pm:
                lo, hi = self.people
                s += 0.5 if lo <= int(pm.group(1).replace(",", "")) < hi else -0.3
        return s

    def shown_fit(self, prev: _Read | None, c: _Cand) -> float:
        """How well a search result, by its shown title and snippet, fits the description."""
        return self.fit(c.text) + self.relation(prev, c.title, c.text) + 0.3 * c.search

    def relation(self, prev: _Read | None, title: str, text: str) -> float:
        """The connection to the previous entity's page, in the direction the description states."""
        if prev is None:
            return 0.0
        # a surname alone names a person only ("Kelly" for Jim Kelly, not "Prix" for a Grand Prix)
        fwd = self._named(prev.page.text, title, bool(_PERSONISH.search(text[:200])))
        back = self._named(text, prev.page.title, bool(_PERSONISH.search(prev.page.text[:200])))
        if self.way == "fwd":
            return fwd if fwd > 0 else -0.6
        if self.way == "back":
            return back if back > 0 else (-0.2 if fwd > 0 else -0.6)
        return max(fwd, back) if max(fwd, back) > 0 else -0.6

    def _named(self, text: str, title: str, person: bool = True) -> float:
        """How surely ``text`` names the page ``title``: 0.8 by a full form of its name (+0.2 with
        the relation's words right before it: "directed by X"), 0.5 by its last word alone
        ("Kelly" for "Jim Kelly"), else 0."""
        full, last = _forms(title)
        for form in full:
            if _mentions(text, form):
                if self.cue is not None:
                    for m in re.finditer(re.escape(form), text):
                        if self.cue.search(text[max(0, m.start() - 40) : m.start()]):
                            return 1.0
                return 0.8
        return 0.5 if person and last is not None and _mentions(text, last) else 0.0


@dataclass
class _Cand:
    page_id: str
    title: str
    search: float = 0.0  # best normalised search score
    shown: float = 0.0  # share of the question's words in the shown title + snippet
    named: bool = False  # the title is a name the question (or a bridge) gives
    linked: bool = False  # a read page names this title
    near: bool = False  # the shown title + snippet names a page read for a name the question gives
    exact: bool = False  # the title is the name itself, without a qualifier
    rank: int = 99
    text: str = ""  # the shown title + snippet

    def prior(self) -> float:
        base = 0.6 * self.search + self.shown + 1.2 * self.named + 0.6 * self.linked + 0.4 * self.near
        base += 0.4 * self.exact
        return base - 0.01 * self.rank


class SearchAgentPolicy:
    """Iterative non-LLM search agent that works from the question text alone (module docstring)."""

    name = POLICY_NAME
    model: str | None = None

    def __init__(self, cfg: Any = None):
        from longtracerl.agent.config import AgentConfig

        self.cfg = cfg if cfg is not None else AgentConfig()
        self.max_open = self.cfg.max_open
        self.debug: dict | None = None  # set to a dict to receive the answer candidates' scores
        self.cover = self.cfg.cover

    # -- bookkeeping ---------------------------------------------------------------------
    def _ok(self, tools: ToolBox, st: _Attempt, reserve: int = 2) -> bool:
        return tools.n_calls + reserve < st.turns

    def _search(
        self,
        tools: ToolBox,
        st: _Attempt,
        query: str,
        *,
        named: str | None = None,
        again: bool = False,
        offset: int = 0,
    ) -> list[_Cand]:
        """Search and score the results as candidates. A query already made returns [] (or, with
        ``again``, its earlier results, without a new call); ``offset=10`` is its second page."""
        query = " ".join(query.split())
        key = f"{query.lower()}@{offset}" if offset else query.lower()
        if key in st.queries:
            return list(st.results.get(key, [])) if again else []
        if (
            not query
            or not self._ok(tools, st, 3)
            or st.call_limit is not None
            and tools.n_calls >= st.call_limit
        ):
            return []
        st.queries.add(key)
        res = tools.search(query, offset=offset)
        if not res.ok or not res.hits:
            return []
        top = max(h.score for h in res.hits) or 1.0
        bare = named.lower().removeprefix("the ") if named is not None else None  # "The Minnesota Vikings"
        top_reads = st.top_reads(2)
        named_reads = [r for r in st.reads.values() if r.named]
        out = []
        for h in res.hits:
            c = st.cands.get(h.page_id)
            if c is None:
                c = st.cands[h.page_id] = _Cand(h.page_id, h.title)
            c.search = max(c.search, h.score / top if top > 0 else 0.0)
            c.rank = min(c.rank, h.rank)
            shown = _stems(h.title + " " + h.snippet)
            c.shown = max(c.shown, len(shown & st.plan.stems) / (len(st.plan.stems) or 1))
            base = _base(h.title).lower()
            if named is not None and (
                base == named.lower() or base.split(",")[0] == named.lower() or base == bare
            ):
                c.named = True
                c.exact = c.exact or h.title.lower() == named.lower()
            c.linked = c.linked or any(_mentions(r.page.text, _base(c.title)) for r in top_reads)
            c.text = h.title + " " + h.snippet
            c.near = c.near or any(_mentions(c.text, _base(r.page.title)) for r in named_reads)
            out.append(c)
        st.results[key] = out
        return out

    def _open(self, tools: ToolBox, st: _Attempt, c: _Cand, *, limit: bool = True) -> _Read | None:
        if c.page_id in st.reads or (limit and len(st.reads) >= st.max_open) or not self._ok(tools, st, 3):
            return None
        res = tools.open(c.page_id)
        if not res.ok or res.page is None:
            return None
        page = res.page
        r = _Read(page, split_sentences(page.text), _stems(page.title + " " + page.text))
        r.relevance = len(r.stems & st.plan.stems) / (len(st.plan.stems) or 1)
        r.linked = c.linked
        r.named = c.named and _base(page.title).lower() in st.plan.text.lower()
        st.reads[c.page_id] = r
        for other in st.cands.values():  # results this page names are now linked
            if (
                not other.linked
                and other.page_id not in st.reads
                and _mentions(page.text, _base(other.title))
            ):
                other.linked = True
            if r.named and not other.near and _mentions(other.text, _base(page.title)):
                other.near = True  # this result mentions the entity the question names
        return r

    def _open_best(self, tools: ToolBox, st: _Attempt, n: int, pool: list[_Cand] | None = None) -> int:
        pool = pool if pool is not None else list(st.cands.values())
        ranked = sorted(
            (c for c in pool if c.page_id not in st.reads),
            key=lambda c: -(c.prior() + (st.rng.gauss(0.0, st.noise) if st.noise else 0.0)),
        )
        opened = 0
        bases = {_base(r.page.title).lower() for r in st.reads.values()}
        for c in ranked:
            if opened >= n:
                break
            base = _base(c.title).lower()
            if c.named and base in bases and not c.exact:
                continue  # one page per name: "X (film)" read, "X (novel)" only if asked for
            if self._open(tools, st, c) is not None:
                opened += 1
                bases.add(base)
        return opened

    # -- the attempt ---------------------------------------------------------------------
    def run(self, question: str, tools: ToolBox, *, attempt: int, seed: int) -> AttemptEnd:
        plan = analyse(question)
        rng = random.Random(seed)
        noise = 0.0 if attempt == 1 else 0.1 + 0.05 * min(attempt, 5)
        st = _Attempt(plan, rng, noise, self.max_open + (0 if attempt == 1 else rng.randint(0, 1)))
        st.detours = _DETOURS.get(attempt, {})
        # a chain's later attempt reads more candidates per description (its earlier ones missed)
        st.chain_open = min(CHAIN_OPEN_MAX, self.cfg.chain_open + CHAIN_OPEN_STEP * (attempt - 1))

        # 1) the question and its parts
        # tool calls per attempt: chain_turns for a chained narration, else max_turns
        st.turns = self.cfg.chain_turns if plan.clauses else self.cfg.max_turns
        if plan.clauses:
            self._chain(tools, st)
        else:
            first = self._search(tools, st, " ".join(_WORD.findall(plan.text)))
            for name in plan.names[:3]:
                self._search(tools, st, name, named=name)
            named = [c for c in st.cands.values() if c.named]
            self._open_best(tools, st, min(len(named), 2), named)
            self._open_best(tools, st, 2, first)  # the best results for the question as a whole

        # 2) bridge rounds until the read pages cover the question (at least one: a multi-hop
        #    question names its first entity; the answer sits on a page that entity's page names)
        for rnd in range(0 if plan.clauses else 3):
            if rnd and self._covered(st) or len(st.reads) >= st.max_open or not self._ok(tools, st, 4):
                break
            if not self._bridge(tools, st):
                self._reread(tools, st)
        # a last look: the best unread results (first those a read page names or that name one)
        if len(st.reads) < st.max_open and self._ok(tools, st, 4):
            self._open_best(tools, st, 1, [c for c in st.cands.values() if c.linked or c.near])
        if len(st.reads) < st.max_open and self._ok(tools, st, 4):
            self._open_best(tools, st, min(2, st.max_open - len(st.reads)))

        answer, chain = None, []
        if st.chain:  # chained narration: the question asks about the last entity, on its own page
            answer, chain = extract_answer(plan, st.chain[-1:], rng, noise, self.debug, focus=st.focus)
        if answer is None:
            answer, chain = extract_answer(plan, st.ordered(), rng, noise, self.debug, focus=st.focus)
        if st.chain:  # chained narration: the entities resolved, in order, and the answer's page
            chain = st.chain + [r for r in chain if r not in st.chain]
        if chain:
            tools.cite([r.page.id for r in chain])
        if answer is None:
            return AttemptEnd("gave_up", f"no {plan.kind} candidate in {len(st.reads)} read pages")
        tools.answer(answer)
        return AttemptEnd("answered")

    def _chain(self, tools: ToolBox, st: _Attempt) -> None:
        """Chained narration: resolve each description in turn, among the previous entity's neighbours.

        The first description is searched as it is. Each later one describes an entity connected
        to the previous one: a name written on the previous page (looked up by title), or a page
        that names the previous entity (a search of its name). Candidates are ranked by how well
        their shown text fits the description (:class:`_Description`) and by that connection; the
        best few are read and the best fitting read page is the entity.
        """
        prev: _Read | None = None
        clauses = st.plan.clauses
        for i, clause in enumerate(clauses):
            d = _Description(clause)
            # the tool calls left are shared out over the descriptions left (the last look-up and
            # the answer kept): a long chain must not spend them all on its first hops
            budget = max(8, (st.turns - tools.n_calls - 4) // (len(clauses) - i))
            reads = min(st.chain_open, budget // 2)  # at least half of a hop's calls search
            st.call_limit = tools.n_calls + budget - reads
            pool = self._hop_pool(tools, st, d, prev)
            st.call_limit = None
            chosen = {r.page.id for r in st.chain}
            uniq = {c.page_id: c for c in pool if c.page_id not in chosen}
            # no noise here: a chain's later attempts take detours (below) instead
            shown = {c.page_id: d.shown_fit(prev, c) for c in uniq.values()}
            unread = sorted(
                (c for c in uniq.values() if c.page_id not in st.reads), key=lambda c: -shown[c.page_id]
            )
            # and, before settling, the most promising of the other results that mention the
            # entity just resolved (shown for its name with this description's words; the second
            # page of its name's results when the first holds too few)
            extra = self._mentioning(unread[reads:], prev)
            if prev is not None and len(extra) < CHAIN_MENTIONS:
                more = [
                    c
                    for c in self._search(tools, st, _base(prev.page.title), again=True, offset=10)
                    if c.page_id not in uniq and c.page_id not in chosen and c.page_id not in st.reads
                ]
                for c in more:
                    uniq[c.page_id] = c
                    shown[c.page_id] = d.shown_fit(prev, c)
                extra += sorted(self._mentioning(more, prev), key=lambda c: -shown[c.page_id])
            for c in unread[:reads] + extra[:CHAIN_MENTIONS]:
                self._open(tools, st, c, limit=False)
            scored = self._score_reads(st, d, prev, uniq)
            if prev is not None and max(scored.values(), default=0.0) < WEAK_HOP:
                more = [
                    c
                    for c in self._second_look(tools, st, d, prev)
                    if c.page_id not in uniq and c.page_id not in chosen
                ]
                for c in more:
                    uniq[c.page_id] = c
                    shown[c.page_id] = d.shown_fit(prev, c)
                for c in sorted(more, key=lambda c: -shown[c.page_id])[:SECOND_LOOK_READS]:
                    self._open(tools, st, c, limit=False)
                scored = self._score_reads(st, d, prev, uniq)
            if d.ordinal and prev is not None:  # "the first/last X that the description names"
                pos = {
                    pid: prev.page.text.find(_base(st.reads[pid].page.title))
                    for pid in scored
                    if d.defines(st.reads[pid].page.text)
                }
                pos = {pid: i for pid, i in pos.items() if i >= 0}
                if pos:
                    pick = (min if d.ordinal == "first" else max)(pos, key=lambda pid: pos[pid])
                    scored[pick] += 0.5
            ranked = sorted(scored, key=lambda pid: -scored[pid])
            pick = 0
            if len(ranked) > 1 and scored[ranked[0]] - scored[ranked[1]] < CLOSE_CALL:
                # a close call: a later attempt takes the 2nd (3rd) candidate at its n-th close call
                pick = min(st.detours.get(st.close_calls, 0), len(ranked) - 1)
                st.close_calls += 1
            best = st.reads[ranked[pick]] if ranked else None
            if self.debug is not None:
                self.debug.setdefault("hops", []).append(
                    {"clause": clause, "scored": scored, "shown": shown, "prev": prev}
                )
            if best is None:
                break
            prev = best
            st.chain.append(best)
            st.focus = best.page.id  # the entity the chain has reached so far
        if prev is not None:  # the question asks about the last entity: look it up with the asked words
            self._search(tools, st, f"{_base(prev.page.title)} {' '.join(_words(st.plan.final))}")
            self._check(tools, st)

    @staticmethod
    def _score_reads(
        st: _Attempt, d: _Description, prev: _Read | None, cands: dict[str, _Cand]
    ) -> dict[str, float]:
        """How well each read candidate fits the description: its text, its connection to the
        previous entity, its title, its search score."""
        scored: dict[str, float] = {}
        for c in cands.values():
            r = st.reads.get(c.page_id)
            if r is not None:
                scored[c.page_id] = (
                    d.fit(r.page.text)
                    + d.relation(prev, c.title, r.page.text)
                    + d.title_fit(c.title, r.page.text)
                    + 0.2 * c.search
                )
        return scored

    def _second_look(self, tools: ToolBox, st: _Attempt, d: _Description, prev: _Read) -> list[_Cand]:
        """More candidates for a description none of whose read candidates fits: pages titled by a
        part of a longer name the previous page writes ("Glenn Miller" for "The Glenn Miller Story",
        from the results already shown for it), the second page of the previous entity's name with
        the description, and the names of the previous page not looked up yet."""
        anchor = _base(prev.page.title)
        names = self._forward_names(prev, d.stems, {_base(r.page.title).lower() for r in st.chain})
        out: list[_Cand] = []
        for name in names:
            if " " not in name or name.lower() not in st.queries:
                continue
            low = f" {name.lower()} "
            out += [
                c
                for c in self._search(tools, st, name, again=True)  # shown before: no new call
                if len(_base(c.title)) >= 4 and f" {_base(c.title).lower()} " in low
            ]
        out += self._search(tools, st, f"{anchor} {d.query}", again=True, offset=10)
        looked = self.cfg.chain_names + CHAIN_LOOKUP_BATCHES * CHAIN_BATCH
        rest = names[looked : looked + SECOND_LOOK_BATCHES * CHAIN_BATCH]
        for j in range(0, len(rest), CHAIN_BATCH):
            out += self._search(tools, st, " ".join(rest[j : j + CHAIN_BATCH]), again=True)
        return out

    def _check(self, tools: ToolBox, st: _Attempt) -> None:
        """Before citing a chain, read what other pages say about each of its entities: the best
        results (by search score) whose shown text names it, ``CHAIN_CHECKS`` per entity; when
        fewer were shown, its name is searched (and the second page of that)."""
        chosen = {r.page.id for r in st.chain}
        for ent in st.chain:
            name = _base(ent.page.title)
            for offset in (None, 0, 10):  # the results shown so far, then its name's first and second page
                if offset is not None:
                    self._search(tools, st, name, again=True, offset=offset)
                unread = (
                    c for c in st.cands.values() if c.page_id not in st.reads and c.page_id not in chosen
                )
                todo = self._mentioning(sorted(unread, key=lambda c: -c.search), ent)[:CHAIN_CHECKS]
                if len(todo) >= CHAIN_CHECKS:
                    break
            for c in todo:
                self._open(tools, st, c, limit=False)

    @staticmethod
    def _mentioning(cands: list[_Cand], prev: _Read | None) -> list[_Cand]:
        """The candidates whose shown title and snippet name the page ``prev`` (a full form of its
        name), in the given order."""
        if prev is None:
            return []
        full, _ = _forms(prev.page.title)
        return [c for c in cands if c.page_id != prev.page.id and any(_mentions(c.text, f) for f in full)]

    def _hop_pool(self, tools: ToolBox, st: _Attempt, d: _Description, prev: _Read | None) -> list[_Cand]:
        """Candidates for one description: the first is searched as written (and its second page
        of results when none of the first fits); a later one among the previous entity's
        neighbours: pages that name it (a search of its name with the description, of its name
        alone, and the second page of that) and the names written on its page, looked up by title
        (one by one, then a few per search, then the second page of a name whose page did not come
        up), in the order the description's direction makes likelier."""
        if prev is None:
            pool = self._search(tools, st, d.query, again=True)
            if not any(d.defines(c.text) for c in pool):
                pool += self._search(tools, st, d.query, again=True, offset=10)
            return pool
        anchor = _base(prev.page.title)
        pool = self._search(tools, st, f"{anchor} {d.query}", again=True)
        if d.way != "fwd":  # pages that name the previous entity: a search of its name
            pool += self._search(tools, st, anchor, again=True)
        if d.way == "back":  # only those: deeper
            pool += self._search(tools, st, anchor, again=True, offset=10)
        done = {_base(r.page.title).lower() for r in st.chain}
        pool += self._lookup(tools, st, self._forward_names(prev, d.stems, done))
        if d.way == "fwd":
            pool += self._search(tools, st, anchor, again=True)
        return pool

    def _lookup(self, tools: ToolBox, st: _Attempt, names: list[str]) -> list[_Cand]:
        """Pages titled by the given names (best first): the first ``chain_names`` searched one
        by one, the next ones ``CHAIN_BATCH`` per search, then the second page of results of a
        name looked up alone whose own page (the name without a qualifier) did not come up."""
        found: list[_Cand] = []
        missing: list[str] = []

        def titled(hits: list[_Cand], name: str) -> list[_Cand]:
            wanted = {name.lower(), name.lower().removeprefix("the ")}
            return [
                c
                for c in hits
                if _base(c.title).lower() in wanted or _base(c.title).split(",")[0].lower() in wanted
            ]

        single = names[: self.cfg.chain_names]
        for name in single:
            hits = titled(self._search(tools, st, name, again=True), name)
            found += hits
            if not any(_QUALIFIER.search(c.title) is None for c in hits):
                missing.append(name)  # none titled by the name itself: "Batman (album)" only
        rest = names[self.cfg.chain_names : self.cfg.chain_names + CHAIN_LOOKUP_BATCHES * CHAIN_BATCH]
        for j in range(0, len(rest), CHAIN_BATCH):
            batch = rest[j : j + CHAIN_BATCH]
            hits = self._search(tools, st, " ".join(batch), again=True)
            for name in batch:
                found += titled(hits, name)
        for name in missing[:3]:  # the second page: "Batman" among "Batman (album)", "Batman (score)" ...
            found += titled(self._search(tools, st, name, again=True, offset=10), name)
        return found

    @staticmethod
    def _forward_names(prev: _Read, desc: set[str], done: set[str]) -> list[str]:
        """Names written on the previous page (not the chain's), those in sentences that fit the
        description first; a name inside a longer one ("Juliet" in "Romeo + Juliet") is left out."""
        scored: dict[str, float] = {}
        for si, sent in enumerate(prev.sents):
            share = len(_stems(sent) & desc) / (len(desc) or 1)
            for name in _names(sent):
                if len(name) < 3 or _YEAR.fullmatch(name) or _DEMONYM.fullmatch(name):
                    continue
                scored[name] = max(scored.get(name, -1.0), share + 0.05 / (1 + si))
        names = [n for n in scored if n.lower() not in done and n.lower() != _base(prev.page.title).lower()]
        names = [n for n in names if not any(n != m and n in m for m in names)]
        for n in list(names):  # shorter forms it may be titled by, right after it
            for v in _variants(n):
                if v not in scored and v.lower() not in done:
                    scored[v] = scored[n] - 0.01
                    names.append(v)
        return sorted(names, key=lambda n: -scored[n])

    def _covered(self, st: _Attempt) -> bool:
        top = st.top_reads(2)
        if not top:
            return False
        have: set[str] = set()
        for r in top:
            have |= r.stems
        share = len(have & st.plan.stems) / (len(st.plan.stems) or 1)
        if st.plan.kind in ("yesno", "choice") and len(st.plan.options) == 2:
            return all(_page_for(o, list(st.reads.values())) is not None for o in st.plan.options)
        return share >= self.cover and len(top) >= 2

    def _bridge(self, tools: ToolBox, st: _Attempt) -> bool:
        """Search the names the best read pages write near the question's words; read title hits."""
        plan = st.plan
        if plan.kind in ("yesno", "choice") and len(plan.options) == 2:
            found = False
            for opt in plan.options:
                if _page_for(opt, list(st.reads.values())) is None:
                    hits = self._search(tools, st, opt, named=opt)
                    found |= self._open_best(tools, st, 1, hits) > 0
            return found
        q_lower = plan.text.lower()
        # the pages of the entities the question names first: the bridge is written there
        top = sorted(st.reads.values(), key=lambda r: -(r.relevance + 0.5 * r.named + 0.2 * r.linked))[:2]
        q_caps = {w for w in _WORD.findall(plan.text) if w.isupper() and len(w) > 1}
        read_titles = {_base(r.page.title).lower() for r in st.reads.values()}
        seen_titles = {_base(c.title).lower() for c in st.cands.values()}
        bridges: dict[str, float] = {}
        for r in top:
            own = _base(r.page.title).lower()
            for si, sent in enumerate(r.sents):
                share = len(_stems(sent) & plan.stems) / (len(plan.stems) or 1)
                for name in _names(sent):
                    low = name.lower()
                    if low in q_lower or low in read_titles or low == own or len(name) < 3:
                        continue
                    if _YEAR.fullmatch(name) or _DEMONYM.fullmatch(name):
                        continue
                    score = share + 0.1 / (1 + si) + 0.05 * min(3, len(name.split()))
                    score += 0.3 * (low in seen_titles)
                    # a bridge is a new entity, not one the question already names in other words
                    nw = _stems(name)
                    score -= 0.4 * len(nw & plan.stems) / (len(nw) or 1)
                    if "".join(w[0] for w in name.split() if w[:1].isupper()) in q_caps:
                        score -= 0.5  # "National Hockey League" for the question's "NHL"
                    bridges[name] = max(bridges.get(name, -1.0), score)
        names = sorted(bridges, key=lambda n: -bridges[n])
        if st.noise and len(names) > 2 and st.rng.random() < 0.5:
            names[0], names[1] = names[1], names[0]
        explained = top[0].stems if top else set()
        rest = [w for w in plan.words if _stem(w) not in explained and w not in _TYPE_WORDS]
        opened = 0
        tried = 0
        for name in names:
            if tried >= 3 or len(st.reads) >= st.max_open:
                break
            if name.lower() in st.tried:
                continue
            st.tried.add(name.lower())
            tried += 1
            hits = self._search(tools, st, name, named=name)
            if rest and not any(c.named for c in hits):  # no page of that name: name + the rest
                hits += self._search(tools, st, f"{name} {' '.join(rest[:6])}")
            good = [c for c in hits if c.named or c.linked]
            opened += self._open_best(tools, st, 1, good or hits[:1])
        # the other names of those pages, in one search: their pages come up as results the read
        # pages name (linked), and the best fitting one is read
        others = [n for n in names if n.lower() not in st.tried][:8]
        if len(others) >= 2 and len(st.reads) < st.max_open:
            hits = self._search(tools, st, " ".join(others))
            opened += self._open_best(tools, st, 2, [c for c in hits if c.linked])
        return opened > 0

    def _reread(self, tools: ToolBox, st: _Attempt) -> None:
        """Another reading of the question (without the words read pages explain), then lower results."""
        explained: set[str] = set()
        for r in st.top_reads(1):
            explained |= r.stems
        left = [w for w in st.plan.words if _stem(w) not in explained]
        if len(left) >= 2:
            self._open_best(tools, st, 1, self._search(tools, st, " ".join(left)))
        else:
            self._open_best(tools, st, 1)

    # -------------------------------------------------------------------------------------


@dataclass
class _Attempt:
    plan: QuestionPlan
    rng: random.Random
    noise: float
    max_open: int
    cands: dict[str, _Cand] = field(default_factory=dict)
    reads: dict[str, _Read] = field(default_factory=dict)
    queries: set[str] = field(default_factory=set)
    tried: set[str] = field(default_factory=set)
    focus: str | None = None  # chained narration: the page of the last entity resolved
    chain: list[_Read] = field(default_factory=list)  # chained narration: the entities resolved
    detours: dict[int, int] = field(default_factory=dict)  # close call n -> candidate taken there
    close_calls: int = 0
    results: dict[str, list[_Cand]] = field(default_factory=dict)  # query -> its scored results
    call_limit: int | None = None  # chained narration: no search once the tool calls reach this
    chain_open: int = 4  # chained narration: candidates read per description
    turns: int = 80  # tool calls allowed in this attempt

    def ordered(self) -> list[_Read]:
        return list(self.reads.values())

    def top_reads(self, n: int) -> list[_Read]:
        return sorted(self.reads.values(), key=lambda r: -(r.relevance + 0.2 * r.linked))[:n]
