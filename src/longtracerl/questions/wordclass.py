"""Word-class rules without a tagger: is a word a usable kind noun, is a quoted clue word distinctive.

Used by :mod:`~longtracerl.questions.facts` (the head noun of a page's first sentence must be a
noun), by the ``chain`` composer (the rare words it quotes must be content words) and by the
audit (:func:`~longtracerl.questions.audit.text_defects`), so the composer and its measurement use
one rule set.

- :func:`not_noun`: why a lower-case word cannot be the head of ``a/an/that ___``: a participle
  (``held``, ``fought``, ``operating``; ``-ing`` nouns such as ``building`` or ``landing`` pass), an
  adjective (``northern``, ``major``, ``famous``), a function word (``also``, ``himself``) or a
  plural (``stories``; ``series``, ``species``, ``campus`` pass); None for a plausible noun.
- :func:`singular`: ``operators`` -> ``operator``, ``stories`` -> ``story``.
- :func:`distinctive`: a quoted clue word must be a content word: not a function word, adverb
  (``almost``, ``-ly``), ``-ing`` form (``bringing``) or common reporting verb (``mentions``).

Example:
    >>> [not_noun(w) for w in ("held", "operating", "stories", "northern", "building", "film")]
    ['participle', 'participle', 'plural', 'adjective', None, None]
    >>> [distinctive(w) for w in ("almost", "himself", "bringing", "mentions", "fables")]
    [False, False, False, False, True]
"""

from __future__ import annotations

import re

from longtracerl.textfacts import wordset

IRREGULAR_PARTICIPLES = wordset(
    """
    held used fought given worn known born made built taken written drawn shown sung begun sold told
    found won led kept seen spoken chosen driven ridden broken frozen stolen grown thrown flown
    hidden eaten fallen forgotten gotten beaten sworn torn shaken woven sent spent lent bent meant
    dealt felt lost paid said laid sought taught thought brought bought caught struck stuck hung
    spun become gone done bound understood stood sat fed bred fled slain sunk sprung shrunk swum
    rung arisen awoken borne forbidden mistaken overseen overtaken rewritten undertaken withdrawn
    """
)
"""Past participles without ``-ed`` that are not also common nouns (``set``, ``cut``, ``cast`` are)."""

ING_NOUNS = wordset(
    """
    building recording painting landing wedding meeting offering setting clothing ceiling evening
    morning sibling darling duckling viking pudding herring awning bowling boxing wrestling skiing
    surfing sailing rowing fencing housing lodging dwelling crossing opening ending beginning
    gathering uprising warning marking rating ranking listing reading writing drawing carving
    engraving etching printing broadcasting clearing shooting bombing killing stabbing hanging
    bombing mining shipping banking funding spring string thing king ring wing sting sling swing
    """
)
"""``-ing`` words that are nouns as the head of a phrase (``an amphibious landing``)."""

ADJECTIVES = frozenset(
    [
        "main",
        "former",
        "current",
        "famous",
        "notable",
        "popular",
        "large",
        "small",
        "big",
        "great",
        "high",
        "low",
        "long",
        "short",
        "old",
        "new",
        "young",
        "early",
        "late",
        "modern",
        "ancient",
        "public",
        "international",
        "regional",
        "federal",
        "imperial",
        "political",
        "civil",
        "fictional",
        "upper",
        "lower",
        "inner",
        "outer",
        "entire",
        "whole",
        "various",
        "several",
        "other",
        "same",
        "own",
        "certain",
        "particular",
        "specific",
        "northern",
        "southern",
        "eastern",
        "western",
        "northeastern",
        "northwestern",
        "southeastern",
        "southwestern",
        *[
            "greater",
            "bigger",
            "larger",
            "smaller",
            "higher",
            "lower",
            "older",
            "younger",
            "better",
            "worse",
            "longer",
            "shorter",
            "closer",
        ],
        *["further", "newer", "wider"],
    ]
)
"""Adjectives seen as the last word before a cut (``the southern part``); words that are also
common nouns (``general``, ``major``, ``private``, ``official``, ``national``) are left out."""

