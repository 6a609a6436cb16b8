"""The difficulty report: ``RUN/report/report.md``, ``report.json`` and PNG plots.

Measures, for a seeded sample of the run's questions, the contexts of every strategy (assembled
in memory with the run's contexts config, never exported):

- confusability per strategy and for Tier-1 / Tier-2 alone (see :mod:`.confusability`), beside
  the paper's figures, with a plain statement when the ordering differs from the paper's;
- the make-up of each strategy's contexts (share of documents per tag: how much came from fill);
- a retrieval-difficulty proxy: rank of the gold pages among the context's documents under BM25
  (``bm25s``, English stopwords) with the question as the query;

and, over the whole run: agent success per attempt (``RUN/trajectories.jsonl`` and
``RUN/agent.summary.json`` when present) and the distribution of context lengths
(``RUN/contexts.jsonl``).
"""

from __future__ import annotations

import functools
import gc
import json
import logging
import math
import os
import random
import re
import statistics
import string
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from longtracerl.config import ConfigError
from longtracerl.contexts.assemble import ContextRejected, derive_tiers, fetch_pages
from longtracerl.contexts.config import ContextsConfig
from longtracerl.contexts.prompt import stable_seed
from longtracerl.contexts.stage import SUMMARY_FILE as CONTEXTS_SUMMARY
from longtracerl.contexts.stage import load_inputs, open_builder
from longtracerl.records import Context, Question, Trajectory, atomic_write_text, read_jsonl
from longtracerl.report.config import ReportConfig
from longtracerl.report.confusability import NormalisedTexts, Tally, tally_by_tag

if TYPE_CHECKING:
    from longtracerl.corpus.store import PageStore
    from longtracerl.search.base import Retriever


log = logging.getLogger(__name__)

# docs/method.md#confusability, in percent
PAPER_CONFUSABILITY: dict[str, float] = {
    "random": 1.35,
    "one-shot-search": 15.00,
    "traj-random": 42.16,
    "traj-tiered": 50.03,
    "tier1": 63.23,
    "tier2": 41.0,
}
PAPER_ORDER = ["random", "one-shot-search", "traj-random", "traj-tiered"]


# --------------------------------------------------------------------------- retrieval proxy


@functools.cache
def _bm25s_words() -> tuple[Callable[[str], list[str]], frozenset[str]]:
    """bm25s's default split (``(?u)\\b\\w\\w+\\b``) and its English stop words."""
    from bm25s.stopwords import STOPWORDS_EN

    # findall of \w\w+ gives the same words as bm25s's pattern (a greedy run of word characters
    # ends at a word boundary, and the next match starts after it), and about 20 % faster
    return re.compile(r"\w\w+").findall, frozenset(STOPWORDS_EN)


@functools.cache
def _short_or_stop() -> frozenset[str]:
    """bm25s's stop words and the one-character words of normalised ASCII text (``[a-z0-9_]``)."""
    return _bm25s_words()[1] | frozenset(string.ascii_lowercase + string.digits + "_")


