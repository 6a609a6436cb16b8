"""The benchmark protocol, the score type, and the file-reading ``load`` shared by the benchmark modules.

A benchmark module writes only how one row becomes an :class:`EvalItem` and how an answer is scored;
:class:`FileBenchmark` does the rest. See docs/evals.md and docs/contributing.md#a-benchmark.
"""

from __future__ import annotations

import copy
import csv
import json
import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from longtracerl.evals.items import EvalItem, require
from longtracerl.records import RecordError

if TYPE_CHECKING:
    from longtracerl.evals.config import EvalConfig
    from longtracerl.rewards.judge import Judge


@dataclass(frozen=True)
class Score:
    """The score of one sample's answer content. ``judge`` is the judge's verdict (judged benchmarks)."""

    score: float
    parsed_answer: str | None
    judge: dict[str, Any] | None = None
    judge_error: str | None = None


@runtime_checkable
class Benchmark(Protocol):
    """One benchmark: a loader, a prompt builder (inside the loader) and a scorer.

    Any object with these members will do (``--benchmark module:attr``); the built-in ones are
    :class:`FileBenchmark` subclasses, which write ``load`` once for all.
    """

    name: str  # registry name, e.g. "aa-lcr"
    title: str  # column title in tables, e.g. "AA-LCR"
    uses_judge: bool  # True when score() calls the answer judge

    def load(self, path: str | None, cfg: EvalConfig) -> list[EvalItem]: ...

    def score(self, item: EvalItem, content: str, judge: Judge | None) -> Score: ...


class FileBenchmark(ABC):
    """A benchmark read from one data file, row by row: ``load`` is written here once.

    A subclass sets ``name``, ``title``, ``uses_judge``, ``fields`` (required and non-empty in every
    row) and either ``data_hint`` (what ``--data`` takes, for the error when it is not given) or
    ``default_asset`` (the embedded asset read instead), and writes :meth:`item` (one row -> an
    :class:`EvalItem`, or None to skip the row) and ``score``. Two hooks may be replaced:
    :meth:`start` (set up what one load needs, e.g. a lookup file named in ``cfg``) and :meth:`rows`
    (the reader: :func:`read_rows` by default).
    """

    name: str
    title: str
    uses_judge: bool
    data_hint: str = "PATH (see docs/evals.md)"
    default_asset: str | None = None
    fields: tuple[str, ...] = ()

    def load(self, path: str | None, cfg: EvalConfig) -> list[EvalItem]:
        if path is None and self.default_asset is not None:
            from longtracerl.assets import asset_path

            path = str(asset_path(self.default_asset))
        if path is None:
            raise FileNotFoundError(f"{self.name} needs --data {self.data_hint}")
        reader = copy.copy(self)  # what start() keeps lives for this load only, on this copy
        reader.start(path, cfg)
        items = []
        for line, row in reader.rows(path):
            require(row, reader.fields, path, line)
            item = reader.item(row, line, path, cfg)
            if item is not None:
                items.append(item)
        return items

    def start(self, path: str, cfg: EvalConfig) -> None:  # noqa: B027 (an optional hook: nothing by default)
        """Called once per load, before the first row, on a copy of the benchmark made for that load:
        keep what the rows need on ``self`` (it is dropped with the copy when the load ends)."""

    def rows(self, path: str) -> Iterable[tuple[int, Any]]:
        """``(line, row)`` pairs; errors name the file and line."""
        return read_rows(path)

    @abstractmethod
    def item(self, row: Any, line: int, path: str, cfg: EvalConfig) -> EvalItem | None:
        """One row -> its item (None: skip the row); a bad value raises ``RecordError(path, line, field, ...)``."""


def judged_score(item: EvalItem, content: str, judge: Judge | None) -> Score:
    """Score 1/0 from the answer judge (the rewards' RuleJudge or LLMJudge) on the answer content.

    A judge that raises or returns no verdict gives score 0 with ``judge_error`` set (never a crash).
    """
    if judge is None:
        raise ValueError("this benchmark needs an answer judge")
    try:
        result = judge.judge(item.question, item.answer, content, aliases=item.aliases)
    except Exception as err:  # a broken user judge must not lose the run: record it, score 0
        return Score(0.0, None, None, f"judge raised {type(err).__name__}: {err}")
    verdict = asdict(result)
    return Score(
        1.0 if result.correct and not result.error else 0.0, result.extracted_answer, verdict, result.error
    )


# --------------------------------------------------------------------------- file readers


def raise_csv_limit() -> None:
    """AA-LCR and FRAMES cells hold whole documents: lift the csv module's 128 KB field limit."""
    limit = sys.maxsize
    while True:
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:
            limit //= 10


def read_rows(path: str | os.PathLike) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line, row)`` from a .jsonl, .json (a list, or {"data": [...]}), .csv, .tsv or .parquet.

    ``line`` is the 1-based file line for JSONL/CSV/TSV (the line where the row starts) and the
    1-based entry number for JSON lists and Parquet rows. Errors name the file and line.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: benchmark file not found")
    suffix = p.suffix.lower()
    if suffix == ".jsonl":
        from longtracerl.records import iter_json_lines

        for line, obj in iter_json_lines(p):
            if not isinstance(obj, dict):
                raise RecordError(p, line, None, f"expected a JSON object, got {type(obj).__name__}")
            yield line, obj
    elif suffix == ".json":
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise RecordError(p, err.lineno, None, f"malformed JSON: {err.msg}") from None
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            data = data["data"]
        if not isinstance(data, list):
            raise RecordError(p, None, None, "expected a JSON list of objects (or {'data': [...]})")
        for i, obj in enumerate(data, start=1):
            if not isinstance(obj, dict):
                raise RecordError(p, i, None, f"entry {i}: expected an object, got {type(obj).__name__}")
            yield i, obj
    elif suffix in (".csv", ".tsv"):
        raise_csv_limit()
        with open(p, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t" if suffix == ".tsv" else ",")
            start = 2  # the header is line 1
            for row in reader:
                if None in row:
                    raise RecordError(p, start, None, "row has more cells than the header")
                yield start, dict(row)
                start = reader.line_num + 1
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        for i, row in enumerate(pq.read_table(p).to_pylist(), start=1):
            yield i, row
    else:
        raise RecordError(
            p, None, None, f"unsupported file type '{suffix}' (use .jsonl, .json, .csv, .tsv, .parquet)"
        )
