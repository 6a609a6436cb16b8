"""The offline search agent: answers a question from its text alone, with **no LLM** and no
knowledge of how the question was written.

Trajectories are labelled ``policy="search-nonllm"`` (``model`` is None). The policy sees the
question text, the search results and the pages it opens, nothing else. One attempt:

1. **Read the question** (:func:`analyse`). Sentences ending in ``?`` ask; the others (chained
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
4. **Chained narration** instead: each description is resolved in turn among the previous
   entity's neighbours (names on its page, looked up one by one and then a few per search; pages
   naming it), by how well a page fits the description (:class:`_Description`: its kind noun in
   the page's defining words, the title's qualifier, nationality, decade, a stated size, quoted
   words, "the first / last X that ... names") and the connection the description states. The
   answer is read from the last entity's page.
5. **Answer** (:func:`extract_answer`): typed candidate spans from the read pages' sentences
   (inside one sentence: a span never runs into the next one), scored by the sentence's share of
   the question's words, how close the span sits to them and to the words before the wh-phrase,
   the head noun beside it, and the page's relevance; a read page's own title when the page is
   what is asked; spans the question already contains are excluded. Yes/no questions compare the
   two pages; choices compare years or numbers for "first / older / more", or else pick the option
   whose page holds the question's words. The answer's page (a narration: its chain) is cited.

See docs/agent.md for the weights and the measured figures.

Attempt 1 is deterministic; later attempts add seeded noise to the ranking and the answer
scores and may read one more page, so they explore other pages and answers; in a chained
narration they take detours instead (the 2nd or 3rd candidate at a close call, ``_DETOURS``).

Example:
    >>> a = analyse("Which magazine was started first, Arthur's Magazine or First for Women?")
    >>> a.kind, a.options, a.direction
    ('choice', ["Arthur's Magazine", 'First for Women'], 'earlier')
    >>> analyse("The Oberoi family is part of a hotel company that has a head office in what city?").kind
    'place'
"""

from __future__ import annotations

import functools
import math
import random
import re
from dataclasses import dataclass, field
from typing import Any

from longtracerl.agent.base import AttemptEnd
from longtracerl.agent.retrieval import _base_title, _mentions
from longtracerl.agent.tools import ToolBox
from longtracerl.records import Page

__all__ = ["SearchAgentPolicy", "analyse", "extract_answer", "QuestionPlan"]

