"""Worker processes end with their parent: a SIGKILLed run leaves no workers behind."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

PARENT = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {root!r})
    from tests.helpers.executor_tasks import Sleepy
    from longtracerl.executor import ExecutorConfig, make_executor

    ex = make_executor(ExecutorConfig(workers=2, chunk_size=1))
    for _item, outcome in ex.map(Sleepy(), range(100)):
        print(outcome.value, flush=True)  # the worker's pid
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by init) counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_workers_end_when_their_parent_is_killed(tmp_path):
    root = str(Path(__file__).resolve().parents[2])  # the repository root: tests.helpers
    proc = subprocess.Popen(
        [sys.executable, "-c", PARENT.format(root=root)], stdout=subprocess.PIPE, text=True
    )
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            workers.add(int(line))
        assert len(workers) == 2, "the pool did not start two workers"
        assert all(_alive(pid) for pid in workers)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [pid for pid in workers if _alive(pid)]
        assert not left, f"workers {left} outlived their SIGKILLed parent"
    finally:
        proc.kill()
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
