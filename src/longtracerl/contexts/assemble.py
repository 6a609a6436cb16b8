"""Context assembly (docs/method.md#distractor-tiers-and-contexts): gold pages + distractors up to a token budget, then shuffled.

Per question, from its first correct trajectory: gold = the path pages (never distractors);
Tier-1 = opened but not cited; Tier-2 = shown in results, never opened. Each strategy (traj-tiered,
traj-random, one-shot-search, random) adds its own pool, then ``cfg.fill``, as long as the whole
user message stays within ``target_tokens``; gold pages are truncated only when they alone
overflow. The assembly rules and token counting: docs/contexts.md.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from longtracerl.config import ConfigError, config_hash
from longtracerl.contexts.config import ContextsConfig
from longtracerl.contexts.prompt import (
    INSTRUCTIONS,
    PROMPT_FORMAT_VERSION,
    PromptCoster,
    choose_instruction,
    render_doc,
    render_prompt,
    stable_seed,
)
from longtracerl.contexts.tokenizer import TokenCounter
from longtracerl.records import Context, ContextDoc, Page, Provenance, Question, Trajectory

if TYPE_CHECKING:
    from longtracerl.corpus.store import PageStore
    from longtracerl.search.base import Retriever


log = logging.getLogger(__name__)


class ContextRejected(Exception):
    """A question cannot get a context; ``reason`` is a short counted key."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


# --------------------------------------------------------------------------- tiers


@dataclass
class Tiers:
    gold: list[str]
    tier1: list[str]
    tier2: list[str]
    cited_other: list[str] = field(default_factory=list)


