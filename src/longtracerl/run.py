"""``longtracerl run``: the whole chain, corpus to training rows and report, with one config.

Stages, each reading the previous stage's files and skipped or resumed by itself when its output
is complete or partial:

    corpus prepare -> walks -> questions -> agent -> contexts (+ export) -> report

The run config has one section per stage (``corpus``, ``walks``, ``questions``, ``agent``,
``contexts``, ``report``) holding that stage's own config, plus ``executor`` (where the per-item
work of walks, questions, agent and contexts runs: in-process, local processes or Ray; see
:mod:`longtracerl.executor`; the outputs are the same on any of them), so a YAML file for ``run`` is the
stage YAML files side by side, and ``--set walks.hops=5`` reaches any field.

Example:
    >>> cfg = load_run_config(None, ["walks.hops=5", "contexts.target_tokens=2048"])
    >>> cfg.walks.hops, cfg.walks.num_walks, cfg.contexts.target_tokens, cfg.source
    (5, 150, 2048, 'hotpotqa')
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from longtracerl import runfolder
from longtracerl.agent.config import AgentConfig
from longtracerl.config import ConfigError, Field, StageConfig, config_hash, load_config, resolve
from longtracerl.contexts.config import ContextsConfig
from longtracerl.corpus.config import CorpusConfig
from longtracerl.executor import ExecutorConfig, make_executor
from longtracerl.pagestore import STORE_FILE
from longtracerl.questions.config import QuestionsConfig
from longtracerl.records import atomic_write_text
from longtracerl.report.config import ReportConfig
from longtracerl.walks.config import WalksConfig

log = logging.getLogger(__name__)

STAGES = ("corpus", "walks", "questions", "agent", "contexts", "report")
NOT_EMPTY = ("walks", "questions", "agent", "contexts")  # the chain stops when one of these keeps nothing


class RunConfig(StageConfig):
    """Config of ``longtracerl run``: the corpus source plus every stage's config."""

    source: str = "hotpotqa"
    """Corpus source when no --corpus is given: hotpotqa | kilt | jsonl | wiki-summaries."""
    input: str | None = None
    """Corpus input file (None: the embedded copy)."""
    corpus_dir: str | None = None
    """An already prepared corpus folder; unset: the source's corpus is prepared under OUT/corpus."""
    corpus: CorpusConfig = Field(default_factory=CorpusConfig)
    """corpus prepare options."""
    questions_from: str | None = None
    """Questions from an existing QA set instead of walks + composer: hotpotqa (the embedded dev file) or a
    JSONL file (docs/import.md); walks.num_walks (--num-questions) and walks.seed size and seed the sample."""
    walks: WalksConfig = Field(default_factory=WalksConfig)
    """Random-walk options."""
    questions: QuestionsConfig = Field(default_factory=QuestionsConfig)
    """Question options."""
    agent: AgentConfig = Field(default_factory=AgentConfig)
    """Search-agent options."""
    contexts: ContextsConfig = Field(default_factory=ContextsConfig)
    """Context and export options."""
    report: ReportConfig = Field(default_factory=ReportConfig)
    """Difficulty-report options."""
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    """Where walks, questions, agent and contexts run: local (in-process or N processes) or ray."""


# Defaults of `run` that differ from the stage defaults, chosen for the embedded HotpotQA corpus
# (a sparse title-mention graph of short intro paragraphs; see docs/walks.md): 8-page walks
# survive in 1.7 % of segments there, 6-page walks in 7.8 %. The stage commands keep the paper's 8.
RUN_DEFAULTS: dict[str, Any] = {"walks": {"num_walks": 150, "hops": 6}}


def load_run_config(
    path: str | os.PathLike | None, overrides: Sequence[str] | Mapping[str, Any] = ()
) -> RunConfig:
    """The run config: RUN_DEFAULTS < YAML file < ``--set`` overrides (KEY=VALUE strings or a tree)."""
    return load_config(RunConfig, path, overrides, defaults=RUN_DEFAULTS)


DATA_STAGES: dict[str, str] = {
    "walks": "longtracerl.walks.walker:WalksStage",
    "questions": "longtracerl.questions.run:QuestionsStage",
    "agent": "longtracerl.agent.runner:AgentStage",
    "contexts": "longtracerl.contexts.stage:ContextsStage",
}
"""The data stages :func:`~longtracerl.stage.run_stage` drives, each built as ``Stage(cfg, corpus, run)``."""


