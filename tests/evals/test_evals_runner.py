"""Runner behaviour: resume, endpoint failure, judge garbage, truncation, counts, compare, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from longtracerl.cli import main
from longtracerl.config import ConfigError
from longtracerl.contexts.tokenizer import load_tokenizer
from longtracerl.evals.config import EvalConfig
from longtracerl.evals.items import EvalItem, Prompt, fit_item
from longtracerl.evals.report import compare_table
from longtracerl.evals.runner import EvalError, run_eval
from longtracerl.llm.base import Completion
from tests.helpers.llm_servers import FakeResponse

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "evals"
AA = str(FIX / "aa_lcr.csv")
ANSWERS = {"Which city": "Answer: Lisbon", "How many staff": "Answer: 120", "founded?": "Answer: 1931"}


def _answer(body) -> FakeResponse | None:
    last = body["messages"][-1]["content"]
    for needle, text in ANSWERS.items():
        if needle in last:
            return FakeResponse.chat(text)
    return None


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_endpoint_dies_mid_run_then_resume(fake_llm_server, tmp_path, capsys):
    srv = fake_llm_server
    state = {"n": 0}

    def dying(body):
        state["n"] += 1
        return _answer(body) if state["n"] <= 3 else FakeResponse.error(503, "server went away")

    srv.responder = dying
    out = tmp_path / "run"
    argv = [
        "eval", "--benchmark", "aa-lcr", "--data", AA, "--model", "openai:fake", "--base-url", srv.base_url,
        "--out", str(out), "--samples", "2", "--concurrency", "1", "--no-progress",
        "--set", "max_retries=1", "--set", "backoff_s=0.01",
    ]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "server went away" in err and "re-run the same command" in err and "3 sample(s) are saved" in err
    first = _lines(out / "samples.jsonl")
    assert len(first) == 3
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] is False and summary["n_samples"] == 3

    srv.responder = _answer  # the endpoint is back
    n_before = len(srv.requests)
    assert main(argv) == 0
    lines = _lines(out / "samples.jsonl")
    assert lines[:3] == first  # nothing rewritten
    keys = [r["key"] for r in lines]
    assert len(keys) == 6 == len(set(keys))  # no loss, no duplicate
    assert len(srv.requests) - n_before == 3  # only the missing samples were asked for
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] and summary["avg_at_k"] == 100.0
    # a third run has nothing to do
    n_before = len(srv.requests)
    assert main(argv) == 0 and len(srv.requests) == n_before


def test_torn_last_line_is_repaired_on_resume(tmp_path):
    cfg = EvalConfig(benchmark="aa-lcr", data=AA, samples=1)

    class M:
        name = "m"

        def complete(self, messages, params=None):
            return Completion(text="Answer: Lisbon", finish_reason="stop")

    run_eval(cfg, tmp_path / "r", model=M())
    p = tmp_path / "r" / "samples.jsonl"
    data = p.read_bytes()
    p.write_bytes(data[: len(data) - 40])  # crash in the middle of the last line
    summary = run_eval(cfg, tmp_path / "r", model=M())
    assert summary["n_samples"] == 3 and len(_lines(p)) == 3


def test_judge_returning_garbage_is_recorded_and_scored_zero(fake_llm_server, tmp_path):
    srv = fake_llm_server

    def respond(body):
        text = body["messages"][-1]["content"]
        if text.startswith("You are grading"):
            return FakeResponse.chat("Looks fine to me, probably.")  # no 'correct: yes|no'
        return _answer(body)

    srv.responder = respond
    cfg = EvalConfig(
        benchmark="aa-lcr", data=AA, samples=1, model="openai:fake", base_url=srv.base_url,
        judge="llm", judge_model="grader", judge_base_url=srv.base_url,
    )  # fmt: skip
    summary = run_eval(cfg, tmp_path / "g")
    lines = _lines(tmp_path / "g" / "samples.jsonl")
    assert len(lines) == 3 and all(r["score"] == 0.0 for r in lines)
    assert all("unparseable judge reply" in r["judge_error"] for r in lines)
    assert all(
        r["judge"]["raw"] == "Looks fine to me, probably." and r["judge"]["attempts"] == 3 for r in lines
    )
    assert summary["n_judge_errors"] == 3 and summary["avg_at_k"] == 0.0


def test_judge_that_raises_is_recorded(tmp_path):
    class Broken:
        name = "broken"

        def judge(self, question, answer, response, *, aliases=()):
            raise ValueError("grader exploded")

    class M:
        name = "m"

        def complete(self, messages, params=None):
            return Completion(text="Answer: Lisbon", finish_reason="stop")

    summary = run_eval(
        EvalConfig(benchmark="aa-lcr", data=AA, samples=1), tmp_path / "b", model=M(), judge=Broken()
    )
    lines = _lines(tmp_path / "b" / "samples.jsonl")
    assert all(
        r["judge_error"] == "judge raised ValueError: grader exploded" and r["score"] == 0 for r in lines
    )
    assert summary["n_judge_errors"] == 3


def test_truncated_and_ill_formed_responses_are_counted_apart(tmp_path):
    class M:
        name = "m"

        def complete(self, messages, params=None):
            last = messages[-1]["content"]
            if "Which city" in last:  # right answer, but cut by the length limit: not judged
                return Completion(text="Answer: Lisbon", finish_reason="length")
            if "How many staff" in last:
                return Completion(text="   ", finish_reason="stop")  # empty: ill-formed
            return Completion(text="Answer: 1931", finish_reason="stop")

    summary = run_eval(EvalConfig(benchmark="aa-lcr", data=AA, samples=2), tmp_path / "t", model=M())
    assert summary["n_truncated"] == 2 and summary["n_ill_formed"] == 2
    assert summary["statuses"] == {"ill_formed": 2, "ok": 2, "truncated": 2}
    assert summary["avg_at_k"] == pytest.approx(33.33)
    rec = next(r for r in _lines(tmp_path / "t" / "samples.jsonl") if r["status"] == "truncated")
    assert rec["truncated"] is True and rec["score"] == 0.0 and rec["judge"] is None


def test_thinking_is_stripped_before_scoring(tmp_path):
    class M:
        name = "m"

        def complete(self, messages, params=None):
            return Completion(text="Maybe Porto? No.\n</think>\n\nAnswer: Lisbon", finish_reason="stop")

    cfg = EvalConfig(benchmark="aa-lcr", data=AA, samples=1, limit=1, processor="qwen3-thinking")
    run_eval(cfg, tmp_path / "k", model=M())
    rec = _lines(tmp_path / "k" / "samples.jsonl")[0]
    assert rec["content"] == "Answer: Lisbon" and rec["score"] == 1.0 and rec["status"] == "ok"


def test_middle_truncation_keeps_question_and_counts(tmp_path):
    tok = load_tokenizer("smollm2")
    body = " ".join(f"fact{i} is number {i}." for i in range(2000))
    item = EvalItem("x", "a", "q", Prompt("HEAD\n", body, "\nQUESTION: what is fact7?"))
    fp = fit_item(item, tok=tok, budget=300, marker=" [...] ")
    text = fp.messages[-1]["content"]
    assert fp.truncated and fp.prompt_tokens <= 300 and tok.count(text) <= 300 and not fp.overflow
    assert text.startswith("HEAD\nfact0 is number 0.") and text.endswith(
        "fact1999 is number 1999.\nQUESTION: what is fact7?"
    )
    assert " [...] " in text and fp.removed_tokens > 0
    # a question alone longer than the budget: overflow, the model is not called, score 0
    huge = EvalItem("y", "a", "q", Prompt("", "doc", "Q " * 400))
    assert fit_item(huge, tok=tok, budget=100, marker="…").overflow
    # chat items drop whole middle turns, keep the last message
    msgs = tuple(
        {"role": r, "content": f"{r} turn {i} " + "word " * 50}
        for i in range(10)
        for r in ("user", "assistant")
    ) + ({"role": "user", "content": "final ask"},)
    fc = fit_item(EvalItem("m", "a", "q", messages=msgs), tok=tok, budget=400, marker="")
    roles = [m["role"] for m in fc.messages]
    assert fc.truncated and fc.prompt_tokens <= 400 and fc.messages[-1]["content"] == "final ask"
    assert fc.messages[0]["content"].startswith("user turn 0") and fc.messages[-2]["content"].startswith(
        "assistant turn 9"
    )
    assert all(a != b for a, b in zip(roles, roles[1:], strict=False))  # roles still alternate


def test_run_counts_context_truncation_and_overflow(tmp_path):
    seen = []

    class M:
        name = "m"

        def complete(self, messages, params=None):
            seen.append(messages[-1]["content"])
            return Completion(text="Answer: 1931", finish_reason="stop")

    data = tmp_path / "long.jsonl"
    rows = [
        {
            "question": "In which year?",
            "answer": "1931",
            "context": "Founded in 1931. " + "Filler text here. " * 800,
        },
        {"question": "short one?", "answer": "x", "context": "tiny"},
        {"question": "Why? " * 600, "answer": "y", "context": "tiny"},  # the question alone is too long
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = EvalConfig(
        benchmark="aa-lcr",
        data=str(data),
        samples=1,
        max_context_tokens=700,
        max_tokens=100,
        tokenizer="smollm2",
    )
    summary = run_eval(cfg, tmp_path / "w", model=M())
    assert summary["n_context_truncated_items"] == 2 and summary["n_context_overflow_items"] == 1
    assert len(seen) == 2 and all(x.rstrip().endswith("END QUESTION") for x in seen)
    recs = {r["item_id"]: r for r in _lines(tmp_path / "w" / "samples.jsonl")}
    assert recs["aa-lcr-002"]["status"] == "context_overflow" and recs["aa-lcr-002"]["score"] == 0.0
    assert recs["aa-lcr-000"]["prompt_tokens"] <= 700 - 100 - 64


def test_changed_settings_refuse_to_mix(tmp_path):
    class M:
        name = "m"

        def complete(self, messages, params=None):
            return Completion(text="Answer: Lisbon", finish_reason="stop")

    run_eval(EvalConfig(benchmark="aa-lcr", data=AA, samples=1), tmp_path / "c", model=M())
    with pytest.raises(ConfigError, match="temperature=0.6.*temperature=1.0"):
        run_eval(
            EvalConfig(benchmark="aa-lcr", data=AA, samples=1, temperature=1.0), tmp_path / "c", model=M()
        )
    s = run_eval(
        EvalConfig(benchmark="aa-lcr", data=AA, samples=1, temperature=1.0),
        tmp_path / "c",
        model=M(),
        restart=True,
    )
    assert s["n_samples"] == 3


def test_sampling_parameters_reach_the_endpoint(fake_llm_server, tmp_path):
    fake_llm_server.responder = _answer
    cfg = EvalConfig(
        benchmark="aa-lcr",
        data=AA,
        samples=2,
        limit=1,
        model="openai:fake",
        base_url=fake_llm_server.base_url,
    )
    run_eval(cfg, tmp_path / "p")
    bodies = fake_llm_server.bodies
    assert {b["seed"] for b in bodies} == {0, 1}
    b = bodies[0]
    assert (b["temperature"], b["top_p"], b["top_k"], b["max_tokens"]) == (0.6, 0.95, 20, 32768)
    assert [m["role"] for m in b["messages"]] == ["user"]  # no system prompt (paper)


def test_compare_table_and_cli(tmp_path, capsys):
    class M:
        name = "m"

        def complete(self, messages, params=None):
            last = messages[-1]["content"]
            return Completion(
                text="Answer: Lisbon" if "Which city" in last else "The correct answer is (B)",
                finish_reason="stop",
            )

    run_eval(EvalConfig(benchmark="aa-lcr", data=AA, samples=1), tmp_path / "base" / "aa-lcr", model=M())
    run_eval(
        EvalConfig(benchmark="longbench-v2", data=str(FIX / "longbench_v2.json"), samples=1),
        tmp_path / "base" / "lb",
        model=M(),
    )
    run_eval(EvalConfig(benchmark="aa-lcr", data=AA, samples=1, limit=2), tmp_path / "other", model=M())
    table = compare_table([str(tmp_path / "base"), str(tmp_path / "other")], ["base", "other"])
    lines = table.splitlines()
    assert lines[0] == "| run | AA-LCR | MRCR | FRAMES | LongBench v2 | LongReason | Avg |"
    assert lines[2] == "| Qwen3-4B-Thinking-2507 (paper) | 33.2 | 36.2 | 76.7 | 41.7 | 78.5 | 53.3 |"
    assert lines[3] == "| LongTraceRL-4B (paper) | 41.8 | 45.8 | 79.5 | 44.1 | 83.8 | 59.0 |"
    assert lines[4] == "| base | 33.3~ [3×1] | – | – | 33.3 [3×1] | – | 33.3 (2/5) |"
    # a --limit run says so: 2 items, not the benchmark
    assert lines[5] == "| other | 50.0~ [2×1 limit] | – | – | – | – | 50.0 (1/5) |"
    assert main(["eval-compare", str(tmp_path / "base"), "--out", str(tmp_path / "t.md")]) == 0
    assert "| base | 33.3~" in capsys.readouterr().out and (tmp_path / "t.md").exists()
    assert main(["eval-compare", str(tmp_path / "nothing")]) == 2


def test_cli_bad_benchmark_and_missing_file(tmp_path, capsys):
    assert main(["eval", "--benchmark", "longbench", "--out", str(tmp_path / "x")]) == 2
    assert "Did you mean 'longbench-v2'" in capsys.readouterr().err
    assert main(["eval", "--benchmark", "mrcr", "--out", str(tmp_path / "x")]) == 2
    assert "mrcr needs --data PATH" in capsys.readouterr().err
    code = main(
        [
            "eval",
            "--benchmark",
            "aa-lcr",
            "--data",
            str(FIX / "aa_lcr_missing_answer.csv"),
            "--out",
            str(tmp_path / "y"),
        ]
    )
    assert code == 2 and "aa_lcr_missing_answer.csv:9: field 'answer'" in capsys.readouterr().err
    code = main(
        [
            "eval",
            "--benchmark",
            "aa-lcr",
            "--model",
            "openai:x",
            "--max-context-tokens",
            "4096",
            "--max-tokens",
            "512",
            "--out",
            str(tmp_path / "z"),
        ]
    )
    assert code == 2 and "no tokenizer is known" in capsys.readouterr().err


def test_endpoint_unreachable_is_a_clear_error(tmp_path):
    from tests.helpers.llm_servers import free_port

    cfg = EvalConfig(
        benchmark="aa-lcr", data=AA, samples=1, model="openai:x", base_url=f"http://127.0.0.1:{free_port()}/v1",
        max_retries=0, timeout_s=5,
    )  # fmt: skip
    with pytest.raises(EvalError, match="0 sample\\(s\\) are saved"):
        run_eval(cfg, tmp_path / "u")


def test_paper_config_file_and_data_dir(tmp_path):
    import argparse

    from longtracerl.evals.cli import load_eval_config
    from longtracerl.evals.registry import get_benchmark
    from longtracerl.evals.runner import load_items

    repo = Path(__file__).resolve().parents[2]
    ns = argparse.Namespace(
        config=str(repo / "configs" / "eval-paper.yaml"), overrides=["concurrency=4"], benchmark="longbench-v2",
        data=None, data_dir=str(FIX), model="openai:Qwen/Qwen3-4B-Thinking-2507", limit=2,
    )  # fmt: skip
    cfg = load_eval_config(ns)
    assert (cfg.temperature, cfg.top_p, cfg.top_k, cfg.samples, cfg.max_tokens) == (0.6, 0.95, 20, 4, 32768)
    assert cfg.judge == "llm" and cfg.processor == "qwen3-thinking" and cfg.concurrency == 4
    # no longbench-v2.* in the fixtures folder (it is longbench_v2.json): a clear error
    with pytest.raises(FileNotFoundError, match="longbench-v2 needs --data"):
        load_items(cfg, get_benchmark("longbench-v2"))
    d = tmp_path / "data"
    d.mkdir()
    (d / "longbench-v2.json").write_text((FIX / "longbench_v2.json").read_text())
    items = load_items(cfg.model_copy(update={"data_dir": str(d)}), get_benchmark("longbench-v2"))
    assert [i.item_id for i in items] == ["lb0", "lb1"]
    # aa-lcr without a file in data_dir falls back to the embedded copy
    assert (
        len(load_items(cfg.model_copy(update={"data_dir": str(d), "limit": None}), get_benchmark("aa-lcr")))
        == 100
    )
