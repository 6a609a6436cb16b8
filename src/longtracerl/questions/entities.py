"""Light, rule-based text analysis of path pages: sentences, entity roles, name forms, answers.

Used by the masked question composer and by the walks stage (to check that the last page of a
segment can supply an answer). No NLP model: a few documented rules that work on encyclopedia
intro paragraphs.

- :func:`split_sentences`: split on ``. ! ?`` followed by a capital, a digit or a quote, except
  after known abbreviations (``Jr.``, ``St.``, ``U.S.`` ...) and single initials (``C. Robert``).
- :func:`classify_role`: the kind of thing a page is about, from its first sentence: ``person``
  when the sentence holds ``(born`` or a ``(1924 – 1978)`` life span, else the earliest keyword
  after the first copula (``is/was/are/were``) in a fixed keyword table (film, place, band, ...),
  else ``topic``.
- :func:`name_forms`: the surface forms masked for a page: the title, the title without a trailing
  ``(qualifier)``, without a leading ``The``, the part before a comma (``Woodson, Arkansas`` ->
  ``Woodson``) and, for a person, the surname (last word, skipping ``Jr.``/``Sr.``/roman
  numerals; 3+ letters).
- :func:`find_answers`: answer candidates of a sentence: years, numbers and (with a title lookup)
  named entities that are pages of the corpus.

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
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

# --------------------------------------------------------------------------- sentences

_ABBREV = {
    "jr",
    "sr",
    "st",
    "dr",
    "mr",
    "mrs",
    "ms",
    "prof",
    "gen",
    "col",
    "lt",
    "sgt",
    "capt",
    "gov",
    "sen",
    "rep",
    "rev",
    "no",
    "vs",
    "co",
    "inc",
    "ltd",
    "corp",
    "mt",
    "ft",
    "jan",
    "feb",
    "mar",
    "apr",
    "aug",
    "sept",
    "sep",
    "oct",
    "nov",
    "dec",
    "c",
    "ca",
    "approx",
    "etc",
    "u.s",
    "u.k",
    "d.c",
}
_HEADING_LINE = re.compile(r"^\s*(?:\S+\s+){0,7}\S+:\s*$")
_SENT_END = re.compile(r"[.!?][\"'”’)]?\s+(?=[A-Z0-9\"“'‘(])")


def split_sentences(text: str) -> list[str]:
    """Split a text into sentences (rule-based; see module docstring).

    Each line is a paragraph of its own; a short line ending in a colon (a heading, as
    ``corpus prepare`` writes them) is not a sentence.
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
            continue  # abbreviation, initial or dotted acronym (U.S.)
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
_KEYWORD_ROLE = {kw: role for role, kws in _ROLE_KEYWORDS.items() for kw in kws}
_KEYWORD_RE = re.compile(
    r"\b(" + "|".join(sorted((re.escape(k) for k in _KEYWORD_ROLE), key=len, reverse=True)) + r")s?\b",
    re.IGNORECASE,
)
_COPULA = re.compile(r"\b(is|was|are|were|refers to)\b")
_LIFESPAN = re.compile(
    r"\((?:[^()]*?;\s*)?(?:born\b|c\.\s*\d|\w*\s*\d{0,2},?\s*\d{3,4}\s*[–—-]\s*\w*\s*\d{0,2},?\s*\d{3,4})"
)


def classify_role(first_sentence: str) -> str:
    """The role of a page from its first sentence (see module docstring); ``topic`` if unknown."""
    s = first_sentence[:400]
    if _LIFESPAN.search(s):
        return "person"
    m = _COPULA.search(s)
    head = s[m.end() :] if m else s
    head = " ".join(head.split()[:14])
    km = _KEYWORD_RE.search(head)
    if km is None:
        return "topic"
    return _KEYWORD_ROLE[km.group(1).lower()]


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
    """``'Sinister (film)'`` -> ``'Sinister'`` (the name as page text uses it)."""
    out = _QUALIFIER.sub("", title).strip()
    return out or title.strip()


@dataclass
class NameForms:
    full: set[str] = field(default_factory=set)
    """Forms matched case-insensitively (title, stripped title, without a leading 'The')."""
    partial: set[str] = field(default_factory=set)
    """Forms matched case-sensitively (comma head, a person's surname)."""


def name_forms(title: str, role: str) -> NameForms:
    """The surface forms of a path entity that the masked composer hides (module docstring)."""
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

_YEAR = re.compile(r"(?<![\w.,/-])(1[0-9]{3}|20[0-9]{2})(?![\w]|,\d|\.\d)")
_NUMBER = re.compile(r"(?<![\w.,/$£€-])(\d{1,3}(?:,\d{3})+|\d+\.\d+|\d{2,})(?![\w]|,\d|\.\d)")
_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
]
_MONTH_BEFORE = re.compile(r"\b(" + "|".join(_MONTHS) + r")\.?\s*$", re.IGNORECASE)
_CAP_SPAN = re.compile(
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
        if re.fullmatch(r"1[0-9]{3}|20[0-9]{2}", m.group(1)):
            continue
        numbers.append(AnswerSpan("number", m.group(1), m.start(1), m.end(1)))
    entities = []
    if title_lookup is not None:
        for m in _CAP_SPAN.finditer(sentence):
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
