"""Fixtures for the corpus tests (the inputs themselves are built in corpus_inputs.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

# the helpers module is imported by name from the test files too: make that work under any
# pytest import mode (and with or without __init__.py files in tests/)
sys.path.insert(0, str(Path(__file__).parent))

from corpus_inputs import hotpot_examples, kilt_records, summaries, write_lines  # noqa: E402


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
