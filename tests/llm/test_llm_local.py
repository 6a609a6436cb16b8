"""LocalChatModel on the real SmolLM2-135M-Instruct GGUF (loaded once for the module)."""

import asyncio

import pytest

from longtracerl.llm.base import ChatModel, ChatParams, LLMError
from longtracerl.llm.local import LocalChatModel, parse_tool_call_tags, resolve_local_model
from longtracerl.llm.openai import make_chat_model

MSGS = [{"role": "user", "content": "Which city is the capital of France?"}]


@pytest.fixture(scope="module")
def convert_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("converted")


@pytest.fixture(scope="module")
def smol(convert_dir):
    # first load: dequantise the GGUF, then save the plain transformers folder under convert_dir
    return make_chat_model("local:smollm2", convert_cache=convert_dir)


@pytest.fixture(scope="module")
def greedy(smol):
    return smol.complete(MSGS, ChatParams(max_tokens=16))


def test_greedy_generation(smol, greedy):
    assert isinstance(smol, LocalChatModel) and isinstance(smol, ChatModel)
    out = greedy
    assert out.text.strip() and "<|im_end|>" not in out.text
    assert out.finish_reason in {"stop", "length"}
    assert out.prompt_tokens > 10 and 0 < out.completion_tokens <= 16
    again = smol.complete(MSGS, ChatParams(max_tokens=16))
    assert again.text == out.text  # greedy is deterministic


def test_length_stop_and_sampling(smol, greedy):
    short = smol.complete(MSGS, ChatParams(max_tokens=3))
    assert (short.finish_reason, short.completion_tokens) == ("length", 3)
    words = greedy.text.split()
    assert len(words) >= 2
    cut = smol.complete(MSGS, ChatParams(max_tokens=16, stop=[words[1]]))
    assert words[1] not in cut.text and cut.finish_reason == "stop"
    assert cut.completion_tokens < greedy.completion_tokens
    p = ChatParams(max_tokens=6, temperature=1.0, seed=7)
    a, b = smol.complete(MSGS, p), asyncio.run(smol.acomplete(MSGS, p))
    assert a.text == b.text  # same seed, same sample


def test_context_overflow_is_llmerror(smol):
    with pytest.raises(LLMError, match="exceeds the context"):
        smol.complete(MSGS, ChatParams(max_tokens=smol.max_context))


def test_resolve_errors(tmp_path):
    with pytest.raises(LLMError, match="not found"):
        resolve_local_model(tmp_path / "nope")
    (tmp_path / "w.bin").write_bytes(b"")
    with pytest.raises(LLMError, match="not a .gguf"):
        resolve_local_model(tmp_path / "w.bin")
    with pytest.raises(LLMError, match="no config.json"):
        resolve_local_model(tmp_path)


def test_tool_call_tags():
    text, calls = parse_tool_call_tags(
        '<tool_call>{"name": "open", "arguments": "{\\"id\\": 1}"}</tool_call>'
    )
    assert text == "" and calls[0].arguments == '{"id": 1}'
    text, calls = parse_tool_call_tags("<tool_call>not json</tool_call>")
    assert calls == [] and text == "<tool_call>not json</tool_call>"


def test_converted_cache_reloads_without_converting_and_generates_the_same(smol, greedy, convert_dir):
    (folder,) = (convert_dir / "gguf-to-hf").iterdir()
    weights = folder / "model.safetensors"
    assert weights.exists() and (folder / "chat_template.jinja").exists()
    written = weights.stat().st_mtime_ns
    again = LocalChatModel("smollm2", convert_cache=convert_dir)
    assert again.source == folder and weights.stat().st_mtime_ns == written  # loaded, not converted again
    out = again.complete(MSGS, ChatParams(max_tokens=16))
    assert (out.text, out.completion_tokens) == (greedy.text, greedy.completion_tokens)
