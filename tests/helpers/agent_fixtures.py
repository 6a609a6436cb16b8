"""Helpers of the agent tests: a small chain corpus, a tiny BM25, question records."""

from __future__ import annotations

import math
import re
from collections import Counter

from longtracerl.records import Label, Page, Provenance, Question
from longtracerl.search.base import Hit

PAGES = [
    Page(
        id="fest",
        title="Harbor Lights Festival",
        text=(
            "The Harbor Lights Festival is an annual chamber music festival held in the coastal town of "
            "Port Avalon. It was founded by the violinist Marta Quell and takes place every August."
        ),
    ),
    Page(
        id="marta",
        title="Marta Quell",
        text=(
            "Marta Quell is a Danish violinist born in 1971 in Aarhus. She studied at the Royal Danish "
            "Academy of Music and won the Carl Nielsen Prize in 1996."
        ),
    ),
    Page(
        id="avalon",
        title="Port Avalon",
        text=(
            "Port Avalon is a coastal fishing town. The town hosts the Harbor Lights Festival and a "
            "maritime museum that opened in 1923."
        ),
    ),
    Page(
        id="erik",
        title="Erik Lund",
        text="Erik Lund is a Danish cellist born in 1965 in Odense. He teaches chamber music in Aarhus.",
    ),
    Page(
        id="aarhus",
        title="Aarhus",
        text="Aarhus is the second-largest city in Denmark, on the east coast of the Jutland peninsula.",
    ),
    Page(
        id="nielsen",
        title="Carl Nielsen Prize",
        text="The Carl Nielsen Prize is a Danish music award first given in 1979 to composers and players.",
    ),
    Page(
        id="academy",
        title="Royal Danish Academy of Music",
        text="The Royal Danish Academy of Music is a music conservatory in Copenhagen founded in 1867.",
    ),
    Page(
        id="mill",
        title="Old Mill Bakery",
        text="The Old Mill Bakery is a bakery in Leeds that sells bread and cakes since 1950.",
    ),
    Page(
        id="river",
        title="Brook River",
        text="The Brook River is a river in Maine, 42 miles long, flowing into the Atlantic Ocean.",
    ),
    Page(
        id="glass",
        title="Summer Glass Fair",
        text="The Summer Glass Fair is an annual craft fair held in Venice for glass makers since 1988.",
    ),
]

CHAIN_QUESTION = (
    "Start with an annual chamber music festival held in a coastal town every August. "
    "Move to the violinist who founded it, a musician who studied at a royal academy of music. "
    "In what year was this violinist born?"
)


class TinyBM25:
    """A small exact BM25 (k1=1.2, b=0.75) used when the search stage's index is not installed."""

    def __init__(self, pages: list[Page]):
        self.pages = pages
        self.docs = [self._tok(p.title + " " + p.text) for p in pages]
        self.df = Counter(t for d in self.docs for t in set(d))
        self.avg = sum(len(d) for d in self.docs) / len(self.docs)

    @staticmethod
    def _tok(text: str) -> list[str]:
        return re.findall(r"[a-z0-9]+", text.lower())

    def search(self, query: str, k: int = 10) -> list[Hit]:
        q = self._tok(query)
        n = len(self.docs)
        scored = []
        for p, d in zip(self.pages, self.docs, strict=True):
            tf = Counter(d)
            s = 0.0
            for t in q:
                if t not in tf:
                    continue
                idf = math.log(1 + (n - self.df[t] + 0.5) / (self.df[t] + 0.5))
                s += idf * tf[t] * 2.2 / (tf[t] + 1.2 * (0.25 + 0.75 * len(d) / self.avg))
            if s > 0:
                scored.append((s, p))
        scored.sort(key=lambda x: -x[0])
        return [
            Hit(page_id=p.id, title=p.title, snippet=p.text[:120], score=s, rank=i + 1)
            for i, (s, p) in enumerate(scored[:k])
        ]


def make_question(
    qid: str, text: str = CHAIN_QUESTION, answer: str = "1971", gold=("fest", "marta")
) -> Question:
    return Question(
        question_id=qid,
        question=text,
        label=Label(
            answer=answer, rubrics=["Harbor Lights Festival", "Marta Quell"], gold_page_ids=list(gold)
        ),
        provenance=Provenance(stage="questions"),
    )
