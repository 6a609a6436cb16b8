"""Ctrl-C on an eval with 8 samples in flight: it stops at once, keeps what finished, and a re-run
completes the rest without losing or repeating a sample."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from longtracerl.cli import main
from tests.helpers.llm_servers import FakeResponse

AA = str(Path(__file__).resolve().parents[1] / "fixtures" / "evals" / "aa_lcr.csv")


def _keys(path: Path) -> list[str]:
    return [json.loads(x)["key"] for x in path.read_text().splitlines()] if path.exists() else []


def _wait(cond, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out waiting"
        time.sleep(0.05)


@pytest.mark.slow  # a subprocess and a model-free eval twice: about 20 s on 2 busy cores
def test_sigint_with_8_in_flight_exits_within_5s_and_resume_is_exact(fake_llm_server, tmp_path):
    srv = fake_llm_server
    calls = itertools.count()
    # the first 4 samples answer at once, every later one takes a minute: 8 stay in flight
    srv.responder = lambda body: FakeResponse.chat("Answer: Lisbon", delay_s=0.0 if next(calls) < 4 else 60.0)
    out = tmp_path / "run"
    argv = [
        "eval", "--benchmark", "aa-lcr", "--data", AA, "--model", "openai:fake", "--base-url", srv.base_url,
        "--out", str(out), "--samples", "8", "--concurrency", "8", "--no-progress",
    ]  # fmt: skip
    # Ctrl-C as a terminal delivers it: a shell that runs pytest as a background job hands its
    # children SIGINT ignored, and Python then installs no handler (the eval would run on)
    boot = (
        "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "runpy.run_module('longtracerl.cli', run_name='__main__', alter_sys=True)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", boot, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        _wait(lambda: len(_keys(out / "samples.jsonl")) == 4 and srv.in_flight == 8)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert took < 5.0, f"took {took:.1f} s to stop"
    assert proc.returncode == 130 and b"interrupted" in err
    kept = _keys(out / "samples.jsonl")
    assert len(kept) == 4  # the finished samples are on disk, nothing half-written
    srv.responder = lambda body: FakeResponse.chat("Answer: Lisbon")
    assert main(argv) == 0
    keys = _keys(out / "samples.jsonl")
    summary = json.loads((out / "summary.json").read_text())
    assert len(keys) == len(set(keys)) == summary["n_items"] * 8 and keys[:4] == kept
    assert summary["complete"] is True
