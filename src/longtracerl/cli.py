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
