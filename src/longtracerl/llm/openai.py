"""OpenAI-compatible chat client: timeouts, bounded jittered retries, a concurrency limit and a
SQLite completion cache. Works with any server that speaks ``POST {base_url}/chat/completions``
(vLLM, SGLang, llama.cpp, llama-cpp-python, hosted APIs).

Every stage gets its model through :func:`make_chat_model`, so one spec string (or one
:class:`LLMConfig`) points a stage at an endpoint:

    >>> cfg = LLMConfig(base_url="http://127.0.0.1:8000/v1", model="qwen", api_key="k")
    >>> cfg.max_total_s() > cfg.timeout_s
    True
    >>> make_chat_model("openai:qwen@http://127.0.0.1:8000/v1").name
    'openai:qwen'

Failure policy: timeouts, connection errors, HTTP 429 and 5xx, and a 200 whose body is not a
chat completion are retried ``max_retries`` times with exponential backoff and jitter, then
raise :class:`~longtracerl.llm.base.EndpointError` (an item failure for the stages, never a model
outcome); after ``max_failures_in_row`` such calls in a row the client raises
:class:`~longtracerl.llm.base.EndpointDown`, which stops the stage with one line naming the URL.
Other 4xx fail at once with the server's message (:class:`LLMError`). :meth:`OpenAIChatModel.check_health`
is the cheap call stages make at start, so a wrong URL fails in seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr, model_validator

from longtracerl.config import ConfigError, Field, StageConfig, resolve
from longtracerl.llm.base import (
    ChatModel,
    ChatParams,
    Completion,
    EndpointDown,
    EndpointError,
    LLMError,
    ToolCall,
)

__all__ = [
    "LLMConfig",
    "OpenAIChatModel",
    "CompletionCache",
    "cache_key",
    "parse_completion",
    "make_chat_model",
    "stage_chat_model",
    "DEFAULT_BASE_URL",
    "ServerPool",
]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"


def _env_base_url() -> str:
    return os.environ.get("LONGTRACERL_BASE_URL") or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL


def _env_api_key() -> SecretStr | None:
    key = os.environ.get("LONGTRACERL_API_KEY") or os.environ.get("OPENAI_API_KEY")
    return SecretStr(key) if key else None


def _env_model() -> str:
    return os.environ.get("LONGTRACERL_MODEL") or "default"


class LLMConfig(StageConfig):
    """How to reach one OpenAI-compatible endpoint. Secrets never reach ``config_hash``."""

    base_url: str = Field(default_factory=_env_base_url)
    """Endpoint root ending in /v1; default from LONGTRACERL_BASE_URL, then OPENAI_BASE_URL."""
    model: str = Field(default_factory=_env_model)
    """Model name sent with each request; default from LONGTRACERL_MODEL, else 'default'."""
    api_key: SecretStr | None = Field(default_factory=_env_api_key)
    """Bearer token; default from LONGTRACERL_API_KEY, then OPENAI_API_KEY. None: no header."""
    timeout_s: float = Field(60.0, gt=0, le=3600)
    """Limit for one request, in seconds."""
    max_retries: int = Field(4, ge=0, le=10)
    """Retries after the first attempt (timeouts, 429, 5xx, bad body)."""
    backoff_s: float = Field(1.0, ge=0, le=60)
    """Base backoff; attempt i waits ~backoff_s * 2**i (jittered)."""
    backoff_max_s: float = Field(30.0, ge=0, le=600)
    """Cap on one backoff wait (also caps Retry-After)."""
    concurrency: int = Field(8, ge=1, le=1024)
    """Most requests in flight at once."""
    max_failures_in_row: int = Field(5, ge=1, le=1000)
    """Calls in a row that fail after their retries (endpoint down or overloaded) before the client raises
    EndpointDown, which stops the stage; completed items are kept."""
    health_timeout_s: float = Field(5.0, gt=0, le=600)
    """Limit of the health call (GET /models) made at stage start."""
    base_urls: list[str] = Field(default_factory=list)
    """A pool of endpoints serving the same model: requests go round-robin over them, and one that fails
    (timeout, connection error, 429, 5xx) is skipped for pool_cooldown_s. Empty: base_url alone. A
    comma-separated base_url fills this too."""
    pool_cooldown_s: float = Field(30.0, ge=0, le=3600)
    """How long a failed pool endpoint is skipped, in seconds."""
    keepalive_connections: int | None = Field(None, ge=0, le=1024)
    """Idle async connections kept open per endpoint for reuse; None: as many as concurrency (fewer makes
    every request beyond them open a new connection)."""
    cache_dir: str | None = None
    """Folder for the SQLite completion cache; None disables caching."""
    extra_body: dict[str, Any] = Field(default_factory=dict)
    """Extra JSON fields merged into every request body (e.g. chat_template_kwargs)."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra HTTP headers."""

    @model_validator(mode="after")
    def _check(self) -> LLMConfig:
        if "," in self.base_url:  # "http://a/v1,http://b/v1": a pool
            urls = [u.strip() for u in self.base_url.split(",") if u.strip()]
            if not urls:
                raise ValueError(f"base_url {self.base_url!r} names no endpoint")
            if not self.base_urls:
                object.__setattr__(self, "base_urls", urls)
            object.__setattr__(self, "base_url", urls[0])
        for name, url in [("base_url", self.base_url)] + [
            (f"base_urls[{i}]", u) for i, u in enumerate(self.base_urls)
        ]:
            if not url.startswith(("http://", "https://")):
                raise ValueError(
                    f"{name} must start with http:// or https:// (got {url!r}); e.g. http://127.0.0.1:8000/v1"
                )
        if not self.model:
            raise ValueError("model must not be empty")
        return self

    def endpoints(self) -> list[str]:
        """The endpoint roots requests go to: ``base_urls`` when set, else ``[base_url]``."""
        return list(dict.fromkeys(self.base_urls)) if self.base_urls else [self.base_url]

    def max_total_s(self) -> float:
        """Upper bound on the wall time of one ``complete`` call (ignoring waiting for a slot).

        Each attempt is bounded by at most twice ``timeout_s`` (see ``OpenAIChatModel``).
        """
        waits = sum(min(self.backoff_max_s, self.backoff_s * 2**i) for i in range(self.max_retries))
        return (self.max_retries + 1) * 2 * self.timeout_s + waits


