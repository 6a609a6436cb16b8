"""Item tasks for the executor tests (a module of its own so worker processes can import it)."""

from __future__ import annotations

import os
from pathlib import Path

from longtracerl.executor import ItemTask


class Poly(ItemTask):
    """x -> x*x + offset; 'boom' raises; 'crash-always' kills its worker every time, other
    'crash...' items the first time (a marker file in ``marker_dir`` remembers it)."""

    name = "poly"
    local_fields = ("scratch",)

    def __init__(self, offset: int = 0, marker_dir: str | None = None, fail_setup: bool = False):
        self.offset = offset
        self.marker_dir = marker_dir
        self.fail_setup = fail_setup
        self.scratch = object()  # not picklable in spirit: must stay behind
        self.setups = 0

    def setup(self) -> None:
        if self.fail_setup:
            raise FileNotFoundError("/no/such/corpus")
        self.setups += 1

    def run(self, item):
        if item == "boom":
            raise ValueError("bad item")
        if isinstance(item, str) and item.startswith("crash"):
            marker = Path(self.marker_dir or "/nonexistent") / item
            if item == "crash-always" or not marker.exists():
                if self.marker_dir:
                    marker.touch()
                os._exit(3)
            return item.upper()
        return item * item + self.offset


class WhereAmI(ItemTask):
    """item -> (item, Ray node id of the worker that ran it)."""

    name = "where"

    def run(self, item):
        import ray

        return item, ray.get_runtime_context().get_node_id()


class Unloadable(ItemTask):
    """A task that cannot be rebuilt in a worker, like one whose module a node lacks."""

    name = "unloadable"

    def __setstate__(self, state):
        raise ModuleNotFoundError("No module named 'longtracerl_missing_on_this_node'")

    def run(self, item):
        return item


class Sleepy(ItemTask):
    """item -> the pid of the worker that ran it, after a short sleep (a long-running stage)."""

    name = "sleepy"

    def run(self, item):
        import time

        time.sleep(0.2)
        return os.getpid()
