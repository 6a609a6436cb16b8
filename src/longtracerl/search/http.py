"""``HttpRetriever``: the ``Retriever`` protocol over a remote search server.

Speaks the Search-R1 ``POST /retrieve`` protocol (see :mod:`longtracerl.search.server`), so it
works against this package's server and against a Search-R1 / FlashRAG-style retrieval server.
Snippets are cut on the client from the returned contents with the same analyzer as the local
retriever, so local and remote hits are identical.

Every call has a timeout; connection errors, timeouts, 429 and 5xx answers are retried a bounded
number of times with jittered exponential backoff; other 4xx answers raise at once with the
server's message.
"""

from __future__ import annotations

import random
import time
from typing import Any

import httpx

from longtracerl.pagestore import PageNotFound
from longtracerl.records import Page
from longtracerl.search.analysis import make_snippet
from longtracerl.search.base import Hit
from longtracerl.search.server import split_search_r1_contents

__all__ = ["HttpRetriever", "SearchError"]

_RETRY_STATUS = {429, 500, 502, 503, 504}


class SearchError(RuntimeError):
    """A search request failed (after retries) or the server's answer is malformed."""


class HttpRetriever:
    """Remote BM25 search; implements ``Retriever`` (``search``) plus ``open`` and ``health``.

    ``base_url`` is the server root (``http://127.0.0.1:8000``); a Search-R1 style URL ending in
    ``/retrieve`` is accepted too.
    """

    def __init__(
        self,
        base_url: str,
        timeout: float = 10.0,
        *,
        max_retries: int = 3,
        backoff_s: float = 0.5,
        snippet_chars: int = 200,
        transport: httpx.BaseTransport | None = None,
    ):
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        base = base_url.rstrip("/")
        if base.endswith("/retrieve"):
            base = base[: -len("/retrieve")]
        self.base_url = base
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.snippet_chars = snippet_chars
        self._client = httpx.Client(base_url=base, timeout=timeout, transport=transport)

    # -- plumbing ----------------------------------------------------------------------------
    def _request(self, method: str, path: str, body: Any = None) -> Any:
        last: str = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))
            try:
                resp = self._client.request(method, path, json=body)
            except httpx.TransportError as err:  # connect errors, timeouts, broken connections
                last = f"{type(err).__name__}: {err}"
                continue
            if resp.status_code in _RETRY_STATUS:
                last = f"HTTP {resp.status_code}: {resp.text[:300]}"
                continue
            if resp.status_code >= 400:
                raise SearchError(f"{method} {self.base_url}{path}: HTTP {resp.status_code}: {_detail(resp)}")
            try:
                return resp.json()
            except ValueError:
                raise SearchError(
                    f"{method} {self.base_url}{path}: answer is not JSON: {resp.text[:200]!r}"
                ) from None
        raise SearchError(
            f"{method} {self.base_url}{path}: failed after {self.max_retries + 1} attempts ({last})"
        )

    # -- Retriever ---------------------------------------------------------------------------
    def search(self, query: str, k: int = 10) -> list[Hit]:
        """The top ``k`` hits (rank 1 = best); [] for a query without words."""
        return self.search_many([query], k)[0]

    def search_many(self, queries: list[str], k: int = 10) -> list[list[Hit]]:
        """One request for several queries; one hit list per query."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if not queries:
            return []
        data = self._request(
            "POST", "/retrieve", {"queries": list(queries), "topk": k, "return_scores": True}
        )
        result = data.get("result") if isinstance(data, dict) else None
        if not isinstance(result, list) or len(result) != len(queries):
            raise SearchError(f"POST {self.base_url}/retrieve: expected 'result' with {len(queries)} lists")
        return [self._hits(q, items) for q, items in zip(queries, result, strict=True)]

    def _hits(self, query: str, items: Any) -> list[Hit]:
        if not isinstance(items, list):
            raise SearchError(f"POST {self.base_url}/retrieve: a result entry is not a list")
        hits = []
        for rank, item in enumerate(items, start=1):
            try:
                doc = item["document"]
                contents, score = doc["contents"], float(item["score"])
                title, text = split_search_r1_contents(contents)
                # Search-R1's BM25 branch sends title/text/contents without an id: use the title
                pid = str(doc["id"]) if doc.get("id") is not None else title
            except (KeyError, TypeError, ValueError, AttributeError) as err:
                raise SearchError(
                    f"POST {self.base_url}/retrieve: hit {rank} lacks document.contents/score ({err!r})"
                ) from None
            hits.append(
                Hit(
                    page_id=pid,
                    title=title,
                    snippet=make_snippet(query, text, self.snippet_chars),
                    score=score,
                    rank=rank,
                )
            )
        return hits

    # -- pages -------------------------------------------------------------------------------
    def open(self, page_id: str) -> Page:
        """The full page; raises ``PageNotFound``."""
        data = self._request("POST", "/open", {"ids": [page_id]})
        try:
            pages = data["pages"]
        except (KeyError, TypeError):
            raise SearchError(f"POST {self.base_url}/open: answer lacks 'pages'") from None
        for raw in pages:
            if isinstance(raw, dict) and raw.get("id") == page_id:
                return Page.model_validate(raw)
        raise PageNotFound(f"page id {page_id!r} is not on the search server {self.base_url}")

    def health(self) -> dict:
        return self._request("GET", "/health")

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpRetriever:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _detail(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:300]
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return str(body)[:300]