POLICY_NAME = "search-nonllm"
# chained narration: a hop whose two best read candidates score within CLOSE_CALL is a close call;
# attempt a takes, at the n-th close call of its chain, the candidate _DETOURS[a][n] (0 = best)
CLOSE_CALL = 0.3
CHAIN_BATCH = 4  # chained narration: names of the previous page looked up per search beyond chain_names
_DETOURS: dict[int, dict[int, int]] = {2: {0: 1}, 3: {1: 1}, 4: {0: 2}, 5: {0: 1, 1: 1}}
NAMED_PAGE_PENALTY = 0.25


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOP = _wordset(
    """
    a an the of in on at to for from by with and or but is was were are be been being as that
    this these those it its which who whom whose what when where why how than then there their
    they them he she his her him one some any all each other another into onto over under about
    after before during between through up down out off again once here also not no nor only own
    same so too very can will just should now did does do done has have had having would could
    may might must shall our we you your i me my us both either neither begin start move next
    finally go turn find consider follow named called known first second last well many much
    more most less
    """
)
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][a-z]+)?")
_SENT_SPLIT = re.compile(r"(?<=[.?!])[\"'”’)]?\s+(?=[\"'“‘(]?[A-Z0-9])")
_QUOTED = re.compile(r"[\"“]([^\"”]{2,80})[\"”]")
_CONNECT = r"(?:of|the|de|la|le|von|van|der|and|&|for|du|del|da|on|in|upon|y|a)"
# a capitalised phrase; "." only inside initials/abbreviations, never before a space
_CAP = re.compile(
    rf"(?<![\w'’])(?:[A-Z]\.(?:\s?[A-Z]\.)*|[A-Z][\w'’&-]*|\d+[A-Za-z]*)"
    rf"(?:\s+(?:{_CONNECT}\s+){{0,2}}(?:[A-Z]\.(?:\s?[A-Z]\.)*|[A-Z][\w'’&-]*|\d[\w]*))*"
)
# an answer span: joining words limited to those inside names ("Museum of Fine Arts"), no "in"/"and"
_ANS_CAP = re.compile(
    r"(?<![\w'’])(?:[A-Z]\.(?:\s?[A-Z]\.)*|[A-Z][\w'’&-]*|\d+[A-Za-z]*)"
    r"(?:\s+(?:(?:of|the|de|la|le|von|van|der|du|del|da|y|&)\s+){0,2}(?:[A-Z]\.(?:\s?[A-Z]\.)*|[A-Z][\w'’&-]*))*"
)
_ORG = re.compile(
    r"\b(University|College|School|Records|Company|Corporation|Inc|Ltd|Award|Awards|Museum|Church|"
    r"Party|Club|Band|Association|Society|Institute|Council|League|Group|Airport|Station|Street|Road|"
    r"River|County|City|State|Republic|Kingdom|Empire|Army|Navy|Festival|Series|Show|Album|Film)\b"
)
_PLACEISH = re.compile(
    r"\b(city|town|village|country|state|county|capital|municipality|region|province|suburb|district|"
    r"borough|island|neighbou?rhood|commune|located|situated|area|settlement|hamlet|metropolitan)\b",
    re.I,
)
_REGION = re.compile(r", (?:[A-Z][a-z]+)(?: [A-Z][a-z]+)?(?=[\s.,;)]|$)")
_PERSONISH = re.compile(r"\((?:born|c\.|n[ée]e|\d{1,2} [A-Z][a-z]+ \d{4}|[A-Z][a-z]+ \d{1,2}, \d{4}|\d{4})")
_NAMED_IN = re.compile(
    r"\b(?:named|mentioned|listed|cited) in the (?:description|text|article|page) of th(?:at|is|e)\b", re.I
)
_NAMES_THAT = re.compile(r"\bwhose (?:description|text|article|page) (?:names|mentions|cites)\b", re.I)
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
_DEFINES = re.compile(r"\b(?:is|was|are|were)\s+(.{0,160})")
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
_POSSESSIVE = re.compile(r"['’]s?$")
_ADJ_SUFFIX = re.compile(r"-(?:based|born|winning|nominated|owned|led|era|style|language|speaking)$")
_FIRST_YEAR = re.compile(r"(?<!\d)(1[0-9]{3}|20[0-9]{2})")
_YEAR = re.compile(r"(?<![\d,.])(1[0-9]{3}|20[0-9]{2})(?![\d,]|\.\d)")
_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
_DATE = re.compile(
    rf"\b(?:(?:{_MONTHS})\.? \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}|\d{{1,2}}(?:st|nd|rd|th)? (?:{_MONTHS})\.?,? \d{{4}}|"
    rf"(?:{_MONTHS}) \d{{4}})\b"
)
_NUMBER = re.compile(
    r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w])|(?<![\w.,])\d+(?:\.\d+)?(?![\w,])|"
    r"\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|hundred)\b",
    re.I,
)
_SCALE = re.compile(r"\s(?:million|billion|thousand|trillion)\b", re.I)
_DEMONYM = re.compile(
    r"\b(American|British|English|Scottish|Welsh|Irish|Canadian|Australian|New Zealand|French|German|"
    r"Italian|Spanish|Portuguese|Dutch|Belgian|Swiss|Austrian|Swedish|Norwegian|Danish|Finnish|"
    r"Icelandic|Polish|Czech|Hungarian|Romanian|Bulgarian|Greek|Turkish|Russian|Ukrainian|Serbian|"
    r"Croatian|Mexican|Brazilian|Argentine|Argentinian|Chilean|Colombian|Cuban|Peruvian|Venezuelan|"
    r"Japanese|Chinese|Korean|South Korean|Indian|Pakistani|Filipino|Indonesian|Thai|Vietnamese|"
    r"Israeli|Iranian|Egyptian|Nigerian|South African|Kenyan|Jamaican|Taiwanese|Malaysian|Singaporean)\b"
)
_NOT_ANSWER = _wordset(
    """
    however after during although while since following when despite today currently before as
    the a an it he she they his her its this that these those there in on at of for by and or
    but january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday
    """
)

