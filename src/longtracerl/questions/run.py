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

from longtracerl.config import ConfigError, resolve
from longtracerl.corpus.store import PageStore
from longtracerl.executor import Executor, ExecutorConfig, InlineExecutor, ItemTask
from longtracerl.questions.config import QuestionsConfig
from longtracerl.questions.validate import QuestionRejected
from longtracerl.records import JsonlAppender, Page, Question, RejectedItem, Walk, read_jsonl
from longtracerl.runfolder import guard_stage, missing_input, stage_key

if TYPE_CHECKING:
    from longtracerl.llm.base import ChatModel

log = logging.getLogger(__name__)

QUESTIONS_FILE = "questions.jsonl"
REJECTED_FILE = "questions.rejected.jsonl"
ERRORS_FILE = "questions.errors.jsonl"


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
        log.warning("questions: %s has no search index; LLM questions are not checked for shortcuts", store.dir)
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
    factory = resolve(COMPOSERS, cfg.composer, "composer")
    composer = factory(cfg, store, chat_model)
    if not callable(getattr(composer, "compose", None)):
        raise ConfigError(f"composer '{cfg.composer}' did not give an object with a compose() method")
    return composer


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


def run_questions(
    cfg: QuestionsConfig,
    corpus: str | os.PathLike,
    run: str | os.PathLike,
    *,
    chat_model: ChatModel | None = None,
    progress: bool = True,
    walks_file: str | os.PathLike | None = None,
    executor: Executor | None = None,
) -> QuestionStats:
    """Compose one question per walk of ``RUN/walks.jsonl`` (resuming a previous run).

    Walks run on ``executor`` (default: in this process) and come back in file order; a walk whose
    composing raises (after the executor's retries) goes to ``questions.errors.jsonl`` and is tried
    again by the next run.
    """
    run = Path(run)
    walks_path = Path(walks_file) if walks_file else run / "walks.jsonl"
    if not walks_path.exists():
        raise FileNotFoundError(missing_input(walks_path, "longtracerl walks"))
    guard_stage(run, "questions", cfg, corpus, stage_key(run, "walks") if walks_file is None else None)
    task = QuestionTask(cfg, corpus, chat_model)
    executor = executor or InlineExecutor(ExecutorConfig())
    stats = QuestionStats()
    out = JsonlAppender(run / QUESTIONS_FILE, key="walk_id")
    rej = JsonlAppender(run / REJECTED_FILE, key="item_id")
    errors = JsonlAppender(run / ERRORS_FILE)
    stats.written = len(out.done)

    def todo() -> Iterator[Walk]:
        for walk in read_jsonl(walks_path, Walk):
            if walk.walk_id in out.done or walk.walk_id in rej.done:
                stats.skipped += 1
            else:
                yield walk

    bar: Any = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(desc=f"questions ({cfg.composer})", unit="walk")
    full = cfg.max_questions is not None and stats.written >= cfg.max_questions
    results = executor.map(task, todo())
    try:
        for walk, outcome in results if not full else ():
            result = outcome.value
            if not outcome.ok:
                stats.rejected["error"] += 1
                errors.write(outcome.failure(walk.walk_id, "questions"))
            elif isinstance(result, RejectedItem):
                stats.rejected[result.reason] += 1
                rej.write(result)
            else:
                out.write(result)
                stats.written += 1
                stats.new += 1
            if bar is not None:
                bar.update(1)
                if bar.n % 100 == 0:
                    bar.set_postfix(
                        questions=stats.written, rejected=sum(stats.rejected.values()), refresh=False
                    )
            if cfg.max_questions is not None and stats.written >= cfg.max_questions:
                break
    finally:
        results.close()
        out.close()
        rej.close()
        errors.close()
        if bar is not None:
            bar.close()
    return stats
