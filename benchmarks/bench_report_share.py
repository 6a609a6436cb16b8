"""The report stage's share of a fresh ``longtracerl run`` (issue 14's target: at most 10 % at 32K
and at 128K tokens), in wall seconds and in CPU seconds (user + system, this process).

Runs the whole default chain on the embedded corpus into a new folder and prints each stage's
wall and CPU seconds, the report's share of their sums, the report's own steps (``timings_s`` of
report.json) and the load average before and after. The machine's load moves wall times; the
CPU share moves much less, so both are printed. See docs/report.md#time.

    python benchmarks/bench_report_share.py [--out DIR] [--target-tokens 131072] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="run folder to create (default: a temporary one)")
    ap.add_argument("--target-tokens", type=int, default=None, help="contexts.target_tokens")
    ap.add_argument("--keep", action="store_true", help="keep the run folder")
    args = ap.parse_args()

    import longtracerl.run as run_module
    from longtracerl.cli import main as cli

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench-report-share-")) / "run"
    if out.exists():
        raise SystemExit(f"{out} exists: the share is measured on a fresh run")
    cpu: dict[str, float] = {}
    timed = run_module._Chain._run  # the chain's per-stage call: wrapped to add CPU seconds

    def with_cpu(chain, name, call):
        before = os.times()
        try:
            return timed(chain, name, call)
        finally:
            after = os.times()
            cpu[name] = after.user + after.system - before.user - before.system

    run_module._Chain._run = with_cpu
    argv = ["run", "--out", str(out), "--no-progress"]
    if args.target_tokens:
        argv += ["--target-tokens", str(args.target_tokens)]
    load_before = os.getloadavg()
    code = cli(argv)
    load_after = os.getloadavg()
    if code != 0:
        raise SystemExit(f"longtracerl run exited {code}")
    wall = json.loads((out / "run.json").read_text())["invocations"][-1]["timings_s"]
    report = json.loads((out / "report" / "report.json").read_text())
    print(f"load average (1 min): {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print(f"{'stage':<10} {'wall s':>8} {'cpu s':>8}")
    for name in wall:
        print(f"{name:<10} {wall[name]:>8.2f} {cpu.get(name, float('nan')):>8.2f}")
    total_wall, total_cpu = sum(wall.values()), sum(cpu.values())
    print(
        f"report: {wall['report']:.2f} of {total_wall:.2f} s wall ({100 * wall['report'] / total_wall:.1f} %), "
        f"{cpu['report']:.2f} of {total_cpu:.2f} s CPU ({100 * cpu['report'] / total_cpu:.1f} %)"
    )
    print(f"report steps (s): {report['timings_s']}; {report['measured_questions']} questions measured")
    if not args.keep and not args.out:
        shutil.rmtree(out.parent)


if __name__ == "__main__":
    main()
