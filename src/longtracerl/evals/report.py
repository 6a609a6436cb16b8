"""``longtracerl eval-compare``: several runs side by side, with the paper's numbers as reference rows.

Each argument is a run folder (``summary.json`` inside) or a folder of run folders (one per
benchmark, e.g. ``results/base/aa-lcr``, ``results/base/mrcr`` ...): a folder of runs becomes one
row. Cells are avg@k in %; ``*`` marks a run that is not complete (some items lack samples) and
``~`` a score from the offline rule judge (an approximation of the LLM judge). The average is over
the paper's five benchmarks that the row has (``(n/5)`` when fewer than five).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from longtracerl.evals.registry import PAPER_BENCHMARKS, PAPER_REFERENCE, get_benchmark
from longtracerl.records import RecordError


def load_runs(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """Summaries under ``path`` by benchmark name."""
    p = Path(path)
    files = [p / "summary.json"] if (p / "summary.json").exists() else sorted(p.glob("*/summary.json"))
    if not files:
        raise FileNotFoundError(
            f"{p}: no summary.json in it or in its sub-folders (run longtracerl eval first)"
        )
    runs: dict[str, dict[str, Any]] = {}
    for f in files:
        try:
            s = json.loads(f.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise RecordError(f, err.lineno, None, f"malformed JSON: {err.msg}") from None
        for field in ("benchmark", "avg_at_k", "complete"):
            if field not in s:
                raise RecordError(f, None, field, "missing required field")
        if s["benchmark"] in runs:
            raise RecordError(f, None, "benchmark", f"a second run of {s['benchmark']} under {p}")
        runs[s["benchmark"]] = s
    return runs


def _title(name: str) -> str:
    try:
        return get_benchmark(name).title
    except Exception:
        return name


def _avg(values: dict[str, float | None]) -> str:
    got = [values[b] for b in PAPER_BENCHMARKS if values.get(b) is not None]
    if not got:
        return "–"
    mean = sum(got) / len(got)
    return f"{mean:.1f}" if len(got) == len(PAPER_BENCHMARKS) else f"{mean:.1f} ({len(got)}/5)"


def compare_table(paths: list[str], labels: list[str] | None = None, *, reference: bool = True) -> str:
    """The markdown comparison table."""
    if labels and len(labels) != len(paths):
        raise ValueError(f"{len(labels)} labels for {len(paths)} runs")
    rows = [(labels[i] if labels else Path(p).name or str(p), load_runs(p)) for i, p in enumerate(paths)]
    extra = sorted({b for _, r in rows for b in r} - set(PAPER_BENCHMARKS))
    cols = [*PAPER_BENCHMARKS, *extra]
    header = "| run | " + " | ".join(_title(b) for b in cols) + " | Avg |"
    lines = [header, "|---" * (len(cols) + 2) + "|"]
    if reference:
        for name, ref in PAPER_REFERENCE.items():
            cells = [f"{ref[b]:.1f}" if b in ref else "" for b in cols]
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {_avg(ref)} |")
    for label, runs in rows:
        cells, values = [], {}
        for b in cols:
            s = runs.get(b)
            if s is None or s["avg_at_k"] is None:
                cells.append("–")
                continue
            values[b] = float(s["avg_at_k"])
            mark = ("*" if not s["complete"] else "") + ("~" if s.get("judge_approximate") else "")
            size = f"{s.get('n_items', '?')}×{s.get('k', '?')}" + (" limit" if s.get("limit") else "")
            cells.append(f"{s['avg_at_k']:.1f}{mark} [{size}]")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {_avg(values)} |")
    lines.append("")
    lines.append(
        "avg@k in %. `[N×k]` items × samples per item (`limit`: --limit cut the benchmark, so not "
        "comparable with a full run). `*` incomplete run, `~` rule judge (approximation). "
        "Paper rows: docs/method.md#the-papers-figures (avg@4)."
    )
    return "\n".join(lines)
