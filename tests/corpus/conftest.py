"""Fixtures for the corpus tests (the inputs themselves are built in tests/helpers/corpus_inputs.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.corpus_inputs import hotpot_examples, kilt_records, summaries, write_lines


@pytest.fixture
def kilt_file(tmp_path: Path) -> Path:
    return write_lines(tmp_path / "kilt.jsonl", kilt_records())


@pytest.fixture
def hotpot_file(tmp_path: Path) -> Path:
    p = tmp_path / "hotpot.json"
    p.write_text(json.dumps(hotpot_examples()), encoding="utf-8")
    return p


@pytest.fixture
def summaries_file(tmp_path: Path) -> Path:
    p = tmp_path / "summaries.json"
    p.write_text(json.dumps(summaries(), indent=2), encoding="utf-8")
    return p
