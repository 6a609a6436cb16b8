"""User benchmarks as ``--benchmark tests.helpers.eval_benchmarks:<attr>`` names them (docs/evals.md).

``PLAIN`` implements only the :class:`~longtracerl.evals.base.Benchmark` protocol (its own ``load``);
``Tiny`` is a :class:`~longtracerl.evals.base.FileBenchmark` subclass that writes only ``item`` and
``score`` and records what the shared ``load`` called.
"""

from __future__ import annotations

import json
from pathlib import Path

from longtracerl.evals.base import FileBenchmark, Score
from longtracerl.evals.items import EvalItem, Prompt


def exact(item: EvalItem, content: str) -> Score:
    return Score(1.0 if content.strip() == item.answer else 0.0, content.strip())


class Plain:
    name = "plain"
    title = "Plain"
    uses_judge = False

    def load(self, path, cfg):
        rows = json.loads(Path(path).read_text(encoding="utf-8"))
        return [
            EvalItem(f"plain-{i}", r["a"], r["q"], Prompt("Q: ", r["q"], "\nA:")) for i, r in enumerate(rows)
        ]

    def score(self, item, content, judge):
        return exact(item, content)


PLAIN = Plain()


class Tiny(FileBenchmark):
    name = "tiny"
    title = "Tiny"
    uses_judge = False
    data_hint = "PATH (a JSONL of {q, a})"
    fields = ("q", "a")
    starts = 0  # loads started, counted on the class (each load runs on a copy of the benchmark)

    def start(self, path, cfg):
        type(self).starts += 1

    def item(self, row, line, path, cfg):
        if row.get("skip"):
            return None
        return EvalItem(f"tiny-{line}", str(row["a"]), str(row["q"]), Prompt("", str(row["q"]), ""))

    def score(self, item, content, judge):
        return exact(item, content)