_LEAD_VERB = re.compile(r"^(?:(?:is|are|was|were|did|does|do|the|a|an)\s+)+", re.I)
_YESNO = re.compile(r"^\s*(?:is|are|was|were|do|does|did|can|could|has|have|had|will|would|should)\b", re.I)
_WH = re.compile(r"\b(what|which|who|whom|whose|when|where|how)\b", re.I)
_EARLIER = re.compile(r"\b(first|older|oldest|earlier|earliest|before|longer ago)\b", re.I)
_LATER = re.compile(r"\b(younger|youngest|later|latest|more recent|most recent|newer|newest|last)\b", re.I)
_MORE = re.compile(
    r"\b(more|most|larger|largest|bigger|biggest|higher|highest|taller|tallest|longer|longest|greater)\b",
    re.I,
)
_LESS = re.compile(r"\b(fewer|less|least|smaller|smallest|lower|lowest|shorter|shortest)\b", re.I)
_TYPE_RULES: list[tuple[str, re.Pattern]] = [
    ("date", re.compile(r"\b(what|which|on what) (date|day)\b|\bdate of\b", re.I)),
    ("year", re.compile(r"\b(what|which|in what|in which) year\b|\byear\b|\bdecade\b", re.I)),
    ("date", re.compile(r"\bwhen\b", re.I)),
    (
        "number",
        re.compile(
            r"\bhow (many|much|tall|long|high|old|large|big|far|deep)\b|\bpopulation\b|\bwhat (number|population|percentage|amount|total|count|capacity|length|height|area|size|age)\b|\bnumber of\b",
            re.I,
        ),
    ),
    ("nationality", re.compile(r"\bnationality\b|\bwhat country (is|was) .* from\b", re.I)),
    (
        "person",
        re.compile(
            r"\bwho(m|se)?\b|\bwhich (person|man|woman|actor|actress|singer|author|writer|director|player|musician|artist|politician|composer|producer)\b",
            re.I,
        ),
    ),
    (
        "place",
        re.compile(
            r"\bwhere\b|\b(what|which) (city|country|state|town|place|county|region|province|village|location|continent|island|district|nation|borough|neighborhood|area)\b",
            re.I,
        ),
    ),
]
_TYPE_WORDS = _wordset(
    """
    year date day month many much number name called city country
    """
)
_TYPE_STEMS = _wordset(
    """
    year date day month number name
    """
)
_PHRASE_END = _wordset(
    """
    is was are were did does do has have had can could will would that which who whose born
    known located founded based released named called directed written starring played featured
    of in for to by from with on at
    """
)


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower().replace("’", "'")) if w not in _STOP and len(w) > 1]


def _stem(w: str) -> str:
    for suf in ("'s", "ies", "es", "s", "ing", "ed"):
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            return w[: -len(suf)]
    return w


@functools.lru_cache(maxsize=50000)
def _stems(text: str) -> frozenset[str]:
    """Stems of a text's content words (cached: pages and sentences recur within and across attempts)."""
    return frozenset(_stem(w) for w in _words(text))


def _base(title: str) -> str:
    """The title without a trailing "(qualifier)"."""
    return _base_title(title) or title


_ABBREV = re.compile(
    r"(?:^|\s)(?:[A-Z]|Mr|Mrs|Ms|Dr|St|Jr|Sr|Mt|Ft|No|vs|Co|Inc|Ltd|Gen|Col|Lt|Sgt|Rev|Prof)\.$"
)


def _sentences(text: str) -> list[str]:
    """Sentences of a text; a full stop after an initial or a short title ("H. L.", "Dr.") ends none."""
    out: list[str] = []
    for piece in _SENT_SPLIT.split(" ".join(text.split())):
        if not piece:
            continue
        if out and _ABBREV.search(out[-1]):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def _names(text: str) -> list[str]:
    """Quoted titles and capitalised phrases of a text, in order (a phrase never crosses a sentence end)."""
    out: list[str] = []
    for sent in _sentences(text):
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
    return list(dict.fromkeys(out))


def _kind_of(description: str) -> tuple[str | None, str | None]:
    """(kind noun stem, nationality) of a description: "Next comes an Australian director born in
    the 1960s" -> ('director', 'Australian')."""
    m = re.search(r"\b(?:an?|the)\s+([^,;]+)", description)
    if m is None:
        return None, None
    phrase: list[str] = []
    for w in m.group(1).split():
        if w.lower() in _PHRASE_END or w.lower() in _KIND_END:
            break
        phrase.append(w)
    nouns = [w for w in phrase if w.islower() and w not in _STOP]
    dem = _DEMONYM.search(" ".join(phrase))
    return (_stem(nouns[-1]) if nouns else None), (dem.group(0) if dem else None)


# ---------------------------------------------------------------------------------- analysis


@dataclass
class QuestionPlan:
    """What the question asks and what it names."""

    text: str
    final: str  # the sentence(s) that ask
    clauses: list[str]  # descriptions of a chained narration (empty for a one-sentence question)
    kind: str  # year date number person place nationality name yesno choice
    head: str | None  # the noun after which/what ("band")
    options: list[str]  # the two options of a choice / the two entities of a yes/no question
    direction: str | None  # earlier later more less (choices)
    names: list[str]  # named parts of the question
    words: list[str]  # content words of the whole question
    left: list[str]  # the (up to 3) words right before the wh-phrase, nearest first
    stems: set[str] = field(default_factory=set)


