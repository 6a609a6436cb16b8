"""docs/method.md#outcome-reward: the LLM judge (stub model and a real HTTP fake server) and the rule judge."""

from __future__ import annotations

import time

import pytest

from longtracerl.llm.base import ChatParams, LLMError
from longtracerl.rewards.judge import (
    LLMJudge,
    RuleJudge,
    extract_answer,
    parse_grader_reply,
)
from tests.helpers.llm_servers import FakeResponse, StubChatModel

GOOD_YES = "extracted_final_answer: Paris\nreasoning: Same city.\ncorrect: yes"
GOOD_NO = "extracted_final_answer: Lyon\nreasoning: Different city.\ncorrect: no"


class StubModel(StubChatModel):
    """The shared stub with the replies as arguments, answering GOOD_YES once they are used up."""

    def __init__(self, *script):
        super().__init__(script, default=GOOD_YES)


# --------------------------------------------------------------------------- reply parsing


@pytest.mark.parametrize(
    "reply, correct, extracted, reasoning",
    [
        (GOOD_YES, True, "Paris", "Same city."),
        (GOOD_NO, False, "Lyon", "Different city."),
        ("**extracted_final_answer:** Paris\n**reasoning:** ok\n**correct:** yes", True, "Paris", "ok"),
        (
            "**Extracted_Final_Answer**: *Paris*\n\n**Reasoning**: fine\n\n**Correct**: **Yes**",
            True,
            "Paris",
            "fine",
        ),
        ("Extracted final answer :  Paris \nReasoning : x\nCORRECT : NO.", False, "Paris", "x"),
        ("## correct: yes", True, None, None),
        (
            "extracted_final_answer: None\nreasoning: no answer given\ncorrect: no",
            False,
            None,
            "no answer given",
        ),
        ("reasoning: spans\ntwo lines\ncorrect:yes", True, None, "spans\ntwo lines"),
        ("correct: no\n...\ncorrect: yes", True, None, None),  # the last verdict wins
    ],
)
def test_parse_grader_reply_tolerant(reply, correct, extracted, reasoning):
    v = parse_grader_reply(reply)
    assert v is not None
    assert (v.correct, v.extracted_answer, v.reasoning) == (correct, extracted, reasoning)


@pytest.mark.parametrize(
    "reply", ["", "yes", "The answer is correct.", "correct: maybe", "correct:", "incorrect yes"]
)
def test_parse_grader_reply_unparseable(reply):
    assert parse_grader_reply(reply) is None


# --------------------------------------------------------------------------- LLM judge, stub model


def test_llm_judge_prompt_carries_question_answer_response_and_aliases():
    model = StubModel(GOOD_YES)
    r = LLMJudge(model).judge("Capital of France?", "Paris", "It is Paris.", aliases=["Paname"])
    assert r.correct and r.extracted_answer == "Paris" and r.attempts == 1 and r.error is None
    assert r.raw == GOOD_YES and r.method == "llm" and not r.approximate
    [messages] = model.calls
    assert len(messages) == 1 and messages[0]["role"] == "user"  # no system prompt
    text = messages[0]["content"]
    for piece in (
        "Capital of France?",
        "Paris",
        "It is Paris.",
        "Paname",
        "extracted_final_answer",
        "correct",
    ):
        assert piece in text


def test_llm_judge_retries_unparseable_then_gives_up_with_reason():
    model = StubModel("garbage", "more garbage", "still nothing", GOOD_YES)
    r = LLMJudge(model, backoff_s=0).judge("q", "a", "resp")
    assert not r.correct
    assert r.attempts == 3 and len(model.calls) == 3
    assert "unparseable" in r.error and r.raw == "still nothing"


def test_llm_judge_unparseable_then_good():
    model = StubModel("garbage", GOOD_NO)
    r = LLMJudge(model, backoff_s=0).judge("q", "a", "resp")
    assert (r.correct, r.attempts, r.error) == (False, 2, None)


def test_llm_judge_api_errors_bounded():
    model = StubModel(LLMError("boom 1"), LLMError("boom 2"), LLMError("boom 3"), GOOD_YES)
    r = LLMJudge(model, backoff_s=0).judge("q", "a", "resp")
    assert not r.correct and r.attempts == 3 and len(model.calls) == 3
    assert "boom 3" in r.error


def test_llm_judge_api_error_then_success():
    model = StubModel(LLMError("x"), GOOD_YES)
    r = LLMJudge(model, backoff_s=0).judge("q", "a", "resp")
    assert r.correct and r.attempts == 2 and r.error is None


def test_llm_judge_time_budget_stops_retries():
    class Slow(StubModel):
        def complete(self, messages, params=None):
            time.sleep(0.2)
            raise LLMError("slow failure")

    model = Slow()
    t0 = time.monotonic()
    r = LLMJudge(model, backoff_s=0, max_total_s=0.3, max_api_attempts=10).judge("q", "a", "resp")
    assert time.monotonic() - t0 < 1.0
    assert not r.correct and r.attempts == 2 and "time budget" in r.error


def test_llm_judge_cache():
    model = StubModel(GOOD_YES, GOOD_NO)
    judge = LLMJudge(model)
    first = judge.judge("q", "a", "resp")
    second = judge.judge("q", "a", "resp")
    assert first.correct and second.correct and second.cached and len(model.calls) == 1
    assert not judge.judge("q", "a", "other").correct and len(model.calls) == 2
    # errors are not cached
    model2 = StubModel(LLMError("x"), GOOD_YES)
    j2 = LLMJudge(model2, backoff_s=0, max_api_attempts=1)
    assert j2.judge("q", "a", "r").error
    assert j2.judge("q", "a", "r").correct


