"""docs/method.md#parsing-the-response: response parsing and gating, rule by rule."""

from __future__ import annotations

import pytest

from longtracerl.rewards.parse import (
    DEEPSEEK_R1_QWEN3,
    PROCESSORS,
    GenericProcessor,
    parse_response,
)

QWEN_OK = "Let me think.\nParis is the capital.\n</think>\n\nThe answer is Paris.<|im_end|>"


def test_qwen_ok_split_exact():
    r = parse_response(QWEN_OK)
    assert r.status == "ok" and r.reasons == []
    assert r.reasoning == "Let me think.\nParis is the capital."
    assert r.content == "The answer is Paris."


def test_only_one_trailing_newline_removed_and_one_blank_line():
    r = parse_response("a\n\n</think>\n\n\nb<|im_end|>")
    assert r.reasoning == "a\n"
    assert r.content == "\nb"
    r = parse_response("a</think>\nb<|im_end|>")
    assert (r.reasoning, r.content, r.status) == ("a", "b", "ok")
    r = parse_response("a</think>b<|im_end|>")
    assert (r.reasoning, r.content) == ("a", "b")


def test_leading_think_open_is_stripped():
    r = parse_response("<think>\nreason\n</think>\n\nanswer<|im_end|>")
    assert (r.reasoning, r.content, r.status) == ("reason", "answer", "ok")


def test_split_on_last_think_close_and_count_rule():
    r = parse_response("r1\n</think>\n\nmid\n</think>\n\nfinal<|im_end|>")
    assert r.content == "final"
    assert r.reasoning == "r1\n</think>\n\nmid"
    assert r.status == "ill_formed" and r.reasons == ["think_close_count"]


def test_no_think_close():
    r = parse_response("just reasoning<|im_end|>")
    assert r.status == "ill_formed"
    assert r.reasons == ["think_close_count", "empty_content"]
    assert (r.reasoning, r.content) == ("just reasoning", "")


@pytest.mark.parametrize(
    "text, reasons",
    [
        ("\n</think>\n\nanswer<|im_end|>", ["empty_reasoning"]),
        ("   \n</think>\n\nanswer<|im_end|>", ["empty_reasoning"]),
        ("reason\n</think>\n\n<|im_end|>", ["empty_content"]),
        ("reason\n</think>\n\n  \n<|im_end|>", ["empty_content"]),
        ("reason\n</think>\n\nans<|im_start|>user\nmore<|im_end|>", ["special_token_in_content"]),
        ("reason\n</think>\n\nans<|im_end|>tail<|im_end|>", ["special_token_in_content"]),
        ("reason\n</think>\n\nans <think> again<|im_end|>", ["special_token_in_content"]),
        ("reason\n</think>\n\nans <|vision_pad|><|im_end|>", ["special_token_in_content"]),
        ("reason\n</think>\n\nans<|endoftext|>", ["wrong_stop_token"]),
    ],
)
def test_ill_formed_rules(text, reasons):
    r = parse_response(text)
    assert r.status == "ill_formed"
    assert r.reasons == reasons


def test_special_token_in_reasoning_is_fine():
    assert parse_response("a <|im_start|> b\n</think>\n\nans<|im_end|>").status == "ok"


def test_finish_reasons():
    body = "reason\n</think>\n\nans"
    assert parse_response(body).status == "unfinished"
    assert parse_response(body).reasons == ["unfinished"]
    assert parse_response(body, finish_reason="stop").status == "ok"
    assert parse_response(body, finish_reason="length").status == "truncated"
    assert parse_response(body, finish_reason="abort").status == "aborted"
    r = parse_response(body, finish_reason="weird")
    assert (r.status, r.reasons) == ("unfinished", ["unknown_finish_reason"])
    # kept stop token and finish_reason both given
    assert parse_response(body + "<|im_end|>", finish_reason="stop").status == "ok"
    assert parse_response(body + "<|endoftext|>", finish_reason="stop").reasons == ["wrong_stop_token"]


