"""Structured output: the request carries the schema; a server that refuses it gets plain requests."""

from __future__ import annotations

import pytest

from longtracerl.llm.base import EndpointError, LLMError, complete_with_format, response_format_for
from longtracerl.llm.openai import make_chat_model
from longtracerl.records import Page
from longtracerl.walks.choosers import LLMChooser
from tests.helpers.llm_servers import FakeResponse, StubChatModel

CUR = Page(id="a", title="Sinister", text="A horror film directed by Scott Derrickson.")
CANDS = [Page(id=f"c{i}", title=f"Film {i}", text=f"Film {i} is a film.") for i in range(1, 4)]


def test_the_chooser_sends_its_schema_and_drops_it_when_refused(fake_llm_server):
    srv = fake_llm_server

    def refuse_format(body):
        if body.get("response_format"):
            return FakeResponse.error(400, "response_format is not supported")
        return FakeResponse.chat("2")

    srv.responder = refuse_format
    chooser = LLMChooser(make_chat_model(f"openai:fake@{srv.base_url}", max_retries=0))
    assert [chooser.choose(CUR, CANDS).index for _ in range(2)] == [1, 1]
    first, second, third = srv.bodies
    assert first["response_format"]["schema"]["properties"]["choice"]["maximum"] == 3
    assert not second.get("response_format") and not third.get("response_format")
    assert chooser.structured == "off" and "number of that page only" in third["messages"][0]["content"]


def test_complete_with_format_keeps_endpoint_failures_apart():
    fmt = response_format_for({"type": "object"}, "x")
    ok = StubChatModel(['{"a": 1}'])
    comp, kept = complete_with_format(ok, [{"role": "user", "content": "q"}], _params(), fmt)
    assert kept and comp.text == '{"a": 1}'
    # a refused field (HTTP 400) is retried plain; an endpoint failure (even a 5xx) is raised
    refused = StubChatModel([LLMError("bad field", status=400), "plain"])
    assert complete_with_format(refused, [{"role": "user", "content": "q"}], _params(), fmt)[1] is False
    down = StubChatModel([EndpointError("gave up", status=503)])
    with pytest.raises(EndpointError):
        complete_with_format(down, [{"role": "user", "content": "q"}], _params(), fmt)


def _params():
    from longtracerl.llm.base import ChatParams

    return ChatParams()
