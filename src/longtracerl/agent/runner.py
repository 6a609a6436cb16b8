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
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from longtracerl.agent.base import AttemptEnd, attempt_seed
from longtracerl.agent.config import AgentConfig
from longtracerl.agent.judge import AnswerChecker
from longtracerl.agent.tools import ToolBox
from longtracerl.config import ConfigError, config_hash, resolve
from longtracerl.records import (
    JsonlAppender,
    Provenance,
    Question,
    RecordError,
    RejectedItem,
    Trajectory,
    atomic_write_text,
    read_jsonl,
    write_jsonl,
)

log = logging.getLogger(__name__)

QUESTIONS_FILE = "questions.jsonl"
TRAJECTORIES_FILE = "trajectories.jsonl"
SUMMARY_FILE = "agent.summary.json"
REJECTED_FILE = "agent.rejected.jsonl"

POLICIES: dict[str, str] = {
    "retrieval": "longtracerl.agent.retrieval:RetrievalPolicy",
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
        raise FileNotFoundError(f"{path}: no questions (run `longtracerl questions` first)")
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


# --------------------------------------------------------------------------- one attempt


class _Runner:
    def __init__(
        self,
        cfg: AgentConfig,
        retriever: Any,
        store: Any,
        policy: Any,
        checker: AnswerChecker,
        out: JsonlAppender,
        state: _State,
    ):
        self.cfg = cfg
        self.retriever = retriever
        self.store = store
        self.policy = policy
        self.checker = checker
        self.out = out
        self.state = state
        self.hash = config_hash(cfg)
        self.written = 0

    def _tools(self) -> ToolBox:
        return ToolBox(self.retriever, self.store, top_k=self.cfg.top_k, max_calls=self.cfg.max_turns)

    def _finish(
        self, q: Question, attempt: int, seed: int, tools: ToolBox, end: AttemptEnd, correct: bool
    ) -> Trajectory:
        traj = Trajectory(
            question_id=q.question_id,
            attempt=attempt,
            policy=self.policy.name,
            model=getattr(self.policy, "model", None),
            events=tools.events,
            seen_ids=tools.seen_ids,
            opened_ids=tools.opened_ids,
            cited_ids=tools.cited_ids,
            final_answer=tools.final_answer,
            correct=correct,
            end_reason=end.reason,
            end_detail=end.detail,
            provenance=Provenance(
                stage="agent",
                seed=seed,
                config_hash=self.hash,
                source_ids=[q.question_id],
                producer=self.policy.name
                + (f":{self.policy.model}" if getattr(self.policy, "model", None) else ""),
            ),
        )
        self.out.write(traj)
        self.state.add(traj)
        self.written += 1
        return traj

    def _correct(self, q: Question, tools: ToolBox, end: AttemptEnd) -> bool:
        # The label is read here, after the attempt has ended, and nowhere else.
        if end.reason != "answered":
            return False
        return self.checker.check(q.question, q.label.answer, tools.final_answer, q.label.aliases)

    # -- synchronous policies ------------------------------------------------------------
    def run_question(self, q: Question) -> None:
        for attempt in range(self.state.next_attempt(q.question_id), self.cfg.attempts + 1):
            seed = attempt_seed(self.cfg.seed, q.question_id, attempt)
            tools = self._tools()
            try:
                end = self.policy.run(q.question, tools, attempt=attempt, seed=seed)
            except Exception as err:  # a policy bug must not lose the run's other questions
                log.exception("policy failed on %s attempt %d", q.question_id, attempt)
                end = AttemptEnd("error", f"{type(err).__name__}: {err}")
            traj = self._finish(q, attempt, seed, tools, end, self._correct(q, tools, end))
            if traj.correct:
                break

    # -- async policies ------------------------------------------------------------------
    async def arun_question(self, q: Question, sem: asyncio.Semaphore) -> None:
        async with sem:
            for attempt in range(self.state.next_attempt(q.question_id), self.cfg.attempts + 1):
                seed = attempt_seed(self.cfg.seed, q.question_id, attempt)
                tools = self._tools()
                try:
                    end = await self.policy.arun(q.question, tools, attempt=attempt, seed=seed)
                except Exception as err:
                    log.exception("policy failed on %s attempt %d", q.question_id, attempt)
                    end = AttemptEnd("error", f"{type(err).__name__}: {err}")
                if self.checker.llm_judge is not None and end.reason == "answered":
                    correct = await asyncio.to_thread(self._correct, q, tools, end)
                else:
                    correct = self._correct(q, tools, end)
                traj = self._finish(q, attempt, seed, tools, end, correct)
                if traj.correct:
                    break


# --------------------------------------------------------------------------- summary


def summarize(questions: Iterable[Question], trajectories: Iterable[Trajectory], max_attempts: int) -> dict:
    """Counts for agent.summary.json, from the whole trajectories file."""
    qids = [q.question_id for q in questions]
    by_q: dict[str, list[Trajectory]] = defaultdict(list)
    for t in trajectories:
        by_q[t.question_id].append(t)
    per_attempt: dict[int, dict[str, int]] = {}
    first_correct: Counter[int] = Counter()
    end_reasons: Counter[str] = Counter()
    kept = dropped = pending = 0
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
        "success_rate": round(kept / n, 4) if n else 0.0,
        "success_per_attempt": {
            str(a): {**v, "rate": round(v["correct"] / v["attempts"], 4) if v["attempts"] else 0.0}
            for a, v in sorted(per_attempt.items())
        },
        "first_correct_at": {str(a): c for a, c in sorted(first_correct.items())},
        "end_reasons": dict(sorted(end_reasons.items())),
    }


