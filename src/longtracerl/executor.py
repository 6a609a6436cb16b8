"""Where a stage's per-item work runs: in this process, in local worker processes, or on Ray.

The stages that dominate cost (walks, questions, agent, contexts) split their work into items
(a chain index, a walk, a question) and hand an :class:`ItemTask` to an :class:`Executor`. The
stage itself stays in the driver: it decides which items are still to do (resuming), reads the
results **in input order** and appends them to its files. So the files are the same whichever
executor ran the items, given the same seed: every item's randomness comes from the seed and the
item's own id, never from which worker ran it or when.

Executors (``executor.kind`` / ``--executor``):

- ``local`` with ``workers: 1`` (the default): the items run in this process, one after the other.
- ``local`` with ``workers: N`` (0: one per CPU core): ``N`` worker processes (``spawn``) on this
  machine.
- ``ray``: one actor per worker on a Ray cluster: ``ray_address`` ``auto`` or ``ray://HOST:PORT``
  or ``HOST:PORT`` joins an existing cluster; none starts a local Ray instance. ``workers: 0``
  takes one actor per CPU of the cluster. Every node needs the package installed and the corpus
  folder at the same path (a shared file system), as the workers open it themselves.

A task is pickled with its config and paths only (attributes named in ``local_fields`` stay
behind) and sets itself up once per worker (:meth:`ItemTask.setup`: open the page store, the
index, the tokenizer, the model client).

Fault isolation: an item whose run raises is retried up to ``max_retries`` times in its worker
(with a short back-off) and then comes back as an :class:`Outcome` with ``error`` set, which the
stage records in ``RUN/<stage>.errors.jsonl``; one failed item never ends the run, but
``max_failures_in_row`` failures one after the other do (:class:`TooManyFailures`: a server is
down or the config is wrong for every item), keeping what was done for a re-run to resume. An
error that says so itself (:func:`halts_stage`, e.g. an LLM endpoint found down) stops the stage
at once, its item unrecorded.
A worker that dies (a crash, an out-of-memory kill, a lost node) is replaced and the items it held
are re-run one by one (in a local process pool, whose death takes every process's work with it,
one at a time), so one poisonous item fails alone. Local worker processes end with the process
that started them, even one killed by SIGKILL (a watchdog thread in each worker). A task whose
``setup`` fails (a missing corpus on a worker, a bad model name) ends the run with that error: no
item could succeed.

Example:
    >>> class Square(ItemTask):
    ...     def run(self, item):
    ...         if item == 3:
    ...             raise ValueError("no threes")
    ...         return item * item
    >>> ex = make_executor(ExecutorConfig(max_retries=1, retry_wait_s=0))
    >>> [(i, o.value, o.error) for i, o in ex.map(Square(), range(5))]
    [(0, 0, None), (1, 1, None), (2, 4, None), (3, None, 'ValueError: no threes'), (4, 16, None)]
"""

from __future__ import annotations

import itertools
import logging
import os
import time
import traceback
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal, Protocol

from longtracerl.config import NonNegFloat, NonNegInt, PosInt, StageConfig
from longtracerl.records import RejectedItem

log = logging.getLogger(__name__)


class ExecutorConfig(StageConfig):
    """Where per-item work runs (see :mod:`longtracerl.executor`)."""

    kind: Literal["local", "ray"] = "local"
    """local (this machine) | ray (a Ray cluster, or a local Ray instance)."""
    workers: NonNegInt = 1
    """Workers: local 1 = in this process; N > 1 = N processes; 0 = one per CPU (of this machine, or of the
    Ray cluster)."""
    ray_address: str | None = None
    """Ray cluster to join (auto, HOST:PORT or ray://HOST:PORT); None starts a local Ray instance."""
    chunk_size: PosInt = 4
    """Items sent to a worker at a time."""
    max_retries: NonNegInt = 2
    """Re-runs of a failing item (or of a dead worker's items) before it is recorded as failed."""
    max_failures_in_row: PosInt = 20
    """Items failing one after the other that stop the stage (the server is down, the config is wrong);
    completed items are kept and a re-run resumes."""
    retry_wait_s: NonNegFloat = 0.5
    """Back-off before a failing item's re-run (doubles each time)."""


