"""The corpus's page store, under its ``corpus`` import path: :mod:`longtracerl.pagestore`.

The store itself lives a level down, so the search index (which reads it) does not import the
corpus package, whose ``prepare`` builds that index. See docs/corpus.md.
"""

from longtracerl.pagestore import STORE_FILE, DuplicatePageId, PageNotFound, PageStore, PageStoreWriter

__all__ = ["STORE_FILE", "DuplicatePageId", "PageNotFound", "PageStore", "PageStoreWriter"]
