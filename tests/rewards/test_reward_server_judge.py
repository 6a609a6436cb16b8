"""Judge failures through the reward server: reported (HTTP 503 + judge_error), never outcome 0.

A fake OpenAI-compatible grader on 127.0.0.1 hangs, answers HTTP 500, sends a body that is not
JSON, or replies without a verdict. 40 requests at once with a short budget must all come back
as judge failures within the budget (the per-verdict hard deadline) plus a second, and
``/health`` must say degraded.
"""

from __future__ import annotations

import asyncio
import os
import time

import httpx
import pytest
from test_reward_server import _evaluate_body, running

from longtracerl.llm.openai import make_chat_model
from longtracerl.rewards.judge import LLMJudge
from longtracerl.rewards.server import JUDGE_FAILURE_STATUS, create_app
from tests.helpers.llm_servers import FakeResponse

BUDGET_S = 1.5

FAILURES = {
    "hang": FakeResponse.chat("extracted_final_answer: x\nreasoning: r\ncorrect: yes", delay_s=30),
    "http500": FakeResponse.error(500),
    "not_json": FakeResponse.raw(b"<html>bad gateway</html>"),
    "garbage": FakeResponse.chat("I would say it is probably fine."),
}


async def _burst(url: str, n: int) -> list[tuple[int, dict, float]]:
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def one(i: int) -> tuple[int, dict, float]:
            body = _evaluate_body(f"Paris, answer {i}")  # distinct: no verdict cache
            t0 = time.monotonic()
            r = await client.post(f"{url}/evaluate", json=body)
            return r.status_code, r.json(), time.monotonic() - t0

        return await asyncio.gather(*(one(i) for i in range(n)))


@pytest.mark.parametrize("failure", list(FAILURES))
def test_40_concurrent_judge_failures_within_budget(fake_llm_server, failure):
    fake_llm_server.default = FAILURES[failure]
    # client retries and timeouts longer than the budget: only the hard deadline can keep it
    model = make_chat_model(
        "openai:judge", base_url=fake_llm_server.base_url, timeout_s=10, backoff_s=0.2, concurrency=64
    )
    judge = LLMJudge(model, max_total_s=BUDGET_S, backoff_s=0.05)
    with running(create_app(judge)) as url:
        assert httpx.get(f"{url}/health").json()["status"] == "ok"
        results = asyncio.run(_burst(url, 40))
        slowest = max(t for _, _, t in results)
        # the target is budget + 1 s; a machine busier than its cores gets 1.5 s more, still far
        # below what the retries alone take without the hard deadline (3 calls x 10 s timeouts)
        slack = 1.0 if os.getloadavg()[0] <= (os.cpu_count() or 1) else 2.5
        assert slowest < BUDGET_S + slack, f"slowest request took {slowest:.2f}s"
        for status, body, _ in results:
            assert status == JUDGE_FAILURE_STATUS
            assert body["judge_error"] and body["outcome_reward"] is None and body["reward"] is None
        if failure == "hang":
            assert "hard deadline" in results[0][1]["judge_error"]
        health = httpx.get(f"{url}/health").json()
        assert health["status"] == "degraded" and health["judge_failures"] == 40
        assert health["last_judge_error"]
        metrics = httpx.get(f"{url}/metrics").text
        assert "longtracerl_reward_judge_failures_total 40" in metrics
        assert (
            f'longtracerl_reward_requests_total{{endpoint="evaluate",status="{JUDGE_FAILURE_STATUS}"}} 40'
            in metrics
        )