@dataclass
class Outcome:
    """The result of one item: ``value`` when it ran, ``error`` (``'Type: message'``) when it failed."""

    value: Any = None
    error: str | None = None
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.error is None

    def failure(self, item_id: str, stage: str) -> RejectedItem:
        """The line a stage writes to ``RUN/<stage>.errors.jsonl`` for this failed item."""
        return RejectedItem(item_id=item_id, stage=stage, reason="error", detail=self.error or "")


class TooManyFailures(RuntimeError):
    """``max_failures_in_row`` items failed one after the other: something is wrong for all items."""


def _stop_on_failure_streak(
    pairs: Iterator[tuple[Any, Outcome]], limit: int
) -> Iterator[tuple[Any, Outcome]]:
    streak = 0
    for item, out in pairs:
        streak = 0 if out.ok else streak + 1
        yield item, out
        if streak >= limit:
            raise TooManyFailures(
                f"{limit} items in a row failed; the last one with {out.error} "
                "(fix the cause, then run again to resume; failed items are listed in RUN/<stage>.errors.jsonl)"
            )


class SetupFailed(RuntimeError):
    """A task could not set itself up in a worker; no item of it can run, so the stage stops."""


def halts_stage(err: BaseException | None) -> bool:
    """Errors that stop the stage at once instead of failing one item: those with a true
    ``halts_stage`` attribute (e.g. :class:`~longtracerl.llm.base.EndpointDown`: the LLM endpoint is
    down, so every item would fail). The item is not recorded; a re-run does it.
    """
    return bool(getattr(err, "halts_stage", False))


