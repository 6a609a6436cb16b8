"""The agent's tools over a corpus, with every call recorded in order.

:class:`ToolBox` gives a policy four tools -- ``search``, ``open``, ``cite``, ``answer`` -- and
keeps the bookkeeping the later stages need: the ordered events (tool, arguments, result ids,
elapsed time, error), the *seen* pages (shown in any search result), the *opened* pages and the
*cited* pages. Tier-1 distractors are later taken from opened-but-not-cited pages, Tier-2 from
seen-but-never-opened pages (docs/method.md#distractor-tiers-and-contexts).

``search`` takes an ``offset`` for the next page of results (docs/agent.md#tools).
A bad call (unknown page id, empty query, bad offset) does not raise: it returns an error observation and
is recorded with its ``error`` text, so a policy (and an LLM) can recover.

Example:
    >>> from longtracerl.search.base import Hit
    >>> class OneHit:
    ...     def search(self, query, k=10):
    ...         return [Hit(page_id="p1", title="Paris", snippet="Capital.", score=1.0, rank=1)]
    >>> class Store:
    ...     def open(self, pid):
    ...         from longtracerl.records import Page
    ...         if pid != "p1":
    ...             from longtracerl.corpus.store import PageNotFound
    ...             raise PageNotFound(pid)
    ...         return Page(id="p1", title="Paris", text="Paris is the capital of France.")
    >>> tb = ToolBox(OneHit(), Store(), top_k=5)
    >>> [h.page_id for h in tb.search("capital of france").hits]
    ['p1']
    >>> tb.search("capital of france", offset=10).hits  # the second page of results: empty here
    []
    >>> tb.open("p1").page.title
    'Paris'
    >>> tb.open("nope").error
    "unknown page id 'nope'"
    >>> _ = tb.cite(["p1"]); _ = tb.answer("Paris")
    >>> [e.tool for e in tb.events], tb.seen_ids, tb.opened_ids, tb.cited_ids, tb.final_answer
    (['search', 'search', 'open', 'open', 'cite', 'answer'], ['p1'], ['p1'], ['p1'], 'Paris')
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from longtracerl.corpus.store import PageNotFound
from longtracerl.records import Page, TrajectoryEvent
from longtracerl.search.base import Hit

__all__ = ["ToolBox", "SearchResult", "OpenResult", "ToolResult", "MAX_OFFSET"]

MAX_OFFSET = 90
"""Deepest result offset a search may ask for (the tenth page of ten)."""


@dataclass
class ToolResult:
    """What a tool call returned; ``error`` is set when the call was refused."""

    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class SearchResult(ToolResult):
    query: str = ""
    hits: list[Hit] = field(default_factory=list)
    offset: int = 0  # results skipped (10: the second page of ten)

    def render(self, snippet_chars: int = 200) -> str:
        """Text observation for an LLM: one numbered line per hit."""
        if self.error:
            return f"Error: {self.error}"
        if not self.hits:
            return f"No {'more ' if self.offset else ''}results for {self.query!r}."
        lines = [f"Results for {self.query!r}:"]
        for h in self.hits:
            snip = " ".join(h.snippet.split())[:snippet_chars]
            lines.append(f"{h.rank}. [{h.page_id}] {h.title} -- {snip}")
        return "\n".join(lines)


@dataclass
class OpenResult(ToolResult):
    page_id: str = ""
    page: Page | None = None

    def render(self, max_chars: int = 2000) -> str:
        if self.error or self.page is None:
            return f"Error: {self.error}"
        text = self.page.text
        cut = len(text) > max_chars
        body = text[:max_chars] + (" [...truncated]" if cut else "")
        return f"[{self.page.id}] {self.page.title}\n{body}"


class ToolBox:
    """One attempt's tools and records. Create a fresh one per attempt."""

    def __init__(self, retriever: Any, store: Any, *, top_k: int = 10, max_calls: int | None = None):
        self.retriever = retriever
        self.store = store
        self.top_k = top_k
        self.max_calls = max_calls
        self.events: list[TrajectoryEvent] = []
        self._seen: dict[str, None] = {}
        self._opened: dict[str, None] = {}
        self._cited: dict[str, None] = {}
        self._page_cache: dict[str, Page] = {}
        self.final_answer: str | None = None
        self.cited_called = False

    # -- bookkeeping ---------------------------------------------------------------------
    @property
    def seen_ids(self) -> list[str]:
        return list(self._seen)

    @property
    def opened_ids(self) -> list[str]:
        return list(self._opened)

    @property
    def cited_ids(self) -> list[str]:
        return list(self._cited)

    @property
    def n_calls(self) -> int:
        return len(self.events)

    @property
    def answered(self) -> bool:
        return self.final_answer is not None

    def _record(self, tool: str, args: dict[str, Any], ids: list[str], t0: float, error: str | None) -> None:
        self.events.append(
            TrajectoryEvent(
                step=len(self.events) + 1,
                tool=tool,  # type: ignore[arg-type]
                args=args,
                result_ids=ids,
                elapsed_s=round(time.perf_counter() - t0, 6),
                error=error,
            )
        )

    def _exists(self, page_id: str) -> bool:
        if hasattr(self.store, "__contains__"):
            return page_id in self.store
        try:
            self.store.open(page_id)
        except (PageNotFound, KeyError):
            return False
        return True

    # -- tools ---------------------------------------------------------------------------
    def search(self, query: str, k: int | None = None, offset: int = 0) -> SearchResult:
        """Ranked hits for ``query``; every shown page joins the seen set.

        ``offset`` skips the first results: ``offset=10`` is the second page of ten (ranks 11-20,
        the hits keep their rank in the whole ranking), what a searcher asks for when the first
        page does not hold what they look for. It is recorded in the event's arguments.
        """
        t0 = time.perf_counter()
        k = self.top_k if k is None else max(1, min(int(k), self.top_k))
        query = query if isinstance(query, str) else str(query)
        args: dict[str, Any] = {"query": query} if k == self.top_k else {"query": query, "k": k}
        try:
            offset = int(offset)
        except (TypeError, ValueError):
            offset = -1
        if offset:
            args["offset"] = offset
        if offset < 0 or offset > MAX_OFFSET:
            err = f"offset must be an integer from 0 to {MAX_OFFSET}"
            self._record("search", args, [], t0, err)
            return SearchResult(error=err, query=query)
        if not query.strip():
            err = "empty query"
            self._record("search", args, [], t0, err)
            return SearchResult(error=err, query=query)
        hits = list(self.retriever.search(query, k + offset))[offset:]
        for h in hits:
            self._seen.setdefault(h.page_id, None)
        ids = [h.page_id for h in hits]
        self._record("search", args, ids, t0, None)
        return SearchResult(query=query, hits=hits, offset=offset)

    def open(self, page_id: str) -> OpenResult:
        """The whole page; an unknown id is an error observation, not an exception."""
        t0 = time.perf_counter()
        page_id = page_id if isinstance(page_id, str) else str(page_id)
        page = self._page_cache.get(page_id)
        if page is None:
            try:
                page = self.store.open(page_id)
            except (PageNotFound, KeyError):
                err = f"unknown page id {page_id!r}"
                self._record("open", {"page_id": page_id}, [], t0, err)
                return OpenResult(error=err, page_id=page_id)
            self._page_cache[page_id] = page
        self._opened.setdefault(page_id, None)
        self._record("open", {"page_id": page_id}, [page_id], t0, None)
        return OpenResult(page_id=page_id, page=page)

    def cite(self, page_ids: list[str]) -> ToolResult:
        """Mark pages as the evidence; only pages that exist in the corpus are kept."""
        t0 = time.perf_counter()
        if isinstance(page_ids, str):
            page_ids = [page_ids]
        ids = [str(p) for p in page_ids]
        known, unknown = [], []
        for pid in ids:
            if pid in self._page_cache or pid in self._seen or self._exists(pid):
                known.append(pid)
            else:
                unknown.append(pid)
        for pid in known:
            self._cited.setdefault(pid, None)
        self.cited_called = True
        err = f"unknown page ids: {', '.join(map(repr, unknown))}" if unknown else None
        self._record("cite", {"page_ids": ids}, known, t0, err)
        return ToolResult(error=err)

    def answer(self, text: str) -> ToolResult:
        """The final answer; ends the attempt."""
        t0 = time.perf_counter()
        text = text if isinstance(text, str) else str(text)
        self.final_answer = text.strip()
        self._record("answer", {"text": self.final_answer}, [], t0, None)
        return ToolResult()
