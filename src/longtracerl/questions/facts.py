"""Blurred facts of a page, read from its first sentences: what the ``chain`` composer says about it.

A page's :class:`Facts` are the kind of thing it is (its head noun: ``actor``, ``film``,
``city``), a nationality (``American``; a country or US state after ``in`` counts for places), a
dated fact blurred to its decade (``born in the 1960s``, ``released in the 2010s``, ``founded in
the 1990s``) and the plain modifiers of its head noun (``supernatural horror``). Names (capitalised
words that are not nationalities), exact years and numbers never enter a description.

Head noun: the noun phrase after the first ``is/was/are/were`` (parentheses removed), cut at the
first preposition, relative pronoun, participle or comma; its last word that is a role keyword
(:data:`~longtracerl.textfacts.ROLE_NOUNS` table) is the kind, so ``a 1961 American comic
science fiction family film`` is a ``film``, not a ``book``; ``a group of islands`` is an
``island``. A head outside the table must be a noun (:func:`_other_head`; ``was held on`` and
``the southern part of`` give no kind, :attr:`Facts.kind_rejected` says why). A person (``(born``,
a life span before the copula) without a known head noun is a ``person``.

Example:
    >>> f = page_facts("Sinister is a 2012 American supernatural horror film directed by Scott Derrickson.")
    >>> f.kind, f.role, f.nationality, f.dated, f.modifiers
    ('film', 'film', 'American', ('released', '2010s'), ('supernatural', 'horror'))
    >>> describe(f, 1)
    'an American film released in the 2010s'
    >>> page_facts("The Lesser Antilles are a group of islands in the Caribbean Sea.").kind
    'island'
    >>> describe(page_facts("Scott Derrickson (born July 16, 1966) is an American director."), 1)
    'an American director born in the 1960s'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from longtracerl.questions.wordclass import FUNCTION_WORDS, not_noun, singular
from longtracerl.textfacts import (
    KEYWORD_ROLE,
    YEAR_DIGITS,
    YEAR_WORD,
    classify_role,
    split_sentences,
    wordset,
)

DEMONYMS = wordset(
    """
    American British English Scottish Welsh Irish Northern French German Italian Spanish Portuguese
    Dutch Belgian Swiss Austrian Swedish Norwegian Danish Finnish Icelandic Polish Czech Slovak
    Hungarian Romanian Bulgarian Greek Turkish Russian Ukrainian Serbian Croatian Slovenian Bosnian
    Albanian Estonian Latvian Lithuanian Georgian Armenian Israeli Iranian Iraqi Syrian Lebanese
    Egyptian Moroccan Algerian Tunisian Nigerian Ghanaian Kenyan Ethiopian Somali Ugandan Tanzanian
    Zimbabwean Cameroonian Senegalese Indian Pakistani Bangladeshi Nepalese Chinese Japanese Korean
    Taiwanese Vietnamese Thai Filipino Indonesian Malaysian Singaporean Australian Canadian Mexican
    Cuban Brazilian Argentine Argentinian Chilean Colombian Peruvian Venezuelan Uruguayan Jamaican
    Dominican Haitian Scandinavian European African Asian Latin Soviet Roman Byzantine Ottoman
    Persian Prussian Bavarian Catalan Basque Flemish Quebecois Hawaiian Texan Californian Jewish
    Arab Kurdish Mongolian Tibetan Afghan Saudi Emirati Qatari Kuwaiti Jordanian Palestinian Libyan
    Sudanese Angolan Congolese Zambian Malawian Rwandan Namibian Maltese Cypriot Luxembourgish
    Belarusian Moldovan Kazakh Uzbek Azerbaijani Burmese Cambodian Laotian
    """
)
"""Nationality words kept in a description (capitalised words that are not names)."""

_COUNTRY_DEMONYM = {
    "United States": "American",
    "United Kingdom": "British",
    "England": "English",
    "Scotland": "Scottish",
    "Wales": "Welsh",
    "Ireland": "Irish",
    "France": "French",
    "Germany": "German",
    "Italy": "Italian",
    "Spain": "Spanish",
    "Portugal": "Portuguese",
    "Netherlands": "Dutch",
    "Belgium": "Belgian",
    "Switzerland": "Swiss",
    "Austria": "Austrian",
    "Sweden": "Swedish",
    "Norway": "Norwegian",
    "Denmark": "Danish",
    "Finland": "Finnish",
    "Poland": "Polish",
    "Russia": "Russian",
    "Greece": "Greek",
    "Turkey": "Turkish",
    "India": "Indian",
    "Pakistan": "Pakistani",
    "China": "Chinese",
    "Japan": "Japanese",
    "South Korea": "South Korean",
    "Australia": "Australian",
    "New Zealand": "New Zealand",
    "Canada": "Canadian",
    "Mexico": "Mexican",
    "Brazil": "Brazilian",
    "Argentina": "Argentine",
    "Israel": "Israeli",
    "Iran": "Iranian",
    "Egypt": "Egyptian",
    "Nigeria": "Nigerian",
    "South Africa": "South African",
    "Philippines": "Filipino",
    "Indonesia": "Indonesian",
    "Ontario": "Canadian",
    "Quebec": "Canadian",
    "British Columbia": "Canadian",
    "Queensland": "Australian",
    "New South Wales": "Australian",
    "Victoria": "Australian",
}
_US_STATES = [
    "Alabama",
    "Alaska",
    "Arizona",
    "Arkansas",
    "California",
    "Colorado",
    "Connecticut",
    "Delaware",
    "Florida",
    "Georgia",
    "Hawaii",
    "Idaho",
    "Illinois",
    "Indiana",
    "Iowa",
    "Kansas",
    "Kentucky",
    "Louisiana",
    "Maine",
    "Maryland",
    "Massachusetts",
    "Michigan",
    "Minnesota",
    "Mississippi",
    "Missouri",
    "Montana",
    "Nebraska",
    "Nevada",
    "Ohio",
    "Oklahoma",
    "Oregon",
    "Pennsylvania",
    "Tennessee",
    "Texas",
    "Utah",
    "Vermont",
    "Virginia",
    "Washington",
    "Wisconsin",
    "Wyoming",
] + [
    "New Hampshire",
    "New Jersey",
    "New Mexico",
    "New York",
    "North Carolina",
    "North Dakota",
    "Rhode Island",
    "South Carolina",
    "South Dakota",
    "West Virginia",
]
for _s in _US_STATES:
    _COUNTRY_DEMONYM.setdefault(_s, "American")
_PLACE_IN = re.compile(
    r"\b(" + "|".join(sorted((re.escape(k) for k in _COUNTRY_DEMONYM), key=len, reverse=True)) + r")\b"
)

_PAREN = re.compile(r"\s*\([^()]*\)")
_COPULA = re.compile(r"\b(?:is|was|are|were)\b\s+")
_NP_STOP = wordset(
    """
    of in on at by for from with to into within near under over about as and or but who which that
    whose where when while directed written produced released based located founded formed known
    best starring featuring composed created developed published designed built recorded performed
    made owned operated named one since during between after before than consisting serving situated
    headquartered set originally
    """
)
_COLLECTIVE = wordset(
    """
    group chain set collection pair family range number list type kind series class
    """
)
_LEAD_WORDS = wordset(
    """
    a an the one of two three several many some any former retired current professional
    """
)
_ONE_OF = re.compile(r"^(?:one of the|one of|among the|part of the)\s+(?:\d+\s+)?", re.IGNORECASE)
_MULTI_DEMONYMS = (
    "New Zealand",
    "South Korean",
    "North Korean",
    "South African",
    "Sri Lankan",
    "Puerto Rican",
    "Hong Kong",
    "Northern Irish",
    "Latin American",
)
_SKIP_MODIFIERS = frozenset(
    ["former", "retired", "current", "also", "best", "well", "very", "most", "last", "sqft"]
)
_SUPERLATIVE = re.compile(
    r"^(?!(?:forest|honest|modest|interest|harvest|contest|midwest|\w*west)$)\w{3,}est$"
)
_NOT_HEADS = wordset(
    """
    born known based located one part also being used made called named first last best only the and
    or but not that this these those such other same several various many most more
    """
)
_YEAR_RX = f"({YEAR_DIGITS})"
_POPULATION = re.compile(
    r"\bpopulation (?:was|of|is)\s+(?:about |approximately |around )?(\d{1,3}(?:,\d{3})+|\d{3,})\b"
    r"(?:[^.]{0,20}?\b(?:at|in) the " + _YEAR_RX + r" census)?"
)
_SIZES = (
    (1_000, "under a thousand"),
    (10_000, "a few thousand"),
    (100_000, "tens of thousands of"),
    (1_000_000, "hundreds of thousands of"),
)


def population_range(n: int) -> str:
    """A blurred population: ``4311`` -> ``'a few thousand'`` (people)."""
    return next((phrase for top, phrase in _SIZES if n < top), "over a million")


_ORDINAL = re.compile(
    r"^(?:\w+-)?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|"
    r"\w+teenth|\w+tieth|\w+th)$"
)
_BORN_ON = re.compile(r"\b(?:was|is) born\b[^.;()]{0,30}?\b" + _YEAR_RX + r"\b")
_YEAR = YEAR_WORD
_BORN = re.compile(r"\(\s*(?:[^()]*?;\s*)?born\b[^()]*?\b" + _YEAR_RX + r"\b")
_LIFESPAN = re.compile(
    r"\(\s*(?:[^()]*?;\s*)?(?:c\.\s*)?(?:\w+\.?\s+)?(?:\d{1,2},?\s+)?" + _YEAR_RX + r"\s*[–—-]\s*"
    r"(?:\w+\.?\s+)?(?:\d{1,2},?\s+)?" + _YEAR_RX + r"\s*\)"
)
DATED_VERBS = (
    "founded",
    "formed",
    "established",
    "opened",
    "built",
    "completed",
    "launched",
    "created",
    "incorporated",
    "constructed",
    "inaugurated",
    "released",
    "published",
    "premiered",
    "debuted",
)
_VERB_YEAR = re.compile(
    r"\b("
    + "|".join(DATED_VERBS)
    + r")\b(?:[^.;()]{0,30}?)\b(?:in|on)\s+(?:\w+\s+)?(?:\d{1,2},?\s+)?"
    + _YEAR_RX
    + r"\b"
)
_WORK_VERB = {"film": "released", "recording": "released", "game": "released", "series": "first aired"}
_WORK_VERB.update({"book": "published", "work": "created", "event": "held"})


@dataclass(frozen=True)
class Facts:
    """What a description may say about one page (module docstring)."""

    kind: str | None  # head noun, singular: 'actor', 'film', 'city'; None when not found
    role: str  # role class of entities.ROLE_NOUNS ('person', 'film', 'place', ..., 'topic')
    nationality: str | None = None
    dated: tuple[str, str] | None = None  # (verb, decade): ('born', '1960s')
    modifiers: tuple[str, ...] = ()  # plain lower-case words before the head noun
    first_sentence: str = ""
    also: tuple[str, ...] = ()  # other nouns of the same role it is called ('author', 'producer')
    size: str | None = None  # a blurred population ('a few thousand'), for places
    plural: bool = False  # 'The Coen brothers are ...': several entities on one page
    kind_rejected: str | None = None  # why the head word is no kind ('held: participle'), when kind is None


def decade(year: str | int) -> str:
    """``1966`` -> ``'1960s'``."""
    return f"{int(year) // 10 * 10}s"


def _singular(word: str) -> str:
    w = word.lower()
    if w in KEYWORD_ROLE:
        return w
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", "")):
        if w.endswith(suffix) and (w[: -len(suffix)] + repl) in KEYWORD_ROLE:
            return w[: -len(suffix)] + repl
    return w


def _noun_phrase(sentence: str) -> list[str]:
    """The words of the noun phrase after the first copula (module docstring), parentheses removed."""
    s = _PAREN.sub("", sentence)
    m = _COPULA.search(s)
    if m is None:
        return []
    rest = _ONE_OF.sub("", s[m.end() :])
    rest = re.sub(r"\bU\.\s?S\.(?=\s)", "American", rest)
    words = re.findall(r"[\w'’-]+|[,;:.]", rest)
    out: list[str] = []
    for i, w in enumerate(words[:25]):
        lw = w.lower()
        if w in ",;:.":
            nxt = words[i + 1] if i + 1 < len(words) else ""
            if w == "," and nxt[:1].islower() and not any(_singular(x) in KEYWORD_ROLE for x in out):
                continue  # 'a private, nonsectarian, research university'
            break
        if lw == "of" and out and out[-1].lower() in _COLLECTIVE and i + 1 < len(words):
            if _singular(words[i + 1]) in KEYWORD_ROLE or singular(words[i + 1]) in KEYWORD_ROLE:
                out = []  # 'a group of islands' -> 'islands'
                continue
            break  # 'a collection of stories' -> 'collection'
        if lw in ("and", "or") and out and _singular(out[-1]) not in KEYWORD_ROLE:
            continue  # 'stage and screen actor', 'production and distribution company'
        if lw in _NP_STOP and (out and any(c.isalpha() for c in out[-1])):
            break
        if lw in _NP_STOP and lw not in _LEAD_WORDS and not out:
            return []  # 'is located south of ...', 'was born on ...': no noun phrase
        out.append(w)
    while out and out[0].lower() in _LEAD_WORDS:
        out.pop(0)
    return out


def page_facts(text: str) -> Facts:
    """The blurred facts of a page from its text (module docstring)."""
    sents = split_sentences(text[:1200])[:2]
    first = sents[0] if sents else ""
    np_words = _noun_phrase(first)
    kind = None
    head_at = -1
    for i, w in enumerate(np_words):
        if _singular(w) in KEYWORD_ROLE and w[:1].islower():
            kind, head_at = _singular(w), i
            if i + 1 < len(np_words) and np_words[i + 1].lower() == "and":
                break
    plain = _PAREN.sub("", first)
    cop = _COPULA.search(plain)
    plural = bool(cop) and cop.group(0).strip() in ("are", "were")
    kind_rejected = None
    role = KEYWORD_ROLE.get(kind or "") or classify_role(first)
    if kind is None and np_words:  # a head noun outside the role table: 'drama', 'cartel', 'tenor'
        one_of = bool(cop and _ONE_OF.match(plain[cop.end() :]))
        kind, head_at, kind_rejected = _other_head(np_words, plural_ok=plural or one_of)
        # no role from a keyword outside the noun phrase ('a collection of stories by English author'
        # is no person) nor from a capitalised one ('a Church of England diocese' is no structure)
        role = "topic"
    born = _BORN.search(first) or _BORN_ON.search(first)
    span = _LIFESPAN.search(first)
    if (
        span
        and cop is not None
        and span.start() > _COPULA.search(_PAREN.sub(lambda m: " " * len(m.group()), first)).start()
    ):
        span = None  # '... a memorial dedicated to Thomas Jefferson (1743–1826)': not the subject's life span
    if span and not born and kind in KEYWORD_ROLE and KEYWORD_ROLE[kind] != "person":
        span = None  # 'The Morris Canal (1829–1924) was a canal': a life span of a thing, not a person
    if born or span:
        role = "person"
        if kind is None or KEYWORD_ROLE.get(kind, "person") != "person":
            kind = "person"  # 'a member of a band' is still a person; 'punter' stays
    joined = " ".join(np_words)
    nationality = next((d for d in _MULTI_DEMONYMS if d in joined), None)
    nationality = nationality or next((w for w in np_words if w in DEMONYMS), None)
    if nationality is None and role == "place":
        at = plain.find(" in ")
        m = _PLACE_IN.search(plain, at) if at >= 0 else None
        if m:
            nationality = _COUNTRY_DEMONYM[m.group(1)]
    dated: tuple[str, str] | None = None
    if born:
        dated = ("born", decade(born.group(1)))
    elif span:
        dated = ("born", decade(span.group(1)))
    else:
        np_year = next((w for w in np_words[: max(head_at, 0)] if _YEAR.fullmatch(w)), None)
        if np_year and role in _WORK_VERB:
            dated = (_WORK_VERB[role], decade(np_year))
        else:
            for s in sents[:2]:
                m = _VERB_YEAR.search(_PAREN.sub("", s))
                if m:
                    dated = (m.group(1), decade(m.group(2)))
                    break
            if dated is None and np_year:
                dated = ("dating from", decade(np_year))
    modifiers: list[str] = []
    for w in np_words[: max(head_at, 0)]:
        if (
            w.islower()
            and w.isalpha()
            and w not in _SKIP_MODIFIERS
            and w not in _LEAD_WORDS
            and not _ORDINAL.match(w)
            and not _SUPERLATIVE.match(w)
        ):
            modifiers.append(w)
    also: list[str] = []
    if cop and kind and role == "person":  # 'director, screenwriter and producer'; not 'episode and season'
        for w in re.findall(r"[\w-]+", plain[cop.end() :])[:16]:
            if w in ("who", "which", "that", "known", "best", "whose"):
                break
            sw = _singular(w)
            if w.islower() and sw != kind and KEYWORD_ROLE.get(sw) == role and sw not in also:
                also.append(sw)
    if kind == "person" and also:  # 'an American person and producer' -> 'an American producer'
        kind = also.pop(0)
    size = None
    if role == "place":
        m = next((m for x in split_sentences(text[:1200])[:3] if (m := _POPULATION.search(x))), None)
        size = population_range(int(m.group(1).replace(",", ""))) if m else None
    if kind is not None:
        kind_rejected = None
    return Facts(
        kind,
        role,
        nationality,
        dated,
        tuple(modifiers[-5:]),
        first,
        tuple(also[:3]),
        size,
        plural,
        kind_rejected,
    )


_AUX = frozenset(["is", "was", "are", "were", "has", "have", "had", "being", "been"])
_AFTER_PARTICIPLE = (
    FUNCTION_WORDS | _NP_STOP | {"a", "an", "the", "its", "his", "her", "their", "along", "across"}
)


def _other_head(np_words: list[str], *, plural_ok: bool) -> tuple[str | None, int, str | None]:
    """(kind, index, None) of a head noun outside the role table, or (None, -1, why not).

    The head is the last word of the noun phrase cut before a participle that ends it or is followed by
    a function word ('rapid transit systems operating' -> 'systems', 'a railroad running along the' ->
    'railroad'; 'an animated featurette' stays); it must be a lower-case noun
    (:func:`~longtracerl.questions.wordclass.not_noun`): a verb ('was held on ...'), an adjective left
    by a cut ('the southern part of') or a capitalised name is no kind, and no earlier word stands in
    for it. A plural is made singular only after 'one of' or a plural copula."""
    words = list(np_words)
    for i in range(1, len(words)):
        w, nxt = words[i], (words[i + 1] if i + 1 < len(words) else "")
        if w in _AUX:  # '... contractors and is based in'
            words = words[:i]
            break
        if w.islower() and not_noun(w) == "participle" and (not nxt or nxt.lower() in _AFTER_PARTICIPLE):
            cut = i - 1 if not_noun(words[i - 1]) == "function_word" else i  # 'a name commonly associated'
            words = words[:cut]
            break
    if not words:
        return None, -1, f"{np_words[0]}: {not_noun(np_words[0]) or 'not a kind word'}"
    i, w = len(words) - 1, words[-1]
    if not (w.isalpha() and w.islower() and len(w) >= 3) or w in _NOT_HEADS or _ORDINAL.match(w):
        return None, -1, f"{w}: not a kind word"
    why = not_noun(w)
    if why == "plural" and plural_ok:
        return singular(w), i, None
    return (None, -1, f"{w}: {why}") if why else (w, i, None)


def _article(phrase: str) -> str:
    return ("an " if phrase[:1].lower() in "aeiou" else "a ") + phrase


def describe(f: Facts, level: int = 1, *, article: bool = True) -> str:
    """A blurred description: level 0 = nationality + kind; 1 = + the dated fact; 2 = + up to three
    modifiers; 3 = + all modifiers and the other nouns it is called ('actor, author and producer')."""
    kind = f.kind or "topic"
    words = []
    if f.nationality:
        words.append(f.nationality)
    if level >= 2:
        words.extend(f.modifiers if level >= 3 else f.modifiers[-3:])
    also = [a for a in f.also if a not in f.modifiers]  # not 'a comic book writer artist and writer'
    if level >= 3 and also:
        nouns = [kind, *also]
        kind = ", ".join(nouns[:-1]) + " and " + nouns[-1]
    words.append(kind)
    text = " ".join(words)
    if level >= 1 and f.size:
        text += f" of {f.size} people"
    if level >= 1 and f.dated:
        verb, dec = f.dated
        text += f" dating from the {dec}" if verb == "dating from" else f" {verb} in the {dec}"
    return _article(text) if article else text


def fits(candidate: Facts, target: Facts, level: int) -> bool:
    """Does ``candidate`` fit the level-``level`` description of ``target``?"""
    if candidate.kind != target.kind:
        return False
    if target.nationality and candidate.nationality != target.nationality:
        return False
    if level >= 1 and target.dated and candidate.dated != target.dated:
        return False
    if level >= 1 and target.size and candidate.size != target.size:
        return False
    mods = target.modifiers if level >= 3 else target.modifiers[-3:]
    return not (level >= 2 and not set(mods) <= set(candidate.modifiers))
