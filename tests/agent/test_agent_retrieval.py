import json

import pytest

from longtracerl.agent.base import attempt_seed
from longtracerl.agent.config import AgentConfig
from longtracerl.agent.retrieval import RetrievalPolicy, answer_type, parse_question
from longtracerl.agent.runner import run_agent
from longtracerl.agent.tools import ToolBox
from longtracerl.config import ConfigError, load_config
from longtracerl.records import RejectedItem, Trajectory, read_jsonl
from tests.helpers.agent_fixtures import CHAIN_QUESTION, make_question

CFG = AgentConfig(policy="clauses")  # the earlier agent, kept as a named policy


def _trajs(run):
    return list(read_jsonl(run / "trajectories.jsonl", Trajectory))


def _actions(t: Trajectory):
    return [(e.tool, e.args, e.result_ids, e.error) for e in t.events]


@pytest.mark.parametrize(
    "question,clauses,kind",
    [
        (
            "Start with a band from Ohio. Move to its first album. Then go to the studio where it was made. "
            "In what year did that studio open?",
            ["a band from Ohio", "its first album", "the studio where it was made"],
            "year",
        ),
        ("Begin with a river in Maine. How long is it, in miles?", ["a river in Maine"], "number"),
        (
            "Start with a song. Next, consider its writer. Who produced it?",
            ["a song", "its writer"],
            "person",
        ),
        (
            "Start with a festival. Finally, its town. Where is the museum?",
            ["a festival", "its town"],
            "place",
        ),
    ],
)
def test_parse_question(question, clauses, kind):
    got_clauses, final, got_kind = parse_question(question)
    assert got_clauses == clauses
    assert final.endswith("?")
    assert got_kind == kind


def test_answer_type_date_and_name():
    assert answer_type("On what date was it signed?") == "date"
    assert answer_type("What is the name of its label?") == "name"


def test_retrieval_policy_answers_two_hop_question(store, retriever):
    tb = ToolBox(retriever, store, top_k=5, max_calls=60)
    end = RetrievalPolicy(CFG).run(CHAIN_QUESTION, tb, attempt=1, seed=1)
    assert end.reason == "answered"
    assert tb.final_answer == "1971"
    assert tb.cited_ids == ["fest", "marta"]  # the chain it followed, in order
    assert {"fest", "marta"} <= set(tb.opened_ids)
    assert set(tb.opened_ids) - set(tb.cited_ids), "reading candidates leaves opened-but-not-cited pages"
    assert set(tb.seen_ids) - set(tb.opened_ids), "some results are seen but never opened"
    # it genuinely searched: every clause was a query
    queries = [e.args["query"] for e in tb.events if e.tool == "search"]
    assert any("violinist who founded it" in q for q in queries)


def test_run_agent_writes_trajectories_and_summary(corpus_dir, store, retriever, run_dir):
    run = run_dir("r", [make_question("q1")])
    summary = run_agent(CFG, corpus_dir, run, retriever=retriever, store=store)
    (t,) = _trajs(run)  # stops after the first correct attempt
    assert t.correct and t.attempt == 1 and t.final_answer == "1971"
    assert t.policy == "retrieval-nonllm" and t.model is None and t.end_reason == "answered"
    assert t.provenance.stage == "agent" and t.provenance.source_ids == ["q1"]
    assert t.provenance.seed == attempt_seed(CFG.seed, "q1", 1)
    assert summary["kept"] == 1 and summary["dropped"] == 0 and summary["questions"] == 1
    assert summary["success_per_attempt"]["1"] == {"attempts": 1, "correct": 1, "rate": 1.0}
    on_disk = json.loads((run / "agent.summary.json").read_text())
    assert on_disk["kept"] == 1 and on_disk["end_reasons"] == {"answered": 1}


def test_label_is_never_read_by_the_policy(corpus_dir, store, retriever, run_dir):
    """A poisoned label (wrong answer, wrong gold pages, junk rubrics) changes no action."""
    good = run_dir("good", [make_question("q1")])
    poisoned_q = make_question("q1", answer="Zanzibar 9999", gold=("mill", "river"))
    poisoned_q.label.rubrics = ["Old Mill Bakery", "Brook River"]
    bad = run_dir("bad", [poisoned_q])
    cfg = AgentConfig(attempts=3)
    run_agent(cfg, corpus_dir, good, retriever=retriever, store=store)
    run_agent(cfg, corpus_dir, bad, retriever=retriever, store=store)
    g, b = _trajs(good), _trajs(bad)
    assert len(g) == 1 and len(b) == 3  # only correctness differs: the poisoned run keeps trying
    assert _actions(g[0]) == _actions(b[0])
    assert g[0].final_answer == b[0].final_answer == "1971"
    assert not b[0].correct
    for t in b:
        assert "mill" not in t.opened_ids and "river" not in t.opened_ids


