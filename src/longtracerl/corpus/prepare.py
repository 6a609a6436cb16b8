"""``prepare_corpus``: input file -> ``CORPUS/`` (pages.sqlite, graph.npz, index/, manifest.json).

Crash safety and resumability: everything is built under ``CORPUS/.building/``; the old manifest
is removed before finished files are moved into place, the search index hook runs, and the
manifest (``status: complete``) is written last and atomically. A folder is complete exactly when
its manifest says so; a crash at any point leaves a folder that the next ``prepare`` rebuilds.
A second ``prepare`` with the same source, input (path, size, mtime) and config is skipped.

Example:
    >>> import json, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> rows = [{"id": "a", "title": "Alpha Centauri", "text": "Near Beta Pictoris."},
    ...         {"id": "b", "title": "Beta Pictoris", "text": "Far from Alpha Centauri."}]
    >>> _ = (d / "in.jsonl").write_text("".join(json.dumps(r) + "\\n" for r in rows))
    >>> cfg = CorpusConfig(build_index=False)
    >>> m = prepare_corpus("jsonl", d / "in.jsonl", d / "corpus", cfg)
    >>> m.counts["pages"], m.counts["links"], m.graph["method"]
    (2, 2, 'mentions')
    >>> prepare_corpus("jsonl", d / "in.jsonl", d / "corpus", cfg).skipped_run
    True
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from array import array
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from longtracerl import __version__
from longtracerl.config import ConfigError, config_hash, resolve
from longtracerl.corpus.config import CorpusConfig
from longtracerl.corpus.graph import GRAPH_FILE
from longtracerl.corpus.links import build_anchor_graph_indexed, build_mention_graph
from longtracerl.corpus.loaders import LOADERS, LoadContext, as_loader_spec
from longtracerl.corpus.markup import clean_page_text, clean_title
from longtracerl.corpus.store import STORE_FILE, PageStore
from longtracerl.records import SCHEMA_VERSION, RecordError, RejectedItem, atomic_write_text, dump_line

__all__ = ["Manifest", "prepare_corpus", "read_manifest", "MANIFEST_FILE", "SKIPPED_FILE"]

log = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.json"
SKIPPED_FILE = "skipped.jsonl"
BUILD_DIR = ".building"


class Manifest(BaseModel):
    """What ``CORPUS/manifest.json`` records about a prepared corpus."""

    model_config = ConfigDict(extra="forbid")
    schema_version: int = SCHEMA_VERSION
    status: str = Field(description="'complete' once pages, graph and index are all in place.")
    source: str = Field(description="Loader name (hotpotqa, kilt, jsonl, wiki-summaries or module:attr).")
    input: str = Field(description="Absolute path of the input file.")
    input_size: int
    input_mtime_ns: int
    config: dict[str, Any]
    config_hash: str
    counts: dict[str, Any] = Field(description="pages, links, records skipped by reason, loader notes.")
    graph: dict[str, Any] = Field(description="How the link graph was built and what was dropped.")
    index: dict[str, Any] | None = Field(default=None, description="What build_index returned, or None.")
    timings: dict[str, float] = Field(description="Seconds per phase: load, graph, index, total.")
    created_at: str
    longtracerl_version: str = __version__
    skipped_run: bool = Field(default=False, description="True when prepare found the corpus already built.")


def read_manifest(corpus_dir: str | os.PathLike) -> Manifest | None:
    """The corpus folder's manifest, or None when there is none (an unfinished folder)."""
    path = Path(corpus_dir) / MANIFEST_FILE
    if not path.exists():
        return None
    try:
        return Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as err:
        log.warning("%s: unreadable manifest (%s); the corpus will be rebuilt", path, err)
        return None


def _resolve_input(source: str, spec_default: str | None, input_path: str | os.PathLike | None) -> Path:
    if input_path is not None:
        return Path(input_path).expanduser().resolve()
    if spec_default is None:
        raise ConfigError(f"corpus source '{source}' has no embedded copy: pass --input PATH")
    from longtracerl.assets import asset_path

    return asset_path(spec_default).resolve()


def _is_current(
    out: Path, m: Manifest | None, source: str, inp: Path, st: os.stat_result, chash: str
) -> bool:
    return (
        m is not None
        and m.status == "complete"
        and m.source == source
        and m.input == str(inp)
        and m.input_size == st.st_size
        and m.input_mtime_ns == st.st_mtime_ns
        and m.config_hash == chash
        and (out / STORE_FILE).exists()
        and (out / GRAPH_FILE).exists()
    )


