"""The offline search agent on a real QA set: answer accuracy, gold pages opened, search effort, speed.

Imports a seeded sample of an existing QA set (``longtracerl questions import``), runs the agent
stage on it with one attempt per question (default) and prints:

- answer accuracy by the stage's rule judge, and SQuAD-style exact match and token F1 of the final
  answers (``longtracerl.text`` normaliser);
- both gold pages opened, any gold page opened, both gold pages seen in results;
- searches, opened pages and seen pages per question (mean and median);
- trajectories per second (agent stage alone, one process): wall clock, with the machine's load
  average beside it (the cores may be shared), and per CPU-second of the process (what one free
  core gives);
- answers correct by the answer type the agent reads from the question (year, person, yes/no, ...).

    python benchmarks/bench_agent_qa.py --source hotpotqa --n 1000 --seed 7
    python benchmarks/bench_agent_qa.py --source jsonl --input my_qa.jsonl --corpus MY_CORPUS --n 500

The corpus is built from the embedded HotpotQA file when ``--corpus`` has none (``/tmp/corpus_hp``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import Counter
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", default="hotpotqa", help="hotpotqa | jsonl | module:attr")
    ap.add_argument("--input", help="QA file (default for hotpotqa: the embedded dev file).")
    ap.add_argument("--corpus", default="/tmp/corpus_hp", help="Corpus folder (HotpotQA built if missing).")
    ap.add_argument("--run", help="Run folder (default /tmp/bench_agent_qa-<source>-<n>-<seed>).")
    ap.add_argument("--n", type=int, default=1000, help="Sample size.")
    ap.add_argument("--seed", type=int, default=7, help="Sample seed.")
    ap.add_argument("--attempts", type=int, default=1)
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="AgentConfig override.")
    ap.add_argument("--show", type=int, default=0, help="Print this many wrong answers.")
    args = ap.parse_args()

    from longtracerl.agent.answer import analyse
    from longtracerl.agent.config import AgentConfig
    from longtracerl.agent.runner import TRAJECTORIES_FILE, run_agent
    from longtracerl.config import load_config
    from longtracerl.questions.importers import import_questions
    from longtracerl.records import Question, Trajectory, read_jsonl
    from longtracerl.text import normalize_answer, token_f1

    corpus = Path(args.corpus)
    if not (corpus / "manifest.json").exists():
        from longtracerl.corpus.prepare import prepare_corpus

        t = time.perf_counter()
        prepare_corpus("hotpotqa", None, corpus)
        print(f"corpus prepared in {time.perf_counter() - t:.1f} s")
    run = Path(args.run or f"/tmp/bench_agent_qa-{args.source}-{args.n}-{args.seed}")
    stats = import_questions(
        corpus, run, source=args.source, input=args.input, n=args.n, seed=args.seed, overwrite=True
    )
    print(stats.summary())
    traj_path = run / TRAJECTORIES_FILE
    if traj_path.exists():  # from scratch: the stage would otherwise resume and do nothing
        traj_path.unlink()
    for stale in ("agent.summary.json", "agent.rejected.jsonl", "agent.errors.jsonl"):
        (run / stale).unlink(missing_ok=True)
    cfg = load_config(AgentConfig, overrides=[f"attempts={args.attempts}", *args.overrides])
    load0 = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    summary = run_agent(cfg, corpus, run, progress=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    load1 = os.getloadavg()[0]

    questions = {q.question_id: q for q in read_jsonl(run / "questions.jsonl", Question)}
    trajs = list(read_jsonl(traj_path, Trajectory))
    first = {t.question_id: t for t in trajs if t.attempt == 1}
    n = len(questions)
    em = f1 = both = anyg = seen_both = 0.0
    searches, opened, seen = [], [], []
    wrong = []
    kinds: Counter = Counter()
    kinds_ok: Counter = Counter()
    for qid, q in questions.items():
        t = first.get(qid)
        if t is None:
            continue
        pred = t.final_answer or ""
        gold = q.label.answer
        em += normalize_answer(pred) == normalize_answer(gold)
        f1 += token_f1(normalize_answer(pred), normalize_answer(gold)) if pred else 0.0
        g = set(q.label.gold_page_ids)
        both += g <= set(t.opened_ids)
        anyg += bool(g & set(t.opened_ids))
        seen_both += g <= set(t.seen_ids)
        searches.append(sum(e.tool == "search" for e in t.events))
        opened.append(len(t.opened_ids))
        seen.append(len(t.seen_ids))
        kind = analyse(q.question).kind
        kinds[kind] += 1
        kinds_ok[kind] += bool(t.correct)
        if not t.correct and len(wrong) < args.show:
            wrong.append((q.question, gold, pred))
    per_attempt = summary["success_per_attempt"].get("1", {})
    print(f"policy               {summary['policy']} (non-LLM), attempts<={cfg.attempts}, top_k={cfg.top_k}")
    print(f"questions            {n} ({args.source}, sample n={args.n} seed={args.seed})")
    print(
        f"correct (rule judge) {per_attempt.get('rate', 0.0):.1%} at attempt 1; kept {summary['kept']} ({summary['success_rate']:.1%})"
    )
    print(f"exact match          {em / n:.1%}")
    print(f"token F1             {f1 / n:.1%}")
    print(f"both gold opened     {both / n:.1%}")
    print(f"any gold opened      {anyg / n:.1%}")
    print(f"both gold seen       {seen_both / n:.1%}")
    print(f"searches / question  mean {statistics.mean(searches):.2f}, median {statistics.median(searches)}")
    print(f"opened / question    mean {statistics.mean(opened):.2f}, median {statistics.median(opened)}")
    print(f"seen / question      mean {statistics.mean(seen):.1f}")
    print(
        f"trajectories/s       {len(trajs) / wall:.1f} wall ({len(trajs)} in {wall:.1f} s; load average "
        f"{load0:.1f} -> {load1:.1f} on {os.cpu_count()} cores); {len(trajs) / cpu:.1f} per CPU-second "
        "(one process: what one free core gives)"
    )
    print(f"end reasons          {json.dumps(dict(Counter(t.end_reason for t in trajs)))}")
    by_kind = ", ".join(f"{k} {kinds_ok[k]}/{n_k}" for k, n_k in kinds.most_common())
    print(f"correct by kind      {by_kind} (answer type read from the question, agent/answer.py)")
    for question, gold, pred in wrong:
        print(f"  x {question}\n      gold={gold!r} got={pred!r}")


if __name__ == "__main__":
    main()
