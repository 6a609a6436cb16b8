"""HTTP search server speaking the Search-R1 retrieval protocol (FastAPI + uvicorn).

Endpoints:

- ``POST /retrieve`` ``{"queries": [...], "topk": 3, "return_scores": true}`` ->
  ``{"result": [[{"document": {"id": ..., "contents": "\\"Title\\"\\nText"}, "score": 12.3}, ...], ...]}``
  (one list per query, best first). With ``return_scores`` false (Search-R1's default) each list
  holds the documents themselves. ``topk`` defaults to the server's ``--topk``.
- ``POST /open`` ``{"ids": [...]}`` -> ``{"pages": [Page, ...], "missing": [id, ...]}``.
- ``GET /health`` -> ``{"status": "ok", "backend": ..., "docs": N}``.

Bad input (invalid JSON, missing or unknown fields, wrong types, ``topk`` outside 1..max) gets a
422 whose ``detail`` names the field; bodies over ``max_request_bytes`` get a 413. fastapi and
uvicorn are imported only inside :func:`create_app` and :func:`serve`.
"""

# no `from __future__ import annotations`: FastAPI reads the handlers' annotations at runtime

import logging
import os
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from longtracerl.search.index import BM25Retriever


log = logging.getLogger(__name__)

DEFAULT_MAX_REQUEST_BYTES = 1_000_000
DEFAULT_MAX_TOPK = 100
DEFAULT_MAX_QUERIES = 256
DEFAULT_MAX_OPEN_IDS = 1000


def search_r1_contents(title: str, text: str) -> str:
    """The Search-R1 / FlashRAG document text: the quoted title, a newline, the text."""
    return f'"{title}"\n{text}'


def split_search_r1_contents(contents: str) -> tuple[str, str]:
    """Inverse of :func:`search_r1_contents`: ``(title, text)``.

    >>> split_search_r1_contents(search_r1_contents('Ed Wood (film)', 'Ed Wood is a 1994 film.'))
    ('Ed Wood (film)', 'Ed Wood is a 1994 film.')
    """
    first, _, rest = contents.partition("\n")
    if len(first) >= 2 and first[0] == '"' and first[-1] == '"':
        first = first[1:-1]
    return first, rest


class RetrieveRequest(BaseModel):
    """Body of ``POST /retrieve`` (Search-R1's ``QueryRequest``)."""

    model_config = ConfigDict(extra="forbid")
    queries: list[str] = Field(description="Query strings; one result list per query.")
    topk: int | None = Field(default=None, description="Hits per query (server default when null).")
    return_scores: bool = Field(default=False, description="Wrap each document as {document, score}.")


class OpenRequest(BaseModel):
    """Body of ``POST /open``."""

    model_config = ConfigDict(extra="forbid")
    ids: list[str] = Field(description="Page ids to return in full.")


class BodySizeLimit:
    """ASGI middleware: answer 413 to request bodies over ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: Any, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._reject(send)
            return
        from fastapi import HTTPException

        seen = 0

        async def limited_receive() -> dict:
            # a streamed body without content-length: count it; FastAPI passes an HTTPException
            # raised while it reads the body through to its exception handlers (-> 413)
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise HTTPException(status_code=413, detail=self._message())
            return message

        await self.app(scope, limited_receive, send)

    def _message(self) -> str:
        return f"request body larger than {self.max_bytes} bytes"

    async def _reject(self, send: Any) -> None:
        import json

        body = json.dumps({"detail": self._message()}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _describe_errors(errors: list[dict]) -> str:
    parts = []
    for e in errors[:5]:
        loc = ".".join(str(x) for x in e.get("loc", ()) if x != "body") or "body"
        msg = e.get("msg", "invalid")
        if e.get("type") == "json_invalid":
            parts.append(f"body is not valid JSON ({e.get('ctx', {}).get('error', msg)})")
        elif e.get("type") == "missing":
            parts.append(f"field '{loc}' is required")
        else:
            parts.append(f"field '{loc}': {msg}")
    return "; ".join(parts)


def create_app(
    retriever: "BM25Retriever",
    *,
    default_topk: int = 3,
    max_topk: int = DEFAULT_MAX_TOPK,
    max_queries: int = DEFAULT_MAX_QUERIES,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    max_open_ids: int = DEFAULT_MAX_OPEN_IDS,
):
    """The FastAPI app over ``retriever`` (a :class:`~longtracerl.search.index.BM25Retriever`:
    ``search_pages(query, k)``, ``get_many(ids)``, ``len()``, ``meta``)."""
    from fastapi import FastAPI, HTTPException
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse

    if not 1 <= default_topk <= max_topk:
        raise ValueError(f"default_topk must be in 1..{max_topk}, got {default_topk}")
    app = FastAPI(title="longtracerl search", version="1")

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request, exc: RequestValidationError):
        errors = [{k: e.get(k) for k in ("loc", "msg", "type")} for e in exc.errors()]
        return JSONResponse(
            status_code=422, content={"detail": _describe_errors(exc.errors()), "errors": errors}
        )

    def _check_len(name: str, n: int, limit: int) -> None:
        if n > limit:
            raise HTTPException(status_code=422, detail=f"field '{name}': at most {limit} items, got {n}")

    @app.get("/health")
    def health() -> dict:
        backend = getattr(retriever, "meta", {}).get("backend", type(retriever).__name__)
        return {"status": "ok", "backend": backend, "docs": len(retriever)}

    @app.post("/retrieve")
    def retrieve(request: RetrieveRequest) -> dict:
        topk = default_topk if request.topk is None else request.topk
        if not 1 <= topk <= max_topk:
            raise HTTPException(status_code=422, detail=f"field 'topk': must be in 1..{max_topk}, got {topk}")
        _check_len("queries", len(request.queries), max_queries)
        result = []
        for query in request.queries:
            docs = []
            for sp in retriever.search_pages(query, topk):
                doc = {"id": sp.page.id, "contents": search_r1_contents(sp.page.title, sp.page.text)}
                docs.append({"document": doc, "score": sp.score} if request.return_scores else doc)
            result.append(docs)
        return {"result": result}

    @app.post("/open")
    def open_pages(request: OpenRequest) -> dict:
        _check_len("ids", len(request.ids), max_open_ids)
        found = retriever.get_many(request.ids)
        pages = [found[i].model_dump(mode="json") for i in dict.fromkeys(request.ids) if i in found]
        missing = [i for i in dict.fromkeys(request.ids) if i not in found]
        return {"pages": pages, "missing": missing}

    app.add_middleware(BodySizeLimit, max_bytes=max_request_bytes)
    return app


def serve(
    corpus_dir: str | os.PathLike,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
    config: Any = None,
    **app_options: Any,
) -> None:
    """Open the corpus's index (with ``config``, a ``SearchConfig``) and serve it until interrupted."""
    import uvicorn

    from longtracerl.search.index import open_retriever

    retriever = open_retriever(corpus_dir, config=config)
    app = create_app(retriever, **app_options)
    log.info("serving %s (%d pages) on http://%s:%d", corpus_dir, len(retriever), host, port)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
