"""English text facts that every stage shares: sentences, roles, names, dates, stop words, answer types.

Rule-based, no NLP model; tuned on encyclopedia intro paragraphs. The walks stage uses it to check
that a page can supply an answer, the question composers and the audit to describe pages and
check questions, the walk chooser for relatedness. How the masked composer uses roles and name
forms: docs/questions.md (The masked composer).

Examples:
    >>> split_sentences("Ed Wood Jr. was born in 1924. He died in 1978.")
    ['Ed Wood Jr. was born in 1924.', 'He died in 1978.']
    >>> classify_role("Scott Derrickson (born July 16, 1966) is an American director.")
    'person'
    >>> classify_role("Sinister is a 2012 supernatural horror film directed by Scott Derrickson.")
    'film'
    >>> sorted(name_forms("Woodson, Arkansas", "place").partial)
    ['Woodson']
    >>> [(a.kind, a.text) for a in find_answers("It had 4,311 people in 2010.")]
    [('year', '2010'), ('number', '4,311')]
    >>> asked_type("Start with a film. In which year was it released?")
    'year'
    >>> content_tokens("The history of the Eiffel Tower")
    ['history', 'eiffel', 'tower']
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from longtracerl.text import normalize_answer


def wordset(text: str) -> frozenset[str]:
    """The white-space separated words of ``text``: how word lists are written here and in the stages.

    >>> sorted(wordset("the a  an"))
    ['a', 'an', 'the']
    """
    return frozenset(text.split())


# --------------------------------------------------------------------------- sentences

TITLE_ABBREVIATIONS = ("Dr", "Mr", "Mrs", "Ms", "Prof", "St", "Mt", "Ft", "Gen", "Col", "Lt", "Sgt", "Capt", "Gov", "Sen", "Rep", "Rev")  # fmt: skip
"""Abbreviations written before a name ("Dr. Dre", "St. Louis", "Gen. Patton"): a full stop after
one ends no sentence unless a sentence opener follows."""
_ABBREV = wordset(
    """
    jr sr no vs co inc ltd corp jan feb mar apr aug sept sep oct nov dec c ca approx etc u.s u.k d.c
    """
) | {a.lower() for a in TITLE_ABBREVIATIONS}
SENTENCE_OPENERS = wordset(
    """
    The It Its He She They His Her Their This These Those There In Which What Who Whom Whose When
    Where Why How Later However
    """
)
"""Words that start a sentence and do not go on a name, so a full stop after an abbreviation, an
initial or an acronym followed by one of them ends a sentence ("the U.S. The film", "Baker St. Later")."""
_HEADING_LINE = re.compile(r"^\s*(?:\S+\s+){0,7}\S+:\s*$")
_SENT_END = re.compile(r"[.!?][\"'”’)]?\s+(?=[A-Z0-9\"“'‘(])")
_NEXT_WORD = re.compile(r"[\"“'‘(]?([A-Za-z]+)")
_NEVER_ENDS = wordset("vs v a.k.a f.k.a i.e e.g")  # "Hogan vs. The Rock", "a.k.a. The Kid"


def split_sentences(text: str) -> list[str]:
    """Split a text into sentences.

    A sentence ends at ``. ! ?`` followed by a capital, a digit or a quote, except after known
    abbreviations (``Jr.``, ``St.``, ``U.S.`` ...) and single initials (``C. Robert``) unless a
    sentence opener follows (``the U.S. The film``; ``vs.``, ``v.``, ``a.k.a.``, ``i.e.`` never end
    one). Each line is a paragraph of its own; a short line ending in a colon (a heading, as
    ``corpus prepare`` writes them) is not a sentence.

    >>> split_sentences("Dr. Dre was born in the U.S. He produced it. It sold.")
    ['Dr. Dre was born in the U.S.', 'He produced it.', 'It sold.']
    """
    if "\n" in text.strip():
        return [
            s
            for line in text.splitlines()
            if line.strip() and not _HEADING_LINE.match(line)
            for s in split_sentences(line)
        ]
    text = " ".join(text.split())
    if not text:
        return []
    out: list[str] = []
    start = 0
    for m in _SENT_END.finditer(text):
        before = text[start : m.start()]
        last_word = before.rsplit(" ", 1)[-1].lower().lstrip("(\"'“")
        if text[m.start()] == "." and (
            last_word in _ABBREV or (len(last_word) == 1 and last_word.isalpha()) or "." in last_word
        ):
            nxt = _NEXT_WORD.match(text, m.end())
            if last_word in _NEVER_ENDS or not (nxt and nxt.group(1) in SENTENCE_OPENERS):
                continue  # abbreviation, initial or dotted acronym (U.S.) inside a sentence
        out.append(text[start : m.end()].strip())
        start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


# --------------------------------------------------------------------------- roles

ROLE_NOUNS: dict[str, str] = {
    "person": "person",
    "place": "place",
    "film": "film",
    "series": "TV series",
    "recording": "recording",
    "work": "work",
    "band": "band",
    "organization": "organization",
    "team": "team",
    "book": "book",
    "event": "event",
    "structure": "structure",
    "species": "species",
    "game": "game",
    "character": "character",
    "topic": "topic",
}
"""Role -> the noun used in masked text ("a person", "this film")."""

_ROLE_KEYWORDS: dict[str, tuple[str, ...]] = {
    "person": [
        "actor",
        "actress",
        "singer",
        "songwriter",
        "singer-songwriter",
        "musician",
        "director",
        "writer",
        "author",
        "politician",
        "player",
        "footballer",
        "composer",
        "producer",
        "poet",
        "artist",
        "painter",
        "sculptor",
        "businessman",
        "businesswoman",
        "journalist",
        "comedian",
        "rapper",
        "model",
        "filmmaker",
        "screenwriter",
        "novelist",
        "coach",
        "athlete",
        "boxer",
        "wrestler",
        "scientist",
        "philosopher",
        "architect",
        "engineer",
        "lawyer",
        "judge",
        "officer",
        "king",
        "queen",
        "prince",
        "princess",
        "emperor",
        "empress",
        "bishop",
        "professor",
        "historian",
        "economist",
        "physicist",
        "chemist",
        "mathematician",
        "dancer",
        "drummer",
        "guitarist",
        "bassist",
        "pianist",
        "violinist",
        "entrepreneur",
        "activist",
        "presenter",
        "broadcaster",
        "cricketer",
        "cyclist",
        "swimmer",
        "skater",
        "skier",
        "golfer",
        "jockey",
        "sprinter",
        "runner",
        "explorer",
        "inventor",
        "diplomat",
        "statesman",
        "soldier",
        "general",
        "admiral",
        "priest",
        "monk",
        "saint",
        "theologian",
        "photographer",
        "designer",
        "chef",
        "executive",
        "investor",
        "vocalist",
        "frontman",
        "lyricist",
        "conductor",
        "cinematographer",
        "editor",
        "illustrator",
        "cartoonist",
        "animator",
        "critic",
        "biologist",
        "astronomer",
        "psychologist",
        "sociologist",
        "physician",
        "surgeon",
        "nurse",
        "pilot",
        "astronaut",
        "aviator",
        "monarch",
        "pope",
        "lord",
        "duke",
        "duchess",
        "count",
        "countess",
        "baron",
        "nobleman",
        "noblewoman",
        "heiress",
        "socialite",
        "man",
        "woman",
        "person",
        "member",
        "founder",
        "president",
        "politician",
        "leader",
        "commander",
    ],
    "film": ("film", "movie", "documentary"),
    "series": ("sitcom", "series", "miniseries", "show", "soap opera", "programme", "program"),
    "recording": ("album", "song", "single", "ep", "extended play", "soundtrack", "mixtape"),
    "work": ("opera", "painting", "sculpture", "play", "symphony", "ballet", "operetta"),
    "band": ("band", "group", "duo", "trio", "quartet", "orchestra", "choir"),
    "team": ("team", "club", "franchise"),
    "organization": [
        "company",
        "corporation",
        "university",
        "college",
        "school",
        "academy",
        "organization",
        "organisation",
        "party",
        "agency",
        "airline",
        "brand",
        "league",
        "association",
        "magazine",
        "newspaper",
        "network",
        "channel",
        "station",
        "label",
        "publisher",
        "manufacturer",
        "retailer",
        "chain",
        "restaurant",
        "firm",
        "institute",
        "foundation",
        "society",
        "union",
        "charity",
        "conglomerate",
        "subsidiary",
        "bank",
        "government",
        "ministry",
        "department",
        "council",
        "federation",
        "confederation",
    ],
    "book": ("novel", "book", "novella", "comic", "manga", "poem", "memoir", "anthology"),
    "event": [
        "war",
        "battle",
        "election",
        "festival",
        "tournament",
        "championship",
        "championships",
        "season",
        "cup",
        "competition",
        "race",
        "event",
        "match",
        "olympics",
        "games",
        "conference",
        "ceremony",
        "award",
        "awards",
        "campaign",
        "revolution",
        "rebellion",
        "treaty",
        "crisis",
        "attack",
        "massacre",
        "disaster",
    ],
    "structure": [
        "building",
        "stadium",
        "bridge",
        "museum",
        "church",
        "cathedral",
        "hotel",
        "airport",
        "arena",
        "tower",
        "castle",
        "palace",
        "house",
        "mansion",
        "temple",
        "mosque",
        "monastery",
        "hospital",
        "prison",
        "lighthouse",
        "dam",
        "canal",
        "railway",
        "highway",
        "road",
        "street",
        "station",
        "park",
        "garden",
        "square",
        "theatre",
        "theater",
        "mall",
        "skyscraper",
        "fort",
        "fortress",
        "ship",
        "aircraft",
        "locomotive",
    ],
    "place": [
        "city",
        "town",
        "village",
        "county",
        "country",
        "state",
        "province",
        "river",
        "lake",
        "mountain",
        "island",
        "island",
        "census-designated",
        "district",
        "municipality",
        "region",
        "neighborhood",
        "neighbourhood",
        "borough",
        "capital",
        "suburb",
        "area",
        "commune",
        "parish",
        "township",
        "hamlet",
        "peninsula",
        "valley",
        "desert",
        "forest",
        "bay",
        "sea",
        "ocean",
        "settlement",
        "metropolis",
        "territory",
        "archipelago",
        "mountains",
        "range",
        "locality",
        "community",
    ],
    "species": ("species", "genus", "plant", "bird", "fish", "tree", "flower", "breed", "mammal"),
    "game": ("game", "videogame"),
    "character": ("character",),
}
KEYWORD_ROLE = {kw: role for role, kws in _ROLE_KEYWORDS.items() for kw in kws}
"""Kind word (``film``, ``novel``, ``city``, ...) -> role."""
_KEYWORD_RE = re.compile(
    r"\b(" + "|".join(sorted((re.escape(k) for k in KEYWORD_ROLE), key=len, reverse=True)) + r")s?\b",
    re.IGNORECASE,
)
_COPULA = re.compile(r"\b(is|was|are|were|refers to)\b")
_LIFESPAN = re.compile(
    r"\((?:[^()]*?;\s*)?(?:born\b|c\.\s*\d|\w*\s*\d{0,2},?\s*\d{3,4}\s*[–—-]\s*\w*\s*\d{0,2},?\s*\d{3,4})"
)


def classify_role(first_sentence: str) -> str:
    """The role of a page from its first sentence; ``topic`` if unknown.

    ``person`` when the sentence holds ``(born`` or a ``(1924 – 1978)`` life span, else the role of
    the earliest kind word (:data:`KEYWORD_ROLE`) in the 14 words after the first copula
    (``is/was/are/were/refers to``).
    """
    s = first_sentence[:400]
    if _LIFESPAN.search(s):
        return "person"
    m = _COPULA.search(s)
    head = s[m.end() :] if m else s
    head = " ".join(head.split()[:14])
    km = _KEYWORD_RE.search(head)
    if km is None:
        return "topic"
    return KEYWORD_ROLE[km.group(1).lower()]


def role_phrase(role: str, *, definite: bool = False) -> str:
    """'a person' / 'an organization' / 'this film'."""
    noun = ROLE_NOUNS.get(role, "topic")
    if definite:
        return f"this {noun}"
    article = "an" if noun[0].lower() in "aeiou" else "a"
    return f"{article} {noun}"


# --------------------------------------------------------------------------- name forms

_QUALIFIER = re.compile(r"\s*\([^()]*\)\s*$")
_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "v"}


def strip_qualifier(title: str) -> str:
    """Drop one trailing parenthesised qualifier (the name as page text uses it).

    >>> strip_qualifier("Sinister (film)"), strip_qualifier("(Untitled)"), strip_qualifier("Up (2009 film)")
    ('Sinister', '(Untitled)', 'Up')
    """
    if not title.rstrip().endswith(")"):
        return title.strip()  # the fast path of the title-mention link builder
    out = _QUALIFIER.sub("", title).strip()
    return out or title.strip()


@dataclass
class NameForms:
    full: set[str] = field(default_factory=set)
    """Forms matched case-insensitively (title, stripped title, without a leading 'The')."""
    partial: set[str] = field(default_factory=set)
    """Forms matched case-sensitively (comma head, a person's surname)."""


def name_forms(title: str, role: str) -> NameForms:
    """The surface forms of a page's name that the masked composer hides.

    The title, the title without a trailing ``(qualifier)``, without a leading ``The``, the part
    before a comma (``Woodson, Arkansas`` -> ``Woodson``) and, for a person, the surname (last
    word, skipping ``Jr.``/``Sr.``/roman numerals; 3+ letters).
    """
    forms = NameForms()
    stripped = strip_qualifier(title)
    forms.full.update({title.strip(), stripped})
    for f in list(forms.full):  # 'American Dad!' is written 'American Dad' in running text
        bare = f.rstrip("!?.").replace("’", "'")
        if bare:
            forms.full.add(bare)
    if stripped.lower().startswith("the ") and len(stripped) > 8:
        forms.full.add(stripped[4:])
    if "," in stripped:
        head = stripped.split(",", 1)[0].strip()
        if len(head) >= 4:
            forms.partial.add(head)
    if role in ("person", "character"):
        words = [w for w in stripped.replace(",", " ").split() if w]
        while len(words) > 1 and words[-1].lower() in _SUFFIXES:
            words.pop()
        if len(words) >= 2 and len(words[-1]) >= 3 and words[-1][0].isupper():
            forms.partial.add(words[-1])
    forms.full = {f for f in forms.full if len(f) >= 2}
    forms.partial -= forms.full
    return forms


# --------------------------------------------------------------------------- answers

YEAR_DIGITS = r"1[0-9]{3}|20[0-9]{2}"
"""Pattern text of a year (1000 to 2099), without a group: ``rf"\\b({YEAR_DIGITS})\\b"``."""
YEAR_WORD = re.compile(rf"\b({YEAR_DIGITS})\b")
"""A year as a whole word; group 1 is the year."""
NUMBER_DIGITS = r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w])|(?<![\w.,])\d+(?:\.\d+)?(?![\w,])"
"""Pattern text of a number in digits standing alone ("1,200", "3.5", "42"), without a group."""
NUMBER_WORDS = (
    r"\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|hundred)\b"
)
"""Pattern text of a number in words (match it ignoring case), without a group."""
_MONTH_WORDS = """January February March April May June July August September October November December
    Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec"""
