"""The executors: order, retries, dead workers, setup failures, endless inputs, local vs Ray."""

from __future__ import annotations

import pytest

from longtracerl.executor import ExecutorConfig, ItemTask, SetupFailed, make_executor
from tests.helpers.executor_tasks import Poly


def _run(cfg: ExecutorConfig, task: ItemTask, items) -> list:
    ex = make_executor(cfg)
    try:
        return [(i, o.value, o.error, o.attempts) for i, o in ex.map(task, items)]
    finally:
        ex.close()


LOCAL = [ExecutorConfig(), ExecutorConfig(workers=2, chunk_size=3)]


@pytest.mark.parametrize("cfg", LOCAL, ids=["inline", "processes"])
def test_results_come_back_in_input_order_with_failures_recorded(cfg):
    cfg = cfg.model_copy(update={"max_retries": 1, "retry_wait_s": 0})
    items = [*range(10), "boom", 11]
    got = _run(cfg, Poly(offset=1), items)
    assert [g[0] for g in got] == items
    assert [g[1] for g in got if g[0] != "boom"] == [i * i + 1 for i in [*range(10), 11]]
    boom = got[10]
    assert boom[1] is None and boom[2] == "ValueError: bad item" and boom[3] == 2


def test_a_dead_worker_is_replaced_and_its_items_rerun(tmp_path):
    cfg = ExecutorConfig(workers=2, chunk_size=4, max_retries=2, retry_wait_s=0)
    items = [1, 2, "crash-once", 3, 4, 5, "crash-always", 6, 7]
    task = Poly(marker_dir=str(tmp_path))
    got = {g[0]: g for g in _run(cfg, task, items)}
    assert got["crash-once"][1] == "CRASH-ONCE" and got["crash-once"][3] == 2  # died once
    assert (tmp_path / "crash-once").exists()
    assert got["crash-always"][1] is None and got["crash-always"][2].startswith("WorkerDied")
    assert got["crash-always"][3] == 3  # the first run plus max_retries re-runs
    for i in (1, 2, 3, 4, 5, 6, 7):  # bystanders of a death are re-run, never charged twice
        assert got[i][1] == i * i and got[i][2] is None and got[i][3] <= 2


@pytest.mark.parametrize(
    ("cfg", "error"), [(LOCAL[0], FileNotFoundError), (LOCAL[1], SetupFailed)], ids=["inline", "processes"]
)
def test_setup_failure_stops_the_map(cfg, error):
    with pytest.raises(error, match="no/such/corpus"):
        _run(cfg, Poly(fail_setup=True), range(5))


@pytest.mark.parametrize("cfg", LOCAL, ids=["inline", "processes"])
def test_an_endless_input_can_be_read_partly(cfg):
    import itertools

    ex = make_executor(cfg)
    out = []
    for item, o in ex.map(Poly(), itertools.count()):
        out.append(o.value)
        if item == 20:
            break
    ex.close()
    assert out == [i * i for i in range(21)]


def test_local_fields_stay_behind_and_setup_runs_once_per_worker():
    import pickle

    task = Poly()
    task.ensure_setup()
    clone = pickle.loads(pickle.dumps(task))
    assert clone.scratch is None and task.scratch is not None
    assert clone._ready is False  # a worker sets itself up again
    inline = make_executor(ExecutorConfig())
    list(inline.map(task, range(9)))
    assert task.setups == 1


@pytest.mark.parametrize("cfg", LOCAL, ids=["inline", "processes"])
def test_an_input_error_comes_after_the_results_of_the_items_before_it(cfg):
    def items():
        yield from range(6)
        raise ValueError("walks.jsonl:7: malformed JSON")

    ex = make_executor(cfg)
    got = []
    with pytest.raises(ValueError, match="walks.jsonl:7"):
        for item, o in ex.map(Poly(), items()):
            got.append((item, o.value))
    assert got == [(i, i * i) for i in range(6)]


@pytest.mark.parametrize("cfg", LOCAL, ids=["inline", "processes"])
def test_a_failure_streak_stops_the_map_after_yielding_it(cfg):
    from longtracerl.executor import TooManyFailures

    cfg = cfg.model_copy(update={"max_retries": 0, "max_failures_in_row": 3})
    items = [1, "boom", 2, "boom", "boom", "boom", 3, 4]
    seen = []
    with pytest.raises(TooManyFailures, match="3 items in a row failed.*ValueError: bad item"):
        for item, _o in make_executor(cfg).map(Poly(), items):
            seen.append(item)
    assert seen == items[:6]
