"""The reward server: ``longtracerl serve-reward`` (FastAPI + uvicorn; imported only here).

Endpoints:

- ``POST /evaluate``: drop-in for the authors' reward server. Request::

      {"label": str,
       "extra_reward_info": {"question": str, "rubrics": [str], "rubric_reward_ratio": float,
                             "rubric_use_content": bool, "rubric_use_reasoning_content": bool,
                             "dataset_name": "longqa" | "longrlvr"},
       "history": [{"role": "user", "content": str},
                   {"role": "assistant", "reasoning_content": str, "content": str}]}

  Response ``{"outcome_reward": float, "rubric_reward": float, "reward": float}`` with
  ``reward = (1 - eta) * outcome + eta * rubric`` (``eta = rubric_reward_ratio``), the rubric score
  on the content (and/or reasoning, per the two flags); for ``longrlvr`` the rubric is the F-beta
  (beta 2) of the chunk ids in the last ``<useful_chunks>`` block against ``rubrics`` and
  ``reward = o + eta * F + (1 - eta) * o * F``. All zeros, without judging, when the last
  message has no content. The per-sample reward is not group-normalised: the trainer's
  post-processing does that (or use ``/evaluate_group``).
- ``POST /evaluate_group``: the raw responses of one prompt and a processor name -> per-response
  parse status and reasons, components, combined rewards, GRPO advantages, and monitors.
- ``GET /health``: ``{"status": "ok", "judge": ..., "in_flight": n}``.

Protection: binds 127.0.0.1 by default; optional bearer key (401 without it); request bodies
over ``max_body_bytes`` get 413; at most ``max_concurrency`` requests are scored at once (the
rest wait; beyond ``max_pending`` waiting, 503); scoring (judge calls included) runs in a thread
pool, off the event loop (1 thread for the CPU-bound rule judge, 32 for the LLM judge, unless
set).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from longtracerl.rewards.combine import MODES, fbeta, score_parsed, useful_chunk_ids
from longtracerl.rewards.judge import Judge
from longtracerl.rewards.parse import PROCESSORS, Processor
from longtracerl.rewards.rubric import rubric_score, scored_text

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- request models


class ExtraRewardInfo(BaseModel):
    model_config = ConfigDict(extra="ignore")
    question: str = ""
    rubrics: list[str] = Field(default_factory=list)
    rubric_reward_ratio: float = Field(default=0.3, ge=0.0, le=1.0)
    rubric_use_content: bool = True
    rubric_use_reasoning_content: bool = False
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


class EvaluateResponse(BaseModel):
    outcome_reward: float
    rubric_reward: float
    reward: float


class EvaluateGroupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    responses: list[str] = Field(min_length=1, max_length=4096)
    label: str
    question: str = ""
    rubrics: list[str] = Field(default_factory=list)
    processor: str = Field(
        default="qwen3-thinking",
        description="A built-in processor name only: a request never names code to import.",
    )
    mode: str = "positive-only"
    eta: float = Field(default=0.3, ge=0.0, le=1.0)
    finish_reasons: list[str | None] | None = None
    use_reasoning: bool = False
    use_content: bool = True
    aliases: list[str] = Field(default_factory=list)


# --------------------------------------------------------------------------- scoring


def builtin_processor(name: str) -> Processor:
    """A built-in response processor by name (``PROCESSORS``); anything else is a ``ValueError``.

    Request fields go through this, never through :func:`~longtracerl.rewards.parse.get_processor`,
    whose ``module:attr`` escape hatch would import and call whatever a client names.
    """
    proc = PROCESSORS.get(name) if isinstance(name, str) else None
    if proc is None:
        shown = name if isinstance(name, str) and len(name) <= 80 else f"{str(name)[:80]}..."
        raise ValueError(
            f"unknown processor {shown!r}: a request may name only a built-in processor "
            f"({', '.join(PROCESSORS)})"
        )
    return proc


def evaluate_sample(req: EvaluateRequest, judge: Judge) -> dict[str, float]:
    """The per-sample ``/evaluate`` semantics (pure; runs in a worker thread)."""
    info = req.extra_reward_info
    last = req.history[-1]
    content = last.content or ""
    if not content.strip():
        return {"outcome_reward": 0.0, "rubric_reward": 0.0, "reward": 0.0}
    eta = info.rubric_reward_ratio
    try:
        verdict = judge.judge(info.question, req.label, content, aliases=info.aliases)
        outcome = 1.0 if verdict.correct else 0.0
        if verdict.error:
            log.warning("judge error (outcome 0): %s", verdict.error)
    except Exception as err:  # never fail the trainer's request because the judge broke
        log.warning("judge raised (outcome 0): %s", err)
        outcome = 0.0
    if info.dataset_name == "longrlvr":
        ids = useful_chunk_ids(content) or []
        f = fbeta(ids, info.rubrics)
        reward = outcome + eta * f + (1 - eta) * outcome * f
        return {"outcome_reward": outcome, "rubric_reward": f, "reward": round(reward, 12)}
    text = scored_text(
        content,
        last.reasoning_content or "",
        use_content=info.rubric_use_content,
        use_reasoning=info.rubric_use_reasoning_content,
    )
    rubric = rubric_score(text, info.rubrics).score
    reward = (1 - eta) * outcome + eta * rubric
    return {"outcome_reward": outcome, "rubric_reward": rubric, "reward": round(reward, 12)}


def evaluate_group(req: EvaluateGroupRequest, judge: Judge) -> dict[str, Any]:
    """The ``/evaluate_group`` semantics (pure; runs in a worker thread)."""
    proc = builtin_processor(req.processor)
    reasons = req.finish_reasons if req.finish_reasons is not None else [None] * len(req.responses)
    parsed = [proc.parse(t, fr) for t, fr in zip(req.responses, reasons, strict=True)]
    group = score_parsed(
        parsed,
        label=req.label,
        question=req.question,
        rubrics=req.rubrics,
        judge=judge,
        mode=req.mode,
        eta=req.eta,
        use_reasoning=req.use_reasoning,
        use_content=req.use_content,
        aliases=req.aliases,
    )
    results = []
    for p, r in zip(parsed, group.results, strict=True):
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


# --------------------------------------------------------------------------- app


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


def _json(payload: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(payload, ensure_ascii=False).encode(), status_code=status, media_type="application/json"
    )


async def _parse(request: Request, model: type[BaseModel]) -> Any:
    """Validate the raw body in one step (faster than FastAPI's body parameters); 422 on errors."""
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as err:
        detail = err.errors(include_url=False, include_context=False, include_input=False)
        raise HTTPException(422, detail) from None


def create_app(
    judge: Judge,
    *,
    api_key: str | None = None,
    max_body_bytes: int = 16 * 1024 * 1024,
    max_concurrency: int | None = None,
    max_pending: int = 4096,
) -> Any:
    """Build the ASGI app (FastAPI wrapped in the body-size limit).

    ``max_concurrency`` (requests scored at once, each in a worker thread) defaults to
    :func:`default_concurrency`: 1 for a CPU-bound judge such as the rule judge (more threads
    only fight over the GIL: measured 497 req/s with 1 vs 266 req/s with 16, see
    docs/rewards.md), 32 for the LLM judge, whose threads wait on the network.
    """
    if max_concurrency is None:
        max_concurrency = default_concurrency(judge)
    if max_concurrency < 1:
        raise ValueError("max_concurrency must be >= 1")
    app = FastAPI(title="longtracerl reward server", docs_url=None, redoc_url=None)
    pool = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="reward")
    state = {"in_flight": 0, "pending": 0, "served": 0}
    slots: list[asyncio.Semaphore] = []  # created lazily inside the server's loop

    async def run(fn: Any, *args: Any) -> Any:
        if not slots:
            slots.append(asyncio.Semaphore(max_concurrency))
        if state["pending"] >= max_pending:
            raise HTTPException(503, f"over {max_pending} requests waiting; retry later")
        state["pending"] += 1
        try:
            await slots[0].acquire()
        finally:
            state["pending"] -= 1
        state["in_flight"] += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
        finally:
            state["in_flight"] -= 1
            state["served"] += 1
            slots[0].release()

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "judge": getattr(judge, "name", type(judge).__name__),
            "judge_approximate": bool(
                getattr(judge, "approximate", False) or getattr(judge, "name", "") == "rule"
            ),
            "in_flight": state["in_flight"],
            "served": state["served"],
            "modes": list(MODES),
        }

    @app.post("/evaluate")
    async def evaluate(request: Request) -> Response:
        req = await _parse(request, EvaluateRequest)
        return _json(await run(evaluate_sample, req, judge))

    @app.post("/evaluate_group")
    async def evaluate_group_endpoint(request: Request) -> Response:
        req = await _parse(request, EvaluateGroupRequest)
        if req.finish_reasons is not None and len(req.finish_reasons) != len(req.responses):
            raise HTTPException(
                422, f"finish_reasons has {len(req.finish_reasons)} values for {len(req.responses)} responses"
            )
        if req.mode not in MODES:
            raise HTTPException(422, f"unknown mode '{req.mode}'. Valid: {', '.join(MODES)}")
        try:
            builtin_processor(req.processor)
        except ValueError as err:
            raise HTTPException(422, str(err)) from None
        return _json(await run(evaluate_group, req, judge))

    app.router.on_shutdown.append(lambda: pool.shutdown(wait=False, cancel_futures=True))
    return _Guard(app, max_body_bytes, api_key)