def analyse(question: str) -> QuestionPlan:
    """Type, head noun, options and named parts of a question (from its text only)."""
    text = " ".join(question.split())
    sents = [s.strip() for s in _sentences(text) if s.strip()]
    finals = [s for s in sents if s.rstrip("\"'”’").endswith("?")]
    clauses = [s.rstrip(". ") for s in sents if s not in finals]
    if not finals or any(len(c.split()) < 4 or not c for c in clauses):
        # one question that happens to hold a full stop or "!" (a title): no chain of descriptions
        finals, clauses = [text], []
    final = " ".join(finals)
    options: list[str] = []
    direction = None
    kind = ""
    m = re.search(r"(?:,|:)\s*([^,?]+?)\s*,?\s+or\s+([^,?]+?)\s*\??$", final)
    if m is None:
        m = re.search(
            r"\b((?:[A-Z0-9][\w'’.&-]*\s*)+)\s+or\s+((?:the\s+)?(?:[A-Z0-9][\w'’.&-]*\s*)+)\??$", final
        )
    if m is None:  # "Is the Marsilea or the Brabejum the genus of ...?"
        cap = r"[\"“]?[A-Z0-9][\w'’.&!-]*(?:\s+(?:of|the|and|de|in|for|a)?\s*[A-Z0-9][\w'’.&!-]*)*[\"”]?"
        m = re.search(rf"(?:\bthe\s+)?({cap})\s+or\s+(?:the\s+)?({cap})", final)
    if m is not None and len(m.group(1)) < 80 and len(m.group(2)) < 80:
        options = [m.group(1).strip(" \"'“”"), m.group(2).strip(" \"'“”?")]
    if _YESNO.match(final) and (not options or re.search(r"\beither\b", final, re.I)):
        kind = "yesno"  # "Are either X or Y from Germany?" asks yes or no
    elif _YESNO.match(final) and options:
        kind = "choice"  # "Is X or Y older?"
    elif options:
        kind = "choice"
    if kind == "choice":
        stem_q = final.split(",")[0] if "," in final else final
        for rx, name in ((_EARLIER, "earlier"), (_LATER, "later"), (_MORE, "more"), (_LESS, "less")):
            if rx.search(stem_q):
                direction = name
                break
    if not kind:
        for k, rx in _TYPE_RULES:
            if rx.search(final):
                kind = k
                break
        else:
            kind = "name"
    head = None
    hm = re.search(r"\b(?:what|which)\s+((?:[\w'’-]+\s*){1,5})", final, re.I)
    if hm is not None:
        phrase: list[str] = []
        for w in hm.group(1).split():
            if w.lower() in _PHRASE_END or (phrase and (w.lower() in _STOP or w.endswith("ed"))):
                break
            phrase.append(w)
        lower = [w for w in phrase if w.islower() and w not in _STOP]
        if lower:
            head = lower[-1]
    names = [m.group(1).strip() for m in _QUOTED.finditer(text)]
    for sent in sents:
        for m2 in _CAP.finditer(sent):
            name = m2.group(0).strip(" '’-&")
            if m2.start() == 0 or sent[: m2.start()].strip() in ('"', "“"):
                # the sentence's first word is capitalised anyway: keep the phrase without it
                # when that word is a function word ("The", "What", "Which", "In")
                first = name.split()[0].lower()
                if first in _STOP or first in _NOT_ANSWER:
                    name = name.split(" ", 1)[1] if " " in name else ""
            parts = (name.split(" and ") if " and " in name else []) + [name]
            names += [n for n in parts if len(n) > 1 and n.lower() not in _STOP and not _DEMONYM.fullmatch(n)]
    options = [_LEAD_VERB.sub("", o) for o in options]
    if kind == "yesno" and not options:
        both = re.search(
            r"\b(?:both\s+)?(.+?)\s+and\s+(.+?)\s+(?:both|of|from|the|in|American|[a-z]+)\b", final
        )
        caps = [n for n in names if " and " not in n]
        if len(caps) >= 2:
            options = caps[:2]
        elif both is not None:
            options = [both.group(1), both.group(2)]
    names = list(dict.fromkeys(options + names))
    words = _words(text)
    wm = _WH.search(final)
    left = [w.lower() for w in _WORD.findall(final[: wm.start()])][::-1][:3] if wm else []
    return QuestionPlan(
        text=text,
        final=final,
        clauses=clauses,
        kind=kind,
        head=head,
        options=options,
        direction=direction,
        names=names,
        words=words,
        left=left,
        stems={_stem(w) for w in words},
    )


# ---------------------------------------------------------------------------------- answers


