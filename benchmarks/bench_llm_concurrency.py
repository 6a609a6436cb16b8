"""LLM client throughput vs concurrency against a latency server (loopback only, bounded requests).

Starts ``tests/helpers/llm_servers.FakeLLMServer`` in child processes (so the server does not share the
client's interpreter lock); every chat request is answered after a fixed ``--latency`` seconds.
For each concurrency limit ``c`` it runs ``c * --rounds`` distinct requests through
``OpenAIChatModel.acomplete_many`` (after a warm-up batch of ``c`` that opens the connections)
and compares the achieved rate with the ideal concurrency-limited rate ``c / latency``.

    python benchmarks/bench_llm_concurrency.py                          # c = 1 8 16 32 64, latency 0.5 s
    python benchmarks/bench_llm_concurrency.py --latency 0.2 --rounds 8
    python benchmarks/bench_llm_concurrency.py --servers 2 --dead 1      # a pool: 2 live + 1 dead URL
    python benchmarks/bench_llm_concurrency.py --keepalive 20            # the old pool setting, to compare

Prints one line per concurrency level: requests, wall time, achieved req/s, ideal req/s, the
achieved share of the ideal, the client CPU time per request, the peak RSS, and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


CHAT_BODY = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "model": "fake-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11},
    }
).encode()


class LatencyProtocol(asyncio.Protocol):
    """Minimal HTTP/1.1 keep-alive server: every request gets ``CHAT_BODY`` after ``latency`` s."""

    latency = 0.5

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buf = b""
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buf[:head_end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            end = head_end + 4 + length
            if len(self.buf) < end:
                return
            self.buf = self.buf[end:]
            reply = (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(CHAT_BODY)).encode()
                + b"\r\n\r\n"
                + CHAT_BODY
            )
            asyncio.get_running_loop().call_later(self.latency, self._send, reply)

    def _send(self, reply: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(reply)


def serve_asyncio(latency: float) -> None:
    """Child process: the minimal asyncio latency server; prints its base URL."""
    LatencyProtocol.latency = latency

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(LatencyProtocol, "127.0.0.1", 0, backlog=1024)
        print(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1", flush=True)
        await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
        server.close()

    asyncio.run(main())


def serve(latency: float, kind: str) -> None:
    """Child process: one server answering every chat request after ``latency`` s."""
    if kind == "asyncio":
        serve_asyncio(latency)
        return
    sys.path.insert(0, str(ROOT))  # the repository root: tests.helpers
    from tests.helpers.llm_servers import FakeLLMServer, FakeResponse

    srv = FakeLLMServer().start()
    srv.default = FakeResponse.chat("ok", delay_s=latency)
    print(srv.base_url, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    srv.stop()


def start_servers(k: int, latency: float, kind: str = "asyncio") -> tuple[list[subprocess.Popen], list[str]]:
    procs, urls = [], []
    for _ in range(k):
        p = subprocess.Popen(
            [sys.executable, __file__, "--_serve", "--server", kind, "--latency", str(latency)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(p)
        urls.append(p.stdout.readline().strip())
    return procs, urls


def dead_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there: connection refused
    return f"http://127.0.0.1:{port}/v1"


async def run_level(urls: list[str], c: int, rounds: int, keepalive: int | None) -> dict:
    from longtracerl.llm.base import ChatParams
    from longtracerl.llm.openai import LLMConfig, OpenAIChatModel

    fields: dict = dict(
        base_url=urls[0],
        model="fake",
        api_key=None,
        concurrency=c,
        timeout_s=30,
        max_retries=3,
        backoff_s=0.05,
    )
    if len(urls) > 1:
        fields.update(base_urls=urls, pool_cooldown_s=30)
    if keepalive is not None:  # None: = concurrency; 20 was httpx's default
        fields["keepalive_connections"] = keepalive
    cfg = LLMConfig(**fields)  # only the fields set, so older versions of the client run too
    model = OpenAIChatModel(cfg)
    params = ChatParams(max_tokens=8)
    warm = [[{"role": "user", "content": f"warm {i}"}] for i in range(c)]
    await model.acomplete_many(warm, params)
    convs = [[{"role": "user", "content": f"q {i}"}] for i in range(c * rounds)]
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t = time.perf_counter()
    out = await model.acomplete_many(convs, params)
    wall = time.perf_counter() - t
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    await model.aclose()
    model.close()
    assert all(o.text == "ok" for o in out)
    return {
        "n": len(convs),
        "wall_s": wall,
        "cpu_ms_per_req": (cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime) / len(convs) * 1e3,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--latency", type=float, default=0.5, help="Seconds the server waits per request.")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 16, 32, 64])
    ap.add_argument("--rounds", type=int, default=6, help="Timed requests = concurrency x rounds.")
    ap.add_argument("--servers", type=int, default=1, help="Live servers (a pool when > 1 or with --dead).")
    ap.add_argument("--dead", type=int, default=0, help="Extra pool URLs where nothing listens.")
    ap.add_argument("--keepalive", type=int, default=None, help="Override max keep-alive connections.")
    ap.add_argument(
        "--server",
        choices=("asyncio", "fake"),
        default="asyncio",
        help="asyncio: a minimal keep-alive server (cheap per request); fake: tests' FakeLLMServer "
        "(stdlib http.server, a thread per connection, ~1-2 ms of CPU per request).",
    )
    ap.add_argument("--_serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._serve:
        serve(args.latency, args.server)
        return 0
    if max(args.concurrency) * args.rounds > 5000:
        ap.error("keep concurrency x rounds <= 5000 requests per level")

    procs, urls = start_servers(args.servers, args.latency, args.server)
    urls += [dead_url() for _ in range(args.dead)]
    try:
        print(
            f"{os.cpu_count()} CPUs, load average {'/'.join(f'{x:.2f}' for x in os.getloadavg())}; "
            f"latency {args.latency}s; servers {args.servers} live + {args.dead} dead; "
            f"keepalive {'= concurrency' if args.keepalive is None else args.keepalive}; server {args.server}",
            flush=True,
        )
        print(
            f"{'conc':>5} {'reqs':>5} {'wall s':>7} {'req/s':>8} {'ideal':>8} {'share':>6} {'CPU ms/req':>10}"
        )
        for c in args.concurrency:
            r = asyncio.run(run_level(urls, c, args.rounds, args.keepalive))
            rate = r["n"] / r["wall_s"]
            ideal = c / args.latency
            print(
                f"{c:>5} {r['n']:>5} {r['wall_s']:>7.2f} {rate:>8.1f} {ideal:>8.1f} {rate / ideal:>6.1%} "
                f"{r['cpu_ms_per_req']:>10.2f}",
                flush=True,
            )
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"peak RSS (client) {rss:.0f} MB; load average after {'/'.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
    finally:
        for p in procs:
            p.stdin.close()
            p.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
