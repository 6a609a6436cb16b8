"""Speed and success rate of the offline (non-LLM) retrieval agent on the embedded corpus.

Builds what is missing (HotpotQA corpus with its BM25 index, walks, masked questions), then runs
the agent stage from scratch on the questions and prints trajectories per second, the success
rate (kept questions) and the first-attempt success rate.

    python benchmarks/bench_agent.py --corpus /tmp/corpus_hp --run /tmp/bench_agent --walks 300
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--corpus", default="/tmp/corpus_hp", help="Corpus folder (built from HotpotQA if missing)."
    )
    ap.add_argument("--run", default="/tmp/bench_agent", help="Run folder (walks/questions made if missing).")
    ap.add_argument("--walks", type=int, default=300, help="Walks to draw when the run has no questions.")
    ap.add_argument("--attempts", type=int, default=5)
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="AgentConfig override.")
    args = ap.parse_args()

    from longtracerl.agent.config import AgentConfig
    from longtracerl.agent.runner import TRAJECTORIES_FILE, run_agent
    from longtracerl.config import load_config

    corpus, run = Path(args.corpus), Path(args.run)
    if not (corpus / "manifest.json").exists():
        from longtracerl.corpus.prepare import prepare_corpus

        t = time.perf_counter()
        prepare_corpus("hotpotqa", None, corpus)
        print(f"corpus prepared in {time.perf_counter() - t:.1f} s")
    if not (run / "questions.jsonl").exists():
        from longtracerl.questions.config import QuestionsConfig
        from longtracerl.questions.run import run_questions
        from longtracerl.walks.config import WalksConfig
        from longtracerl.walks.walker import run_walks

        t = time.perf_counter()
        run_walks(
            load_config(WalksConfig, overrides=[f"num_walks={args.walks}"]), corpus, run, progress=False
        )
        run_questions(load_config(QuestionsConfig), corpus, run, progress=False)
        print(f"walks + questions made in {time.perf_counter() - t:.1f} s")

    # from scratch: the agent stage would otherwise resume and do nothing
    traj = run / TRAJECTORIES_FILE
    if traj.exists():
        shutil.move(traj, run / (TRAJECTORIES_FILE + ".bak"))
    cfg = load_config(AgentConfig, overrides=[f"attempts={args.attempts}", *args.overrides])
    t0 = time.perf_counter()
    summary = run_agent(cfg, corpus, run, progress=False)
    wall = time.perf_counter() - t0
    this = summary["this_run"]
    n = summary["questions"]
    first = summary["first_correct_at"].get("1", 0)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"policy             {summary['policy']} (non-LLM), top_k={cfg.top_k}, attempts<={cfg.attempts}")
    print(f"questions          {n}")
    print(f"trajectories       {this['trajectories']} in {wall:.1f} s wall")
    print(f"trajectories/s     {this['trajectories'] / wall:.1f}")
    print(f"questions/s        {n / wall:.1f}")
    print(f"kept (success)     {summary['kept']} / {n} = {summary['success_rate']:.1%}")
    print(f"first-attempt      {first} / {n} = {first / max(1, n):.1%}")
    print(f"dropped            {summary['dropped']}")
    print(f"end reasons        {json.dumps(summary['end_reasons'])}")
    print(f"peak RSS           {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
