"""An LLM endpoint that dies in the middle of a stage: nothing is lost or blamed on the model.

For each LLM stage (walk chooser, question composer, agent) against the real llama.cpp server
(SmolLM2-135M GGUF): a reference run, then the same run with the server killed before its k-th
call. The stage stops with :class:`EndpointDown` naming the URL, nothing it wrote blames the model
for the outage, and after a restart the same call finishes with exactly what the reference kept.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path

import pytest

from longtracerl.llm.base import EndpointDown, EndpointError, LLMError
from longtracerl.llm.openai import make_chat_model
from longtracerl.records import Question, RejectedItem, Trajectory, Walk, read_jsonl, write_jsonl
from tests.helpers.llm_servers import FakeResponse, LlamaServer, start_llama_server
from tests.helpers.walks_corpus import build_corpus


class Restartable:
    """A llama.cpp server that can be killed and started again on the same port."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.server: LlamaServer = start_llama_server(log_dir=log_dir)
        self.base_url = self.server.base_url
        self.port = int(self.base_url.rsplit(":", 1)[1].split("/")[0])

    def kill(self) -> None:
        self.server.proc.kill()
        self.server.proc.wait(timeout=30)

    def restart(self) -> None:
        if self.server.proc.poll() is None:
            return
        self.server = start_llama_server(log_dir=self.log_dir, port=self.port)

    def stop(self) -> None:
        self.server.stop()


