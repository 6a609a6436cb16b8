"""A markdown-like JSONL corpus (headings, lists, emphasis, links) for the page-text and audit tests.

People, bands and towns that mention each other by name; every page carries markdown the way
notes exported from a wiki or a docs site do (``# Title``, ``## Family``, ``- item``, ``**bold**``,
``[text](url)``). Deterministic for a seed.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

FIRST = [
    "Arlo",
    "Brenna",
    "Caspian",
    "Dagny",
    "Ewan",
    "Freya",
    "Gustav",
    "Hedda",
    "Ivor",
    "Juno",
    "Kai",
    "Liesel",
]
LAST = [
    "Vantongeren",
    "Oakhurst",
    "Brightwater",
    "Quillfeather",
    "Stonebridge",
    "Marlowe",
    "Fenwick",
    "Larkspur",
    "Thornbury",
    "Ashdown",
    "Wexley",
    "Penhallow",
]
BANDS = [
    "The Copper Gulls",
    "Velvet Orchard",
    "Northbound Static",
    "The Lantern Hymns",
    "Paper Tigress",
    "Glass Meridian",
]
TOWNS = ["Harrowby", "Eskdale Cross", "Wrenfield", "Saltmarsh Bay", "Kilnsey", "Brackenridge"]
NATS = ["American", "British", "Canadian", "Irish"]
JOBS = ["singer", "guitarist", "drummer", "novelist", "painter", "actor"]


def make_rows(seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    people = [f"{f} {s}" for f, s in zip(FIRST, LAST, strict=True)]
    rows = []
    for i, name in enumerate(people):
        band, town, other = BANDS[i % len(BANDS)], TOWNS[(i * 5) % len(TOWNS)], people[(i + 3) % len(people)]
        text = (
            f"# {name}\n\n**{name}** (born {rng.choice(['May', 'June'])} {i + 2}, {1950 + 4 * i}) is an "
            f"{NATS[i % 4]} {JOBS[i % len(JOBS)]}.\n\n## Career\n"
            f"- Joined [{band}](https://example.org/{i}) in {1975 + 3 * i}.\n"
            f"- Lives in *{town}*.\n\n## Family\nThe sister of {name} is {other}."
        )
        rows.append({"id": f"p{i}", "title": name, "text": text})
    for b, band in enumerate(BANDS):
        members = [people[b], people[b + len(BANDS)]]
        text = (
            f"# {band}\n\n{band} is a {NATS[b % 4]} rock band formed in {1970 + 5 * b} in "
            f"{TOWNS[b]}.\n\n## Members\n- {members[0]}\n- {members[1]}\n\n"
            f"== Albums ==\nTheir third album was produced by {people[(b + 7) % len(people)]}."
        )
        rows.append({"id": f"b{b}", "title": band, "text": text})
    for t, town in enumerate(TOWNS):
        text = (
            f"# {town}\n\n{town} is a town in England. Its population was {2000 + 137 * t} at the 2011 "
            f"census.\n\n## Notable people\n* {people[t]}\n* {people[t + 6]}\n\n"
            f"The town hosts the festival of [[{BANDS[t]}|{BANDS[t]}]] every summer."
        )
        rows.append({"id": f"t{t}", "title": town, "text": text})
    return rows


def write_jsonl(path: Path, seed: int = 0) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in make_rows(seed)), encoding="utf-8")
    return path
