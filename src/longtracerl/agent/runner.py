"""The agent stage: questions in, trajectories out, resumable.

Reads ``RUN/questions.jsonl``, runs up to ``attempts`` attempts per question with the chosen
policy, stops at a question's first correct attempt, and appends one
:class:`~longtracerl.records.Trajectory` per attempt to ``RUN/trajectories.jsonl`` as soon as
it ends. A question that no attempt answers correctly is *dropped*: it is counted in
``RUN/agent.summary.json`` and listed in ``RUN/agent.rejected.jsonl``.

Resuming: a question is complete when it has a correct attempt or ``attempts`` attempts on file.
A re-run reads the file (a torn last line is cut off first), skips complete questions and
continues an incomplete one at its next attempt number, so nothing is duplicated or lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from longtracerl.agent.base import AsyncPolicy, AttemptEnd, Policy, attempt_seed
from longtracerl.agent.config import AgentConfig
from longtracerl.agent.judge import AnswerChecker
from longtracerl.agent.tools import ToolBox
from longtracerl.config import ConfigError, config_hash, resolve
from longtracerl.executor import Executor, InlineExecutor, ItemTask, Outcome, halts_stage
from longtracerl.llm.base import EndpointError
from longtracerl.records import (
    Provenance,
    Question,
    RecordError,
    RejectedItem,
    Trajectory,
    atomic_write_text,
    read_jsonl,
    write_jsonl,
)
from longtracerl.runfolder import missing_input, stage_key
from longtracerl.stage import Stage, StageFiles, StrPath, run_alone

if TYPE_CHECKING:
    from longtracerl.pagestore import PageStore
    from longtracerl.search.base import Retriever

log = logging.getLogger(__name__)

QUESTIONS_FILE = "questions.jsonl"
TRAJECTORIES_FILE = "trajectories.jsonl"
SUMMARY_FILE = "agent.summary.json"
REJECTED_FILE = "agent.rejected.jsonl"

POLICIES: dict[str, str] = {
    "retrieval": "longtracerl.agent.search_agent:SearchAgentPolicy",
    "clauses": "longtracerl.agent.retrieval:RetrievalPolicy",
    "llm": "longtracerl.agent.llm_policy:LLMPolicy",
}
"""Policy name -> factory called with the :class:`AgentConfig` (``module:attr`` also accepted)."""


def make_policy(cfg: AgentConfig) -> Any:
    factory = resolve(POLICIES, cfg.policy, "agent policy")
    return factory(cfg)


def open_engines(corpus_dir: str | os.PathLike) -> tuple[Any, Any]:
    """The corpus's page store and its search index (BM25 by default)."""
    from longtracerl.corpus.store import PageStore

    store = PageStore(corpus_dir)
    try:
        from longtracerl.search.index import open_retriever
    except ImportError as err:  # pragma: no cover - the search stage ships with the package
        raise ConfigError(f"no search backend available ({err}); build the corpus index first") from None
    return open_retriever(corpus_dir), store


# --------------------------------------------------------------------------- state on disk


class _State:
    """Per-question progress read back from trajectories.jsonl."""

    def __init__(self) -> None:
        self.attempts: dict[str, set[int]] = defaultdict(set)
        self.solved: set[str] = set()

    def add(self, t: Trajectory) -> None:
        self.attempts[t.question_id].add(t.attempt)
        if t.correct:
            self.solved.add(t.question_id)

    def complete(self, qid: str, max_attempts: int) -> bool:
        return qid in self.solved or len(self.attempts.get(qid, ())) >= max_attempts

    def next_attempt(self, qid: str) -> int:
        done = self.attempts.get(qid)
        return max(done) + 1 if done else 1


def _load_questions(run_dir: Path, limit: int | None) -> list[Question]:
    path = run_dir / QUESTIONS_FILE
    if not path.exists():
        raise FileNotFoundError(missing_input(path, "longtracerl questions"))
    out: list[Question] = []
    seen: dict[str, int] = {}
    for i, q in enumerate(read_jsonl(path, Question), start=1):
        if q.question_id in seen:
            raise RecordError(path, i, "question_id", f"duplicate id {q.question_id!r} (first seen earlier)")
        seen[q.question_id] = i
        out.append(q)
        if limit is not None and len(out) >= limit:
            break
    return out


# --------------------------------------------------------------------------- one question


