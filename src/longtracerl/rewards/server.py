"""The reward server: ``longtracerl serve-reward`` (FastAPI + uvicorn; imported only here).

``POST /evaluate`` is the drop-in for the authors' reward server (the ``mix`` combination of
:func:`~longtracerl.rewards.combine.finish_group` with M = 1, or LongRLVR); ``POST
/evaluate_group`` scores one prompt's raw responses (rewards, advantages, monitors); ``GET
/health`` (``ok`` or ``degraded``) and ``GET /metrics`` (Prometheus) report the judge failures.

- A request never names code: ``processor`` must be a built-in name (422 otherwise); the bind
  rule is :func:`check_bind`.
- A verdict the judge could not give is **HTTP 503** with ``judge_error``, never outcome 0 (the
  authors' trainer retries any status >= 400).
- Parsing and rubric scoring run on the event loop, one request per loop turn; a blocking
  judge (the rule judge) gives its verdicts in worker threads, LLM verdicts are awaited on the
  loop (bounded by the judge client's concurrency), and big bodies go to a niced worker process.

Request and response fields, settings, figures: docs/rewards.md (Reward server).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hmac
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from longtracerl.rewards.combine import (
    MODES,
    GroupScore,
    PreparedGroup,
    RewardSettings,
    finish_group,
    judge_all,
    judge_failure,
    parse_all,
    prepare_parsed,
)
from longtracerl.rewards.judge import Judge, JudgeResult
from longtracerl.rewards.parse import PROCESSORS, ParsedResponse, Processor

log = logging.getLogger(__name__)

JUDGE_FAILURE_STATUS = 503  # documented: the trainer treats it as a failed request and retries
JUDGE_RETRY_AFTER_S = 5


# --------------------------------------------------------------------------- request models


class ExtraRewardInfo(BaseModel):
    model_config = ConfigDict(extra="ignore")
    question: str = ""
    rubrics: list[str] = Field(default_factory=list)
    rubric_reward_ratio: float | None = Field(default=None, ge=0.0, le=1.0)
    rubric_use_content: bool | None = None
    rubric_use_reasoning_content: bool | None = None
    dataset_name: Literal["longqa", "longrlvr"] = "longqa"
    aliases: list[str] = Field(default_factory=list, description="Extension: other accepted answers.")


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: str = ""
    content: str | None = None
    reasoning_content: str | None = None


class EvaluateRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    label: str
    extra_reward_info: ExtraRewardInfo
    history: list[Message] = Field(min_length=1)


class EvaluateGroupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    responses: list[str] = Field(min_length=1, max_length=4096)
    label: str
    question: str = ""
    rubrics: list[str] = Field(default_factory=list)
    processor: str | None = Field(
        default=None, description="A built-in processor name only: a request never names code to import."
    )
    mode: str | None = None
    eta: float | None = Field(default=None, ge=0.0, le=1.0)
    finish_reasons: list[str | None] | None = None
    use_reasoning: bool | None = None
    use_content: bool | None = None
    aliases: list[str] = Field(default_factory=list)


# --------------------------------------------------------------------------- scoring (pure)


class BadRequest(ValueError):
    """A request that validates as JSON but asks for something invalid (422)."""

    def __init__(self, detail: Any):
        super().__init__(detail)  # args = (detail,): survives pickling from a worker process
        self.detail = detail


def builtin_processor(name: str) -> Processor:
    """A built-in response processor by name (``PROCESSORS``); anything else is a ``BadRequest``.

    Request fields go through this, never through :func:`~longtracerl.rewards.parse.get_processor`,
    whose ``module:attr`` escape hatch would import and call whatever a client names.
    """
    proc = PROCESSORS.get(name) if isinstance(name, str) else None
    if proc is None:
        shown = name if isinstance(name, str) and len(name) <= 80 else f"{str(name)[:80]}..."
        raise BadRequest(
            f"unknown processor {shown!r}: a request may name only a built-in processor "
            f"({', '.join(PROCESSORS)})"
        )
    return proc


@dataclass
class Job:
    """One request between its CPU steps: what to judge and how to answer."""

    kind: Literal["evaluate", "evaluate_group"]
    prepared: PreparedGroup | None  # None: answered without judging (empty content)
    question: str = ""
    label: str = ""
    aliases: list[str] = field(default_factory=list)


def _validated(raw: bytes, model: type[BaseModel]) -> Any:
    try:
        return model.model_validate_json(raw)
    except ValidationError as err:
        raise BadRequest(err.errors(include_url=False, include_context=False, include_input=False)) from None


def _with(settings: RewardSettings, **changes: Any) -> RewardSettings:
    try:
        return settings.replace(**changes)
    except ValueError as err:
        raise BadRequest(str(err)) from None


def prepare_evaluate(raw: bytes, settings: RewardSettings) -> Job:
    """``/evaluate``: validate, split the last message, score the rubric (no judging yet)."""
    req = _validated(raw, EvaluateRequest)
    info = req.extra_reward_info
    last = req.history[-1]
    content = last.content or ""
    if not content.strip():
        return Job("evaluate", None)
    longrlvr = info.dataset_name == "longrlvr"
    s = _with(
        settings,
        mode="longrlvr" if longrlvr else "mix",
        eta=info.rubric_reward_ratio,
        use_content=info.rubric_use_content,
        use_reasoning=info.rubric_use_reasoning_content,
        group_normalise=False,
    )
    # longrlvr cites chunk ids in the content only (the drop-in's rule), so no reasoning there
    parsed = ParsedResponse("" if longrlvr else (last.reasoning_content or ""), content, "ok")
    return Job("evaluate", prepare_parsed([parsed], info.rubrics, s), info.question, req.label, info.aliases)


def prepare_group(raw: bytes, settings: RewardSettings) -> Job:
    """``/evaluate_group``: validate, parse every response, score rubrics (no judging yet)."""
    req = _validated(raw, EvaluateGroupRequest)
    if req.finish_reasons is not None and len(req.finish_reasons) != len(req.responses):
        raise BadRequest(
            f"finish_reasons has {len(req.finish_reasons)} values for {len(req.responses)} responses"
        )
    if req.mode is not None and req.mode not in MODES:
        raise BadRequest(f"unknown mode '{req.mode}'. Valid: {', '.join(MODES)}")
    proc = builtin_processor(req.processor) if req.processor is not None else None
    s = _with(
        settings,
        processor=proc,
        mode=req.mode,
        eta=req.eta,
        use_content=req.use_content,
        use_reasoning=req.use_reasoning,
    )
    parsed = parse_all(req.responses, req.finish_reasons, s.parser)
    return Job("evaluate_group", prepare_parsed(parsed, req.rubrics, s), req.question, req.label, req.aliases)


def score_blocking(
    prepare: Any, raw: bytes, settings: RewardSettings, judge: Judge
) -> tuple[int, bytes, dict[int, JudgeResult]]:
    """Prepare, judge and answer in one go (a judge without ``ajudge``; in the big-body lane)."""
    return judge_answer(prepare(raw, settings), judge)


def judge_answer(job: Job, judge: Judge) -> tuple[int, bytes, dict[int, JudgeResult]]:
    """Judge a prepared job with a blocking judge and answer it (in a worker)."""
    items = job.prepared.to_judge if job.prepared else []
    verdicts = judge_all(judge, items, job.question, job.label, job.aliases)
    return (*answer(job, verdicts), verdicts)


async def ajudge_job(job: Job, judge: Any) -> dict[int, JudgeResult]:
    """Verdicts of a job from an async judge, all at once on the running loop."""
    items = job.prepared.to_judge if job.prepared else []

    async def one(content: str) -> JudgeResult:
        try:
            return await judge.ajudge(job.question, job.label, content, aliases=job.aliases)
        except Exception as err:
            return judge_failure(err)

    results = await asyncio.gather(*(one(c) for _, c in items))
    return {i: r for (i, _), r in zip(items, results, strict=True)}


def answer(job: Job, verdicts: dict[int, JudgeResult]) -> tuple[int, bytes]:
    """(HTTP status, JSON body) of a judged job: 200, or 503 when a verdict is missing."""
    if job.prepared is None:
        return 200, _dumps({"outcome_reward": 0.0, "rubric_reward": 0.0, "reward": 0.0})
    group = finish_group(job.prepared, verdicts)
    errors = group.judge_errors
    if job.kind == "evaluate":
        r = group.results[0]
        if errors:
            payload = {
                "detail": f"judge failure: {errors[0]}",
                "judge_error": errors[0],
                "outcome_reward": None,
                "rubric_reward": r.rubric,
                "reward": None,
            }
            return JUDGE_FAILURE_STATUS, _dumps(payload)
        return 200, _dumps({"outcome_reward": r.outcome, "rubric_reward": r.rubric, "reward": r.reward})
    payload = _group_payload(job.prepared, group)
    if errors:
        payload = {"detail": f"judge failure on {len(errors)} response(s): {errors[0]}", "judge_error": errors[0],
                   "judge_errors": len(errors), **payload}  # fmt: skip
        return JUDGE_FAILURE_STATUS, _dumps(payload)
    return 200, _dumps(payload)


def _group_payload(prepared: PreparedGroup, group: GroupScore) -> dict[str, Any]:
    results = []
    for p, r in zip(prepared.parsed, group.results, strict=True):
        row = r.model_dump()
        row["reasoning_chars"] = len(p.reasoning)
        row["content"] = p.content
        results.append(row)
    return {
        "results": results,
        "rewards": group.rewards,
        "advantages": group.advantages,
        "monitors": group.monitors,
    }


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


# --------------------------------------------------------------------------- guard (ASGI)


class _Guard:
    """ASGI middleware (pure, cheap): bearer key (401) and body size limit (413).

    A declared ``Content-Length`` is checked before anything is read; a body without one
    (chunked) is read here up to the limit and replayed to the app. ``/health`` needs no key.
    """

    def __init__(self, app: Any, limit: int, api_key: str | None = None):
        self.app = app
        self.limit = limit
        self.api_key = api_key.encode() if api_key else None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.api_key is not None and scope.get("path") != "/health":
            given = b""
            for name, value in scope.get("headers", ()):
                if name == b"authorization":
                    given = value
            scheme, _, token = given.partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(token.strip(), self.api_key):
                await _reply(
                    send, 401, {"detail": "missing or wrong bearer key"}, [(b"www-authenticate", b"Bearer")]
                )
                return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.limit or declared < 0:
                    await _too_large(send, self.limit)
                    return
                await self.app(scope, receive, send)
                return
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # client went away
            body = message.get("body", b"")
            seen += len(body)
            if seen > self.limit:
                await _too_large(send, self.limit)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _too_large(send: Any, limit: int) -> None:
    await _reply(send, 413, {"detail": f"request body over the limit of {limit} bytes"})


async def _reply(send: Any, status: int, payload: dict, headers: list | None = None) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# --------------------------------------------------------------------------- counters


class Stats:
    """Counters behind ``/health`` and ``/metrics`` (touched from the event loop only)."""

    def __init__(self, window_s: float):
        self.window_s = window_s
        self.started = time.time()
        self.requests: collections.Counter[tuple[str, int]] = collections.Counter()
        self.seconds: collections.Counter[str] = collections.Counter()
        self.body_bytes = 0
        self.offloaded = 0
        self.in_flight = 0
        self.verdicts = 0
        self.judge_failures = 0
        self.recent_failures: collections.deque[float] = collections.deque()
        self.last_judge_error: str | None = None
        self._last_log = 0.0
        self._unlogged = 0

    def judged(self, verdicts: dict[int, JudgeResult]) -> None:
        for v in verdicts.values():
            self.verdicts += 1
            if v.error:
                self.judge_failures += 1
                self.recent_failures.append(time.monotonic())
                self.last_judge_error = v.error
                self._unlogged += 1
        now = time.monotonic()
        if self._unlogged and now - self._last_log >= 10.0:  # one line per 10 s, whatever the rate
            log.warning(
                "%d judge failure(s) answered with HTTP 503; last: %s", self._unlogged, self.last_judge_error
            )
            self._unlogged, self._last_log = 0, now

    def recent(self) -> int:
        cutoff = time.monotonic() - self.window_s
        while self.recent_failures and self.recent_failures[0] < cutoff:
            self.recent_failures.popleft()
        return len(self.recent_failures)


# --------------------------------------------------------------------------- app


def create_app(
    judge: Judge,
    *,
    settings: RewardSettings | None = None,
    api_key: str | None = None,
    max_body_bytes: int = 16 * 1024 * 1024,
    max_concurrency: int | None = None,
    max_pending: int = 4096,
    offload_bytes: int = 1024 * 1024,
    offload_process: bool = True,
    prewarm: bool = False,
    health_window_s: float = 60.0,
) -> Any:
    """Build the ASGI app (FastAPI wrapped in the key check and the body-size limit).

    ``settings`` are the defaults of every request (see :class:`RewardSettings`; its processor
    may be ``module:attr``, resolved here, since it comes from the operator, not a client).
    ``max_concurrency`` (worker threads for a blocking judge's verdicts; parsing and rubric
    scoring run on the loop, see :class:`LoopLane`) defaults to :func:`default_concurrency`.
    Bodies of ``offload_bytes`` or more are parsed and scored in one worker process
    (``offload_process``, when the judge can be pickled or is awaited here; else one thread), so
    their CPU time does not take the GIL from small requests; ``prewarm`` starts that process
    with the server instead of at the first big body.
    """
    settings = settings or RewardSettings()
    settings.parser  # noqa: B018 -- resolve a module:attr processor now, not per request
    _note_missing_sniffio()
    if max_concurrency is None:
        max_concurrency = default_concurrency(judge)
    if max_concurrency < 1:
        raise ValueError("max_concurrency must be >= 1")
    app = FastAPI(title="longtracerl reward server", docs_url=None, redoc_url=None)
    pool = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="reward")
    is_async = callable(getattr(judge, "ajudge", None))
    big = BigLane(offload_process and (is_async or _picklable(judge)))
    on_loop = LoopLane()
    stats = Stats(health_window_s)
    app.state.reward = {  # what this app was built with (for tests and debugging)
        "judge": judge,
        "settings": settings,
        "max_concurrency": max_concurrency,
        "offload_bytes": offload_bytes,
        "offload_process": big.use_process,
        "max_pending": max_pending,
        "stats": stats,
    }

    async def handle(endpoint: str, prepare: Any, request: Request) -> Response:
        t0 = time.perf_counter()
        status = 500
        stats.in_flight += 1
        try:
            if stats.in_flight > max_pending:
                raise HTTPException(503, f"over {max_pending} requests in progress; retry later")
            raw = await request.body()
            stats.body_bytes += len(raw)
            try:
                if len(raw) >= offload_bytes:
                    stats.offloaded += 1
                    status, body, verdicts = await offloaded(prepare, raw)
                else:
                    # parsed and rubric-scored on the loop, one request per loop turn: the work
                    # holds the GIL wherever it runs, and a thread hop cost more CPU than it saved
                    if is_async:
                        status, body, verdicts = await scored(on_loop, prepare, raw)
                    else:  # a blocking judge waits in a worker thread
                        job = await on_loop.run(prepare, raw, settings)
                        loop = asyncio.get_running_loop()
                        status, body, verdicts = await loop.run_in_executor(pool, judge_answer, job, judge)
            except BadRequest as err:
                status = 422
                raise HTTPException(422, err.detail) from None
            stats.judged(verdicts)
            headers = {"Retry-After": str(JUDGE_RETRY_AFTER_S)} if status == JUDGE_FAILURE_STATUS else None
            return Response(body, status_code=status, media_type="application/json", headers=headers)
        except HTTPException as err:
            status = err.status_code
            raise
        finally:
            stats.in_flight -= 1
            stats.requests[(endpoint, status)] += 1
            stats.seconds[endpoint] += time.perf_counter() - t0

    async def scored(lane: Any, prepare: Any, raw: bytes) -> tuple[int, bytes, dict[int, JudgeResult]]:
        """Parsed and scored in ``lane`` (the loop's or the big-body one), an async judge awaited here."""
        job = await lane.run(prepare, raw, settings)
        verdicts = await ajudge_job(job, judge)
        if job.kind == "evaluate":  # the answer is a few numbers
            return (*answer(job, verdicts), verdicts)
        return (*await lane.run(answer, job, verdicts), verdicts)

    async def offloaded(prepare: Any, raw: bytes) -> tuple[int, bytes, dict[int, JudgeResult]]:
        """A big body: parsed and scored in the big-body lane."""
        if not is_async:
            return await big.run(score_blocking, prepare, raw, settings, judge)
        return await scored(big, prepare, raw)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        recent = stats.recent()
        return {
            "status": "degraded" if recent else "ok",
            "judge": getattr(judge, "name", type(judge).__name__),
            "judge_approximate": bool(
                getattr(judge, "approximate", False) or getattr(judge, "name", "") == "rule"
            ),
            "judge_failures": stats.judge_failures,
            "judge_failures_recent": recent,
            "health_window_s": health_window_s,
            "last_judge_error": stats.last_judge_error,
            "judge_calls_in_flight": getattr(judge, "in_flight", None),
            "in_flight": stats.in_flight,
            "served": sum(stats.requests.values()),
            "settings": {k: v for k, v in vars(settings).items() if not k.startswith("_")}
            | {"processor": getattr(settings.parser, "name", str(settings.processor))},
            "modes": list(MODES),
        }

    @app.get("/metrics")
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(_prometheus(stats, judge))

    @app.post("/evaluate")
    async def evaluate(request: Request) -> Response:
        return await handle("evaluate", prepare_evaluate, request)

    @app.post("/evaluate_group")
    async def evaluate_group(request: Request) -> Response:
        return await handle("evaluate_group", prepare_group, request)

    def close() -> None:
        pool.shutdown(wait=False, cancel_futures=True)
        big.close()

    if big.use_process and prewarm:
        app.router.on_startup.append(big.warm)
    app.router.on_shutdown.append(close)
    return _Guard(app, max_body_bytes, api_key)


def _note_missing_sniffio() -> None:
    """httpcore runs ``import sniffio`` on every async request (4 times per grader call); when
    sniffio is not installed each failed attempt searches sys.path again. Recording the absence
    once (``sys.modules["sniffio"] = None``) makes those imports fail at once and httpcore falls
    back to asyncio, as it does anyway: measured 2.25 -> 1.74 ms of CPU per grader call."""
    import importlib.util
    import sys

    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


class LoopLane:
    """CPU work run on the event loop itself, one call per loop turn, in arrival order.

    Between two calls the loop reads sockets and answers other requests (``/health`` among
    them), so a burst of 64 bodies completed in one turn does not hold everything else up for
    64 calls; and no thread takes the GIL from the loop (switching cost more than the work).
    """

    def __init__(self) -> None:
        self.queue: collections.deque[tuple[Any, tuple, asyncio.Future]] = collections.deque()
        self.task: asyncio.Task | None = None

    async def run(self, fn: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self.queue.append((fn, args, fut))
        if self.task is None or self.task.done():
            self.task = loop.create_task(self._drain())
        return await fut

    async def _drain(self) -> None:
        while self.queue:
            fn, args, fut = self.queue.popleft()
            if fut.cancelled():
                continue
            try:
                fut.set_result(fn(*args))
            except Exception as err:
                fut.set_exception(err)
            await asyncio.sleep(0)  # let the loop serve I/O before the next call


class BigLane:
    """Where bodies of ``offload_bytes`` or more are worked on: one worker process (spawned, so
    no threads are forked; nice +10) when ``use_process``, else one thread. If the process pool
    breaks (a worker killed, e.g. for memory, or a process that cannot spawn), the request is
    run again in the thread and the lane stays on the thread, with one warning in the log."""

    def __init__(self, use_process: bool):
        self.use_process = use_process
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reward-big")
        self.process: Any = None

    def executor(self) -> Any:
        if not self.use_process:
            return self.thread
        if self.process is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self.process = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_lower_priority
            )
        return self.process

    async def run(self, fn: Any, *args: Any) -> Any:
        from concurrent.futures.process import BrokenProcessPool

        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.executor(), fn, *args)
        except BrokenProcessPool as err:
            if self.use_process:
                log.warning("big-body worker process failed (%s); big bodies now run in a thread", err)
                self.use_process = False
                self.process.shutdown(wait=False, cancel_futures=True)
                self.process = None
            return await loop.run_in_executor(self.thread, fn, *args)

    async def warm(self) -> None:
        await self.run(_warm)

    def close(self) -> None:
        self.thread.shutdown(wait=False, cancel_futures=True)
        if self.process is not None:
            # waited for: uvicorn ends the process with the signal it caught, so the pool's exit
            # hook never runs and a worker left running would outlive the server
            self.process.shutdown(wait=True, cancel_futures=True)


