"""BM25 over a corpus folder's pages: build the persisted index, open a retriever on it.

Backend: tantivy (BM25, k1=1.2, b=0.75), chosen by measurement against bm25s. Two fields per page:
``body`` (title and text) and ``title`` (searched with the ``title_boost``). The index lives in
``CORPUS/index/`` with a ``meta.json`` written last; it is built in a temp folder and renamed into
place, and skipped when it is complete and matches the page store. ``shard_mb`` bounds memory by
indexing in shards that are gathered into one index (same scores as an unsharded build). Layout,
sharding and measurements: docs/search.md.

Example:
    >>> import tempfile
    >>> from longtracerl.pagestore import PageStore
    >>> from longtracerl.records import Page
    >>> d = tempfile.mkdtemp()
    >>> with PageStore.create(d) as w:
    ...     _ = w.add(Page(id="p1", title="Paris", text="Paris is the capital of France."))
    ...     _ = w.add(Page(id="p2", title="Berlin", text="Berlin is the capital of Germany."))
    >>> build_index(d, progress=False)["doc_count"]
    2
    >>> r = open_retriever(d)
    >>> [(h.rank, h.page_id) for h in r.search("capital of Germany", k=1)]
    [(1, 'p2')]
    >>> r.search("") == []
    True
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from longtracerl.config import Field, NonNegFloat, StageConfig
from longtracerl.pagestore import STORE_FILE, PageStore
from longtracerl.records import Page, atomic_write_text
from longtracerl.search.analysis import (
    ANALYZER_DESCRIPTION,
    ANALYZER_NAME,
    analyzer,
    make_snippet,
    query_terms,
    sanitize_query,
)
from longtracerl.search.base import Hit

__all__ = [
    "BACKEND",
    "INDEX_DIR",
    "IndexNotFound",
    "SearchConfig",
    "ScoredPage",
    "BM25Retriever",
    "build_index",
    "open_retriever",
    "store_fingerprint",
]

log = logging.getLogger(__name__)

BACKEND = "tantivy"
INDEX_DIR = "index"
META_FILE = "meta.json"
TANTIVY_SUBDIR = "tantivy"  # tantivy keeps its own meta.json, so its files live one level down
FORMAT_VERSION = 1
BM25_K1 = 1.2  # tantivy's fixed BM25 parameters
BM25_B = 0.75


class IndexNotFound(FileNotFoundError):
    """The corpus folder has no complete search index, or it does not match the page store."""


class SearchConfig(StageConfig):
    """Settings of the BM25 search stage (index build and query time)."""

    title_boost: NonNegFloat = 0.25
    """Weight of the title-only field at query time (the title also counts in the body field). 0 disables it.
    0.25 measured best on HotpotQA (docs/search.md)."""
    snippet_chars: int = Field(200, ge=20, le=5000)
    """Length of hit snippets."""
    max_query_terms: int = Field(256, ge=1, le=4096)
    """Words of a query kept (longer queries are truncated)."""
    writer_heap_mb: int = Field(256, ge=16)
    """tantivy writer memory budget, MB: the indexing buffer; a segment is written each time it is full. The
    index build's peak RSS is about this + 180 MB with the default shard_mb (435 MB at 1 M pages,
    docs/scale.md)."""
    writer_threads: int = Field(1, ge=1, le=16)
    """tantivy indexing threads."""
    shard_mb: NonNegFloat = 1000.0
    """Index shard size, in millions of characters of page text (title + text): each shard is indexed by a
    fresh writer, so segment merges (whose memory grows with their size) stay inside a shard and the
    build's peak memory does not grow with the corpus. The shards' segments form one index, scored with
    corpus-wide BM25 statistics (same scores as one shard). 0 = one shard (memory then grows with the
    corpus, about 1.4 KB per page at 1 M pages)."""


def store_fingerprint(corpus_dir: str | os.PathLike) -> str:
    """A cheap fingerprint of ``pages.sqlite``: page count, file size, and every id and title.

    Text edits that keep the file size and every id and title are not seen; use ``force=True``.
    """
    path = Path(corpus_dir) / STORE_FILE
    h = hashlib.sha256()
    h.update(str(path.stat().st_size).encode())
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        n = 0
        for pid, title in conn.execute("SELECT id, title FROM pages ORDER BY idx"):
            h.update(pid.encode("utf-8", "surrogatepass") + b"\x00")
            h.update(title.encode("utf-8", "surrogatepass") + b"\x01")
            n += 1
    finally:
        conn.close()
    return f"{n}:{h.hexdigest()[:24]}"


def _index_params() -> dict:
    return {
        "format_version": FORMAT_VERSION,
        "analyzer": ANALYZER_NAME,
        "analyzer_chain": ANALYZER_DESCRIPTION,
        "fields": {"body": "title + newline + text", "title": "title"},
        "bm25": {"k1": BM25_K1, "b": BM25_B},
    }


def _schema():
    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("title", stored=False, tokenizer_name=ANALYZER_NAME)
    sb.add_text_field("body", stored=False, tokenizer_name=ANALYZER_NAME)
    return sb.build()


def _read_meta(index_dir: Path) -> dict | None:
    try:
        return json.loads((index_dir / META_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale_partials(corpus_dir: Path) -> None:
    for p in corpus_dir.glob(f"{INDEX_DIR}.partial-*"):
        try:
            pid = int(p.name.rsplit("-", 1)[1])
        except ValueError:
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            shutil.rmtree(p, ignore_errors=True)


def build_index(
    corpus_dir: str | os.PathLike,
    *,
    progress: bool = True,
    force: bool = False,
    config: SearchConfig | None = None,
) -> dict:
    """Build ``corpus_dir/index/`` from the page store; returns the index's meta.json content.

    Skipped (the existing meta returned) when the index is complete and matches the store and
    the index parameters, unless ``force``.
    """
    from tqdm import tqdm

    cfg = config or SearchConfig()
    corpus_dir = Path(corpus_dir)
    store = PageStore(corpus_dir)
    final = corpus_dir / INDEX_DIR
    fingerprint = store_fingerprint(corpus_dir)
    params = _index_params()
    meta = _read_meta(final)
    if (
        not force
        and meta is not None
        and meta.get("backend") == BACKEND
        and meta.get("store_fingerprint") == fingerprint
        and meta.get("params") == params
    ):
        log.info("search index %s is up to date (%d pages); skipping build", final, meta["doc_count"])
        return meta

    _clean_stale_partials(corpus_dir)
    _release_free_memory()  # e.g. what corpus prepare freed just before, in the same process
    tmp = corpus_dir / f"{INDEX_DIR}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    shard = None
    try:
        shard_chars = int(cfg.shard_mb * 1_000_000) if cfg.shard_mb > 0 else 0
        shard_dirs: list[Path] = []
        n = 0
        pages = tqdm(store.iter_pages(), total=len(store), desc="index", unit="page", disable=not progress)
        for page in pages:
            if shard is None:
                shard_dirs.append(tmp / f"shard-{len(shard_dirs):04d}")
                shard = _ShardWriter(shard_dirs[-1], cfg)
            shard.add(page)
            n += 1
            if shard_chars and shard.chars >= shard_chars:
                shard.close()
                shard = None
        if shard is None and not shard_dirs:  # an empty store: one empty shard
            shard_dirs.append(tmp / "shard-0000")
            shard = _ShardWriter(shard_dirs[-1], cfg)
        if shard is not None:
            shard.close()
            shard = None
        segments = _gather_shards(shard_dirs, tmp / TANTIVY_SUBDIR, n)
        meta = {
            "backend": BACKEND,
            "doc_count": n,
            "store_fingerprint": fingerprint,
            "params": params,
            "build": {
                "shards": len(shard_dirs),
                "segments": segments,
                "shard_mb": cfg.shard_mb,
                "writer_heap_mb": cfg.writer_heap_mb,
            },
            "built_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }
        atomic_write_text(tmp / META_FILE, json.dumps(meta, indent=2) + "\n")
        _swap_in(tmp, final)
    except BaseException:
        if shard is not None:
            shard.abort()
        shard = None
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        store.close()
    log.info("built search index %s (%d pages, %d shards)", final, n, len(shard_dirs))
    return meta


def _release_free_memory() -> None:
    """Give the C heap's free pages back to the OS (glibc ``malloc_trim``; a no-op elsewhere).

    tantivy allocates through the C library; glibc keeps freed memory in per-thread arenas, so
    without this a finished shard's writer memory stays resident while the next shard allocates
    its own."""
    import ctypes
    import ctypes.util

    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        if hasattr(libc, "malloc_trim"):
            libc.malloc_trim(0)


class _ShardWriter:
    """One shard: a fresh tantivy index and writer in ``path``; ``close`` commits and waits for
    the shard's merges, then drops the writer and releases its memory."""

    def __init__(self, path: Path, cfg: SearchConfig):
        import tantivy

        self._tantivy = tantivy
        path.mkdir()
        self.path = path
        self.chars = 0
        self._index = tantivy.Index(_schema(), path=str(path))
        self._index.register_tokenizer(ANALYZER_NAME, analyzer())
        self._writer = self._index.writer(
            heap_size=cfg.writer_heap_mb * 1_000_000, num_threads=cfg.writer_threads
        )

    def add(self, page: Page) -> None:
        self._writer.add_document(
            self._tantivy.Document(id=page.id, title=page.title, body=f"{page.title}\n{page.text}")
        )
        self.chars += len(page.title) + len(page.text) + 1

    def close(self) -> None:
        self._writer.commit()
        self._writer.wait_merging_threads()
        self._writer = self._index = None  # release tantivy's handles on the folder
        _release_free_memory()

    def abort(self) -> None:
        # drop the writer first: a live tantivy writer still flushes segment files when it dies
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.rollback()
        self._writer = self._index = None