def _typed_spans(sent: str, kind: str) -> list[tuple[str, int]]:
    """(span, start offset) of the answer type in one sentence."""
    if kind == "year":
        return [(m.group(1), m.start()) for m in _YEAR.finditer(sent)]
    if kind == "date":
        found = [(m.group(0), m.start()) for m in _DATE.finditer(sent)]
        return found or [(m.group(1), m.start()) for m in _YEAR.finditer(sent)]
    if kind == "number":  # with its scale word: "265 million"
        return [
            (m.group(0) + (sc.group(0) if (sc := _SCALE.match(sent, m.end())) else ""), m.start())
            for m in _NUMBER.finditer(sent)
            if not _YEAR.fullmatch(m.group(0))
        ]
    if kind == "nationality":
        return [(m.group(0), m.start()) for m in _DEMONYM.finditer(sent)]
    out = []
    if kind != "person":
        out += [(m.group(1).strip(), m.start(1)) for m in _QUOTED.finditer(sent)]
    for m in _ANS_CAP.finditer(sent):
        span = _POSSESSIVE.sub("", m.group(0).strip(" '’-&,"))
        start = m.start()
        if _ADJ_SUFFIX.search(span):
            continue  # "Wisconsin-based", "Oscar-winning": a modifier, not a name
        low = span.split()[0].lower() if span else ""
        if low in _NOT_ANSWER and low != "the" and " " in span:
            cut = span.index(" ") + 1
            span, start = span[cut:], start + cut
        if not span or span.lower() in _NOT_ANSWER or span.isdigit() or _YEAR.fullmatch(span):
            continue
        if _DEMONYM.fullmatch(span):
            continue
        if kind == "person" and (any(ch.isdigit() for ch in span) or low == "the" or _ORG.search(span)):
            continue
        out.append((span, start))
    return out


@dataclass
class _Read:
    """A page the agent has read, with what it thinks of it."""

    page: Page
    sents: list[str]
    stems: set[str]
    relevance: float = 0.0  # share of the question's words in the page
    linked: bool = False  # another relevant read page names this page's title
    named: bool = False  # its title is a name the question gives
    order: int = 0


def extract_answer(
    plan: QuestionPlan,
    reads: list[_Read],
    rng: random.Random | None = None,
    noise: float = 0.0,
    debug: dict | None = None,
    focus: str | None = None,
) -> tuple[str | None, list[_Read]]:
    """The answer and the pages it rests on (best first), from the pages read."""
    if not reads:
        return None, []
    if plan.kind in ("yesno", "choice") and len(plan.options) == 2:
        pages = [_page_for(opt, reads) for opt in plan.options]
        if all(p is not None for p in pages):
            return _compare(plan, pages), [p for p in pages if p is not None]  # type: ignore[arg-type]
        if plan.kind == "yesno":
            return "yes", [p for p in pages if p is not None]
    kind = plan.kind if plan.kind not in ("yesno", "choice") else "name"
    if kind == "name" and plan.head in _CLASS_HEADS:
        found = _class_answer(plan, reads)
        if found is not None:
            return found
    q_norm = " " + " ".join(_WORD.findall(plan.text.lower())) + " "
    q_stems = plan.stems
    # the asked sentence counts twice: the descriptions before it name other entities of a chain;
    # the words of the entities the question names count less: the answer sits on a page about
    # the entity they lead to, which names them at most in passing
    asked = _stems(plan.final) - _TYPE_STEMS
    named = _stems(" ".join(plan.names))
    weights = {x: (2.0 if x in asked else 1.0) * (0.4 if x in named else 1.0) for x in q_stems}
    total = sum(weights.values()) or 1.0
    scores: dict[str, float] = {}
    support: dict[str, _Read] = {}
    head = plan.head
    left = plan.left
    title_base = 0.7
    for r in reads:
        own = _base(r.page.title).lower()
        page_bonus = 0.6 * r.relevance + 0.15 * r.linked + 0.5 * (r.page.id == focus)
        if r.named and not plan.clauses:
            page_bonus -= NAMED_PAGE_PENALTY  # the entity the question names leads to the answer's page
        for si, sent in enumerate(r.sents):
            toks = _WORD.findall(sent)
            sent_stems = [_stem(t.lower()) for t in toks]
            hit_pos = [i for i, s in enumerate(sent_stems) if s in asked] or [
                i for i, s in enumerate(sent_stems) if s in q_stems
            ]
            share = sum(weights[x] for x in set(sent_stems) & q_stems) / total
            for span, start in _typed_spans(sent, kind):
                key = " ".join(_WORD.findall(span.lower()))
                if not key or f" {key} " in q_norm or key in _NOT_ANSWER:
                    continue
                if kind in ("person", "place", "name") and key == " ".join(_WORD.findall(own)):
                    continue  # a page's own name is not its attribute
                before = [w.lower() for w in _WORD.findall(sent[:start])]
                tpos = len(before)
                dist = min((abs(tpos - h) for h in hit_pos), default=30)
                s = 1.5 * share + 0.4 / (1 + dist / 3) + page_bonus + 0.04 / (1 + si)
                # the question's words right before its wh-phrase, right before the span
                # ("head office in [what city]" ~ "head office in [Delhi]")
                lead = 0
                while lead < len(left) and lead < len(before) and before[-1 - lead] == left[lead]:
                    lead += 1
                s += 0.15 * lead
                if kind == "person" and before[-1:] == ["by"]:
                    s += 0.15
                if kind == "person" and 2 <= len(span.split()) <= 4:
                    s += 0.1
                if kind == "place":  # "in Golden Valley, Minnesota": a place word before, a region after
                    s += 0.2 * (before[-1:] in (["in"], ["at"], ["from"], ["near"]))
                    region = _REGION.match(sent, start + len(span))
                    if region is not None:
                        span = span + region.group(0)
                        s += 0.1
                if head and head in sent.lower()[max(0, start - 40) : start + len(span) + 40]:
                    s += 0.2
                    if re.search(rf"\b{re.escape(head)}", span.lower()):
                        s += 0.2  # "which university" ~ "the University of Oxford"
                if noise and rng is not None:
                    s += rng.gauss(0.0, noise)
                if s > scores.get(span, -math.inf):
                    scores[span] = s
                    support[span] = r
        if kind in ("person", "name", "place") and r.sents and f" {own} " not in q_norm:
            # the page itself may be what is asked: "Which band ..." and the page is a band, "Who
            # was hung for ..." and the page is a person the question describes
            first = r.sents[0]
            s = title_base + 1.5 * r.relevance + 0.2 * r.linked
            if head and re.search(rf"\b{re.escape(head)}s?\b", first.lower()):
                s += 0.3
            if kind == "person":
                s += 0.3 if _PERSONISH.search(first[:200]) else -0.5
            if kind == "place":
                s += 0.3 if _PLACEISH.search(first[:200]) else -0.5
            if noise and rng is not None:
                s += rng.gauss(0.0, noise)
            title = _base(r.page.title)
            if s > scores.get(title, -math.inf):
                scores[title] = s
                support[title] = r
    if debug is not None:
        debug.update({k: (round(v, 3), support[k].page.title) for k, v in scores.items()})
    if not scores:
        return None, sorted(reads, key=lambda r: -r.relevance)[:2]
    best = max(scores, key=lambda k: scores[k])
    titles = {_base(r.page.title) for r in reads}
    for other, sc in scores.items():
        # "GE" or "GE Appliances": the longer name when it is a read page's title and scores close
        if other != best and other in titles and f" {best} " in f" {other} " and sc >= scores[best] - 0.25:
            best = other
            break
    rest = sorted((r for r in reads if r is not support[best]), key=lambda r: -(r.relevance + 0.3 * r.linked))
    return best, [support[best]] + rest[:1]