class AgentTask(ItemTask):
    """Executor work of the agent stage: ``(question, first attempt)`` -> its new trajectories.

    Attempts run from the given attempt number until one is correct or ``cfg.attempts`` are
    done. Sync policies run a question at a time; async ones (the LLM policy) run a chunk's
    questions concurrently, ``cfg.concurrency`` at once. ``retriever``, ``store``, ``policy`` and
    ``checker`` (objects) are used in-process only; workers build theirs from the corpus and config.
    """

    name = "agent"
    local_fields = ("retriever", "store", "policy", "checker")

    def __init__(
        self,
        cfg: AgentConfig,
        corpus_dir: str | os.PathLike,
        *,
        retriever: Retriever | None = None,
        store: PageStore | None = None,
        policy: Policy | AsyncPolicy | None = None,
        checker: AnswerChecker | None = None,
    ):
        self.cfg, self.corpus_dir = cfg, str(corpus_dir)
        self.retriever, self.store, self.policy, self.checker = retriever, store, policy, checker
        self.hash = config_hash(cfg)

    @property
    def is_async(self) -> bool:
        policy = (
            self.policy if self.policy is not None else resolve(POLICIES, self.cfg.policy, "agent policy")
        )
        return hasattr(policy, "arun")

    def setup(self) -> None:
        if self.retriever is None or self.store is None:
            r, s = open_engines(self.corpus_dir)
            self.retriever = self.retriever or r
            self.store = self.store or s
        self.policy = self.policy or make_policy(self.cfg)
        self.checker = self.checker or AnswerChecker.from_config(self.cfg)

    def _tools(self) -> ToolBox:
        return ToolBox(self.retriever, self.store, top_k=self.cfg.top_k, max_calls=self.cfg.max_turns)

    def _trajectory(
        self, q: Question, attempt: int, seed: int, tools: ToolBox, end: AttemptEnd, correct: bool
    ) -> Trajectory:
        model = getattr(self.policy, "model", None)
        return Trajectory(
            question_id=q.question_id,
            attempt=attempt,
            policy=self.policy.name,
            model=model,
            events=tools.events,
            seen_ids=tools.seen_ids,
            opened_ids=tools.opened_ids,
            cited_ids=tools.cited_ids,
            final_answer=tools.final_answer,
            correct=correct,
            end_reason=end.reason,
            end_detail=end.detail,
            # read after the attempt, like correctness; only where the keep rule uses it
            gold_opened=set(q.label.gold_page_ids) <= set(tools.opened_ids)
            if self.cfg.keep == "gold_opened"
            else None,
            provenance=Provenance(
                stage="agent",
                seed=seed,
                config_hash=self.hash,
                source_ids=[q.question_id],
                producer=self.policy.name + (f":{model}" if model else ""),
                producers=self._producers(q, model),
            ),
        )

    def _producers(self, q: Question, model: str | None) -> dict[str, str]:
        """The question's upstream producers, plus this attempt's policy and model, judge and tool mode."""
        out = {**q.provenance.producers, "agent": self.policy.name + (f":{model}" if model else "")}
        if self.checker is not None:
            out["judge"] = self.checker.name
        mode = getattr(self.policy, "mode", None)
        if isinstance(mode, str):
            out["tool_mode"] = mode
        return out

    def _correct(self, q: Question, tools: ToolBox, end: AttemptEnd) -> bool:
        # The label is read here, after the attempt has ended, and nowhere else.
        if end.reason != "answered":
            return False
        return self.checker.check(q.question, q.label.answer, tools.final_answer, q.label.aliases)

    # -- synchronous policies ------------------------------------------------------------
    def run(self, item: tuple[Question, int]) -> list[Trajectory]:
        q, first = item
        out: list[Trajectory] = []
        for attempt in range(first, self.cfg.attempts + 1):
            seed = attempt_seed(self.cfg.seed, q.question_id, attempt)
            tools = self._tools()
            try:
                end = self.policy.run(q.question, tools, attempt=attempt, seed=seed)
            except EndpointError:
                raise  # an LLM endpoint failure is no attempt: the question goes to the errors file
            except Exception as err:  # a policy bug must not lose the run's other questions
                log.exception("policy failed on %s attempt %d", q.question_id, attempt)
                end = AttemptEnd("error", f"{type(err).__name__}: {err}")
            out.append(self._trajectory(q, attempt, seed, tools, end, self._correct(q, tools, end)))
            if out[-1].correct:
                break
        return out

    # -- async policies ------------------------------------------------------------------
    def run_chunk(self, items: list[Any], max_retries: int = 0, retry_wait_s: float = 0.0) -> list[Outcome]:
        self.ensure_setup()
        if not hasattr(self.policy, "arun"):
            return super().run_chunk(items, max_retries, retry_wait_s)
        halted = getattr(self, "_halted", None)
        if halted is not None:  # the previous chunk found the endpoint down: stop the stage now
            raise halted
        return asyncio.run(self._arun_chunk(items))

    async def _arun_chunk(self, items: list[tuple[Question, int]]) -> list[Outcome]:
        sem = asyncio.Semaphore(self.cfg.concurrency)
        halt: list[BaseException] = []

        async def one(item: tuple[Question, int]) -> Outcome:
            async with sem:
                if halt:  # the endpoint is down: do not start more questions
                    return Outcome(error=f"{type(halt[0]).__name__}: {halt[0]}")
                try:
                    return Outcome(await self._arun(*item))
                except Exception as err:
                    if halts_stage(err) and not halt:
                        halt.append(err)
                    return Outcome(error=f"{type(err).__name__}: {err}")

        try:
            outcomes = list(await asyncio.gather(*(one(item) for item in items)))
            # the chunk's finished questions are written; the next chunk stops the stage
            self._halted = halt[0] if halt else None
            return outcomes
        finally:
            closer = getattr(self.policy, "aclose", None)
            if closer is not None:
                await closer()

    async def _arun(self, q: Question, first: int) -> list[Trajectory]:
        out: list[Trajectory] = []
        for attempt in range(first, self.cfg.attempts + 1):
            seed = attempt_seed(self.cfg.seed, q.question_id, attempt)
            tools = self._tools()
            try:
                end = await self.policy.arun(q.question, tools, attempt=attempt, seed=seed)
            except EndpointError:
                raise  # see run()
            except Exception as err:
                log.exception("policy failed on %s attempt %d", q.question_id, attempt)
                end = AttemptEnd("error", f"{type(err).__name__}: {err}")
            if self.checker.llm_judge is not None and end.reason == "answered":
                correct = await asyncio.to_thread(self._correct, q, tools, end)
            else:
                correct = self._correct(q, tools, end)
            out.append(self._trajectory(q, attempt, seed, tools, end, correct))
            if out[-1].correct:
                break
        return out


