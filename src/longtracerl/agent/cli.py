"""``longtracerl agent``: answer the questions with a search agent; write trajectories.

Reads RUN/questions.jsonl, runs up to N attempts per question (stopping at the first correct one)
and writes RUN/trajectories.jsonl, RUN/agent.summary.json and RUN/agent.rejected.jsonl (dropped
questions). Re-running resumes.
"""

from __future__ import annotations

import argparse
import json

# the flags that stand for an AgentConfig field (shortcuts for --set FIELD=VALUE): flag -> field
_FLAGS = {
    "--policy": "policy", "--attempts": "attempts", "--max-turns": "max_turns", "--concurrency": "concurrency",
    "--top-k": "top_k", "--model": "model", "--tool-mode": "tool_mode", "--judge": "judge", "--seed": "seed",
    "--limit": "limit",
}  # fmt: skip


def register(subparsers: argparse._SubParsersAction) -> None:
    from longtracerl.agent.config import AgentConfig
    from longtracerl.cliargs import stage_parser

    p = stage_parser(subparsers, "agent", __doc__, config=AgentConfig, fields=_FLAGS)
    p.set_defaults(func=_handle)


def _handle(args: argparse.Namespace) -> int:
    from longtracerl.agent.config import AgentConfig
    from longtracerl.agent.runner import run_agent
    from longtracerl.cliargs import run_stage_command

    _, summary = run_stage_command(args, AgentConfig, _FLAGS.values(), run_agent)
    print(json.dumps({k: summary[k] for k in ("questions", "kept", "dropped", "success_rate")}))
    return 0
