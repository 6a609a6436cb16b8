"""Existing QA sets as a question source: ``longtracerl questions import``.

Reads human-written multi-hop questions and writes them as :class:`~longtracerl.records.Question`
records to ``RUN/questions.jsonl``, so the agent, contexts and report stages run on them exactly
as on composed questions (no walks, no composer).

Sources (:data:`IMPORTERS`):

- ``hotpotqa``: a HotpotQA JSON file (a list of ``{_id, question, answer, supporting_facts, ...}``;
  2WikiMultihopQA files have the same shape). Default input: the embedded dev "distractor" file
  (``asset_path("hotpotqa")``), the file the embedded corpus is built from; its split is ``dev``.
- ``jsonl``: one JSON object per line: ``question``, ``answer``, the gold pages as ``gold_titles``
  (list of page titles) or ``gold_page_ids``, optional ``id`` and ``aliases``. Field names of
  common QA files are read too: ``_id``/``question_id``, ``answer_aliases``, ``supporting_facts``
  (``[[title, sentence], ...]``), ``paragraphs`` with ``is_supporting`` (MuSiQue) and
  ``wiki_links`` (Wikipedia URLs, FRAMES). See docs/import.md.

The label of each question: ``answer``; ``rubrics`` = the gold titles in order (as the corpus spells them), without a
trailing ``(qualifier)`` (plus the answer with ``rubrics_include_answer``); ``gold_page_ids`` = the titles
resolved in the corpus (exact title first, then case- and space-insensitive). An item whose gold
pages are not all in the corpus, or that has no answer or no gold page, is written to
``RUN/questions.rejected.jsonl`` with its reason; nothing is dropped silently. A malformed line or
a field of the wrong type stops the import with the file, line and field.

Example:
    >>> raw = RawItem("1", "Who founded it?", "Ann", ["Acme (firm)", "Ann Lee"], [], [], "f.jsonl:1")
    >>> raw.rubrics(include_answer=True)
    ['Acme', 'Ann Lee', 'Ann']
"""

from __future__ import annotations

import html
import json
import random
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from longtracerl.records import (
    Label,
    Provenance,
    Question,
    RecordError,
    RejectedItem,
    atomic_write_text,
    write_jsonl,
)
from longtracerl.textfacts import strip_qualifier

if TYPE_CHECKING:
    from longtracerl.corpus.store import PageStore


__all__ = ["IMPORTERS", "ImportStats", "RawItem", "TitleResolver", "import_questions"]

QUESTIONS_FILE = "questions.jsonl"
REJECTED_FILE = "questions.rejected.jsonl"
SUMMARY_FILE = "questions.import.json"


@dataclass
class RawItem:
    """One QA item as read from a file, before its titles are resolved in the corpus."""

    item_id: str
    question: str
    answer: str
    titles: list[str]  # gold page titles, in order
    page_ids: list[str]  # gold page ids given directly (used when there are no titles)
    aliases: list[str]
    where: str  # file:line (or file#index) for messages

    def rubrics(self, include_answer: bool = False) -> list[str]:
        out = list(dict.fromkeys(strip_qualifier(t) for t in self.titles))
        if include_answer and self.answer not in out:
            out.append(self.answer)
        return out


@dataclass
class ImportStats:
    source: str
    input: str
    split: str | None
    read: int = 0  # items in the file
    sampled: int = 0  # items considered (all, or the seeded sample)
    written: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        rej = ", ".join(f"{k}={v}" for k, v in sorted(self.rejected.items())) or "none"
        return (
            f"import {self.source}: {self.written} questions written of {self.sampled} considered "
            f"({self.read} in {self.input}); rejected: {rej}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "input": self.input,
            "split": self.split,
            "read": self.read,
            "sampled": self.sampled,
            "written": self.written,
            "rejected": dict(sorted(self.rejected.items())),
        }


# --------------------------------------------------------------------------- readers


def _str_field(obj: dict, keys: tuple[str, ...], path: Path, line: int | None) -> str:
    """The first present key's value as a stripped string ('' when none is present)."""
    for key in keys:
        if key in obj and obj[key] is not None:
            value = obj[key]
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise RecordError(path, line, key, f"expected a string, got {type(value).__name__}")
            return str(value).strip()
    return ""


def _str_list(obj: dict, key: str, path: Path, line: int | None) -> list[str]:
    value = obj.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise RecordError(path, line, key, "expected a list of strings")
    return [str(v).strip() for v in value if str(v).strip()]


