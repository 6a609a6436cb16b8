"""LLM servers for tests: a scriptable fake OpenAI-compatible server and a real llama.cpp one.

Fixtures (declared in ``tests/conftest.py``):

``fake_llm_server`` (function scope) -> :class:`FakeLLMServer`, already running::

    def test_judge(fake_llm_server):
        srv = fake_llm_server
        srv.queue(FakeResponse.error(500), FakeResponse.chat("yes"))   # first 500, then "yes"
        srv.default = FakeResponse.chat("no")                          # once the queue is empty
        srv.responder = lambda body: FakeResponse.chat(body["messages"][-1]["content"].upper())
        model = make_chat_model("openai:fake", base_url=srv.base_url, backoff_s=0.01)
        ...
        assert srv.requests[0].body["messages"][0]["role"] == "system"
        assert srv.max_in_flight <= 2

  Which response a chat request gets: the next queued one (``queue``); else ``responder(body)``
  when set and it returns a response; else ``default`` (``FakeResponse.chat("ok")``).
  Responses: ``FakeResponse.chat(text, tool_calls=[("search", {"query": "x"})], reasoning=...,
  finish_reason=..., delay_s=...)``, ``FakeResponse.error(status, message, retry_after=...)``,
  ``FakeResponse.raw(b"not json")`` (garbage / bodies without the expected fields), or
  ``FakeResponse(status, body, delay_s, headers)`` directly. ``delay_s`` sleeps before replying
  (to provoke client timeouts). Every request to ``/v1/chat/completions`` is recorded in
  ``requests`` (:class:`RecordedRequest`: ``body`` (parsed JSON), ``headers``, ``t_start``,
  ``t_end``); ``in_flight`` / ``max_in_flight`` count concurrent requests. ``GET /v1/models``
  answers a one-model list. ``reset()`` clears queue, records and counters.

``llama_server`` (session scope) -> base URL (``http://127.0.0.1:PORT/v1``) of a real
``python -m llama_cpp.server`` serving SmolLM2-135M-Instruct (GGUF asset). Fails (does not skip)
when llama-cpp-python is missing. Mark tests using it ``@pytest.mark.llm_server``.

:class:`StubChatModel`: no server at all, an in-process ``ChatModel`` that replays a script.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "FakeResponse",
    "RecordedRequest",
    "FakeLLMServer",
    "LlamaServer",
    "start_llama_server",
    "free_port",
]


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class FakeResponse:
    """What the fake server sends for one request. ``body``: dict/list -> JSON, str/bytes -> raw."""

    status: int = 200
    body: Any = None
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def chat(
        cls,
        text: str | None = "ok",
        *,
        tool_calls: list[tuple[str, dict | str]] | None = None,
        reasoning: str | None = None,
        finish_reason: str | None = None,
        model: str = "fake-model",
        usage: tuple[int, int] = (10, 5),
        delay_s: float = 0.0,
    ) -> FakeResponse:
        """A well-formed chat completion; ``tool_calls`` are ``(name, arguments)`` pairs."""
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if reasoning is not None:
            message["reasoning_content"] = reasoning
        if tool_calls:
            message["tool_calls"] = [
                {
                    "id": f"call_{i}",
                    "type": "function",
                    "function": {
                        "name": name,
                        "arguments": args if isinstance(args, str) else json.dumps(args),
                    },
                }
                for i, (name, args) in enumerate(tool_calls)
            ]
        body = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": finish_reason or ("tool_calls" if tool_calls else "stop"),
                }
            ],
            "usage": {
                "prompt_tokens": usage[0],
                "completion_tokens": usage[1],
                "total_tokens": usage[0] + usage[1],
            },
        }
        return cls(200, body, delay_s)

    @classmethod
    def error(
        cls,
        status: int = 500,
        message: str = "fake server error",
        *,
        retry_after: float | None = None,
        delay_s: float = 0.0,
    ) -> FakeResponse:
        """An OpenAI-style error body with the given HTTP status."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        return cls(status, {"error": {"message": message, "type": "fake", "code": status}}, delay_s, headers)

    @classmethod
    def raw(cls, body: bytes | str, status: int = 200, *, delay_s: float = 0.0) -> FakeResponse:
        """Send ``body`` verbatim (garbage, truncated JSON, JSON without ``choices`` ...)."""
        return cls(status, body if isinstance(body, bytes | str) else str(body), delay_s)


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or the raw text when it was not JSON
    t_start: float
    t_end: float | None = None