class KillAt:
    """A chat model that kills the server just before its ``k``-th call (an outage mid-stage)."""

    def __init__(self, model, server: Restartable, k: int):
        self.model, self.server, self.k = model, server, k
        self.name = model.name
        self.calls = 0
        self._lock = threading.Lock()

    def _tick(self) -> None:
        with self._lock:
            self.calls += 1
            hit = self.calls == self.k
        if hit:
            self.server.kill()

    def check_health(self) -> None:
        self.model.check_health()

    def complete(self, messages, params=None):
        self._tick()
        return self.model.complete(messages, params)

    async def acomplete(self, messages, params=None):
        self._tick()
        return await self.model.acomplete(messages, params)

    async def aclose(self) -> None:
        await self.model.aclose()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Restartable(tmp_path_factory.mktemp("llama"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return build_corpus(tmp_path_factory.mktemp("corpus"))


def _model(server: Restartable):
    # small retry budget so that the outage is noticed in seconds; 2 failed calls in a row: down
    return make_chat_model(
        f"openai:smollm2@{server.base_url}",
        timeout_s=120,
        max_retries=1,
        backoff_s=0.05,
        max_failures_in_row=2,
    )


def _records(path: Path, kind):
    return list(read_jsonl(path, kind)) if path.exists() else []


def _rejected(path: Path) -> list[RejectedItem]:
    return _records(path, RejectedItem)


@pytest.mark.slow
@pytest.mark.llm_server
def test_walk_chooser_outage(server, corpus, tmp_path):
    from longtracerl.walks import WalksConfig, run_walks

    server.restart()
    # short prompts: CPU prompt evaluation dominates a call
    cfg = WalksConfig(
        num_walks=2, hops=3, chooser="llm", max_candidates=3, current_chars=200, candidate_chars=60
    )
    ref = run_walks(cfg, corpus, tmp_path / "ref", chat_model=_model(server), progress=False)
    run = tmp_path / "run"
    with pytest.raises(EndpointDown, match=str(server.port)):
        run_walks(cfg, corpus, run, chat_model=KillAt(_model(server), server, 3), progress=False)
    server.restart()
    again = run_walks(cfg, corpus, run, chat_model=_model(server), progress=False)
    walks = {w.walk_id: w.page_ids for w in read_jsonl(run / "walks.jsonl", Walk)}
    assert again.kept == ref.kept == len(walks) == 2
    assert walks == {w.walk_id: w.page_ids for w in read_jsonl(tmp_path / "ref" / "walks.jsonl", Walk)}
    assert set(again.fallbacks) <= {"bad_reply"}  # no pick was made up for a failed call
    state = json.loads((run / "walks.state.json").read_text())
    assert "failed_chains" not in state


@pytest.mark.slow
@pytest.mark.llm_server
def test_question_composer_outage(server, corpus, tmp_path):
    from longtracerl.questions import QuestionsConfig, run_questions
    from longtracerl.walks import WalksConfig, run_walks

    server.restart()
    walks_dir = tmp_path / "walks"
    run_walks(WalksConfig(num_walks=2, hops=3, seed=4), corpus, walks_dir, progress=False)
    cfg = QuestionsConfig(
        composer="llm", llm_max_tokens=160, llm_max_attempts=2, llm_temperature=0.0, page_chars=200
    )
    ref_dir, run = tmp_path / "ref", tmp_path / "run"
    for d in (ref_dir, run):
        d.mkdir()
        (d / "walks.jsonl").write_bytes((walks_dir / "walks.jsonl").read_bytes())
    ref = run_questions(cfg, corpus, ref_dir, chat_model=_model(server), progress=False)
    with pytest.raises(EndpointDown, match=str(server.port)):
        run_questions(cfg, corpus, run, chat_model=KillAt(_model(server), server, 2), progress=False)
    assert all(r.reason != "llm_error" for r in _rejected(run / "questions.rejected.jsonl"))
    server.restart()
    run_questions(cfg, corpus, run, chat_model=_model(server), progress=False)
    got = [q.walk_id for q in _records(run / "questions.jsonl", Question)]
    want = [q.walk_id for q in _records(ref_dir / "questions.jsonl", Question)]
    assert sorted(got) == sorted(want)
    reasons = Counter(r.reason for r in _rejected(run / "questions.rejected.jsonl"))
    assert reasons == Counter(r.reason for r in _rejected(ref_dir / "questions.rejected.jsonl"))
    assert ref.written + sum(reasons.values()) == 2


@pytest.mark.slow
@pytest.mark.llm_server
def test_agent_outage(server, corpus, tmp_path):
    from longtracerl.agent.config import AgentConfig
    from longtracerl.agent.llm_policy import LLMPolicy
    from longtracerl.agent.runner import run_agent
    from longtracerl.questions import QuestionsConfig, run_questions
    from longtracerl.search.index import build_index
    from longtracerl.walks import WalksConfig, run_walks

    server.restart()
    build_index(corpus, progress=False)
    src = tmp_path / "src"
    run_walks(WalksConfig(num_walks=6, hops=3, seed=2), corpus, src, progress=False)
    run_questions(QuestionsConfig(composer="masked"), corpus, src, progress=False)
    questions = list(read_jsonl(src / "questions.jsonl", Question))[:2]
    assert len(questions) >= 2
    cfg = AgentConfig(
        policy="llm",
        model=f"openai:smollm2@{server.base_url}",
        attempts=2,
        max_turns=2,
        max_tokens=32,
        tool_mode="json",
        temperature=0.0,
        observation_chars=300,
        concurrency=1,
    )

    def agent(run: Path, model) -> dict:
        return run_agent(cfg, corpus, run, policy=LLMPolicy(cfg, chat_model=model), progress=False)

    ref_dir, run = tmp_path / "ref", tmp_path / "run"
    for d in (ref_dir, run):
        write_jsonl(d / "questions.jsonl", questions)
    ref = agent(ref_dir, _model(server))
    with pytest.raises(EndpointDown, match=str(server.port)):
        agent(run, KillAt(_model(server), server, 2))
    # the outage is no attempt: nothing ended in 'error', the failed questions wait in the errors file
    ts = _records(run / "trajectories.jsonl", Trajectory)
    assert all(t.end_reason != "error" for t in ts)
    assert _rejected(run / "agent.errors.jsonl")
    server.restart()
    again = agent(run, _model(server))
    for key in ("kept", "dropped", "attempts", "end_reasons"):
        assert again[key] == ref[key], key
    assert again["incomplete"] == 0


def test_a_stage_on_a_failing_endpoint_stops_with_one_line_naming_the_url(
    fake_llm_server, corpus, tmp_path, capsys
):
    """HTTP 500 on every call: the CLI stops after max_failures_in_row calls, one line, exit 1;
    the stage's llm_client settings reach the client."""
    from longtracerl.cli import main

    fake_llm_server.default = FakeResponse.error(500, "overloaded")
    run = tmp_path / "run"
    args = ["walks", "--corpus", str(corpus), "--out", str(run), "--chooser", "llm", "--no-progress"]
    sets = [
        f"llm=openai:fake@{fake_llm_server.base_url}",
        "llm_client.max_retries=0",
        "llm_client.max_failures_in_row=3",
    ]
    code = main(args + [a for s in sets for a in ("--set", s)])
    err = capsys.readouterr().err
    assert code == 1
    lines = [ln for ln in err.splitlines() if "error:" in ln]
    assert len(lines) == 1 and fake_llm_server.base_url in lines[0] and "3 LLM calls in a row" in lines[0]
    assert len(fake_llm_server.requests) == 3  # no retries (max_retries=0), then the stage stopped
    assert isinstance(EndpointDown("x"), LLMError)


def test_an_agent_judge_without_a_verdict_is_an_endpoint_failure_not_a_wrong_answer():
    from longtracerl.agent.judge import AnswerChecker
    from longtracerl.rewards.judge import JudgeResult

    class DownJudge:
        def judge(self, question, answer, response, *, aliases=()):
            return JudgeResult(False, error="grader: connection refused")

    checker = AnswerChecker(llm_judge=DownJudge())
    assert checker.check("Which year?", "1971", "1971")  # the rule decides: no judge call
    with pytest.raises(EndpointError, match="no verdict"):
        checker.check("Which year?", "1971", "the year after 1970")


def test_the_agent_judge_endpoint_is_checked_when_the_stage_starts():
    from longtracerl.agent.config import AgentConfig
    from longtracerl.agent.judge import AnswerChecker
    from tests.helpers.llm_servers import free_port

    port = free_port()
    cfg = AgentConfig(judge="llm", judge_model=f"openai:judge@http://127.0.0.1:{port}/v1")
    with pytest.raises(EndpointDown, match=str(port)):
        AnswerChecker.from_config(cfg)
