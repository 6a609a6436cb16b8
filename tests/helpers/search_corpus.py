"""Test data of the search tests: a small real-text corpus (short encyclopedia-style intros)."""

from __future__ import annotations

import socket
from pathlib import Path

from longtracerl.corpus.store import PageStore
from longtracerl.records import Page

PAGES = [
    Page(
        id="ed-wood-film",
        title="Ed Wood (film)",
        text="Ed Wood is a 1994 American biographical comedy-drama film directed and produced by Tim "
        "Burton, and starring Johnny Depp as the cult filmmaker Ed Wood. The film concerns the period "
        "in Wood's life when he made his best-known films as well as his relationship with actor Bela "
        "Lugosi, played by Martin Landau.",
    ),
    Page(
        id="scott-derrickson",
        title="Scott Derrickson",
        text="Scott Derrickson (born July 16, 1966) is an American director, screenwriter and producer. "
        "He lives in Los Angeles, California. He is best known for directing horror films such as "
        "Sinister, The Exorcism of Emily Rose, and Deliver Us From Evil, as well as the 2016 Marvel "
        "Cinematic Universe installment, Doctor Strange.",
    ),
    Page(
        id="eiffel-tower",
        title="Eiffel Tower",
        text="The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. "
        "It is named after the engineer Gustave Eiffel, whose company designed and built the tower "
        "from 1887 to 1889 as the centerpiece of the 1889 World's Fair.",
    ),
    Page(
        id="python-language",
        title="Python (programming language)",
        text="Python is a high-level, general-purpose programming language. Its design philosophy "
        "emphasizes code readability with the use of significant indentation. Guido van Rossum began "
        "working on Python in the late 1980s as a successor to the ABC programming language.",
    ),
    Page(
        id="amazon-river",
        title="Amazon River",
        text="The Amazon River in South America is the largest river by discharge volume of water in "
        "the world, and the disputed longest river system in the world in comparison to the Nile. "
        "The headwaters of the Apurimac River on Nevado Mismi had been considered its source.",
    ),
    Page(
        id="marie-curie",
        title="Marie Curie",
        text="Marie Salomea Sklodowska-Curie was a Polish and naturalised-French physicist and chemist "
        "who conducted pioneering research on radioactivity. She was the first woman to win a Nobel "
        "Prize, the first person to win a Nobel Prize twice, and the only person to win a Nobel Prize "
        "in two scientific fields.",
    ),
    Page(
        id="great-barrier-reef",
        title="Great Barrier Reef",
        text="The Great Barrier Reef is the world's largest coral reef system, composed of over 2,900 "
        "individual reefs and 900 islands stretching for over 2,300 kilometres over an area of "
        "approximately 344,400 square kilometres. The reef is located in the Coral Sea, off the coast "
        "of Queensland, Australia.",
    ),
    Page(
        id="kilimanjaro",
        title="Mount Kilimanjaro",
        text="Mount Kilimanjaro is a dormant volcano in Tanzania. It has three volcanic cones: Kibo, "
        "Mawenzi, and Shira. It is the highest mountain in Africa and the highest single free-standing "
        "mountain above sea level in the world.",
    ),
    Page(
        id="photosynthesis",
        title="Photosynthesis",
        text="Photosynthesis is a system of biological processes by which photosynthetic organisms, "
        "such as most plants, algae, and cyanobacteria, convert light energy, typically from sunlight, "
        "into the chemical energy necessary to fuel their metabolism.",
    ),
    Page(
        id="ada-lovelace",
        title="Ada Lovelace",
        text="Augusta Ada King, Countess of Lovelace, was an English mathematician and writer chiefly "
        "known for her work on Charles Babbage's proposed mechanical general-purpose computer, the "
        "Analytical Engine. She was the first to recognise that the machine had applications beyond "
        "pure calculation.",
    ),
    Page(
        id="zebra",
        title="Zebra",
        text="These striped African equines have black-and-white coats and live in herds on the savanna.",
    ),
]


def make_corpus(directory: Path, pages: list[Page] = PAGES) -> Path:
    with PageStore.create(directory) as writer:
        for page in pages:
            writer.add(page)
    return directory


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