def test_status_priority_lists_all_reasons():
    r = parse_response("no close at all", finish_reason="length")
    assert r.status == "truncated"
    assert r.reasons == ["truncated", "think_close_count", "empty_content"]
    r = parse_response("x", finish_reason="abort")
    assert r.status == "aborted"


def test_think_close_inside_content_is_ill_formed_but_content_is_after_last():
    r = parse_response("plan\n</think>\n\nI wrote </think> here\n</think>\n\nBerlin<|im_end|>")
    assert r.content == "Berlin"
    assert r.status == "ill_formed"


def test_deepseek_processor():
    ok = "reason\n</think>\n\nanswer<｜end▁of▁sentence｜>"
    r = parse_response(ok, "deepseek-r1-qwen3")
    assert (r.status, r.reasoning, r.content) == ("ok", "reason", "answer")
    assert parse_response("reason\n</think>\n\nanswer<|im_end|>", "deepseek-r1-qwen3").reasons == [
        "wrong_stop_token"
    ]
    bad = "reason\n</think>\n\nanswer<｜User｜>hi<｜end▁of▁sentence｜>"
    assert parse_response(bad, DEEPSEEK_R1_QWEN3).reasons == ["special_token_in_content"]
    assert parse_response("reason\n</think>\n\nanswer", "deepseek-r1-qwen3").status == "unfinished"


def test_generic_processor():
    p = GenericProcessor(
        think_open="<reason>", think_close="</reason>", stop_tokens=["<END>"], special_tokens=["<SEP>"]
    )
    r = p.parse("<reason>\nx\n</reason>\n\ny<END>")
    assert (r.status, r.reasoning, r.content) == ("ok", "x", "y")
    assert p.parse("x</reason>y<SEP>z<END>").reasons == ["special_token_in_content"]
    assert parse_response("x</reason>y", p, finish_reason="stop").status == "ok"
    with pytest.raises(ValueError, match="stop_tokens"):
        GenericProcessor(stop_tokens="<END>")
    with pytest.raises(ValueError, match="think_close"):
        GenericProcessor(think_close="")


def test_registry_errors_list_valid_names():
    from longtracerl.config import ConfigError

    with pytest.raises(ConfigError, match="qwen3-thinking"):
        parse_response("x", "qwen3-thinkin")
    assert set(PROCESSORS) == {"qwen3-thinking", "deepseek-r1-qwen3"}
    with pytest.raises(TypeError):
        parse_response(None)  # type: ignore[arg-type]


def test_one_megabyte_response():
    reasoning = "word " * 200_000
    content = "The answer: Paris. " * 30_000
    r = parse_response(reasoning + "\n</think>\n\n" + content + "<|im_end|>")
    assert r.status == "ok"
    assert len(r.reasoning) == len(reasoning) and r.content == content


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_PLAIN = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="<>"), min_size=1, max_size=40
)


@settings(max_examples=300, deadline=None)
@given(
    _PLAIN.filter(lambda s: s.strip() and not s.endswith("\n")),
    _PLAIN.filter(lambda s: s.strip() and not s.startswith("\n")),
)
def test_parse_inverts_the_chat_template(reasoning, content):
    """reasoning + "\\n</think>\\n\\n" + content + stop token -> the same reasoning and content."""
    r = parse_response(f"{reasoning}\n</think>\n\n{content}<|im_end|>")
    assert (r.status, r.reasoning, r.content) == ("ok", reasoning, content)
    r = parse_response(f"<think>\n{reasoning}\n</think>\n\n{content}", finish_reason="stop")
    assert (r.status, r.reasoning, r.content) == ("ok", reasoning, content)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), st.sampled_from([None, "stop", "length", "abort", "eos", "other"]))
def test_parse_never_crashes(text, finish_reason):
    r = parse_response(text, finish_reason=finish_reason)
    assert r.status in ("ok", "truncated", "aborted", "unfinished", "ill_formed")
    assert (r.status == "ok") == (r.reasons == [])
