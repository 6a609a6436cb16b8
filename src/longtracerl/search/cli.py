"""CLI of the search stage.

``longtracerl search index --corpus DIR [--force]``: build the BM25 index (skipped when current).
``longtracerl search query --corpus DIR "text" [-k 10] [--json]`` (or ``--url URL``): ranked hits.
``longtracerl serve-search --corpus DIR [--host 127.0.0.1] --port PORT``: the HTTP server
(Search-R1 ``POST /retrieve``, ``POST /open``, ``GET /health``); builds the index first if needed.

Options of ``--config FILE`` / ``--set KEY=VALUE``: the fields of ``SearchConfig``
(title_boost, snippet_chars, max_query_terms, writer_heap_mb, writer_threads, shard_mb).
"""

from __future__ import annotations

import argparse
import json
import sys

from longtracerl.cliargs import add_config_args, command_group, field_flags, stage_config

_INDEX_FLAGS = {"--shard-mb": "shard_mb", "--writer-heap-mb": "writer_heap_mb"}


def _config(args: argparse.Namespace):
    from longtracerl.search.index import SearchConfig

    return stage_config(SearchConfig, args, _INDEX_FLAGS.values(), "search")


def _cmd_index(args: argparse.Namespace) -> int:
    from longtracerl.search.index import build_index

    meta = build_index(args.corpus, progress=not args.quiet, force=args.force, config=_config(args))
    print(
        f"index: {args.corpus}/index ({meta['backend']}, {meta['doc_count']} pages, built {meta['built_at']})"
    )
    return 0


def _cmd_query(args: argparse.Namespace) -> int:
    if args.url:
        from longtracerl.search.http import HttpRetriever

        with HttpRetriever(args.url, timeout=args.timeout) as remote:
            hits = remote.search(args.text, args.k)
    else:
        if not args.corpus:
            print("longtracerl search query: error: give --corpus DIR or --url URL", file=sys.stderr)
            return 2
        from longtracerl.search.index import open_retriever

        hits = open_retriever(args.corpus, config=_config(args)).search(args.text, args.k)
    if args.json:
        for h in hits:
            print(json.dumps(h.model_dump(), ensure_ascii=False))
        return 0
    if not hits:
        print("(no hits)")
    for h in hits:
        print(f"{h.rank:>3}. {h.score:8.3f}  {h.title}  [{h.page_id}]")
        print(f"     {h.snippet}")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from longtracerl.search.index import build_index
    from longtracerl.search.server import serve

    cfg = _config(args)
    build_index(args.corpus, progress=True, config=cfg)
    serve(
        args.corpus,
        config=cfg,
        host=args.host,
        port=args.port,
        default_topk=args.topk,
        max_topk=args.max_topk,
        max_request_bytes=args.max_request_bytes,
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    from longtracerl.search.index import SearchConfig

    sub = command_group(
        subparsers,
        "search",
        "BM25 search index over a corpus folder: build it, query it.",
        "Build and query the BM25 (tantivy) index in CORPUS/index/. See docs/search.md.",
    )

    p_index = sub.add_parser("index", help="Build CORPUS/index/ (skipped when up to date).")
    p_index.add_argument("--corpus", required=True, metavar="DIR", help="Corpus folder (with pages.sqlite).")
    p_index.add_argument("--force", action="store_true", help="Rebuild even when the index is current.")
    p_index.add_argument("-q", "--quiet", action="store_true", help="No progress bar.")
    field_flags(p_index, SearchConfig, _INDEX_FLAGS, metavars={"shard_mb": "M", "writer_heap_mb": "MB"})
    add_config_args(p_index)
    p_index.set_defaults(func=_cmd_index)

    p_query = sub.add_parser("query", help="Print the ranked hits of one query.")
    p_query.add_argument("text", help="Query text (any string).")
    p_query.add_argument("--corpus", metavar="DIR", help="Corpus folder with a built index.")
    p_query.add_argument("--url", help="Query a running search server instead (http://HOST:PORT).")
    p_query.add_argument("-k", type=int, default=10, help="Number of hits (default 10).")
    p_query.add_argument("--timeout", type=float, default=10.0, help="HTTP timeout in seconds (--url).")
    p_query.add_argument("--json", action="store_true", help="One JSON hit per line.")
    add_config_args(p_query)
    p_query.set_defaults(func=_cmd_query)

    serve = subparsers.add_parser(
        "serve-search",
        help="Serve a corpus's BM25 index over HTTP (Search-R1 /retrieve protocol).",
        description="POST /retrieve (Search-R1), POST /open, GET /health. Binds 127.0.0.1 by default.",
    )
    serve.add_argument("--corpus", required=True, metavar="DIR", help="Corpus folder (with pages.sqlite).")
    serve.add_argument("--host", default="127.0.0.1", help="Bind address (default 127.0.0.1).")
    serve.add_argument("--port", type=int, required=True, help="TCP port.")
    serve.add_argument("--topk", type=int, default=3, help="Hits per query when a request has no topk (3).")
    serve.add_argument("--max-topk", type=int, default=100, help="Largest topk a request may ask (100).")
    serve.add_argument(
        "--max-request-bytes", type=int, default=1_000_000, help="Larger request bodies get 413 (1 MB)."
    )
    add_config_args(serve)
    serve.set_defaults(func=_cmd_serve)
