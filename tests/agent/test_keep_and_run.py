"""The agent's keep rule (correct / gold_opened) and `run --questions` (no walks, no composer)."""

from __future__ import annotations

import json

from longtracerl.agent.config import AgentConfig
from longtracerl.agent.runner import run_agent
from longtracerl.contexts.assemble import first_correct
from longtracerl.records import RejectedItem, Trajectory, read_jsonl
from tests.helpers.agent_fixtures import make_question


def _wrong_answer_question(qid: str):
    # the agent reads both chain pages but can never give this answer
    return make_question(qid, answer="a pink elephant")


def test_keep_correct_drops_a_question_no_attempt_answers(corpus_dir, store, retriever, run_dir):
    run = run_dir("r", [_wrong_answer_question("q1")])
    cfg = AgentConfig(attempts=2)
    summary = run_agent(cfg, corpus_dir, run, retriever=retriever, store=store)
    trajs = list(read_jsonl(run / "trajectories.jsonl", Trajectory))
    assert len(trajs) == 2 and all(t.gold_opened is None for t in trajs)  # not read under keep=correct
    assert (summary["kept"], summary["dropped"], summary["keep"]) == (0, 1, "correct")
    assert first_correct(trajs) is None
    (rej,) = read_jsonl(run / "agent.rejected.jsonl", RejectedItem)
    assert rej.reason == "no_correct_attempt"


def test_keep_gold_opened_keeps_a_trajectory_that_opened_every_gold_page(
    corpus_dir, store, retriever, run_dir
):
    run = run_dir("r", [_wrong_answer_question("q1"), make_question("q2", gold=("fest", "river"))])
    cfg = AgentConfig(attempts=2, keep="gold_opened")
    summary = run_agent(cfg, corpus_dir, run, retriever=retriever, store=store)
    trajs = list(read_jsonl(run / "trajectories.jsonl", Trajectory))
    q1 = [t for t in trajs if t.question_id == "q1"]
    assert all(not t.correct and t.gold_opened for t in q1)
    assert first_correct(q1) is q1[0]  # the contexts stage takes its tiers from it
    # q2 is answered correctly (kept as before); its odd gold page was never opened
    q2 = [t for t in trajs if t.question_id == "q2"]
    assert q2[0].correct and q2[0].gold_opened is False
    assert (summary["kept"], summary["kept_by_gold_opened"], summary["dropped"]) == (2, 1, 0)
    assert summary["success_rate"] == 0.5  # success still counts correct answers only
    assert list(read_jsonl(run / "agent.rejected.jsonl", RejectedItem)) == []


def test_run_with_imported_questions_skips_walks_and_composer(tmp_path, corpus_dir, retriever):
    from longtracerl.run import load_run_config, run_pipeline

    qa = tmp_path / "qa.jsonl"
    rows = [
        {
            "id": "a",
            "question": "In what year was the violinist who founded the Harbor Lights Festival born?",
            "answer": "1971",
            "gold_titles": ["Harbor Lights Festival", "Marta Quell"],
        },
        {"id": "b", "question": "Where is the Lost Page?", "answer": "x", "gold_titles": ["Lost Page"]},
    ]
    qa.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "run"
    cfg = load_run_config(
        None, [f"corpus_dir={corpus_dir}", f"questions_from={qa}", "agent.attempts=1"]
    )
    summary = run_pipeline(out, cfg, stop_after="agent", progress=False)
    assert not (out / "walks.jsonl").exists()
    assert summary["questions"]["written"] == 1 and summary["questions"]["rejected"] == {
        "gold_page_missing": 1
    }
    (t,) = read_jsonl(out / "trajectories.jsonl", Trajectory)
    assert t.question_id == "jsonl-a" and t.correct
