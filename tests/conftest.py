"""Shared test fixtures. LLM servers: see tests/helpers/llm_servers.py for the scripting API."""

from __future__ import annotations

import pytest

from tests.helpers.llm_servers import FakeLLMServer, start_llama_server


@pytest.fixture
def fake_llm_server():
    """A running scriptable OpenAI-compatible server (``FakeLLMServer``); ``.base_url`` ends in /v1."""
    with FakeLLMServer() as server:
        yield server


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory):
    """Base URL of a real llama-cpp-python server with SmolLM2-135M-Instruct; fails if unavailable."""
    try:
        server = start_llama_server(log_dir=tmp_path_factory.mktemp("llama_server"))
    except RuntimeError as err:
        pytest.fail(f"llama_server fixture: {err}", pytrace=False)
    try:
        yield server.base_url
    finally:
        server.stop()
