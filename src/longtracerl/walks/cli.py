"""``longtracerl walks``: random walks over the link graph -> RUN/walks.jsonl.

Controlled random walks with mad-walk jumps (docs/method.md#walks). Writes RUN/walks.jsonl (one kept
segment per line), RUN/walks.rejected.jsonl and RUN/walks.state.json; a re-run resumes and continues
to --num-walks. Choosers: related (non-LLM, TF-IDF cosine; default), first (non-LLM), llm (an
OpenAI-compatible endpoint, --llm).
"""

from __future__ import annotations

import argparse

# the flags that stand for a WalksConfig field: flag -> field
_FLAGS = {
    "--num-walks": "num_walks", "--hops": "hops", "--min-unique": "min_unique", "--seed": "seed",
    "--chooser": "chooser", "--llm": "llm",
}  # fmt: skip


def register(subparsers: argparse._SubParsersAction) -> None:
    from longtracerl.cliargs import stage_parser
    from longtracerl.walks.config import WalksConfig

    p = stage_parser(subparsers, "walks", __doc__, example="hops=6", config=WalksConfig, fields=_FLAGS)
    p.set_defaults(func=_handle)


def _handle(args: argparse.Namespace) -> int:
    from longtracerl.cliargs import run_stage_command
    from longtracerl.walks.config import WalksConfig
    from longtracerl.walks.walker import run_walks

    cfg, stats = run_stage_command(args, WalksConfig, _FLAGS.values(), run_walks)
    print(stats.summary())
    return 0 if stats.kept >= cfg.num_walks else 1
