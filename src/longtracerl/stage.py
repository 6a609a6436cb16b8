"""The stage driver: what every data stage shares, written once.

A data stage (walks, questions, agent, contexts) is a :class:`Stage`: it checks its inputs, lists
the items still to do, gives the per-item work (an :class:`~longtracerl.executor.ItemTask`), says
what one item's result means, and sums up. :func:`run_stage` does the rest: the run folder, the
settings stamp, the output / rejected / errors files (:class:`~longtracerl.records.JsonlAppender`,
so a killed stage resumes without loss or duplicates), the executor, the progress bar, the
clean-up, and for a stage run on its own the folder's ``stamps.json``. How to write a stage:
docs/contributing.md#a-data-stage.
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from longtracerl import runfolder
from longtracerl.executor import Executor, ExecutorConfig, InlineExecutor, ItemTask
from longtracerl.records import JsonlAppender

StrPath = str | os.PathLike
"""A folder or file given as a string or a path."""


@dataclass
class StageFiles:
    """A stage's appenders: ``RUN/<output>`` (kept records), ``RUN/<stage>.rejected.jsonl`` (None
    when the stage writes that file itself) and ``RUN/<stage>.errors.jsonl`` (failed items,
    retried by the next run)."""

    out: JsonlAppender
    rejected: JsonlAppender | None
    errors: JsonlAppender

    def close(self) -> None:
        for f in (self.out, self.rejected, self.errors):
            if f is not None:
                f.close()


class Stage(ABC):
    """One data stage over a run folder. A subclass sets the class attributes and writes the
    per-item part; :func:`run_stage` calls, in order: :meth:`prepare`, :meth:`items`,
    :meth:`task`, then :meth:`take` (or :meth:`failed`) per item until :meth:`full`, then
    :meth:`settle` (not after an error), :meth:`close` (always) and :meth:`summary`."""

    name: ClassVar[str]
    output: ClassVar[str]  # file of the kept records, in RUN
    output_key: ClassVar[str | None] = None  # their id field (resume: ``files.out.done``)
    keeps_rejected: ClassVar[bool] = True  # False: the stage writes its rejected file itself

    def __init__(self, cfg: BaseModel, corpus: str | os.PathLike | None, run: str | os.PathLike):
        self.cfg, self.run = cfg, Path(run)
        self.corpus = Path(corpus) if corpus is not None else None
        self.chunk_size: int | None = None  # items per executor chunk (None: the executor's)
        self.loop_s = 0.0  # seconds of the item loop (set by run_stage before close)

    def upstream(self) -> str | None:
        """The key of what the stage reads (:func:`runfolder.stage_key`); None when unknown."""
        return None

    def guard(self) -> None:
        """Refuse a folder whose outputs were made with other settings, corpus or input
        (:func:`runfolder.guard_stage`)."""
        runfolder.guard_stage(self.run, self.name, self.cfg, self.corpus, self.upstream())

    def prepare(self) -> None:
        """Check the inputs and the folder before any output file is opened (default: the guard)."""
        self.guard()

    @abstractmethod
    def items(self, files: StageFiles) -> Iterable[Any]:
        """The items still to do: those already in ``files`` are skipped."""

    @abstractmethod
    def task(self, executor: Executor) -> ItemTask:
        """The per-item work."""

    def item_id(self, item: Any) -> str:
        """The id a failed item gets in the errors file."""
        return str(item)

    @abstractmethod
    def take(self, item: Any, value: Any, files: StageFiles) -> int:
        """Write one item's result; returns how far the progress bar moves."""

    def failed(self, item: Any) -> int:
        """An item that raised (already in the errors file); returns how far the bar moves."""
        return 1

    def full(self) -> bool:
        """True when the stage has what it was asked for (the loop stops)."""
        return False

    def settle(self) -> None:  # noqa: B027 (a hook: most stages need none)
        """After the last item, when no error stopped the stage."""

    def close(self) -> None:  # noqa: B027 (a hook: most stages need none)
        """After the loop, always."""

    def progress_bar(self) -> dict[str, Any] | None:
        """``tqdm`` arguments, or None for no bar."""
        return {"desc": self.name}

    @abstractmethod
    def summary(self) -> Any:
        """What the stage did (written to its summary file by the stage, if it has one)."""


def run_stage(
    stage: Stage, *, progress: bool = True, executor: Executor | None = None, alone: bool = True
) -> Any:
    """Run ``stage`` into its run folder (resuming what an earlier run left); returns its summary.

    Items run on ``executor`` (default: in this process) and come back in input order. An item
    that raises goes to the errors file and is tried again by the next run. ``alone``: the stage
    is not run by ``longtracerl run``, so a ``run`` folder's ``stamps.json`` is brought up to date
    here (:func:`runfolder.record_alone`).
    """
    stage.run.mkdir(parents=True, exist_ok=True)
    stage.prepare()
    errors_path = stage.run / f"{stage.name}.errors.jsonl"
    errors_before = errors_path.stat().st_size if errors_path.exists() else 0
    files = StageFiles(
        JsonlAppender(stage.run / stage.output, key=stage.output_key),
        JsonlAppender(stage.run / f"{stage.name}.rejected.jsonl", key="item_id")
        if stage.keeps_rejected
        else None,
        JsonlAppender(errors_path),
    )
    bar, t_loop = None, None
    try:
        items = stage.items(files)
        executor = executor or InlineExecutor(ExecutorConfig())
        task = stage.task(executor)
        t_loop = time.perf_counter()
        bar = _bar(stage, progress)
        if not stage.full():
            _loop(stage, executor.map(task, items, chunk_size=stage.chunk_size), files, bar)
        stage.settle()
    finally:
        if t_loop is not None:
            stage.loop_s = time.perf_counter() - t_loop
        files.close()
        if bar is not None:
            bar.close()
        stage.close()
    result = stage.summary()
    if alone:
        complete = (errors_path.stat().st_size if errors_path.exists() else 0) == errors_before
        runfolder.record_alone(stage.run, stage.name, stage.cfg, complete=complete)
    return result


def run_alone(
    stage_cls: type[Stage],
    cfg: Any,
    corpus: str | os.PathLike | None,
    run: str | os.PathLike,
    *,
    progress: bool = True,
    executor: Executor | None = None,
    **options: Any,
) -> Any:
    """``run_stage(stage_cls(cfg, corpus, run, **options))``: what each stage's ``run_<stage>``
    function does (``options``: the stage's own keyword arguments, e.g. ready engine objects)."""
    return run_stage(stage_cls(cfg, corpus, run, **options), progress=progress, executor=executor)


def _loop(stage: Stage, results: Any, files: StageFiles, bar: Any) -> None:
    try:
        for item, outcome in results:
            if outcome.ok:
                moved = stage.take(item, outcome.value, files)
            else:
                files.errors.write(outcome.failure(stage.item_id(item), stage.name))
                moved = stage.failed(item)
            if bar is not None and moved:
                bar.update(moved)
            if stage.full():
                break
    finally:
        results.close()


def _bar(stage: Stage, progress: bool) -> Any:
    kwargs = stage.progress_bar() if progress else None
    if kwargs is None:
        return None
    from tqdm import tqdm

    return tqdm(**kwargs)
