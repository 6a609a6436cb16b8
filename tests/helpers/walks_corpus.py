"""A small, real-looking encyclopedia corpus for the walks and questions tests.

Pages are short intro paragraphs in the style of Wikipedia leads (people, films, places, bands,
companies) that mention each other by name; links are rebuilt from title mentions (the
parenthesis-stripped title, whole words, longest match), as the corpus stage does for corpora
without anchors. Deterministic for a given seed.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from longtracerl.corpus.graph import LinkGraph
from longtracerl.corpus.store import PageStore
from longtracerl.records import Page
from longtracerl.text import PatternMatcher

FIRST = [
    "Aldous",
    "Beatrix",
    "Cormac",
    "Delphine",
    "Emrys",
    "Fiona",
    "Gideon",
    "Hollis",
    "Isolde",
    "Jasper",
    "Kestrel",
    "Leona",
    "Magnus",
    "Nerys",
    "Oren",
]
LAST = [
    "Harrowgate",
    "Pemberton",
    "Ashcombe",
    "Thistlewood",
    "Ravensworth",
    "Caldecott",
    "Fairweather",
    "Holloway",
    "Blackwood",
    "Merriweather",
    "Sandoval",
    "Whitlock",
    "Ellery",
    "Kingsley",
    "Marchetti",
]
FILM_WORDS = [
    "Silent Harbor",
    "Northern Lights Over Aberly",
    "The Glass Orchard",
    "Midnight at Calloway Station",
    "Paper Lanterns",
    "The Hollow Crown of Ysel",
    "Winter Ferry",
    "A Quiet Rebellion",
]
PLACES = [
    ("Port Elden, Maine", "city", "Maine"),
    ("Carrow Bay", "town", "Cornwall"),
    ("Westmere", "village", "Yorkshire"),
    ("Lake Ondrava", "lake", "Slovakia"),
    ("Brightwater County", "county", "Ohio"),
    ("Saint Aubyn", "town", "Jersey"),
]
BANDS = ["The Velvet Cartographers", "Hollow Pines", "Marigold Static", "The Ferrymen"]
COMPANIES = ["Aberly Pictures", "Northwind Records", "Calloway Broadcasting"]


def make_pages(seed: int = 0) -> list[Page]:
    rng = random.Random(seed)
    people = [f"{f} {s}" for f, s in zip(FIRST, LAST, strict=True)]
    films = [f"{w} (film)" if i % 2 == 0 else w for i, w in enumerate(FILM_WORDS)]
    titles = people + films + [p[0] for p in PLACES] + BANDS + COMPANIES
    strip = {t: re.sub(r"\s*\([^()]*\)$", "", t) for t in titles}
    pages: list[Page] = []

    def mentions(k: int, exclude: str) -> list[str]:
        pool = [strip[t] for t in titles if t != exclude]
        return rng.sample(pool, k)

    for i, name in enumerate(people):
        born = 1931 + 3 * i
        role = rng.choice(["actor", "film director", "singer-songwriter", "novelist", "record producer"])
        m = mentions(5, name)
        text = (
            f"{name} (born {rng.choice(['March', 'June', 'October'])} {1 + i}, {born}) is a "
            f"{rng.choice(['British', 'American', 'Irish'])} {role}. "
            f"{name.split()[-1]} is best known for work with {m[0]} and {m[1]}, and appeared in {m[2]}. "
            f"{name.split()[-1]} later lived in {m[3]} and recorded with {m[4]}. "
            f"Over a career of {20 + i} years {name.split()[-1]} won {3 + i % 5} national awards."
        )
        pages.append(Page(id=f"p{i}", title=name, text=text))
    for j, title in enumerate(films):
        name = strip[title]
        year = 1962 + 4 * j
        m = mentions(5, title)
        text = (
            f"{name} is a {year} {rng.choice(['drama', 'thriller', 'musical comedy'])} film directed by {m[0]} "
            f"and produced by {m[1]}. The film stars {m[2]} and was shot on location in {m[3]}. "
            f"Its soundtrack was released by {m[4]} and it earned {12 + j} million dollars."
        )
        pages.append(Page(id=f"f{j}", title=title, text=text))
    for k, (name, kind, region) in enumerate(PLACES):
        m = mentions(4, name)
        text = (
            f"{name} is a {kind} in {region}. Its population was {1200 + 311 * k} at the 2010 census. "
            f"Notable residents include {m[0]} and {m[1]}, and the {kind} appears in {m[2]}. "
            f"It is twinned with {m[3]}."
        )
        pages.append(Page(id=f"l{k}", title=name, text=text))
    for b, name in enumerate(BANDS):
        m = mentions(5, name)
        text = (
            f"{name} are an indie rock band formed in {1985 + 2 * b} in {m[0]}. "
            f"The band was founded by {m[1]} and {m[2]} and signed to {m[3]}. "
            f"Their third album was produced by {m[4]}."
        )
        pages.append(Page(id=f"b{b}", title=name, text=text))
    for c, name in enumerate(COMPANIES):
        m = mentions(4, name)
        text = (
            f"{name} is an independent media company founded in {1970 + 5 * c} by {m[0]}. "
            f"It is headquartered in {m[1]} and distributed {m[2]} and {m[3]}."
        )
        pages.append(Page(id=f"c{c}", title=name, text=text))
    # hard cases: a disambiguation page with many links, and a poorly linked page
    pages.append(
        Page(
            id="d0",
            title="Harrowgate (disambiguation)",
            text="Harrowgate may refer to: " + ", ".join(strip[t] for t in titles[:12]) + ".",
        )
    )
    pages.append(Page(id="x0", title="Obscure Footnote", text=f"A minor note about {strip[titles[0]]}."))
    return pages


def build_corpus(path: Path, seed: int = 0) -> Path:
    """Write pages.sqlite and graph.npz (title-mention links) into ``path``; return it."""
    pages = make_pages(seed)
    path.mkdir(parents=True, exist_ok=True)
    with PageStore.create(path) as w:
        for p in pages:
            w.add(p)
    forms = [re.sub(r"\s*\([^()]*\)$", "", p.title) for p in pages]
    matcher = PatternMatcher(
        [f if "(disambiguation)" not in p.title else "" for f, p in zip(forms, pages, strict=True)]
    )
    src, dst = [], []
    for i, p in enumerate(pages):
        for _s, _e, j in matcher.mentions(p.text):
            src.append(i)
            dst.append(j)
    # the disambiguation page is linked from a few pages (so walks meet it as a neighbour)
    for i in range(0, 15, 3):
        src.append(i)
        dst.append(len(pages) - 2)
    src.append(1)
    dst.append(len(pages) - 1)
    LinkGraph.from_edges(len(pages), src, dst).save(path / "graph.npz")
    return path
