"""``longtracerl questions``: one obfuscated multi-hop question per walk (docs/method.md#questions-and-rubrics)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    from longtracerl.cli import add_config_args, add_executor_args

    p = subparsers.add_parser(
        "questions",
        help="Questions, answers and rubrics from walks -> RUN/questions.jsonl",
        description=(
            "Writes RUN/questions.jsonl (question + label: answer, rubrics, gold pages) and "
            "RUN/questions.rejected.jsonl (counted reasons); a re-run skips walks already handled. "
            "Composers: masked (non-LLM, offline; default; grammar in docs/questions.md), llm (an "
            "OpenAI-compatible endpoint, --llm)."
        ),
    )
    p.add_argument("--corpus", required=True, metavar="DIR", help="Corpus folder (pages.sqlite).")
    p.add_argument("--run", required=True, metavar="RUN", help="Run folder holding walks.jsonl.")
    p.add_argument("--composer", help="masked | llm | module:attr (default masked).")
    p.add_argument("--max-questions", type=int, help="Stop once this many questions are in the file.")
    p.add_argument("--llm", help="LLM spec for --composer llm, e.g. openai:MODEL@http://127.0.0.1:8000/v1.")
    p.add_argument("--no-progress", action="store_true", help="No progress bar.")
    add_config_args(p)
    add_executor_args(p)
    p.set_defaults(func=_handle)


def _handle(args: argparse.Namespace) -> int:
    from contextlib import closing

    from longtracerl.cli import executor_from_args
    from longtracerl.config import load_config, parse_overrides
    from longtracerl.questions.config import QuestionsConfig
    from longtracerl.questions.run import run_questions

    flags = {"composer": args.composer, "max_questions": args.max_questions, "llm": args.llm}
    overrides = {k: v for k, v in flags.items() if v is not None}
    overrides.update(parse_overrides(args.overrides))
    cfg = load_config(QuestionsConfig, args.config, overrides, section="questions")
    with closing(executor_from_args(args)) as executor:
        stats = run_questions(cfg, args.corpus, args.run, progress=not args.no_progress, executor=executor)
    print(stats.summary())
    return 0
