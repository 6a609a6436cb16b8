"""Question analysis and answer extraction of the offline search agent (``search-nonllm``).

:func:`analyse` reads a question from its text alone: the sentences that ask and the descriptions
of a chained narration; the wh-word that asks (not a relative "an author *who* served ...": the
first one at the start, after a word that leads into it, "of *where*?", or any "what / how") and
the noun after it give the answer type (year, date, number, person, place, nationality, name) and
a head noun ("which *band*"; a person noun, "which *drummer*", asks a person); yes/no questions,
choices between two named options ("..., A or B?") and their direction ("first", "more"), and the
question's named parts.

:func:`extract_answer` picks the answer from the pages the agent read. Each read page has a role
in the question's chain (:func:`_roles`): *anchor* (the question names its title), *fwd* (an
anchor's text names it: the bridge), *back* (it names an anchor), *other* (shares words only).
Candidates are typed spans of the read pages' sentences (a span never runs into the next
sentence; a number keeps its unit, "34 days"; two people joined by "and" are one answer too) and a
read page's own title when the page is what is asked (a person's full name from its first
sentence). A span scores by the sentence's share of the question's words, how close it sits to
them and to the words before the wh-phrase, the head noun beside it, the page's relevance and
role, the kind of the read page it names, the asked end of a "(1909-1994)" life span, the counted
noun of "how many X". Class questions ("what occupation", "have in common", "What is X?") take a
noun of the pages' defining words. Yes/no questions and choices compare the two options' pages
(same / different country or family, "both X", "prior to", first years, death years, the numbers
beside the compared noun, a country asked about).

The search policy that reads the pages lives in :mod:`longtracerl.agent.search_agent`; see
docs/agent.md for the weights and the measured figures.
"""

from __future__ import annotations

import functools
import math
import random
import re
from dataclasses import dataclass, field

from longtracerl.agent.retrieval import _QUOTED, _base_title, _mentions
from longtracerl.records import Page
from longtracerl.textfacts import (
    DATE,
    NUMBER_DIGITS,
    NUMBER_WORDS,
    QUESTION_STOPWORDS,
    TITLE_ABBREVIATIONS,
    YEAR_DIGITS,
    split_sentences,
)
from longtracerl.textfacts import wordset as _wordset

__all__ = ["QuestionPlan", "analyse", "extract_answer"]

NAMED_PAGE_PENALTY = 0.25
# a read page's place in the question's chain (:func:`_roles`): added to its spans' scores and, as
# ROLE_TITLE, to its own title as a candidate (the bridge page is most often the answer's page)
ROLE_BONUS = {"anchor": 0.0, "fwd": 0.3, "back": 0.0, "other": -0.3}
ROLE_TITLE = {"anchor": 0.0, "fwd": 0.3, "back": 0.0, "other": -0.3}
TITLE_HEAD = (0.3, -0.3)  # a page's own title as the answer: its first sentence holds the head noun / not
# candidate span: the sentence's share of the question's words, nearness to them, the question's
# words right before the wh-phrase standing right before the span, the page's relevance
W_SHARE, W_NEAR, W_LEAD, W_REL = 1.5, 0.4, 0.15, 0.6
W_TITLE = 0.7  # a read page's own title as the answer
W_LIFE = 0.5  # year / date of a birth or a death: the asked end of a "(1909–1994)" life span
W_UNIT = 0.5  # "how many employees": a number followed by that noun
# "Where / When ... <verb>?": the verb among the three words before the span; else a word of the
# three before the wh-phrase ("completed in [what year]") among the six before the span
W_TAIL = 0.3
W_ORG = 0.3  # a place asked: a span naming an organisation ("... Company", "... School")
W_ATTR = 0.15  # a page's own title as the answer when the question asks an attribute (_ASKS_ATTR)
W_FIT = 0.5  # a span that is a read page's title: that page is of the asked kind (+) or not (-)
YESNO_SHARE = 0.5  # "Are A and B both X?": the least share of X's words in A's / B's first sentences