def test_health_recovers_after_the_window(fake_llm_server):
    fake_llm_server.default = FakeResponse.error(500)
    model = make_chat_model("openai:judge", base_url=fake_llm_server.base_url, max_retries=0)
    judge = LLMJudge(model, max_total_s=2, backoff_s=0, max_api_attempts=1)
    with running(create_app(judge, health_window_s=0.3)) as url:
        assert httpx.post(f"{url}/evaluate", json=_evaluate_body("Paris")).status_code == 503
        assert httpx.get(f"{url}/health").json()["status"] == "degraded"
        fake_llm_server.default = FakeResponse.chat(
            "extracted_final_answer: Paris\nreasoning: same\ncorrect: yes"
        )
        r = httpx.post(f"{url}/evaluate", json=_evaluate_body("Paris"))
        assert r.status_code == 200 and r.json()["outcome_reward"] == 1.0
        time.sleep(0.4)
        health = httpx.get(f"{url}/health").json()
        assert health["status"] == "ok" and health["judge_failures"] == 1  # the total stays


def test_judge_that_raises_is_a_failure_not_a_wrong_answer():
    class Broken:
        name = "broken"

        def judge(self, question, answer, response, *, aliases=()):
            raise RuntimeError("grader exploded")

    with running(create_app(Broken())) as url:
        r = httpx.post(f"{url}/evaluate", json=_evaluate_body("Paris"))
        assert r.status_code == 503 and "grader exploded" in r.json()["judge_error"]
        body = {"responses": ["r\n</think>\n\nParis<|im_end|>"] * 2, "label": "Paris", "question": "q"}
        r = httpx.post(f"{url}/evaluate_group", json=body)
        assert r.status_code == 503 and r.json()["judge_errors"] == 2
        # empty content is answered without judging, as the drop-in does
        r = httpx.post(f"{url}/evaluate", json=_evaluate_body(""))
        assert r.status_code == 200 and r.json() == {
            "outcome_reward": 0.0,
            "rubric_reward": 0.0,
            "reward": 0.0,
        }


def test_judge_calls_in_flight_follow_the_concurrency_setting(fake_llm_server):
    """64 clients against a slow grader: far more than the client's old 8 calls in flight."""
    from longtracerl.rewards.server import build_judge

    fake_llm_server.default = FakeResponse.chat(
        "extracted_final_answer: Paris\nreasoning: same\ncorrect: yes", delay_s=0.5
    )
    judge = build_judge("llm", base_url=fake_llm_server.base_url, model="grader", max_total_s=30)
    assert judge.chat_model.cfg.concurrency >= 64
    with running(create_app(judge)) as url:
        results = asyncio.run(_burst(url, 64))
    assert [s for s, _, _ in results] == [200] * 64
    assert fake_llm_server.max_in_flight >= 48  # all 64 at once unless the machine is very slow
    low = build_judge("llm", base_url=fake_llm_server.base_url, model="grader", concurrency=4)
    fake_llm_server.reset()
    fake_llm_server.default = FakeResponse.chat(
        "extracted_final_answer: a\nreasoning: b\ncorrect: no", delay_s=0.2
    )
    with running(create_app(low)) as url:
        asyncio.run(_burst(url, 12))
    assert fake_llm_server.max_in_flight == 4


def test_a_pool_of_judge_endpoints_shares_the_load():
    from longtracerl.rewards.server import build_judge
    from tests.helpers.llm_servers import FakeLLMServer

    verdict = FakeResponse.chat("extracted_final_answer: Paris\nreasoning: same\ncorrect: yes")
    with FakeLLMServer() as a, FakeLLMServer() as b:
        a.default = b.default = verdict
        judge = build_judge("llm", base_url=[a.base_url, b.base_url], model="grader")
        with running(create_app(judge)) as url:
            results = asyncio.run(_burst(url, 20))
        assert [s for s, _, _ in results] == [200] * 20
        assert len(a.requests) == len(b.requests) == 10  # round-robin
        b.default = FakeResponse.error(500)  # one endpoint fails: the other takes over
        judge = build_judge("llm", base_url=f"{a.base_url},{b.base_url}", model="grader")
        with running(create_app(judge)) as url:
            results = asyncio.run(_burst(url, 10))
        assert [s for s, _, _ in results] == [200] * 10
