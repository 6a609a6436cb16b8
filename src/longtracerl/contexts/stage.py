"""The contexts stage: RUN/questions.jsonl + RUN/trajectories.jsonl + corpus -> RUN/contexts.jsonl.

Resumable: contexts already in ``RUN/contexts.jsonl`` are kept (a torn last line is repaired) and
only the missing questions are assembled. A file built with other assembly settings is set aside
as ``RUN/contexts.<old hash>.jsonl`` and rebuilt (``on_config_change=error`` refuses instead;
``force=True`` rebuilds without keeping it). Questions that get no context are listed once in
``RUN/contexts.rejected.jsonl`` with the reason (``no_correct_trajectory``, ``no_rubrics``,
``gold_page_missing``, ``budget_too_small``, ...) and counted in ``RUN/contexts.summary.json``.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from longtracerl.config import ConfigError, config_hash
from longtracerl.contexts.assemble import (
    ContextBuilder,
    ContextRejected,
    DocTokenCache,
    cache_path,
    first_correct,
)
from longtracerl.contexts.config import ContextsConfig, ExportConfig
from longtracerl.contexts.tokenizer import TokenCounter, load_tokenizer
from longtracerl.executor import Executor, InlineExecutor, ItemTask
from longtracerl.records import (
    Context,
    Question,
    RejectedItem,
    Trajectory,
    atomic_write_text,
    iter_json_lines,
    read_jsonl,
)
from longtracerl.runfolder import missing_input
from longtracerl.stage import Stage, StageFiles, StrPath, run_alone

if TYPE_CHECKING:
    from longtracerl.pagestore import PageStore
    from longtracerl.search.base import Retriever

log = logging.getLogger(__name__)

CONTEXTS_FILE = "contexts.jsonl"
REJECTED_FILE = "contexts.rejected.jsonl"
SUMMARY_FILE = "contexts.summary.json"


def assembly_hash(cfg: ContextsConfig) -> str:
    """Hash of the settings that shape a context (export settings and ``limit`` excluded)."""
    neutral = {"export": ExportConfig(), "limit": None, "on_config_change": "rebuild"}
    return config_hash(cfg.model_copy(update=neutral))


def needs_retriever(cfg: ContextsConfig, strategies: list[str] | None = None) -> bool:
    strategies = strategies or [cfg.strategy]
    return any(s == "one-shot-search" or (s != "random" and "search" in cfg.fill) for s in strategies)


def open_retriever(corpus_dir: str | os.PathLike) -> Any:
    """The corpus's BM25 search index (``longtracerl.search.index.open_retriever``)."""
    try:
        from longtracerl.search.index import open_retriever as _open
    except ImportError as err:
        raise ConfigError(f"no search backend available ({err}); build the corpus index first") from None
    return _open(corpus_dir)


def load_inputs(run: Path) -> tuple[list[Question], dict[str, Trajectory | None]]:
    """Questions, and for each the first correct trajectory (None when there is none)."""
    q_path, t_path = run / "questions.jsonl", run / "trajectories.jsonl"
    if not q_path.exists():
        raise FileNotFoundError(missing_input(q_path, "longtracerl questions"))
    questions = list(read_jsonl(q_path, Question))
    by_q: dict[str, list[Trajectory]] = defaultdict(list)
    if t_path.exists():
        for t in read_jsonl(t_path, Trajectory):
            by_q[t.question_id].append(t)
    else:
        log.warning("%s is missing: only non-trajectory strategies can build contexts", t_path)
    return questions, {q.question_id: first_correct(by_q.get(q.question_id, [])) for q in questions}


def _existing_hash(path: Path) -> str | None:
    if not path.exists():
        return None
    for _lineno, obj in iter_json_lines(path):
        return ((obj or {}).get("provenance") or {}).get("config_hash")
    return None


def open_builder(
    run: Path,
    corpus_dir: str | os.PathLike,
    cfg: ContextsConfig,
    *,
    store: PageStore | None = None,
    retriever: Retriever | None = None,
    tok: TokenCounter | None = None,
    strategies: list[str] | None = None,
) -> ContextBuilder:
    """A ContextBuilder over the corpus, with the run's token cache."""
    if store is None:
        from longtracerl.corpus.store import PageStore

        store = PageStore(corpus_dir)
    tok = tok or load_tokenizer(cfg.tokenizer)
    if retriever is None and needs_retriever(cfg, strategies):
        retriever = open_retriever(corpus_dir)
    cache = DocTokenCache(store, tok, cache_path(store, tok))
    builder = ContextBuilder(store, tok, cfg, retriever=retriever, cache=cache)
    builder.cfg_hash = assembly_hash(cfg)
    return builder