_CLASS_HEADS = _wordset(
    """
    type kind occupation occupations profession professions job jobs sport genre form sort category
    position instrument religion field
    """
)
_CLASS_STOP = _wordset("that which who whose from of in on by with for and or but known best based located")


def _class_answer(plan: QuestionPlan, reads: list[_Read]) -> tuple[str, list[_Read]] | None:
    """Questions like "what type / occupation / sport ...?": a lowercase class noun from the read
    pages' defining words ("X is an English *cinematographer* ..."); a noun several relevant pages
    share scores most ("What occupation do A and B share?")."""
    scores: dict[str, float] = {}  # by the class's last word ("director")
    spans: dict[str, tuple[float, str, _Read]] = {}  # its best wording and page
    q_words = set(_WORD.findall(plan.text.lower()))
    for r in reads:
        m = _DEFINES.search(r.sents[0] if r.sents else "")
        if m is None:
            continue
        parts: list[list[str]] = [[]]
        for w in re.findall(r"[\w'’-]+|,", m.group(1)):
            if w in (",", "and", "or"):  # "an English cinematographer and director"
                parts.append([])
            elif w.lower() in _CLASS_STOP or not w.islower() and parts[-1]:
                break
            elif w.islower() and w not in _STOP and not w.isdigit():
                parts[-1].append(w)
        for order, part in enumerate(p for p in parts if p):
            noun = part[-1]
            if noun in q_words:
                continue
            gain = 0.5 + r.relevance - 0.05 * order
            scores[noun] = scores.get(noun, 0.0) + gain
            if gain > spans.get(noun, (-1.0, "", r))[0]:
                spans[noun] = (gain, " ".join(part[-3:]), r)
    if not scores:
        return None
    best = max(scores, key=lambda k: scores[k])
    return spans[best][1], [spans[best][2]]


def _page_for(option: str, reads: list[_Read]) -> _Read | None:
    key = option.lower().strip()
    best, best_s = None, 0.0
    for r in reads:
        t = _base(r.page.title).lower()
        if t == key:
            return r
        ow, tw = set(_words(key)), set(_words(t))
        s = len(ow & tw) / (len(ow | tw) or 1)
        if s > best_s:
            best, best_s = r, s
    return best if best_s >= 0.5 else None


def _first_year(r: _Read) -> int | None:
    for sent in r.sents[:3]:
        m = _FIRST_YEAR.search(sent)
        if m:
            return int(m.group(1))
    return None