def _titles_from(obj: dict, path: Path, line: int | None) -> list[str]:
    """Gold titles in order, from whichever field the file uses."""
    if "gold_titles" in obj or "titles" in obj:
        return _str_list(obj, "gold_titles" if "gold_titles" in obj else "titles", path, line)
    if "supporting_facts" in obj:  # HotpotQA / 2WikiMultihopQA: [[title, sentence index], ...]
        facts = obj["supporting_facts"]
        if not isinstance(facts, list) or not all(
            isinstance(f, list | tuple) and f and isinstance(f[0], str) for f in facts
        ):
            raise RecordError(path, line, "supporting_facts", "expected [[title, sentence index], ...]")
        return list(dict.fromkeys(f[0].strip() for f in facts))
    if "paragraphs" in obj:  # MuSiQue: [{title, paragraph_text, is_supporting}, ...]
        paras = obj["paragraphs"]
        if not isinstance(paras, list) or not all(isinstance(p, dict) for p in paras):
            raise RecordError(path, line, "paragraphs", "expected a list of objects")
        return list(dict.fromkeys(str(p.get("title", "")).strip() for p in paras if p.get("is_supporting")))
    if "wiki_links" in obj:  # FRAMES: Wikipedia URLs
        links = obj["wiki_links"]
        if isinstance(links, str):  # FRAMES ships them as a Python-list string
            links = [s.strip(" '\"") for s in links.strip("[]").split(",")]
        if not isinstance(links, list):
            raise RecordError(path, line, "wiki_links", "expected a list of URLs")
        return [unquote(str(u).rstrip("/").rsplit("/", 1)[-1]).replace("_", " ") for u in links if u]
    return []


def _raw_item(obj: Any, where: str, path: Path, line: int | None, fallback_id: str) -> RawItem:
    if not isinstance(obj, dict):
        raise RecordError(path, line, None, f"expected a JSON object, got {type(obj).__name__}")
    return RawItem(
        item_id=_str_field(obj, ("id", "_id", "question_id"), path, line) or fallback_id,
        question=_str_field(obj, ("question", "Prompt"), path, line),
        answer=_str_field(obj, ("answer", "Answer"), path, line),
        titles=_titles_from(obj, path, line),
        page_ids=_str_list(obj, "gold_page_ids", path, line),
        aliases=_str_list(obj, "aliases" if "aliases" in obj else "answer_aliases", path, line),
        where=where,
    )


def read_hotpotqa(path: Path, split: str | None) -> Iterator[RawItem]:
    """Items of a HotpotQA-shaped JSON list (gold titles = supporting-fact titles, in order)."""
    from longtracerl.corpus.loaders import _load_json_document

    data = _load_json_document(path)
    if not isinstance(data, list):
        raise RecordError(path, None, None, f"expected a JSON list of examples, got {type(data).__name__}")
    for i, obj in enumerate(data):
        yield _raw_item(obj, f"{path}#{i}", path, None, fallback_id=str(i))


def read_jsonl(path: Path, split: str | None) -> Iterator[RawItem]:
    """Items of a JSON-lines file, one object per line (see the module docstring for the fields)."""
    from longtracerl.corpus.loaders import open_input

    with open_input(path) as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as err:
                raise RecordError(path, lineno, None, f"not valid UTF-8 (byte {err.start})") from None
            except json.JSONDecodeError as err:
                raise RecordError(
                    path, lineno, None, f"malformed JSON: {err.msg} at column {err.colno}"
                ) from None
            yield _raw_item(obj, f"{path}:{lineno}", path, lineno, fallback_id=f"line{lineno}")


def _default_hotpotqa(split: str | None) -> Path:
    from longtracerl.assets import asset_path
    from longtracerl.config import ConfigError

    if split not in (None, "dev"):
        raise ConfigError(
            f"field 'split': the embedded HotpotQA file is the dev split, got {split!r}; "
            "pass the other split's file with --input"
        )
    return asset_path("hotpotqa")


@dataclass(frozen=True)
class ImporterSpec:
    read: Callable[[Path, str | None], Iterator[RawItem]]
    default_input: Callable[[str | None], Path] | None = None
    default_split: str | None = None


IMPORTERS: dict[str, ImporterSpec] = {
    "hotpotqa": ImporterSpec(read_hotpotqa, _default_hotpotqa, "dev"),
    "jsonl": ImporterSpec(read_jsonl),
}
"""Source name (``--source``) -> reader; ``module:attr`` names a user :class:`ImporterSpec`."""


# --------------------------------------------------------------------------- resolving


def _title_key(title: str) -> str:
    # unescaped: HotpotQA writes 'Tunnels &amp; Trolls'; a corpus prepared with clean_markup says '&'
    return " ".join(unicodedata.normalize("NFC", html.unescape(title)).replace("_", " ").casefold().split())


class TitleResolver:
    """Page ids of gold titles: the exact title first, then a case- and space-insensitive match."""

    def __init__(self, store: PageStore):
        self.store = store
        self._loose: dict[str, str] | None = None

    def __call__(self, title: str) -> str | None:
        pid = self.store.find_title(title)
        if pid is not None:
            return pid
        if self._loose is None:  # built once, on the first miss
            self._loose = {}
            for pid_, t in zip(self.store.ids(), self.store.titles(), strict=True):
                self._loose.setdefault(_title_key(t), pid_)
        return self._loose.get(_title_key(title))


