"""Fixtures of the search tests: a built corpus, its retriever, a running search server."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.helpers.search_corpus import free_port, make_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A corpus folder with the pages of search_corpus.PAGES and a built index."""
    from longtracerl.search.index import build_index

    d = make_corpus(tmp_path_factory.mktemp("corpus"))
    build_index(d, progress=False)
    return d


@pytest.fixture(scope="module")
def retriever(corpus):
    from longtracerl.search.index import open_retriever

    r = open_retriever(corpus)
    yield r
    r.close()


@pytest.fixture(scope="module")
def server_url(retriever):
    """Base URL of the search server over ``retriever``, run by uvicorn in a thread on 127.0.0.1."""
    import uvicorn

    from longtracerl.search.server import create_app

    app = create_app(retriever, max_request_bytes=20_000, max_queries=8)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("search server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