class _SkipWriter:
    """Streams skipped items to ``skipped.jsonl`` (created on the first skip)."""

    def __init__(self, path: Path):
        self.path = path
        self._fh = None

    def __call__(self, item: RejectedItem) -> None:
        if self._fh is None:
            self._fh = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 (closed in close())
        self._fh.write(dump_line(item))

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _call_build_index(corpus_dir: Path, progress: bool, cfg: CorpusConfig | None = None) -> dict:
    """The search stage's hook, imported lazily (it may pull in tantivy/bm25s)."""
    try:
        from longtracerl.search.index import SearchConfig, build_index
    except ImportError as err:
        raise ConfigError(
            f"build_index=true but longtracerl.search.index.build_index cannot be imported ({err}); "
            "install the search extra or run with --set build_index=false"
        ) from None
    import inspect

    kwargs = {"progress": progress} if "progress" in inspect.signature(build_index).parameters else {}
    search_fields = {}
    if cfg is not None and cfg.index_shard_mb is not None:
        search_fields["shard_mb"] = cfg.index_shard_mb
    if cfg is not None and cfg.index_writer_heap_mb is not None:
        search_fields["writer_heap_mb"] = cfg.index_writer_heap_mb
    if search_fields:
        kwargs["config"] = SearchConfig(**search_fields)
    result = build_index(corpus_dir, **kwargs)
    return dict(result) if result is not None else {}


