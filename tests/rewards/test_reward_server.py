"""The reward server end to end on 127.0.0.1: both endpoints, health, auth, size limit, judges."""

from __future__ import annotations

import contextlib
import os
import threading
import time

import httpx
import pytest
import uvicorn

from longtracerl.llm.openai import make_chat_model
from longtracerl.rewards.judge import LLMJudge, RuleJudge
from longtracerl.rewards.server import create_app
from tests.helpers.llm_servers import FakeResponse, free_port


@contextlib.contextmanager
def running(app):
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("reward server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _evaluate_body(content, reasoning="I think so.", *, rubrics=("Eiffel Tower", "Seine"), eta=0.3, **info):
    return {
        "label": "Paris",
        "extra_reward_info": {
            "question": "Which city?",
            "rubrics": list(rubrics),
            "rubric_reward_ratio": eta,
            "rubric_use_content": True,
            "rubric_use_reasoning_content": False,
            "dataset_name": "longqa",
            **info,
        },
        "history": [
            {"role": "user", "content": "Which city?"},
            {"role": "assistant", "reasoning_content": reasoning, "content": content},
        ],
    }


@pytest.fixture(scope="module")
def rule_server():
    with running(create_app(RuleJudge(), max_body_bytes=200_000)) as url:
        yield url


def test_health(rule_server):
    r = httpx.get(f"{rule_server}/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["judge"] == "rule"


@pytest.mark.parametrize(
    "body, expected",
    [
        (
            _evaluate_body("Paris, by the Seine."),
            {"outcome_reward": 1.0, "rubric_reward": 0.5, "reward": 0.85},
        ),
        (
            _evaluate_body("Lyon, the Eiffel tower and the Seine"),
            {"outcome_reward": 0.0, "rubric_reward": 1.0, "reward": 0.3},
        ),
        (_evaluate_body("Paris", eta=0.0), {"outcome_reward": 1.0, "rubric_reward": 0.0, "reward": 1.0}),
        (_evaluate_body("Paris", rubrics=()), {"outcome_reward": 1.0, "rubric_reward": 0.0, "reward": 0.7}),
        (_evaluate_body(""), {"outcome_reward": 0.0, "rubric_reward": 0.0, "reward": 0.0}),
        (_evaluate_body(None), {"outcome_reward": 0.0, "rubric_reward": 0.0, "reward": 0.0}),
        # rubrics scored on the reasoning when asked
        (
            _evaluate_body(
                "Paris", "Eiffel Tower", rubric_use_content=False, rubric_use_reasoning_content=True
            ),
            {"outcome_reward": 1.0, "rubric_reward": 0.5, "reward": 0.85},
        ),
        # LongRLVR: F2 of cited chunk ids; o + eta F + (1 - eta) o F
        (
            _evaluate_body(
                "<useful_chunks>3, 5</useful_chunks>\nParis", rubrics=("3", "5"), dataset_name="longrlvr"
            ),
            {"outcome_reward": 1.0, "rubric_reward": 1.0, "reward": 2.0},
        ),
    ],
)
def test_evaluate_dropin(rule_server, body, expected):
    r = httpx.post(f"{rule_server}/evaluate", json=body)
    assert r.status_code == 200, r.text
    assert r.json() == pytest.approx(expected)
    assert set(r.json()) == {"outcome_reward", "rubric_reward", "reward"}


def test_evaluate_group(rule_server):
    responses = [
        "r\n</think>\n\nParis. alpha beta gamma<|im_end|>",
        "r\n</think>\n\nParis. alpha beta<|im_end|>",
        "r\n</think>\n\nParis. gamma delta epsilon<|im_end|>",
        "r\n</think>\n\nLyon. alpha beta gamma delta<|im_end|>",
        "r\n</think>\n\nLyon.<|im_end|>",
        "r\n</think>\n\nParis. alpha<|im_end|>",
        "r\n</think>\n\nLyon.<|endoftext|>",
        "never finished",
    ]
    body = {
        "responses": responses,
        "label": "Paris",
        "question": "Capital of France?",
        "rubrics": ["alpha", "beta", "gamma", "delta", "epsilon"],
        "processor": "qwen3-thinking",
        "finish_reasons": [None] * 7 + ["length"],
    }
    r = httpx.post(f"{rule_server}/evaluate_group", json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["rewards"] == pytest.approx([0.925, 0.85, 0.925, 0, 0, 0.775, 0, 0], abs=1e-12)
    assert [x["status"] for x in data["results"]] == ["ok"] * 6 + ["ill_formed", "truncated"]
    assert data["results"][6]["gate_reasons"] == ["wrong_stop_token"]
    assert data["results"][0]["content"] == "Paris. alpha beta gamma"
    assert len(data["advantages"]) == 8 and data["advantages"][0] > 0 > data["advantages"][4]
    assert data["monitors"]["gated_share"] == 0.25
    assert data["monitors"]["rubric_on_wrong"] == pytest.approx(0.8 / 2)


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"responses": ["x"], "label": "a", "processor": "nope"}, "qwen3-thinking"),
        ({"responses": ["x"], "label": "a", "mode": "nope"}, "positive-only"),
        ({"responses": ["x"], "label": "a", "finish_reasons": [None, None]}, "finish_reasons"),
        ({"responses": [], "label": "a"}, "responses"),
        ({"label": "a"}, "responses"),
    ],
)
def test_evaluate_group_bad_requests(rule_server, body, fragment):
    r = httpx.post(f"{rule_server}/evaluate_group", json=body)
    assert r.status_code == 422 and fragment in r.text