def cache_key(model: str, messages: list[dict[str, Any]], params: ChatParams, extra_body: dict | None) -> str:
    """sha256 of the canonical JSON of everything that decides a completion."""
    blob = json.dumps(
        {
            "model": model,
            "messages": messages,
            "params": params.model_dump(mode="json"),
            "extra_body": extra_body or {},
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class CompletionCache:
    """Completions keyed by :func:`cache_key` in ``DIR/llm_cache.sqlite`` (WAL mode).

    One short-lived connection per operation, so it is safe across threads and processes.
    """

    FILENAME = "llm_cache.sqlite"

    def __init__(self, directory: str | os.PathLike):
        self.path = Path(directory) / self.FILENAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(self._connect()) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS completions ("
                "key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=60000")
        return conn

    def get(self, key: str) -> Completion | None:
        with contextlib.closing(self._connect()) as conn:
            row = conn.execute("SELECT value FROM completions WHERE key=?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return Completion.model_validate_json(row[0]).model_copy(update={"cached": True})
        except ValueError:  # an entry from an incompatible version: treat as a miss
            return None

    def put(self, key: str, completion: Completion) -> None:
        value = completion.model_copy(update={"cached": False}).model_dump_json()
        with contextlib.closing(self._connect()) as conn:
            conn.execute(
                "INSERT OR REPLACE INTO completions(key, value, created) VALUES (?, ?, ?)",
                (key, value, time.time()),
            )

    def __bool__(self) -> bool:  # an empty cache is still a cache
        return True

    def __len__(self) -> int:
        with contextlib.closing(self._connect()) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM completions").fetchone()[0])


def _with(cfg: LLMConfig, overrides: dict[str, Any]) -> LLMConfig:
    """``cfg`` with some fields replaced, validated again."""
    return LLMConfig.model_validate({**dict(cfg), **overrides})


class _Retry(Exception):
    """One attempt failed in a way worth retrying."""

    def __init__(self, reason: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


class _Attempts:
    """The bounded retry loop of :meth:`OpenAIChatModel.complete` and ``acomplete``: iterating gives
    the wait before each attempt (None before the first, then the jittered backoff, logged); each
    attempt runs inside ``with attempts:``, which keeps a retryable failure (:class:`_Retry`) as
    ``last`` and lets an :class:`LLMError` through with its attempt count. The caller ends with
    :meth:`succeeded` or :meth:`failure`.
    """

    def __init__(self, model: OpenAIChatModel, key: str | None):
        self.model, self.key = model, key
        self.started = time.monotonic()
        self.count = 0  # attempts begun
        self.last: _Retry | None = None

    def __iter__(self) -> Iterator[float | None]:
        retries = self.model.cfg.max_retries
        for attempt in range(retries + 1):
            wait: float | None = None
            if attempt:
                last = self.last
                wait = self.model._backoff(attempt - 1, last.retry_after if last else None)
                log.warning("LLM retry %d/%d in %.1fs: %s", attempt, retries, wait, last.reason)
            self.count = attempt + 1
            yield wait

    def __enter__(self) -> _Attempts:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: Any) -> bool:
        if isinstance(err, _Retry):
            self.last = err
            return True
        if isinstance(err, LLMError):
            err.attempts = self.count
        return False

    def succeeded(self, out: Completion) -> Completion:
        self.model._succeeded()
        if self.key is not None:
            self.model.cache.put(self.key, out)
        return out

    def failure(self) -> EndpointError:
        return self.model._fail(self.last, self.count, self.started)


def _server_message(content: bytes) -> str:
    text = content.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:500]
    if isinstance(data, dict):
        err = data.get("error", data.get("detail", data.get("message")))
        if isinstance(err, dict):
            err = err.get("message", err)
        if err is not None:
            return str(err)[:500]
    return text.strip()[:500]


def _retry_after(headers: httpx.Headers) -> float | None:
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def parse_completion(data: Any) -> Completion:
    """Turn a chat-completions JSON body into a :class:`Completion`; ``ValueError`` if it is not one.

    >>> parse_completion({"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}]}).text
    'hi'
    """
    if not isinstance(data, dict):
        raise ValueError(f"body is a {type(data).__name__}, not an object")
    if "error" in data and "choices" not in data:
        raise ValueError(f"server error in body: {_server_message(json.dumps(data).encode())}")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        raise ValueError("no 'choices' in body")
    choice = choices[0]
    msg = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(msg, dict):
        raise ValueError("choices[0] has no 'message' object")
    content = msg.get("content")
    if content is not None and not isinstance(content, str):
        if isinstance(content, list):  # content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        else:
            raise ValueError(f"message.content is a {type(content).__name__}")
    reasoning = msg.get("reasoning_content", msg.get("reasoning"))
    calls: list[ToolCall] = []
    for i, tc in enumerate(msg.get("tool_calls") or []):
        fn = tc.get("function") if isinstance(tc, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise ValueError(f"tool_calls[{i}] has no function name")
        args = fn.get("arguments", "")
        if not isinstance(args, str):
            args = json.dumps(args, ensure_ascii=False)
        calls.append(ToolCall(id=tc.get("id"), name=fn["name"], arguments=args))
    if "content" not in msg and not calls and not isinstance(reasoning, str):
        # content: null is legitimate (e.g. a reasoning model that hit max_tokens while thinking)
        raise ValueError("message has no content, tool_calls or reasoning")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    return Completion(
        text=content or "",
        reasoning=reasoning if isinstance(reasoning, str) else None,
        tool_calls=calls,
        finish_reason=choice.get("finish_reason"),
        model=data.get("model") if isinstance(data.get("model"), str) else None,
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
    )


class ServerPool:
    """Round-robin over endpoint URLs with passive health checks.

    ``pick()`` returns the next endpoint that is not cooling down; ``failed(url)`` puts an endpoint
    in cool-down for ``cooldown_s``, ``ok(url)`` clears it. When every endpoint is cooling down,
    the one that failed longest ago is tried anyway (a pool never refuses a request by itself).
    Thread-safe.

    >>> pool = ServerPool(["http://a/v1", "http://b/v1", "http://c/v1"], cooldown_s=60)
    >>> [pool.pick() for _ in range(4)]
    ['http://a/v1', 'http://b/v1', 'http://c/v1', 'http://a/v1']
    >>> pool.failed("http://b/v1"); [pool.pick() for _ in range(3)]
    ['http://c/v1', 'http://a/v1', 'http://c/v1']
    """

    def __init__(self, urls: Sequence[str], cooldown_s: float = 30.0, clock: Any = time.monotonic):
        if not urls:
            raise ValueError("ServerPool needs at least one URL")
        self.urls = list(urls)
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._down_until = [0.0] * len(self.urls)
        self._failures = [0] * len(self.urls)
        self._next = 0
        self._lock = threading.Lock()

    def pick(self) -> str:
        if len(self.urls) == 1:
            return self.urls[0]
        now = self._clock()
        with self._lock:
            n = len(self.urls)
            for k in range(n):
                i = (self._next + k) % n
                if self._down_until[i] <= now:
                    self._next = i + 1
                    return self.urls[i]
            i = min(range(n), key=self._down_until.__getitem__)
            self._next = i + 1
            return self.urls[i]

    def failed(self, url: str) -> None:
        with self._lock:
            i = self.urls.index(url)
            self._failures[i] += 1
            self._down_until[i] = self._clock() + self.cooldown_s

    def ok(self, url: str) -> None:
        with self._lock:
            i = self.urls.index(url)
            if self._down_until[i]:
                self._down_until[i] = 0.0

    def status(self) -> list[dict[str, Any]]:
        """Per endpoint: url, healthy (not cooling down), failures so far."""
        now = self._clock()
        with self._lock:
            return [
                {"url": u, "healthy": self._down_until[i] <= now, "failures": self._failures[i]}
                for i, u in enumerate(self.urls)
            ]


class _Lanes:
    """The async connections of one event loop: one single-connection ``httpx.AsyncClient`` per lane.

    A request takes an idle lane for its endpoint (last used first, so its connection is warm) or
    opens a new one, and gives it back after; at most ``keep`` idle lanes are kept per endpoint,
    the rest are closed. The concurrency semaphore bounds the lanes in use. Why not one shared
    client: httpcore's connection pool rescans every connection for every queued request at each
    request start and end (measured: at 64 in flight, 7.8 M ``is_idle`` calls for 384 requests,
    about 20 ms of CPU per request), so a shared pool of 64 connections reached only 42-77 % of the
    ideal rate on 2 cores (docs/scale.md); a lane's pool has one connection to scan.
    """

    def __init__(self, make_client: Any, keep: int):
        self._make = make_client
        self.keep = keep
        self.idle: dict[str, list[httpx.AsyncClient]] = {}
        self.open: set[httpx.AsyncClient] = set()

    def take(self, url: str) -> httpx.AsyncClient:
        stack = self.idle.get(url)
        if stack:
            return stack.pop()
        client = self._make()
        self.open.add(client)
        return client

    async def give(self, url: str, client: httpx.AsyncClient) -> None:
        stack = self.idle.setdefault(url, [])
        if len(stack) < self.keep and not client.is_closed:
            stack.append(client)
        else:
            self.open.discard(client)
            await client.aclose()

    async def aclose(self) -> None:
        clients, self.open, self.idle = list(self.open), set(), {}
        for client in clients:
            await client.aclose()


class OpenAIChatModel:
    """A :class:`~longtracerl.llm.base.ChatModel` over an OpenAI-compatible HTTP endpoint.

    ``complete`` (sync, thread-safe) and ``acomplete`` (async) share the retry policy, the cache
    and a concurrency limit of ``cfg.concurrency`` requests in flight (a thread semaphore for
    sync calls, an asyncio semaphore per event loop for async calls). Each attempt is bounded by
    ``timeout_s`` (async: hard; sync: read timeout plus a check between received chunks, so at
    most about ``2 * timeout_s``).
    """

    def __init__(self, cfg: LLMConfig | None = None, **overrides: Any):
        if cfg is None:
            cfg = LLMConfig(**overrides)
        elif overrides:
            cfg = _with(cfg, overrides)
        self.cfg = cfg
        self.name = f"openai:{cfg.model}"
        self.url = cfg.base_url.rstrip("/") + "/chat/completions"
        self.pool = ServerPool(
            [u.rstrip("/") + "/chat/completions" for u in cfg.endpoints()], cfg.pool_cooldown_s
        )
        self.cache = CompletionCache(cfg.cache_dir) if cfg.cache_dir else None
        self._headers = {"Content-Type": "application/json", **cfg.headers}
        if cfg.api_key is not None and cfg.api_key.get_secret_value():
            self._headers["Authorization"] = f"Bearer {cfg.api_key.get_secret_value()}"
        self._timeout = httpx.Timeout(cfg.timeout_s, connect=min(cfg.timeout_s, 30.0))
        # idle connections kept per endpoint for the async path (see _Lanes)
        self.keepalive = cfg.concurrency if cfg.keepalive_connections is None else cfg.keepalive_connections
        self._client = httpx.Client(timeout=self._timeout, headers=self._headers)
        self._slots = threading.BoundedSemaphore(cfg.concurrency)
        self._loop_state: weakref.WeakKeyDictionary[Any, tuple[asyncio.Semaphore, _Lanes]] = (
            weakref.WeakKeyDictionary()
        )
        self._ssl: Any = None
        self._lock = threading.Lock()
        self._rng = random.Random()
        self._failures_in_row = 0  # calls that failed after their retries, one after the other

    def __repr__(self) -> str:
        return f"OpenAIChatModel(model={self.cfg.model!r}, base_url={self.cfg.base_url!r})"

    # ---- request building and response handling (shared by sync and async) ----

    def request_body(self, messages: list[dict[str, Any]], params: ChatParams) -> dict[str, Any]:
        """The JSON body sent for ``messages`` and ``params``."""
        if params.n != 1:
            raise ValueError("ChatParams.n must be 1 (one Completion per call); vary seed for more samples")
        body: dict[str, Any] = {
            "model": self.cfg.model,
            "messages": messages,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
        }
        if params.top_k is not None:
            body["top_k"] = params.top_k
        if params.stop:
            body["stop"] = params.stop
        if params.seed is not None:
            body["seed"] = params.seed
        if params.tools:
            body["tools"] = params.tools
        if params.response_format is not None:
            body["response_format"] = params.response_format
        body.update(self.cfg.extra_body)
        return body

    def _handle(
        self, status: int, headers: httpx.Headers, content: bytes, url: str | None = None
    ) -> Completion:
        if status == 429 or status >= 500:
            raise _Retry(
                f"{self._where(url) if url else ''}HTTP {status}: {_server_message(content)}",
                status=status,
                retry_after=_retry_after(headers),
            )
        if status >= 400:
            raise LLMError(
                f"{url or self.url}: HTTP {status}: {_server_message(content)}", status=status, attempts=0
            )
        try:
            data = json.loads(content)
        except ValueError:
            raise _Retry(
                f"HTTP {status} with a body that is not JSON: {content[:200]!r}", status=status
            ) from None
        try:
            return parse_completion(data)
        except ValueError as err:
            raise _Retry(
                f"HTTP {status} with a body that is not a chat completion: {err}", status=status
            ) from None

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        base = min(self.cfg.backoff_max_s, self.cfg.backoff_s * 2**attempt)
        with self._lock:
            wait = base / 2 + self._rng.uniform(0, base / 2)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.cfg.backoff_max_s))
        return wait

    def _where_all(self) -> str:
        return self.url if len(self.pool.urls) == 1 else f"LLM pool {self.pool.urls}"

    def _fail(self, last: _Retry, attempts: int, started: float) -> EndpointError:
        """The error of a call whose retries are spent; the ``max_failures_in_row``-th in a row is
        an :class:`EndpointDown`."""
        with self._lock:
            self._failures_in_row += 1
            down = self._failures_in_row >= self.cfg.max_failures_in_row
            n = self._failures_in_row
        message = (
            f"{self._where_all()}: gave up after {attempts} attempt(s) in "
            f"{time.monotonic() - started:.1f}s: {last.reason}"
        )
        if down:
            return EndpointDown(
                f"{self._where_all()}: {n} LLM calls in a row failed (endpoint down or overloaded); "
                f"last: {last.reason}",
                status=last.status,
                attempts=attempts,
            )
        return EndpointError(message, status=last.status, attempts=attempts)

    def _succeeded(self) -> None:
        if self._failures_in_row:
            with self._lock:
                self._failures_in_row = 0

    def check_health(self) -> None:
        """A cheap ``GET {base_url}/models`` on each endpoint, bounded by ``health_timeout_s``;
        raises :class:`EndpointDown` when none answers (connection refused, timeout, HTTP 5xx).
        Any other answer (even 404 or 401) means a server is there, and the calls will say more.
        """
        problems = []
        for base in self.cfg.endpoints():
            url = base.rstrip("/") + "/models"
            try:
                resp = self._client.get(url, timeout=self.cfg.health_timeout_s)
            except httpx.UnsupportedProtocol as err:
                raise LLMError(f"{url}: {err}", attempts=0) from None
            except httpx.TimeoutException:
                problems.append(f"{url}: no answer within {self.cfg.health_timeout_s}s")
                continue
            except httpx.TransportError as err:
                problems.append(f"{url}: {type(err).__name__}: {err}")
                continue
            if resp.status_code >= 500:
                problems.append(f"{url}: HTTP {resp.status_code}: {_server_message(resp.content)}")
                continue
            return
        raise EndpointDown(
            "LLM endpoint not reachable (check the URL and that the server is running): "
            + "; ".join(problems)
        )

    def _prepare(self, messages, params):
        params = params or ChatParams()
        body = self.request_body(messages, params)
        key = (
            cache_key(self.cfg.model, messages, params, self.cfg.extra_body)
            if self.cache is not None
            else None
        )
        return params, body, key

    # ---- sync ----

    def _attempt_sync(self, body: dict[str, Any]) -> Completion:
        url = self.pool.pick()
        try:
            out = self._attempt_sync_url(body, url)
        except _Retry:
            self.pool.failed(url)
            raise
        self.pool.ok(url)
        return out

    def _attempt_sync_url(self, body: dict[str, Any], url: str) -> Completion:
        deadline = time.monotonic() + self.cfg.timeout_s
        try:
            with self._client.stream("POST", url, json=body) as resp:
                chunks = []
                for chunk in resp.iter_bytes():
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        raise _Retry(f"timed out after {self.cfg.timeout_s}s (response too slow)")
                status, headers = resp.status_code, resp.headers
        except httpx.UnsupportedProtocol as err:
            raise LLMError(f"{url}: {err}", attempts=0) from None
        except httpx.TimeoutException as err:
            raise _Retry(
                f"{self._where(url)}timed out after {self.cfg.timeout_s}s ({type(err).__name__})"
            ) from None
        except httpx.TransportError as err:
            raise _Retry(f"{self._where(url)}connection error: {type(err).__name__}: {err}") from None
        return self._handle(status, headers, b"".join(chunks), url)

    def complete(self, messages: list[dict[str, Any]], params: ChatParams | None = None) -> Completion:
        """One chat completion (blocking). Raises :class:`LLMError` after bounded retries."""
        params, body, key = self._prepare(messages, params)
        if key is not None and (hit := self.cache.get(key)) is not None:
            return hit
        attempts = _Attempts(self, key)
        for wait in attempts:
            if wait is not None:
                time.sleep(wait)
            with attempts:  # a retryable failure goes on to the next attempt
                with self._slots:
                    out = self._attempt_sync(body)
                return attempts.succeeded(out)
        raise attempts.failure()

    # ---- async ----

    def _new_async_client(self) -> httpx.AsyncClient:
        if self._ssl is None:  # one SSL context for every lane (building one costs ~10 ms)
            self._ssl = httpx.create_ssl_context()
        return httpx.AsyncClient(
            timeout=self._timeout,
            headers=self._headers,
            verify=self._ssl,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )

    def _state(self) -> tuple[asyncio.Semaphore, _Lanes]:
        loop = asyncio.get_running_loop()
        with self._lock:
            state = self._loop_state.get(loop)
            if state is None:
                state = (
                    asyncio.Semaphore(self.cfg.concurrency),
                    _Lanes(self._new_async_client, self.keepalive),
                )
                self._loop_state[loop] = state
        return state

    async def _attempt_async(self, lanes: _Lanes, body: dict[str, Any]) -> Completion:
        url = self.pool.pick()
        client = lanes.take(url)
        try:
            out = await self._attempt_async_url(client, body, url)
        except _Retry:
            self.pool.failed(url)
            raise
        finally:
            await lanes.give(url, client)
        self.pool.ok(url)
        return out

    def _where(self, url: str) -> str:
        """A prefix naming the endpoint in retry reasons, only when there is a pool."""
        return f"{url}: " if len(self.pool.urls) > 1 else ""

    async def _attempt_async_url(
        self, client: httpx.AsyncClient, body: dict[str, Any], url: str
    ) -> Completion:
        try:
            async with asyncio.timeout(self.cfg.timeout_s):
                resp = await client.post(url, json=body)
        except httpx.UnsupportedProtocol as err:
            raise LLMError(f"{url}: {err}", attempts=0) from None
        except (TimeoutError, httpx.TimeoutException) as err:
            raise _Retry(
                f"{self._where(url)}timed out after {self.cfg.timeout_s}s ({type(err).__name__})"
            ) from None
        except httpx.TransportError as err:
            raise _Retry(f"{self._where(url)}connection error: {type(err).__name__}: {err}") from None
        return self._handle(resp.status_code, resp.headers, resp.content, url)

    async def acomplete(self, messages: list[dict[str, Any]], params: ChatParams | None = None) -> Completion:
        """Async :meth:`complete`; at most ``cfg.concurrency`` requests in flight per event loop."""
        params, body, key = self._prepare(messages, params)
        if key is not None and (hit := self.cache.get(key)) is not None:
            return hit
        sem, lanes = self._state()
        attempts = _Attempts(self, key)
        for wait in attempts:
            if wait is not None:
                await asyncio.sleep(wait)
            with attempts:  # a retryable failure goes on to the next attempt
                async with sem:
                    out = await self._attempt_async(lanes, body)
                return attempts.succeeded(out)
        raise attempts.failure()

    async def acomplete_many(
        self,
        conversations: Sequence[list[dict[str, Any]]],
        params: ChatParams | None = None,
        *,
        return_exceptions: bool = False,
    ) -> list[Completion | LLMError]:
        """Run many conversations concurrently (bounded by ``cfg.concurrency``), results in order.

        With ``return_exceptions=True`` a failed item yields its :class:`LLMError` instead of raising.
        """
        tasks = [self.acomplete(m, params) for m in conversations]
        results = await asyncio.gather(*tasks, return_exceptions=return_exceptions)
        for r in results:
            if isinstance(r, BaseException) and not isinstance(r, LLMError):
                raise r
        return list(results)

    def complete_many(
        self,
        conversations: Sequence[list[dict[str, Any]]],
        params: ChatParams | None = None,
        *,
        return_exceptions: bool = False,
    ) -> list[Completion | LLMError]:
        """Blocking wrapper of :meth:`acomplete_many` (not for use inside a running event loop)."""

        async def run() -> list[Completion | LLMError]:
            try:
                return await self.acomplete_many(conversations, params, return_exceptions=return_exceptions)
            finally:
                await self.aclose()

        return asyncio.run(run())

    # ---- lifecycle ----

    async def aclose(self) -> None:
        """Close the async client of the running loop (the sync client stays usable)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            state = self._loop_state.pop(loop, None)
        if state is not None:
            await state[1].aclose()

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpenAIChatModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---- factory used by every stage ----


def _openai_factory(rest: str, **kwargs: Any) -> ChatModel:
    model, base_url = rest, None
    if "@" in rest:
        head, _, tail = rest.rpartition("@")
        if tail.startswith(("http://", "https://")):
            model, base_url = head, tail
    fields: dict[str, Any] = dict(kwargs)
    if model:
        fields["model"] = model
    if base_url:
        fields["base_url"] = base_url
    try:
        return OpenAIChatModel(LLMConfig(**fields))
    except ValueError as err:
        raise ConfigError(f"LLM spec 'openai:{rest}': {err}") from None


def _local_factory(rest: str, **kwargs: Any) -> ChatModel:
    from longtracerl.llm.local import LocalChatModel

    return LocalChatModel(rest or "smollm2", **kwargs)


BACKENDS: dict[str, Any] = {"openai": _openai_factory, "local": _local_factory}


def stage_chat_model(spec: str | ChatModel, settings: Any = None) -> ChatModel:
    """The chat model of a stage: ``spec`` with the stage's ``llm_client`` settings
    (:class:`~longtracerl.llm.base.LLMClientSettings`) applied to OpenAI-compatible endpoints,
    then its health call, so a wrong URL fails in seconds at stage start.
    """
    from longtracerl.llm.base import check_endpoint

    kwargs = settings.overrides() if settings is not None else {}
    openai_like = isinstance(spec, str) and (spec.startswith(("openai:", "http://", "https://")))
    model = make_chat_model(spec, **(kwargs if openai_like else {}))
    check_endpoint(model)
    return model


def make_chat_model(spec: str | LLMConfig | dict[str, Any] | ChatModel, **kwargs: Any) -> ChatModel:
    """Build the chat model a stage uses from a spec.

    - ``"openai:MODEL"``: :class:`OpenAIChatModel`, base URL from ``base_url=`` or the environment;
      ``"openai:MODEL@http://host:port/v1"`` names the endpoint inline. ``kwargs`` are
      :class:`LLMConfig` fields (``timeout_s=``, ``cache_dir=``, ...).
    - ``"http://host:port/v1"``: that endpoint, model name from ``model=`` or the environment.
    - ``"local:PATH"`` or ``"local:smollm2"``: in-process transformers model
      (:class:`~longtracerl.llm.local.LocalChatModel`; ``kwargs`` go to it).
    - an :class:`LLMConfig` or a dict of its fields; an object that already has ``complete``.
    - ``"module:attr"``: a user factory called with ``kwargs`` (or a ready ChatModel object).
    """
    if isinstance(spec, LLMConfig):
        try:
            return OpenAIChatModel(_with(spec, kwargs) if kwargs else spec)
        except ValueError as err:
            raise ConfigError(f"LLM config: {err}") from None
    if isinstance(spec, dict):
        try:
            return OpenAIChatModel(LLMConfig(**{**spec, **kwargs}))
        except ValueError as err:
            raise ConfigError(f"LLM config: {err}") from None
    if not isinstance(spec, str):
        if callable(getattr(spec, "complete", None)):
            return spec
        raise ConfigError(
            f"LLM spec must be a string, LLMConfig, dict or ChatModel (got {type(spec).__name__})"
        )
    if spec.startswith(("http://", "https://")):
        try:
            return OpenAIChatModel(LLMConfig(**{**kwargs, "base_url": spec}))
        except ValueError as err:
            raise ConfigError(f"LLM spec '{spec}': {err}") from None
    prefix, sep, rest = spec.partition(":")
    if sep and prefix in BACKENDS:
        return BACKENDS[prefix](rest, **kwargs)
    if not sep:
        raise ConfigError(
            f"LLM spec '{spec}' has no backend prefix. Valid: openai:MODEL[@URL], local:PATH|smollm2, "
            "or module:attr"
        )
    target = resolve({}, spec, "LLM backend")
    obj = target(**kwargs) if isinstance(target, type) or not hasattr(target, "complete") else target
    if not callable(getattr(obj, "complete", None)):
        raise ConfigError(f"LLM spec '{spec}' did not give an object with a complete() method")
    return obj
