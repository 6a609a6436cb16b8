import asyncio
import json
import threading
import time

import pytest

from longtracerl.config import ConfigError, load_config
from longtracerl.llm.base import ChatModel, ChatParams, LLMError
from longtracerl.llm.openai import LLMConfig, OpenAIChatModel, cache_key, make_chat_model
from tests.helpers.llm_servers import FakeResponse

MSGS = [{"role": "user", "content": "Which city is the capital of France?"}]


def client(srv, **kw):
    fields = {
        "model": "fake",
        "base_url": srv.base_url,
        "backoff_s": 0.01,
        "backoff_max_s": 0.05,
        "api_key": None,
    }
    fields.update(kw)
    return OpenAIChatModel(LLMConfig(**fields))


def test_success_and_request_body(fake_llm_server):
    srv = fake_llm_server
    srv.queue(FakeResponse.chat("Paris", reasoning="capital of France", usage=(12, 1)))
    m = client(srv, api_key="sekrit", extra_body={"chat_template_kwargs": {"enable_thinking": False}})
    assert isinstance(m, ChatModel)
    out = m.complete(MSGS, ChatParams(temperature=0.5, max_tokens=7, stop=["\n"], seed=3, top_k=20))
    assert (out.text, out.reasoning, out.finish_reason) == ("Paris", "capital of France", "stop")
    assert (out.prompt_tokens, out.completion_tokens, out.cached, out.model) == (12, 1, False, "fake-model")
    (req,) = srv.requests
    assert req.path == "/v1/chat/completions"
    assert req.headers["Authorization"] == "Bearer sekrit"
    b = req.body
    assert b["model"] == "fake" and b["messages"] == MSGS
    assert (b["temperature"], b["max_tokens"], b["stop"], b["seed"], b["top_k"]) == (0.5, 7, ["\n"], 3, 20)
    assert b["chat_template_kwargs"] == {"enable_thinking": False}
    assert "tools" not in b and "Authorization" not in client(srv).request_body(MSGS, ChatParams())


def test_tool_calls_parsed(fake_llm_server):
    srv = fake_llm_server
    srv.queue(FakeResponse.chat(None, tool_calls=[("search", {"query": "Eiffel"}), ("open", '{"id": "p1"')]))
    tools = [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}]
    out = client(srv).complete(MSGS, ChatParams(tools=tools))
    assert out.text == "" and out.finish_reason == "tool_calls"
    assert [(t.id, t.name) for t in out.tool_calls] == [("call_0", "search"), ("call_1", "open")]
    assert json.loads(out.tool_calls[0].arguments) == {"query": "Eiffel"}
    assert out.tool_calls[1].arguments == '{"id": "p1"'  # raw, even when not valid JSON
    assert srv.requests[0].body["tools"] == tools


def test_retries_then_success(fake_llm_server):
    srv = fake_llm_server
    srv.queue(FakeResponse.error(500), FakeResponse.error(429, retry_after=0), FakeResponse.chat("third"))
    out = client(srv, max_retries=3).complete(MSGS)
    assert out.text == "third"
    assert len(srv.requests) == 3


def test_500s_exhausted(fake_llm_server):
    srv = fake_llm_server
    srv.default = FakeResponse.error(503, "overloaded")
    with pytest.raises(LLMError, match="overloaded") as err:
        client(srv, max_retries=2).complete(MSGS)
    assert err.value.status == 503 and err.value.attempts == 3
    assert len(srv.requests) == 3


def test_400_not_retried(fake_llm_server):
    srv = fake_llm_server
    srv.default = FakeResponse.error(400, "context length exceeded")
    with pytest.raises(LLMError, match="HTTP 400: context length exceeded") as err:
        client(srv, max_retries=4).complete(MSGS)
    assert err.value.status == 400 and err.value.attempts == 1
    assert len(srv.requests) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"<html>proxy error</html>",
        b'{"choices": [',
        b'{"object": "chat.completion"}',
        b'{"choices": [{"text": "x"}]}',
    ],
)
def test_garbage_body_retried_then_error(fake_llm_server, body):
    srv = fake_llm_server
    srv.default = FakeResponse.raw(body)
    with pytest.raises(LLMError, match="not (JSON|a chat completion)"):
        client(srv, max_retries=1).complete(MSGS)
    assert len(srv.requests) == 2


