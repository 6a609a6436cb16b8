"""``longtracerl report``: difficulty report: confusability per strategy vs the paper, agent success, lengths, plots.

Re-assembles the contexts of every strategy in memory for a sample of the run's questions and
writes RUN/report/report.md, report.json and PNG plots.
"""

from __future__ import annotations

import argparse

# the flags that stand for a ReportConfig field: flag -> field
_FLAGS = {"--max-questions": "max_questions", "--target-tokens": "target_tokens", "--seed": "seed"}


def register(subparsers: argparse._SubParsersAction) -> None:
    from longtracerl.cliargs import stage_parser
    from longtracerl.report.config import ReportConfig

    p = stage_parser(
        subparsers,
        "report",
        __doc__,
        run="Run folder (required unless --train).",
        corpus=None,
        executor=False,
        config=ReportConfig,
        fields=_FLAGS,
    )
    p.add_argument(
        "--train",
        metavar="DIR",
        action="append",
        help="Instead: plot a training run's metrics.jsonl (repeat to overlay runs; see docs/training.md).",
    )
    p.add_argument("--corpus", metavar="DIR", help="Corpus folder (default: the one recorded by contexts).")
    p.add_argument("--no-plots", dest="no_plots", action="store_true")
    p.set_defaults(func=_handle)


def _handle(args: argparse.Namespace) -> int:
    if args.train:
        from longtracerl.train.plot import plot_runs

        print(f"report: {plot_runs(args.train)}")
        return 0
    if not args.run:
        from longtracerl.config import ConfigError

        raise ConfigError("report: --run RUN (or --train DIR) is required")
    from pathlib import Path

    from longtracerl.cliargs import stage_config
    from longtracerl.report.config import ReportConfig
    from longtracerl.report.stage import write_report
    from longtracerl.runfolder import record_alone

    cfg = stage_config(
        ReportConfig, args, _FLAGS.values(), "report", **({"plots": False} if args.no_plots else {})
    )
    rep = write_report(args.run, args.corpus, cfg, progress=not args.no_progress)
    record_alone(Path(args.run), "report", cfg, complete=True)
    print("\n".join(rep["ordering"]))
    print(f"report: {args.run}/report/report.md")
    return 0
