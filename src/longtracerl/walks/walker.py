"""Controlled random walks with mad-walk jumps (docs/method.md#walks), seeded, resumable.

A *chain* starts at a seed page and walks up to ``segments_per_chain`` segments. A *segment* is up
to ``hops`` pages: from the current page, the candidates are the neighbours that are usable hops
(more than ``min_out_links`` outgoing links, not a ``(disambiguation)`` page, not visited in this
chain, not the current page); up to ``max_candidates`` of them are sampled and the chooser picks
one. A segment ends early at a dead end. With ``require_answerable_end`` the last step only
considers pages that offer an answer (a year, a number or a corpus entity; see
:mod:`longtracerl.textfacts`), and trailing pages without one are trimmed. A segment is
kept (one :class:`~longtracerl.records.Walk`) when it has at least ``min_unique`` unique titles;
otherwise it is rejected with a counted reason (``dead_end`` or ``no_answerable_end``). With
``unique_paths`` a segment whose page sequence equals an earlier kept walk is rejected
(``duplicate_walk``): deterministic choosers on a sparse graph often retrace a path.

Between segments a mad-walk jump takes 2-4 random out-links (any page) and must land on a usable,
unvisited page; after ``jump_retries`` failed tries the next segment restarts from a random
visited page of the chain that still has a usable unvisited neighbour (none: the chain ends). A
chain also ends after ``max_consecutive_rejects`` rejected segments in a row.

Lookahead (``lookahead``, on by default; not in the paper): candidates that have a usable unvisited
neighbour themselves are preferred, and chains start only at such pages. On a sparse graph (the
HotpotQA mention graph) this is the difference between most segments dying in a dead end and most
surviving; see docs/walks.md for the measured survival with and without it.

Reproducibility: chain ``k`` draws every random number from ``numpy.random.default_rng([seed,
k])``, chains run in order, and walk ids are ``s{seed}-c{k}-g{segment}``; so the same seed gives the
same walks, and a run to N walks is the prefix of a run to M > N walks. Resuming: kept walks are
appended with :class:`~longtracerl.records.JsonlAppender`; ``walks.state.json`` records the next
chain to walk; a re-run skips finished chains, re-walks the unfinished one (skipping walk ids
already written) and continues to ``num_walks``.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from longtracerl.config import ConfigError, config_hash
from longtracerl.corpus.graph import LinkGraph
from longtracerl.corpus.store import PageStore
from longtracerl.executor import Executor, ItemTask
from longtracerl.records import (
    Provenance,
    RecordError,
    RejectedItem,
    Walk,
    atomic_write_text,
    read_jsonl,
)
from longtracerl.stage import Stage, StageFiles, StrPath, run_alone
from longtracerl.textfacts import classify_role, has_answer, name_forms, split_sentences
from longtracerl.walks.choosers import Chooser, make_chooser
from longtracerl.walks.config import WalksConfig

if TYPE_CHECKING:
    from longtracerl.llm.base import ChatModel
    from longtracerl.records import Page

log = logging.getLogger(__name__)

WALKS_FILE = "walks.jsonl"
STATE_FILE = "walks.state.json"


def is_disambiguation(title: str) -> bool:
    """``'Mercury (disambiguation)'`` and the like are never hops."""
    return "(disambiguation)" in title.lower()


@dataclass
class WalkStats:
    """Counts of one ``run_walks`` call (kept walks include those already in the file)."""

    kept: int = 0
    new: int = 0
    attempted: int = 0  # segments walked by this call (kept, rejected, or already on file)
    rejected: Counter[str] = field(default_factory=Counter)
    jumps: Counter[str] = field(default_factory=Counter)
    fallbacks: Counter[str] = field(default_factory=Counter)
    chains: int = 0

    def summary(self) -> str:
        rej = ", ".join(f"{k}={v}" for k, v in sorted(self.rejected.items())) or "none"
        jumps = ", ".join(f"{k}={v}" for k, v in sorted(self.jumps.items())) or "none"
        fb = ", ".join(f"{k}={v}" for k, v in sorted(self.fallbacks.items())) or "none"
        kept_here = self.attempted - sum(self.rejected.values())
        survival = f"{100 * kept_here / self.attempted:.1f}%" if self.attempted else "n/a"
        return (
            f"walks: {self.kept} kept ({self.new} new) over {self.chains} chains; "
            f"segment survival {survival} ({kept_here}/{self.attempted}); "
            f"rejected segments: {rej}; jumps: {jumps}; chooser fallbacks: {fb}"
        )


@dataclass
class Segment:
    walk_id: str
    pages: list[int]
    reason: str | None  # None = kept
    detail: str = ""


class Walker:
    """The walk engine over a page store and a link graph (pure: no file output)."""

    def __init__(self, store: PageStore, graph: LinkGraph, cfg: WalksConfig, chooser: Chooser):
        if graph.num_pages != len(store):
            raise ConfigError(
                f"link graph has {graph.num_pages} pages but the page store has {len(store)}: "
                "rebuild graph.npz for this corpus"
            )
        self.store, self.graph, self.cfg, self.chooser = store, graph, cfg, chooser
        self.titles = store.titles()
        disamb = np.fromiter((is_disambiguation(t) for t in self.titles), dtype=bool, count=len(self.titles))
        self.usable = (graph.out_degree() > cfg.min_out_links) & ~disamb
        self.seed_pool = self._seed_pool()
        self._answerable: dict[int, bool] = {}
        self._pages: dict[int, Page] = {}
        self.fallbacks: Counter[str] = Counter()

    def _seed_pool(self) -> np.ndarray:
        cfg = self.cfg
        if cfg.seed_titles:
            out = []
            for name in cfg.seed_titles:
                pid = name if name in self.store else self.store.find_title(name)
                if pid is None:
                    raise ConfigError(f"seed_titles: {name!r} is neither a page id nor a title of the corpus")
                out.append(self.store.index_of(pid))
            return np.asarray(out, dtype=np.int64)
        mask = self.usable.copy()
        if cfg.min_seed_in_degree:
            mask &= self.graph.in_degree() >= cfg.min_seed_in_degree
        pool = np.flatnonzero(mask)
        if cfg.lookahead:
            viable = [int(i) for i in pool if self.has_onward(int(i), set(), int(i))]
            pool = np.asarray(viable, dtype=np.int64) if viable else pool
        if len(pool) == 0:
            raise ConfigError(
                f"no usable seed page: no page has more than min_out_links={cfg.min_out_links} links"
                + (f" and in-degree >= {cfg.min_seed_in_degree}" if cfg.min_seed_in_degree else "")
            )
        return pool

    # -- pages ---------------------------------------------------------------------------
    def page(self, idx: int) -> Page:
        p = self._pages.get(idx)
        if p is None:
            if len(self._pages) > 50_000:
                self._pages.clear()
            p = self._pages[idx] = self.store.by_index(idx)
        return p

    def answerable(self, idx: int) -> bool:
        """Can the masked composer draw an answer from this page (year, number, entity)?"""
        ok = self._answerable.get(idx)
        if ok is None:
            page = self.page(idx)
            sents = split_sentences(page.text)
            role = classify_role(sents[0]) if sents else "topic"
            ok = has_answer(page.text, name_forms(page.title, role), self.store.find_title)
            self._answerable[idx] = ok
        return ok

    # -- one step ------------------------------------------------------------------------
    def candidates(
        self,
        current: int,
        visited: set[int],
        rng: np.random.Generator,
        *,
        onward: bool = False,
        answerable: bool = False,
    ) -> list[int]:
        """Usable, unvisited neighbours of ``current`` (not itself), up to ``max_candidates``, sampled.

        ``answerable`` keeps only pages that offer an answer (the last step); ``onward`` prefers
        pages that have a usable unvisited neighbour themselves (lookahead; ignored when no
        candidate has one).
        """
        nb = self.graph.neighbors(current)
        pool = [int(j) for j in nb[self.usable[nb]] if j != current and int(j) not in visited]
        if answerable:
            pool = [j for j in pool if self.answerable(j)]
        if onward and pool:
            ahead = [j for j in pool if self.has_onward(j, visited, current)]
            pool = ahead or pool
        k = self.cfg.max_candidates
        if len(pool) > k:
            pick = rng.choice(len(pool), size=k, replace=False)
            pool = [pool[i] for i in pick]
        else:
            pool = [pool[i] for i in rng.permutation(len(pool))]
        return pool

    def has_onward(self, idx: int, visited: set[int], current: int) -> bool:
        """Does ``idx`` have a usable neighbour that is neither visited nor ``current``?"""
        nb = self.graph.neighbors(idx)
        return any(int(j) != current and int(j) != idx and int(j) not in visited for j in nb[self.usable[nb]])

    def segment(
        self, entry: int, visited: set[int], rng: np.random.Generator
    ) -> tuple[list[int], str | None]:
        """Walk one segment from ``entry``; returns (pages, rejection reason or None)."""
        cfg = self.cfg
        pages = [entry]
        visited.add(entry)
        dead_end = False
        while len(pages) < cfg.hops:
            last_step = len(pages) == cfg.hops - 1
            cands = self.candidates(
                pages[-1],
                visited,
                rng,
                onward=cfg.lookahead and not last_step,
                answerable=cfg.require_answerable_end and last_step,
            )
            if not cands:
                dead_end = True
                break
            choice = self.chooser.choose(self.page(pages[-1]), [self.page(c) for c in cands])
            if choice.fallback:
                self.fallbacks[choice.fallback] += 1
            nxt = cands[choice.index if 0 <= choice.index < len(cands) else 0]
            pages.append(nxt)
            visited.add(nxt)
        min_unique = cfg.effective_min_unique
        if len({self.titles[i] for i in pages}) < min_unique:
            return pages, "dead_end" if dead_end else "duplicate_titles"
        if cfg.require_answerable_end:
            kept = list(pages)
            while kept and not self.answerable(kept[-1]):
                kept.pop()
            if len({self.titles[i] for i in kept}) < min_unique:
                return pages, "no_answerable_end"
            pages = kept
        return pages, None

    def jump(self, start: int, visited: set[int], rng: np.random.Generator) -> int | None:
        """Mad-walk jump: 2-4 random out-links to a usable, unvisited page; None after the retries."""
        cfg = self.cfg
        for _ in range(cfg.jump_retries):
            node = start
            for _ in range(int(rng.integers(cfg.jump_min, cfg.jump_max + 1))):
                nb = self.graph.neighbors(node)
                if len(nb) == 0:
                    break
                node = int(nb[int(rng.integers(len(nb)))])
            else:
                if self.usable[node] and node not in visited:
                    return node
        return None

    # -- one chain -----------------------------------------------------------------------
    def chain(self, k: int, jumps: Counter[str] | None = None) -> Iterator[Segment]:
        """All segments of chain ``k`` (kept and rejected), deterministic given (seed, k)."""
        cfg = self.cfg
        jumps = jumps if jumps is not None else Counter()
        rng = np.random.default_rng([cfg.seed, k])
        entry = int(self.seed_pool[int(rng.integers(len(self.seed_pool)))])
        visited: set[int] = set()
        order: list[int] = []  # segment pages in visiting order (deterministic restart choice)
        seen: set[int] = set()
        rejects_in_row = 0
        for g in range(cfg.segments_per_chain):
            pages, reason = self.segment(entry, visited, rng)
            for p in pages:
                if p not in seen:
                    seen.add(p)
                    order.append(p)
            yield Segment(f"s{cfg.seed}-c{k:06d}-g{g:02d}", pages, reason)
            rejects_in_row = rejects_in_row + 1 if reason else 0
            if rejects_in_row >= cfg.max_consecutive_rejects or g == cfg.segments_per_chain - 1:
                return
            nxt = self.jump(pages[-1], visited, rng)
            if nxt is None:
                # restart from a visited page that can still move on; none left: the chain ends
                alive = [p for p in order if self.has_onward(p, visited, p)]
                if not alive:
                    jumps["chain_exhausted"] += 1
                    return
                jumps["restart_from_visited"] += 1
                entry = alive[int(rng.integers(len(alive)))]
                visited.discard(entry)  # re-entering a visited page is the documented restart
            else:
                jumps["jumped"] += 1
                entry = nxt


@dataclass
class ChainResult:
    """What one chain gives the driver: its segments as page ids and titles, and its counters."""

    segments: list[tuple[str, list[str], list[str], str | None]]  # (walk id, page ids, titles, reason)
    jumps: Counter[str]
    fallbacks: Counter[str]
    chooser: str


class ChainTask(ItemTask):
    """Executor work of the walks stage: chain index ``k`` -> :class:`ChainResult`.

    Each worker opens the page store and the link graph itself; ``chat_model`` (an object) is
    used in-process only, workers build theirs from ``cfg.llm``.
    """

    name = "walks"
    local_fields = ("walker", "chat_model")

    def __init__(self, cfg: WalksConfig, corpus: str | os.PathLike, chat_model: ChatModel | None = None):
        self.cfg, self.corpus, self.chat_model = cfg, str(corpus), chat_model
        self.walker: Walker | None = None

    def setup(self) -> None:
        store = PageStore(self.corpus)
        graph = LinkGraph.load(self.corpus)
        self.walker = Walker(store, graph, self.cfg, make_chooser(self.cfg, store, self.chat_model))

    def run(self, k: int) -> ChainResult:
        walker = self.walker
        assert walker is not None
        jumps: Counter[str] = Counter()
        before = Counter(walker.fallbacks)
        segments = [
            (
                seg.walk_id,
                [walker.store.id_of(i) for i in seg.pages],
                [walker.titles[i] for i in seg.pages],
                seg.reason,
            )
            for seg in walker.chain(k, jumps)
        ]
        fallbacks = Counter(walker.fallbacks)
        fallbacks.subtract(before)
        return ChainResult(segments, jumps, +fallbacks, walker.chooser.name)


class WalksStage(Stage):
    """The walks stage (:func:`~longtracerl.stage.run_stage` drives it): chains ``k = 0, 1, ...``
    until ``RUN/walks.jsonl`` holds ``cfg.num_walks`` walks; ``walks.state.json`` keeps the next
    chain and the chains that failed (walked again first)."""

    name = "walks"
    output = WALKS_FILE
    output_key = "walk_id"

    def __init__(
        self, cfg: WalksConfig, corpus: StrPath, run: StrPath, *, chat_model: ChatModel | None = None
    ):
        super().__init__(cfg, corpus, run)
        self.chat_model = chat_model
        self.chash = config_hash(cfg.model_copy(update={"num_walks": 0}))
        self.stats = WalkStats()
        self.attempted = 0
        self.max_segments = cfg.num_walks * cfg.max_segments_factor
        self.seen_paths: set[tuple[str, ...]] = set()

    def prepare(self) -> None:
        self.guard()  # names the setting that differs; the corpus too
        state = {"config_hash": self.chash, "next_chain": 0}
        path = self.run / STATE_FILE
        if path.exists():
            try:
                state = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as err:
                raise RecordError(path, None, None, f"malformed JSON: {err.msg}") from None
            if state.get("config_hash") != self.chash:
                raise ConfigError(
                    f"{self.run / WALKS_FILE} was made with another walks config (hash "
                    f"{state.get('config_hash')}, now {self.chash}): use a new run folder, or the same "
                    "config (only num_walks may change)"
                )
        self.resume = int(state.get("next_chain", 0))
        # chains that failed in an earlier run (an LLM endpoint down, ...) are walked again first
        self.retry = sorted({int(k) for k in state.get("failed_chains", [])})
        self.failed_chains = set(self.retry)

    def items(self, files: StageFiles) -> Iterator[int]:
        self.stats.kept = len(files.out.done)
        if self.cfg.unique_paths and files.out.done:
            self.seen_paths = {tuple(w.page_ids) for w in read_jsonl(self.run / WALKS_FILE, Walk)}
        return itertools.chain(self.retry, itertools.count(self.resume))

    def task(self, executor: Executor) -> ChainTask:
        return ChainTask(self.cfg, self.corpus, self.chat_model)

    def item_id(self, k: int) -> str:
        return f"s{self.cfg.seed}-c{k:06d}"

    def progress_bar(self) -> dict[str, Any]:
        initial = min(self.stats.kept, self.cfg.num_walks)
        return {"total": self.cfg.num_walks, "initial": initial, "desc": "walks", "unit": "walk"}

    def full(self) -> bool:
        return self.stats.kept >= self.cfg.num_walks or self.attempted >= self.max_segments

    def take(self, k: int, res: ChainResult, files: StageFiles) -> int:
        self.stats.jumps.update(res.jumps)
        self.stats.fallbacks.update(res.fallbacks)
        new = 0
        for walk_id, page_ids, titles, reason in res.segments:
            self.attempted += 1
            if walk_id in files.out.done:
                continue
            if reason is None and self.cfg.unique_paths:
                if tuple(page_ids) in self.seen_paths:
                    reason = "duplicate_walk"
                else:
                    self.seen_paths.add(tuple(page_ids))
            if reason is not None:
                self._reject(walk_id, reason, titles, files)
                continue
            files.out.write(self._walk(walk_id, page_ids, titles, res.chooser))
            self.stats.kept += 1
            self.stats.new += 1
            new += 1
            if self.stats.kept >= self.cfg.num_walks:
                return new  # reached num_walks inside chain k: it stays the resume point
        self._chain_done(k, ok=True)
        return new

    def failed(self, k: int) -> int:
        self.attempted += 1
        self.stats.rejected["error"] += 1
        self._chain_done(k, ok=False)
        return 0

    def _reject(self, walk_id: str, reason: str, titles: list[str], files: StageFiles) -> None:
        self.stats.rejected[reason] += 1
        assert files.rejected is not None
        if walk_id not in files.rejected.done:
            detail = " -> ".join(titles)
            files.rejected.write(RejectedItem(item_id=walk_id, stage="walks", reason=reason, detail=detail))

    def _walk(self, walk_id: str, page_ids: list[str], titles: list[str], chooser: str) -> Walk:
        prov = Provenance(
            stage="walks",
            seed=self.cfg.seed,
            config_hash=self.chash,
            producer=f"chooser={chooser}",
            producers={"walks": chooser},
        )
        return Walk(walk_id=walk_id, page_ids=page_ids, titles=titles, provenance=prov)

    def _chain_done(self, k: int, ok: bool) -> None:
        if ok:
            self.failed_chains.discard(k)
        else:
            self.failed_chains.add(k)
        self.resume = max(self.resume, k + 1)
        self.stats.chains += 1
        self.settle()

    def settle(self) -> None:
        saved: dict[str, Any] = {"config_hash": self.chash, "next_chain": self.resume}
        if self.failed_chains:
            saved["failed_chains"] = sorted(self.failed_chains)
        atomic_write_text(self.run / STATE_FILE, json.dumps(saved))

    def close(self) -> None:
        self.stats.attempted = self.attempted

    def summary(self) -> WalkStats:
        cfg = self.cfg
        if self.stats.kept < cfg.num_walks:
            log.warning(
                "walks: stopped at %d of %d walks after %d attempted segments (max_segments_factor=%d)",
                self.stats.kept,
                cfg.num_walks,
                self.attempted,
                cfg.max_segments_factor,
            )
        return self.stats


def run_walks(
    cfg: WalksConfig, corpus: str | os.PathLike, run: str | os.PathLike, **options: Any
) -> WalkStats:
    """Walk until ``RUN/walks.jsonl`` holds ``cfg.num_walks`` walks (resuming a previous run).

    Writes kept segments to ``walks.jsonl``, rejected ones to ``walks.rejected.jsonl`` (with the
    reason) and the resume point to ``walks.state.json``. ``num_walks`` is not part of the config
    hash, so raising it continues the same sequence; any other change is refused on resume.
    Chains run on ``executor`` (default: in this process) and are read back in chain order, so
    the walks are the same on any executor; a chain that fails is listed in ``walks.errors.jsonl``
    and in the state's ``failed_chains``, and the next run walks it again first.

    ``options``: ``progress=True``, ``executor=None`` and :class:`WalksStage`'s ``chat_model``
    (a ready chooser model, in-process only).
    """
    return run_alone(WalksStage, cfg, corpus, run, **options)
