"""Structured output vs plain replies of the LLM composer (and chooser) against a real server.

Composes questions for the first N walks of a run folder with ``llm_structured`` set to each kind
and prints the rejection reasons (``bad_json`` is the one structured output removes) and the
time. The server is any OpenAI-compatible endpoint; without ``--url`` a llama.cpp server over the
offline SmolLM2-135M GGUF is started here.

    longtracerl run --out runs/bench-base --num-questions 40 --stop-after walks
    python benchmarks/bench_llm_structured.py --run runs/bench-base --walks 20
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: tests.helpers


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, help="Run folder with walks.jsonl and corpus/")
    ap.add_argument("--corpus", help="Corpus folder (default RUN/corpus)")
    ap.add_argument("--walks", type=int, default=20, help="Walks composed per setting")
    ap.add_argument("--url", help="Endpoint root ending in /v1 (default: start llama.cpp here)")
    ap.add_argument("--kinds", default="off,json_object_schema", help="llm_structured values to compare")
    ap.add_argument("--max-tokens", type=int, default=512)
    args = ap.parse_args()

    from longtracerl.llm.openai import make_chat_model
    from longtracerl.questions import QuestionsConfig, run_questions
    from longtracerl.records import RejectedItem, Walk, read_jsonl, write_jsonl

    run = Path(args.run)
    corpus = Path(args.corpus or run / "corpus")
    walks = list(read_jsonl(run / "walks.jsonl", Walk))[: args.walks]
    server = None
    url = args.url
    if url is None:
        from tests.helpers.llm_servers import start_llama_server

        server = start_llama_server()
        url = server.base_url
    print(f"server {url}; {len(walks)} walks of {run}")
    try:
        for kind in args.kinds.split(","):
            tmp = Path(tempfile.mkdtemp(prefix=f"bench_structured_{kind}_"))
            write_jsonl(tmp / "walks.jsonl", walks)
            cfg = QuestionsConfig(composer="llm", llm_structured=kind, llm_max_tokens=args.max_tokens)
            model = make_chat_model(f"openai:smollm2@{url}", timeout_s=300)
            t0 = time.perf_counter()
            stats = run_questions(cfg, corpus, tmp, chat_model=model, progress=False)
            took = time.perf_counter() - t0
            rejected = list(read_jsonl(tmp / "questions.rejected.jsonl", RejectedItem))
            kept_reply = sum(1 for r in rejected if r.reply)
            print(
                json.dumps(
                    {
                        "llm_structured": kind,
                        "walks": len(walks),
                        "questions": stats.new,
                        "rejected": dict(Counter(r.reason for r in rejected)),
                        "rejections_with_reply": kept_reply,
                        "seconds": round(took, 1),
                    }
                )
            )
            shutil.rmtree(tmp)
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