def _gather_shards(shard_dirs: list[Path], dest: Path, n_docs: int) -> int:
    """Make one tantivy index in ``dest`` out of the shard indexes: their segment files are moved
    into ``dest`` and one ``meta.json`` lists every segment (tantivy segments are self-contained,
    named by a unique id). Returns the number of segments. Checked by opening the result."""
    import tantivy

    if len(shard_dirs) == 1:
        os.replace(shard_dirs[0], dest)
    else:
        dest.mkdir()
        metas = [json.loads((d / "meta.json").read_text(encoding="utf-8")) for d in shard_dirs]
        combined = dict(metas[0])
        combined["segments"] = []
        files = ["meta.json"]
        for d, m in zip(shard_dirs, metas, strict=True):
            if m["schema"] != metas[0]["schema"] or m.get("index_settings") != metas[0].get("index_settings"):
                raise RuntimeError(f"{d}: shard schema differs from the first shard's")
            keys = {seg["segment_id"].replace("-", "") for seg in m["segments"]}
            for f in sorted(d.iterdir()):
                if f.name.split(".", 1)[0] in keys:
                    os.replace(f, dest / f.name)
                    files.append(f.name)
            combined["segments"].extend(m["segments"])
            shutil.rmtree(d)
        combined["opstamp"] = max(int(m["opstamp"]) for m in metas)
        atomic_write_text(dest / ".managed.json", json.dumps(files))
        atomic_write_text(dest / "meta.json", json.dumps(combined, indent=2))
    index = tantivy.Index.open(str(dest))
    searcher = index.searcher()
    if searcher.num_docs != n_docs:
        raise RuntimeError(f"{dest}: gathered index has {searcher.num_docs} documents, expected {n_docs}")
    return int(searcher.num_segments)