class ContextTask(ItemTask):
    """Executor work of the contexts stage: ``(question, best trajectory)`` -> a ContextResult.

    Workers open their own builder (page store, tokenizer, token cache, index when the strategy
    searches); the inline executor uses the driver's (``builder``, in-process only).
    """

    name = "contexts"
    local_fields = ("builder",)

    def __init__(
        self,
        run: Path,
        corpus_dir: str | os.PathLike,
        cfg: ContextsConfig,
        builder: ContextBuilder | None = None,
    ):
        self.run_dir, self.corpus_dir, self.cfg, self.builder = str(run), str(corpus_dir), cfg, builder

    def setup(self) -> None:
        if self.builder is None:
            self.builder = open_builder(Path(self.run_dir), self.corpus_dir, self.cfg)

    def run(self, item: tuple[Question, Trajectory | None]) -> ContextResult:
        b = self.builder
        assert b is not None
        before = (b.verified, b.repaired, b.missing_skipped)
        q, traj = item
        try:
            result: Context | RejectedItem = b.build(q, traj)
        except ContextRejected as rej:
            result = RejectedItem(
                item_id=q.question_id, stage="contexts", reason=rej.reason, detail=rej.detail
            )
        after = (b.verified, b.repaired, b.missing_skipped)
        return ContextResult(
            result, tuple(a - c for a, c in zip(after, before, strict=True)), b.cache.take_new()
        )


@dataclass
class ContextResult:
    context: Context | RejectedItem
    counts: tuple[int, ...]  # (exact counts checked, repaired over budget, missing distractors skipped)
    new_tokens: dict[str, tuple[str, int]]  # token-cache entries the worker computed