MONTH_NAMES = tuple(_MONTH_WORDS.split())
"""Month names, then their abbreviations, capitalised, in this order (regex alternations keep it)."""
_MONTHS = [m.lower() for m in MONTH_NAMES]
_MONTH_ALT = "|".join(MONTH_NAMES)
DATE = re.compile(
    rf"\b(?:(?:{_MONTH_ALT})\.? \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}|\d{{1,2}}(?:st|nd|rd|th)? (?:{_MONTH_ALT})\.?,? \d{{4}}|"
    rf"(?:{_MONTH_ALT}) \d{{4}})\b"
)
"""A written date: ``July 16, 1966``, ``16th July 1966``, ``Sept. 3 1901``, ``July 1966`` (case-sensitive)."""
_YEAR = re.compile(rf"(?<![\w.,/-])({YEAR_DIGITS})(?![\w]|,\d|\.\d)")
_NUMBER = re.compile(r"(?<![\w.,/$£€-])(\d{1,3}(?:,\d{3})+|\d+\.\d+|\d{2,})(?![\w]|,\d|\.\d)")
_MONTH_BEFORE = re.compile(r"\b(" + "|".join(_MONTHS) + r")\.?\s*$", re.IGNORECASE)
CAP_SPAN = re.compile(
    r"(?<![\w'’])[A-Z][\w'’.&-]*(?:\s+(?:(?:of|the|de|del|von|van|du|da|la|le)\s+)*[A-Z][\w'’.&-]*)*"
)