# --------------------------------------------------------------------------- summary


def summarize(
    questions: Iterable[Question],
    trajectories: Iterable[Trajectory],
    max_attempts: int,
    keep: str = "correct",
) -> dict:
    """Counts for agent.summary.json, from the whole trajectories file.

    A question is kept when an attempt is correct, or (``keep="gold_opened"``) when an attempt
    opened all its gold pages (``Trajectory.gold_opened``).
    """
    qids = [q.question_id for q in questions]
    by_q: dict[str, list[Trajectory]] = defaultdict(list)
    for t in trajectories:
        by_q[t.question_id].append(t)
    per_attempt: dict[int, dict[str, int]] = {}
    first_correct: Counter[int] = Counter()
    end_reasons: Counter[str] = Counter()
    kept = dropped = pending = by_gold = 0
    attempts = 0
    for qid in qids:
        ts = sorted(by_q.get(qid, []), key=lambda t: t.attempt)
        for t in ts:
            attempts += 1
            end_reasons[t.end_reason] += 1
            slot = per_attempt.setdefault(t.attempt, {"attempts": 0, "correct": 0})
            slot["attempts"] += 1
            slot["correct"] += int(t.correct)
        wins = [t.attempt for t in ts if t.correct]
        if wins:
            kept += 1
            first_correct[min(wins)] += 1
        elif keep == "gold_opened" and len(ts) >= max_attempts and any(t.gold_opened for t in ts):
            kept += 1
            by_gold += 1
        elif len(ts) >= max_attempts:
            dropped += 1
        else:
            pending += 1
    n = len(qids)
    return {
        "questions": n,
        "attempts": attempts,
        "kept": kept,
        "dropped": dropped,
        "incomplete": pending,
        "keep": keep,
        "kept_by_gold_opened": by_gold,
        "success_rate": round((kept - by_gold) / n, 4) if n else 0.0,
        "success_per_attempt": {
            str(a): {**v, "rate": round(v["correct"] / v["attempts"], 4) if v["attempts"] else 0.0}
            for a, v in sorted(per_attempt.items())
        },
        "first_correct_at": {str(a): c for a, c in sorted(first_correct.items())},
        "end_reasons": dict(sorted(end_reasons.items())),
    }


# --------------------------------------------------------------------------- entry point


