"""On-disk page store: SQLite, one row per page, opened by id without loading the corpus.

The corpus stage writes it (also importable as ``longtracerl.corpus.store``); the search index
and every stage read it. See docs/corpus.md.

Pages get a dense integer index (0..N-1) in insertion order; the link graph (corpus/graph.py) and the
search index refer to pages by that index or by id.

Example:
    >>> import tempfile
    >>> from longtracerl.records import Page
    >>> d = tempfile.mkdtemp()
    >>> with PageStore.create(d) as w:
    ...     _ = w.add(Page(id="a", title="Alpha", text="First."))
    ...     _ = w.add(Page(id="b", title="Beta", text="Second."))
    >>> store = PageStore(d)
    >>> store.open("b").title, len(store), store.index_of("b")
    ('Beta', 2, 1)
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

from longtracerl.records import Page

STORE_FILE = "pages.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    idx   INTEGER PRIMARY KEY,
    id    TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    text  TEXT NOT NULL,
    links TEXT NOT NULL DEFAULT '[]'
);
"""


class PageNotFound(KeyError):
    """A page id (or index, or title) is not in the store."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else "page not found"


class DuplicatePageId(ValueError):
    pass


def _row_to_page(row: tuple) -> Page:
    _idx, pid, title, text, links = row
    return Page(id=pid, title=title, text=text, links=json.loads(links))


class PageStore:
    """Read-only access to a corpus folder's ``pages.sqlite``."""

    def __init__(self, corpus_dir: str | os.PathLike):
        self.dir = Path(corpus_dir)
        self.path = self.dir / STORE_FILE
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no page store (run `longtracerl corpus prepare` first)")
        self._conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        self._len: int | None = None

    # -- writing -------------------------------------------------------------------------
    @classmethod
    def create(cls, corpus_dir: str | os.PathLike) -> PageStoreWriter:
        return PageStoreWriter(Path(corpus_dir) / STORE_FILE)

    # -- reading -------------------------------------------------------------------------
    def __len__(self) -> int:
        if self._len is None:
            self._len = self._conn.execute("SELECT COUNT(*) FROM pages").fetchone()[0]
        return self._len

    def __contains__(self, page_id: object) -> bool:
        return self._conn.execute("SELECT 1 FROM pages WHERE id=?", (page_id,)).fetchone() is not None

    def open(self, page_id: str) -> Page:
        row = self._conn.execute("SELECT * FROM pages WHERE id=?", (page_id,)).fetchone()
        if row is None:
            raise PageNotFound(f"page id {page_id!r} is not in {self.path}")
        return _row_to_page(row)

    def get(self, page_id: str) -> Page | None:
        try:
            return self.open(page_id)
        except PageNotFound:
            return None

    def by_index(self, idx: int) -> Page:
        row = self._conn.execute("SELECT * FROM pages WHERE idx=?", (int(idx),)).fetchone()
        if row is None:
            raise PageNotFound(f"page index {idx} is not in {self.path}")
        return _row_to_page(row)

    def index_of(self, page_id: str) -> int:
        row = self._conn.execute("SELECT idx FROM pages WHERE id=?", (page_id,)).fetchone()
        if row is None:
            raise PageNotFound(f"page id {page_id!r} is not in {self.path}")
        return row[0]

    def id_of(self, idx: int) -> str:
        row = self._conn.execute("SELECT id FROM pages WHERE idx=?", (int(idx),)).fetchone()
        if row is None:
            raise PageNotFound(f"page index {idx} is not in {self.path}")
        return row[0]

    def title_of(self, page_id: str) -> str:
        row = self._conn.execute("SELECT title FROM pages WHERE id=?", (page_id,)).fetchone()
        if row is None:
            raise PageNotFound(f"page id {page_id!r} is not in {self.path}")
        return row[0]

    def find_title(self, title: str) -> str | None:
        """The id of the first page with exactly this title, or None."""
        row = self._conn.execute(
            "SELECT id FROM pages WHERE title=? ORDER BY idx LIMIT 1", (title,)
        ).fetchone()
        return row[0] if row else None

    def get_many(self, page_ids: Iterable[str]) -> dict[str, Page]:
        ids = list(dict.fromkeys(page_ids))
        out: dict[str, Page] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            q = f"SELECT * FROM pages WHERE id IN ({','.join('?' * len(chunk))})"
            for row in self._conn.execute(q, chunk):
                page = _row_to_page(row)
                out[page.id] = page
        return out

    def titles_texts(self, page_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """``{id: (title, text)}`` for the ids found; faster than ``get_many`` (no Page records)."""
        ids = list(dict.fromkeys(page_ids))
        out: dict[str, tuple[str, str]] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            q = f"SELECT id, title, text FROM pages WHERE id IN ({','.join('?' * len(chunk))})"
            for pid, title, text in self._conn.execute(q, chunk):
                out[pid] = (title, text)
        return out

    def iter_pages(self, batch: int = 2000) -> Iterator[Page]:
        """All pages in index order, streamed."""
        cur = self._conn.execute("SELECT * FROM pages ORDER BY idx")
        while rows := cur.fetchmany(batch):
            for row in rows:
                yield _row_to_page(row)

    def iter_links(self, batch: int = 5000) -> Iterator[list[str]]:
        """Every page's ``links`` in index order, streamed (no texts read)."""
        cur = self._conn.execute("SELECT links FROM pages ORDER BY idx")
        while rows := cur.fetchmany(batch):
            for (links,) in rows:
                yield json.loads(links)

    def ids(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT id FROM pages ORDER BY idx")]

    def titles(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT title FROM pages ORDER BY idx")]

    def close(self) -> None:
        self._conn.close()


class PageStoreWriter:
    """Writes pages into a fresh store (the file is built under a temp name, renamed on close)."""

    def __init__(self, path: Path):
        self.final = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = path.with_name(path.name + ".partial")
        self.tmp.unlink(missing_ok=True)
        self._conn = sqlite3.connect(self.tmp)
        self._conn.execute("PRAGMA journal_mode=OFF")
        self._conn.execute("PRAGMA synchronous=OFF")
        self._conn.executescript(_SCHEMA)
        self._n = 0
        self._pending: list[tuple] = []

    def __len__(self) -> int:
        return self._n + len(self._pending)

    def add(self, page: Page) -> int:
        """Add a page, returning its index; raises DuplicatePageId when the id exists."""
        self._pending.append(
            (self._n + len(self._pending), page.id, page.title, page.text, json.dumps(page.links))
        )
        if len(self._pending) >= 5000:
            self._flush()
        return self._n + len(self._pending) - 1

    def _flush(self) -> None:
        if not self._pending:
            return
        try:
            self._conn.executemany("INSERT INTO pages VALUES (?,?,?,?,?)", self._pending)
        except sqlite3.IntegrityError:
            # find the offending id for a precise message
            for row in self._pending:
                if self._conn.execute("SELECT 1 FROM pages WHERE id=?", (row[1],)).fetchone():
                    raise DuplicatePageId(f"duplicate page id {row[1]!r}") from None
            raise
        self._n += len(self._pending)
        self._pending.clear()

    def close(self, *, commit: bool = True) -> None:
        if self._conn is None:
            return
        if commit:
            self._flush()
            self._conn.execute("CREATE INDEX IF NOT EXISTS pages_title ON pages(title)")
            self._conn.commit()
        self._conn.close()
        self._conn = None
        if commit:
            os.replace(self.tmp, self.final)
        else:
            self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> PageStoreWriter:
        return self

    def __exit__(self, exc_type, *exc: object) -> None:
        self.close(commit=exc_type is None)
