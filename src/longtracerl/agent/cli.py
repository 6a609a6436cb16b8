"""``longtracerl agent``: run the search agent over a run folder's questions."""

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
    from longtracerl.cli import add_config_args, add_executor_args

    p = subparsers.add_parser(
        "agent",
        help="Answer the questions with a search agent; write trajectories.",
        description=(
            "Reads RUN/questions.jsonl, runs up to N attempts per question (stopping at the first "
            "correct one) and writes RUN/trajectories.jsonl, RUN/agent.summary.json and "
            "RUN/agent.rejected.jsonl (dropped questions). Re-running resumes."
        ),
    )
    p.add_argument("--corpus", required=True, metavar="DIR", help="Corpus folder (pages.sqlite, index/).")
    p.add_argument("--run", required=True, metavar="RUN", help="Run folder holding questions.jsonl.")
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
    add_config_args(p)
    add_executor_args(p)
    p.set_defaults(func=_handle)


def _handle(args: argparse.Namespace) -> int:
    from contextlib import closing

    from longtracerl.agent.config import AgentConfig
    from longtracerl.agent.runner import run_agent
    from longtracerl.cli import executor_from_args
    from longtracerl.config import load_config

    overrides: dict = {}
    for flag, field in _FLAGS.items():
        value = getattr(args, flag, None)
        if value is not None:
            overrides[field] = value
    from longtracerl.config import parse_overrides

    merged = {**parse_overrides(args.overrides), **overrides}
    section = None
    if args.config:
        import yaml

        try:
            with open(args.config, encoding="utf-8") as fh:
                data = yaml.safe_load(fh) or {}
        except (OSError, yaml.YAMLError):
            data = {}  # load_config reports the problem precisely
        if isinstance(data, dict) and isinstance(data.get("agent"), dict):
            section = "agent"  # a whole-pipeline config file: use its `agent:` section
    cfg = load_config(AgentConfig, args.config, merged, section=section)
    with closing(executor_from_args(args)) as executor:
        summary = run_agent(args.corpus, args.run, cfg, executor=executor)
    print(json.dumps({k: summary[k] for k in ("questions", "kept", "dropped", "success_rate")}))
    return 0