def default_concurrency(judge: Judge) -> int:
    """Worker threads for scoring: many for network-bound judges, 1 for CPU-bound ones."""
    from longtracerl.rewards.judge import LLMJudge

    return 32 if isinstance(judge, LLMJudge) else 1


def build_judge(
    kind: str,
    *,
    base_url: str | None = None,
    model: str | None = None,
    api_key_env: str | None = None,
    timeout_s: float = 60.0,
    max_total_s: float = 300.0,
) -> Judge:
    """The judge named at start-up: ``rule`` or ``llm`` (OpenAI-compatible endpoint)."""
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

    kwargs: dict[str, Any] = {"timeout_s": timeout_s}
    if base_url:
        kwargs["base_url"] = base_url
    if api_key_env:
        key = os.environ.get(api_key_env)
        if not key:
            raise ConfigError(f"--api-key-env {api_key_env}: the environment variable is not set")
        kwargs["api_key"] = key
    return LLMJudge(make_chat_model(f"openai:{model}", **kwargs), max_total_s=max_total_s)


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
    max_body_bytes: int = 16 * 1024 * 1024,
    max_concurrency: int | None = None,
    log_level: str = "warning",
    insecure_no_key: bool = False,
) -> None:
    """Run the server until interrupted (see :func:`check_bind` for the bind rule)."""
    import uvicorn

    check_bind(host, api_key, insecure_no_key)
    app = create_app(judge, api_key=api_key, max_body_bytes=max_body_bytes, max_concurrency=max_concurrency)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