def test_bad_json_and_missing_fields(rule_server):
    r = httpx.post(
        f"{rule_server}/evaluate", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    r = httpx.post(f"{rule_server}/evaluate", json={"label": "x"})
    assert r.status_code == 422 and "extra_reward_info" in r.text


def test_body_limit_413(rule_server):
    big = _evaluate_body("Paris " * 50_000)
    r = httpx.post(f"{rule_server}/evaluate", json=big)
    assert r.status_code == 413 and "limit" in r.text

    def chunks():  # streamed, no content-length
        for _ in range(50):
            yield b"x" * 10_000

    r = httpx.post(f"{rule_server}/evaluate", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    # the server still serves afterwards
    assert httpx.post(f"{rule_server}/evaluate", json=_evaluate_body("Paris")).status_code == 200


def test_bearer_key():
    with running(create_app(RuleJudge(), api_key="s3cret")) as url:
        assert httpx.post(f"{url}/evaluate", json=_evaluate_body("Paris")).status_code == 401
        bad = {"Authorization": "Bearer wrong"}
        assert httpx.post(f"{url}/evaluate", json=_evaluate_body("Paris"), headers=bad).status_code == 401
        good = {"Authorization": "Bearer s3cret"}
        r = httpx.post(f"{url}/evaluate", json=_evaluate_body("Paris"), headers=good)
        assert r.status_code == 200 and r.json()["outcome_reward"] == 1.0
        r = httpx.post(f"{url}/evaluate_group", json={"responses": ["x"], "label": "a"}, headers=good)
        assert r.status_code == 200
        assert httpx.get(f"{url}/health").status_code == 200


def test_one_megabyte_response_through_server():
    with running(create_app(RuleJudge())) as url:
        content = "Paris. The Eiffel Tower stands by the Seine. " * 23_000  # ~1 MB
        r = httpx.post(f"{url}/evaluate", json=_evaluate_body(content), timeout=30)
        assert r.status_code == 200 and r.json()["rubric_reward"] == 1.0


def test_llm_judge_failures_are_503_not_zero(fake_llm_server):
    model = make_chat_model(
        "openai:judge", base_url=fake_llm_server.base_url, timeout_s=0.3, max_retries=0, backoff_s=0
    )
    judge = LLMJudge(model, backoff_s=0.0, max_total_s=5.0)
    with running(create_app(judge)) as url:
        fake_llm_server.default = FakeResponse.error(500)
        r = httpx.post(f"{url}/evaluate", json=_evaluate_body("Paris by the Seine"), timeout=30)
        assert r.status_code == 503 and r.headers["retry-after"]
        assert r.json()["outcome_reward"] is None and r.json()["reward"] is None
        assert "HTTP 500" in r.json()["judge_error"] and r.json()["rubric_reward"] == 0.5
        assert len(fake_llm_server.requests) == 3
        fake_llm_server.reset()
        fake_llm_server.default = FakeResponse.chat("no fields here")  # garbage
        body = {"responses": ["r\n</think>\n\nParis<|im_end|>", "cut"], "label": "Paris", "question": "q"}
        r = httpx.post(f"{url}/evaluate_group", json=body, timeout=30)
        assert r.status_code == 503 and r.json()["judge_errors"] == 1
        res = r.json()["results"]
        assert "unparseable" in res[0]["judge_error"] and res[0]["judge_attempts"] == 3
        assert res[1]["judge_error"] is None and res[1]["status"] == "unfinished"  # gated: never judged
        fake_llm_server.reset()
        fake_llm_server.default = FakeResponse.chat(
            "extracted_final_answer: Paris\nreasoning: ok\ncorrect: yes"
        )
        r = httpx.post(f"{url}/evaluate", json=_evaluate_body("Paris by the Seine"), timeout=30)
        assert r.status_code == 200 and r.json()["outcome_reward"] == 1.0


def test_bounded_concurrency_and_judge_off_the_loop():
    class SlowJudge:
        name = "slow"

        def __init__(self):
            self.active = 0
            self.peak = 0
            self.lock = threading.Lock()
            self.release = threading.Event()

        def judge(self, question, answer, response, *, aliases=()):
            with self.lock:
                self.active += 1
                self.peak = max(self.peak, self.active)
            self.release.wait(timeout=30)
            with self.lock:
                self.active -= 1
            return RuleJudge().judge(question, answer, response, aliases=aliases)

    judge = SlowJudge()
    with running(create_app(judge, max_concurrency=2)) as url:
        results = []
        client = httpx.Client(timeout=30)
        client.get(f"{url}/health")  # connection pool and TLS context set up before timing

        def call():
            results.append(client.post(f"{url}/evaluate", json=_evaluate_body("Paris")).status_code)

        threads = [threading.Thread(target=call) for _ in range(6)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 5
        while judge.active < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        # the judges block until released, so /health answers only if they run off the event loop
        # (its latency under load is printed by benchmarks/bench_reward_server.py)
        health = client.get(f"{url}/health", timeout=10).json()
        assert judge.active == 2  # still blocked: health was served while both judge slots were busy
        judge.release.set()
        assert health["in_flight"] >= 1  # requests in progress, the queued ones included
        for t in threads:
            t.join()
    assert results == [200] * 6
    assert judge.peak == 2


def test_loop_lane_runs_calls_in_order_one_per_loop_turn():
    import asyncio

    from longtracerl.rewards.server import BadRequest, LoopLane

    order: list[str] = []

    def work(i: int) -> int:
        order.append(f"work{i}")
        if i == 2:
            raise BadRequest("no")
        return i * 10

    async def ticker() -> None:  # other work on the loop, ready at every turn
        for _ in range(6):
            order.append("tick")
            await asyncio.sleep(0)

    async def main() -> list:
        lane = LoopLane()
        return await asyncio.gather(*(lane.run(work, i) for i in range(4)), ticker(), return_exceptions=True)

    results = asyncio.run(main())
    assert results[:2] == [0, 10] and isinstance(results[2], BadRequest) and results[3] == 30
    works = [i for i, x in enumerate(order) if x.startswith("work")]
    assert [order[i] for i in works] == ["work0", "work1", "work2", "work3"]  # arrival order
    # the ticker runs between any two calls: the lane gives the loop back after each one
    assert all(b - a > 1 for a, b in zip(works, works[1:], strict=False))


def test_default_concurrency():
    from longtracerl.rewards.server import default_concurrency

    class Blocking:
        name = "blocking"

        def judge(self, question, answer, response, *, aliases=()):  # never called here
            raise AssertionError("default_concurrency only looks at the judge's type")

    assert default_concurrency(RuleJudge()) == 1
    # the LLM judge is awaited on the loop: threads only parse and score
    assert default_concurrency(LLMJudge(make_chat_model("openai:x", base_url="http://127.0.0.1:9/v1"))) == 1
    assert default_concurrency(Blocking()) == 32


def test_a_big_body_does_not_hold_up_small_ones():
    """A body over offload_bytes is scored in its own thread: small requests pass it."""
    release = threading.Event()

    class GateJudge:  # blocks on the big response until the small one has been served
        name = "gate"

        def judge(self, question, answer, response, *, aliases=()):
            if len(response) > 50_000:
                assert release.wait(30), "the small request never got through"
            return RuleJudge().judge(question, answer, response, aliases=aliases)

    with running(create_app(GateJudge(), max_concurrency=1, offload_bytes=50_000)) as url:
        big_status: list[int] = []
        big = threading.Thread(
            target=lambda: big_status.append(
                httpx.post(f"{url}/evaluate", json=_evaluate_body("Paris " * 20_000), timeout=60).status_code
            )
        )
        big.start()
        try:
            for _ in range(3):
                r = httpx.post(f"{url}/evaluate", json=_evaluate_body("Paris"), timeout=20)
                assert r.status_code == 200 and r.json()["outcome_reward"] == 1.0
            metrics = httpx.get(f"{url}/metrics").text
            assert "longtracerl_reward_offloaded_requests_total 1" in metrics
        finally:
            release.set()
            big.join(60)
        assert big_status == [200]


def test_big_bodies_in_a_worker_process_give_the_same_answers():
    app = create_app(RuleJudge(), offload_bytes=20_000, prewarm=True)
    assert app.app.state.reward["offload_process"] is True
    content = "Paris, by the Seine. " + "filler words here " * 2_000
    with running(app) as url:
        r = httpx.post(f"{url}/evaluate", json=_evaluate_body(content), timeout=60)
        assert r.status_code == 200
        assert r.json() == pytest.approx({"outcome_reward": 0.0, "rubric_reward": 0.5, "reward": 0.15})
        bad = {"responses": ["x" * 30_000], "label": "a", "processor": "os:system"}
        r = httpx.post(f"{url}/evaluate_group", json=bad, timeout=60)
        assert r.status_code == 422 and "built-in processor" in r.text  # the error crosses the process
        assert "longtracerl_reward_offloaded_requests_total 2" in httpx.get(f"{url}/metrics").text


def _die_in_child(parent_pid: int) -> str:
    if os.getpid() != parent_pid:
        os._exit(3)  # the worker process dies abruptly
    return "ran in the server process"


def test_big_lane_falls_back_to_a_thread_when_its_worker_dies(caplog):
    import asyncio

    from longtracerl.rewards.server import BigLane

    lane = BigLane(use_process=True)
    try:
        assert asyncio.run(lane.run(_die_in_child, os.getpid())) == "ran in the server process"
        assert lane.use_process is False and "now run in a thread" in caplog.text
    finally:
        lane.close()


def test_closing_the_big_lane_ends_its_worker_process():
    import asyncio
    import multiprocessing

    from longtracerl.rewards.server import BigLane

    before = set(multiprocessing.active_children())
    lane = BigLane(use_process=True)
    try:
        asyncio.run(lane.warm())
        workers = set(multiprocessing.active_children()) - before
        assert workers  # the spawned big-body worker
    finally:
        lane.close()
    # gone when close() returns: a server stopped by a signal runs no exit hook that would end it later
    assert not [p for p in workers if p.is_alive()]
