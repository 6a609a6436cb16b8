"""``longtracerl questions``: questions, answers and rubrics from walks -> RUN/questions.jsonl.

One obfuscated multi-hop question per walk (docs/method.md#questions-and-rubrics). Writes
RUN/questions.jsonl (question + label: answer, rubrics, gold pages) and RUN/questions.rejected.jsonl
(counted reasons); a re-run skips walks already handled. Composers: chain (non-LLM; default), masked
(non-LLM; grammar in docs/questions.md), llm (an OpenAI-compatible endpoint, --llm).
"""

from __future__ import annotations

import argparse

# the flags that stand for a QuestionsConfig field: flag -> field
_FLAGS = {"--composer": "composer", "--max-questions": "max_questions", "--llm": "llm"}


def register(subparsers: argparse._SubParsersAction) -> None:
    from longtracerl.cliargs import stage_parser
    from longtracerl.questions.config import QuestionsConfig

    p = stage_parser(subparsers, "questions", __doc__, config=QuestionsConfig, fields=_FLAGS)
    p.add_argument(
        "--walks",
        metavar="FILE",
        help="Compose from this walks file instead of RUN/walks.jsonl (recorded with its hash in "
        "RUN/questions.stamp.json).",
    )
    p.set_defaults(func=_handle)
    sub = p.add_subparsers(dest="questions_command", metavar="ACTION")
    _register_import(sub)
    _register_audit(sub)


def _register_import(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import",
        help="Questions from an existing QA set (HotpotQA, JSONL) -> RUN/questions.jsonl",
        description=(
            "Writes RUN/questions.jsonl from an existing QA set: rubrics = the gold titles in order, "
            "gold page ids resolved by title in the corpus; items that cannot be resolved go to "
            "RUN/questions.rejected.jsonl with the reason. See docs/import.md."
        ),
    )
    p.add_argument("--source", default="hotpotqa", help="hotpotqa | jsonl | module:attr (default hotpotqa).")
    p.add_argument("--input", metavar="FILE", help="QA file (default for hotpotqa: the embedded dev file).")
    p.add_argument("--split", help="Split name (hotpotqa: dev is embedded; others need --input).")
    p.add_argument("--corpus", required=True, metavar="DIR", help="Corpus folder the gold titles live in.")
    p.add_argument("--run", required=True, metavar="RUN", help="Run folder to write questions.jsonl into.")
    p.add_argument("--n", type=int, help="A seeded sample of N items (default: all).")
    p.add_argument("--seed", type=int, default=0, help="Seed of the sample (default 0).")
    p.add_argument(
        "--rubrics-include-answer", action="store_true", help="Append the answer to each rubric list."
    )
    p.add_argument("--force", action="store_true", help="Replace an existing RUN/questions.jsonl.")
    p.set_defaults(func=_handle_import)


def _handle_import(args: argparse.Namespace) -> int:
    from longtracerl.questions.importers import import_questions

    stats = import_questions(
        args.corpus,
        args.run,
        source=args.source,
        input=args.input,
        split=args.split,
        n=args.n,
        seed=args.seed,
        rubrics_include_answer=args.rubrics_include_answer,
        overwrite=args.force,
    )
    print(stats.summary())
    return 0


def _handle(args: argparse.Namespace) -> int:
    from longtracerl.cliargs import run_stage_command
    from longtracerl.questions.config import QuestionsConfig
    from longtracerl.questions.run import run_questions

    _, stats = run_stage_command(args, QuestionsConfig, _FLAGS.values(), run_questions, walks_file=args.walks)
    print(stats.summary())
    return 0


def _register_audit(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "audit",
        help="Question-quality audit of RUN/questions.jsonl -> RUN/questions.audit.jsonl (+ .json)",
        description=(
            "Per question: BM25 shortcuts (the whole question, a sentence or a clause alone finds the "
            "answer page), chain necessity per hop, text defects, answer checks; plus a summary with "
            "hop-count and answer-type distributions (and plots). Any question file works, whatever "
            "wrote it. See docs/questions.md."
        ),
    )
    p.add_argument("--corpus", required=True, metavar="DIR", help="Prepared corpus folder (with its index).")
    p.add_argument("--run", required=True, metavar="RUN", help="Run folder holding questions.jsonl.")
    p.add_argument("--questions", metavar="FILE", help="Another question file (default RUN/questions.jsonl).")
    p.add_argument("--top-k", type=int, default=5, help="BM25 top that counts as a shortcut (default 5).")
    p.add_argument("--no-plots", action="store_true", help="No PNG plots.")
    p.set_defaults(func=_handle_audit)


def _handle_audit(args: argparse.Namespace) -> int:
    from longtracerl.questions.audit import audit_run, render_summary

    summary = audit_run(
        args.corpus, args.run, questions_file=args.questions, plots=not args.no_plots, top_k=args.top_k
    )
    print(render_summary(summary))
    return 0
