"""Local vs Ray executor on the same work: the overhead of running the stages' items elsewhere.

Usage:
    python benchmarks/bench_executor.py [--questions 120] [--target-tokens 32768]
        [--runs inline,processes,ray] [--workers 2] [--ray-address ADDRESS]

Prepares the embedded HotpotQA corpus once, then runs walks -> questions -> agent -> contexts
(+ rows) into a fresh folder per executor with the same seed and config, and prints per-stage
seconds, the total, the ratio to the in-process run, whether the rows are identical to the
in-process run's (order aside), and the peak RSS of this process and of its children (the local
worker processes; Ray's workers run under the Ray daemons and are not counted). With no
``--ray-address`` a local Ray instance is started (its start-up is timed separately and kept out
of the stage totals, as a cluster is started once for many runs). An untimed in-process run comes
first, so that every timed run finds the token cache and the OS file cache warm.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

STAGES = ("walks", "questions", "agent", "contexts")


def rows_of(run: Path) -> list[str]:
    return sorted(json.dumps(json.loads(line), sort_keys=True) for line in (run / "rows.jsonl").open())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=120)
    ap.add_argument("--target-tokens", type=int, default=32768)
    ap.add_argument("--runs", default="inline,processes,ray")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--ray-address", default=None)
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()

    import logging

    logging.basicConfig(level=logging.WARNING)
    from longtracerl.executor import make_executor
    from longtracerl.run import load_run_config, run_pipeline

    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-executor-"))
    base = [f"walks.num_walks={args.questions}", f"contexts.target_tokens={args.target_tokens}"]
    t0 = time.perf_counter()
    run_pipeline(work / "prep", load_run_config(None, base), stop_after="corpus", progress=False)
    print(f"corpus prepared in {time.perf_counter() - t0:.1f} s ({work / 'prep' / 'corpus'})")
    base.append(f"corpus_dir={work / 'prep' / 'corpus'}")

    executors = {
        "inline": [],
        "processes": [f"executor.workers={args.workers}"],
        "ray": ["executor.kind=ray", f"executor.workers={args.workers}"]
        + ([f"executor.ray_address={args.ray_address}"] if args.ray_address else []),
    }
    # One untimed in-process run first: it fills the corpus's token cache (shared by all runs, see
    # docs/contexts.md) and the OS file cache, so no timed run pays for them.
    t = time.perf_counter()
    run_pipeline(work / "warmup", load_run_config(None, base), stop_after="contexts", progress=False)
    print(f"warm-up run (untimed in the table): {time.perf_counter() - t:.1f} s")
    results: dict[str, dict] = {}
    ref_rows: list[str] | None = None
    for name in args.runs.split(","):
        cfg = load_run_config(None, base + executors[name])
        startup = None
        if name == "ray":  # start (or join) Ray once, outside the stage timings
            t = time.perf_counter()
            warm = make_executor(cfg.executor)
            startup = time.perf_counter() - t
        t = time.perf_counter()
        summary = run_pipeline(work / name, cfg, stop_after="contexts", progress=False)
        total = time.perf_counter() - t
        if name == "ray":
            warm.close()
        timings = json.loads((work / name / "run.json").read_text())["timings_s"]
        rows = rows_of(work / name)
        ref_rows = ref_rows if ref_rows is not None else rows
        results[name] = {
            "stages": {s: timings.get(s) for s in STAGES},
            "total": total,
            "startup": startup,
            "rows": len(rows),
            "same_rows": rows == ref_rows,
            "workers": summary["executor"]["workers"],
        }

    base_total = results[next(iter(results))]["total"]
    print(f"\n{args.questions} walks, contexts of {args.target_tokens} tokens; seconds per stage")
    print(
        f"{'executor':<11}{'workers':>8}"
        + "".join(f"{s:>11}" for s in STAGES)
        + f"{'total':>9}{'ratio':>7}  rows"
    )
    for name, r in results.items():
        cells = "".join(f"{r['stages'][s]:>11.2f}" for s in STAGES)
        extra = f"  (Ray start {r['startup']:.1f} s)" if r["startup"] is not None else ""
        print(
            f"{name:<11}{r['workers']:>8}{cells}{r['total']:>9.1f}{r['total'] / base_total:>7.2f}  "
            f"{r['rows']} {'same' if r['same_rows'] else 'DIFFERENT'}{extra}"
        )
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS: this process {me:.0f} MB, largest child process {kids:.0f} MB")


if __name__ == "__main__":
    main()