def test_llm_judge_empty_response_not_sent():
    model = StubModel()
    r = LLMJudge(model).judge("q", "a", "   ")
    assert not r.correct and r.attempts == 0 and model.calls == []


def test_llm_judge_params():
    judge = LLMJudge(StubModel())
    assert judge.params == ChatParams(temperature=0.0, max_tokens=1024)
    with pytest.raises(ValueError):
        LLMJudge(StubModel(), max_calls=0)


# --------------------------------------------------------------------------- LLM judge over HTTP


def _http_judge(server, **kw):
    from longtracerl.llm.openai import make_chat_model

    model = make_chat_model(
        "openai:judge",
        base_url=server.base_url,
        timeout_s=kw.pop("timeout_s", 2.0),
        max_retries=0,
        backoff_s=0.0,
    )
    return LLMJudge(model, backoff_s=0.0, **kw)


def test_http_judge_ok(fake_llm_server):
    fake_llm_server.queue(
        FakeResponse.chat("**extracted_final_answer:** Paris\n**reasoning:** same\n**correct:** yes")
    )
    r = _http_judge(fake_llm_server).judge("Capital?", "Paris", "Paris.")
    assert r.correct and r.extracted_answer == "Paris"
    body = fake_llm_server.requests[0].body
    assert body["model"] == "judge" and body["temperature"] == 0.0


def test_http_judge_500_then_ok(fake_llm_server):
    fake_llm_server.queue(FakeResponse.error(500), FakeResponse.chat(GOOD_NO))
    r = _http_judge(fake_llm_server).judge("q", "a", "resp")
    assert (r.correct, r.error, r.attempts) == (False, None, 2)


def test_http_judge_always_500(fake_llm_server):
    fake_llm_server.default = FakeResponse.error(500)
    r = _http_judge(fake_llm_server).judge("q", "a", "resp")
    assert not r.correct and r.attempts == 3 and "API error" in r.error
    assert len(fake_llm_server.requests) == 3


def test_http_judge_timeout_bounded(fake_llm_server):
    fake_llm_server.default = FakeResponse.chat(GOOD_YES, delay_s=1.5)
    t0 = time.monotonic()
    r = _http_judge(fake_llm_server, timeout_s=0.3).judge("q", "a", "resp")
    elapsed = time.monotonic() - t0
    assert not r.correct and r.error and r.attempts == 3
    assert elapsed < 3.0


def test_http_judge_garbage(fake_llm_server):
    fake_llm_server.queue(FakeResponse.raw(b"\x00not json"), FakeResponse.raw('{"no": "choices"}'))
    fake_llm_server.default = FakeResponse.chat("I think it is fine.")
    r = _http_judge(fake_llm_server).judge("q", "a", "resp")
    assert not r.correct and r.error
    assert len(fake_llm_server.requests) <= 5


# --------------------------------------------------------------------------- rule judge


@pytest.mark.parametrize(
    "answer, response, aliases, correct, method",
    [
        ("Paris", "paris", (), True, "rule:exact"),
        ("The Beatles", "Beatles!", (), True, "rule:exact"),
        ("Paris", "Answer: Paris", (), True, "rule:exact"),
        ("Paris", "blah\n**Final Answer:** Paris", (), True, "rule:exact"),
        ("42", "so \\boxed{42}", (), True, "rule:exact"),
        ("1,000", "1000", (), True, "rule:number"),
        ("3.14159", "about 3.1416 units", (), True, "rule:number"),
        ("100", "105", (), False, "rule:none"),
        ("1889", "1900", (), False, "rule:none"),  # whole numbers (years, counts) match exactly
        ("1889", "in 1889.0", (), True, "rule:number"),
        ("2.5", "2.51 km", (), True, "rule:number"),  # 0.4 % off: inside the relative tolerance
        ("100", "between 99 and 100", (), False, "rule:none"),
        ("Paris", "The answer is Paris.", (), True, "rule:contains"),
        (
            "Paris",
            "It could be Lyon or Marseille or Nice or Lille or Toulouse or Nantes or Rennes or Paris",
            (),
            False,
            "rule:none",
        ),
        ("Marie Curie", "Pierre Curie", (), False, "rule:none"),
        ("Marie Salomea Sklodowska Curie", "Marie Sklodowska-Curie", (), True, "rule:f1"),
        ("Peking", "Beijing", ("Beijing", "北京"), True, "rule:exact"),
        ("Zürich", "Zurich", (), True, "rule:exact"),
        ("Paris", "", (), False, "rule:none"),
    ],
)
def test_rule_judge(answer, response, aliases, correct, method):
    r = RuleJudge().judge("q", answer, response, aliases=aliases)
    assert (r.correct, r.method, r.approximate) == (correct, method, True)


def test_extract_answer():
    assert extract_answer("x \\boxed{1} y \\boxed{2}") == "2"
    assert extract_answer("Answer: a\nmore\nFinal answer: b") == "b"
    assert extract_answer("  plain  ") == "plain"


def test_llm_judge_survives_non_llm_errors_from_the_client():
    model = StubModel(RuntimeError("socket exploded"), GOOD_YES)
    r = LLMJudge(model, backoff_s=0).judge("q", "a", "resp")
    assert r.correct and r.attempts == 2
    model = StubModel(RuntimeError("x"), RuntimeError("y"), RuntimeError("z"))
    r = LLMJudge(model, backoff_s=0).judge("q", "a", "resp")
    assert not r.correct and "RuntimeError: z" in r.error