def test_attempts_differ(store, retriever):
    seqs = []
    for attempt in range(1, 6):
        tb = ToolBox(retriever, store, top_k=5, max_calls=60)
        RetrievalPolicy(CFG).run(CHAIN_QUESTION, tb, attempt=attempt, seed=attempt_seed(0, "q", attempt))
        seqs.append(json.dumps([(e.tool, e.args) for e in tb.events]))
    assert len(set(seqs)) >= 3


def test_unanswerable_question_is_dropped_and_counted(corpus_dir, store, retriever, run_dir):
    run = run_dir("r", [make_question("q1"), make_question("q2", answer="Zanzibar 9999")])
    summary = run_agent(CFG, corpus_dir, run, retriever=retriever, store=store)
    ts = _trajs(run)
    assert [t.attempt for t in ts if t.question_id == "q2"] == [1, 2, 3, 4, 5]
    assert summary["kept"] == 1 and summary["dropped"] == 1 and summary["attempts"] == 6
    assert summary["first_correct_at"] == {"1": 1}
    rejected = list(read_jsonl(run / "agent.rejected.jsonl", RejectedItem))
    assert [(r.item_id, r.reason) for r in rejected] == [("q2", "no_correct_attempt")]


def test_resume_after_crash_no_duplicates_no_loss(corpus_dir, store, retriever, run_dir):
    run = run_dir("r", [make_question("q1", answer="never"), make_question("q2")])
    run_agent(CFG, corpus_dir, run, retriever=retriever, store=store)
    path = run / "trajectories.jsonl"
    full = path.read_text().splitlines(keepends=True)
    assert len(full) == 6
    # simulate a crash during attempt 3 of q1: two whole lines and a torn third one
    path.write_text("".join(full[:2]) + full[2][: len(full[2]) // 2])
    summary = run_agent(CFG, corpus_dir, run, retriever=retriever, store=store)
    ts = _trajs(run)
    keys = [(t.question_id, t.attempt) for t in ts]
    assert len(keys) == len(set(keys)) == 6
    assert sorted(keys) == [("q1", a) for a in range(1, 6)] + [("q2", 1)]
    assert summary["this_run"]["trajectories"] == 4
    # a re-run of a complete stage does nothing
    again = run_agent(CFG, corpus_dir, run, retriever=retriever, store=store)
    assert again["this_run"]["trajectories"] == 0 and len(_trajs(run)) == 6
    assert again["kept"] == 1 and again["dropped"] == 1


def test_bad_questions_file_names_line_and_field(corpus_dir, store, retriever, tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    good = make_question("q1").model_dump_json()
    bad = json.loads(good)
    del bad["label"]["answer"]
    (run / "questions.jsonl").write_text(good + "\n" + json.dumps(bad) + "\n")
    from longtracerl.records import RecordError

    with pytest.raises(RecordError, match=r"questions.jsonl:2: field 'label.answer'"):
        run_agent(CFG, corpus_dir, run, retriever=retriever, store=store)
    assert not (run / "trajectories.jsonl").exists()


def test_config_checks():
    with pytest.raises(ConfigError, match="model"):
        load_config(AgentConfig, overrides=["policy=llm"])
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(AgentConfig, overrides=["atempts=3"])


def test_cli_end_to_end(corpus_dir, run_dir, capsys):
    index = pytest.importorskip("longtracerl.search.index", reason="the BM25 index of the search stage")
    from longtracerl.cli import main

    index.build_index(corpus_dir, progress=False)

    run = run_dir("r", [make_question("q1"), make_question("q2", answer="nope")])
    rc = main(
        [
            "agent",
            "--corpus",
            str(corpus_dir),
            "--run",
            str(run),
            "--attempts",
            "2",
            "--no-progress",
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out == {"questions": 2, "kept": 1, "dropped": 1, "success_rate": 0.5}
    assert len(_trajs(run)) == 3


def test_checker_needs_exact_numbers():
    from longtracerl.agent.judge import AnswerChecker

    c = AnswerChecker()
    assert c.check("q", "1971", "1971") and c.check("q", "1,000", "1000")
    assert not c.check("q", "1971", "1966")  # a neighbouring year is wrong
    assert c.check("q", "The Beatles", "beatles") and not c.check("q", "1971", None)


def test_policy_crash_is_recorded_and_run_goes_on(corpus_dir, store, retriever, run_dir):
    class Flaky:
        name = "flaky"
        model = None

        def run(self, question, tools, *, attempt, seed):
            if attempt == 1:
                raise RuntimeError("policy bug")
            tools.search(question)
            tools.answer("1971")
            from longtracerl.agent.base import AttemptEnd

            return AttemptEnd("answered")

    run = run_dir("r", [make_question("q1")])
    summary = run_agent(CFG, corpus_dir, run, retriever=retriever, store=store, policy=Flaky())
    t1, t2 = _trajs(run)
    assert t1.end_reason == "error" and "policy bug" in t1.end_detail and not t1.correct
    assert t2.correct and summary["first_correct_at"] == {"2": 1}


def test_disk_full_mid_run_keeps_written_lines_and_resumes(
    corpus_dir, store, retriever, run_dir, monkeypatch
):
    import errno

    from longtracerl.records import JsonlAppender

    run = run_dir("r", [make_question("q1", answer="never"), make_question("q2")])
    real_write = JsonlAppender.write
    calls = {"n": 0}

    def full_disk(self, record):
        calls["n"] += 1
        if calls["n"] == 3:
            # half a line reaches the disk, then the device is full
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write('{"question_id": "q1", "attem')
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, record)

    monkeypatch.setattr(JsonlAppender, "write", full_disk)
    with pytest.raises(OSError, match="No space left"):
        run_agent(CFG, corpus_dir, run, retriever=retriever, store=store)
    monkeypatch.setattr(JsonlAppender, "write", real_write)
    summary = run_agent(CFG, corpus_dir, run, retriever=retriever, store=store)
    keys = [(t.question_id, t.attempt) for t in _trajs(run)]
    assert sorted(keys) == [("q1", a) for a in range(1, 6)] + [("q2", 1)]
    assert summary["kept"] == 1 and summary["dropped"] == 1


def _run_chain(store, retriever, **cfg):
    tb = ToolBox(retriever, store, top_k=5, max_calls=60)
    end = RetrievalPolicy(AgentConfig(**cfg)).run(CHAIN_QUESTION, tb, attempt=1, seed=1)
    return end, tb


def test_resolved_hop_is_looked_up_by_its_name(store, retriever):
    """Once hop 1 is read, the entity it resolved to is searched by name, alone and with keywords
    of the next clause; the pages found that way are read as next-hop candidates."""
    end, tb = _run_chain(store, retriever)
    assert end.reason == "answered" and tb.final_answer == "1971"
    steps = [(e.tool, e.args.get("query") or e.args.get("page_id")) for e in tb.events]
    first_open_fest = steps.index(("open", "fest"))
    name_search = steps.index(("search", "Harbor Lights Festival"))
    assert name_search > first_open_fest
    nxt = steps[name_search + 1]
    assert nxt[0] == "search" and nxt[1].startswith("Harbor Lights Festival ") and "violinist" in nxt[1]
    # the probe reads new pages from those two result lists (never the entity itself, never twice)
    shown = set(tb.events[name_search].result_ids) | set(tb.events[name_search + 1].result_ids)
    probe_opens = []
    for tool, arg in steps[name_search + 2 :]:
        if tool != "open":
            break
        probe_opens.append(arg)
    assert probe_opens and "fest" not in probe_opens
    assert set(probe_opens) <= shown
    assert not set(probe_opens) & {a for t, a in steps[:name_search] if t == "open"}
    assert "marta" in probe_opens  # the next hop is found through the resolved entity's name


def test_answer_is_verified_by_a_name_search_before_citing(store, retriever):
    _end, tb = _run_chain(store, retriever)
    tools = [e.tool for e in tb.events]
    cite = tools.index("cite")
    verify = max(i for i, t in enumerate(tools[:cite]) if t == "search")
    assert tb.events[verify].args["query"] == "Marta Quell 1971"


def test_entity_lookups_and_question_search_follow_the_config(store, retriever):
    _end, plain = _run_chain(
        store, retriever, probe_entities=False, verify_answer=False, question_search=True
    )
    queries = [e.args["query"] for e in plain.events if e.tool == "search"]
    assert queries[0] == CHAIN_QUESTION.replace("___", " ")  # whole question first
    assert "Harbor Lights Festival" not in queries and "Marta Quell 1971" not in queries
    assert plain.final_answer == "1971"
    _end, default = _run_chain(store, retriever)
    assert CHAIN_QUESTION not in [e.args["query"] for e in default.events if e.tool == "search"]
    assert len(default.seen_ids) >= len(plain.seen_ids) - 1


def test_name_lookups_never_use_the_label(corpus_dir, store, retriever, run_dir):
    """The entity names searched come from pages the agent read, not from the label's rubrics."""
    q = make_question("q1")
    q.label.rubrics = ["Old Mill Bakery", "Brook River"]  # junk rubrics: must not become queries
    run = run_dir("r", [q])
    run_agent(CFG, corpus_dir, run, retriever=retriever, store=store)
    (t,) = _trajs(run)
    queries = [e.args["query"] for e in t.events if e.tool == "search"]
    assert not any("Old Mill" in x or "Brook River" in x for x in queries)
    assert "Harbor Lights Festival" in queries and t.correct


def test_open_margin_reads_only_competing_candidates(store, retriever):
    def opens_before_name_search(**cfg):
        _end, tb = _run_chain(store, retriever, **cfg)
        out = []
        for e in tb.events:
            if e.tool == "search" and e.args["query"] == "Harbor Lights Festival":
                return out, tb
            if e.tool == "open":
                out.append(e.args["page_id"])
        raise AssertionError("no name look-up")

    every, _ = opens_before_name_search(open_margin=None)
    best_only, tb = opens_before_name_search(open_margin=0.0)
    assert len(every) == CFG.open_per_clause and every[0] == "fest"
    assert best_only == ["fest"]
    assert tb.final_answer == "1971"