class GoldRanker:
    """Rank of gold pages among a context's documents under BM25 (question as the query).

    The context's documents are the collection: Lucene BM25 (k1=1.5, b=0.75, bm25s's defaults)
    with document frequencies and lengths from those documents, pages tokenised as ``bm25s``
    does (English stop words) once per report, whichever strategies and questions they recur in,
    and kept as term counts per page. Scoring a context looks up the query's terms in its pages'
    counts (no index is built per context: at 128K tokens that was most of the report's time).

    ``normalised`` (the confusability's :class:`NormalisedTexts` over the same ``fetch``) saves
    splitting most pages a second time: on ASCII text the rubric normaliser's words are the same
    runs of ``[a-z0-9_]`` that bm25s splits, one-character words included, so they are counted.
    """

    def __init__(self, fetch, k1: float = 1.5, b: float = 0.75, normalised: NormalisedTexts | None = None):
        self.fetch = fetch
        self.k1, self.b = k1, b
        self.normalised = normalised
        self._len: dict[str, int] = {}
        self._tf: dict[str, Counter[str]] = {}

    def _tok(self, texts: list[str]) -> list[list[str]]:
        """``bm25s.tokenize(texts, stopwords="en", return_ids=False)``'s tokens, in order: lower
        case, words of two or more word characters, English stop words dropped."""
        split, stop = _bm25s_words()
        return [[t for t in split(text.lower()) if t not in stop] for text in texts]

    def _counts(self, text: str, normalised: str | None = None) -> Counter[str]:
        """Term counts of one page's :meth:`_tok` tokens (counted in C, stop words dropped after);
        from the page's ``normalised`` text when given and the page is ASCII."""
        split, stop = _bm25s_words()
        if normalised is not None and text.isascii():
            counts, drop = Counter(normalised.split()), _short_or_stop()
        else:
            counts, drop = Counter(split(text.lower())), stop
        pop = counts.pop  # dict.pop: Counter's own __delitem__ is Python code
        for w in drop.intersection(counts):
            pop(w)
        return counts

    def scores(self, ids: list[str], query: list[str]):
        """BM25 score of each document of ``ids`` for the query tokens (repeats count again)."""
        import numpy as np

        todo = [p for p in dict.fromkeys(ids) if p not in self._len]
        if todo:
            texts = self.fetch(todo)
            norm = self.normalised.get(todo) if self.normalised is not None else {}
            for p in todo:
                if p in texts:
                    counts = self._tf[p] = self._counts(texts[p], norm.get(p))
                    self._len[p] = sum(counts.values())
        n = len(ids)
        # a page with no tokens (or not found) counts as one token that matches nothing
        lengths = np.fromiter((self._len.get(p) or 1 for p in ids), dtype=np.float64, count=n)
        norm = self.k1 * ((1 - self.b) + self.b * lengths / lengths.mean())
        out = np.zeros(n)
        empty: Counter[str] = Counter()
        page_tf = [self._tf.get(p, empty) for p in ids]
        part: dict[str, Any] = {}  # a repeated query word adds the same array again
        for term in query:
            if term not in part:
                counts = [c.get(term, 0) for c in page_tf]
                part[term] = None
                if any(counts):
                    tf = np.array(counts, dtype=np.float64)
                    df = int(np.count_nonzero(tf))
                    part[term] = math.log(1 + (n - df + 0.5) / (df + 0.5)) * tf / (norm + tf)
            if part[term] is not None:
                out += part[term]
        return out

    def ranks(self, ctx: Context, question: str) -> dict[str, Any] | None:
        gold = [i for i, d in enumerate(ctx.docs) if d.tag == "gold"]
        query = self._tok([question])[0]
        if not query or not gold:
            return None
        ids = [d.page_id for d in ctx.docs]
        scores = self.scores(ids, query)
        ranks = sorted(1 + int((scores > scores[i]).sum()) for i in gold)
        return {"best": ranks[0], "all": ranks, "n_docs": len(ids)}


TOP_K = (1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)


def all_gold_in_top_k(ranks: list[dict[str, Any]]) -> dict[str, float]:
    """Share (%) of contexts whose gold pages are all among the top k documents, for each k of
    :data:`TOP_K` up to the largest context (the curve that separates the strategies)."""
    if not ranks:
        return {}
    worst = [max(r["all"]) for r in ranks]
    largest = max(r["n_docs"] for r in ranks)
    ks = [k for k in TOP_K if k < largest] + [largest]
    return {str(k): round(100.0 * sum(w <= k for w in worst) / len(worst), 2) for k in dict.fromkeys(ks)}


# --------------------------------------------------------------------------- agent success


def agent_success(run: Path) -> dict[str, Any]:
    """Per-attempt accuracy and the share of questions solved by attempt k."""
    out: dict[str, Any] = {}
    t_path = run / "trajectories.jsonl"
    if t_path.exists():
        per: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        first: dict[str, int] = {}
        qids: set[str] = set()
        for t in read_jsonl(t_path, Trajectory):
            qids.add(t.question_id)
            per[t.attempt][0] += 1
            per[t.attempt][1] += int(t.correct)
            if t.correct:
                first[t.question_id] = min(first.get(t.question_id, t.attempt), t.attempt)
        n = len(qids)
        cumulative, solved = {}, 0
        firsts = Counter(first.values())
        for a in sorted(per):
            solved += firsts.get(a, 0)
            cumulative[str(a)] = round(solved / n, 4) if n else None
        out = {
            "questions_tried": n,
            "solved": len(first),
            "per_attempt": {
                str(a): {"attempts": v[0], "correct": v[1], "rate": round(v[1] / v[0], 4) if v[0] else None}
                for a, v in sorted(per.items())
            },
            "solved_by_attempt": cumulative,
        }
    s_path = run / "agent.summary.json"
    if s_path.exists():
        try:
            out["agent_summary"] = json.loads(s_path.read_text(encoding="utf-8"))
        except ValueError as err:
            out["agent_summary_error"] = f"{s_path}: {err}"
    return out


