"""Reward server throughput and latency: 64 concurrent clients, rule judge, 8K-token responses.

The server runs in its own process (``longtracerl serve-reward --judge rule``); the clients are
64 keep-alive HTTP/1.1 connections driven by one asyncio loop in this process (a minimal client,
so that the client's own cost on this 2-core machine stays small). Each request is a drop-in
``POST /evaluate`` body whose assistant content is 8,192 SmolLM2 tokens of real Wikipedia text
(HotpotQA asset) ending with an answer line, with 20 rubrics. Latency is measured per request
from the first byte sent to the last byte received. Meanwhile one more connection sends
``GET /health`` every 50 ms: its latency shows whether scoring leaves the server's event loop free.

    python benchmarks/bench_reward_server.py [--clients 64] [--requests 4000] [--tokens 8192]
        [--endpoint evaluate|evaluate_group] [--max-concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from longtracerl.assets import asset_path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def build_bodies(n: int, tokens: int, endpoint: str, seed: int = 0) -> list[bytes]:
    rows = json.loads(asset_path("hotpotqa").read_text(encoding="utf-8"))
    rng = random.Random(seed)
    paras = [(t, "".join(s)) for row in rows[:3000] for t, s in row["context"]]
    try:
        from longtracerl.contexts.tokenizer import load_tokenizer

        tok = load_tokenizer()
    except Exception:  # approximate 4 characters per token
        tok = None
    bodies = []
    for i in range(n):
        row = rows[i % len(rows)]
        picked = rng.sample(paras, 80)
        text = "\n\n".join(f"{t}: {p}" for t, p in picked)
        answer_line = f"\n\nAnswer: {row['answer'] if i % 2 == 0 else 'something else'}"
        budget = tokens - 16
        text = (tok.truncate(text, budget) if tok else text[: budget * 4]) + answer_line
        rubrics = [t for t, _ in picked[:10]] + [t for t, _ in rng.sample(paras, 10)]
        if endpoint == "evaluate":
            body = {
                "label": row["answer"],
                "extra_reward_info": {
                    "question": row["question"],
                    "rubrics": rubrics,
                    "rubric_reward_ratio": 0.3,
                    "rubric_use_content": True,
                    "rubric_use_reasoning_content": False,
                    "dataset_name": "longqa",
                },
                "history": [
                    {"role": "user", "content": row["question"]},
                    {"role": "assistant", "reasoning_content": "", "content": text},
                ],
            }
        else:
            body = {
                "responses": [f"Thinking.\n</think>\n\n{text}<|im_end|>"],
                "label": row["answer"],
                "question": row["question"],
                "rubrics": rubrics,
            }
        bodies.append(json.dumps(body).encode())
    return bodies


async def _read_response(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """(status line, body) of one HTTP/1.1 response with a Content-Length."""
    status_line = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status_line, await reader.readexactly(length)


async def probe_health(
    host: str, port: int, stop: asyncio.Event, lat: list[float], every_s: float = 0.05
) -> None:
    """``GET /health`` on its own connection every ``every_s`` until ``stop``; latencies into ``lat``."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while not stop.is_set():
            t0 = time.perf_counter()
            writer.write(f"GET /health HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
            await _read_response(reader)
            lat.append(time.perf_counter() - t0)
            await asyncio.sleep(every_s)
    finally:
        writer.close()


async def client(
    host: str, port: int, path: str, bodies: list[bytes], queue: asyncio.Queue, lat: list[float], errors: list
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            body = bodies[i % len(bodies)]
            head = (
                f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            t0 = time.perf_counter()
            writer.write(head + body)
            status_line, payload = await _read_response(reader)
            lat.append(time.perf_counter() - t0)
            if b" 200 " not in status_line:
                errors.append((status_line, payload[:200]))
    finally:
        writer.close()


async def run_load(
    host: str,
    port: int,
    path: str,
    bodies: list[bytes],
    n: int,
    clients: int,
    health: list[float] | None = None,
) -> tuple[float, list]:
    queue: asyncio.Queue = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    lat: list[float] = []
    errors: list = []
    stop = asyncio.Event()
    probe = asyncio.create_task(probe_health(host, port, stop, health)) if health is not None else None
    t0 = time.perf_counter()
    await asyncio.gather(*(client(host, port, path, bodies, queue, lat, errors) for _ in range(clients)))
    wall = time.perf_counter() - t0
    if probe is not None:
        stop.set()
        await probe
    if errors:
        raise SystemExit(f"{len(errors)} requests failed, first: {errors[0]}")
    return wall, lat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--tokens", type=int, default=8192)
    ap.add_argument("--bodies", type=int, default=256, help="distinct request bodies, reused round-robin")
    ap.add_argument("--endpoint", choices=["evaluate", "evaluate_group"], default="evaluate")
    ap.add_argument(
        "--max-concurrency", type=int, default=None, help="server --max-concurrency (default: its own)"
    )
    args = ap.parse_args()

    bodies = build_bodies(args.bodies, args.tokens, args.endpoint)
    kb = statistics.mean(len(b) for b in bodies) / 1024
    port = free_port()
    cmd = [sys.executable, "-m", "longtracerl.cli", "serve-reward", "--port", str(port), "--judge", "rule"]
    if args.max_concurrency is not None:
        cmd += ["--max-concurrency", str(args.max_concurrency)]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy())
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"server did not start: {server.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
        sample = httpx.post(
            f"http://127.0.0.1:{port}/{args.endpoint}",
            content=bodies[0],
            headers={"content-type": "application/json"},
        ).json()
        path = f"/{args.endpoint}"
        asyncio.run(run_load("127.0.0.1", port, path, bodies, args.warmup, args.clients))
        server_cpu0 = _cpu_of(server.pid)
        client_cpu0 = time.process_time()
        health: list[float] = []
        wall, lat = asyncio.run(
            run_load("127.0.0.1", port, path, bodies, args.requests, args.clients, health)
        )
        client_cpu = time.process_time() - client_cpu0
        server_cpu = _cpu_of(server.pid) - server_cpu0
    finally:
        server.terminate()
        server.wait(timeout=30)
    lat.sort()
    p50 = lat[len(lat) // 2] * 1e3
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3
    rate = len(lat) / wall
    print(
        f"endpoint /{args.endpoint}, rule judge, {args.clients} concurrent clients, {args.requests} requests "
        f"(+{args.warmup} warm-up), {args.tokens}-token responses ({kb:.0f} KiB bodies), "
        f"server --max-concurrency {args.max_concurrency or 'default (1 for the rule judge)'}, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"sample response: {json.dumps(sample)[:160]}")
    print(f"throughput {rate:.0f} requests/s ({rate * kb / 1024:.1f} MiB/s of request bodies)")
    print(f"latency p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {lat[-1] * 1e3:.1f} ms")
    if health:
        health.sort()
        print(
            f"GET /health during the load: p50 {health[len(health) // 2] * 1e3:.1f} ms, "
            f"max {health[-1] * 1e3:.1f} ms ({len(health)} probes)"
        )
    print(
        f"CPU per request: server {server_cpu / len(lat) * 1e3:.2f} ms, client {client_cpu / len(lat) * 1e3:.2f} ms "
        f"(load-independent capacity on 2 cores ~{2 / ((server_cpu + client_cpu) / len(lat)):.0f} req/s, "
        f"server-bound ~{1 / (server_cpu / len(lat)):.0f} req/s); load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"peak RSS: client {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, "
        f"server {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