SINGULAR_S = wordset(
    """
    series species news means bus campus chorus canvas gas alias atlas bias iris lens thesis
    analysis crisis basis oasis axis genus corpus census circus virus status bonus focus apparatus
    consensus syllabus octopus hippopotamus cactus fungus nucleus radius stimulus physics
    mathematics politics economics athletics gymnastics ethics headquarters barracks crossroads
    whereabouts works gallows olympics games championships awards
    """
)
"""Words ending in ``s`` that are singular (or used as singular kinds: ``games``, ``awards``)."""

FUNCTION_WORDS = wordset(
    """
    also almost already always again alone along although among amongst another anyone anything
    around away because become became been before behind being below beside besides between beyond
    both cannot could despite down during each either else elsewhere enough even ever every everyone
    everything except far few first following forth further hence here herein hereby herself himself
    itself myself ourselves themselves yourself yourselves however indeed instead just last later
    latter least less like little many maybe might more most much must near nearly neither never
    next none nonetheless nor nothing now often once only onto other others otherwise over perhaps
    quite rather really same seem seemed seems should since some somehow someone something sometimes
    somewhat soon still such than that then thence there thereafter thereby therefore these they
    this those though through throughout thus together toward towards under unless unlike until upon
    very were what whatever when whenever where whereas whereby wherever whether which while whilst
    whoever whom whose with within without would yet
    """
)
"""Function words and plain adverbs: never a clue word, never a kind."""

COMMON_VERBS = wordset(
    """
    mention mentions mentioned include includes included contain contains contained feature features
    featured describe describes described refer refers referred consider considers considered appear
    appears appeared remain remains remained bring brings brought take takes took make makes give
    gives gave uses used using have has had does did goes went come comes came show shows showed
    seem seems begin begins began get gets got keep keeps kept put puts tell tells told call calls
    called name names named serve serves served continue continues continued involve involves
    involved follow follows followed
    """
)
"""Reporting and light verbs: weak as clue words whatever their corpus frequency."""

_PLAIN = re.compile(r"[a-z][a-z'-]*")
_ADJ_SUFFIX = re.compile(r"(?:ous|ful|less)$")
LY_NOUNS = wordset(
    """
    family assembly ally rally italy monopoly anomaly butterfly dragonfly firefly jelly belly bully
    lily holly folly melancholy supply reply july
    """
)
ED_NOUNS = frozenset(["breed", "creed", "steed", "speed", "tweed", "greed", "hundred"])


def looks_plural(word: str) -> bool:
    """A regular plural (``stories``, ``operators``); not ``series``, ``glass``, ``campus``."""
    w = word.lower()
    if w in SINGULAR_S or len(w) < 4 or not w.endswith("s"):
        return False
    return not w.endswith(("ss", "us", "is", "ics", "ous", "ys"))


def singular(word: str) -> str:
    """The singular of a regular plural: ``stories`` -> ``story``, ``churches`` -> ``church``."""
    w = word.lower()
    if not looks_plural(w):
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("ches", "shes", "xes", "sses", "zes")):
        return w[:-2]
    return w[:-1]


def not_noun(word: str) -> str | None:
    """Why ``word`` cannot head a kind phrase (module docstring); None when it can."""
    w = word.lower()
    if not _PLAIN.fullmatch(w):
        return "not_a_word"
    if w in FUNCTION_WORDS or (w.endswith("ly") and w not in LY_NOUNS):
        return "function_word"
    if w in IRREGULAR_PARTICIPLES or (w.endswith("ed") and len(w) > 4 and w not in ED_NOUNS):
        return "participle"
    if w.endswith("ing") and len(w) > 5 and re.search(r"[aeiouy]", w[:-3]) and w not in ING_NOUNS:
        return "participle"
    if w in ADJECTIVES or _ADJ_SUFFIX.search(w):
        return "adjective"
    if looks_plural(w):
        return "plural"
    return None


def distinctive(word: str) -> bool:
    """Is ``word`` fit to be quoted as a clue (a content word; module docstring)?"""
    w = word.lower()
    if w in FUNCTION_WORDS or w in COMMON_VERBS or w in ADJECTIVES:
        return False
    if w.endswith("ly") and w not in LY_NOUNS:
        return False
    return not (w.endswith("ing") and w not in ING_NOUNS)