def run_pipeline(
    out: str | os.PathLike,
    cfg: RunConfig,
    *,
    stop_after: str | None = None,
    progress: bool = True,
    on_config_change: str = "rebuild",
) -> dict[str, Any]:
    """Run every stage into ``out``; returns (and writes to OUT/run.json) per-stage summaries.

    The folder's stamps are checked first (:mod:`longtracerl.runfolder`): finished stages made
    with the same settings are skipped, out-of-date ones are set aside and rebuilt
    (``on_config_change="rebuild"``) or refused (``"error"``); ``config.yaml`` is written after.
    """
    if stop_after is not None and stop_after not in STAGES:
        raise ValueError(f"stop_after must be one of {', '.join(STAGES)}, got {stop_after!r}")
    out = Path(out)
    _check_writable(out)
    out.mkdir(parents=True, exist_ok=True)
    folder = runfolder.plan(out, cfg, on_config_change)
    runfolder.write_config(out, cfg)
    corpus_dir = Path(cfg.corpus_dir) if cfg.corpus_dir else out / "corpus"
    if cfg.corpus_dir and not (corpus_dir / STORE_FILE).exists():
        raise FileNotFoundError(f"{corpus_dir}: no prepared corpus (run `longtracerl corpus prepare`)")
    chain = _Chain(out, folder, stop_after)
    chain.summary.update({"out": str(out), "corpus_dir": str(corpus_dir), "config_hash": config_hash(cfg)})
    with closing(_steps(cfg, corpus_dir, out, progress, chain.summary)) as steps:
        for name, call in steps:
            if chain.step(name, call):
                return chain.summary
    chain.summary["funnel"] = runfolder.format_funnel(runfolder.funnel(out))
    if chain.ran:  # else the folder is as the last run left it, run.json included
        chain.write()
    return chain.summary


def _steps(
    cfg: RunConfig, corpus_dir: Path, out: Path, progress: bool, summary: dict[str, Any]
) -> Iterator[tuple[str, Callable[[], Any]]]:
    """The chain's stages in order, as ``(name, call)``; the executor lives from the first data
    stage to the last (closed when the caller stops early)."""
    from longtracerl.stage import run_stage

    yield "corpus", lambda: _prepare_corpus(cfg, corpus_dir, progress)
    executor = make_executor(cfg.executor)
    summary["executor"] = {"kind": cfg.executor.kind, "workers": executor.workers}
    try:
        names = ["walks", "questions", "agent", "contexts"]
        if cfg.questions_from:  # an existing QA set: no walks, no composer
            yield "questions", lambda: _import_questions(cfg, corpus_dir, out)
            names = names[2:]
        for name in names:
            make = resolve(DATA_STAGES, name, "stage")
            stage = make(getattr(cfg, name), corpus_dir, out)
            yield (
                name,
                lambda stage=stage: run_stage(stage, progress=progress, executor=executor, alone=False),
            )
    finally:
        executor.close()
    yield "report", lambda: _write_report(cfg, corpus_dir, out, progress)


def _prepare_corpus(cfg: RunConfig, corpus_dir: Path, progress: bool) -> Any:
    if cfg.corpus_dir:
        return {"prepared": "given"}
    from longtracerl.corpus.prepare import prepare_corpus

    return prepare_corpus(cfg.source, cfg.input, corpus_dir, cfg.corpus, progress=progress)


def _write_report(cfg: RunConfig, corpus_dir: Path, out: Path, progress: bool) -> Any:
    from longtracerl.report.stage import write_report

    return write_report(out, corpus_dir, cfg.report, contexts_cfg=cfg.contexts, progress=progress)