def _lower_priority() -> None:
    """The big-body worker yields the CPU to the server process when both want it (nice +10)."""
    import os

    with contextlib.suppress(OSError, AttributeError):
        os.nice(10)


def _warm() -> None:
    """Nothing: importing this module in the worker is the point."""


def _picklable(obj: Any) -> bool:
    import pickle

    try:
        pickle.dumps(obj)
    except Exception:
        return False
    return True


def _prometheus(stats: Stats, judge: Any) -> str:
    p = "longtracerl_reward_"
    lines = [f"# TYPE {p}requests_total counter"]
    for (endpoint, status), n in sorted(stats.requests.items()):
        lines.append(f'{p}requests_total{{endpoint="{endpoint}",status="{status}"}} {n}')
    lines.append(f"# TYPE {p}request_seconds_total counter")
    for endpoint, sec in sorted(stats.seconds.items()):
        lines.append(f'{p}request_seconds_total{{endpoint="{endpoint}"}} {sec:.6f}')
    in_flight = getattr(judge, "in_flight", None)
    lines += [
        f"# TYPE {p}verdicts_total counter",
        f"{p}verdicts_total {stats.verdicts}",
        f"# TYPE {p}judge_failures_total counter",
        f"{p}judge_failures_total {stats.judge_failures}",
        f"# TYPE {p}judge_failures_recent gauge",
        f"{p}judge_failures_recent {stats.recent()}",
        f"# TYPE {p}requests_in_flight gauge",
        f"{p}requests_in_flight {stats.in_flight}",
        f"# TYPE {p}body_bytes_total counter",
        f"{p}body_bytes_total {stats.body_bytes}",
        f"# TYPE {p}offloaded_requests_total counter",
        f"{p}offloaded_requests_total {stats.offloaded}",
    ]
    if in_flight is not None:
        lines += [f"# TYPE {p}judge_calls_in_flight gauge", f"{p}judge_calls_in_flight {in_flight}"]
    return "\n".join(lines) + "\n"


