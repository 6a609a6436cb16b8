"""Against a real OpenAI-compatible server: llama-cpp-python serving SmolLM2-135M-Instruct."""

import asyncio

import pytest

from longtracerl.llm.base import ChatParams
from longtracerl.llm.openai import make_chat_model

pytestmark = pytest.mark.llm_server


def test_real_server_chat_completion(llama_server, tmp_path):
    m = make_chat_model("openai:smollm2", base_url=llama_server, timeout_s=60, cache_dir=str(tmp_path))
    msgs = [{"role": "user", "content": "Which city is the capital of France? Answer in one word."}]
    out = m.complete(msgs, ChatParams(max_tokens=16, temperature=0.0))
    assert out.text.strip(), out
    assert out.finish_reason in {"stop", "length"}
    assert out.completion_tokens and out.completion_tokens <= 16
    again = asyncio.run(m.acomplete(msgs, ChatParams(max_tokens=16, temperature=0.0)))
    assert again.cached and again.text == out.text
    short = m.complete(msgs, ChatParams(max_tokens=2, temperature=0.0, seed=1))
    assert not short.cached and short.completion_tokens <= 2