class _Chain:
    """The bookkeeping of one ``run`` call: stages skipped or run, their summaries and timings
    (``OUT/run.json``), and their stamps (``OUT/stamps.json``)."""

    def __init__(self, out: Path, folder: runfolder.Plan, stop_after: str | None):
        self.out, self.folder, self.stop_after = out, folder, stop_after
        self.previous = _read_summary(out)
        self.summary: dict[str, Any] = {}
        self.timings: dict[str, float] = {}  # per stage, summed over the invocations that ran it
        self.this_call: dict[str, float] = {}  # this invocation's; run.json keeps one per invocation
        self.history = list(self.previous.get("invocations", []))
        self.started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.ran: list[str] = []  # stages run by this call: every later stage runs too (new items)

    def step(self, name: str, call: Callable[[], Any]) -> bool:
        """Skip ``name`` when finished with the same settings, else run it; True: stop here."""
        if name in self.folder.finished and not self.ran:
            log.info("stage %s: finished with the same settings; skipped", name)
            if name in self.previous:
                self.summary[name] = self.previous[name]
            if name in self.previous.get("timings_s", {}):
                self.timings[name] = self.previous["timings_s"][name]
        else:
            self._run(name, call)
        if name in NOT_EMPTY:
            runfolder.check_not_empty(self.out, name)  # a clear stop when every item was dropped
        return self.stop_after == name

    def _run(self, name: str, call: Callable[[], Any]) -> None:
        log.info("stage %s ...", name)
        stamps = self.folder.stamps
        stamps[name]["complete"] = False
        runfolder.write_stamps(self.out, stamps)
        errors = self.out / f"{name}.errors.jsonl"
        errors_before = errors.stat().st_size if errors.exists() else 0
        t0 = time.perf_counter()
        try:
            result = call()
        finally:  # a stage stopped by an error keeps its time too (its re-run adds to it)
            took = time.perf_counter() - t0
            self.this_call[name] = round(took, 2)
            # a resumed stage adds its time to the earlier invocations' (a rebuilt one starts again)
            stale = name in self.folder.stale
            before = 0.0 if stale else self.previous.get("timings_s", {}).get(name, 0.0)
            self.timings[name] = round(before + took, 2)
            self.summary["invocations"] = [
                *self.history,
                {"started": self.started, "timings_s": dict(self.this_call)},
            ]
            if name not in self.summary:
                self.summary[name] = self.previous.get(name, {})
            self.write()
        self.summary[name] = _jsonable(result)
        self.ran.append(name)
        log.info("stage %s done in %.1f s", name, self.timings[name])
        self.write()
        # finished unless items failed this time (a re-run retries them)
        stamps[name]["complete"] = (errors.stat().st_size if errors.exists() else 0) == errors_before
        stamps[name]["outputs"] = runfolder.outputs_of(self.out, name)
        runfolder.write_stamps(self.out, stamps)

    def write(self) -> None:
        _write_summary(self.out, self.summary, self.timings)


def _import_questions(cfg: RunConfig, corpus_dir: Path, out: Path) -> Any:
    from longtracerl.questions.importers import IMPORTERS, import_questions

    src = cfg.questions_from or ""
    source, path = (src, None) if src in IMPORTERS else ("jsonl", src)
    stats = import_questions(
        corpus_dir,
        out,
        source=source,
        input=path,
        n=cfg.walks.num_walks,
        seed=cfg.walks.seed,
        rubrics_include_answer=cfg.questions.rubrics_include_answer,
        overwrite=True,
    )
    return stats.to_dict()


def _jsonable(obj: Any) -> Any:
    """Stage summaries (pydantic models, dataclasses, dicts) as plain JSON values."""
    if hasattr(obj, "model_dump"):
        obj = obj.model_dump(mode="json")
    elif hasattr(obj, "__dataclass_fields__"):
        import dataclasses

        # not dataclasses.asdict: it rebuilds a Counter from (key, count) pairs, counting the pairs
        obj = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {
            (
                k if isinstance(k, str) else "/".join(map(str, k)) if isinstance(k, tuple) else str(k)
            ): _jsonable(v)
            for k, v in obj.items()
        }
    if isinstance(obj, list | tuple | set):
        return [_jsonable(v) for v in obj]
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    return str(obj)


def _write_summary(out: Path, summary: dict[str, Any], timings: dict[str, float]) -> None:
    data = dict(summary, timings_s=timings)
    text = json.dumps(data, indent=2, default=str) + "\n"
    path = out / "run.json"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        atomic_write_text(path, text)


