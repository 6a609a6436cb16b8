"""Walks stage (method §1.2): controlled random walks over the link graph with mad-walk jumps.

Public API: :class:`WalksConfig`, :func:`run_walks` (writes ``RUN/walks.jsonl``), :class:`Walker`
(the engine), the chooser registry :data:`CHOOSERS` / :func:`make_chooser`, and the choosers
:class:`RelatedChooser` (non-LLM), :class:`FirstChooser` (non-LLM), :class:`LLMChooser`.
"""

from longtracerl.walks.choosers import (
    CHOOSERS,
    Choice,
    Chooser,
    FirstChooser,
    LLMChooser,
    RelatedChooser,
    make_chooser,
    parse_choice,
)
from longtracerl.walks.config import WalksConfig
from longtracerl.walks.walker import WALKS_FILE, Walker, WalkStats, is_disambiguation, run_walks

__all__ = [
    "CHOOSERS",
    "Choice",
    "Chooser",
    "FirstChooser",
    "LLMChooser",
    "RelatedChooser",
    "WALKS_FILE",
    "WalkStats",
    "Walker",
    "WalksConfig",
    "is_disambiguation",
    "make_chooser",
    "parse_choice",
    "run_walks",
]