def test_garbage_then_good(fake_llm_server):
    srv = fake_llm_server
    srv.queue(FakeResponse.raw("oops"), FakeResponse.chat("fine"))
    assert client(srv, max_retries=1).complete(MSGS).text == "fine"


def test_timeout_bounded(fake_llm_server):
    srv = fake_llm_server
    srv.default = FakeResponse.chat("late", delay_s=3.0)
    m = client(srv, timeout_s=0.3, max_retries=1)
    t0 = time.monotonic()
    with pytest.raises(LLMError, match="timed out") as err:
        m.complete(MSGS)
    elapsed = time.monotonic() - t0
    assert err.value.status is None and err.value.attempts == 2
    assert 0.6 <= elapsed < 2.5, elapsed
    assert elapsed <= m.cfg.max_total_s()


def test_async_timeout_bounded(fake_llm_server):
    srv = fake_llm_server
    srv.default = FakeResponse.chat("late", delay_s=3.0)
    m = client(srv, timeout_s=0.3, max_retries=1)
    t0 = time.monotonic()
    with pytest.raises(LLMError, match="timed out"):
        asyncio.run(m.acomplete(MSGS))
    assert time.monotonic() - t0 < 2.5


def test_connection_refused_is_retried_then_error():
    from tests.helpers.llm_servers import free_port

    m = OpenAIChatModel(
        LLMConfig(base_url=f"http://127.0.0.1:{free_port()}/v1", model="x", max_retries=2, backoff_s=0.01)
    )
    with pytest.raises(LLMError, match="connection error") as err:
        m.complete(MSGS)
    assert err.value.attempts == 3


def test_cache_hit_and_no_cache_of_failures(fake_llm_server, tmp_path):
    srv = fake_llm_server
    srv.queue(FakeResponse.error(500), FakeResponse.chat("first"), FakeResponse.chat("second"))
    m = client(srv, cache_dir=str(tmp_path), max_retries=0)
    with pytest.raises(LLMError):
        m.complete(MSGS)  # the 500 is not cached
    a = m.complete(MSGS)
    b = m.complete(MSGS)
    assert (a.text, a.cached) == ("first", False)
    assert (b.text, b.cached) == ("first", True)
    assert len(srv.requests) == 2
    # other params or another model -> another key; a fresh client shares the file
    c = client(srv, cache_dir=str(tmp_path)).complete(MSGS, ChatParams(seed=1))
    assert (c.text, c.cached) == ("second", False)
    d = asyncio.run(client(srv, cache_dir=str(tmp_path)).acomplete(MSGS))
    assert (d.text, d.cached) == ("first", True)
    assert len(srv.requests) == 3
    assert cache_key("a", MSGS, ChatParams(), {}) != cache_key("b", MSGS, ChatParams(), {})


def test_cache_concurrent_threads(fake_llm_server, tmp_path):
    srv = fake_llm_server
    srv.responder = lambda body: FakeResponse.chat(body["messages"][0]["content"][::-1])
    m = client(srv, cache_dir=str(tmp_path), concurrency=8)
    errors = []

    def work(i):
        try:
            for j in range(5):
                msgs = [{"role": "user", "content": f"q{i}-{j}"}]
                assert m.complete(msgs).text == f"q{i}-{j}"[::-1]
        except Exception as e:  # noqa: BLE001 - surfaced below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(m.cache) == 30
    assert all(m.complete([{"role": "user", "content": f"q{i}-4"}]).cached for i in range(6))


