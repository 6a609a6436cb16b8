"""A pool of OpenAI-compatible endpoints: round-robin, failed endpoints cool down, pool specs."""

import asyncio
import socket

import pytest

from longtracerl.config import ConfigError
from longtracerl.llm.base import LLMError
from longtracerl.llm.openai import LLMConfig, OpenAIChatModel, ServerPool, make_chat_model
from tests.helpers.llm_servers import FakeLLMServer, FakeResponse

MSGS = [{"role": "user", "content": "hi"}]


def dead_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/v1"


def pool_model(urls, **kw):
    fields = dict(model="fake", base_urls=urls, api_key=None, backoff_s=0.01, backoff_max_s=0.02)
    fields.update(kw)
    return OpenAIChatModel(LLMConfig(**fields))


@pytest.fixture
def two_servers():
    with FakeLLMServer() as a, FakeLLMServer() as b:
        a.default, b.default = FakeResponse.chat("A"), FakeResponse.chat("B")
        yield a, b


def test_round_robin_sync(two_servers):
    a, b = two_servers
    m = pool_model([a.base_url, b.base_url])
    texts = [m.complete(MSGS).text for _ in range(6)]
    assert texts == ["A", "B", "A", "B", "A", "B"]
    assert len(a.requests) == len(b.requests) == 3
    assert [s["healthy"] for s in m.pool.status()] == [True, True]


def test_dead_endpoint_skipped_for_cooldown(two_servers):
    a, _ = two_servers
    dead = dead_url()
    m = pool_model([dead, a.base_url], pool_cooldown_s=60)
    outs = [m.complete(MSGS).text for _ in range(8)]
    assert outs == ["A"] * 8
    # the dead one was tried once (connection refused -> retried on the live one), then skipped
    st = {s["url"]: s for s in m.pool.status()}
    assert st[dead + "/chat/completions"]["failures"] == 1
    assert st[dead + "/chat/completions"]["healthy"] is False
    assert len(a.requests) == 8


def test_5xx_endpoint_cools_down_and_comes_back(two_servers):
    a, b = two_servers
    b.default = FakeResponse.error(503, "overloaded")
    m = pool_model([a.base_url, b.base_url], pool_cooldown_s=0.3)
    for _ in range(6):
        assert m.complete(MSGS).text == "A"
    assert len(b.requests) == 1  # failed once, then skipped during the cool-down
    b.default = FakeResponse.chat("B")
    import time

    time.sleep(0.35)
    texts = {m.complete(MSGS).text for _ in range(4)}
    assert texts == {"A", "B"}  # back in the rotation after the cool-down


def test_all_dead_gives_llm_error_naming_the_pool():
    d1, d2 = dead_url(), dead_url()
    m = pool_model([d1, d2], max_retries=2)
    with pytest.raises(LLMError, match="LLM pool") as err:
        m.complete(MSGS)
    assert err.value.attempts == 3
    assert "connection error" in str(err.value)


def test_async_pool_spreads_and_keeps_order(two_servers):
    a, b = two_servers
    a.default = FakeResponse.chat("A", delay_s=0.05)
    b.default = FakeResponse.chat("B", delay_s=0.05)
    a.responder = b.responder = lambda body: FakeResponse.chat(body["messages"][0]["content"], delay_s=0.05)
    m = pool_model([a.base_url, b.base_url], concurrency=8)
    convs = [[{"role": "user", "content": f"q{i}"}] for i in range(20)]
    outs = asyncio.run(m.acomplete_many(convs))
    assert [o.text for o in outs] == [f"q{i}" for i in range(20)]
    assert len(a.requests) == len(b.requests) == 10
    assert 1 <= a.max_in_flight <= 8 and 1 <= b.max_in_flight <= 8


def test_async_dead_endpoint_does_not_lose_items(two_servers):
    a, _ = two_servers
    m = pool_model([a.base_url, dead_url()], concurrency=4, pool_cooldown_s=60)
    outs = asyncio.run(m.acomplete_many([MSGS] * 12))
    assert [o.text for o in outs] == ["A"] * 12
    assert sum(s["failures"] for s in m.pool.status()) >= 1


def test_pool_specs_and_validation(two_servers):
    a, b = two_servers
    cfg = LLMConfig(base_url=f"{a.base_url}, {b.base_url}", model="m")
    assert cfg.base_url == a.base_url and cfg.base_urls == [a.base_url, b.base_url]
    assert cfg.endpoints() == [a.base_url, b.base_url]
    m = make_chat_model(f"openai:fake@{a.base_url},{b.base_url}", api_key=None)
    assert len(m.pool.urls) == 2
    assert {m.complete(MSGS).text for _ in range(2)} == {"A", "B"}
    assert LLMConfig(base_url=a.base_url, model="m").endpoints() == [a.base_url]
    with pytest.raises(ValueError, match=r"base_urls\[1\] must start with http"):
        LLMConfig(base_url=a.base_url, base_urls=[a.base_url, "localhost:1/v1"], model="m")
    with pytest.raises(ConfigError, match="must start with http"):
        make_chat_model("openai:m@http://a/v1,ftp://b/v1")


def test_server_pool_unit_with_clock():
    now = [0.0]
    pool = ServerPool(["a", "b", "c"], cooldown_s=10, clock=lambda: now[0])
    assert [pool.pick() for _ in range(3)] == ["a", "b", "c"]
    pool.failed("a")
    pool.failed("c")
    assert [pool.pick() for _ in range(3)] == ["b", "b", "b"]
    now[0] = 5.0
    pool.failed("b")  # everything down: the one that failed longest ago is tried anyway
    assert pool.pick() == "a"
    now[0] = 10.0  # a and c are back
    assert sorted(pool.pick() for _ in range(2)) == ["a", "c"]
    pool.ok("b")
    assert "b" in {pool.pick() for _ in range(3)}
    with pytest.raises(ValueError):
        ServerPool([])


def test_keepalive_pool_sized_to_concurrency(fake_llm_server):
    m = OpenAIChatModel(LLMConfig(model="m", base_url=fake_llm_server.base_url, concurrency=64, api_key=None))
    assert m.keepalive == 64
    m2 = OpenAIChatModel(
        LLMConfig(model="m", base_url=fake_llm_server.base_url, concurrency=64, keepalive_connections=20)
    )
    assert m2.keepalive == 20
