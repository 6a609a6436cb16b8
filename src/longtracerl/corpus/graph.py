"""The link graph in compact CSR form (numpy), over the page store's integer indices.

Example:
    >>> g = LinkGraph.from_edges(3, [0, 0, 1, 1], [1, 2, 2, 1])   # self-loop 1->1 dropped
    >>> g.neighbors(0).tolist(), g.out_degree().tolist(), g.num_links
    ([1, 2], [2, 1, 0], 3)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

GRAPH_FILE = "graph.npz"


class LinkGraph:
    """Directed graph: ``indices[indptr[i]:indptr[i+1]]`` are the pages page ``i`` links to."""

    def __init__(self, indptr: np.ndarray, indices: np.ndarray):
        self.indptr = np.asarray(indptr, dtype=np.int64)
        self.indices = np.asarray(indices, dtype=np.int32)
        if self.indptr.ndim != 1 or self.indptr[0] != 0 or self.indptr[-1] != len(self.indices):
            raise ValueError("malformed CSR arrays")

    @property
    def num_pages(self) -> int:
        return len(self.indptr) - 1

    @property
    def num_links(self) -> int:
        return len(self.indices)

    @classmethod
    def from_edges(
        cls, num_pages: int, src: Sequence[int] | np.ndarray, dst: Sequence[int] | np.ndarray
    ) -> LinkGraph:
        """Build from edge lists; drops self-links and duplicate edges; rows sorted."""
        s = np.asarray(src, dtype=np.int64)
        d = np.asarray(dst, dtype=np.int64)
        keep = s != d
        s, d = s[keep], d[keep]
        if len(s):
            key = np.unique(s * num_pages + d)
            s, d = key // num_pages, key % num_pages
        counts = np.bincount(s, minlength=num_pages)
        indptr = np.zeros(num_pages + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return cls(indptr, d.astype(np.int32))

    def neighbors(self, idx: int) -> np.ndarray:
        return self.indices[self.indptr[idx] : self.indptr[idx + 1]]

    def out_degree(self) -> np.ndarray:
        return np.diff(self.indptr)

    def in_degree(self) -> np.ndarray:
        return np.bincount(self.indices, minlength=self.num_pages)

    def save(self, path: str | os.PathLike) -> None:
        path = Path(path)
        tmp = path.with_name(path.name + ".partial.npz")
        np.savez_compressed(tmp, indptr=self.indptr, indices=self.indices)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> LinkGraph:
        path = Path(path)
        if path.is_dir():
            path = path / GRAPH_FILE
        if not path.exists():
            raise FileNotFoundError(f"{path}: no link graph (run `longtracerl corpus prepare` first)")
        with np.load(path) as z:
            return cls(z["indptr"], z["indices"])
