"""Fixtures of the agent tests (helpers in tests/helpers/agent_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from longtracerl.corpus.store import PageStore
from longtracerl.records import Question, write_jsonl
from tests.helpers.agent_fixtures import PAGES, TinyBM25


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    with PageStore.create(d) as w:
        for p in PAGES:
            w.add(p)
    return d


@pytest.fixture
def store(corpus_dir: Path) -> PageStore:
    return PageStore(corpus_dir)


@pytest.fixture
def retriever(corpus_dir: Path):
    """The real BM25 index of the search stage when installed, else :class:`TinyBM25`."""
    try:
        from longtracerl.search.index import build_index, open_retriever
    except ImportError:
        return TinyBM25(PAGES)
    build_index(corpus_dir, progress=False)
    return open_retriever(corpus_dir)


@pytest.fixture
def run_dir(tmp_path: Path):
    def make(name: str, questions: list[Question]) -> Path:
        d = tmp_path / name
        write_jsonl(d / "questions.jsonl", questions)
        return d

    return make
