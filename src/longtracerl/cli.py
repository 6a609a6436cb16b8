"""The ``longtracerl`` command: one subcommand per stage, plus ``run`` for the whole chain.

Each stage module exposes ``register(subparsers)``, which adds its parser and sets ``func`` (the
handler, called with the parsed args; returns an exit code). Stage CLI modules import nothing
heavy at module level, so ``longtracerl --help`` stays fast.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import Any

from longtracerl import __version__
from longtracerl.config import ConfigError
from longtracerl.executor import SetupFailed, TooManyFailures
from longtracerl.llm.base import LLMError
from longtracerl.records import RecordError

# subcommand modules, in the order they appear in --help
COMMAND_MODULES: list[str] = [
    "longtracerl.run",
    "longtracerl.corpus.cli",
    "longtracerl.walks.cli",
    "longtracerl.questions.cli",
    "longtracerl.agent.cli",
    "longtracerl.search.cli",
    "longtracerl.contexts.cli",
    "longtracerl.report.cli",
    "longtracerl.rewards.cli",
    "longtracerl.evals.cli",
    "longtracerl.train.cli",
]


def add_config_args(parser: argparse.ArgumentParser, example: str | None = None) -> None:
    """The two config flags every stage takes: a YAML file and ``--set key=value`` overrides
    (``example``: a ``--set`` that works for this command, shown in its help)."""
    parser.add_argument("--config", metavar="FILE", help="YAML config file (see configs/).")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Override one config field (repeatable; a dotted KEY reaches a nested one)"
        + (f", e.g. --set {example}." if example else "."),
    )


def add_executor_args(parser: argparse.ArgumentParser) -> None:
    """``--executor``, ``--workers`` and ``--ray-address``: where a stage's items run."""
    g = parser.add_argument_group("where the items run (see docs/executors.md)")
    g.add_argument(
        "--executor",
        choices=["local", "ray"],
        help="local (default: in this process, or --workers N processes) or ray (a cluster given by "
        "--ray-address, else a local Ray instance). Same outputs either way.",
    )
    g.add_argument(
        "--workers", type=int, help="Workers: local 1 = in-process, N = processes; 0 = one per CPU."
    )
    g.add_argument(
        "--ray-address", help="Ray cluster to join: auto, HOST:PORT or ray://HOST:PORT (implies ray)."
    )


def executor_overrides(args: argparse.Namespace, prefix: str = "") -> list[str]:
    """The executor flags as ``KEY=VALUE`` overrides of an :class:`~longtracerl.executor.ExecutorConfig`."""
    out = []
    if args.executor:
        out.append(f"{prefix}kind={args.executor}")
    if args.ray_address:
        if args.executor == "local":
            raise ConfigError("--ray-address needs --executor ray")
        out += [f"{prefix}kind=ray", f"{prefix}ray_address={args.ray_address}"]
    if args.workers is not None:
        out.append(f"{prefix}workers={args.workers}")
    return out


def executor_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~longtracerl.executor.Executor` the stage flags ask for (close it when done)."""
    from longtracerl.config import load_config
    from longtracerl.executor import ExecutorConfig, make_executor

    return make_executor(load_config(ExecutorConfig, None, executor_overrides(args)))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="longtracerl",
        description=(
            "Turn a document corpus into hard long-context reasoning data (LongTraceRL) and train on it.\n"
            "Flow: corpus -> link graph -> walks -> questions -> agent trajectories -> contexts -> rows."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"longtracerl {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="Debug logging.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("longtracerl").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ConfigError, RecordError, FileNotFoundError, SetupFailed) as err:
        print(f"longtracerl {args.command}: error: {err}", file=sys.stderr)
        return 2
    except (
        LLMError,
        OSError,
        TooManyFailures,
    ) as err:  # endpoint gone, disk full, ...: what was written is kept
        if isinstance(err, PermissionError) or getattr(err, "errno", None) == errno.EROFS:
            print(
                f"longtracerl {args.command}: error: {err.filename or 'a file'} is not writable "
                f"({err.strerror}); pick another output folder or fix its permissions",
                file=sys.stderr,
            )
            return 1
        print(
            f"longtracerl {args.command}: error: {err}\n"
            "completed items are kept; run the same command again to resume",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("interrupted; completed items are kept and a re-run resumes", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
