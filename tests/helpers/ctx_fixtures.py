"""Shared test helpers of the contexts and report stages: a tiny page store, questions,
trajectories, a fake retriever and the fixtures built on them (imported by their conftest.py)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from longtracerl.contexts.tokenizer import load_tokenizer
from longtracerl.corpus.store import PageStore
from longtracerl.records import Label, Page, Provenance, Question, Trajectory, write_jsonl
from longtracerl.search.base import Hit

WORDS = [
    "river",
    "city",
    "music",
    "album",
    "band",
    "film",
    "actor",
    "river",
    "bridge",
    "castle",
    "war",
    "king",
    "queen",
    "painter",
    "novel",
    "physics",
    "island",
    "mountain",
    "school",
    "football",
    "league",
    "opera",
    "garden",
    "church",
    "harbour",
    "railway",
]


class FakeRetriever:
    """Scores pages by query-word overlap (a stand-in for BM25 in unit tests)."""

    def __init__(self, store: PageStore):
        self.pages = list(store.iter_pages())
        self.calls: list[tuple[str, int]] = []

    def search(self, query: str, k: int = 10) -> list[Hit]:
        self.calls.append((query, k))
        q = set(re.findall(r"\w+", query.lower()))
        scored = []
        for p in self.pages:
            words = re.findall(r"\w+", (p.title + " " + p.text).lower())
            s = sum(w in q for w in words)
            if s:
                scored.append((-s, p.id, p))
        scored.sort()
        return [
            Hit(page_id=p.id, title=p.title, snippet=p.text[:50], score=float(-s), rank=i + 1)
            for i, (s, _, p) in enumerate(scored[:k])
        ]


def make_store(
    path: Path, n: int = 300, seed: int = 0, min_words: int = 20, max_words: int = 120
) -> PageStore:
    rng = random.Random(seed)
    with PageStore.create(path) as w:
        for i in range(n):
            words = [rng.choice(WORDS) for _ in range(rng.randint(min_words, max_words))]
            w.add(Page(id=f"p{i}", title=f"Page {i} {rng.choice(WORDS).title()}", text=" ".join(words) + "."))
    return PageStore(path)


def make_question(
    qid: str, gold: list[str], rubrics: list[str] | None = None, answer: str = "Answer"
) -> Question:
    return Question(
        question_id=qid,
        question=f"Which river flows past the castle in question {qid}?",
        label=Label(
            answer=answer, rubrics=rubrics if rubrics is not None else ["river", "castle"], gold_page_ids=gold
        ),
        provenance=Provenance(stage="questions", seed=0),
    )


def make_traj(qid: str, seen, opened, cited, correct=True, attempt=1) -> Trajectory:
    return Trajectory(
        question_id=qid,
        attempt=attempt,
        policy="test",
        seen_ids=list(seen),
        opened_ids=list(opened),
        cited_ids=list(cited),
        correct=correct,
        provenance=Provenance(stage="agent"),
    )


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Token-count caches of the tiny test corpora stay out of the user's cache."""
    monkeypatch.setenv("LONGTRACERL_CACHE", str(tmp_path_factory.getbasetemp() / "ltr-cache"))


@pytest.fixture(scope="session")
def tok():
    return load_tokenizer()


@pytest.fixture
def store(tmp_path):
    return make_store(tmp_path / "corpus")


@pytest.fixture
def run_dir(tmp_path):
    """A run with 12 questions; question i has gold pages (3i, 3i+1) and a correct trajectory."""
    run = tmp_path / "run"
    run.mkdir()
    qs, ts = [], []
    for i in range(12):
        g = [f"p{3 * i}", f"p{3 * i + 1}"]
        qs.append(make_question(f"q{i}", g))
        seen = [f"p{200 + (i * 7 + j) % 100}" for j in range(20)] + g
        opened = seen[:5] + g
        ts.append(make_traj(f"q{i}", seen, opened, cited=g, correct=False, attempt=1))
        ts.append(make_traj(f"q{i}", seen, opened, cited=g, correct=i != 11, attempt=2))
    write_jsonl(run / "questions.jsonl", qs)
    write_jsonl(run / "trajectories.jsonl", ts)
    return run
