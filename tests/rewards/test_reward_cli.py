"""``longtracerl reward score`` and ``longtracerl serve-reward`` from the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from longtracerl.cli import main
from tests.helpers.llm_servers import free_port


def _write(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _row(i, content, group="g1", **kw):
    base = {
        "id": f"{group}-{i}",
        "group_id": group,
        "response": f"thinking\n</think>\n\n{content}<|im_end|>",
        "label": "Paris",
        "question": "Capital of France?",
        "rubrics": ["alpha", "beta", "gamma", "delta", "epsilon"],
    }
    base.update(kw)
    return base


def test_reward_score_worked_example(tmp_path):
    contents = [
        "Paris. alpha beta gamma",
        "Paris. alpha beta",
        "Paris. gamma delta epsilon",
        "Lyon. alpha beta gamma delta",
        "Lyon.",
        "Paris. alpha",
        "Lyon.",
        "Nice.",
    ]
    rows = [_row(i, c) for i, c in enumerate(contents)]
    rows.append(_row(0, "北京", group="g2", label="北京", question="首都?", rubrics=["北京大学"]))
    rows.append(
        _row(
            1, "cut", group="g2", label="北京", question="首都?", rubrics=["北京大学"], finish_reason="length"
        )
    )
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(inp, rows)
    assert main(["reward", "score", "--input", str(inp), "--out", str(out)]) == 0
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in results] == [r["id"] for r in rows]
    assert [r["reward"] for r in results[:8]] == pytest.approx(
        [0.925, 0.85, 0.925, 0, 0, 0.775, 0, 0], abs=1e-12
    )
    assert results[8]["reward"] == 0.7 and results[9]["status"] == "truncated"
    summary = json.loads((tmp_path / "out.jsonl.summary.json").read_text())
    assert summary["responses"] == 10 and summary["groups"] == 2 and summary["judge_approximate"] is True
    assert summary["monitors"]["gated_share"] == 0.1


@pytest.mark.parametrize(
    "rows, fragment",
    [
        ([{"id": "x", "label": "a"}], "in.jsonl:1: field 'response': missing required field"),
        ([_row(0, "a"), _row(1, "b", rubrics=["other"])], "in.jsonl:2: field 'rubrics': differs from line 1"),
        ([_row(0, "a", rubrics="alpha")], "in.jsonl:1: field 'rubrics'"),
        ([_row(0, "a", extra=1)], "field 'extra': unknown field"),
    ],
)
def test_reward_score_errors_name_file_line_field(tmp_path, capsys, rows, fragment):
    inp = tmp_path / "in.jsonl"
    _write(inp, rows)
    assert main(["reward", "score", "--input", str(inp), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert fragment in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()


def test_reward_score_bad_json_and_missing_file(tmp_path, capsys):
    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps(_row(0, "a")) + "\n{broken\n")
    assert main(["reward", "score", "--input", str(inp), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert "in.jsonl:2: malformed JSON" in capsys.readouterr().err
    assert (
        main(["reward", "score", "--input", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o")]) == 2
    )
    assert main(["reward", "score", "--input", str(inp), "--out", "o", "--mode", "bogus"]) == 2
    assert "positive-only" in capsys.readouterr().err


def test_serve_reward_command_end_to_end(tmp_path):
    port = free_port()
    env = {**os.environ, "REWARD_KEY": "k1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "longtracerl.cli",
            "serve-reward",
            "--port",
            str(port),
            "--judge",
            "rule",
            "--auth-key-env",
            "REWARD_KEY",
            "--max-body-mb",
            "0.1",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.1)
        body = {"responses": ["r\n</think>\n\nParis<|im_end|>"], "label": "Paris"}
        assert httpx.post(f"{url}/evaluate_group", json=body).status_code == 401
        r = httpx.post(f"{url}/evaluate_group", json=body, headers={"Authorization": "Bearer k1"})
        assert r.status_code == 200 and r.json()["rewards"] == [0.7]
        big = {"responses": ["x" * 200_000], "label": "Paris"}
        assert (
            httpx.post(f"{url}/evaluate_group", json=big, headers={"Authorization": "Bearer k1"}).status_code
            == 413
        )
        children = [
            pid for f in Path(f"/proc/{proc.pid}/task").glob("*/children") for pid in f.read_text().split()
        ]
        assert children  # the big-body worker process (and multiprocessing's resource tracker)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    # stopped as a service manager stops it (SIGTERM), the server leaves no process behind
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in children):
        assert time.monotonic() < deadline, f"left running after the server stopped: {children}"
        time.sleep(0.1)


def test_serve_reward_config_errors(capsys, monkeypatch):
    monkeypatch.delenv("NOT_SET_KEY", raising=False)
    assert main(["serve-reward", "--auth-key-env", "NOT_SET_KEY"]) == 2
    assert "NOT_SET_KEY" in capsys.readouterr().err
    assert main(["serve-reward", "--judge", "llm"]) == 2
    assert "--model" in capsys.readouterr().err


def test_commands_are_registered(capsys):
    from longtracerl.cli import build_parser

    text = build_parser().format_help()
    assert "serve-reward" in text and "reward" in text


def test_reward_score_with_llm_judge_over_http(tmp_path, fake_llm_server):
    from tests.helpers.llm_servers import FakeResponse

    def grade(body):
        prompt = body["messages"][-1]["content"]
        verdict = "yes" if "[response to grade]\nParis" in prompt else "no"
        return FakeResponse.chat(f"**extracted_final_answer:** x\n**reasoning:** r\n**correct:** {verdict}")

    fake_llm_server.responder = grade
    rows = [_row(0, "Paris. alpha"), _row(1, "Lyon. alpha beta"), _row(2, "cut", finish_reason="length")]
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(inp, rows)
    argv = ["reward", "score", "--input", str(inp), "--out", str(out), "--judge", "llm",
            "--base-url", fake_llm_server.base_url, "--model", "grader"]  # fmt: skip
    assert main(argv) == 0
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["outcome"] for r in results] == [1.0, 0.0, 0.0]
    # r = [.2, .4, 0] -> M = .4 -> r' = .5 for the correct one
    assert [r["reward"] for r in results] == pytest.approx([0.7 + 0.3 * 0.5, 0.0, 0.0])
    assert [r["judge_method"] for r in results] == ["llm", "llm", None]
    assert len(fake_llm_server.requests) == 2  # the truncated response was never judged
    summary = json.loads((tmp_path / "out.jsonl.summary.json").read_text())
    assert summary["judge"] == "llm:openai:grader" and summary["judge_approximate"] is False


def test_reward_score_config_file_and_overrides(tmp_path, capsys):
    rows = [_row(0, "Paris. alpha"), _row(1, "Lyon. alpha beta")]
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(inp, rows)
    cfg = tmp_path / "run.yaml"
    cfg.write_text("rewards:\n  eta: 0.0\n  mode: mix\nagent:\n  attempts: 3\n")
    assert main(["reward", "score", "--input", str(inp), "--out", str(out), "--config", str(cfg)]) == 0
    assert [json.loads(x)["reward"] for x in out.read_text().splitlines()] == [1.0, 0.0]
    # flags beat --set, which beats the file
    argv = [
        "reward",
        "score",
        "--input",
        str(inp),
        "--out",
        str(out),
        "--config",
        str(cfg),
        "--set",
        "eta=0.5",
    ]
    assert main(argv) == 0
    assert [json.loads(x)["reward"] for x in out.read_text().splitlines()] == pytest.approx(
        [0.5 + 0.5 * 0.5, 0.5]
    )
    assert main([*argv, "--eta", "0.3"]) == 0
    summary = json.loads((tmp_path / "out.jsonl.summary.json").read_text())
    assert summary["config"]["eta"] == 0.3 and summary["config"]["mode"] == "mix" and summary["config_hash"]
    assert main(["reward", "score", "--input", str(inp), "--out", str(out), "--set", "etta=1"]) == 2
    assert "did you mean 'eta'" in capsys.readouterr().err
    assert main(["reward", "score", "--input", str(inp), "--out", str(out), "--set", "eta=2"]) == 2
    assert "eta" in capsys.readouterr().err
