"""The test servers themselves: failure reporting of the llama.cpp launcher, fake server basics."""

import importlib.util

import httpx
import pytest

from longtracerl.llm.openai import parse_completion
from tests.helpers.llm_servers import FakeResponse, start_llama_server


def test_llama_launcher_reports_missing_package(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "llama_cpp" else real(n, *a))
    with pytest.raises(RuntimeError, match="llama-cpp-python is not installed"):
        start_llama_server()


@pytest.mark.llm_server
def test_llama_launcher_reports_dead_process(tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a gguf file")
    with pytest.raises(RuntimeError, match="exited with code"):
        start_llama_server(bad, startup_timeout_s=60, log_dir=tmp_path)


def test_fake_server_models_and_records(fake_llm_server):
    srv = fake_llm_server
    assert httpx.get(f"{srv.base_url}/models").json()["data"][0]["id"] == "fake-model"
    srv.responder = lambda body: FakeResponse.chat("dyn") if body.get("x") else None
    assert (
        httpx.post(f"{srv.base_url}/chat/completions", json={"x": 1}).json()["choices"][0]["message"][
            "content"
        ]
        == "dyn"
    )
    r = httpx.post(f"{srv.base_url}/chat/completions", json={})
    assert r.json()["choices"][0]["message"]["content"] == "ok"
    assert srv.bodies == [{"x": 1}, {}]
    srv.reset()
    assert srv.requests == [] and srv.responder is None


@pytest.mark.parametrize(
    "data,field,value",
    [
        ({"choices": [{"message": {"content": "a", "reasoning": "r"}}]}, "reasoning", "r"),
        (
            {
                "choices": [
                    {"message": {"content": None, "reasoning_content": "hm"}, "finish_reason": "length"}
                ]
            },
            "text",
            "",
        ),
        (
            {"choices": [{"message": {"content": [{"type": "text", "text": "x"}, {"text": "y"}]}}]},
            "text",
            "xy",
        ),
        (
            {
                "choices": [
                    {
                        "message": {
                            "content": None,
                            "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}],
                        }
                    }
                ]
            },
            "tool_calls",
            [("f", '{"a": 1}')],
        ),
    ],
)
def test_parse_completion_variants(data, field, value):
    out = parse_completion(data)
    got = [(t.name, t.arguments) for t in out.tool_calls] if field == "tool_calls" else getattr(out, field)
    assert got == value


@pytest.mark.parametrize(
    "data",
    [[], {"error": {"message": "boom"}}, {"choices": []}, {"choices": [{"message": {"role": "assistant"}}]}],
)
def test_parse_completion_rejects(data):
    with pytest.raises(ValueError):
        parse_completion(data)
