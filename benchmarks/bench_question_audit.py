"""Time the question audit on a finished run folder, and its share of the run's report stage.

    python benchmarks/bench_question_audit.py --run RUN [--corpus DIR] [--repeat 2]

Audits ``RUN/questions.jsonl`` in memory (``audit_questions``, one open index reused across the
repeats, nothing written), prints the seconds of each repeat and per question, then the stage
timings of the run's last invocation (``RUN/run.json``) with the report stage's share of the run
and the part of it spent before the audit section (``RUN/report/report.json`` ``seconds``).
The machine load (1-minute load average) is printed beside the figures: on shared cores they
move with it.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", required=True, type=Path)
    ap.add_argument("--corpus", type=Path, help="default: the corpus recorded in RUN/run.json")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()

    from longtracerl.questions.audit import audit_questions
    from longtracerl.records import Question, read_jsonl
    from longtracerl.search.index import open_retriever

    info = json.loads((args.run / "run.json").read_text(encoding="utf-8"))
    corpus = args.corpus or Path(info["corpus_dir"])
    qs = list(read_jsonl(args.run / "questions.jsonl", Question))
    retriever = open_retriever(corpus)
    for i in range(args.repeat):
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        rows, summary = audit_questions(corpus, qs, retriever=retriever)
        dt = time.perf_counter() - t0
        print(
            f"audit {i + 1}: {len(rows)} questions in {dt:.2f} s ({1000 * dt / max(1, len(rows)):.1f} ms each); "
            f"shortcut {summary['shortcut_pct']} %; load average {load:.2f} on {os.cpu_count()} cores"
        )
    timings = info["invocations"][-1]["timings_s"]
    total = sum(timings.values())
    print(f"run stages (s): {timings}; total {total:.1f} s")
    if total and "report" in timings:
        report = json.loads((args.run / "report" / "report.json").read_text(encoding="utf-8"))
        before = report.get("seconds")
        print(
            f"report stage {timings['report']:.1f} s = {100 * timings['report'] / total:.1f} % of the run; "
            f"before the audit section {before} s, audit section {timings['report'] - (before or 0):.1f} s"
        )


if __name__ == "__main__":
    main()