def prepare_corpus(
    source: str,
    input_path: str | os.PathLike | None,
    out: str | os.PathLike,
    cfg: CorpusConfig | None = None,
    *,
    force: bool = False,
    progress: bool = False,
) -> Manifest:
    """Load ``input_path`` (or the source's embedded copy) into the corpus folder ``out``.

    Builds ``pages.sqlite``, ``graph.npz``, ``skipped.jsonl`` (when anything was skipped), the
    search index (when ``cfg.build_index``) and ``manifest.json``. Skipped (and the manifest
    returned with ``skipped_run=True``) when ``out`` is already complete for the same source,
    input and config, unless ``force``.
    """
    cfg = cfg or CorpusConfig()
    spec = as_loader_spec(resolve(LOADERS, source, "corpus source"), source)
    out = Path(out)
    inp = _resolve_input(source, spec.default_asset, input_path)
    if not inp.exists():
        raise FileNotFoundError(f"{inp}: input file not found")
    st = inp.stat()
    chash = config_hash(cfg)
    existing = read_manifest(out)
    if not force and _is_current(out, existing, source, inp, st, chash):
        log.info("%s: corpus already complete (config %s); skipping", out, chash)
        assert existing is not None
        return existing.model_copy(update={"skipped_run": True})

    t_start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    build = out / BUILD_DIR
    if build.exists():
        shutil.rmtree(build)  # leftovers of a crashed run
    build.mkdir()
    try:
        skips = _SkipWriter(build / SKIPPED_FILE)
        ctx = LoadContext(inp, skip_bad=cfg.skip_bad, max_chars=cfg.max_chars, on_skip=skips)
        try:
            pages = _load_pages(spec, ctx, build, cfg, source, progress)
        finally:
            skips.close()
        t_loaded = time.perf_counter()
        n = len(pages.id_index)
        if n == 0:
            raise RecordError(inp, None, None, f"no usable page (skipped: {dict(ctx.skipped) or 'none'})")
        graph, gstats = _build_graph(build, pages, cfg, progress)
        graph.save(build / GRAPH_FILE)
        t_graph = time.perf_counter()
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)  # an error leaves no half-built files (a hard kill may)
        raise
    _move_into_place(build, out)

    index_info = _call_build_index(out, progress, cfg) if cfg.build_index else None
    t_index = time.perf_counter()
    manifest = Manifest(
        status="complete",
        source=source,
        input=str(inp),
        input_size=st.st_size,
        input_mtime_ns=st.st_mtime_ns,
        config=cfg.model_dump(mode="json"),
        config_hash=chash,
        counts=_counts(n, ctx, graph, pages.with_links),
        graph=gstats,
        index=index_info,
        timings={
            "load_s": round(t_loaded - t_start, 3),
            "graph_s": round(t_graph - t_loaded, 3),
            "index_s": round(t_index - t_graph, 3),
            "total_s": round(time.perf_counter() - t_start, 3),
        },
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    atomic_write_text(out / MANIFEST_FILE, json.dumps(manifest.model_dump(mode="json"), indent=2) + "\n")
    return manifest


@dataclass
class _Pages:
    """What the graph step needs of the loaded pages, held in memory: id -> index and title ->
    first index (anchor resolution), and the titles and texts only while the graph may be built
    from mentions (an anchor graph never needs the texts)."""

    id_index: dict[str, int] = field(default_factory=dict)
    title_index: dict[str, int] = field(default_factory=dict)
    titles: list[str] | None = None
    texts: list[str] | None = None
    with_links: int = 0  # pages whose source gave links


def _load_pages(
    spec: Any, ctx: LoadContext, build: Path, cfg: CorpusConfig, source: str, progress: bool
) -> _Pages:
    """Write the source's pages into ``build/pages.sqlite``, skipping (or refusing, as the loader
    says) a duplicate id; a page's line (or field, for JSON-document sources) names the first copy."""
    pages = _Pages()
    if cfg.links != "anchors":
        pages.titles, pages.texts = [], []
    first_line = array("q")
    first_field: dict[int, str] = {}
    with PageStore.create(build) as writer:
        loaded_iter = spec.load(ctx)
        if progress:
            from tqdm import tqdm

            loaded_iter = tqdm(loaded_iter, desc=f"load {source}", unit="page", mininterval=0.5)
        for loaded in loaded_iter:
            page = loaded.page
            raw_title = page.title
            if cfg.clean_markup and not _clean_markup(ctx, loaded):
                continue
            prev_idx = pages.id_index.get(page.id)
            if prev_idx is not None:
                prev_line = first_line[prev_idx]
                prev = f"line {prev_line}" if prev_line >= 0 else str(first_field.get(prev_idx))
                _duplicate(ctx, spec, loaded, prev)
                continue
            idx = writer.add(page)
            pages.id_index[page.id] = idx
            pages.title_index.setdefault(page.title, idx)
            if raw_title != page.title:  # anchor links may name the title as the source wrote it
                pages.title_index.setdefault(raw_title, idx)
            first_line.append(loaded.line if loaded.line is not None else -1)
            if loaded.field is not None:
                first_field[idx] = loaded.field
            if page.links:
                pages.with_links += 1
                if cfg.links == "auto":
                    pages.texts = pages.titles = None  # auto resolves to anchors: not needed
            if pages.texts is not None and pages.titles is not None:
                pages.titles.append(page.title)
                pages.texts.append(page.text)
    return pages


def _duplicate(ctx: LoadContext, spec: Any, loaded: Any, prev: str) -> None:
    """A second page with an id already loaded: skipped (``duplicates: first``) or an error."""
    page = loaded.page
    if spec.duplicates == "first":
        ctx.skip("duplicate_id", loaded.line, loaded.field, f"duplicate id {page.id!r} (first at {prev})")
    else:
        ctx.bad(
            loaded.line,
            "id" if loaded.field is None else loaded.field,
            f"duplicate page id {page.id!r} (first at {prev})",
            reason="duplicate_id",
            item_id=page.id,
        )


def _build_graph(build: Path, pages: _Pages, cfg: CorpusConfig, progress: bool) -> tuple[Any, dict]:
    """The link graph from the source's anchors or from title mentions (``cfg.links``; ``auto``:
    anchors when any page had links). Frees the loaded indices and texts as it goes."""
    n = len(pages.id_index)
    mode = cfg.links
    if mode == "auto":
        mode = "anchors" if pages.with_links else "mentions"
    if mode == "anchors":
        pages.texts = pages.titles = None
        store = PageStore(build)
        try:
            graph, gstats = build_anchor_graph_indexed(
                n, pages.id_index, pages.title_index, store.iter_links()
            )
        finally:
            store.close()
    else:
        assert pages.texts is not None and pages.titles is not None
        pages.id_index.clear()
        pages.title_index.clear()
        graph, gstats = build_mention_graph(pages.titles, pages.texts, cfg, progress=progress)
    pages.texts = pages.titles = None
    pages.id_index.clear()
    pages.title_index.clear()
    return graph, gstats


def _move_into_place(build: Path, out: Path) -> None:
    """Finished files from ``build`` into ``out``, the old manifest removed first, so a crash never
    leaves a folder that says it is complete."""
    (out / MANIFEST_FILE).unlink(missing_ok=True)
    for name in (STORE_FILE, GRAPH_FILE, SKIPPED_FILE):
        if (build / name).exists():
            os.replace(build / name, out / name)
        elif name == SKIPPED_FILE:
            (out / name).unlink(missing_ok=True)
    shutil.rmtree(build, ignore_errors=True)


def _counts(n: int, ctx: LoadContext, graph: Any, with_links: int) -> dict[str, Any]:
    """The manifest's ``counts``: pages, records skipped by reason, loader notes, link figures."""
    out_deg = graph.out_degree()
    return {
        "records_read": n + int(sum(ctx.skipped.values())),
        "pages": n,
        "skipped": dict(sorted(ctx.skipped.items())),
        "skipped_total": int(sum(ctx.skipped.values())),
        "notes": dict(sorted(ctx.notes.items())),
        "links": graph.num_links,
        "pages_with_source_links": with_links,
        "pages_without_out_links": int((out_deg == 0).sum()),
        "pages_with_more_than_3_links": int((out_deg > 3).sum()),
    }


def _clean_markup(ctx: LoadContext, loaded: Any) -> bool:
    """Strip markup from the loaded page's text in place (corpus.markup) and unescape HTML entities in
    its title (``Queen &amp; Adam Lambert`` -> ``Queen & Adam Lambert``; the id is kept as given, and
    anchor links naming the raw title still resolve); False when no text is left."""
    page = loaded.page
    if "&" in page.title:
        page.title = clean_title(page.title)
    text = clean_page_text(page.text, page.title)
    if text != page.text:
        ctx.note("pages_markup_cleaned")
        page.text = text
    if not text.strip():
        ctx.skip(
            "empty_text",
            loaded.line,
            loaded.field or "text",
            "empty text after markup cleaning",
            item_id=page.id,
        )
        return False
    return True


def corpus_fingerprint(m: Manifest) -> str:
    """A short id of a prepared corpus (source, input, config), for downstream provenance."""
    blob = f"{m.source}|{m.input}|{m.input_size}|{m.input_mtime_ns}|{m.config_hash}"
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]