def _dedup(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def derive_tiers(traj: Trajectory, gold_ids: Sequence[str]) -> Tiers:
    """Tier-1 = opened, not cited, not gold; Tier-2 = seen, never opened, not gold.

    Example:
        >>> from longtracerl.records import Trajectory, Provenance
        >>> t = Trajectory(question_id="q", attempt=1, policy="p", provenance=Provenance(stage="agent"),
        ...                seen_ids=["g1", "a", "b", "c"], opened_ids=["g1", "a", "c"], cited_ids=["g1", "c"])
        >>> tiers = derive_tiers(t, ["g1", "g2"])
        >>> tiers.tier1, tiers.tier2, tiers.cited_other
        (['a'], ['b'], ['c'])
    """
    gold = set(gold_ids)
    opened = _dedup(traj.opened_ids)
    opened_set, cited = set(opened), set(traj.cited_ids)
    tier1 = [p for p in opened if p not in cited and p not in gold]
    tier2 = [p for p in _dedup(traj.seen_ids) if p not in opened_set and p not in gold]
    cited_other = [p for p in _dedup(traj.cited_ids) if p not in gold]
    return Tiers(gold=_dedup(gold_ids), tier1=tier1, tier2=tier2, cited_other=cited_other)


def first_correct(trajectories: Iterable[Trajectory]) -> Trajectory | None:
    """The correct trajectory with the lowest attempt number; else the first one that opened every
    gold page (marked only under the agent's ``keep=gold_opened``, docs/agent.md); or None."""
    best = fallback = None
    for t in trajectories:
        if t.correct and (best is None or t.attempt < best.attempt):
            best = t
        elif not t.correct and t.gold_opened and (fallback is None or t.attempt < fallback.attempt):
            fallback = t
    return best or fallback


def fetch_pages(store: PageStore, ids: list[str]) -> dict[str, Any]:
    """Title and text of pages, without building full Page records when the store allows it."""
    fast = getattr(store, "titles_texts", None)
    if fast is not None:
        return {pid: _PageText(title, text) for pid, (title, text) in fast(ids).items()}
    return store.get_many(ids)


class _PageText:
    __slots__ = ("title", "text")

    def __init__(self, title: str, text: str):
        self.title, self.text = title, text


# --------------------------------------------------------------------------- per-page token cache


DOC_TOKEN_FILES_KEPT = 32  # token-count files kept in the user cache: the most recently used


class DocTokenCache:
    """Title and block token count of each page, computed once per run in batches.

    Saved as JSON in the user cache (``~/.cache/longtracerl/doc_tokens/<key>.json``, see
    :func:`cache_path`) so re-runs, other runs over the same corpus and the report do not tokenise
    again; the key covers the tokenizer, the prompt format and the page store file. A save keeps
    the ``DOC_TOKEN_FILES_KEPT`` most recently used files of that folder.
    """

    def __init__(self, store: PageStore, tok: TokenCounter, path: Path | None = None):
        self.store = store
        self.tok = tok
        self.path = path
        self.title: dict[str, str] = {}
        self.ntok: dict[str, int] = {}
        self.missing: set[str] = set()
        self._dirty = 0
        self._new: list[str] = []  # ids counted since the last take_new()
        if path is not None and path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                for pid, (title, n) in data.items():
                    self.title[pid], self.ntok[pid] = title, int(n)
                with contextlib.suppress(OSError):  # a read-only cache is still read
                    os.utime(path)  # used now: kept by the pruning of save()
            except (ValueError, TypeError) as err:
                log.warning("ignoring unreadable token cache %s (%s)", path, err)

    @staticmethod
    def key_for(store: PageStore, tok: TokenCounter) -> str:
        st_path = getattr(store, "path", None)
        parts: list[object] = [tok.fingerprint, PROMPT_FORMAT_VERSION]
        if st_path is not None and Path(st_path).exists():
            st = Path(st_path).stat()
            parts += [Path(st_path).resolve(), st.st_size, st.st_mtime_ns]
        return f"{stable_seed(*parts):016x}"

    def ensure(self, ids: Iterable[str]) -> None:
        todo = [p for p in dict.fromkeys(ids) if p not in self.ntok and p not in self.missing]
        for i in range(0, len(todo), 2000):
            chunk = todo[i : i + 2000]
            pages = fetch_pages(self.store, chunk)
            found = [p for p in chunk if p in pages]
            self.missing.update(p for p in chunk if p not in pages)
            counts = self.tok.count_batch([render_doc(pages[p].title, pages[p].text) for p in found])
            for p, n in zip(found, counts, strict=True):
                self.title[p], self.ntok[p] = pages[p].title, n
            self._dirty += len(found)
            self._new.extend(found)

    def take_new(self) -> dict[str, tuple[str, int]]:
        """``{page id: (title, tokens)}`` counted since the last call (a worker hands them back)."""
        new = {p: (self.title[p], self.ntok[p]) for p in self._new}
        self._new = []
        return new

    def merge(self, entries: dict[str, tuple[str, int]]) -> None:
        """Add counts made elsewhere (by executor workers), to be saved with :meth:`save`."""
        for p, (title, n) in entries.items():
            if p not in self.ntok:
                self.title[p], self.ntok[p] = title, int(n)
                self._dirty += 1

    def save(self) -> None:
        if self.path is None or not self._dirty:
            return
        from longtracerl.records import atomic_write_text

        data = {p: [self.title[p], n] for p, n in self.ntok.items()}
        atomic_write_text(self.path, json.dumps(data, ensure_ascii=False, separators=(",", ":")))
        self._dirty = 0
        _keep_recent(self.path.parent, DOC_TOKEN_FILES_KEPT)


def _keep_recent(folder: Path, keep: int) -> None:
    """Delete all but the ``keep`` most recently modified ``*.json`` files of ``folder``."""
    dated = []
    for f in folder.glob("*.json"):
        try:
            dated.append((f.stat().st_mtime_ns, f))
        except OSError:  # removed meanwhile by another run
            continue
    for _, f in sorted(dated, reverse=True)[keep:]:
        with contextlib.suppress(OSError):
            f.unlink()


# --------------------------------------------------------------------------- the builder

Candidate = tuple[str, str]  # (page id, tag)
Source = Callable[[int], Iterator[list[Candidate]]]  # remaining tokens -> batches of candidates

# Sources hand out candidates in batches of at most this many: the builder counts the tokens of a
# batch before placing its pages, so a context that fills up mid-batch has counted at most this
# many pages it does not use (the report assembles three strategies on pages no stage counted)
CANDIDATE_BATCH = 64


def _batches(candidates: list[Candidate]) -> Iterator[list[Candidate]]:
    for j in range(0, len(candidates), CANDIDATE_BATCH):
        yield candidates[j : j + CANDIDATE_BATCH]


def doc_text(page: Page, doc: ContextDoc) -> str:
    """The page text as it goes into the prompt (cut to ``text_chars`` when truncated)."""
    text = page.text.strip()
    if doc.truncated and doc.text_chars is not None:
        text = text[: doc.text_chars]
    return text


def render_context(context: Context, question: str, pages: dict[str, Page]) -> str:
    """The user message of a context (pages: the store's pages of the context's docs)."""
    instruction = INSTRUCTIONS[context.instruction_id or 0]
    blocks = []
    for d in context.docs:
        page = pages.get(d.page_id)
        if page is None:
            raise ConfigError(f"context of {context.question_id}: page {d.page_id!r} is not in the store")
        blocks.append(render_doc(page.title, doc_text(page, d)))
    return render_prompt(instruction, blocks, question)


class ContextBuilder:
    """Assembles :class:`Context` records for any strategy (the stage and the report use it).

    ``retriever`` is needed by the search-based sources only.
    """

    def __init__(
        self,
        store: PageStore,
        tok: TokenCounter,
        cfg: ContextsConfig,
        *,
        retriever: Retriever | None = None,
        cache: DocTokenCache | None = None,
    ):
        self.store = store
        self.tok = tok
        self.cfg = cfg
        self.retriever = retriever
        self.cache = cache or DocTokenCache(store, tok)
        self.coster = PromptCoster(tok)
        self.cfg_hash = config_hash(cfg)
        self._all_ids: list[str] | None = None
        self._page_estimate: float | None = None
        self._built = 0
        # spot checks of additive counts (first 4, every 200th); the report, which measures
        # contexts and never exports them, turns them off (the contexts stage made them already)
        self.spot_checks = True
        self.verified = 0
        self.repaired = 0
        self.missing_skipped = 0
        self.min_block = tok.count(render_doc("A", "x"))
        if not self.coster.additive:
            log.warning(
                "tokenizer %s is not additive over the prompt layout: every prompt is counted exactly",
                tok.name,
            )

    def page_tokens_estimate(self) -> float:
        """Mean block tokens of up to 512 evenly spaced corpus pages (sizes search k and random batches).

        Depends only on the corpus and the tokenizer (never on what the cache happens to hold), so
        contexts are the same whether the run starts cold or warm.
        """
        if self._page_estimate is None:
            if self._all_ids is None:
                self._all_ids = list(self.store.ids())
            ids = self._all_ids
            step = max(1, len(ids) // 512)
            sample = ids[::step][:512]
            self.cache.ensure(sample)
            counts = [self.cache.ntok[p] for p in sample if p in self.cache.ntok]
            self._page_estimate = max(1.0, sum(counts) / len(counts)) if counts else 150.0
        return self._page_estimate

    # -- sources -----------------------------------------------------------------------
    def _list_source(self, ids: Sequence[str], tag: str) -> Source:
        def gen(_remaining: int) -> Iterator[list[Candidate]]:
            yield from _batches([(p, tag) for p in ids])

        return gen

    def _auto_k(self, remaining: int, n_queries: int, fixed: int) -> int:
        if fixed:
            return min(fixed, self.cfg.max_search_k)
        need = remaining / self.page_tokens_estimate()
        return int(min(self.cfg.max_search_k, max(20, math.ceil(1.5 * need / max(1, n_queries)))))

    def _search(self, query: str, k: int) -> list[str]:
        if self.retriever is None:
            raise ConfigError("a search-based strategy or fill needs a retriever (the corpus search index)")
        if not query.strip():
            return []
        # fast path of the BM25 retriever: ranked pages without building snippets
        # fast path of longtracerl.search.index.BM25Retriever: ranked ids, no page loading or snippets
        ranked = getattr(self.retriever, "_ranked", None)
        if ranked is not None:
            return [pid for pid, _score in ranked(query, k)]
        return [h.page_id for h in self.retriever.search(query, k)]

    def _search_source(self, queries: Sequence[str], tag: str, fixed_k: int) -> Source:
        def gen(remaining: int) -> Iterator[list[Candidate]]:
            qs = [q for q in dict.fromkeys(queries) if q and q.strip()]
            if not qs:
                return
            k = self._auto_k(remaining, len(qs), fixed_k)
            given: set[str] = set()
            while True:
                lists = [self._search(q, k) for q in qs]
                merged: list[str] = []
                for i in range(max((len(x) for x in lists), default=0)):
                    merged.extend(x[i] for x in lists if i < len(x) and x[i] not in given)
                merged = list(dict.fromkeys(merged))
                if not merged:
                    return
                given.update(merged)
                yield from _batches([(p, tag) for p in merged])
                # auto k: the first k hits may already be in the context (the trajectory searched
                # the same entities), so page deeper while the searches still have more
                if fixed_k or k >= self.cfg.max_search_k or all(len(x) < k for x in lists):
                    return
                k = min(self.cfg.max_search_k, 2 * k)

        return gen

    def _random_source(self, rng: random.Random, tag: str) -> Source:
        """Pages drawn uniformly without replacement, lazily (cost grows with pages drawn only)."""

        def gen(remaining: int) -> Iterator[list[Candidate]]:
            if self._all_ids is None:
                self._all_ids = list(self.store.ids())
            ids = self._all_ids
            n = len(ids)
            drawn: set[int] = set()
            step = max(64, int(1.5 * remaining / self.page_tokens_estimate()))
            while len(drawn) < n:
                batch = []
                if len(drawn) > n // 2:  # dense: finish with the rest in a shuffled order
                    rest = [i for i in range(n) if i not in drawn]
                    rng.shuffle(rest)
                    drawn.update(rest)
                    batch = rest
                else:
                    while len(batch) < step and len(drawn) < n:
                        i = rng.randrange(n)
                        if i not in drawn:
                            drawn.add(i)
                            batch.append(i)
                yield from _batches([(ids[i], tag) for i in batch])

        return gen

    def _fill_sources(self, q: Question, rng: random.Random) -> list[Source]:
        out: list[Source] = []
        for name in self.cfg.fill:
            if name == "search":
                out.append(
                    self._search_source([q.question, *q.label.rubrics], "fill-search", self.cfg.fill_search_k)
                )
            elif name == "random":
                out.append(self._random_source(rng, "fill-random"))
        return out

    def sources(
        self, strategy: str, q: Question, traj: Trajectory | None, tiers: Tiers | None, rng: random.Random
    ) -> list[Source]:
        if strategy == "traj-tiered":
            assert tiers is not None
            return [
                self._list_source(tiers.tier1, "tier1"),
                self._list_source(tiers.tier2, "tier2"),
                *self._fill_sources(q, rng),
            ]
        if strategy == "traj-random":
            assert traj is not None
            gold = set(q.label.gold_page_ids)
            pool = [p for p in _dedup([*traj.opened_ids, *traj.seen_ids]) if p not in gold]
            rng.shuffle(pool)
            return [self._list_source(pool, "traj"), *self._fill_sources(q, rng)]
        if strategy == "one-shot-search":
            return [
                self._search_source([q.question], "one-shot-search", self.cfg.one_shot_k),
                *self._fill_sources(q, rng),
            ]
        if strategy == "random":
            return [self._random_source(rng, "random")]
        raise ConfigError(f"unknown strategy '{strategy}'")

    # -- assembly ----------------------------------------------------------------------
    def build(self, q: Question, traj: Trajectory | None, strategy: str | None = None) -> Context:
        """One context; raises :class:`ContextRejected` when the question cannot get one.

        The gold pages first (truncated when they do not fit), then pages from the strategy's
        sources in order until the budget is full, shuffled, with the token count checked.
        """
        strategy = strategy or self.cfg.strategy
        gold_ids, tiers = self._gold_ids_and_tiers(q, traj, strategy)
        instr_id = choose_instruction(self.cfg.seed, q.question_id)
        fixed = self.coster.prefix_cost(INSTRUCTIONS[instr_id]) + self.coster.suffix_cost(q.question)
        budget = self.cfg.target_tokens
        docs = self._gold_docs(gold_ids, budget - fixed, q.question_id)
        remaining = budget - fixed - (sum(d.n_tokens for d in docs) + (len(docs) - 1) * self.coster.sep)
        rng = random.Random(stable_seed(self.cfg.seed, q.question_id, strategy, "pool"))
        remaining = self._fill(docs, remaining, self.sources(strategy, q, traj, tiers, rng))

        order = list(range(len(docs)))
        random.Random(stable_seed(self.cfg.seed, q.question_id, strategy, "shuffle")).shuffle(order)
        added = list(docs)  # addition order, for repairs
        docs = [docs[i] for i in order]
        total = self._verify(q, instr_id, docs, added, budget - remaining)
        self._built += 1
        return Context(
            question_id=q.question_id,
            strategy=strategy,
            docs=docs,
            target_tokens=budget,
            total_tokens=total,
            tokenizer=f"{self.tok.name}#{self.tok.fingerprint}",
            instruction_id=instr_id,
            provenance=Provenance(
                stage="contexts",
                seed=self.cfg.seed,
                config_hash=self.cfg_hash,
                source_ids=[q.question_id] + ([f"{traj.question_id}#attempt{traj.attempt}"] if traj else []),
                producer=strategy,
                producers={
                    **q.provenance.producers,
                    **(traj.provenance.producers if traj else {}),
                    "contexts": strategy,
                },
            ),
        )

    def _gold_ids_and_tiers(
        self, q: Question, traj: Trajectory | None, strategy: str
    ) -> tuple[list[str], Tiers | None]:
        """The question's gold page ids (all in the store) and, for a ``traj-*`` strategy, the tiers."""
        gold_ids = _dedup(q.label.gold_page_ids)
        if not gold_ids:
            raise ContextRejected("no_gold_pages", "label.gold_page_ids is empty")
        if self.cfg.require_rubrics and not q.label.rubrics:
            raise ContextRejected("no_rubrics", "label.rubrics is empty")
        tiers = None
        if strategy.startswith("traj"):
            if traj is None:
                raise ContextRejected("no_correct_trajectory")
            tiers = derive_tiers(traj, gold_ids)
        self.cache.ensure(gold_ids)
        lost = [p for p in gold_ids if p in self.cache.missing]
        if lost:
            raise ContextRejected("gold_page_missing", f"gold page ids not in the store: {lost}")
        return gold_ids, tiers

    def _gold_docs(self, gold_ids: list[str], avail: int, qid: str) -> list[ContextDoc]:
        """The gold pages, whole when they and their separators fit in ``avail`` tokens, else truncated."""
        seps = (len(gold_ids) - 1) * self.coster.sep
        if sum(self.cache.ntok[p] for p in gold_ids) + seps <= avail:
            return [
                ContextDoc(page_id=p, title=self.cache.title[p], tag="gold", n_tokens=self.cache.ntok[p])
                for p in gold_ids
            ]
        return self._truncate_gold(gold_ids, avail - seps, qid)

    def _fill(self, docs: list[ContextDoc], remaining: int, sources: list[Source]) -> int:
        """Append pages from ``sources`` in order to ``docs`` while they fit in ``remaining`` tokens.

        Stops when no further page block can fit, or after ``max_consecutive_skips`` pages in a row
        that did not fit. Returns the tokens left.
        """
        sep = self.coster.sep
        taken = {d.page_id for d in docs}
        skips = 0
        if remaining < self.min_block + sep:
            return remaining
        for source in sources:
            for batch in source(remaining):
                batch = [(p, t) for p, t in batch if p not in taken]
                self.cache.ensure(p for p, _ in batch)
                for pid, tag in batch:
                    if pid in taken or self._skip_missing(pid, tag):
                        continue
                    cost = self.cache.ntok[pid] + sep
                    if cost > remaining:
                        skips += 1
                        if skips >= self.cfg.max_consecutive_skips:
                            return remaining
                        continue
                    docs.append(
                        ContextDoc(page_id=pid, title=self.cache.title[pid], tag=tag, n_tokens=cost - sep)
                    )
                    taken.add(pid)
                    remaining -= cost
                    skips = 0
                    if remaining < self.min_block + sep:
                        return remaining
        return remaining

    def _skip_missing(self, pid: str, tag: str) -> bool:
        """True (counted) for a page id missing from the store; an error with ``missing_pages=error``."""
        if pid not in self.cache.missing:
            return False
        if self.cfg.missing_pages == "error":
            raise ContextRejected("page_missing", f"page id {pid!r} ({tag}) is not in the store")
        self.missing_skipped += 1
        return True

    def _truncate_gold(self, gold_ids: list[str], avail: int, qid: str) -> list[ContextDoc]:
        pages = self.store.get_many(gold_ids)
        wrappers = {p: self.tok.count(render_doc(pages[p].title, "")) for p in gold_ids}
        text_avail = avail - sum(wrappers.values())
        if text_avail < len(gold_ids):
            raise ContextRejected(
                "budget_too_small",
                f"target_tokens cannot hold the prompt and the {len(gold_ids)} gold page(s)",
            )
        texts = {p: pages[p].text.strip() for p in gold_ids}
        lens = dict(zip(gold_ids, self.tok.count_batch([texts[p] for p in gold_ids]), strict=True))
        # water-filling: the shortest pages stay whole, the rest share what is left equally
        share, left, rest = 0, text_avail, sorted(gold_ids, key=lambda p: lens[p])
        while rest:
            share = left // len(rest)
            if lens[rest[0]] <= share:
                left -= lens[rest[0]]
                rest.pop(0)
            else:
                break
        limits = {p: (share if p in rest else lens[p]) for p in gold_ids}
        for _ in range(8):  # counts of the joined block can differ slightly from the parts
            docs = []
            for p in gold_ids:
                cut = limits[p] < lens[p]
                text = self.tok.truncate(texts[p], limits[p]) if cut else texts[p]
                n = self.tok.count(render_doc(pages[p].title, text))
                docs.append(
                    ContextDoc(
                        page_id=p,
                        title=pages[p].title,
                        tag="gold",
                        n_tokens=n,
                        truncated=cut,
                        text_chars=len(text) if cut else None,
                    )
                )
            over = sum(d.n_tokens for d in docs) - avail
            if over <= 0:
                log.info("question %s: gold pages truncated to fit %d tokens", qid, avail)
                return docs
            for p in rest:
                limits[p] = max(0, limits[p] - math.ceil(over / max(1, len(rest))))
        raise ContextRejected("budget_too_small", "gold pages could not be truncated to fit")

    def _verify(
        self, q: Question, instr_id: int, docs: list[ContextDoc], added: list[ContextDoc], total: int
    ) -> int:
        check = (not self.coster.additive) or self.cfg.verify_tokens == "always"
        check = check or (self.spot_checks and (self._built < 4 or self._built % 200 == 0))
        if not check:
            return total
        pages = fetch_pages(self.store, [d.page_id for d in docs])
        instruction = INSTRUCTIONS[instr_id]

        def exact() -> int:
            blocks = [render_doc(pages[d.page_id].title, doc_text(pages[d.page_id], d)) for d in docs]
            return self.tok.count(render_prompt(instruction, blocks, q.question))

        n = exact()
        self.verified += 1
        if n != total and self.coster.additive:
            log.warning("question %s: prompt has %d tokens, estimated %d", q.question_id, n, total)
        while n > self.cfg.target_tokens:
            self.repaired += 1
            over = n - self.cfg.target_tokens
            while over > 0:
                victim = next((d for d in reversed(added) if d.tag != "gold"), None)
                if victim is None:
                    raise ContextRejected("budget_too_small", "the gold pages alone exceed the budget")
                added.remove(victim)
                docs.remove(victim)
                over -= victim.n_tokens + self.coster.sep
            n = exact()
        return n


def build_all(
    builder: ContextBuilder,
    questions: Sequence[Question],
    trajectories: dict[str, Trajectory | None],
    strategies: Sequence[str],
) -> dict[str, list[Context]]:
    """Contexts of several strategies for the same questions, in memory (used by the report).

    Questions a strategy rejects are left out of that strategy's list.
    """
    out: dict[str, list[Context]] = {s: [] for s in strategies}
    for q in questions:
        for s in strategies:
            try:
                out[s].append(builder.build(q, trajectories.get(q.question_id), s))
            except ContextRejected:
                continue
    return out


def cache_path(store: PageStore, tok: TokenCounter) -> Path:
    """Where the page token counts of this corpus and tokenizer are kept (shared by all runs)."""
    from longtracerl.contexts.tokenizer import cache_dir

    return cache_dir() / "doc_tokens" / f"{DocTokenCache.key_for(store, tok)}.json"