def _swap_in(tmp: Path, final: Path) -> None:
    """Move the freshly built ``tmp`` to ``final``; an older index is moved aside, then removed."""
    old = None
    if final.exists():
        old = final.with_name(f"{INDEX_DIR}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@dataclass(frozen=True)
class ScoredPage:
    """A ranked page with its full text (what the search server returns)."""

    page: Page
    score: float
    rank: int


class BM25Retriever:
    """BM25 search over a corpus folder's persisted index; implements ``Retriever``.

    ``search`` returns hits with snippets; ``search_pages`` the full pages; ``open`` one page by id
    (through the page store). Safe to share between threads.
    """

    def __init__(self, corpus_dir: str | os.PathLike, *, config: SearchConfig | None = None):
        import tantivy

        self.config = config or SearchConfig()
        self.corpus_dir = Path(corpus_dir)
        index_dir = self.corpus_dir / INDEX_DIR
        meta = _read_meta(index_dir)
        if meta is None:
            raise IndexNotFound(
                f"{index_dir}: no complete search index (run `longtracerl search index --corpus {self.corpus_dir}`)"
            )
        if meta.get("backend") != BACKEND or meta.get("params", {}).get("format_version") != FORMAT_VERSION:
            raise IndexNotFound(
                f"{index_dir / META_FILE}: index backend/format {meta.get('backend')!r}/"
                f"{meta.get('params', {}).get('format_version')!r} is not {BACKEND!r}/{FORMAT_VERSION}; "
                f"rebuild with `longtracerl search index --corpus {self.corpus_dir} --force`"
            )
        self.meta = meta
        self.store = PageStore(self.corpus_dir)
        if len(self.store) != meta["doc_count"]:
            raise IndexNotFound(
                f"{index_dir}: index has {meta['doc_count']} pages but the store has {len(self.store)}; "
                f"rebuild with `longtracerl search index --corpus {self.corpus_dir}`"
            )
        self._index = tantivy.Index.open(str(index_dir / TANTIVY_SUBDIR))
        self._index.register_tokenizer(ANALYZER_NAME, analyzer())
        self._searcher = self._index.searcher()
        self._store_lock = threading.Lock()
        boosts = {"body": 1.0}
        if self.config.title_boost > 0:
            boosts["title"] = self.config.title_boost
        self._fields = list(boosts)
        self._boosts = boosts

    def __len__(self) -> int:
        return int(self.meta["doc_count"])

    def _ranked(self, query: str, k: int) -> list[tuple[str, float]]:
        return [(self.doc_id(addr), score) for score, addr in self._hits(query, k)]

    def _hits(self, query: str, k: int) -> list[tuple[float, Any]]:
        """``(score, doc address)`` of the top ``k``, best first, without fetching any document
        (ties keep index order, so the top ``j`` of a search for ``k >= j`` is the search for ``j``)."""
        if not isinstance(query, str):
            raise TypeError(f"query must be a string, got {type(query).__name__}")
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        text = sanitize_query(query, self.config.max_query_terms)
        # no index term left (empty, punctuation, only stop words): tantivy would match every page
        if not text or not query_terms(text, self.config.max_query_terms):
            return []
        try:
            parsed = self._index.parse_query(text, self._fields, field_boosts=self._boosts)
        except ValueError:  # not expected after sanitising; stay safe for odd unicode
            parsed, _errors = self._index.parse_query_lenient(text, self._fields, field_boosts=self._boosts)
        result = self._searcher.search(parsed, k)
        out = [(float(score), addr) for score, addr in result.hits]
        out.sort(key=lambda x: -x[0])  # stable: ties keep index order
        return out

    def doc_id(self, addr: Any) -> str:
        """The page id stored at a doc address of :meth:`_hits`."""
        return self._searcher.doc(addr)["id"][0]

    def address_of(self, page_id: str) -> Any | None:
        """The doc address of a page id (None when the page is not in the index)."""
        import tantivy

        query = tantivy.Query.term_query(self._index.schema, "id", page_id)
        hits = self._searcher.search(query, 1).hits
        return hits[0][1] if hits else None

    def search_pages(self, query: str, k: int = 10) -> list[ScoredPage]:
        """The top ``k`` pages for ``query`` with their full text; [] for an empty query."""
        ranked = self._ranked(query, k)
        with self._store_lock:
            pages = self.store.get_many(pid for pid, _ in ranked)
        out = []
        for pid, score in ranked:
            page = pages.get(pid)
            if page is None:
                raise IndexNotFound(
                    f"{self.corpus_dir / INDEX_DIR}: page {pid!r} is in the index but not in the store; "
                    f"rebuild with `longtracerl search index --corpus {self.corpus_dir} --force`"
                )
            out.append(ScoredPage(page=page, score=score, rank=len(out) + 1))
        return out

    def search(self, query: str, k: int = 10) -> list[Hit]:
        """The top ``k`` hits (rank 1 = best) with a snippet around the matching words."""
        return [
            Hit(
                page_id=sp.page.id,
                title=sp.page.title,
                snippet=make_snippet(query, sp.page.text, self.config.snippet_chars),
                score=sp.score,
                rank=sp.rank,
            )
            for sp in self.search_pages(query, k)
        ]

    def open(self, page_id: str) -> Page:
        """The full page; raises ``PageNotFound``."""
        with self._store_lock:
            return self.store.open(page_id)

    def get_many(self, page_ids: list[str]) -> dict[str, Page]:
        """Pages by id (missing ids are absent from the result)."""
        with self._store_lock:
            return self.store.get_many(page_ids)

    def close(self) -> None:
        self.store.close()


def open_retriever(corpus_dir: str | os.PathLike, *, config: SearchConfig | None = None) -> BM25Retriever:
    """Open the persisted index of ``corpus_dir`` (raises ``IndexNotFound`` when missing/stale)."""
    return BM25Retriever(corpus_dir, config=config)
