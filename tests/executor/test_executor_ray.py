"""The Ray executor against a real local Ray cluster: a head node plus a second worker node,
started by the test with `ray start`, as a user would start a cluster."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is part of the [ray] extra that scripts/setup.sh installs")

from longtracerl.executor import ExecutorConfig, SetupFailed, make_executor  # noqa: E402
from tests.helpers import executor_tasks  # noqa: E402
from tests.helpers.executor_tasks import Poly, Unloadable, WhereAmI  # noqa: E402


def _ray_cli() -> str:
    here = Path(sys.executable).with_name("ray")
    return str(here) if here.exists() else "ray"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_cluster():
    """`ray start --head` plus a second node joining it (one CPU each); stopped afterwards."""
    port = _free_port()
    common = ["--num-cpus=1", "--object-store-memory=100000000", "--disable-usage-stats"]
    # a throwaway local cluster: no token authentication (Ray >= 2.5x enables it by default), for
    # the nodes and for this test process, which joins as the driver
    saved = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    subprocess.run(
        [_ray_cli(), "start", "--head", f"--port={port}", "--include-dashboard=false", *common],
        check=True,
        capture_output=True,
        env=env,
        timeout=120,
    )
    try:
        subprocess.run(
            [_ray_cli(), "start", f"--address=127.0.0.1:{port}", *common],
            check=True,
            capture_output=True,
            env=env,
            timeout=120,
        )
        # the Ray workers import the test tasks by value: this test folder is not on their path
        ray.cloudpickle.register_pickle_by_value(executor_tasks)
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([_ray_cli(), "stop", "--force"], capture_output=True, timeout=120)
        if saved is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = saved


def test_ray_items_come_back_in_order_spread_over_both_nodes(ray_cluster, tmp_path):
    cfg = ExecutorConfig(kind="ray", ray_address=ray_cluster, workers=0, chunk_size=2, retry_wait_s=0)
    ex = make_executor(cfg)
    try:
        assert ex.workers == 2  # one actor per CPU of the two-node cluster
        got = list(ex.map(WhereAmI(), range(40)))
        assert [item for item, _ in got] == list(range(40))
        assert len({o.value[1] for _, o in got}) == 2, "work did not reach the second node"

        items = [1, "boom", 2, "crash-once", 3, "crash-always", 4]
        out = {i: o for i, o in ex.map(Poly(marker_dir=str(tmp_path)), items)}
    finally:
        ex.close()
    assert out["boom"].error == "ValueError: bad item" and out["boom"].attempts == 3
    assert out["crash-once"].value == "CRASH-ONCE" and out["crash-once"].attempts == 2
    assert out["crash-always"].error.startswith("WorkerDied") and out["crash-always"].attempts == 3
    assert [out[i].value for i in (1, 2, 3, 4)] == [1, 4, 9, 16]


def test_a_worker_that_cannot_start_stops_the_map_with_the_cause(ray_cluster):
    ex = make_executor(ExecutorConfig(kind="ray", ray_address=ray_cluster, workers=2, retry_wait_s=0))
    try:
        with pytest.raises(SetupFailed, match="longtracerl_missing_on_this_node"):
            list(ex.map(Unloadable(), range(10)))
    finally:
        ex.close()


def _records(path: Path, drop: tuple[str, ...] = ()) -> list[str]:
    """The file's records as sorted JSON strings (order aside), without the fields in ``drop``."""

    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in drop}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj

    return sorted(json.dumps(strip(json.loads(line)), sort_keys=True) for line in path.open())


@pytest.mark.slow
def test_run_gives_the_same_rows_in_process_in_processes_and_on_ray(ray_cluster, tmp_path):
    from longtracerl.run import load_run_config, run_pipeline

    base = ["walks.num_walks=24", "contexts.target_tokens=4096"]
    ref = tmp_path / "inline"
    run_pipeline(ref, load_run_config(None, base), stop_after="contexts", progress=False)
    corpus = f"corpus_dir={ref / 'corpus'}"
    runs = {
        "processes": [corpus, "executor.workers=2"],
        "ray": [corpus, "executor.kind=ray", f"executor.ray_address={ray_cluster}", "executor.workers=0"],
    }
    for name, extra in runs.items():
        summary = run_pipeline(
            tmp_path / name, load_run_config(None, base + extra), stop_after="contexts", progress=False
        )
        assert summary["executor"]["workers"] == 2
    for name in runs:
        for f in ("walks.jsonl", "questions.jsonl", "contexts.jsonl", "rows.jsonl", "heldout.jsonl"):
            assert _records(tmp_path / name / f) == _records(ref / f), f"{name}: {f} differs"
        # trajectories carry wall-clock timings per event; everything else is the same
        t = "trajectories.jsonl"
        assert _records(tmp_path / name / t, ("elapsed_s",)) == _records(ref / t, ("elapsed_s",))
    # enough rows that equality means something (24 walks: the chain composer keeps about half,
    # the offline agent solves part of those)
    assert len(_records(ref / "rows.jsonl")) >= 5