@dataclass(frozen=True)
class AnswerSpan:
    """One answer candidate inside a sentence: ``sentence[start:end] == text``."""

    kind: str  # "year" | "number" | "entity"
    text: str
    start: int
    end: int
    page_id: str | None = None  # for entities: the corpus page it names


def _is_date_day(sentence: str, start: int) -> bool:
    return bool(_MONTH_BEFORE.search(sentence[:start]))


def find_answers(sentence: str, title_lookup: Callable[[str], str | None] | None = None) -> list[AnswerSpan]:
    """Answer candidates in one sentence, in the order years, entities, numbers.

    ``title_lookup(name) -> page id or None`` enables entity answers: a capitalised span (not the
    sentence's first word alone) that is exactly the title of a corpus page.
    """
    years = [AnswerSpan("year", m.group(1), m.start(1), m.end(1)) for m in _YEAR.finditer(sentence)]
    year_starts = {a.start for a in years}
    numbers = []
    for m in _NUMBER.finditer(sentence):
        if m.start(1) in year_starts or _is_date_day(sentence, m.start(1)):
            continue
        if re.fullmatch(YEAR_DIGITS, m.group(1)):
            continue
        numbers.append(AnswerSpan("number", m.group(1), m.start(1), m.end(1)))
    entities = []
    if title_lookup is not None:
        for m in CAP_SPAN.finditer(sentence):
            span = m.group(0).rstrip(".'’-&")
            # the whole span, then without a leading 'The', then its capitalised pieces
            tries = [(m.start(), span)]
            if span.startswith("The "):
                tries.append((m.start() + 4, span[4:]))
            pieces = list(re.finditer(r"[A-Z][\w'’.&-]*(?:\s+[A-Z][\w'’.&-]*)*", span))
            if len(pieces) > 1:
                tries += [(m.start() + p.start(), p.group(0).rstrip(".'’-&")) for p in pieces]
            for start, text in tries:
                if start == 0 and " " not in text:
                    continue  # the sentence's first word alone is usually not a name
                if len(text) < 3 or text.lower() in _MONTHS:
                    continue
                pid = title_lookup(text)
                if pid is not None:
                    entities.append(AnswerSpan("entity", text, start, start + len(text), pid))
                    break
    return years + entities + numbers


