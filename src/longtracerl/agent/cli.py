"""``longtracerl agent``: answer the questions with a search agent; write trajectories.

Reads RUN/questions.jsonl, runs up to N attempts per question (stopping at the first correct one)
and writes RUN/trajectories.jsonl, RUN/agent.summary.json and RUN/agent.rejected.jsonl (dropped
questions). Re-running resumes.
"""

from __future__ import annotations

import argparse
import json

# flag -> config field (flags are shortcuts for --set KEY=VALUE)
_FLAGS = {
    "policy": "policy",
    "attempts": "attempts",
    "max_turns": "max_turns",
    "concurrency": "concurrency",
    "top_k": "top_k",
    "model": "model",
    "tool_mode": "tool_mode",
    "judge": "judge",
    "seed": "seed",
    "limit": "limit",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    from longtracerl.cliargs import stage_parser

    p = stage_parser(subparsers, "agent", __doc__)
    p.add_argument(
        "--policy",
        help="retrieval (offline non-LLM search agent, default) | clauses (earlier agent for masked "
        "questions) | llm (chat model with tools) | module:attr",
    )
    p.add_argument("--attempts", type=int, help="Attempts per question (default 5).")
    p.add_argument("--max-turns", dest="max_turns", type=int, help="Tool calls per attempt.")
    p.add_argument("--concurrency", type=int, help="Questions at once (LLM policy).")
    p.add_argument("--top-k", dest="top_k", type=int, help="Search results per query.")
    p.add_argument(
        "--model", help="Chat model spec for --policy llm, e.g. openai:NAME@http://127.0.0.1:8000/v1"
    )
    p.add_argument("--tool-mode", dest="tool_mode", choices=["native", "json", "auto"])
    p.add_argument("--judge", choices=["rule", "llm"], help="Correctness check (default rule).")
    p.add_argument("--seed", type=int)
    p.add_argument("--limit", type=int, help="Only the first N questions.")
    p.set_defaults(func=_handle)


def _handle(args: argparse.Namespace) -> int:
    from contextlib import closing

    from longtracerl.agent.config import AgentConfig
    from longtracerl.agent.runner import run_agent
    from longtracerl.cliargs import executor_from_args, require, stage_config

    require(args, "corpus", "run")
    cfg = stage_config(AgentConfig, args, _FLAGS, "agent")
    with closing(executor_from_args(args)) as executor:
        summary = run_agent(cfg, args.corpus, args.run, progress=not args.no_progress, executor=executor)
    print(json.dumps({k: summary[k] for k in ("questions", "kept", "dropped", "success_rate")}))
    return 0