_STOP = QUESTION_STOPWORDS
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][a-z]+)?")
_CONNECT = r"(?:of|the|de|la|le|von|van|der|and|&|for|du|del|da|on|in|upon|y|a)"
# a capitalised phrase; "." only inside initials/abbreviations, never before a space
_CAP = re.compile(
    rf"(?<![\w'’])(?:[A-Z]\.(?:\s?[A-Z]\.)*|[A-Z][\w'’&-]*|\d+[A-Za-z]*)"
    rf"(?:\s+(?:{_CONNECT}\s+){{0,2}}(?:[A-Z]\.(?:\s?[A-Z]\.)*|[A-Z][\w'’&-]*|\d[\w]*))*"
)
# an answer span: joining words limited to those inside names ("Museum of Fine Arts"), no "in"/"and"
_TITLE_ABBREV = rf"(?:{'|'.join(TITLE_ABBREVIATIONS)})\.\s?(?=[A-Z])"
_ANS_CAP = re.compile(  # a capitalised phrase of a sentence; "Dr. Dre", "St. Louis", "D. W. Griffith" are one
    rf"(?<![\w'’])(?:{_TITLE_ABBREV})?(?:[A-Z]\.(?:\s?[A-Z]\.)*|[A-Z][\w'’&-]*|\d+[A-Za-z]*)"
    rf"(?:\s+(?:(?:of|the|de|la|le|von|van|der|du|del|da|y|&)\s+){{0,2}}(?:{_TITLE_ABBREV})?(?:[A-Z]\.(?:\s?[A-Z]\.)*|[A-Z][\w'’&-]*))*"
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
_DEFINES = re.compile(r"\b(?:is|was|are|were)\s+(.{0,160})")
_POSSESSIVE = re.compile(r"['’]s?$")
_ADJ_SUFFIX = re.compile(r"-(?:based|born|winning|nominated|owned|led|era|style|language|speaking)$")
_FIRST_YEAR = re.compile(rf"(?<!\d)({YEAR_DIGITS})")
_YEAR = re.compile(rf"(?<![\d,.])({YEAR_DIGITS})(?!\d|,\d|\.\d)")  # "in 2004, it": a year
_NUMBER = re.compile(f"{NUMBER_DIGITS}|{NUMBER_WORDS}", re.I)
_UNIT = re.compile(r"[\s-]([a-z]{2,})\b")  # "34 days", "150 mi", "99-acre"
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
_LATER = re.compile(
    r"\b(younger|youngest|later|latest|more recent(?:ly)?|most recent(?:ly)?|newer|newest|last)\b", re.I
)
_MORE = re.compile(
    r"\b(more|most|larger|largest|bigger|biggest|higher|highest|taller|tallest|longer|longest|greater)\b",
    re.I,
)
_LESS = re.compile(r"\b(fewer|less|least|smaller|smallest|lower|lowest|shorter|shortest)\b", re.I)
_TYPE_RULES: list[tuple[str, re.Pattern]] = [
    ("date", re.compile(r"\b(what|which|on what) (date|day)\b|\bdate of\b|\bbirthday\b", re.I)),
    ("year", re.compile(r"\b(what|which|in what|in which) year\b|\byear\b|\bdecade\b", re.I)),
    ("date", re.compile(r"^when\b", re.I)),
    (
        "number",
        re.compile(
            r"\bhow (many|much|tall|long|high|old|large|big|far|deep)\b|\bpopulation\b|\bwhat (number|population|percentage|amount|total|count|capacity|length|height|area|size|age)\b|\bnumber of\b|^what (?:is|was) the (?:\w+ )?(?:seating )?(?:capacity|population|length|height|area|elevation|attendance|net worth)\b",
            re.I,
        ),
    ),
    ("nationality", re.compile(r"\bnationality\b|\bwhat country (is|was) .* from\b", re.I)),
    (
        "person",
        re.compile(
            r"^who(m|se)?\b|^(which|what) (person|man|woman|actor|actress|singer|author|writer|director|player|musician|artist|politician|composer|producer)\b",
            re.I,
        ),
    ),
    (
        "place",
        re.compile(
            r"^where\b|^(what|which) (city|country|state|town|place|county|region|province|village|location|continent|island|district|nation|borough|neighborhood|area)\b",
            re.I,
        ),
    ),
]
_PERSON_HEADS = _wordset(
    """
    person man woman actor actress singer rapper author writer novelist poet playwright director
    player footballer cricketer musician guitarist drummer bassist vocalist artist painter sculptor
    politician composer producer host presenter comedian journalist emperor king queen president
    coach scientist mathematician physicist chemist philosopher architect founder wrestler boxer
    businessman entrepreneur screenwriter filmmaker broadcaster dancer astronaut pianist
    """
)
# words before a wh-word that ask with it ("born in [what city]", "as [what]"); after a noun or a
# comma "who / which / where" starts a relative clause ("an author who served ...")
_ASK_LEAD = _wordset(
    """
    in on at of for from by with to as into during after before since under about between among
    within through than and or but is was are were did does do
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
_NOT_UNIT = _STOP | _PHRASE_END  # "34 *days*" but not "34 *in*"


def _asked_wh(final: str) -> re.Match | None:
    """The wh-word that asks: the first one at the start, after a word that leads into it ("of
    where?", "and as what?") or "what / how" anywhere; not a relative "who / which / where" after
    a noun or a comma. "When X was drafted, what was ...?": the later one asks."""
    found = None
    for m in _WH.finditer(final):
        head = final[: m.start()].rstrip()
        before = _WORD.findall(head)
        if m.group(1).lower() not in ("what", "how") and (
            head.endswith(",") or (before and before[-1].lower() not in _ASK_LEAD)
        ):
            continue  # a relative clause: "an author who served ...", "the town in which ..."
        if found is None:
            found = m
        elif found.start() == 0 and found.group(1).lower() in ("when", "where") and "," in head:
            return m
    return found


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
    sents = split_sentences(text)
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
        stem_q = final
        for o in options:  # the options' own words ("First for Women") give no direction
            stem_q = stem_q.replace(o, " ")
        for rx, name in ((_EARLIER, "earlier"), (_LATER, "later"), (_MORE, "more"), (_LESS, "less")):
            if rx.search(stem_q):
                direction = name
                break
    wm = _asked_wh(final)
    ask = final[wm.start() :] if wm else final  # the asked phrase: "which city ...?"
    if not kind:
        for k, rx in _TYPE_RULES:
            if rx.search(ask):
                kind = k
                break
        else:
            kind = "name"
    head = None
    hm = re.search(r"\b(?:what|which)\s+((?:[\w'’-]+\s*){1,5})", ask, re.I)
    if hm is not None:
        phrase: list[str] = []
        for w in hm.group(1).split():
            if w.lower() in _PHRASE_END or (phrase and (w.lower() in _STOP or w.endswith("ed"))):
                break
            phrase.append(w)
        lower = [w for w in phrase if w.islower() and w not in _STOP]
        if lower:
            head = lower[-1]
    if kind == "name" and head in _PERSON_HEADS:
        kind = "person"  # "which American *drummer* ...?"
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
    # "the duo Big & Rich" -> "Big & Rich": the lowercase words before a name describe it
    options = [re.sub(r"^(?:[a-z][\w-]*\s+)+(?=[A-Z0-9\"“])", "", _LEAD_VERB.sub("", o)) for o in options]
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
        found = [(m.group(0), m.start()) for m in DATE.finditer(sent)]
        return found or [(m.group(1), m.start()) for m in _YEAR.finditer(sent)]
    if kind == "number":  # with its scale word and its unit: "265 million", "34 days", "99-acre"
        out_n = []
        for m in _NUMBER.finditer(sent):
            if _YEAR.fullmatch(m.group(0)):
                continue
            end = m.end()
            if sc := _SCALE.match(sent, end):
                end = sc.end()
            if (unit := _UNIT.match(sent, end)) and unit.group(1).lower() not in _NOT_UNIT:
                end = unit.end()
            out_n.append((sent[m.start() : end], m.start()))
        return out_n
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
    if kind == "person":  # "produced by Kristina Ceyton and Kristian Moliere": the two together too
        out += [
            (f"{a} and {b}", sa)
            for (a, sa), (b, sb) in zip(out, out[1:], strict=False)
            if sent[sa + len(a) : sb] == " and " and " " in a and " " in b
        ]
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


def _roles(plan: QuestionPlan, reads: list[_Read]) -> dict[str, str]:
    """Each read page's place in the question's chain: ``anchor`` (a page the question names by its
    title), ``fwd`` (a page an anchor's text names: the bridge of a multi-hop question), ``back`` (a
    page whose text names an anchor), ``other`` (a page that only shares words)."""
    q = plan.text.lower()
    anchors = [r for r in reads if r.named or (len(t := _base(r.page.title)) >= 3 and t.lower() in q)]
    out: dict[str, str] = {}
    for r in reads:
        base = _base(r.page.title)
        if r in anchors:
            out[r.page.id] = "anchor"
        elif any(_mentions(a.page.text, base) for a in anchors):
            out[r.page.id] = "fwd"
        elif any(_mentions(r.page.text, _base(a.page.title)) for a in anchors):
            out[r.page.id] = "back"
        else:
            out[r.page.id] = "other"
    return out


# "What team does the son play for?", "What is the name of ...?": the answer is something the page
# of the entity the question describes says, less often that page itself
_ASKS_ATTR = re.compile(
    r"^(?:in |on |at |for |from |by |to |of |with |during )?(?:what|which) (?:[\w'’-]+ ){0,3}?"
    r"(?:did|does|do|is|was|are|were|has|have|had) \w|^who (?:is|was|are|were) the (?:\w+ ){1,2}of\b",
    re.I,
)
_FULL_NAME = re.compile(r"([^()]{3,80}?)\s*(?:\(| is | was | are | were )")
_BORN = re.compile(r"\b(?:born|birth)\b", re.I)
_DIED = re.compile(r"\b(?:die|died|death|dead)\b", re.I)
_LIFE = re.compile(r"\([^()]*?\d{4}\s*[–-]\s*[^()]*?\d{4}[^()]*\)")


def _life_side(sent: str, start: int, life: str) -> float:
    """+1 when a span is the asked end of a life span in brackets (the birth before the dash, the
    death after it) or follows "born" / "died" closely, -1 when it is the other end of a life span."""
    for m in _LIFE.finditer(sent):
        if m.start() <= start < m.end():
            dash = re.search(r"\d{4}\s*[–-]", sent[m.start() : m.end()])
            before_dash = dash is not None and start < m.start() + dash.end()
            return 1.0 if before_dash == (life == "born") else -1.0
    near = sent[max(0, start - 25) : start].lower()  # "(born February 15, 1954)", "died in 1827"
    return 1.0 if ("born" if life == "born" else "died") in near else 0.0


def _kind_fit(kind: str, head: str | None, r: _Read) -> float:
    """+1 when a read page is of the asked kind (its first sentence holds the head noun, reads as a
    person's or a place's), -1 when it is not, 0 when the question gives no kind to check."""
    first = r.sents[0][:200] if r.sents else ""
    if head:
        return 1.0 if re.search(rf"\b{re.escape(head)}", first, re.I) else -1.0
    if kind == "person":
        return 1.0 if _PERSONISH.search(first) else -1.0
    if kind == "place":
        return 1.0 if _PLACEISH.search(first) else -1.0
    return 0.0


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
        found = [(o, p) for o, p in zip(plan.options, pages, strict=True) if p is not None]
        if len(found) == 1:  # one option's page read: it, when it holds the question's other words
            (opt, page), other = found[0], next(o for o in plan.options if o != found[0][0])
            attrs = plan.stems - _stems(" ".join(plan.options))
            share = len(attrs & _stems(" ".join(page.sents[:3]))) / (len(attrs) or 1)
            return (opt if share >= 0.5 else other), [page]
    kind = plan.kind if plan.kind not in ("yesno", "choice") else "name"
    roles = _roles(plan, reads)
    if kind == "name" and (plan.head in _CLASS_HEADS or _ASKS_CLASS.search(plan.final)):
        found = _class_answer(plan, reads, roles)
        if found is not None:
            return found
    # the question's words, "Kent's" as "Kent": a name the question gives is not the answer
    q_norm = " " + " ".join(_POSSESSIVE.sub("", w) for w in _WORD.findall(plan.text.lower())) + " "
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
    # "Where is X raised?", "When was X released?": the question's last word stands before the answer
    tail_words = _words(plan.final)
    tail = (
        _stem(tail_words[-1]) if tail_words and re.match(r"\s*(?:where|when)\b", plan.final, re.I) else None
    )
    attr = _ASKS_ATTR.search(plan.final) is not None
    cue = {_stem(w) for w in left[:3] if w not in _ASK_LEAD and w not in _STOP}
    life = "born" if _BORN.search(plan.final) else "died" if _DIED.search(plan.final) else None
    cm = re.search(r"\bhow many ((?:[\w'’-]+\s*){1,3})", plan.final, re.I)
    counted = _stems(cm.group(1)) - _TYPE_STEMS if cm else frozenset()
    fits = {" ".join(_WORD.findall(_base(r.page.title).lower())): _kind_fit(kind, head, r) for r in reads}
    for r in reads:
        own = _base(r.page.title).lower()
        role = roles[r.page.id]
        page_bonus = W_REL * r.relevance + 0.15 * r.linked + 0.5 * (r.page.id == focus) + ROLE_BONUS[role]
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
                s = W_SHARE * share + W_NEAR / (1 + dist / 3) + page_bonus + 0.04 / (1 + si)
                # the question's words right before its wh-phrase, right before the span
                # ("head office in [what city]" ~ "head office in [Delhi]")
                lead = 0
                while lead < len(left) and lead < len(before) and before[-1 - lead] == left[lead]:
                    lead += 1
                s += W_LEAD * lead
                if kind == "person" and before[-1:] == ["by"]:
                    s += 0.15
                if tail and any(_stem(w) == tail for w in before[-3:]):
                    s += W_TAIL  # "Where is X *set*?" ~ "It is *set* in [Salford]"
                elif cue and any(_stem(w) in cue for w in before[-6:]):
                    s += W_TAIL  # "completed in [what year]" ~ "It was completed in [1998]"
                if kind == "place" and _ORG.search(span) and not _PLACEISH.search(span):
                    s -= W_ORG  # "Helix Software Company" is not where
                if life and kind in ("year", "date"):  # "(21 February 1933 – 21 April 2003)"
                    s += W_LIFE * _life_side(sent, start, life)
                if counted and kind == "number":  # "how many employees" ~ "9,000 employees"
                    after = _stems(sent[start + len(span) - 1 : start + len(span) + 40])
                    s += W_UNIT * bool(counted & (_stems(span) | after))
                if kind == "person" and all(2 <= len(n.split()) <= 4 for n in span.split(" and ")):
                    s += 0.1 + 0.05 * (" and " in span)  # "by A and B": both are the answer
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
                if (fit := fits.get(key)) is not None:
                    s += W_FIT * fit  # the span names a read page of the asked kind / of another
                if noise and rng is not None:
                    s += rng.gauss(0.0, noise)
                if s > scores.get(span, -math.inf):
                    scores[span] = s
                    support[span] = r
        if kind in ("person", "name", "place") and r.sents and f" {own} " not in q_norm:
            # the page itself may be what is asked: "Which band ..." and the page is a band, "Who
            # was hung for ..." and the page is a person the question describes
            first = r.sents[0]
            s = W_TITLE + 1.5 * r.relevance + 0.2 * r.linked + ROLE_TITLE[role] - W_ATTR * attr
            if head:
                s += TITLE_HEAD[0] if re.search(rf"\b{re.escape(head)}s?\b", first.lower()) else TITLE_HEAD[1]
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
    if kind == "person" and best == _base(support[best].page.title) and support[best].sents:
        # a person's page as the answer: the full name its first sentence gives ("Vincent Anthony
        # Guaraldi (July 17, 1928 - ...)" for "Vince Guaraldi"), when it holds the surname
        fm = _FULL_NAME.match(support[best].sents[0])
        full = fm.group(1).strip(" ,") if fm else ""
        if best.split()[-1].lower() in full.lower() and len(full.split()) <= 6:
            support[full] = support[best]
            best = full
    rest = sorted((r for r in reads if r is not support[best]), key=lambda r: -(r.relevance + 0.3 * r.linked))
    return best, [support[best]] + rest[:1]


_CLASS_HEADS = _wordset(
    """
    type kind occupation occupations profession professions job jobs sport genre form sort category
    position instrument religion field
    """
)
_CLASS_STOP = _wordset("that which who whose from of in on by with for and or but known best based located")


# "what is Robin Roberts's occupation?", "what do A and B have in common?", "What is Opry Mills?"
_ASKS_CLASS = re.compile(
    r"\b(?:[Oo]ccupation|[Pp]rofession|in common|examples? of what)\b|^[Ww]hat (?:is|was|are|were) (?:an? |the )?[A-Z][^?]*\?$"
)


_ASKS_JOB = re.compile(r"\b(?:occupations?|professions?|jobs?)\b", re.I)
_PARTICIPLES = _wordset("following starring featuring including consisting offering located based")
CLASS_ROLE = 1.0  # class answers: the page's role bonus (ROLE_BONUS) counts this many times


def _class_answer(
    plan: QuestionPlan, reads: list[_Read], roles: dict[str, str]
) -> tuple[str, list[_Read]] | None:
    """Questions like "what type / occupation / sport ...?": a lowercase class noun from the read
    pages' defining words ("X is an English *cinematographer* ..."); a noun several relevant pages
    share scores most ("What occupation do A and B share?")."""
    scores: dict[str, float] = {}  # by the class's last word ("director")
    spans: dict[str, tuple[float, str, _Read]] = {}  # its best wording and page
    q_words = set(_WORD.findall(plan.text.lower()))
    pool = reads
    if _ASKS_JOB.search(plan.final):  # an occupation is read from a person's page, when one was read
        pool = [r for r in reads if r.sents and _PERSONISH.search(r.sents[0][:200])] or reads
    for r in reads:
        m = _DEFINES.search(r.sents[0] if r.sents else "")
        if m is None or r not in pool:
            continue
        parts: list[list[str]] = [[]]
        for w in re.findall(r"[\w'’-]+|,", m.group(1)):
            if w in (",", "and", "or"):  # "an English cinematographer and director"
                parts.append([])
            elif w.lower() in _CLASS_STOP or not w.islower() and parts[-1]:
                break
            elif parts[-1] and (w.endswith("ed") or w in _PARTICIPLES):
                break  # "a 1999 drama film *directed* by": the class ends before the participle
            elif w.islower() and w not in _STOP and not w.isdigit():
                parts[-1].append(w)
        for order, part in enumerate(p for p in parts if p):
            noun = part[-1]
            if noun in q_words:
                continue
            gain = 0.5 + r.relevance - 0.05 * order + CLASS_ROLE * ROLE_BONUS[roles[r.page.id]]
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


def _first_year(r: _Read, died: bool = False) -> int | None:
    """The page's first year; its death year (after the dash of a life span) when ``died``."""
    for sent in r.sents[:3]:
        start = 0
        if died and (life := _LIFE.search(sent)) and (dash := re.search(r"\d{4}\s*[–-]", life.group(0))):
            start = life.start() + dash.end()
        m = _FIRST_YEAR.search(sent, start) or _FIRST_YEAR.search(sent)
        if m:
            return int(m.group(1))
    return None


def _first_number(r: _Read, noun: frozenset[str] = frozenset()) -> float | None:
    """The page's first number that is not a year; the first one beside the compared noun
    ("more *species*": "about 50 species") when the page has one."""
    first = None
    for sent in r.sents:
        for m in _NUMBER.finditer(sent):
            tok = m.group(0).replace(",", "")
            if _YEAR.fullmatch(tok):
                continue
            try:
                value = float(tok)
            except ValueError:
                continue
            if not noun or noun & _stems(sent[max(0, m.start() - 30) : m.end() + 30]):
                return value
            first = value if first is None else first
    return first


_SAME = re.compile(r"\b(same|different|separate)\b", re.I)
_FAMILY = re.compile(r"\b([A-Z][a-z]+aceae)\b|\bfamily,? ([A-Z][a-z]+)|\b([A-Z][a-z]+) family\b")
_COUNTRY = {
    "United States": "American", "U.S.": "American", "USA": "American", "America": "American",
    "England": "British", "Scotland": "British", "Wales": "British", "United Kingdom": "British",
    "English": "British", "Scottish": "British", "Welsh": "British", "UK": "British",
    "Canada": "Canadian", "Australia": "Australian", "France": "French", "Germany": "German",
    "Italy": "Italian", "Spain": "Spanish", "Japan": "Japanese", "China": "Chinese",
    "India": "Indian", "Ireland": "Irish", "Russia": "Russian", "Sweden": "Swedish",
    "Norway": "Norwegian", "Denmark": "Danish", "Brazil": "Brazilian", "Mexico": "Mexican",
    "Netherlands": "Dutch", "South Korea": "South Korean", "New Zealand": "New Zealand",
}  # fmt: skip
_COUNTRY_RX = re.compile(rf"{_DEMONYM.pattern}|\b(?:{'|'.join(re.escape(k) for k in _COUNTRY)})(?![\w.])")


def _country(text: str) -> str | None:
    """The first nationality or country a text names, as a demonym (England / English -> British)."""
    m = _COUNTRY_RX.search(text)
    return _COUNTRY.get(m.group(0), m.group(0)) if m else None


def _yesno(plan: QuestionPlan, a: _Read, b: _Read) -> str:
    """Yes or no from the two entities' pages: "the same / different country (family)" compares
    the first nationality (plant family) of each page, "no" when a page gives none (two things
    seldom share one); "Are A and B both X?" needs X's words in both pages' first sentences."""
    ta, tb = " ".join(a.sents[:3]), " ".join(b.sents[:3])
    same = _SAME.search(plan.final)
    if same or re.search(r"\bboth from\b", plan.final, re.I):
        differ = same is not None and same.group(1).lower() != "same"
        what = plan.final[same.end() :] if same else "country"
        if re.search(r"famil|genus", what, re.I):
            fa, fb = _FAMILY.search(ta), _FAMILY.search(tb)
            va = next(g for g in fa.groups() if g) if fa else None
            vb = next(g for g in fb.groups() if g) if fb else None
        elif re.search(r"countr|nation", what, re.I) or not same:
            va, vb = _country(ta), _country(tb)
        else:  # the same band / city / topic: not read from the first sentences
            va = vb = None
        equal = va is not None and va == vb
        return "yes" if equal != differ else "no"
    order = next((d for rx, d in _ORDER if rx.search(plan.final)), None)
    if order is not None:  # "Was A released prior to B?", "Has A won more events than B?"
        pick = _compare(QuestionPlan(**{**plan.__dict__, "kind": "choice", "direction": order}), [a, b])
        return "yes" if pick == plan.options[0] else "no"
    dem = _DEMONYM.search(plan.final)
    if dem:  # "Are X and Y both American ...?"
        return "yes" if dem.group(0) in ta and dem.group(0) in tb else "no"
    opt = {_root(w) for w in _stems(" ".join(plan.options))}
    attrs = {_root(w) for w in _stems(plan.final)} - opt
    if not attrs:
        return "yes"
    fa = {_root(w) for w in _stems(" ".join(a.sents[:2]))}
    fb = {_root(w) for w in _stems(" ".join(b.sents[:2]))}
    share = min(len(attrs & fa), len(attrs & fb)) / len(attrs)
    return "yes" if share >= YESNO_SHARE else "no"


def _root(stem: str) -> str:
    """A stem's first six letters: "universit" (universities) ~ "university"."""
    return stem[:6]


_ORDER = [
    (re.compile(r"\b(?:prior to|before|earlier than|older than)\b", re.I), "earlier"),
    (re.compile(r"\b(?:after|later than|younger than)\b", re.I), "later"),
    (re.compile(r"\bmore\b.*\bthan\b|\b(?:larger|bigger|higher|taller|longer|greater)\b than", re.I), "more"),
    (re.compile(r"\b(?:fewer|less)\b.*\bthan\b|\b(?:smaller|lower|shorter)\b than", re.I), "less"),
]


def _compare(plan: QuestionPlan, pages: list[_Read]) -> str:
    a, b = pages
    if plan.kind == "yesno":
        return _yesno(plan, a, b)
    if plan.direction in ("earlier", "later"):
        died = _DIED.search(plan.final) is not None  # "Who died first?"
        ya, yb = _first_year(a, died), _first_year(b, died)
        if ya is not None and yb is not None and ya != yb:
            first = a if ya < yb else b
            pick = first if plan.direction == "earlier" else (b if first is a else a)
            return plan.options[0] if pick is a else plan.options[1]
    if plan.direction in ("more", "less"):
        cm = re.search(
            r"\b(?:more|most|fewer|less|least|greater|larger|higher|bigger)\s+([\w-]+)", plan.final, re.I
        )
        noun = _stems(cm.group(1)) if cm else frozenset()
        na, nb = _first_number(a, noun), _first_number(b, noun)
        if na is not None and nb is not None and na != nb:
            big = a if na > nb else b
            pick = big if plan.direction == "more" else (b if big is a else a)
            return plan.options[0] if pick is a else plan.options[1]
    # "Which band is from England, A or B?": the option whose page gives that country
    rest = plan.final
    for o in plan.options:
        rest = rest.replace(o, " ")
    if (want := _country(rest)) is not None:
        ca, cb = _country(" ".join(a.sents[:3])), _country(" ".join(b.sents[:3]))
        if (ca == want) != (cb == want):
            return plan.options[0] if ca == want else plan.options[1]
    # no order to compare: the option whose page holds the question's other words
    opt_stems = _stems(" ".join(plan.options))
    attrs = {s for s in plan.stems if s not in opt_stems}
    sa = len(attrs & _stems(" ".join(a.sents[:3])))
    sb = len(attrs & _stems(" ".join(b.sents[:3])))
    return plan.options[0] if sa >= sb else plan.options[1]
