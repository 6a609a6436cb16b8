"""Every record type of the pipeline, and their JSONL reading and writing.

Each stage reads the previous stage's JSONL file and writes its own. Records are pydantic models
that reject unknown and missing fields; a bad line raises :class:`RecordError` naming the file,
the line number and the field. Labels (answer, rubrics, gold pages) live in :class:`Label`, apart
from the model-facing question text, so gold data cannot leak into a prompt by accident.

Example:
    >>> from longtracerl.records import Page, write_jsonl, read_jsonl
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "pages.jsonl"
    >>> write_jsonl(p, [Page(id="1", title="Paris", text="Paris is the capital of France.")])
    1
    >>> [r.title for r in read_jsonl(p, Page)]
    ['Paris']
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, TextIO, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SCHEMA_VERSION = 1


class RecordError(ValueError):
    """A record could not be read: carries the file, the 1-based line and the field."""

    def __init__(self, path: str | os.PathLike | None, line: int | None, field: str | None, message: str):
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        self.message = message
        where = self.path or "<input>"
        if line is not None:
            where += f":{line}"
        if field:
            where += f": field '{field}'"
        super().__init__(f"{where}: {message}")


class Record(BaseModel):
    """Base of every stage record: strict fields and a schema version."""

    model_config = ConfigDict(extra="forbid", frozen=False, validate_assignment=False)
    schema_version: int = Field(default=SCHEMA_VERSION, description="Version of the record schema.")


class Provenance(BaseModel):
    """Where a record came from: enough to reproduce it."""

    model_config = ConfigDict(extra="forbid")
    stage: str = Field(description="Stage that wrote the record (walks, questions, agent, ...).")
    seed: int | None = Field(default=None, description="Seed used for this item.")
    config_hash: str | None = Field(default=None, description="Hash of the stage config.")
    source_ids: list[str] = Field(default_factory=list, description="Ids of the records it was made from.")
    producer: str | None = Field(default=None, description="Policy / composer / model that made it.")
    producers: dict[str, str] = Field(
        default_factory=dict,
        description="What made this record and the records it came from, by stage: walks (chooser), "
        "questions (composer), agent (policy and model), judge, tool_mode, contexts (strategy).",
    )


# --------------------------------------------------------------------------- corpus


class Page(Record):
    """One document of the corpus (a Wikipedia page or any other text)."""

    id: str = Field(min_length=1, description="Stable page id, unique in the corpus.")
    title: str = Field(min_length=1, description="Page title.")
    text: str = Field(description="Page text; paragraphs separated by newlines; the title is not repeated.")
    links: list[str] = Field(default_factory=list, description="Outgoing link targets (page ids or titles).")


class Link(Record):
    """One edge of the link graph."""

    src: str
    dst: str
    anchor: str | None = None


# --------------------------------------------------------------------------- walks and questions


class Walk(Record):
    """A multi-hop path through the link graph (one kept segment)."""

    walk_id: str
    page_ids: list[str] = Field(min_length=2)
    titles: list[str] = Field(min_length=2)
    provenance: Provenance


class Label(BaseModel):
    """Gold data of a question. Never rendered into a model prompt."""

    model_config = ConfigDict(extra="forbid")
    answer: str = Field(min_length=1, description="The answer string (no aliases in the released format).")
    rubrics: list[str] = Field(description="Gold entities along the chain, in path order.")
    gold_page_ids: list[str] = Field(description="Pages of the path (never used as distractors).")
    aliases: list[str] = Field(default_factory=list, description="Optional accepted alternative answers.")


class Question(Record):
    """An obfuscated multi-hop question written from one walk."""

    question_id: str
    walk_id: str | None = None
    question: str = Field(min_length=1)
    label: Label
    provenance: Provenance


class RejectedItem(Record):
    """An item a stage dropped, with the counted reason."""

    item_id: str
    stage: str
    reason: str
    detail: str = ""
    reply: str | None = Field(
        default=None, description="The model's last reply (truncated) when an LLM's output was rejected."
    )


# --------------------------------------------------------------------------- agent trajectories

Tool = Literal["search", "open", "cite", "answer"]


class TrajectoryEvent(BaseModel):
    """One tool call of the search agent, in order."""

    model_config = ConfigDict(extra="forbid")
    step: int
    tool: Tool
    args: dict[str, Any] = Field(default_factory=dict)
    result_ids: list[str] = Field(default_factory=list, description="Page ids shown / opened / cited.")
    elapsed_s: float = 0.0
    error: str | None = None


class Trajectory(Record):
    """One attempt of the search agent at one question."""

    question_id: str
    attempt: int = Field(ge=1)
    policy: str
    model: str | None = None
    events: list[TrajectoryEvent] = Field(default_factory=list)
    seen_ids: list[str] = Field(default_factory=list, description="Every page shown in a search result.")
    opened_ids: list[str] = Field(default_factory=list, description="Every page opened.")
    cited_ids: list[str] = Field(default_factory=list, description="Pages cited as evidence.")
    final_answer: str | None = None
    correct: bool = False
    end_reason: str = Field(
        default="answered", description="answered | turn_limit | malformed | loop | error | gave_up"
    )
    end_detail: str | None = Field(default=None, description="Why a failed attempt ended (error text...).")
    provenance: Provenance
    gold_opened: bool | None = Field(
        default=None,
        description="Whether the attempt opened every gold page; set only under the agent's "
        "keep=gold_opened (such a trajectory then serves a question no attempt answered).",
    )


# --------------------------------------------------------------------------- contexts and rows

DocTag = Literal["gold", "tier1", "tier2", "traj", "one-shot-search", "fill-search", "fill-random", "random"]


class ContextDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    page_id: str
    title: str
    tag: DocTag
    n_tokens: int = Field(ge=0, description="Tokens of the rendered document block (wrapper included).")
    truncated: bool = False
    text_chars: int | None = Field(
        default=None, description="When truncated: leading characters of the stripped page text kept."
    )


class Context(Record):
    """The documents of one long context, in their final (shuffled) order."""

    question_id: str
    strategy: str
    docs: list[ContextDoc]
    target_tokens: int
    total_tokens: int
    tokenizer: str
    instruction_id: int | None = Field(default=None, description="Index into the instruction pool.")
    provenance: Provenance


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant"]
    content: str


class ExtraRewardInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str
    rubrics: list[str]
    dataset_name: str = "longqa"


class RowMetadata(BaseModel):
    """`extra_reward_info` is the released format; other keys carry provenance."""

    model_config = ConfigDict(extra="allow")
    extra_reward_info: ExtraRewardInfo


class TrainingRow(BaseModel):
    """One row of the released LongTraceRL training file (the compatibility target)."""

    model_config = ConfigDict(extra="forbid")
    source: str = "longqa"
    input_messages: list[Message] = Field(min_length=1)
    label: str
    metadata: RowMetadata


# --------------------------------------------------------------------------- rewards


class RewardResult(BaseModel):
    """Score of one response: final reward and its components (see rewards/)."""

    model_config = ConfigDict(extra="forbid")
    reward: float
    outcome: float = 0.0
    rubric: float = 0.0
    rubric_normalised: float = 0.0
    gated: bool = False
    gate_reasons: list[str] = Field(default_factory=list)
    matched: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    extracted_answer: str | None = None
    judge_error: str | None = None
    advantage: float | None = None
    status: str = Field(
        default="ok", description="Parse status: ok, truncated, aborted, unfinished, ill_formed."
    )
    judge_attempts: int = Field(default=0, description="Judge calls made for this response (0 when gated).")
    judge_method: str | None = Field(
        default=None, description="Judge/rule that decided ('llm', 'rule:exact', ...)."
    )


# --------------------------------------------------------------------------- JSONL I/O

R = TypeVar("R", bound=BaseModel)


def _first_error_field(err: ValidationError) -> tuple[str | None, str]:
    e = err.errors()[0]
    loc = ".".join(str(x) for x in e.get("loc", ()))
    kind = e.get("type", "")
    msg = e.get("msg", "invalid")
    if kind == "missing":
        msg = "missing required field"
    elif kind == "extra_forbidden":
        msg = "unknown field"
    return (loc or None), msg


def parse_record(
    obj: Any, model: type[R], *, path: str | os.PathLike | None = None, line: int | None = None
) -> R:
    """Validate one decoded JSON object; raise :class:`RecordError` with file/line/field."""
    if not isinstance(obj, dict):
        raise RecordError(path, line, None, f"expected a JSON object, got {type(obj).__name__}")
    try:
        return model.model_validate(obj)
    except ValidationError as err:
        field, msg = _first_error_field(err)
        raise RecordError(path, line, field, msg) from None


def iter_json_lines(path: str | os.PathLike) -> Iterator[tuple[int, Any]]:
    """Yield (line number, decoded object) for each non-blank line; errors name file and line."""
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise RecordError(path, lineno, None, f"not valid UTF-8 (byte {err.start})") from None
            try:
                yield lineno, json.loads(text)
            except json.JSONDecodeError as err:
                raise RecordError(
                    path, lineno, None, f"malformed JSON: {err.msg} at column {err.colno}"
                ) from None


def read_jsonl(path: str | os.PathLike, model: type[R]) -> Iterator[R]:
    """Read a JSONL file of records, failing on the first bad line with file/line/field."""
    for lineno, obj in iter_json_lines(path):
        yield parse_record(obj, model, path=path, line=lineno)


def dump_line(record: BaseModel | dict) -> str:
    if isinstance(record, BaseModel):
        return record.model_dump_json(exclude_none=False) + "\n"
    return json.dumps(record, ensure_ascii=False) + "\n"


def _file_mode() -> int:
    """The mode ``open()`` gives a new file (0666 less the umask); temp files start at 0600."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def sha256_file(path: str | os.PathLike) -> str:
    """The SHA-256 hex digest of a file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[TextIO]:
    """Write a whole text file atomically: the block writes to a temp file in the same folder,
    which replaces ``path`` when the block ends (and is removed if it raises). The file gets the
    mode of any other new file (not the temp file's 0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, _file_mode())
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write a whole file atomically (:func:`atomic_file`)."""
    with atomic_file(path) as fh:
        fh.write(text)


def write_jsonl(path: str | os.PathLike, records: Iterable[BaseModel | dict]) -> int:
    """Write records atomically: the file is either the old one or complete. Returns the count."""
    n = 0
    with atomic_file(path) as fh:
        for rec in records:
            fh.write(dump_line(rec))
            n += 1
    return n


class JsonlAppender:
    """Append records to a stage file so a crashed stage resumes without loss or duplicates.

    On open, a torn last line (no trailing newline, e.g. after a crash or a full disk) is cut off;
    the keys of the complete lines are available as :attr:`done`. Each record is written as one
    line and flushed, so a line is either whole or absent.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "w.jsonl"
        >>> with JsonlAppender(p, key="walk_id") as out:
        ...     out.write({"walk_id": "w1"})
        >>> JsonlAppender(p, key="walk_id").done
        {'w1'}
    """

    def __init__(self, path: str | os.PathLike, key: str | None = None):
        self.path = Path(path)
        self.key = key
        self.done: set[str] = set()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self._repair_and_scan()
        self._fh = None

    def _repair_and_scan(self) -> None:
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            with open(self.path, "r+b") as fh:
                fh.truncate(cut)
            data = data[:cut]
        if self.key is None:
            return
        for lineno, raw in enumerate(data.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as err:
                raise RecordError(self.path, lineno, None, f"malformed JSON: {err.msg}") from None
            if self.key not in obj:
                raise RecordError(self.path, lineno, self.key, "missing required field")
            self.done.add(str(obj[self.key]))

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, record: BaseModel | dict) -> None:
        if self._fh is None:
            self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
        line = dump_line(record)
        self._fh.write(line)
        self._fh.flush()
        if self.key is not None:
            value = record[self.key] if isinstance(record, dict) else getattr(record, self.key)
            self.done.add(str(value))  # no model_dump: a context record holds a whole context

    def close(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None