def _first_number(r: _Read) -> float | None:
    for sent in r.sents:
        for m in _NUMBER.finditer(sent):
            tok = m.group(0).replace(",", "")
            if _YEAR.fullmatch(tok):
                continue
            try:
                return float(tok)
            except ValueError:
                continue
    return None


def _compare(plan: QuestionPlan, pages: list[_Read]) -> str:
    a, b = pages
    if plan.kind == "yesno":
        if re.search(r"\bsame (nationality|country)\b|\bboth from\b", plan.final, re.I):
            na = _DEMONYM.findall(" ".join(a.sents[:2]))
            nb = _DEMONYM.findall(" ".join(b.sents[:2]))
            return "no" if na and nb and na[0] != nb[0] else "yes"
        if re.search(r"\bboth\b", plan.final, re.I):
            # "Are X and Y both musicians?": the pages word their kinds in many ways; a "no" needs
            # a clear sign (two different nationalities asked about), else yes
            dem = _DEMONYM.search(plan.final)
            if dem:
                na = dem.group(0) in " ".join(a.sents[:2])
                nb = dem.group(0) in " ".join(b.sents[:2])
                return "yes" if na and nb else "no"
            return "yes"
        opt_stems = _stems(" ".join(plan.options))
        attrs = {s for s in _stems(plan.final) if s not in opt_stems}
        if not attrs:
            return "yes"
        fa = _stems(" ".join(a.sents[:2]))
        fb = _stems(" ".join(b.sents[:2]))
        share = min(len(attrs & fa), len(attrs & fb)) / len(attrs)
        return "yes" if share >= 0.5 else "no"
    if plan.direction in ("earlier", "later"):
        ya, yb = _first_year(a), _first_year(b)
        if ya is not None and yb is not None and ya != yb:
            first = a if ya < yb else b
            pick = first if plan.direction == "earlier" else (b if first is a else a)
            return plan.options[0] if pick is a else plan.options[1]
    if plan.direction in ("more", "less"):
        na, nb = _first_number(a), _first_number(b)
        if na is not None and nb is not None and na != nb:
            big = a if na > nb else b
            pick = big if plan.direction == "more" else (b if big is a else a)
            return plan.options[0] if pick is a else plan.options[1]
    # no order to compare: the option whose page holds the question's other words
    opt_stems = _stems(" ".join(plan.options))
    attrs = {s for s in plan.stems if s not in opt_stems}
    sa = len(attrs & _stems(" ".join(a.sents[:3])))
    sb = len(attrs & _stems(" ".join(b.sents[:3])))
    return plan.options[0] if sa >= sb else plan.options[1]


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
        self.kind, self.demonym = _kind_of(clause)
        # words the description quotes from the page: the surest sign of it
        self.quoted = {w.lower() for m in _QUOTED.finditer(clause) for w in _WORD.findall(m.group(1))}
        # "named in the description of that film": the previous page names it; "whose description
        # names that band": it names the previous one; otherwise either way
        self.way = "fwd" if _NAMED_IN.search(clause) else "back" if _NAMES_THAT.search(clause) else None
        om = _ORDINAL.search(clause)
        self.ordinal = om.group(1).lower() if om else None  # "the first/last X that ... names"
        if om:
            self.way = "fwd"
        pm = _PEOPLE.search(clause)
        self.people = _PEOPLE_RANGE[pm.group(1).lower()] if pm else None

    def defines(self, text: str) -> bool:
        """The kind noun stands in the page's defining words ("X is an American *director* ...")."""
        if not self.kind:
            return True
        m = _DEFINES.search(text[:300])
        words = _DEFINE_END.split(m.group(1) if m else text[:150], maxsplit=1)[0]
        return self.kind in _stems(words)

    def fit(self, text: str) -> float:
        """How well a page's (or a result's shown) text fits the description."""
        s = len(_stems(text[:400]) & self.stems) / (len(self.stems) or 1)
        if self.kind:  # what the entity is: its page's defining words say so, else its first words
            s += 0.6 if self.defines(text) else 0.2 if self.kind in _stems(text[:250]) else -0.2
        if self.demonym:
            s += 0.3 if self.demonym.lower() in text[:250].lower() else -0.1
        if self.quoted:
            s += 0.8 * len(self.quoted & {w.lower() for w in _WORD.findall(text)}) / len(self.quoted)
        if self.decades:
            years = _FIRST_YEAR.findall(text[:400])
            if any(y[:3] == d for y in years for d in self.decades):
                s += 0.5
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

    def relation(self, prev: _Read | None, title: str, text: str) -> float:
        """The connection to the previous entity's page, in the direction the description states."""
        if prev is None:
            return 0.0
        fwd = _mentions(prev.page.text, _base(title))
        back = _mentions(text, _base(prev.page.title))
        if self.way == "fwd":
            return 0.8 if fwd else -0.6
        if self.way == "back":
            return 0.8 if back else (-0.2 if fwd else -0.6)
        return 0.8 if fwd or back else -0.6


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
    def _ok(self, tools: ToolBox, reserve: int = 2) -> bool:
        return tools.n_calls + reserve < self.cfg.max_turns

    def _search(self, tools: ToolBox, st: _Attempt, query: str, *, named: str | None = None) -> list[_Cand]:
        query = " ".join(query.split())
        if not query or query.lower() in st.queries or not self._ok(tools, 3):
            return []
        st.queries.add(query.lower())
        res = tools.search(query)
        if not res.ok or not res.hits:
            return []
        top = max(h.score for h in res.hits) or 1.0
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
            bare = (
                named.lower().removeprefix("the ") if named is not None else None
            )  # "The Minnesota Vikings"
            if named is not None and (
                base == named.lower() or base.split(",")[0] == named.lower() or base == bare
            ):
                c.named = True
                c.exact = c.exact or h.title.lower() == named.lower()
            c.linked = c.linked or any(_mentions(r.page.text, _base(c.title)) for r in st.top_reads(2))
            c.text = h.title + " " + h.snippet
            c.near = c.near or any(
                _mentions(c.text, _base(r.page.title)) for r in st.reads.values() if r.named
            )
            out.append(c)
        return out

    def _open(self, tools: ToolBox, st: _Attempt, c: _Cand, *, limit: bool = True) -> _Read | None:
        if c.page_id in st.reads or (limit and len(st.reads) >= st.max_open) or not self._ok(tools, 3):
            return None
        res = tools.open(c.page_id)
        if not res.ok or res.page is None:
            return None
        page = res.page
        r = _Read(page, _sentences(page.text), _stems(page.title + " " + page.text), order=len(st.reads))
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

        # 1) the question and its parts
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
            if rnd and self._covered(st) or len(st.reads) >= st.max_open or not self._ok(tools, 4):
                break
            if not self._bridge(tools, st):
                self._reread(tools, st)
        # a last look: the best unread results (first those a read page names or that name one)
        if len(st.reads) < st.max_open and self._ok(tools, 4):
            self._open_best(tools, st, 1, [c for c in st.cands.values() if c.linked or c.near])
        if len(st.reads) < st.max_open and self._ok(tools, 4):
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
        for clause in st.plan.clauses:
            d = _Description(clause)
            pool: list[_Cand] = []
            if prev is None:
                pool += self._search(tools, st, d.query)
            else:
                anchor = _base(prev.page.title)
                pool += self._search(tools, st, f"{anchor} {d.query}")
                pool += self._search(tools, st, anchor, named=anchor)  # pages that name it
                done = {_base(r.page.title).lower() for r in st.chain}
                names = self._forward_names(prev, d.stems, done)
                for name in names[: self.cfg.chain_names]:
                    pool += [c for c in self._search(tools, st, name, named=name) if c.named]
                # the page's other names, a few per search: results titled by one of them join
                rest = names[self.cfg.chain_names : self.cfg.chain_names + 8 * CHAIN_BATCH]
                for i in range(0, len(rest), CHAIN_BATCH):
                    batch = rest[i : i + CHAIN_BATCH]
                    wanted = {n.lower().removeprefix("the ") for n in batch} | {n.lower() for n in batch}
                    pool += [
                        c
                        for c in self._search(tools, st, " ".join(batch))
                        if _base(c.title).lower() in wanted or _base(c.title).split(",")[0].lower() in wanted
                    ]
            chosen = {r.page.id for r in st.chain}
            uniq = {c.page_id: c for c in pool if c.page_id not in chosen}
            # no noise here: a chain's later attempts take detours (below) instead
            shown = {
                c.page_id: d.fit(c.text) + d.relation(prev, c.title, c.text) + 0.3 * c.search
                for c in uniq.values()
            }
            unread = sorted(
                (c for c in uniq.values() if c.page_id not in st.reads), key=lambda c: -shown[c.page_id]
            )
            for c in unread[: self.cfg.chain_open]:
                self._open(tools, st, c, limit=False)
            scored: dict[str, float] = {}
            for c in uniq.values():
                r = st.reads.get(c.page_id)
                if r is not None:
                    scored[c.page_id] = (
                        d.fit(r.page.text)
                        + d.relation(prev, c.title, r.page.text)
                        + d.title_fit(c.title, r.page.text)
                        + 0.2 * c.search
                    )
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

    def ordered(self) -> list[_Read]:
        return list(self.reads.values())

    def top_reads(self, n: int) -> list[_Read]:
        return sorted(self.reads.values(), key=lambda r: -(r.relevance + 0.2 * r.linked))[:n]
