"""Stages on an executor: a failing item is recorded and retried by the next run; the local
process pool gives the same files as the in-process run."""

from __future__ import annotations

from pathlib import Path

import pytest

from longtracerl.executor import ExecutorConfig, make_executor
from longtracerl.questions import QuestionsConfig, run_questions
from longtracerl.questions.masked import MaskedComposer
from longtracerl.questions.run import COMPOSERS
from longtracerl.records import Question, RejectedItem, Walk, read_jsonl
from longtracerl.walks import WalksConfig, run_walks
from tests.helpers.walks_corpus import build_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return build_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def walks_run(corpus, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("run")
    run_walks(WalksConfig(num_walks=12, hops=4), corpus, run, progress=False)
    return run


def test_a_failing_item_is_recorded_the_run_goes_on_and_the_next_run_retries_it(
    corpus, walks_run, tmp_path, monkeypatch
):
    walks = list(read_jsonl(walks_run / "walks.jsonl", Walk))
    victim = walks[3].walk_id
    broken = {"on": True}

    class Flaky(MaskedComposer):
        def compose(self, walk, pages):
            if broken["on"] and walk.walk_id == victim:
                raise RuntimeError("LLM server returned garbage")
            return super().compose(walk, pages)

    monkeypatch.setitem(COMPOSERS, "flaky", lambda cfg, store, model: Flaky(cfg, store))
    run = tmp_path / "run"
    run.mkdir()
    (run / "walks.jsonl").write_bytes((walks_run / "walks.jsonl").read_bytes())
    cfg = QuestionsConfig(composer="flaky")
    ex = make_executor(ExecutorConfig(max_retries=1, retry_wait_s=0))
    stats = run_questions(cfg, corpus, run, progress=False, executor=ex)
    assert stats.rejected["error"] == 1
    errors = list(read_jsonl(run / "questions.errors.jsonl", RejectedItem))
    assert [(e.item_id, e.reason) for e in errors] == [(victim, "error")]
    assert "RuntimeError: LLM server returned garbage" in errors[0].detail
    first = {q.walk_id for q in read_jsonl(run / "questions.jsonl", Question)}
    assert victim not in first and len(first) + sum(stats.rejected.values()) == len(walks)

    broken["on"] = False  # the server is back: the next run retries only the failed walk
    again = run_questions(cfg, corpus, run, progress=False, executor=ex)
    done = [q.walk_id for q in read_jsonl(run / "questions.jsonl", Question)]
    assert victim in done and len(done) == len(set(done)) == len(first) + 1
    assert again.new == 1


def test_walks_and_questions_in_two_processes_equal_the_in_process_files(corpus, walks_run, tmp_path):
    ex = make_executor(ExecutorConfig(workers=2, chunk_size=2))
    run = tmp_path / "procs"
    run_walks(WalksConfig(num_walks=12, hops=4), corpus, run, progress=False, executor=ex)
    assert (run / "walks.jsonl").read_bytes() == (walks_run / "walks.jsonl").read_bytes()
    ref = tmp_path / "ref"
    run_questions(QuestionsConfig(composer="masked"), corpus, ref, progress=False, walks_file=walks_run / "walks.jsonl")
    run_questions(QuestionsConfig(composer="masked"), corpus, run, progress=False, executor=ex)
    assert (run / "questions.jsonl").read_bytes() == (ref / "questions.jsonl").read_bytes()
