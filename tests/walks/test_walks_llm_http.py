"""The LLM chooser and the LLM composer over HTTP: the fake OpenAI-compatible server, and a real
llama.cpp server (SmolLM2-135M) for the ``llm_server`` tests."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from longtracerl.executor import ExecutorConfig, make_executor
from longtracerl.llm.base import EndpointDown
from longtracerl.llm.openai import make_chat_model
from longtracerl.questions import QuestionsConfig, run_questions
from longtracerl.records import Question, RejectedItem, Walk, read_jsonl
from longtracerl.walks import WalksConfig, run_walks
from tests.helpers.llm_servers import FakeResponse
from tests.helpers.walks_corpus import build_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return build_corpus(tmp_path_factory.mktemp("corpus"))


def _count(path, model):
    return len(list(read_jsonl(path, model))) if path.exists() else 0


def test_llm_chooser_through_the_openai_client_from_the_config_spec(corpus, tmp_path, fake_llm_server):
    srv = fake_llm_server
    srv.queue(FakeResponse.chat("I am not sure."), FakeResponse.chat("<think>hmm</think>2"))
    srv.default = FakeResponse.chat("1")
    cfg = WalksConfig(num_walks=5, hops=4, chooser="llm", llm=f"openai:fake@{srv.base_url}")
    stats = run_walks(cfg, corpus, tmp_path, progress=False)
    assert stats.kept == 5 and stats.fallbacks == Counter({"bad_reply": 1})
    body = srv.requests[0].body
    prompt = body["messages"][0]["content"]
    assert body["model"] == "fake" and "Current page:" in prompt and '{"choice": 2}' in prompt
    schema = body["response_format"]["schema"]
    assert body["response_format"]["type"] == "json_object" and schema["required"] == ["choice"]
    assert schema["properties"]["choice"]["maximum"] == prompt.count("\n", prompt.index("Linked pages")) - 3
    walks = list(read_jsonl(tmp_path / "walks.jsonl", Walk))
    assert walks[0].provenance.producer == "chooser=llm:openai:fake"


def test_llm_chooser_server_errors_fail_chains_and_the_next_run_walks_them(corpus, tmp_path, fake_llm_server):
    srv = fake_llm_server
    cfg = WalksConfig(num_walks=3, hops=4, chooser="llm")
    model = make_chat_model(f"openai:fake@{srv.base_url}", max_retries=0, backoff_s=0.001, max_failures_in_row=100)
    reference = tmp_path / "reference"
    srv.default = FakeResponse.chat('{"choice": 1}')
    run_walks(cfg, corpus, reference, chat_model=model, progress=False)
    calls = iter(range(10_000))
    # the first chain's calls fail (HTTP 500): the chain is an item failure, never a fallback pick
    srv.responder = lambda body: FakeResponse.error(500) if next(calls) < 3 else None
    run = tmp_path / "run"
    ex = make_executor(ExecutorConfig(max_retries=0, retry_wait_s=0))
    stats = run_walks(cfg, corpus, run, chat_model=model, progress=False, executor=ex)
    assert stats.kept == 3 and not stats.fallbacks and stats.rejected["error"] >= 1
    errors = list(read_jsonl(run / "walks.errors.jsonl", RejectedItem))
    assert errors and "500" in errors[0].detail
    assert json.loads((run / "walks.state.json").read_text())["failed_chains"]
    # the next runs walk the failed chains again, first: as many walks as an uninterrupted run,
    # and once every failed chain is walked, the same walks
    for n in (6, 40):
        more = cfg.model_copy(update={"num_walks": n})
        run_walks(more, corpus, reference, chat_model=model, progress=False)
        assert run_walks(more, corpus, run, chat_model=model, progress=False).kept == n
        ids = {w.walk_id for w in read_jsonl(run / "walks.jsonl", Walk)}
        assert any(i.startswith("s0-c000000-") for i in ids)
    ref = {w.walk_id for w in read_jsonl(reference / "walks.jsonl", Walk)}
    assert "failed_chains" not in json.loads((run / "walks.state.json").read_text())
    assert len(ref & ids) >= 30


def test_a_wrong_llm_url_fails_the_walks_stage_in_seconds(corpus, tmp_path):
    from tests.helpers.llm_servers import free_port

    url = f"http://127.0.0.1:{free_port()}/v1"
    cfg = WalksConfig(num_walks=3, hops=4, chooser="llm", llm=f"openai:fake@{url}")
    with pytest.raises(EndpointDown, match=f"127.0.0.1:{url.split(':')[-1]}"):
        run_walks(cfg, corpus, tmp_path, progress=False)
    assert not (tmp_path / "walks.jsonl").exists() or not (tmp_path / "walks.jsonl").read_text()


def test_llm_composer_through_the_openai_client(corpus, tmp_path, fake_llm_server):
    srv = fake_llm_server
    run_walks(WalksConfig(num_walks=3, hops=3, seed=4), corpus, tmp_path, progress=False)

    def responder(body):
        # a 'model' that reads the path from the prompt and writes a valid question
        prompt = body["messages"][0]["content"]
        titles = re.findall(r"^\d+\. (.+)$", prompt, flags=re.MULTILINE)
        last_text = prompt.split(f"{titles[-1]}\n", 1)[1]
        year = re.search(r"\b(1[89]\d\d|20\d\d)\b", last_text).group(1)
        rubrics = [re.sub(r"\s*\(.*\)$", "", t) for t in titles]
        q = "Start with a page of this path. Move along its links. In what year did the last one begin?"
        return FakeResponse.chat(
            "```json\n" + json.dumps({"question": q, "answer": year, "rubrics": rubrics}) + "\n```"
        )

    srv.queue(FakeResponse.chat("Here is my question: none"))  # the first walk needs a retry
    srv.responder = responder
    spec = f"openai:fake@{srv.base_url}"
    stats = run_questions(QuestionsConfig(composer="llm", llm=spec), corpus, tmp_path, progress=False)
    questions = list(read_jsonl(tmp_path / "questions.jsonl", Question))
    assert stats.written == len(questions) == 3
    assert len(srv.requests) == 4  # one retry
    assert srv.requests[1].body["messages"][-1]["role"] == "user"
    assert "not usable" in srv.requests[1].body["messages"][-1]["content"]
    assert all(q.provenance.producer == "llm:openai:fake" for q in questions)


@pytest.mark.slow  # ~4 minutes on the shared 2-core machine (server start + CPU generation)
@pytest.mark.llm_server
def test_llm_chooser_and_composer_with_a_real_small_model(corpus, tmp_path, llama_server):
    """SmolLM2-135M is weak: what matters is that the real endpoint is used and that every walk
    ends as a question or a counted rejection (never silently lost)."""
    model = make_chat_model(
        "openai:smollm2", base_url=llama_server, timeout_s=120, cache_dir=str(tmp_path / "cache")
    )
    stats = run_walks(
        WalksConfig(num_walks=2, hops=3, chooser="llm"), corpus, tmp_path, chat_model=model, progress=False
    )
    assert stats.kept == 2
    qcfg = QuestionsConfig(composer="llm", llm_max_attempts=2, llm_max_tokens=160)
    qstats = run_questions(qcfg, corpus, tmp_path, chat_model=model, progress=False)
    n_q = _count(tmp_path / "questions.jsonl", Question)
    n_r = _count(tmp_path / "questions.rejected.jsonl", RejectedItem)
    assert n_q + n_r == 2 and sum(qstats.rejected.values()) == n_r
