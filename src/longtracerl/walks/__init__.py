"""Walks stage (docs/method.md#walks): controlled random walks over the link graph with mad-walk jumps.

Public API: :class:`WalksConfig`, :func:`run_walks` (writes ``RUN/walks.jsonl``), :class:`Walker`
(the engine), the chooser registry :data:`CHOOSERS` / :func:`make_chooser`, and the choosers
:class:`RelatedChooser` (non-LLM), :class:`FirstChooser` (non-LLM), :class:`LLMChooser`.
Names are imported lazily, so ``longtracerl --help`` does not load numpy.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CHOOSERS": "choosers",
    "Choice": "choosers",
    "Chooser": "choosers",
    "FirstChooser": "choosers",
    "LLMChooser": "choosers",
    "RelatedChooser": "choosers",
    "make_chooser": "choosers",
    "parse_choice": "choosers",
    "WalksConfig": "config",
    "WALKS_FILE": "walker",
    "WalkStats": "walker",
    "Walker": "walker",
    "is_disambiguation": "walker",
    "run_walks": "walker",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'longtracerl.walks' has no attribute {name!r}")
    return getattr(importlib.import_module(f"longtracerl.walks.{module}"), name)


def __dir__() -> list[str]:
    return __all__