def _keep_line(summary: dict[str, Any]) -> str:
    """Which questions the agent stage kept (its ``keep`` option)."""
    if summary.get("keep") == "gold_opened":
        return (
            f" Kept: {summary.get('kept')} (keep=gold_opened: a correct attempt, or one that opened "
            f"every gold page: {summary.get('kept_by_gold_opened', 0)} of them)."
        )
    return f" Kept: {summary.get('kept')} (keep=correct: questions with a correct attempt)."


# --------------------------------------------------------------------------- main entry


def _pct(x: float | None) -> float | None:
    return None if x is None else round(100.0 * x, 2)


def _quantiles(xs: list[int]) -> dict[str, float | int | None]:
    if not xs:
        return {"n": 0, "mean": None, "min": None, "p50": None, "p90": None, "max": None}
    s = sorted(xs)
    return {
        "n": len(s),
        "mean": round(statistics.fmean(s), 1),
        "min": s[0],
        "p50": s[len(s) // 2],
        "p90": s[min(len(s) - 1, int(0.9 * len(s)))],
        "max": s[-1],
    }


def _contexts_config(run: Path, cfg: ReportConfig, corpus_dir: Any) -> tuple[ContextsConfig, Any]:
    summary: dict[str, Any] = {}
    p = run / CONTEXTS_SUMMARY
    if p.exists():
        try:
            summary = json.loads(p.read_text(encoding="utf-8"))
        except ValueError:
            summary = {}
    raw = dict(summary.get("config") or {})
    raw.pop("export", None)
    try:
        ccfg = ContextsConfig.model_validate(raw) if raw else ContextsConfig()
    except Exception as err:  # noqa: BLE001 - a summary from another version
        log.warning("cannot reuse the contexts config in %s (%s): using defaults", p, err)
        ccfg = ContextsConfig()
    update: dict[str, Any] = {"verify_tokens": ccfg.verify_tokens}
    if cfg.target_tokens is not None:
        update["target_tokens"] = cfg.target_tokens
    ccfg = ccfg.model_copy(update=update)
    corpus = corpus_dir or summary.get("corpus")
    if not corpus:
        raise ConfigError(f"{run}: no corpus given and none recorded in {p}; pass --corpus DIR")
    return ccfg, corpus


def _gc_frozen(fn):
    """Run ``fn`` with the objects alive at its start left out of garbage collection: in
    ``longtracerl run`` the earlier stages leave hundreds of MB of objects that every full
    collection triggered by the report's allocations would walk again (new objects are still
    collected; the old ones go back to the collector afterwards)."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        gc.freeze()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.unfreeze()

    return run


@_gc_frozen
def write_report(
    run_dir: str | os.PathLike,
    corpus_dir: str | os.PathLike | None = None,
    cfg: ReportConfig | None = None,
    *,
    contexts_cfg: ContextsConfig | None = None,
    store: PageStore | None = None,
    retriever: Retriever | None = None,
    tok: Any = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Measure and write ``RUN/report/``; returns the report.json content.

    Three steps: :func:`measure` (contexts of a seeded sample of questions, every strategy),
    :func:`build_report` (the figures of report.json) and :func:`write_outputs` (report.json,
    report.md, the plots); then the question audit section is added.
    """
    cfg = cfg or ReportConfig()
    run = Path(run_dir)
    t0 = time.perf_counter()
    ccfg, corpus = _contexts_config(run, cfg, corpus_dir)
    if contexts_cfg is not None:
        ccfg = contexts_cfg
        if cfg.target_tokens is not None:
            ccfg = ccfg.model_copy(update={"target_tokens": cfg.target_tokens})
    questions, best = load_inputs(run)
    written = RunContexts.read(run / "contexts.jsonl")
    pool = [
        q
        for q in questions
        if (q.question_id in written.by_question) or (not written.by_question and best.get(q.question_id))
    ]
    sample = sample_questions(pool, cfg, ccfg.target_tokens)
    builder = open_builder(
        run, corpus, ccfg, store=store, retriever=retriever, tok=tok, strategies=list(cfg.strategies)
    )
    builder.spot_checks = False  # counts are measured, not exported: the contexts stage checked them
    reuse = written.reusable(sample, cfg.strategies, builder.cfg_hash, ccfg.target_tokens)
    timings = {"inputs": time.perf_counter() - t0}
    m = measure(sample, best, builder, reuse, cfg, progress)
    timings["measure"] = time.perf_counter() - t0 - timings["inputs"]
    report = build_report(
        m, written, run=run, corpus=corpus, ccfg=ccfg, builder=builder, n_pool=len(pool), reused=len(reuse)
    )
    out = run / "report"
    out.mkdir(parents=True, exist_ok=True)
    from longtracerl.questions.audit_report import audit_section

    # question audit section (issue 13); reuses up-to-date audit files and the open index
    t_audit = time.perf_counter()
    audit = audit_section(run, corpus, out, plots=cfg.plots, retriever=builder.retriever)
    timings["question audit"] = time.perf_counter() - t_audit
    audit_md: list[str] = []
    if audit is not None:
        report["question_audit"], audit_md = audit
    write_outputs(report, written.lengths, out, cfg, t0=t0, timings=timings, extra_md=audit_md)
    log.info("report: %s (%s)", run / "report" / "report.md", _timing_line(timings, time.perf_counter() - t0))
    return report


def sample_questions(pool: list[Question], cfg: ReportConfig, target_tokens: int) -> list[Question]:
    """The seeded sample measured: at most ``max_questions``, and at most
    ``max_tokens_per_strategy / target_tokens`` questions; sorted by id."""
    rng = random.Random(stable_seed(cfg.seed, "report-sample"))
    n_sample = min(cfg.max_questions, max(1, cfg.max_tokens_per_strategy // target_tokens))
    sample = pool if len(pool) <= n_sample else rng.sample(pool, n_sample)
    return sorted(sample, key=lambda q: q.question_id)


@dataclass
class RunContexts:
    """The run's ``contexts.jsonl`` in one pass: per-context numbers of every context, and the
    contexts themselves by question (some are measured as written, see :meth:`reusable`)."""

    path: Path
    lengths: list[int] = field(default_factory=list)
    n_docs: list[int] = field(default_factory=list)
    over_budget: int = 0
    strategy: str | None = None
    by_question: dict[str, list[Context]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> RunContexts:
        out = cls(path)
        if path.exists():
            for c in read_jsonl(path, Context):
                out.by_question.setdefault(c.question_id, []).append(c)
                out.lengths.append(c.total_tokens)
                out.n_docs.append(len(c.docs))
                out.over_budget += c.total_tokens > c.target_tokens
                out.strategy = c.strategy
        return out

    def reusable(
        self, sample: list[Question], strategies: list[str], cfg_hash: str, target_tokens: int
    ) -> dict[tuple[str, str], Context]:
        """The run's own contexts of the sampled questions, when made with these settings: they are
        measured as written instead of assembled again (the same documents; assembling is most of
        the cost)."""
        if self.strategy not in strategies:
            return {}
        return {
            (c.question_id, c.strategy): c
            for q in sample
            for c in self.by_question.get(q.question_id, ())
            if c.provenance.config_hash == cfg_hash and c.target_tokens == target_tokens
        }

    def summary(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "strategy": self.strategy,
            "total_tokens": _quantiles(self.lengths),
            "docs_per_context": _quantiles(self.n_docs),
            "over_budget": self.over_budget,
        }


# --------------------------------------------------------------------------- measure


@dataclass
class Measurement:
    """What :func:`measure` counts, per strategy (and per question in ``per_question``)."""

    strategies: list[str]
    conf: dict[str, dict[str, Tally]] = field(default_factory=dict)
    makeup: dict[str, Counter[str]] = field(default_factory=dict)
    ranks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    built: Counter[str] = field(default_factory=Counter)
    rejected: dict[str, Counter[str]] = field(default_factory=dict)
    per_question: list[dict[str, Any]] = field(default_factory=list)
    pool: Counter[str] = field(default_factory=Counter)
    questions: int = 0

    def __post_init__(self) -> None:
        for s in self.strategies:
            self.conf.setdefault(s, defaultdict(Tally))
            self.makeup.setdefault(s, Counter())
            self.ranks.setdefault(s, [])
            self.rejected.setdefault(s, Counter())

    def add(
        self,
        q: Question,
        s: str,
        ctx: Context,
        traj: Trajectory | None,
        norm: NormalisedTexts,
        ranker: GoldRanker,
    ) -> dict[str, Any]:
        """Count one context of strategy ``s``; returns its per-question row entry."""
        self.built[s] += 1
        if s == "traj-tiered" and traj is not None:
            tiers_q = derive_tiers(traj, q.label.gold_page_ids)
            pool_n = len(tiers_q.tier1) + len(tiers_q.tier2)
            used = sum(d.tag in ("tier1", "tier2") for d in ctx.docs)
            self.pool["contexts"] += 1
            self.pool["pool_docs"] += pool_n
            self.pool["used_docs"] += used
            self.pool["whole_pool_used"] += used >= pool_n
        texts = norm.get(d.page_id for d in ctx.docs)
        tallies = tally_by_tag(ctx.docs, q.label.rubrics, texts, normalised=True)
        for tag, t in tallies.items():
            self.conf[s][tag].add(t)
        self.makeup[s].update(d.tag for d in ctx.docs)
        r = ranker.ranks(ctx, q.question)
        if r is not None:
            self.ranks[s].append(r)
        return {"confusability": _pct(tallies["all"].rate), "gold_best_rank": r and r["best"]}


def page_texts(store: PageStore, include_title: bool) -> Callable[[list[str]], dict[str, str]]:
    """``fetch(ids)``: the texts of pages (title + text when ``include_title``). The confusability
    texts and the ranker ask for the same new pages of a context in turn: the store reads them once."""
    last: dict[str, Any] = {"ids": None, "texts": {}}

    def fetch(ids):
        ids = list(ids)
        if ids != last["ids"]:
            pages = fetch_pages(store, ids)
            last["ids"] = ids
            last["texts"] = {
                p: (pg.title + "\n" + pg.text) if include_title else pg.text for p, pg in pages.items()
            }
        return last["texts"]

    return fetch


def measure(
    sample: list[Question],
    best: dict[str, Trajectory | None],
    builder: Any,
    written: dict[tuple[str, str], Context],
    cfg: ReportConfig,
    progress: bool = False,
) -> Measurement:
    """Confusability, make-up and gold ranks of every strategy's context of each sampled question
    (``written`` contexts as they are, the others assembled in memory by ``builder``)."""
    fetch = page_texts(builder.store, cfg.include_title)
    norm = NormalisedTexts(fetch)
    ranker = GoldRanker(fetch, normalised=norm)
    m = Measurement(list(cfg.strategies), questions=len(sample))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(sample) * len(cfg.strategies), desc="report", unit="ctx")
    try:
        for q in sample:
            row: dict[str, Any] = {"question_id": q.question_id}
            for s in cfg.strategies:
                if bar is not None:
                    bar.update(1)
                try:
                    ctx = written.get((q.question_id, s)) or builder.build(q, best.get(q.question_id), s)
                except ContextRejected as rej:
                    m.rejected[s][rej.reason] += 1
                    continue
                row[s] = m.add(q, s, ctx, best.get(q.question_id), norm, ranker)
            m.per_question.append(row)
    finally:
        if bar is not None:
            bar.close()
        builder.cache.save()
    return m


# --------------------------------------------------------------------------- aggregate


def gold_rank_summary(rk: list[dict[str, Any]]) -> dict[str, Any]:
    """Best, mean and relative ranks of the gold pages of a strategy's contexts."""
    best_ranks = [r["best"] for r in rk]
    if not rk:
        none = dict.fromkeys(("best_median", "best_mean", "best_is_top1_pct", "all_gold_mean_rank"))
        return {**none, "mean_relative_rank": None, "all_gold_in_top_k_pct": {}}
    return {
        "best_median": statistics.median(best_ranks),
        "best_mean": round(statistics.fmean(best_ranks), 2),
        "best_is_top1_pct": _pct(sum(b == 1 for b in best_ranks) / len(best_ranks)),
        "all_gold_mean_rank": round(statistics.fmean(x for r in rk for x in r["all"]), 2),
        "mean_relative_rank": round(
            statistics.fmean((x - 1) / max(1, r["n_docs"] - 1) for r in rk for x in r["all"]), 4
        ),
        "all_gold_in_top_k_pct": all_gold_in_top_k(rk),
    }


def strategy_summary(m: Measurement, s: str) -> dict[str, Any]:
    """report.json's entry of one strategy."""
    total_docs = sum(m.makeup[s].values())
    conf = m.conf[s]
    return {
        "contexts": m.built[s],
        "rejected": dict(m.rejected[s]),
        "confusability_pct": _pct(conf["all"].rate),
        "distractors": conf["all"].distractors,
        "confusable": conf["all"].confusable,
        "paper_pct": PAPER_CONFUSABILITY.get(s),
        "by_tag": {
            tag: {"distractors": t.distractors, "confusable": t.confusable, "pct": _pct(t.rate)}
            for tag, t in sorted(conf.items())
            if tag != "all"
        },
        "doc_share_pct": {tag: round(100.0 * n / total_docs, 2) for tag, n in sorted(m.makeup[s].items())}
        if total_docs
        else {},
        "docs_per_context": round(total_docs / m.built[s], 1) if m.built[s] else None,
        "gold_rank": gold_rank_summary(m.ranks[s]),
    }


def tier_summary(m: Measurement) -> dict[str, Any]:
    """Tier-1 and Tier-2 documents of the traj-tiered contexts, beside the paper's figures."""
    tiered = m.conf.get("traj-tiered")
    out = {}
    for tag in ("tier1", "tier2"):
        t = tiered.get(tag, Tally()) if tiered is not None else Tally()
        out[tag] = {
            "distractors": t.distractors,
            "confusable": t.confusable,
            "pct": _pct(t.rate),
            "paper_pct": PAPER_CONFUSABILITY[tag],
        }
    return out


def build_report(
    m: Measurement,
    written: RunContexts,
    *,
    run: Path,
    corpus: Any,
    ccfg: ContextsConfig,
    builder: Any,
    n_pool: int,
    reused: int = 0,
) -> dict[str, Any]:
    """report.json's content from a measurement (``reused``: contexts taken from contexts.jsonl;
    ``plots`` and ``seconds`` are set by :func:`write_outputs`)."""
    strategies = {s: strategy_summary(m, s) for s in m.strategies}
    tiers = tier_summary(m)
    pool = _pool_summary(m.pool)
    return {
        "run": str(run.resolve()),
        "corpus": str(corpus),
        "measured_questions": m.questions,
        "reused_contexts": reused,
        "eligible_questions": n_pool,
        "target_tokens": ccfg.target_tokens,
        "tokenizer": f"{builder.tok.name}#{builder.tok.fingerprint}",
        "fill": list(ccfg.fill),
        "strategies": strategies,
        "tiers": tiers,
        "trajectory_pool": pool,
        "ordering": ordering_notes(strategies, tiers, pool),
        "agent": agent_success(run),
        "context_lengths": written.summary(),
        "per_question": m.per_question,
        "seconds": None,
    }


# --------------------------------------------------------------------------- write


def write_outputs(
    report: dict[str, Any],
    lengths: list[int],
    out_dir: Path,
    cfg: ReportConfig,
    *,
    t0: float,
    timings: dict[str, float],
    extra_md: list[str] | tuple[str, ...] = (),
) -> None:
    """report.json, report.md (``extra_md``: lines added at its end) and the plots into
    ``out_dir`` (``seconds``: since ``t0``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    t_plots = time.perf_counter()
    plots: list[str] = []
    if cfg.plots:
        from longtracerl.report.plots import write_plots

        plots = write_plots(report, lengths, out_dir)
    timings["plots"] = time.perf_counter() - t_plots
    report["plots"] = plots
    report["seconds"] = round(time.perf_counter() - t0, 2)
    report["timings_s"] = {k: round(v, 2) for k, v in timings.items()}
    atomic_write_text(out_dir / "report.json", json.dumps(report, indent=2) + "\n")
    md = render_markdown(report)
    if extra_md:
        md = md.rstrip("\n") + "\n" + "\n".join(extra_md)
    atomic_write_text(out_dir / "report.md", md)


def _timing_line(timings: dict[str, float], total: float) -> str:
    return ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()) + f"; {total:.1f} s in all"


def _pool_summary(pool: Counter[str]) -> dict[str, Any]:
    n = pool["contexts"]
    return {
        "contexts": n,
        "mean_pool_docs": round(pool["pool_docs"] / n, 1) if n else None,
        "mean_used_docs": round(pool["used_docs"] / n, 1) if n else None,
        "whole_pool_used_pct": _pct(pool["whole_pool_used"] / n) if n else None,
    }


def ordering_notes(
    strategies: dict[str, Any], tiers: dict[str, Any], pool: dict[str, Any] | None = None
) -> list[str]:
    """Plain statements comparing the measured ordering with the paper's."""
    notes = []
    have = [s for s in PAPER_ORDER if strategies.get(s, {}).get("confusability_pct") is not None]
    vals = {s: strategies[s]["confusability_pct"] for s in have}
    bad = [(a, b) for a, b in zip(have, have[1:], strict=False) if not vals[a] < vals[b]]
    if len(have) < 2:
        notes.append("Too few strategies measured to compare the ordering with the paper.")
    elif not bad:
        notes.append(
            f"Strategy ordering matches the paper: {' < '.join(f'{s} ({vals[s]} %)' for s in have)}."
        )
        for a, b in zip(have, have[1:], strict=False):
            if vals[b] - vals[a] < 1.0:
                notes.append(f"But {a} and {b} are less than one point apart ({vals[a]} % vs {vals[b]} %).")
    else:
        for a, b in bad:
            notes.append(
                f"ORDERING DIFFERS FROM THE PAPER: {a} ({vals[a]} %) is not below {b} ({vals[b]} %); "
                f"the paper has {PAPER_CONFUSABILITY[a]} % < {PAPER_CONFUSABILITY[b]} %."
            )
    if pool and pool.get("whole_pool_used_pct") is not None and pool["whole_pool_used_pct"] >= 50:
        notes.append(
            f"The whole trajectory pool (Tier-1 + Tier-2, {pool['mean_pool_docs']} documents on average) "
            f"fit in the budget in {pool['whole_pool_used_pct']} % of the traj-tiered contexts: there "
            "traj-random and traj-tiered hold the same trajectory documents and the same fill, so tier "
            "priority cannot separate them; the paper's gap needs pools larger than the budget."
        )
    t1, t2 = tiers["tier1"]["pct"], tiers["tier2"]["pct"]
    if t1 is None or t2 is None:
        notes.append("Tier-1 / Tier-2 could not both be measured (no such documents in the sample).")
    elif t1 > t2:
        notes.append(f"Tier-1 ({t1} %) > Tier-2 ({t2} %), as in the paper.")
    else:
        notes.append(f"ORDERING DIFFERS FROM THE PAPER: Tier-1 ({t1} %) is not above Tier-2 ({t2} %).")
    return notes


def _fmt(x: Any, suffix: str = "") -> str:
    return "n/a" if x is None else f"{x}{suffix}"


def _table(head: list[str], align: str, rows: Iterable[Iterable[Any]]) -> list[str]:
    """A markdown table; ``align`` holds one letter a column: ``l`` left, ``r`` right."""

    def line(cells: Iterable[Any]) -> str:
        return "|" + "|".join(f" {c} " if c != "" else " " for c in cells) + "|"

    return [line(head), "|" + "".join("---|" if a == "l" else "---:|" for a in align), *map(line, rows)]


def _md_confusability(r: dict[str, Any]) -> list[str]:
    """Header, confusability per strategy and tier, ordering notes, trajectory pool."""
    lines = [
        "# LongTraceRL difficulty report",
        "",
        f"Run `{r['run']}`, corpus `{r['corpus']}`. {r['measured_questions']} of "
        f"{r['eligible_questions']} questions measured"
        + (
            " (a seeded sample; report.max_questions and report.max_tokens_per_strategy set its size)"
            if r["measured_questions"] < r["eligible_questions"]
            else ""
        )
        + f"; contexts of {r['target_tokens']} tokens ({r['tokenizer']}), fill order {r['fill']}.",
        "",
        "## Confusability (share of distractors containing a gold rubric entity)",
        "",
    ]
    rows = [
        [s, _fmt(v["confusability_pct"], " %"), _fmt(v["paper_pct"], " %"), v["distractors"], v["confusable"]]
        for s, v in r["strategies"].items()
    ]
    for tag, label in (("tier1", "Tier-1 alone (traj-tiered)"), ("tier2", "Tier-2 alone (traj-tiered)")):
        t = r["tiers"][tag]
        paper = f"{t['paper_pct']} %" if tag == "tier1" else f"about {t['paper_pct']:.0f} %"
        rows.append([label, _fmt(t["pct"], " %"), paper, t["distractors"], t["confusable"]])
    lines += _table(["Distractors", "Measured", "Paper", "Distractor docs", "Confusable"], "lrrrr", rows)
    lines += ["", *[f"- {n}" for n in r["ordering"]], ""]
    tp = r.get("trajectory_pool") or {}
    if tp.get("contexts"):
        lines += [
            f"Trajectory pool (traj-tiered): {tp['mean_pool_docs']} Tier-1 + Tier-2 documents per "
            f"question on average, {tp['mean_used_docs']} used; the whole pool fit in "
            f"{tp['whole_pool_used_pct']} % of the contexts.",
            "",
        ]
    return lines


def _md_makeup(r: dict[str, Any]) -> list[str]:
    """Where each strategy's documents came from."""
    rows = []
    for s, v in r["strategies"].items():
        parts = []
        for tag, share in v["doc_share_pct"].items():
            bt = v["by_tag"].get(tag)
            parts.append(f"{tag} {share} %" + (f" (conf. {_fmt(bt['pct'], ' %')})" if bt else ""))
        rows.append([s, _fmt(v["docs_per_context"]), "; ".join(parts)])
    head = ["Strategy", "Docs / context", "Tags (share of documents; confusability per tag)"]
    return ["## Where the documents came from (share of documents per tag)", "", *_table(head, "lrl", rows)]


def _md_retrieval(r: dict[str, Any]) -> list[str]:
    """Gold ranks per strategy and the all-gold-in-top-k table."""
    head = [
        "Strategy",
        "Best gold rank (median)",
        "Best gold rank (mean)",
        "Gold ranked first",
        "Mean rank of all gold",
        "Mean relative rank",
    ]
    rows = [
        [s, _fmt(g["best_median"]), _fmt(g["best_mean"]), _fmt(g["best_is_top1_pct"], " %")]
        + [_fmt(g["all_gold_mean_rank"]), _fmt(g["mean_relative_rank"])]
        for s, g in ((s, v["gold_rank"]) for s, v in r["strategies"].items())
    ]
    lines = [
        "",
        "## Retrieval difficulty (rank of gold pages among the context's documents, BM25 on the question)",
        "",
        *_table(head, "lrrrrr", rows),
    ]
    curves = {s: v["gold_rank"].get("all_gold_in_top_k_pct") or {} for s, v in r["strategies"].items()}
    ks = sorted({int(k) for c in curves.values() for k in c})
    if ks:
        rows = [[s, *(_fmt(c.get(str(k)), " %") for k in ks)] for s, c in curves.items()]
        lines += [
            "",
            "Share of contexts whose gold pages are all among the top k documents:",
            "",
            *_table(["Strategy", *(f"top {k}" for k in ks)], "l" + "r" * len(ks), rows),
        ]
    return lines


def _md_agent(r: dict[str, Any]) -> list[str]:
    """Search agent success per attempt."""
    lines: list[str] = []
    a = r["agent"]
    lines += ["", "## Search agent success", ""]
    if a.get("per_attempt"):
        keep = (a.get("agent_summary") or {}).get("keep")
        lines += [
            f"{a['solved']} of {a['questions_tried']} questions solved."
            + (_keep_line(a["agent_summary"]) if keep else ""),
            "",
        ]
        rows = [
            [k, v["attempts"], v["correct"], _fmt(_pct(v["rate"]), " %")]
            + [_fmt(_pct(a["solved_by_attempt"].get(k)), " %")]
            for k, v in a["per_attempt"].items()
        ]
        lines += _table(
            ["Attempt", "Attempts", "Correct", "Accuracy", "Solved by this attempt"], "rrrrr", rows
        )
    else:
        lines.append("No trajectories found.")
    return lines


def _md_lengths(r: dict[str, Any]) -> list[str]:
    """Context lengths of the run's contexts.jsonl."""
    cl = r["context_lengths"]
    rows = [
        [name, d["n"], *(_fmt(d[k]) for k in ("mean", "min", "p50", "p90", "max"))]
        for name, d in (("tokens", cl["total_tokens"]), ("documents", cl["docs_per_context"]))
    ]
    return [
        "",
        f"## Context lengths ({cl['file']}, strategy {cl['strategy']})",
        "",
        *_table(["", "n", "mean", "min", "median", "p90", "max"], "lrrrrrr", rows),
        "",
        f"Contexts over budget: {cl['over_budget']}.",
        "",
    ]


def render_markdown(r: dict[str, Any]) -> str:
    lines = [*_md_confusability(r), *_md_makeup(r), *_md_retrieval(r), *_md_agent(r), *_md_lengths(r)]
    if r.get("plots"):
        lines += ["## Plots", ""] + [f"![{Path(p).stem}]({Path(p).name})" for p in r["plots"]] + [""]
    lines.append(f"Measured in {r['seconds']} s.")
    return "\n".join(lines) + "\n"