def test_async_concurrency_limit(fake_llm_server):
    srv = fake_llm_server
    srv.default = FakeResponse.chat("slow", delay_s=0.3)
    m = client(srv, concurrency=2)

    async def main():
        convs = [[{"role": "user", "content": f"q{i}"}] for i in range(6)]
        return await asyncio.gather(*(m.acomplete(c) for c in convs))

    t0 = time.monotonic()
    outs = asyncio.run(main())
    assert [o.text for o in outs] == ["slow"] * 6
    assert len(srv.requests) == 6
    assert srv.max_in_flight == 2
    assert time.monotonic() - t0 >= 0.85  # 3 waves of 0.3 s


def test_sync_concurrency_limit_across_threads(fake_llm_server):
    srv = fake_llm_server
    srv.default = FakeResponse.chat("slow", delay_s=0.2)
    m = client(srv, concurrency=2)
    threads = [threading.Thread(target=m.complete, args=(MSGS,)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(srv.requests) == 6 and srv.max_in_flight == 2


def test_complete_many_order_and_errors(fake_llm_server):
    srv = fake_llm_server

    def responder(body):
        q = body["messages"][0]["content"]
        return FakeResponse.error(400, "bad") if q == "bad" else FakeResponse.chat(q.upper())

    srv.responder = responder
    m = client(srv, concurrency=3)
    outs = m.complete_many(
        [[{"role": "user", "content": q}] for q in ["a", "bad", "c"]], return_exceptions=True
    )
    assert outs[0].text == "A" and outs[2].text == "C"
    assert isinstance(outs[1], LLMError)
    # usable again from a new event loop
    assert m.complete_many([[{"role": "user", "content": "d"}]])[0].text == "D"


def test_n_must_be_one(fake_llm_server):
    with pytest.raises(ValueError, match="n must be 1"):
        client(fake_llm_server).complete(MSGS, ChatParams(n=2))


def test_config_env_and_validation(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://example.invalid:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "k1")
    monkeypatch.delenv("LONGTRACERL_API_KEY", raising=False)
    monkeypatch.delenv("LONGTRACERL_BASE_URL", raising=False)
    cfg = LLMConfig()
    assert cfg.base_url == "http://example.invalid:9/v1"
    assert cfg.api_key.get_secret_value() == "k1"
    assert "k1" not in cfg.model_dump_json()
    monkeypatch.setenv("LONGTRACERL_API_KEY", "k2")
    assert LLMConfig().api_key.get_secret_value() == "k2"
    with pytest.raises(ConfigError, match="max_retries"):
        load_config(LLMConfig, overrides=["max_retries=1000"])
    with pytest.raises(ConfigError, match="base_url must start with http"):
        load_config(LLMConfig, overrides=["base_url=localhost:8000"])


def test_make_chat_model_specs(fake_llm_server):
    srv = fake_llm_server
    m = make_chat_model(f"openai:tiny@{srv.base_url}", timeout_s=5)
    assert isinstance(m, OpenAIChatModel)
    assert (m.name, m.cfg.base_url, m.cfg.timeout_s) == ("openai:tiny", srv.base_url, 5)
    m2 = make_chat_model("openai:tiny", base_url=srv.base_url)
    assert m2.complete(MSGS).text == "ok"
    assert make_chat_model({"model": "x", "base_url": srv.base_url}).cfg.model == "x"
    assert make_chat_model(m) is m
    bare = make_chat_model(srv.base_url, model="z")
    assert (bare.cfg.base_url, bare.cfg.model) == (srv.base_url, "z")
    assert bare.complete(MSGS).text == "ok"
    cfg = LLMConfig(model="y", base_url=srv.base_url)
    assert make_chat_model(cfg, concurrency=3).cfg.concurrency == 3
    with pytest.raises(ConfigError, match="concurrency"):
        make_chat_model(cfg, concurrency=0)
    with pytest.raises(ConfigError, match="no backend prefix"):
        make_chat_model("gpt-4o")
    with pytest.raises(ConfigError, match="cannot import"):
        make_chat_model("no_such_module_xyz:thing")
    with pytest.raises(ConfigError, match="base_url"):
        make_chat_model("openai:m", base_url="ftp://x")