class ItemTask(ABC):
    """Per-item work of a stage, shipped to workers. Subclasses define :meth:`run` and usually
    :meth:`setup`; attributes named in ``local_fields`` (open stores, clients) are not pickled.
    """

    name: ClassVar[str] = "items"
    local_fields: ClassVar[tuple[str, ...]] = ()

    _ready: bool = False

    def setup(self) -> None:
        """Open what :meth:`run` needs, in the process that will run the items (once).

        Optional: a task that needs nothing opened keeps this default.
        """
        return None

    @abstractmethod
    def run(self, item: Any) -> Any:
        """The result of one item (picklable); raise to fail it."""

    def ensure_setup(self, wrap: bool = True) -> None:
        """:meth:`setup` once; a failure is raised as :class:`SetupFailed` (``wrap``) or as it is."""
        if self._ready:
            return
        try:
            self.setup()
        except Exception as err:
            if not wrap:
                raise
            raise SetupFailed(f"{self.name} worker setup failed: {type(err).__name__}: {err}") from err
        self._ready = True

    def run_chunk(self, items: list[Any], max_retries: int = 0, retry_wait_s: float = 0.0) -> list[Outcome]:
        """Outcomes of ``items`` in order; an item that raises is retried, then reported, alone."""
        self.ensure_setup()
        return [self._run_one(item, max_retries, retry_wait_s) for item in items]

    def _run_one(self, item: Any, max_retries: int, retry_wait_s: float) -> Outcome:
        for attempt in range(1, max_retries + 2):
            try:
                return Outcome(self.run(item), attempts=attempt)
            except Exception as err:
                if halts_stage(err):
                    raise
                error = f"{type(err).__name__}: {err}"
                log.debug(
                    "%s: item failed (attempt %d): %s\n%s", self.name, attempt, error, traceback.format_exc()
                )
                if attempt <= max_retries and retry_wait_s:
                    time.sleep(retry_wait_s * 2 ** (attempt - 1))
        log.warning("%s: item %r failed after %d attempts: %s", self.name, _short(item), attempt, error)
        return Outcome(error=error, attempts=attempt)

    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in self.local_fields}
        state.pop("_ready", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for name in self.local_fields:
            self.__dict__.setdefault(name, None)


class Executor(Protocol):
    name: str
    workers: int

    def map(
        self, task: ItemTask, items: Iterable[Any], *, chunk_size: int | None = None
    ) -> Iterator[tuple[Any, Outcome]]:
        """``(item, outcome)`` pairs in the order of ``items``; ``items`` may be endless (stop reading).

        ``chunk_size`` (default ``cfg.chunk_size``) is how many items a worker gets at a time;
        a task that runs a chunk's items concurrently (async LLM calls) asks for large chunks.
        """
        ...

    def close(self) -> None: ...


def _short(item: Any, limit: int = 80) -> str:
    text = repr(item)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Lists of ``size`` items; an error reading ``items`` comes after the items read before it."""
    it = iter(items)
    while True:
        chunk: list[Any] = []
        try:
            chunk.extend(itertools.islice(it, size))
        except Exception:
            if chunk:
                yield chunk
            raise
        if not chunk:
            return
        yield chunk


# --------------------------------------------------------------------------- in this process


class InlineExecutor:
    """Items run in this process, in order (``local`` with one worker)."""

    name = "local"
    workers = 1

    def __init__(self, cfg: ExecutorConfig):
        self.cfg = cfg

    def map(
        self, task: ItemTask, items: Iterable[Any], *, chunk_size: int | None = None
    ) -> Iterator[tuple[Any, Outcome]]:
        task.ensure_setup(wrap=False)  # in this process: the setup error itself reaches the caller
        cfg = self.cfg

        def pairs() -> Iterator[tuple[Any, Outcome]]:  # one by one unless the task asks for chunks
            for chunk in _chunks(items, chunk_size or 1):
                outs = task.run_chunk(chunk, cfg.max_retries, cfg.retry_wait_s)
                yield from zip(chunk, outs, strict=True)

        yield from _stop_on_failure_streak(pairs(), cfg.max_failures_in_row)

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------- worker pools


@dataclass
class _Job:
    seq: int  # chunk number, in input order
    start: int  # position of items[0] in the chunk
    items: list[Any]
    attempt: int  # 1 + how many times a worker died holding these items


class _PoolExecutor:
    """Shared scheduling of the process and Ray executors: a bounded window of chunks in flight,
    results handed back in input order, and the items of a dead worker re-run one by one.
    Subclasses provide ``_start``, ``_submit``, ``_wait``, ``_recover`` and ``_stop``.
    """

    name = "pool"
    workers = 1
    capacity = 1  # jobs in flight at once
    # When a death cannot be pinned on one job (a process pool breaks as a whole), the items of
    # every job in flight are re-run one at a time with nothing else in flight, so that only an
    # item that kills its worker on its own uses up its retries.
    isolate_retries = False

    def __init__(self, cfg: ExecutorConfig):
        self.cfg = cfg

    def map(
        self, task: ItemTask, items: Iterable[Any], *, chunk_size: int | None = None
    ) -> Iterator[tuple[Any, Outcome]]:
        self._start(task)
        try:
            pairs = self._schedule(_chunks(items, chunk_size or self.cfg.chunk_size))
            yield from _stop_on_failure_streak(pairs, self.cfg.max_failures_in_row)
        finally:
            self._stop()

    def _schedule(self, chunks: Iterator[list[Any]]) -> Iterator[tuple[Any, Outcome]]:
        cfg = self.cfg
        max_open = 2 * self.capacity + 2  # chunks started but not yet handed back
        results: dict[int, list[Any]] = {}
        missing: dict[int, int] = {}
        retry: deque[_Job] = deque()
        inflight: dict[Any, _Job] = {}
        seqs = itertools.count()
        next_out = 0
        exhausted = False
        input_error: Exception | None = None
        while True:
            while next_out in results and missing[next_out] == 0:
                yield from results.pop(next_out)
                del missing[next_out]
                next_out += 1
            while len(inflight) < self.capacity:
                if retry:
                    if self.isolate_retries and inflight:
                        break
                    job = retry.popleft()
                    inflight[self._submit(job.items)] = job
                    if self.isolate_retries:
                        break
                    continue
                if exhausted or len(results) >= max_open:
                    break
                try:
                    chunk = next(chunks, None)
                except Exception as err:  # a bad input line: hand back what came before it first
                    input_error, chunk = err, None
                if chunk is None:
                    exhausted = True
                    break
                seq = next(seqs)
                results[seq], missing[seq] = [None] * len(chunk), len(chunk)
                job = _Job(seq, 0, chunk, 1)
                inflight[self._submit(job.items)] = job
            if not inflight:  # nothing to wait for: every chunk has been handed back
                assert exhausted and not results and not retry, "executor: results missing"
                if input_error is not None:
                    raise input_error
                return
            for handle, res in self._wait(list(inflight)):
                job = inflight.pop(handle)
                if isinstance(res, SetupFailed) or halts_stage(res):
                    raise res
                if isinstance(res, BaseException):
                    self._recover(handle, res)
                    if job.attempt > cfg.max_retries:
                        log.warning(
                            "%s: %d items lost with a worker %d times: %s",
                            self.name,
                            len(job.items),
                            job.attempt,
                            res,
                        )
                        outs = [Outcome(error=f"WorkerDied: {res}", attempts=job.attempt)] * len(job.items)
                    else:
                        log.warning(
                            "%s: a worker died (%s); re-running its %d items", self.name, res, len(job.items)
                        )
                        retry.extend(
                            _Job(job.seq, job.start + i, [it], job.attempt + 1)
                            for i, it in enumerate(job.items)
                        )
                        continue
                else:  # attempts count the deaths of the workers that held the item too
                    outs = [replace(o, attempts=o.attempts + job.attempt - 1) for o in res]
                for i, (item, out) in enumerate(zip(job.items, outs, strict=True)):
                    results[job.seq][job.start + i] = (item, out)
                missing[job.seq] -= len(job.items)

    def close(self) -> None:
        pass

    # subclass hooks
    def _start(self, task: ItemTask) -> None: ...
    def _submit(self, items: list[Any]) -> Any: ...
    def _wait(self, handles: list[Any]) -> list[tuple[Any, Any]]: ...
    def _recover(self, handle: Any, err: BaseException) -> None: ...
    def _stop(self) -> None: ...


# -- local processes

_WORKER_TASK: ItemTask | None = None


def _install_task(task: ItemTask, parent_pid: int | None = None) -> None:
    global _WORKER_TASK
    _WORKER_TASK = task
    if parent_pid is not None:
        _exit_with_parent(parent_pid)


def _exit_with_parent(parent_pid: int, interval_s: float = 0.5) -> None:
    """End this worker when the process that started it is gone (a SIGKILL gives the pool no
    chance to stop its workers; they would live on holding their memory). A daemon thread
    watches the parent id: once the parent dies the worker is re-parented and exits."""
    import threading

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval_s)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _run_installed(items: list[Any], max_retries: int, retry_wait_s: float) -> list[Outcome]:
    assert _WORKER_TASK is not None, "worker started without a task"
    return _WORKER_TASK.run_chunk(items, max_retries, retry_wait_s)


class ProcessExecutor(_PoolExecutor):
    """``workers`` spawned processes on this machine; a dead process's pool is rebuilt."""

    name = "local"
    isolate_retries = True

    def __init__(self, cfg: ExecutorConfig):
        super().__init__(cfg)
        self.workers = cfg.workers or os.cpu_count() or 1
        self.capacity = 2 * self.workers  # one running and one queued per process
        self._pool: Any = None
        self._gen = 0
        self._gen_of: dict[Any, int] = {}

    def _start(self, task: ItemTask) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self._task = task
        self._pool = ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_install_task,
            initargs=(task, os.getpid()),
        )

    def _submit(self, items: list[Any]) -> Any:
        fut = self._pool.submit(_run_installed, items, self.cfg.max_retries, self.cfg.retry_wait_s)
        self._gen_of[fut] = self._gen
        return fut

    def _wait(self, handles: list[Any]) -> list[tuple[Any, Any]]:
        from concurrent.futures import FIRST_COMPLETED, wait

        done, _ = wait(handles, return_when=FIRST_COMPLETED)
        return [(f, f.exception() or f.result()) for f in done]

    def _recover(self, handle: Any, err: BaseException) -> None:
        from concurrent.futures.process import BrokenProcessPool

        if isinstance(err, BrokenProcessPool) and self._gen_of.get(handle) == self._gen:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._gen += 1
            self._start(self._task)
        self._gen_of.pop(handle, None)

    def _stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._gen_of.clear()