def default_concurrency(judge: Judge) -> int:
    """Worker threads for a blocking judge's verdicts (and the answer).

    1 when the threads only compute (a CPU-bound judge such as the rule judge; an async judge
    is awaited on the loop and uses none): more threads only fight over the GIL (see
    docs/rewards.md). 32 for a blocking judge without ``ajudge``, whose threads wait on the
    network.
    """
    from longtracerl.rewards.judge import RuleJudge

    return 1 if callable(getattr(judge, "ajudge", None)) or isinstance(judge, RuleJudge) else 32


DEFAULT_JUDGE_CONCURRENCY = 128


def build_judge(
    kind: str,
    *,
    base_url: str | list[str] | None = None,
    model: str | None = None,
    api_key_env: str | None = None,
    timeout_s: float = 60.0,
    max_total_s: float = 300.0,
    concurrency: int = DEFAULT_JUDGE_CONCURRENCY,
) -> Judge:
    """The judge named at start-up: ``rule`` or ``llm`` (OpenAI-compatible endpoint).

    ``base_url`` may name several endpoints (a list, or comma-separated): requests go
    round-robin over them and skip one that fails for a while (see ``llm/openai.py``
    ``ServerPool``). ``concurrency`` is the most grader calls in flight at once;
    ``max_total_s`` the hard deadline of one verdict.
    """
    from longtracerl.config import ConfigError
    from longtracerl.rewards.judge import LLMJudge, RuleJudge

    if kind == "rule":
        return RuleJudge()
    if kind != "llm":
        raise ConfigError(f"unknown judge '{kind}'. Valid: rule, llm")
    if not model:
        raise ConfigError("--judge llm needs --model (the grader model name served at --base-url)")
    import os

    from longtracerl.llm.openai import make_chat_model

    kwargs: dict[str, Any] = {"timeout_s": timeout_s, "concurrency": concurrency}
    if base_url:
        kwargs["base_url"] = ",".join(base_url) if isinstance(base_url, list) else base_url
    if api_key_env:
        key = os.environ.get(api_key_env)
        if not key:
            raise ConfigError(f"--api-key-env {api_key_env}: the environment variable is not set")
        kwargs["api_key"] = key
    return LLMJudge(
        make_chat_model(f"openai:{model}", **kwargs), max_total_s=max_total_s, max_concurrency=concurrency
    )


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, ``localhost``)."""
    import ipaddress

    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything, so treat it as reachable


def check_bind(host: str, api_key: str | None, insecure_no_key: bool = False) -> None:
    """Refuse to serve a non-loopback address without a bearer key, unless told it is insecure."""
    from longtracerl.config import ConfigError

    if api_key or insecure_no_key or is_loopback(host):
        return
    raise ConfigError(
        f"refusing to bind {host} without a bearer key: any machine that reaches it could use the "
        "server (and its judge). Set --auth-key-env VAR (clients send 'Authorization: Bearer KEY'), "
        "bind 127.0.0.1, or pass --insecure-no-key if the network is trusted"
    )


def serve(
    judge: Judge,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    api_key: str | None = None,
    log_level: str = "warning",
    insecure_no_key: bool = False,
    **app_options: Any,
) -> None:
    """Run the server until interrupted (see :func:`check_bind` for the bind rule;
    ``app_options`` go to :func:`create_app`)."""
    import uvicorn

    check_bind(host, api_key, insecure_no_key)
    app = create_app(judge, api_key=api_key, **app_options)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
