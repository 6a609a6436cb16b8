"""Export contexts as training rows: the released JSONL format, verl Parquet, a held-out split.

Outputs (all written atomically: temp files renamed only once every file is complete, so a crash
or a full disk leaves the previous complete files in place and a re-run starts over cleanly):

- ``RUN/rows.jsonl`` / ``RUN/heldout.jsonl``: the released format exactly (docs/method.md#training-rows)::

    {"source": "longqa",
     "input_messages": [{"role": "user", "content": "<instruction>\\n\\nDocuments:\\n\\n...Question: ..."}],
     "label": "<answer>",
     "metadata": {"extra_reward_info": {"question": ..., "rubrics": [...], "dataset_name": "longqa"},
                  "provenance": {...}}}

- ``RUN/rows.parquet`` / ``RUN/heldout.parquet``: verl style (``data_source``, ``prompt`` as a
  chat list, ``ability``, ``reward_model = {style: "rule", ground_truth}``, ``extra_info`` with
  index, split, question, rubrics and provenance).

The held-out split is made by gold pages: questions that share a gold page are joined into one
component (union-find) and whole components go to one side, chosen in a seeded order, so no page
on a held-out question's path is on a training question's path.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from longtracerl.config import ConfigError, config_hash
from longtracerl.contexts.assemble import fetch_pages, render_context
from longtracerl.contexts.config import ExportConfig
from longtracerl.contexts.prompt import stable_seed
from longtracerl.records import (
    Context,
    DocTag,
    ExtraRewardInfo,
    Message,
    Question,
    RecordError,
    RowMetadata,
    TrainingRow,
    atomic_write_text,
    iter_json_lines,
    read_jsonl,
)
from longtracerl.runfolder import missing_input

if TYPE_CHECKING:
    from longtracerl.corpus.store import PageStore

log = logging.getLogger(__name__)

ROWS_JSONL, HELDOUT_JSONL = "rows.jsonl", "heldout.jsonl"
ROWS_PARQUET, HELDOUT_PARQUET = "rows.parquet", "heldout.parquet"
SUMMARY_FILE = "export.summary.json"
DOC_TAGS: tuple[str, ...] = get_args(DocTag)


# --------------------------------------------------------------------------- held-out split


def heldout_split(
    gold_by_question: dict[str, Sequence[str]], cfg: ExportConfig
) -> tuple[list[str], list[str]]:
    """(train ids, held-out ids), disjoint by gold pages; order of the input kept within each side.

    The held-out side gets whole components (questions linked by shared gold pages) in a seeded
    order, never more than the target size (``heldout_count``, else ``round(fraction * n)``).

    Example:
        >>> g = {"q1": ["a", "b"], "q2": ["b", "c"], "q3": ["d"], "q4": ["e"]}
        >>> train, held = heldout_split(g, ExportConfig(heldout_count=1))
        >>> len(held), set(g[held[0]]).isdisjoint({p for q in train for p in g[q]})
        (1, True)
    """
    qids = list(gold_by_question)
    parent = {q: q for q in qids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    owner: dict[str, str] = {}
    for q in qids:
        for p in gold_by_question[q]:
            if p in owner:
                a, b = find(owner[p]), find(q)
                if a != b:
                    parent[b] = a
            else:
                owner[p] = q
    comps: dict[str, list[str]] = {}
    for q in qids:
        comps.setdefault(find(q), []).append(q)
    target = cfg.heldout_count if cfg.heldout_count is not None else round(cfg.heldout_fraction * len(qids))
    held: set[str] = set()
    if target > 0:
        for comp in sorted(comps.values(), key=lambda c: stable_seed(cfg.seed, min(c), "heldout")):
            if len(held) + len(comp) <= target:
                held.update(comp)
            if len(held) >= target:
                break
    return [q for q in qids if q not in held], [q for q in qids if q in held]


# --------------------------------------------------------------------------- row shapes


def make_row(
    ctx: Context, q: Question, content: str, split: str, dataset_name: str = "longqa"
) -> TrainingRow:
    tags = {t: 0 for t in DOC_TAGS}
    for d in ctx.docs:
        tags[d.tag] += 1
    provenance = {
        "question_id": q.question_id,
        "split": split,
        "strategy": ctx.strategy,
        "target_tokens": ctx.target_tokens,
        "total_tokens": ctx.total_tokens,
        "tokenizer": ctx.tokenizer,
        "n_docs": len(ctx.docs),
        "doc_tags": tags,
        "instruction_id": ctx.instruction_id,
        "seed": ctx.provenance.seed,
        "config_hash": ctx.provenance.config_hash,
        "source_ids": list(ctx.provenance.source_ids),
        "gold_page_ids": list(q.label.gold_page_ids),
        "producers": dict(ctx.provenance.producers),
    }
    return TrainingRow(
        source=dataset_name,
        input_messages=[Message(role="user", content=content)],
        label=q.label.answer,
        metadata=RowMetadata(
            extra_reward_info=ExtraRewardInfo(
                question=q.question, rubrics=list(q.label.rubrics), dataset_name=dataset_name
            ),
            provenance=provenance,
        ),
    )


def _parquet_schema():
    import pyarrow as pa

    msg = pa.struct([("role", pa.string()), ("content", pa.string())])
    return pa.schema(
        [
            ("data_source", pa.string()),
            ("prompt", pa.list_(msg)),
            ("ability", pa.string()),
            ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
            (
                "extra_info",
                pa.struct(
                    [
                        ("index", pa.int64()),
                        ("split", pa.string()),
                        ("question_id", pa.string()),
                        ("question", pa.string()),
                        ("rubrics", pa.list_(pa.string())),
                        ("strategy", pa.string()),
                        ("total_tokens", pa.int64()),
                        ("tokenizer", pa.string()),
                        ("provenance", pa.string()),
                    ]
                ),
            ),
        ]
    )


def verl_record(row: TrainingRow, index: int, ability: str) -> dict[str, Any]:
    """The verl Parquet record of a released-format row."""
    info = row.metadata.extra_reward_info
    prov = (row.metadata.model_extra or {})["provenance"]
    return {
        "data_source": row.source,
        "prompt": [m.model_dump() for m in row.input_messages],
        "ability": ability,
        "reward_model": {"style": "rule", "ground_truth": row.label},
        "extra_info": {
            "index": index,
            "split": prov["split"],
            "question_id": prov["question_id"],
            "question": info.question,
            "rubrics": list(info.rubrics),
            "strategy": prov["strategy"],
            "total_tokens": prov["total_tokens"],
            "tokenizer": prov["tokenizer"],
            "provenance": json.dumps(prov, ensure_ascii=False, sort_keys=True),
        },
    }


def verl_table(records: list[dict[str, Any]]):
    """A pyarrow Table of verl records (the long prompt strings are converted as UTF-8 bytes,
    which is ~10x faster than ``Table.from_pylist`` on 500 KB strings)."""
    import pyarrow as pa

    schema = _parquet_schema()
    msg_type = schema.field("prompt").type.value_type
    roles, contents, offsets = [], [], [0]
    for r in records:
        for m in r["prompt"]:
            roles.append(m["role"])
            contents.append(m["content"].encode("utf-8"))
        offsets.append(len(roles))
    messages = pa.StructArray.from_arrays(
        [pa.array(roles, pa.string()), pa.array(contents, pa.binary()).cast(pa.string())],
        fields=list(msg_type),
    )
    prompt = pa.ListArray.from_arrays(
        pa.array(offsets, pa.int32()), messages, type=schema.field("prompt").type
    )
    rest = pa.Table.from_pylist(
        [{k: v for k, v in r.items() if k != "prompt"} for r in records],
        schema=pa.schema([f for f in schema if f.name != "prompt"]),
    )
    columns = {name: rest.column(name) for name in rest.column_names}
    columns["prompt"] = pa.chunked_array([prompt])
    return pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)


# --------------------------------------------------------------------------- atomic multi-file output


def _write_text(fh: Any, text: str) -> None:
    """Every JSONL line goes through here (tests patch it to simulate a full disk)."""
    fh.write(text)


class _Outputs:
    """Temp files for every output, renamed together on success, removed on any failure."""

    def __init__(self, run_dir: Path, fmt: str, row_group_size: int):
        self.run_dir = run_dir
        self.jsonl = fmt in ("released", "all")
        self.parquet = fmt in ("verl", "all")
        self.row_group_size = row_group_size
        self.tmps: dict[str, Path] = {}
        self.fhs: dict[str, Any] = {}
        self.writers: dict[str, Any] = {}
        self.buffers: dict[str, list[dict]] = {}
        self.counts = {"train": 0, "heldout": 0}

    def _tmp(self, name: str) -> Path:
        p = self.run_dir / f".{name}.{os.getpid()}.tmp"
        self.tmps[name] = p
        return p

    def __enter__(self) -> _Outputs:
        if self.jsonl:
            for split, name in (("train", ROWS_JSONL), ("heldout", HELDOUT_JSONL)):
                self.fhs[split] = open(self._tmp(name), "w", encoding="utf-8")  # noqa: SIM115
        if self.parquet:
            import pyarrow.parquet as pq

            for split, name in (("train", ROWS_PARQUET), ("heldout", HELDOUT_PARQUET)):
                self.writers[split] = pq.ParquetWriter(str(self._tmp(name)), _parquet_schema())
                self.buffers[split] = []
        return self

    def add(self, split: str, row: TrainingRow, ability: str) -> None:
        index = self.counts[split]
        if self.jsonl:
            _write_text(self.fhs[split], row.model_dump_json() + "\n")
        if self.parquet:
            buf = self.buffers[split]
            buf.append(verl_record(row, index, ability))
            if len(buf) >= self.row_group_size:
                self._flush(split)
        self.counts[split] += 1

    def _flush(self, split: str) -> None:
        buf = self.buffers[split]
        if buf:
            self.writers[split].write_table(verl_table(buf))
            buf.clear()

    def __exit__(self, exc_type, *exc: object) -> None:
        ok = exc_type is None
        try:
            for fh in self.fhs.values():
                if ok:
                    fh.flush()
                    os.fsync(fh.fileno())
                fh.close()
            for split, w in self.writers.items():
                if ok:
                    self._flush(split)
                w.close()
        except BaseException:
            ok = False
            raise
        finally:
            if ok:
                for name, tmp in self.tmps.items():
                    os.replace(tmp, self.run_dir / name)
            else:
                for tmp in self.tmps.values():
                    tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------- entry point


def _stat(p: Path) -> list[int] | None:
    if not p.exists():
        return None
    st = p.stat()
    return [st.st_size, st.st_mtime_ns]


def export_rows(
    run_dir: str | os.PathLike,
    corpus_dir: str | os.PathLike | None = None,
    cfg: ExportConfig | None = None,
    *,
    store: PageStore | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Write rows.jsonl / heldout.jsonl and/or rows.parquet / heldout.parquet from RUN/contexts.jsonl.

    Skipped (the previous summary returned) when the outputs exist and neither the contexts, the
    questions nor the export config changed since they were written, unless ``force``.
    """
    cfg = cfg or ExportConfig()
    run = Path(run_dir)
    ctx_path, q_path = run / "contexts.jsonl", run / "questions.jsonl"
    for p in (ctx_path, q_path):
        if not p.exists():
            raise FileNotFoundError(missing_input(p, f"longtracerl {p.stem}"))
    outputs = ([ROWS_JSONL, HELDOUT_JSONL] if cfg.format in ("released", "all") else []) + (
        [ROWS_PARQUET, HELDOUT_PARQUET] if cfg.format in ("verl", "all") else []
    )
    stamp = {"contexts": _stat(ctx_path), "questions": _stat(q_path), "config_hash": config_hash(cfg)}
    summary_path = run / SUMMARY_FILE
    if not force and summary_path.exists() and all((run / o).exists() for o in outputs):
        try:
            prev = json.loads(summary_path.read_text(encoding="utf-8"))
        except ValueError:
            prev = {}
        if prev.get("stamp") == stamp:
            log.info("export: outputs are up to date (%s)", summary_path)
            return prev
    if store is None:
        if corpus_dir is None:
            corpus_dir = _corpus_from_summary(run)
        from longtracerl.corpus.store import PageStore

        store = PageStore(corpus_dir)

    t0 = time.perf_counter()
    questions = {q.question_id: q for q in read_jsonl(q_path, Question)}
    # two streaming passes over contexts.jsonl (a 128K-token context holds ~1,000 documents:
    # keeping 2,815 of them as records would take gigabytes)
    gold: dict[str, list[str]] = {}
    for lineno, obj in iter_json_lines(ctx_path):
        qid = obj.get("question_id") if isinstance(obj, dict) else None
        if qid not in questions:
            raise RecordError(ctx_path, lineno, "question_id", f"{qid!r} is not in {q_path}")
        gold[qid] = list(questions[qid].label.gold_page_ids)
    train_ids, held_ids = heldout_split(gold, cfg)
    held = set(held_ids)
    n_chars = 0
    with _Outputs(run, cfg.format, cfg.row_group_size) as out:
        for c in read_jsonl(ctx_path, Context):
            q = questions[c.question_id]
            content = render_context(c, q.question, fetch_pages(store, [d.page_id for d in c.docs]))
            n_chars += len(content)
            split = "heldout" if c.question_id in held else "train"
            out.add(split, make_row(c, q, content, split, cfg.dataset_name), cfg.ability)
        counts = dict(out.counts)
    elapsed = time.perf_counter() - t0
    summary = {
        "rows": counts["train"],
        "heldout": counts["heldout"],
        "outputs": outputs,
        "prompt_chars": n_chars,
        "seconds": round(elapsed, 3),
        "rows_per_s": round((counts["train"] + counts["heldout"]) / elapsed, 2) if elapsed else None,
        "stamp": stamp,
    }
    atomic_write_text(summary_path, json.dumps(summary, indent=2) + "\n")
    log.info(
        "export: %d training rows, %d held out -> %s", counts["train"], counts["heldout"], ", ".join(outputs)
    )
    return summary


def _corpus_from_summary(run: Path) -> str:
    p = run / "contexts.summary.json"
    if p.exists():
        try:
            corpus = json.loads(p.read_text(encoding="utf-8")).get("corpus")
        except ValueError:
            corpus = None
        if corpus:
            return corpus
    raise ConfigError(f"{run}: no corpus given and none recorded in {p}; pass --corpus DIR")


def iter_rows(path: str | os.PathLike) -> Iterable[TrainingRow]:
    """Read back a released-format file (validates every line)."""
    return read_jsonl(path, TrainingRow)