# -- Ray


class _RayWorker:
    """One Ray actor: holds a set-up task and runs chunks of it."""

    def __init__(self, task: ItemTask):
        self.task = task

    def run_chunk(self, items: list[Any], max_retries: int, retry_wait_s: float) -> list[Outcome]:
        return self.task.run_chunk(items, max_retries, retry_wait_s)


class RayExecutor(_PoolExecutor):
    """One actor per worker on a Ray cluster (joined, or a local instance started here)."""

    name = "ray"

    def __init__(self, cfg: ExecutorConfig):
        super().__init__(cfg)
        try:
            import ray
        except ImportError:
            from longtracerl.config import ConfigError

            raise ConfigError(
                "executor.kind=ray needs Ray: pip install -e '.[ray]' (or use --executor local)"
            ) from None
        self._ray = ray
        self._owns = not ray.is_initialized()
        if self._owns:
            ray.init(
                address=cfg.ray_address,
                logging_level=logging.WARNING,
                include_dashboard=False,
                configure_logging=False,
            )
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = cfg.workers or max(1, cpus)
        self.capacity = self.workers  # one chunk per actor: a dead actor's chunk is known
        self._actor_cls = ray.remote(num_cpus=1, max_restarts=0)(_RayWorker)
        self._idle: list[Any] = []
        self._actor_of: dict[Any, Any] = {}
        log.info(
            "ray executor: %d workers on a cluster of %d CPUs (%d nodes)",
            self.workers,
            cpus,
            len(ray.nodes()),
        )

    def _start(self, task: ItemTask) -> None:
        self._task = task
        self._idle = [self._actor_cls.remote(task) for _ in range(self.workers)]

    def _submit(self, items: list[Any]) -> Any:
        actor = self._idle.pop()
        ref = actor.run_chunk.remote(items, self.cfg.max_retries, self.cfg.retry_wait_s)
        self._actor_of[ref] = actor
        return ref

    def _wait(self, handles: list[Any]) -> list[tuple[Any, Any]]:
        ray = self._ray
        ready, _ = ray.wait(handles, num_returns=1)
        out: list[tuple[Any, Any]] = []
        for ref in ready:
            try:
                res = ray.get(ref)
            except ray.exceptions.RayTaskError as err:  # run_chunk raised: the actor itself lives
                cause = getattr(err, "cause", None)
                res = cause if isinstance(cause, SetupFailed) or halts_stage(cause) else err
            except ray.exceptions.RayError as err:  # the actor or its node died
                if getattr(err, "actor_init_failed", False):  # e.g. the package is missing on a node
                    last = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
                    err = SetupFailed(f"a Ray worker could not start: {last}")
                out.append((ref, err))
                continue
            self._idle.append(self._actor_of.pop(ref))
            out.append((ref, res))
        return out

    def _recover(self, handle: Any, err: BaseException) -> None:
        actor = self._actor_of.pop(handle, None)
        if actor is not None:
            self._ray.kill(actor, no_restart=True)
            self._idle.append(self._actor_cls.remote(self._task))

    def _stop(self) -> None:
        for actor in self._idle + list(self._actor_of.values()):
            self._ray.kill(actor, no_restart=True)
        self._idle, self._actor_of = [], {}

    def close(self) -> None:
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()


EXECUTORS: dict[str, Callable[[ExecutorConfig], Executor]] = {
    "local": lambda cfg: InlineExecutor(cfg) if cfg.workers == 1 else ProcessExecutor(cfg),
    "ray": RayExecutor,
}


def make_executor(cfg: ExecutorConfig | None = None) -> Executor:
    """The executor for ``cfg`` (default: in this process)."""
    cfg = cfg or ExecutorConfig()
    return EXECUTORS[cfg.kind](cfg)