class FakeLLMServer:
    """A scriptable OpenAI-compatible server on 127.0.0.1 (stdlib http.server, one thread per request)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[FakeResponse] = deque()
        self.default: FakeResponse = FakeResponse.chat("ok")
        self.responder: Callable[[Any], FakeResponse | None] | None = None
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # -- scripting --
    def queue(self, *responses: FakeResponse) -> None:
        """Append responses, consumed one per chat request in order."""
        with self._lock:
            self._queue.extend(responses)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.in_flight = 0
            self.max_in_flight = 0
        self.default = FakeResponse.chat("ok")
        self.responder = None

    @property
    def bodies(self) -> list[Any]:
        """The parsed JSON bodies of the chat requests received so far."""
        with self._lock:
            return [r.body for r in self.requests]

    def _next(self, body: Any) -> FakeResponse:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self.responder is not None:
            out = self.responder(body)
            if out is not None:
                return out
        return self.default

    # -- lifecycle --
    def start(self) -> FakeLLMServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else Nagle + delayed ACK add ~40 ms per reply

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _send(self, status: int, payload: bytes, headers: dict[str, str], ctype: str) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(payload)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): fine

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    payload = json.dumps(
                        {"object": "list", "data": [{"id": "fake-model", "object": "model"}]}
                    ).encode()
                    self._send(200, payload, {}, "application/json")
                else:
                    self._send(404, b'{"error": {"message": "not found"}}', {}, "application/json")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8", errors="replace")
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, b'{"error": {"message": "not found"}}', {}, "application/json")
                    return
                rec = RecordedRequest(self.path, dict(self.headers.items()), body, time.monotonic())
                with server._lock:
                    server.requests.append(rec)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    resp = server._next(body)
                    if resp.delay_s:
                        time.sleep(resp.delay_s)
                    if isinstance(resp.body, bytes):
                        payload, ctype = resp.body, "text/plain"
                    elif isinstance(resp.body, str):
                        payload, ctype = resp.body.encode(), "text/plain"
                    else:
                        payload, ctype = json.dumps(resp.body).encode(), "application/json"
                finally:
                    with server._lock:
                        server.in_flight -= 1
                        rec.t_end = time.monotonic()
                self._send(resp.status, payload, resp.headers, ctype)

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # the default backlog of 5 drops bursts of connects
            daemon_threads = True
            block_on_close = False

        httpd = Server(("127.0.0.1", 0), Handler)
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self.base_url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------- real llama.cpp server


@dataclass
class LlamaServer:
    proc: subprocess.Popen
    base_url: str
    log_path: Path

    def log_tail(self, n: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return "<no log>"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)


def _die_with_parent() -> None:
    """Linux: SIGTERM the server when the process (thread) that started it dies, even by SIGKILL."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start_llama_server(
    model_path: str | os.PathLike | None = None,
    *,
    n_ctx: int = 8192,
    startup_timeout_s: float = 180.0,
    log_dir: str | os.PathLike | None = None,
    port: int | None = None,
) -> LlamaServer:
    """Start ``python -m llama_cpp.server`` on ``port`` (default: a free one) and wait for
    ``/v1/models``. Starting it again on the port of a stopped one restarts "the same" endpoint.

    Raises ``RuntimeError`` (with the server log) when llama-cpp-python is missing, the process
    dies, or it is not ready within ``startup_timeout_s``.
    """
    if importlib.util.find_spec("llama_cpp") is None:
        raise RuntimeError(
            "llama-cpp-python is not installed: run `pip install 'llama-cpp-python[server]'` "
            "(scripts/setup.sh installs it with the 'llamacpp' extra)"
        )
    if model_path is None:
        from longtracerl.assets import asset_path

        model_path = asset_path("smollm2-gguf")
    port = port or free_port()
    log_path = Path(log_dir or tempfile.mkdtemp(prefix="llama_server_")) / f"llama_server_{port}.log"
    cmd = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model_path),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_ctx", str(n_ctx),
    ]  # fmt: skip
    with open(log_path, "wb") as logf:
        proc = subprocess.Popen(
            cmd,
            stdout=logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    server = LlamaServer(proc, f"http://127.0.0.1:{port}/v1", log_path)
    atexit.register(server.stop)  # also when the test run ends without fixture teardown
    deadline = time.monotonic() + startup_timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(
                f"llama_cpp.server exited with code {proc.returncode} before it was ready:\n{server.log_tail()}"
            )
        try:
            r = httpx.get(f"{server.base_url}/models", timeout=2.0)
            if r.status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(
                f"llama_cpp.server not ready after {startup_timeout_s:.0f}s:\n{server.log_tail()}"
            )
        time.sleep(0.25)


class StubChatModel:
    """A ``ChatModel`` in this process that replays ``replies`` in order (thread-safe).

    A reply is a text, or an exception instance that ``complete`` raises. Once the replies are used
    up it returns ``default``, or fails the test when there is none. Every ``messages`` list sent is
    kept in ``calls``::

        model = StubChatModel(["3", LLMError("timeout")], default="1")
    """

    name = "stub"

    def __init__(self, replies=(), *, default: str | None = None, finish_reason: str | None = "stop"):
        self.replies = list(replies)
        self.default = default
        self.finish_reason = finish_reason
        self.calls: list[list[dict]] = []
        self._lock = threading.Lock()

    def complete(self, messages, params=None):
        from longtracerl.llm.base import Completion

        with self._lock:
            self.calls.append(messages)
            if self.replies:
                reply = self.replies.pop(0)
            elif self.default is not None:
                reply = self.default
            else:
                raise AssertionError(f"StubChatModel: no reply left for call {len(self.calls)}")
        if isinstance(reply, BaseException):
            raise reply
        return Completion(text=reply, finish_reason=self.finish_reason)
