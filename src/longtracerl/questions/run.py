"""The questions stage: read ``RUN/walks.jsonl``, write ``RUN/questions.jsonl`` and the rejects.

Resumable: questions and rejected items are appended (:class:`~longtracerl.records.JsonlAppender`);
a walk that already has a question or a rejection is skipped on a re-run.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from longtracerl.config import ConfigError, build
from longtracerl.corpus.store import PageStore
from longtracerl.executor import Executor, ItemTask
from longtracerl.questions.config import QuestionsConfig
from longtracerl.questions.validate import QuestionRejected
from longtracerl.records import Page, Question, RejectedItem, Walk, read_jsonl
from longtracerl.runfolder import file_key, missing_input, stage_key
from longtracerl.stage import Stage, StageFiles, StrPath, run_alone

if TYPE_CHECKING:
    from longtracerl.llm.base import ChatModel

log = logging.getLogger(__name__)

QUESTIONS_FILE = "questions.jsonl"


class Composer(Protocol):
    name: str

    def compose(self, walk: Walk, pages: list[Page]) -> Question:
        """A question for the walk, or raise :class:`QuestionRejected` with the reason."""
        ...


def _make_masked(cfg: QuestionsConfig, store: PageStore, chat_model: ChatModel | None) -> Composer:
    from longtracerl.questions.masked import MaskedComposer

    return MaskedComposer(cfg, store)


def _make_llm(cfg: QuestionsConfig, store: PageStore, chat_model: ChatModel | None) -> Composer:
    from longtracerl.questions.llm import LLMComposer

    if chat_model is None:
        from longtracerl.llm.openai import stage_chat_model

        chat_model = stage_chat_model(cfg.llm, cfg.llm_client)
    composer = LLMComposer(cfg, chat_model)
    composer.shortcut = _shortcut_check(cfg, store)
    return composer


def _shortcut_check(cfg: QuestionsConfig, store: PageStore) -> Callable[[str, str], str | None] | None:
    """``(question, answer page) -> the piece that finds the page alone, or None``; None without an index."""
    from longtracerl.questions.audit import Auditor
    from longtracerl.search.index import IndexNotFound

    try:
        auditor = Auditor(store.dir, top_k=cfg.shortcut_top_k)
    except IndexNotFound:
        log.warning(
            "questions: %s has no search index; LLM questions are not checked for shortcuts", store.dir
        )
        return None

    def check(question: str, page_id: str) -> str | None:
        return auditor.shortcut(question, page_id, "").piece

    return check


def _make_chain(cfg: QuestionsConfig, store: PageStore, chat_model: ChatModel | None) -> Composer:
    from longtracerl.questions.chain import ChainComposer
    from longtracerl.search.index import IndexNotFound

    try:
        return ChainComposer(cfg, store)
    except IndexNotFound as err:
        raise ConfigError(
            f"composer 'chain' checks its questions with the corpus's search index: {err}; "
            "or use --composer masked"
        ) from err


COMPOSERS: dict[str, Callable[..., Composer] | str] = {
    "chain": _make_chain,
    "masked": _make_masked,
    "llm": _make_llm,
}
"""Composer factories ``(cfg, store, chat_model) -> Composer``; ``module:attr`` names a user one."""


def make_composer(cfg: QuestionsConfig, store: PageStore, chat_model: ChatModel | None = None) -> Composer:
    return build(COMPOSERS, cfg.composer, "composer", "compose", cfg, store, chat_model)


@dataclass
class QuestionStats:
    written: int = 0  # questions in the file (including earlier runs)
    new: int = 0
    rejected: Counter[str] = field(default_factory=Counter)  # this call
    skipped: int = 0  # walks already handled by an earlier run

    def summary(self) -> str:
        rej = ", ".join(f"{k}={v}" for k, v in sorted(self.rejected.items())) or "none"
        return f"questions: {self.written} in file ({self.new} new); rejected: {rej}; skipped (done): {self.skipped}"


class QuestionTask(ItemTask):
    """Executor work of the questions stage: a walk -> its Question, or the RejectedItem saying why not.

    ``chat_model`` (an object) is used in-process only; workers build theirs from ``cfg.llm``.
    """

    name = "questions"
    local_fields = ("store", "composer", "chat_model")

    def __init__(self, cfg: QuestionsConfig, corpus: str | os.PathLike, chat_model: ChatModel | None = None):
        self.cfg, self.corpus, self.chat_model = cfg, str(corpus), chat_model
        self.store: PageStore | None = None
        self.composer: Composer | None = None

    def setup(self) -> None:
        self.store = PageStore(self.corpus)
        self.composer = make_composer(self.cfg, self.store, self.chat_model)

    def run(self, walk: Walk) -> Question | RejectedItem:
        assert self.store is not None and self.composer is not None
        found = self.store.get_many(walk.page_ids)
        missing = [pid for pid in walk.page_ids if pid not in found]
        try:
            if missing:
                raise QuestionRejected("page_missing", f"pages not in the corpus: {missing[:3]}")
            return self.composer.compose(walk, [found[pid] for pid in walk.page_ids])
        except QuestionRejected as err:
            return RejectedItem(
                item_id=walk.walk_id,
                stage="questions",
                reason=err.reason,
                detail=err.detail,
                reply=getattr(err, "reply", None),
            )


class QuestionsStage(Stage):
    """The questions stage (:func:`~longtracerl.stage.run_stage` drives it): one question or one
    rejection per walk of ``RUN/walks.jsonl`` (or of an external walks file)."""

    name = "questions"
    output = QUESTIONS_FILE
    output_key = "walk_id"

    def __init__(
        self,
        cfg: QuestionsConfig,
        corpus: StrPath,
        run: StrPath,
        *,
        chat_model: ChatModel | None = None,
        walks_file: str | os.PathLike | None = None,
    ):
        super().__init__(cfg, corpus, run)
        self.chat_model = chat_model
        self.walks_file = Path(walks_file) if walks_file else None
        self.walks_path = self.walks_file or self.run / "walks.jsonl"
        self.stats = QuestionStats()

    def upstream(self) -> str | None:
        if self.walks_file is None:
            return stage_key(self.run, "walks")
        return file_key(self.walks_file)  # an external walks file: its path and content

    def prepare(self) -> None:
        if not self.walks_path.exists():
            raise FileNotFoundError(missing_input(self.walks_path, "longtracerl walks"))
        self.guard()

    def items(self, files: StageFiles) -> Iterator[Walk]:
        self.stats.written = len(files.out.done)
        assert files.rejected is not None
        done, rejected = files.out.done, files.rejected.done
        for walk in read_jsonl(self.walks_path, Walk):
            if walk.walk_id in done or walk.walk_id in rejected:
                self.stats.skipped += 1
            else:
                yield walk

    def task(self, executor: Executor) -> QuestionTask:
        return QuestionTask(self.cfg, self.corpus, self.chat_model)

    def item_id(self, walk: Walk) -> str:
        return walk.walk_id

    def progress_bar(self) -> dict[str, Any]:
        return {"desc": f"questions ({self.cfg.composer})", "unit": "walk"}

    def full(self) -> bool:
        return self.cfg.max_questions is not None and self.stats.written >= self.cfg.max_questions

    def take(self, walk: Walk, result: Question | RejectedItem, files: StageFiles) -> int:
        if isinstance(result, RejectedItem):
            self.stats.rejected[result.reason] += 1
            assert files.rejected is not None
            files.rejected.write(result)
        else:
            files.out.write(result)
            self.stats.written += 1
            self.stats.new += 1
        return 1

    def failed(self, walk: Walk) -> int:
        self.stats.rejected["error"] += 1
        return 1

    def summary(self) -> QuestionStats:
        return self.stats


def run_questions(
    cfg: QuestionsConfig, corpus: str | os.PathLike, run: str | os.PathLike, **options: Any
) -> QuestionStats:
    """Compose one question per walk of ``RUN/walks.jsonl`` (or ``walks_file``), resuming a
    previous run.

    Walks run on ``executor`` (default: in this process) and come back in file order; a walk whose
    composing raises (after the executor's retries) goes to ``questions.errors.jsonl`` and is tried
    again by the next run.

    ``options``: ``progress=True``, ``executor=None`` and :class:`QuestionsStage`'s ``chat_model``
    and ``walks_file``.
    """
    return run_alone(QuestionsStage, cfg, corpus, run, **options)