class ContextsStage(Stage):
    """The contexts stage (:func:`~longtracerl.stage.run_stage` drives it): one context or one
    rejection per question; then ``contexts.summary.json`` and the export of training rows."""

    name = "contexts"
    output = CONTEXTS_FILE
    output_key = "question_id"

    def __init__(
        self,
        cfg: ContextsConfig | None,
        corpus: StrPath,
        run: StrPath,
        *,
        force: bool = False,
        **engines: Any,
    ):
        """``engines``: ready ``store``, ``retriever`` or ``tok`` objects (in-process only);
        ``force``: rebuild ``contexts.jsonl`` from scratch."""
        super().__init__(cfg or ContextsConfig(), corpus, run)
        self.engines = engines
        self.force = force
        self.reasons: Counter[str] = Counter()
        self.written = 0
        self.counts = [0, 0, 0]  # exact counts checked, repaired over budget, missing distractors skipped

    def prepare(self) -> None:
        cfg, run = self.cfg, self.run
        t0 = time.perf_counter()
        if cfg.strategy.startswith("traj") and not (run / "trajectories.jsonl").exists():
            raise FileNotFoundError(
                f"{run / 'trajectories.jsonl'}: missing; strategy {cfg.strategy} needs agent trajectories "
                "(run `longtracerl agent` first, or use --strategy one-shot-search|random)"
            )
        self.questions, self.best = load_inputs(run)
        if cfg.limit is not None:
            self.questions = self.questions[: cfg.limit]
        self.builder = open_builder(run, self.corpus, cfg, **self.engines)
        self.want = assembly_hash(cfg)
        self._set_aside_other_settings()
        self.t_load = time.perf_counter() - t0

    def _set_aside_other_settings(self) -> None:
        """A contexts file built with other assembly settings is kept as ``contexts.<hash>.jsonl``
        (``on_config_change=error``: refused; ``force``: deleted)."""
        out_path, rej_path = self.run / CONTEXTS_FILE, self.run / REJECTED_FILE
        if self.force:
            out_path.unlink(missing_ok=True)
            rej_path.unlink(missing_ok=True)
        have, want = _existing_hash(out_path), self.want
        if have is None or have == want:
            return
        if self.cfg.on_config_change == "error":
            raise ConfigError(
                f"{out_path} was built with another contexts config (hash {have}, now {want}): "
                "delete it or pass --force to rebuild"
            )
        kept = self.run / f"contexts.{have}.jsonl"
        os.replace(out_path, kept)
        rej_path.unlink(missing_ok=True)
        log.warning(
            "contexts config changed (%s -> %s): old contexts kept as %s; rebuilding", have, want, kept
        )

    def items(self, files: StageFiles) -> list[tuple[Question, Trajectory | None]]:
        self.resumed = len(files.out.done)
        done = files.out.done
        self.todo = [(q, self.best.get(q.question_id)) for q in self.questions if q.question_id not in done]
        return self.todo

    def task(self, executor: Executor) -> ContextTask:
        self.executor = executor
        inline = isinstance(executor, InlineExecutor)
        return ContextTask(self.run, self.corpus, self.cfg, self.builder if inline else None)

    def item_id(self, item: tuple[Question, Trajectory | None]) -> str:
        return item[0].question_id

    def progress_bar(self) -> dict[str, Any]:
        desc = f"contexts ({self.cfg.strategy}, {self.cfg.target_tokens} tok)"
        return {"total": len(self.todo), "desc": desc, "unit": "ctx"}

    def take(self, item: tuple[Question, Trajectory | None], res: ContextResult, files: StageFiles) -> int:
        q = item[0]
        self.counts = [a + b for a, b in zip(self.counts, res.counts, strict=True)]
        self.builder.cache.merge(res.new_tokens)
        if isinstance(res.context, RejectedItem):
            self.reasons[res.context.reason] += 1
            assert files.rejected is not None
            if q.question_id not in files.rejected.done:
                files.rejected.write(res.context)
        else:
            files.out.write(res.context)
            self.written += 1
        return 1

    def failed(self, item: tuple[Question, Trajectory | None]) -> int:
        self.reasons["error"] += 1
        return 1

    def close(self) -> None:
        self.builder.cache.save()

    def summary(self) -> dict[str, Any]:
        cfg, builder, written, t_build = self.cfg, self.builder, self.written, self.loop_s
        summary = _summarize(self.run / CONTEXTS_FILE, self.questions, self.reasons)
        summary.update(
            {
                "corpus": str(self.corpus.resolve()) if self.corpus is not None else None,
                "strategy": cfg.strategy,
                "target_tokens": cfg.target_tokens,
                "tokenizer": f"{builder.tok.name}#{builder.tok.fingerprint}",
                "tokenizer_additive": builder.coster.additive,
                "config_hash": self.want,
                "config": cfg.model_dump(mode="json"),
                "written_this_run": written,
                "resumed_from": self.resumed,
                "exact_counts_checked": self.counts[0],
                "repaired_over_budget": self.counts[1],
                "missing_distractors_skipped": self.counts[2],
                "executor": self.executor.name,
                "workers": self.executor.workers,
                "seconds_setup": round(self.t_load, 3),
                "seconds_assembly": round(t_build, 3),
                "contexts_per_s": round(written / t_build, 2) if t_build > 0 and written else None,
            }
        )
        atomic_write_text(self.run / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
        log.info(
            "contexts: %d written (%d resumed), %d rejected %s",
            written,
            self.resumed,
            sum(self.reasons.values()),
            dict(self.reasons),
        )
        if cfg.export.enabled:
            from longtracerl.contexts.export import export_rows

            summary["export"] = export_rows(self.run, self.corpus, cfg.export, store=builder.store)
        return summary


def build_contexts(
    cfg: ContextsConfig | None, corpus: str | os.PathLike, run: str | os.PathLike, **options: Any
) -> dict[str, Any]:
    """Assemble RUN/contexts.jsonl (resumable), then export rows when ``cfg.export.enabled``.

    Questions run on ``executor`` (default: in this process) and are written in question order;
    a question whose assembly raises goes to ``contexts.errors.jsonl`` and is tried again by the
    next run. Returns the summary also written to ``RUN/contexts.summary.json``.

    ``options``: ``progress=True``, ``executor=None`` and :class:`ContextsStage`'s ``store``,
    ``retriever``, ``tok`` and ``force``.
    """
    return run_alone(ContextsStage, cfg, corpus, run, **options)


def _summarize(out_path: Path, questions: list[Question], reasons: Counter[str]) -> dict[str, Any]:
    totals: list[int] = []
    ndocs: list[int] = []
    tags: Counter[str] = Counter()
    tag_tokens: Counter[str] = Counter()
    over = 0
    if out_path.exists():
        for c in read_jsonl(out_path, Context):
            totals.append(c.total_tokens)
            ndocs.append(len(c.docs))
            over += c.total_tokens > c.target_tokens
            for d in c.docs:
                tags[d.tag] += 1
                tag_tokens[d.tag] += d.n_tokens
    return {
        "questions": len(questions),
        "contexts": len(totals),
        "rejected": dict(sorted(reasons.items())),
        "over_budget": over,
        "tokens": {
            "mean": round(statistics.fmean(totals), 1) if totals else None,
            "min": min(totals) if totals else None,
            "max": max(totals) if totals else None,
        },
        "docs_per_context": round(statistics.fmean(ndocs), 1) if ndocs else None,
        "doc_tags": dict(sorted(tags.items())),
        "doc_tag_tokens": dict(sorted(tag_tokens.items())),
    }