def _resolve(raw: RawItem, resolver: TitleResolver, store: PageStore) -> tuple[list[str], str | None]:
    """(gold page ids, None) or ([], why the item is rejected)."""
    if raw.titles:
        ids, missing = [], []
        for t in raw.titles:
            pid = resolver(t)
            if pid is None:
                missing.append(t)
            else:
                ids.append(pid)
        if missing:
            return [], f"gold titles not in the corpus: {missing}"
        return list(dict.fromkeys(ids)), None
    missing = [pid for pid in raw.page_ids if pid not in store]
    if missing:
        return [], f"gold page ids not in the corpus: {missing}"
    return list(dict.fromkeys(raw.page_ids)), None


def _titles_of(ids: list[str], store: PageStore) -> list[str]:
    return [store.title_of(pid) for pid in ids]


# --------------------------------------------------------------------------- entry point


def import_questions(
    corpus_dir: str | Path,
    run_dir: str | Path,
    *,
    source: str = "hotpotqa",
    input: str | Path | None = None,  # noqa: A002 (the CLI flag's name)
    split: str | None = None,
    n: int | None = None,
    seed: int = 0,
    rubrics_include_answer: bool = False,
    overwrite: bool = False,
    store: PageStore | None = None,
) -> ImportStats:
    """Import a QA set into ``RUN/questions.jsonl`` (and the rejected file, and a summary).

    ``n`` draws a seeded sample of ``n`` items (``random.Random(seed)``, kept in file order);
    ``None`` imports every item. An existing ``questions.jsonl`` is kept unless ``overwrite``.
    """
    from longtracerl.config import ConfigError, resolve

    spec: ImporterSpec = resolve(IMPORTERS, source, "question source")
    if input is None:
        if spec.default_input is None:
            raise ConfigError(f"field 'input': --source {source} needs --input FILE")
        path = spec.default_input(split)
    else:
        path = Path(input)
        if not path.exists():
            raise FileNotFoundError(f"{path}: question file not found")
    split = split or spec.default_split
    run_dir = Path(run_dir)
    out_path = run_dir / QUESTIONS_FILE
    if out_path.exists() and not overwrite:
        raise FileExistsError(f"{out_path} exists; import into a new run folder or pass --force")
    if store is None:
        from longtracerl.corpus.store import PageStore

        store = PageStore(corpus_dir)

    items = list(spec.read(path, split))
    stats = ImportStats(source=source, input=str(path), split=split, read=len(items))
    if n is not None and n < len(items):
        picked = sorted(random.Random(seed).sample(range(len(items)), n))
        items = [items[i] for i in picked]
    stats.sampled = len(items)

    resolver = TitleResolver(store)
    questions: list[Question] = []
    rejected: list[RejectedItem] = []
    seen: set[str] = set()
    prefix = source if ":" not in source else "import"
    for raw in items:
        qid = f"{prefix}-{raw.item_id}"
        reason, detail, ids = None, "", []
        if qid in seen:
            reason, detail = "duplicate_id", f"{raw.where}: id {raw.item_id!r} seen earlier"
        elif not raw.question:
            reason, detail = "no_question", f"{raw.where}: field 'question' missing or empty"
        elif not raw.answer:
            reason, detail = "no_answer", f"{raw.where}: field 'answer' missing or empty"
        elif not raw.titles and not raw.page_ids:
            reason, detail = "no_gold_pages", f"{raw.where}: no gold titles or page ids"
        else:
            ids, why = _resolve(raw, resolver, store)
            if why is not None:
                reason, detail = "gold_page_missing", f"{raw.where}: {why}"
        if reason is not None:
            stats.rejected[reason] += 1
            rejected.append(RejectedItem(item_id=qid, stage="questions", reason=reason, detail=detail))
            continue
        seen.add(qid)
        raw.titles = _titles_of(ids, store)  # the corpus's spelling of each gold title
        questions.append(
            Question(
                question_id=qid,
                question=" ".join(raw.question.split()),
                label=Label(
                    answer=raw.answer,
                    rubrics=raw.rubrics(rubrics_include_answer),
                    gold_page_ids=ids,
                    aliases=raw.aliases,
                ),
                provenance=Provenance(
                    stage="questions",
                    seed=seed if n is not None else None,
                    source_ids=[raw.item_id],
                    producer=f"import:{source}" + (f":{split}" if split else ""),
                ),
            )
        )
    stats.written = len(questions)
    write_jsonl(out_path, questions)
    write_jsonl(run_dir / REJECTED_FILE, rejected)
    summary = stats.to_dict() | {"n": n, "seed": seed, "rubrics_include_answer": rubrics_include_answer}
    atomic_write_text(run_dir / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
    return stats
