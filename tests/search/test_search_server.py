"""The search server end to end on 127.0.0.1 (Search-R1 /retrieve shape), and HttpRetriever."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
import pytest

from longtracerl.corpus.store import PageNotFound
from longtracerl.search.base import Retriever
from longtracerl.search.http import HttpRetriever, SearchError
from tests.helpers.search_corpus import PAGES, free_port


def post(url, path, body=None, **kw):
    return httpx.post(url + path, json=body, timeout=10, **kw)


def test_retrieve_with_scores_has_search_r1_shape(server_url, retriever):
    queries = ["Eiffel tower in Paris, world", "Nobel Prize radioactivity, first person"]
    resp = post(server_url, "/retrieve", {"queries": queries, "topk": 2, "return_scores": True})
    assert resp.status_code == 200
    body = resp.json()
    assert list(body) == ["result"]
    assert len(body["result"]) == len(queries)
    for query, items in zip(queries, body["result"], strict=True):
        local = retriever.search_pages(query, 2)
        assert len(items) == len(local) == 2
        for item, sp in zip(items, local, strict=True):
            assert set(item) == {"document", "score"}
            assert set(item["document"]) == {"id", "contents"}
            assert item["document"]["id"] == sp.page.id
            assert item["document"]["contents"] == f'"{sp.page.title}"\n{sp.page.text}'
            assert item["score"] == pytest.approx(sp.score)
    assert body["result"][0][0]["document"]["id"] == "eiffel-tower"
    assert body["result"][1][0]["document"]["id"] == "marie-curie"


def test_retrieve_without_scores_lists_documents(server_url):
    body = post(
        server_url, "/retrieve", {"queries": ["Amazon river"], "topk": 1, "return_scores": False}
    ).json()
    assert body == {"result": [[{"id": "amazon-river", "contents": f'"Amazon River"\n{PAGES[4].text}'}]]}


def test_retrieve_defaults(server_url):
    # Search-R1 defaults: topk from the server (3 here), return_scores false
    body = post(server_url, "/retrieve", {"queries": ["the world's largest highest"]}).json()
    assert len(body["result"][0]) == 3
    assert set(body["result"][0][0]) == {"id", "contents"}


def test_retrieve_empty_and_nasty_queries(server_url):
    queries = ["", 'title:("', "a" * 5000]
    body = post(server_url, "/retrieve", {"queries": queries, "topk": 5, "return_scores": True}).json()
    assert body["result"][0] == [] and body["result"][1] == []
    assert isinstance(body["result"][2], list)
    assert post(server_url, "/retrieve", {"queries": []}).json() == {"result": []}


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b"{}", "'queries' is required"),
        (b'{"queries": "Eiffel"}', "queries"),
        (b'{"queries": [1, 2]}', "queries.0"),
        (b'{"queries": ["x"], "topk": 0}', "topk"),
        (b'{"queries": ["x"], "topk": 101}', "topk"),
        (b'{"queries": ["x"], "topk": "many"}', "topk"),
        (b'{"queries": ["x"], "top_k": 3}', "top_k"),
        (b'{"queries": ["x"], "return_scores": "maybe"}', "return_scores"),
        (b"[1, 2]", "body"),
        (json.dumps({"queries": ["q"] * 9}).encode(), "at most 8"),
    ],
)
def test_retrieve_bad_input_is_422_with_a_clear_message(server_url, raw, needle):
    resp = httpx.post(server_url + "/retrieve", content=raw, headers={"content-type": "application/json"})
    assert resp.status_code == 422, resp.text
    assert needle in resp.json()["detail"]


def test_request_size_limit(server_url):
    big = {"queries": ["x" * 30_000]}
    resp = post(server_url, "/retrieve", big)
    assert resp.status_code == 413
    assert "larger than" in resp.json()["detail"]

    def chunks():  # no content-length: the streamed body is counted
        for _ in range(30):
            yield b" " * 1000

    resp = httpx.post(
        server_url + "/retrieve", content=chunks(), headers={"content-type": "application/json"}
    )
    assert resp.status_code == 413


def test_health_and_open(server_url):
    health = httpx.get(server_url + "/health").json()
    assert health == {"status": "ok", "backend": "tantivy", "docs": len(PAGES)}
    body = post(server_url, "/open", {"ids": ["zebra", "nope", "zebra"]}).json()
    assert [p["id"] for p in body["pages"]] == ["zebra"]
    assert body["pages"][0]["text"] == PAGES[-1].text
    assert body["missing"] == ["nope"]
    assert post(server_url, "/open", {"id": "zebra"}).status_code == 422


# ---------------------------------------------------------------------------- HttpRetriever


def test_http_retriever_matches_local(server_url, retriever):
    with HttpRetriever(server_url, timeout=5) as remote:
        assert isinstance(remote, Retriever)
        for query in ["Tim Burton film Johnny Depp", "coral reef", "zebra", "volcanic cones", "", "?"]:
            local_hits = retriever.search(query, 4)
            remote_hits = remote.search(query, 4)
            assert [h.model_dump(exclude={"score"}) for h in remote_hits] == [
                h.model_dump(exclude={"score"}) for h in local_hits
            ]
            assert [h.score for h in remote_hits] == pytest.approx([h.score for h in local_hits])
        many = remote.search_many(["Eiffel", "the world's largest", "?"], 2)
        assert [[h.page_id for h in hits] for hits in many] == [
            [h.page_id for h in retriever.search(q, 2)] for q in ["Eiffel", "the world's largest", "?"]
        ]
        assert [len(hits) for hits in many] == [1, 2, 0]
        page = remote.open("ada-lovelace")
        assert page == retriever.open("ada-lovelace")
        with pytest.raises(PageNotFound):
            remote.open("no-such-page")
        assert remote.health()["docs"] == len(PAGES)


def test_http_retriever_accepts_search_r1_url(server_url):
    with HttpRetriever(server_url + "/retrieve/", timeout=5) as remote:
        assert remote.search("Eiffel", 1)[0].page_id == "eiffel-tower"


def test_http_retriever_client_errors_are_not_retried(server_url):
    with HttpRetriever(server_url, timeout=5, backoff_s=0.01) as remote:
        with pytest.raises(SearchError, match="HTTP 422.*topk"):
            remote.search("Eiffel", k=500)
        with pytest.raises(ValueError):
            remote.search("Eiffel", k=0)


def _mock(responses):
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        r = responses[min(len(calls) - 1, len(responses) - 1)]
        if isinstance(r, Exception):
            raise r
        return r

    return httpx.MockTransport(handler), calls


OK = httpx.Response(
    200, json={"result": [[{"document": {"id": "p", "contents": '"P title"\nSome text.'}, "score": 2.5}]]}
)


def test_http_retriever_retries_transient_failures():
    transport, calls = _mock([httpx.Response(503, text="busy"), httpx.ConnectError("refused"), OK])
    r = HttpRetriever("http://search.invalid", max_retries=3, backoff_s=0.001, transport=transport)
    hits = r.search("text", 1)
    assert len(calls) == 3
    assert hits[0].page_id == "p" and hits[0].title == "P title" and hits[0].snippet == "Some text."
    assert hits[0].score == 2.5 and hits[0].rank == 1
    sent = json.loads(calls[0].content)
    assert sent == {"queries": ["text"], "topk": 1, "return_scores": True}


def test_http_retriever_gives_up_after_bounded_retries():
    transport, calls = _mock([httpx.ReadTimeout("slow")])
    r = HttpRetriever("http://search.invalid", max_retries=2, backoff_s=0.001, transport=transport)
    with pytest.raises(SearchError, match="failed after 3 attempts.*ReadTimeout"):
        r.search("text", 1)
    assert len(calls) == 3


def test_http_retriever_reads_documents_without_id():
    # Search-R1's BM25 branch answers {title, text, contents} documents
    doc = {"title": "P title", "text": "Some text.", "contents": '"P title"\nSome text.'}
    transport, _ = _mock([httpx.Response(200, json={"result": [[{"document": doc, "score": 1.5}]]})])
    hit = HttpRetriever("http://search.invalid", transport=transport).search("text", 1)[0]
    assert (hit.page_id, hit.title, hit.snippet, hit.score) == ("P title", "P title", "Some text.", 1.5)


def test_server_answers_concurrent_requests_consistently(server_url, retriever):
    from concurrent.futures import ThreadPoolExecutor

    queries = [q for q in ["Eiffel", "river", "Nobel", "film director", "reef", "volcano"] for _ in range(6)]
    expected = {q: [h.page_id for h in retriever.search(q, 3)] for q in set(queries)}

    def one(q):
        with HttpRetriever(server_url, timeout=10) as remote:
            return q, [h.page_id for h in remote.search(q, 3)]

    with ThreadPoolExecutor(8) as pool:
        for q, ids in pool.map(one, queries):
            assert ids == expected[q]


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>"),
        httpx.Response(200, json={"results": []}),
        httpx.Response(200, json={"result": [[{"document": {"id": "p"}, "score": 1}]]}),
        httpx.Response(200, json={"result": [["not a dict"]]}),
        httpx.Response(200, json={"result": [[{"document": {"contents": 5}, "score": 1}]]}),
        httpx.Response(200, json={"result": [[{"document": {"id": "p", "contents": "x"}}]]}),
    ],
)
def test_http_retriever_rejects_malformed_answers(response):
    transport, _ = _mock([response])
    r = HttpRetriever("http://search.invalid", max_retries=0, transport=transport)
    with pytest.raises(SearchError):
        r.search("text", 1)


def test_http_retriever_real_timeout_and_refused_port():
    port = free_port()  # nothing listens there
    r = HttpRetriever(f"http://127.0.0.1:{port}", timeout=0.5, max_retries=1, backoff_s=0.01)
    t = time.monotonic()
    with pytest.raises(SearchError, match="ConnectError"):
        r.search("x", 1)
    assert time.monotonic() - t < 5


# ---------------------------------------------------------------------------- CLI


def test_cli_index_and_query(tmp_path, capsys):
    from longtracerl.cli import main
    from tests.helpers.search_corpus import make_corpus

    make_corpus(tmp_path)
    assert main(["search", "index", "--corpus", str(tmp_path), "-q"]) == 0
    assert "11 pages" in capsys.readouterr().out
    assert main(["search", "query", "--corpus", str(tmp_path), "Gustave Eiffel", "-k", "2"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[2:4] == ["Eiffel", "Tower"]
    assert main(["search", "query", "--corpus", str(tmp_path), "Gustave Eiffel", "-k", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["page_id"] == "eiffel-tower"
    assert (
        main(["search", "query", "--corpus", str(tmp_path), "--set", "snippet_chars=30", "reef", "-k", "1"])
        == 0
    )
    assert main(["search", "query", "--corpus", str(tmp_path), "--set", "snipet_chars=3", "reef"]) == 2
    assert "did you mean 'snippet_chars'" in capsys.readouterr().err


def test_cli_serve_search_end_to_end(corpus, tmp_path):
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "longtracerl.cli",
            "serve-search",
            "--corpus",
            str(corpus),
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "serve-search did not come up"
            time.sleep(0.1)
        with HttpRetriever(url, timeout=5) as remote:
            assert remote.search("highest mountain in Africa", 1)[0].page_id == "kilimanjaro"
        from longtracerl.cli import main

        assert main(["search", "query", "--url", url, "Babbage engine", "-k", "1", "--json"]) == 0
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def test_serve_search_binds_localhost_by_default():
    from longtracerl.cli import build_parser

    args = build_parser().parse_args(["serve-search", "--corpus", "c", "--port", "8123"])
    assert args.host == "127.0.0.1" and args.topk == 3 and args.max_topk == 100


def test_create_app_checks_its_limits(retriever):
    from longtracerl.search.server import create_app

    with pytest.raises(ValueError, match="default_topk"):
        create_app(retriever, default_topk=0)
