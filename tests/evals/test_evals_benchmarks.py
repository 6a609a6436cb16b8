"""Each loader and scorer on the committed fixtures, with exact expected scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from longtracerl.evals.benchmarks.choice import extract_choice
from longtracerl.evals.benchmarks.mrcr import grade
from longtracerl.evals.config import EvalConfig
from longtracerl.evals.registry import get_benchmark
from longtracerl.evals.runner import run_eval
from longtracerl.llm.base import Completion
from longtracerl.records import RecordError
from longtracerl.rewards.judge import RuleJudge

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "evals"


class Scripted:
    """Answers by (a substring of the last message, sample seed) -> text; records what it was sent."""

    name = "scripted"

    def __init__(
        self, script: dict[str, dict[int, str] | str], finish: dict[tuple[str, int], str] | None = None
    ):
        self.script = script
        self.finish = finish or {}
        self.calls: list[tuple[list, object]] = []

    def complete(self, messages, params=None):
        self.calls.append((messages, params))
        last = messages[-1]["content"]
        for needle, answers in self.script.items():
            if needle in last:
                text = answers if isinstance(answers, str) else answers[params.seed]
                return Completion(text=text, finish_reason=self.finish.get((needle, params.seed), "stop"))
        return Completion(text="no idea", finish_reason="stop")


def run(tmp_path, benchmark, data, script, samples=2, finish=None, **kw):
    cfg = EvalConfig(benchmark=benchmark, data=str(data), samples=samples, **kw)
    model = Scripted(script, finish)
    summary = run_eval(cfg, tmp_path / benchmark, model=model)
    lines = [json.loads(x) for x in (tmp_path / benchmark / "samples.jsonl").read_text().splitlines()]
    return summary, lines, model


def test_aa_lcr_fixture_rule_judge(tmp_path):
    items = get_benchmark("aa-lcr").load(str(FIX / "aa_lcr.csv"), EvalConfig())
    assert [i.answer for i in items] == ["Lisbon", "120", "1931"]
    assert items[0].prompt.head.startswith("BEGIN INPUT DOCUMENTS")
    assert "START QUESTION\n\nWhich city hosts the Vantor Institute?\n\nEND QUESTION" in items[0].prompt.tail
    assert "END DOCUMENT 2" in items[0].prompt.body
    summary, lines, _ = run(
        tmp_path,
        "aa-lcr",
        FIX / "aa_lcr.csv",
        {
            "Which city": {0: "It is in Lisbon.\nAnswer: Lisbon", 1: "Answer: Porto"},
            "How many staff": {0: "Answer: 120 people", 1: "Final answer: 120"},
            "founded?": {0: "Answer: 1850", 1: "Answer: Lisbon"},
        },
    )
    # items: 1/2, 2/2, 0/2 -> avg@2 = 50.0
    assert summary["avg_at_k"] == 50.0
    assert summary["n_samples"] == 6 and summary["complete"] and summary["judge_approximate"]
    by_key = {r["key"]: r for r in lines}
    assert by_key["aa-lcr-000#0"]["score"] == 1.0 and by_key["aa-lcr-000#0"]["parsed_answer"] == "Lisbon"
    assert by_key["aa-lcr-000#0"]["judge"]["method"] == "rule:exact"
    assert by_key["aa-lcr-002#1"]["score"] == 0.0


def test_aa_lcr_embedded_asset_loads():
    items = get_benchmark("aa-lcr").load(None, EvalConfig())
    assert len(items) == 100
    assert all(i.question and i.answer and "BEGIN DOCUMENT 1" in i.prompt.body for i in items)


def test_longbench_v2_fixture_letter_extraction(tmp_path):
    summary, lines, model = run(
        tmp_path,
        "longbench-v2",
        FIX / "longbench_v2.json",
        {
            "Which river": {0: "The correct answer is (B)", 1: "**The correct answer is (B)**"},
            "charter": {0: "The correct answer is C", 1: "I would say (C)."},  # 2nd: no reference pattern
            "export": {0: "The correct answer is (D)", 1: "The correct answer is (D)"},
        },
    )
    assert summary["avg_at_k"] == 50.0  # (1 + 0.5 + 0) / 3
    assert {r["key"]: r["parsed_answer"] for r in lines}["lb1#1"] is None
    assert summary["breakdown"]["difficulty"] == {
        "easy": {"avg_at_k": 75.0, "n_items": 2},
        "hard": {"avg_at_k": 0.0, "n_items": 1},
    }
    assert summary["breakdown"]["length"]["long"] == {"avg_at_k": 0.0, "n_items": 1}
    prompt = model.calls[0][0][-1]["content"]
    assert (
        "<text>\n" in prompt
        and "(A) The Ouse" in prompt
        or "(A) The Ouse" in model.calls[1][0][-1]["content"]
    )
    assert "The correct answer is (insert answer here)" in prompt


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("The correct answer is (A)", "A"),
        ("*The correct answer is* (B)", "B"),  # '*' is removed before matching, as in the reference
        ("**The correct answer is (B)**", "B"),
        ("The correct answer is D, because", "D"),
        ("the correct answer is (A)", None),  # the reference regex is case-sensitive
        ("The correct answer is (E)", None),
    ],
)
def test_longbench_extraction_table(text, letter):
    assert extract_choice(text) == letter


def test_mrcr_fixture_prefix_rule(tmp_path):
    summary, lines, model = run(
        tmp_path,
        "mrcr",
        FIX / "mrcr.jsonl",
        {
            "aYooSG8CQg": {
                0: "aYooSG8CQgTapir poem number 1: slow feet in the mud",
                1: "Tapir poem number 1: slow feet in the mud",
            },
            "Zq81LmPx0w": {
                0: "Zq81LmPx0wTapir poem number 2: slow feet",
                1: "Zq81LmPx0wTapir poem number 1: slow feet",
            },
        },
    )
    by_key = {r["item_id"].split("-")[1] + "#" + str(r["sample"]): r["score"] for r in lines}
    assert by_key["00001#0"] == 1.0  # exact
    assert by_key["00001#1"] == 0.0  # prefix missing
    r = grade(
        "Zq81LmPx0wTapir poem number 2: slow feet", "Zq81LmPx0wTapir poem number 1: slow feet", "Zq81LmPx0w"
    )
    assert by_key["00002#0"] == pytest.approx(r) and 0.9 < r < 1.0
    assert by_key["00002#1"] == 1.0
    assert summary["avg_at_k"] == pytest.approx(round(100 * (0.5 + (r + 1) / 2) / 2, 2))
    sent = model.calls[0][0]
    assert len(sent) == 9 and sent[0]["role"] == "user" and sent[1]["role"] == "assistant"


def test_frames_fixture_with_articles_file(tmp_path):
    summary, lines, model = run(
        tmp_path,
        "frames",
        FIX / "frames.tsv",
        {
            "Which tower": {0: "Answer: Eiffel Tower", 1: "Answer: the Eiffel Tower"},
            "what year": {0: "Answer: 1066", 1: "Answer: 1889"},
        },
        articles=str(FIX / "frames_articles.jsonl"),
    )
    assert summary["avg_at_k"] == 75.0  # (1 + 0.5) / 2
    prompt = next(m[0][-1]["content"] for m in model.calls if "Which tower" in m[0][-1]["content"])
    assert '<article title="Garabit viaduct">' in prompt and '<article title="Eiffel Tower">' in prompt
    assert prompt.index("Garabit viaduct") < prompt.index("Which tower")


def test_frames_without_article_texts_is_a_clear_error():
    with pytest.raises(RecordError) as exc:
        get_benchmark("frames").load(str(FIX / "frames.tsv"), EvalConfig())
    assert "frames.tsv:2" in str(exc.value) and "articles=FILE" in str(exc.value)


def test_frames_missing_article_names_the_link(tmp_path):
    arts = tmp_path / "a.jsonl"
    arts.write_text(json.dumps({"url": "https://en.wikipedia.org/wiki/Eiffel_Tower", "text": "x"}) + "\n")
    with pytest.raises(RecordError) as exc:
        get_benchmark("frames").load(str(FIX / "frames.tsv"), EvalConfig(articles=str(arts)))
    assert "Garabit_viaduct" in str(exc.value) and "field 'wiki_links'" in str(exc.value)


def test_longreason_fixture_and_length_filter(tmp_path):
    summary, lines, model = run(
        tmp_path,
        "longreason",
        FIX / "longreason.jsonl",
        {
            "How many apples": {0: "The correct answer is (C)", 1: "Answer: C"},
            "What colour": {0: "answer is (B)", 1: "The correct answer is (A)"},
            "Where is the key": {0: "So the answer is \\boxed{A}", 1: "Answer: a"},
        },
        context_length="8k",
    )
    assert summary["n_items"] == 3  # the 16k row is filtered out
    assert summary["avg_at_k"] == 66.67  # (1 + 0.5 + 0.5) / 3
    prompt = next(m[0][-1]["content"] for m in model.calls if "What colour" in m[0][-1]["content"])
    assert "(B) blue" in prompt
    items = get_benchmark("longreason").load(str(FIX / "longreason.jsonl"), EvalConfig(context_length="8k"))
    assert items[2].prompt.tail.startswith("\n\nWhere is the key?")  # last paragraph kept as the question


def test_heldout_fixture(tmp_path):
    summary, lines, model = run(
        tmp_path,
        "heldout",
        FIX / "heldout.jsonl",
        {
            "Which river": {0: "Answer: River Wear", 1: "Answer: Wear river"},
            "Who founded": "Answer: Bishop Aldhun",
        },
    )
    assert {r["item_id"] for r in lines} == {"q-held-0", "q-held-1"}
    # rule judge: "Wear river" vs "River Wear" -> token F1 = 1.0 (order-free): correct
    assert summary["avg_at_k"] == 100.0
    items = get_benchmark("heldout").load(str(FIX / "heldout.jsonl"), EvalConfig())
    assert items[0].prompt.tail.startswith("\n\nQuestion: Which river") and items[0].meta["rubrics"]


def test_missing_field_names_file_line_field():
    with pytest.raises(RecordError) as exc:
        get_benchmark("aa-lcr").load(str(FIX / "aa_lcr_missing_answer.csv"), EvalConfig())
    err = exc.value
    assert (
        err.path.endswith("aa_lcr_missing_answer.csv") and err.line == 9 and err.field == "answer"
    )  # the line where that CSV row starts


@pytest.mark.parametrize(
    ("bench", "row", "field"),
    [
        (
            "longbench-v2",
            {
                "_id": "x",
                "question": "q",
                "choice_A": "a",
                "choice_B": "b",
                "choice_C": "c",
                "choice_D": "d",
                "context": "t",
            },
            "answer",
        ),
        (
            "longbench-v2",
            {
                "_id": "x",
                "question": "q",
                "choice_A": "a",
                "choice_B": "b",
                "choice_C": "c",
                "choice_D": "d",
                "context": "t",
                "answer": "E",
            },
            "answer",
        ),
        ("mrcr", {"prompt": "[]", "answer": "a", "random_string_to_prepend": "z"}, "prompt"),
        ("mrcr", {"prompt": "not json", "answer": "a", "random_string_to_prepend": "z"}, "prompt"),
        ("mrcr", {"prompt": '[{"role": "user", "content": "x"}]', "answer": "a"}, "random_string_to_prepend"),
        ("longreason", {"context": "c", "question": "q", "answer": "Z"}, "answer"),
        ("longreason", {"answer": "A"}, "context"),
        (
            "heldout",
            {
                "source": "longqa",
                "input_messages": [{"role": "user", "content": "x"}],
                "metadata": {"extra_reward_info": {"question": "q", "rubrics": []}},
            },
            "label",
        ),
    ],
)
def test_bad_rows_name_the_field(tmp_path, bench, row, field):
    p = tmp_path / "bad.jsonl"
    p.write_text(json.dumps({"_id": "ok"} if False else row) + "\n")
    with pytest.raises(RecordError) as exc:
        get_benchmark(bench).load(str(p), EvalConfig())
    assert exc.value.line == 1 and exc.value.field == field, str(exc.value)


def test_rule_judge_is_the_rewards_judge():
    # the judged benchmarks call the rewards module's judge: same verdicts
    assert RuleJudge().judge("q", "1931", "Answer: 1931").correct