def _read_summary(out: Path) -> dict[str, Any]:
    """The previous OUT/run.json (the summaries of the stages a re-run skips), or {}."""
    try:
        data = json.loads((out / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _check_writable(out: Path) -> None:
    """A one-line error for an --out that cannot be written (before anything is read or run)."""
    probe = out
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        what = "folder" if probe == out else f"folder {probe} (where it would be created)"
        raise ConfigError(f"{out}: the run {what} is not writable; pick another --out or fix its permissions")


# --------------------------------------------------------------------------- CLI


# the run flags that stand for a RunConfig field: flag dest -> dotted field
_RUN_FLAGS = {
    "corpus": "corpus_dir",
    "num_questions": "walks.num_walks",
    "questions": "questions_from",
    "target_tokens": "contexts.target_tokens",
    "strategy": "contexts.strategy",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    from longtracerl.cliargs import add_config_args, add_executor_args, field_flag

    p = subparsers.add_parser(
        "run",
        help="Run the whole chain: corpus -> walks -> questions -> agent -> contexts -> rows -> report.",
        description=(
            "Run every stage into OUT. With no --corpus the embedded Wikipedia corpus (HotpotQA intro\n"
            "paragraphs) is prepared under OUT/corpus. Each stage is skipped when its output is complete\n"
            "and resumed when partial, so an interrupted run continues where it stopped.\n\n"
            "Outputs: OUT/rows.jsonl (released LongTraceRL format), OUT/rows.parquet (verl),\n"
            "OUT/heldout.jsonl, OUT/report/report.md (+ PNG plots), OUT/run.json (timings).\n\n"
            "Offline defaults use the non-LLM policies (related-page chooser, chain composer,\n"
            "retrieval search agent); point a stage at an LLM with e.g. --set agent.policy=llm\n"
            "--set agent.model=openai:NAME@http://127.0.0.1:8000/v1 (see docs/llm.md)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", required=True, help="Run folder (created; reused to resume).")
    field_flag(p, "--corpus", RunConfig, "corpus_dir", dest="corpus")
    field_flag(
        p,
        "--num-questions",
        RunConfig,
        "walks.num_walks",
        dest="num_questions",
        metavar="N",
        shown_default=str(RUN_DEFAULTS["walks"]["num_walks"]),
        help="Walks to draw (walks.num_walks): each walk gives at most one question, so the rows "
        "are fewer (questions the composer rejects, questions no agent attempt solves and contexts "
        "that do not fit are dropped; a few rows are held out). The run prints this funnel at the end.",
    )
    field_flag(p, "--questions", RunConfig, "questions_from", dest="questions", metavar="hotpotqa|FILE")
    field_flag(p, "--target-tokens", RunConfig, "contexts.target_tokens", dest="target_tokens")
    field_flag(p, "--strategy", RunConfig, "contexts.strategy", dest="strategy")
    add_executor_args(p)
    p.add_argument("--stop-after", choices=STAGES, help="Stop after this stage.")
    p.add_argument(
        "--on-config-change",
        choices=["rebuild", "error"],
        default="rebuild",
        help="When OUT was made with other settings: rebuild the stages that depend on the change "
        "(old outputs kept under OUT/superseded/), or stop with an error naming the settings that "
        "differ. Default: rebuild.",
    )
    p.add_argument("--no-progress", action="store_true", help="No progress bars.")
    add_config_args(p, example="walks.hops=6")
    p.set_defaults(func=_cmd_run)


def _cmd_run(args: argparse.Namespace) -> int:
    from longtracerl.cliargs import executor_overrides, field_overrides

    overrides = field_overrides(args, _RUN_FLAGS, executor_overrides(args, prefix="executor."))
    cfg = load_run_config(args.config, overrides)
    summary = run_pipeline(
        args.out,
        cfg,
        stop_after=args.stop_after,
        progress=not args.no_progress,
        on_config_change=args.on_config_change,
    )
    out = Path(args.out)
    print(f"run folder: {out}")
    for name in ("rows.jsonl", "rows.parquet", "heldout.jsonl", "report/report.md", "run.json"):
        if (out / name).exists():
            print(f"  {out / name}")
    print(
        "timings (s): "
        + ", ".join(f"{k}={v}" for k, v in json.loads((out / "run.json").read_text())["timings_s"].items())
    )
    steps = runfolder.funnel(out)
    if steps:
        print(f"funnel: {runfolder.format_funnel(steps)}")
    return 0 if summary else 1