def has_answer(
    text: str,
    own_forms: NameForms | None = None,
    title_lookup: Callable[[str], str | None] | None = None,
) -> bool:
    """Check used by the walks stage: does the page offer a year, number (or entity) answer?

    Spans inside one of ``own_forms`` (e.g. a number in the page's own title) do not count.
    """
    lowered_forms = [f.lower() for f in own_forms.full] if own_forms else []
    for sent in split_sentences(text):
        for a in find_answers(sent, title_lookup):
            if not any(a.text.lower() in f for f in lowered_forms):
                return True
    return False


# --------------------------------------------------------------------------- stop words


ENGLISH_STOPWORDS = wordset(
    """
    the a an of and or in on at to for by with from as is was are were be been being it its this
    that these those he she they his her their them who whom which what when where also has have
    had not but into than then after before during over under about such other one two first new
    most more known best born later became become between both each all any can may many some
    only s
    """
)
"""A small English stop list for relatedness scores (walk chooser, question composers)."""
QUESTION_STOPWORDS = wordset(
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
"""Words of a question with no search or answer value: function words and the words a chained
narration is told with ("start", "next", "finally", "consider", "named"); the search agent's list."""
CLAUSE_STOPWORDS = (
    QUESTION_STOPWORDS - wordset("both either neither well many much more most less")
) | wordset(
    "further ones mine it's entity thing place person work step hop link linked connected lead leads following"
)
"""The clauses policy's list (agent/retrieval.py): the question words without the quantity words it
searches with ("many", "more"), plus the words of step-by-step clauses ("step", "hop", "linked to",
"leads to") and of the masked composer's kind nouns ("entity", "person", "place", "work")."""
TRAILING_WORDS = wordset(
    "this a an the of and or in on at to for by with from as is was are were its his her their"
)
"""Function words a cut clause must not end on (the masked composer drops them)."""
CUT_OFF_WORDS = TRAILING_WORDS | wordset("that be been known best such than into whose which who whom")
"""Words a sentence cannot end on: a sentence ending in one was cut off (the question audit)."""

_CONTENT_TOKEN = re.compile(r"[a-z0-9]+")


def content_tokens(text: str) -> list[str]:
    """Lower-cased alphanumeric tokens of 3+ characters, minus :data:`ENGLISH_STOPWORDS`."""
    return [t for t in _CONTENT_TOKEN.findall(text.lower()) if len(t) > 2 and t not in ENGLISH_STOPWORDS]


# --------------------------------------------------------------------------- answer types

_QUESTION_SENT_SPLIT = re.compile(r"(?<=[.?!])\s+(?=[A-Z0-9\"'“(])")


def question_sentences(question: str) -> list[str]:
    """The sentences of a question: split after ``. ? !`` before a capital, digit or quote.

    Simpler than :func:`split_sentences` (no abbreviation rules): for questions, not page text.
    """
    return [s.strip() for s in _QUESTION_SENT_SPLIT.split(question.strip()) if s.strip()]


ASK_TYPES: list[tuple[str, re.Pattern[str]]] = [
    (
        "year",
        re.compile(
            r"\b(what|which|in which|in what) year\b|\bwhen\b.*\b(born|founded|formed|released)", re.I
        ),
    ),
    ("decade", re.compile(r"\b(what|which|in which) decade\b", re.I)),
    ("date", re.compile(r"\b(what|which) date\b|^when\b", re.I)),
    (
        "number",
        re.compile(
            r"\bhow (many|much|long|tall|old|large|big)\b|\bwhat number\b|\bwhat (was|is) the (population|capacity)\b",
            re.I,
        ),
    ),
    (
        "person",
        re.compile(r"\bwho\b|\bwhich (person|actor|actress|artist|singer|writer|director|player)\b", re.I),
    ),
    (
        "place",
        re.compile(
            r"\bwhere\b|\bwhich (place|city|town|country|state|county|village|region)\b|\bin which (place|city|town|country|state)\b",
            re.I,
        ),
    ),
    ("yes_no", re.compile(r"^(are|is|was|were|do|does|did|can|could|has|have|had)\b", re.I)),
]
"""``(type, rule)`` in the order tried on a question's last sentence by :func:`asked_type`."""
_WHICH_NOUN = re.compile(r"\b(?:which|what) ([a-z]+)\b(?! (?:fills|of))", re.I)
_ALL_DIGITS = re.compile(r"^[\d.,\s]+$")
_SMALL_NUMBER_WORDS = frozenset(
    ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
)


def asked_type(question: str) -> str:
    """The answer type a question asks for, from its last sentence.

    The first :data:`ASK_TYPES` rule that matches (year, decade, date, number, person, place,
    yes_no), else the role of the noun after "which"/"what" (``Which band`` -> band), else
    ``other``.
    """
    last = question_sentences(question)[-1] if question.strip() else ""
    for name, rx in ASK_TYPES:
        if rx.search(last):
            return name
    m = _WHICH_NOUN.search(last)
    noun = m.group(1).lower() if m else ""
    noun = noun[:-1] if noun.endswith("s") and noun[:-1] in KEYWORD_ROLE else noun
    return KEYWORD_ROLE.get(noun, "other")  # 'Which city' -> place, 'Which band' -> band


def answer_fits_type(answer: str, kind: str) -> bool:
    """Whether an answer has the shape of an :func:`asked_type` type (a year holds a year, ...).

    >>> answer_fits_type("in 1966", "year"), answer_fits_type("1966", "person")
    (True, False)
    """
    a = answer.strip()
    if kind in ("year", "date"):
        return bool(YEAR_WORD.search(a))
    if kind == "decade":
        return bool(re.search(r"\d0s\b", a)) or bool(YEAR_WORD.search(a))
    if kind == "number":
        return bool(re.search(r"\d", a)) or a.lower() in _SMALL_NUMBER_WORDS
    if kind == "yes_no":
        return normalize_answer(a) in ("yes", "no")
    if kind == "other":
        return True
    return not _ALL_DIGITS.match(a) and normalize_answer(a) not in ("yes", "no")