class AgentStage(Stage):
    """The agent stage (:func:`~longtracerl.stage.run_stage` drives it): attempts per question
    until one is correct or ``cfg.attempts`` are on file; writes ``agent.summary.json`` and the
    dropped questions (``agent.rejected.jsonl``, rewritten whole) at the end."""

    name = "agent"
    output = TRAJECTORIES_FILE
    keeps_rejected = False

    def __init__(self, cfg: AgentConfig | None, corpus: StrPath, run: StrPath, **engines: Any):
        """``engines``: ready ``retriever``, ``store``, ``policy`` or ``checker`` objects (in-process
        only) instead of those built from the corpus folder and the config."""
        super().__init__(cfg or AgentConfig(), corpus, run)
        self.engines = engines
        self.state = _State()
        self.trajectories: list[Trajectory] = []  # on file, in file order (read once, then appended)
        self.written = 0

    def upstream(self) -> str | None:
        return stage_key(self.run, "questions")

    def prepare(self) -> None:
        self.questions = _load_questions(self.run, self.cfg.limit)
        self.guard()

    def items(self, files: StageFiles) -> list[tuple[Question, int]]:
        traj_path = self.run / TRAJECTORIES_FILE  # its torn last line is cut off by files.out
        if traj_path.exists():
            self.trajectories = list(read_jsonl(traj_path, Trajectory))
            for t in self.trajectories:
                self.state.add(t)
        self.todo = [q for q in self.questions if not self.state.complete(q.question_id, self.cfg.attempts)]
        return [(q, self.state.next_attempt(q.question_id)) for q in self.todo]

    def task(self, executor: Executor) -> AgentTask:
        cfg = self.cfg
        self.agent_task = task = AgentTask(cfg, self.corpus, **self.engines)
        self.executor = executor
        if isinstance(executor, InlineExecutor):
            task.ensure_setup(wrap=False)
        self.policy_name = task.policy.name if task.policy is not None else cfg.policy
        # async policies get their concurrency from one event loop per chunk of questions
        self.chunk_size = 4 * cfg.concurrency if task.is_async else None
        done = len(self.questions) - len(self.todo)
        log.info(
            "agent: %d questions, %d to do (%d complete on file), policy %s",
            len(self.questions),
            len(self.todo),
            done,
            self.policy_name,
        )
        return task

    def item_id(self, item: tuple[Question, int]) -> str:
        return item[0].question_id

    def progress_bar(self) -> dict[str, Any] | None:
        return {"total": len(self.todo), "desc": "agent", "unit": "q", "leave": False} if self.todo else None

    def take(self, item: tuple[Question, int], trajectories: list[Trajectory], files: StageFiles) -> int:
        for traj in trajectories:
            files.out.write(traj)
            self.state.add(traj)
            self.trajectories.append(traj)
            self.written += 1
        return 1

    def settle(self) -> None:
        halted = getattr(self.agent_task, "_halted", None)
        if halted is not None:  # the endpoint went down in the last chunk
            raise halted

    def summary(self) -> dict:
        cfg, task, written, elapsed = self.cfg, self.agent_task, self.written, self.loop_s
        trajectories = self.trajectories
        summary = summarize(self.questions, trajectories, cfg.attempts, cfg.keep)
        summary.update(
            {
                "policy": self.policy_name,
                "model": getattr(task.policy, "model", None) or getattr(cfg, "model", None),
                "judge": task.checker.name if task.checker is not None else cfg.judge,
                "max_attempts": cfg.attempts,
                "config_hash": config_hash(cfg),
                "this_run": {
                    "trajectories": written,
                    "elapsed_s": round(elapsed, 3),
                    "trajectories_per_s": round(written / elapsed, 2) if elapsed > 0 else None,
                    "executor": self.executor.name,
                    "workers": self.executor.workers,
                },
            }
        )
        write_jsonl(self.run / REJECTED_FILE, _dropped(self.questions, trajectories, cfg))
        atomic_write_text(self.run / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
        return summary


def _dropped(
    questions: list[Question], trajectories: list[Trajectory], cfg: AgentConfig
) -> list[RejectedItem]:
    """The questions no attempt solved, once every attempt is on file."""
    gold = cfg.keep == "gold_opened"
    solved = {t.question_id for t in trajectories if t.correct or (gold and t.gold_opened)}
    counts = Counter(t.question_id for t in trajectories)
    none = "none correct" + (" or with every gold page opened" if gold else "")
    return [
        RejectedItem(
            item_id=q.question_id,
            stage="agent",
            reason="no_correct_attempt",
            detail=f"{counts[q.question_id]} attempts, {none}",
        )
        for q in questions
        if q.question_id not in solved and counts[q.question_id] >= cfg.attempts
    ]


def run_agent(
    cfg: AgentConfig | None, corpus: str | os.PathLike, run: str | os.PathLike, **options: Any
) -> dict:
    """Run the agent stage; returns the summary written to ``RUN/agent.summary.json``.

    ``retriever``, ``store``, ``policy`` and ``checker`` replace the ones built from the corpus
    folder and the config (tests, embedding in other programs; in-process only). Questions run on
    ``executor`` (default: in this process); their trajectories are appended in question order as
    each question ends. A question whose run raises goes to ``agent.errors.jsonl`` and stays
    incomplete, so the next run tries it again.

    ``options``: ``progress=True``, ``executor=None`` and :class:`AgentStage`'s engines.
    """
    return run_alone(AgentStage, cfg, corpus, run, **options)
