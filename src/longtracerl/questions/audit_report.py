"""The question-audit section of ``RUN/report/report.md`` (called once by the report stage).

It audits ``RUN/questions.jsonl`` (:mod:`longtracerl.questions.audit`), adds the summary to
``report.json`` under ``question_audit`` and appends a section to ``report.md``: the audit table,
the hop-count and answer-type plots, and five example questions with their answers and rubrics.
A corpus without a search index gets a one-line note instead of the section.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from longtracerl.records import Question, read_jsonl

if TYPE_CHECKING:
    from longtracerl.search.base import Retriever


log = logging.getLogger(__name__)

EXAMPLES = 5

AUDIT_ROWS = [
    ("Questions audited", "questions", ""),
    (
        "Shortcut: the question, a sentence or a clause alone puts the answer page in the BM25 top 5",
        "shortcut_pct",
        " %",
    ),
    ("Answer string in a top-5 snippet of one piece alone", "answer_in_snippet_pct", " %"),
    ("Questions with a text defect", "defect_questions", ""),
    ("Answer on the last gold page, not in the question, of the asked type", "answer_ok_pct", " %"),
    ("Hops after the first ambiguous alone (BM25 rank > 5)", "ambiguous_alone_pct", " %"),
    ("Hops unique among the previous page's neighbours (BM25)", "unique_given_chain_pct", " %"),
    ("Mean / longest question (characters)", "chars", ""),
]


def audit_table(columns: dict[str, dict[str, Any]]) -> list[str]:
    """Markdown rows of the audit table, one column per audited file (e.g. chain beside masked)."""
    names = list(columns)
    lines = ["| | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for label, key, unit in AUDIT_ROWS:
        cells = []
        for n in names:
            s = columns[n]
            if key == "chars":
                cells.append(f"{s.get('mean_chars')} / {s.get('max_chars')}")
            else:
                v = s.get(key)
                cells.append("n/a" if v is None else f"{v}{unit}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for label, key in (
        ("Defects by kind", "defects"),
        ("Hop counts", "hop_counts"),
        ("Answer types", "answer_types"),
    ):
        cells = [
            ", ".join(f"{k}: {v}" for k, v in (columns[n].get(key) or {}).items()) or "none" for n in names
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def examples(path: Path, n: int = EXAMPLES) -> list[Question]:
    """``n`` questions spread evenly over the file."""
    qs = list(read_jsonl(path, Question))
    if len(qs) <= n:
        return qs
    return [qs[round(i * (len(qs) - 1) / (n - 1))] for i in range(n)]


def render_section(summary: dict[str, Any], sample: list[Question], plots: list[str]) -> list[str]:
    lines = ["", "## Question quality (audit of questions.jsonl)", ""]
    lines += audit_table({"this run": summary})
    lines += [
        "",
        "Per question: `questions.audit.jsonl` in the run folder; rules and checks: docs/questions.md.",
        "",
    ]
    lines += [f"![{Path(p).stem}]({Path(p).name})" for p in plots]
    if sample:
        lines += ["", "### Example questions", ""]
        for q in sample:
            lines += [
                f"- **Q:** {q.question}",
                f"  **Answer:** {q.label.answer}. **Rubrics:** {'; '.join(q.label.rubrics)}",
            ]
    return lines + [""]


def audit_section(
    run_dir: str | os.PathLike,
    corpus_dir: Any,
    out_dir: Path,
    *,
    plots: bool = True,
    retriever: Retriever | None = None,
) -> tuple[dict[str, Any], list[str]] | None:
    """The report's question audit: (its summary for report.json, its markdown lines); None when
    the run has no questions or no corpus. Plots go to ``out_dir``.

    Audit files that are up to date (written after questions.jsonl from the same file, corpus and
    settings) are reused; ``retriever``, the report's open BM25 index of ``corpus_dir``, is reused
    when given."""
    from longtracerl.questions.audit import audit_run
    from longtracerl.search.index import BM25Retriever, IndexNotFound

    run = Path(run_dir)
    if not (isinstance(retriever, BM25Retriever) and retriever.corpus_dir == Path(corpus_dir or "")):
        retriever = None  # a test double or another corpus: the audit opens the corpus's own index
    path = run / "questions.jsonl"
    if not path.exists() or corpus_dir is None:
        return None
    try:
        summary = audit_run(corpus_dir, run, plots=plots, plots_dir=out_dir, retriever=retriever, reuse=True)
        return summary, render_section(summary, examples(path), summary.get("plots", []))
    except (IndexNotFound, FileNotFoundError) as err:
        log.warning("question audit skipped: %s", err)
        return {"skipped": str(err)}, ["", "## Question quality", "", f"Audit skipped: {err}", ""]