# --------------------------------------------------------------------------- entry point


def run_agent(
    corpus_dir: str | os.PathLike,
    run_dir: str | os.PathLike,
    cfg: AgentConfig | None = None,
    *,
    retriever: Any = None,
    store: Any = None,
    policy: Any = None,
    checker: AnswerChecker | None = None,
) -> dict:
    """Run the agent stage; returns the summary written to ``RUN/agent.summary.json``.

    ``retriever``, ``store``, ``policy`` and ``checker`` replace the ones built from the corpus
    folder and the config (tests, embedding in other programs).
    """
    cfg = cfg or AgentConfig()
    run_dir = Path(run_dir)
    questions = _load_questions(run_dir, cfg.limit)
    if retriever is None or store is None:
        r, s = open_engines(corpus_dir)
        retriever = retriever or r
        store = store or s
    policy = policy or make_policy(cfg)
    checker = checker or AnswerChecker.from_config(cfg)

    traj_path = run_dir / TRAJECTORIES_FILE
    out = JsonlAppender(traj_path)  # cuts a torn last line left by a crash
    state = _State()
    if traj_path.exists():
        for t in read_jsonl(traj_path, Trajectory):
            state.add(t)
    todo = [q for q in questions if not state.complete(q.question_id, cfg.attempts)]
    log.info(
        "agent: %d questions, %d to do (%d complete on file), policy %s",
        len(questions),
        len(todo),
        len(questions) - len(todo),
        policy.name,
    )
    runner = _Runner(cfg, retriever, store, policy, checker, out, state)
    t0 = time.perf_counter()
    bar = None
    if cfg.progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="agent", unit="q", leave=False)
    try:
        if hasattr(policy, "arun"):

            async def main() -> None:
                sem = asyncio.Semaphore(cfg.concurrency)

                async def one(q: Question) -> None:
                    await runner.arun_question(q, sem)
                    if bar is not None:
                        bar.update(1)

                await asyncio.gather(*(one(q) for q in todo))
                closer = getattr(policy, "aclose", None)
                if closer is not None:
                    await closer()

            asyncio.run(main())
        else:
            for q in todo:
                runner.run_question(q)
                if bar is not None:
                    bar.update(1)
    finally:
        out.close()
        if bar is not None:
            bar.close()
    elapsed = time.perf_counter() - t0

    trajectories = list(read_jsonl(traj_path, Trajectory)) if traj_path.exists() else []
    summary = summarize(questions, trajectories, cfg.attempts)
    summary.update(
        {
            "policy": policy.name,
            "model": getattr(policy, "model", None),
            "judge": checker.name,
            "max_attempts": cfg.attempts,
            "config_hash": config_hash(cfg),
            "this_run": {
                "trajectories": runner.written,
                "elapsed_s": round(elapsed, 3),
                "trajectories_per_s": round(runner.written / elapsed, 2) if elapsed > 0 else None,
            },
        }
    )
    solved = {t.question_id for t in trajectories if t.correct}
    counts = Counter(t.question_id for t in trajectories)
    dropped = [
        RejectedItem(
            item_id=q.question_id,
            stage="agent",
            reason="no_correct_attempt",
            detail=f"{counts[q.question_id]} attempts, none correct",
        )
        for q in questions
        if q.question_id not in solved and counts[q.question_id] >= cfg.attempts
    ]
    write_jsonl(run_dir / REJECTED_FILE, dropped)
    atomic_write_text(run_dir / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
    return summary
