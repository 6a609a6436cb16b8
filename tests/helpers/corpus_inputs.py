"""Small corpus inputs written in the real formats (KILT, HotpotQA, summaries, JSONL)."""

from __future__ import annotations

import json
from pathlib import Path


def write_lines(path: Path, objs: list) -> Path:
    """One JSON value per line; a str item is written verbatim (for malformed lines)."""
    with open(path, "w", encoding="utf-8") as fh:
        for obj in objs:
            fh.write((obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)) + "\n")
    return path


def anchor(paragraph_id: int, text: str, wikipedia_id: str | None, title: str | None = None) -> dict:
    a = {
        "paragraph_id": paragraph_id,
        "start": 0,
        "end": len(text),
        "text": text,
        "href": text.replace(" ", "%20"),
    }
    if title is not None:
        a["wikipedia_title"] = title
    if wikipedia_id is not None:
        a["wikipedia_id"] = wikipedia_id
    return a


def kilt_records() -> list[dict]:
    """Four KILT knowledge-source pages (structure of kilt_knowledgesource.json)."""
    return [
        {
            "_id": "1",
            "wikipedia_id": "1",
            "wikipedia_title": "Alpha Centauri",
            "text": [
                "Alpha Centauri\n",
                "Alpha Centauri is near Beta Pictoris and Gamma Draconis.\n",
                "Section::::History.\n",
                "It was catalogued with Delta Scuti.\n",
                "Section::::See also.\n",
                "BULLET::::- Epsilon Eridani\n",
                "Section::::References.\n",
                "Some reference.\n",
            ],
            "anchors": [
                anchor(1, "Beta Pictoris", "2", "Beta Pictoris"),
                anchor(1, "Gamma Draconis", None, "Gamma Draconis"),  # no id: resolved by title
                anchor(3, "Delta Scuti", "4", "Delta Scuti"),
                anchor(5, "Epsilon Eridani", "5", "Epsilon Eridani"),  # in See also: dropped
                anchor(7, "Nowhere", "999", "Nowhere"),  # in References: dropped
            ],
            "categories": "Stars",
        },
        {
            "wikipedia_id": "2",
            "wikipedia_title": "Beta Pictoris",
            "text": [
                "Beta Pictoris\n",
                "Beta Pictoris is a star; see Alpha Centauri.\n",
                "== External links ==\n",  # a plain heading (no KILT markup)
                "Link to Gamma Draconis.\n",
            ],
            "anchors": [anchor(1, "Alpha Centauri", "1", "Alpha Centauri"), anchor(3, "Gamma Draconis", "3")],
        },
        {
            "wikipedia_id": 3,  # an integer id is accepted
            "wikipedia_title": "Gamma Draconis",
            "text": ["Gamma Draconis\n", "Gamma Draconis is a star in Draco.\n"],
        },  # no anchors at all
        {
            "wikipedia_id": "4",
            "wikipedia_title": "Delta Scuti",
            "text": [
                "Delta Scuti\n",
                "Section::::Career.:Notes.\n",
                "Cut from here.\n",
            ],  # empty after the cut
            "anchors": [],
        },
    ]


def hotpot_examples() -> list[dict]:
    return [
        {
            "_id": "q1",
            "question": "?",
            "answer": "a",
            "type": "bridge",
            "level": "hard",
            "supporting_facts": [["Ed Wood (film)", 0]],
            "context": [
                ["Ed Wood (film)", ["Ed Wood is a 1994 film by Tim Burton.", " It stars Johnny Depp."]],
                ["Tim Burton", ["Tim Burton is a director.", " He made Ed Wood."]],
            ],
        },
        {
            "_id": "q2",
            "question": "?",
            "answer": "b",
            "type": "comparison",
            "level": "easy",
            "supporting_facts": [],
            "context": [
                ["Tim Burton", ["A different paragraph (the first one wins)."]],
                ["Johnny Depp", ["Johnny Depp acted in Ed Wood for Tim Burton."]],
                ["Empty Page", []],
            ],
        },
    ]


def summaries() -> dict:
    return {
        "Alan Turing": {
            "title": "Alan Turing",
            "extract": "Alan Turing was a mathematician who worked on the Turing machine.",
            "description": "English mathematician",
            "topic": "People",
        },
        "Turing machine": {
            "title": "Turing machine",
            "extract": "A Turing machine is a model of computation described by Alan Turing.",
            "description": "Model of computation",
            "topic": "Mathematics",
        },
        "Nothing": {"title": "Nothing", "extract": "", "description": "", "topic": "Uncategorized"},
    }
