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

Side-by-side mode (``--side-by-side``): the same 64-client load against the server with the rule
judge and with the LLM judge pointed at a fake OpenAI-compatible grader (its own process, a
fixed delay per call, counting its calls in flight), for each payload size. A payload is a
drop-in ``/evaluate`` body whose user message holds the long context (128K or 8K SmolLM2 tokens
of real Wikipedia text) and whose assistant content is about 1K tokens ending with an answer
line; every request carries a distinct question, so the verdict cache never answers. Each
scenario runs for ``--seconds`` after a warm-up and prints req/s, p50, p99, and the grader's
calls in flight (mean and peak, sampled every 0.2 s). ``--big-client-mb 15`` adds the one-big-
client scenario: ``clients - 1`` normal clients alone, then next to one client sending bodies
whose assistant content is 15 MB; it prints the normal clients' share of their throughput.
``--also 'CMD'`` (repeatable; ``--also-label NAME`` names each) runs another ``/evaluate`` server
under the same load, for a side-by-side with it: ``{port}`` is filled in, and a ``{judge_args}``
word becomes ``--judge rule`` or ``--judge llm --base-url URL --model fake`` (e.g. this project at
another commit, on its own PYTHONPATH). ``--rounds N`` runs each scenario N times, the servers in
alternating order, and prints each server's median and its ratio to this project's. The
``/health`` column is the p99 of a ``GET /health`` sent every 50 ms on its own connection.

    python benchmarks/bench_reward_server.py --side-by-side [--judges rule,0.05,0.5,2]
        [--payloads 131072,8192] [--seconds 15] [--big-client-mb 15] [--judge-concurrency 128]
        [--rounds 3] [--also CMD --also-label NAME ...]

Outage mode (``--outage hang,http500,garbage``): 40 concurrent ``/evaluate`` requests against a
fake grader that hangs, answers HTTP 500 or replies without a verdict, with ``serve-reward
--judge-timeout 5 --judge-budget 20``; prints the statuses, the latencies, the grader calls and
``/health``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import resource
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
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


# --------------------------------------------------------------------------- side-by-side mode


class FakeJudge:
    """A minimal OpenAI-compatible grader: answers every chat request after ``delay_s``.

    ``failure``: ``"http500"`` answers HTTP 500, ``"garbage"`` a reply without a verdict (a
    hang is a long delay). ``GET /stats`` returns calls in flight now, their peak, and calls so far.
    """

    def __init__(self, delay_s: float, failure: str = ""):
        self.delay_s = delay_s
        self.failure = failure
        self.in_flight = self.peak = self.calls = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                if head.split(b" ", 2)[1].startswith(b"/stats"):
                    payload = json.dumps(
                        {"in_flight": self.in_flight, "peak": self.peak, "calls": self.calls}
                    )
                else:
                    self.calls += 1
                    self.in_flight += 1
                    self.peak = max(self.peak, self.in_flight)
                    try:
                        await asyncio.sleep(self.delay_s)
                    finally:
                        self.in_flight -= 1
                    verdict = "yes" if self.calls % 2 else "no"
                    text = f"extracted_final_answer: x\nreasoning: compared\ncorrect: {verdict}"
                    if self.failure == "garbage":
                        text = "I could not decide."
                    payload = json.dumps(
                        {
                            "choices": [
                                {"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                            ]
                        }
                    )
                data = payload.encode()
                status = (
                    b"500 Internal Server Error" if self.failure == "http500" and self.calls else b"200 OK"
                )
                writer.write(
                    b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                    % (status, len(data))
                    + data
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def serve(self, port: int) -> None:
        async def run() -> None:
            server = await asyncio.start_server(self.handle, "127.0.0.1", port, backlog=1024)
            async with server:
                await server.serve_forever()

        asyncio.run(run())


def _chars_per_token(text: str) -> float:
    try:
        from longtracerl.contexts.tokenizer import load_tokenizer

        sample = text[:40_000]
        return len(sample) / max(1, load_tokenizer().count(sample))
    except Exception:  # no tokenizer asset: the usual ratio for English Wikipedia text
        return 4.2


class Payloads:
    """``/evaluate`` bodies of one size; ``body(i)`` puts ``i`` into the question (no cache hits)."""

    MARK = "@@Q@@"

    def __init__(self, tokens: int, *, variants: int = 8, content_tokens: int = 1024, content_bytes: int = 0):
        rows = json.loads(asset_path("hotpotqa").read_text(encoding="utf-8"))
        rng = random.Random(tokens)
        paras = [f"{t}: {''.join(s)}" for row in rows[:4000] for t, s in row["context"]]
        cpt = _chars_per_token("\n\n".join(paras[:400]))
        self.chars_per_token = cpt
        self.templates: list[tuple[bytes, bytes]] = []
        for v in range(variants):
            row = rows[v]
            context = self._text(rng, paras, int(tokens * cpt))
            content = self._text(rng, paras, content_bytes or int(content_tokens * cpt))
            content += f"\n\nAnswer: {row['answer'] if v % 2 == 0 else 'something else'}"
            rubrics = [p.split(":", 1)[0] for p in rng.sample(paras, 20)]
            body = {
                "label": row["answer"],
                "extra_reward_info": {
                    "question": f"{self.MARK} {row['question']}",
                    "rubrics": rubrics,
                    "rubric_reward_ratio": 0.3,
                    "rubric_use_content": True,
                    "rubric_use_reasoning_content": False,
                    "dataset_name": "longqa",
                },
                "history": [
                    {"role": "user", "content": f"{context}\n\nQuestion: {row['question']}"},
                    {
                        "role": "assistant",
                        "reasoning_content": "Looking through the documents.",
                        "content": content,
                    },
                ],
            }
            head, _, tail = json.dumps(body).partition(self.MARK)
            self.templates.append((head.encode(), tail.encode()))
        self.mean_bytes = statistics.mean(len(h) + len(t) for h, t in self.templates)

    @staticmethod
    def _text(rng: random.Random, paras: list[str], chars: int) -> str:
        out, size = [], 0
        while size < chars:
            p = paras[rng.randrange(len(paras))]
            out.append(p)
            size += len(p) + 2
        return "\n\n".join(out)[:chars]

    def body(self, i: int) -> bytes:
        head, tail = self.templates[i % len(self.templates)]
        return head + str(i).encode() + tail


async def _timed_client(
    port: int,
    payloads: Payloads,
    counter: list[int],
    until: float,
    lat: list[float],
    errors: list,
    done: list[int],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**24)
    try:
        while time.perf_counter() < until:
            counter[0] += 1
            body = payloads.body(counter[0])
            head = (
                f"POST /evaluate HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            t0 = time.perf_counter()
            writer.write(head)
            writer.write(body)
            status_line, payload = await _read_response(reader)
            done[0] += 1
            if time.perf_counter() <= until:
                lat.append(time.perf_counter() - t0)
            if b" 200 " not in status_line:
                errors.append((status_line, payload[:200]))
    finally:
        writer.close()


async def _sample_judge(judge_port: int | None, until: float, samples: list[int]) -> None:
    if judge_port is None:
        return
    async with httpx.AsyncClient(timeout=5) as client:
        while time.perf_counter() < until:
            with contextlib.suppress(httpx.HTTPError):
                samples.append((await client.get(f"http://127.0.0.1:{judge_port}/stats")).json()["in_flight"])
            await asyncio.sleep(0.2)


def _load(
    port: int,
    groups: list[tuple[Payloads, int]],
    seconds: float,
    warmup: float,
    judge_port: int | None,
    server_pid: int | None = None,
) -> list[dict]:
    """Run every (payloads, clients) group at once; stats per group over the timed window, and the
    server's CPU time per request over the whole run (warm-up included)."""

    async def run() -> list[dict]:
        cpu0 = _cpu_of(server_pid) if server_pid else None
        done = [0]
        start = time.perf_counter()
        until = start + warmup + seconds
        lats: list[list[float]] = [[] for _ in groups]
        errors: list = []
        samples: list[int] = []
        counter = [0]
        health: list[float] = []
        stop = asyncio.Event()
        tasks = [
            _timed_client(port, p, counter, until, lats[g], errors, done)
            for g, (p, n) in enumerate(groups)
            for _ in range(n)
        ]

        async def clear_warmup() -> None:
            await asyncio.sleep(warmup)
            for lat in [*lats, health]:
                lat.clear()
            await _sample_judge(judge_port, until, samples)
            await asyncio.sleep(max(0.0, until - time.perf_counter()))
            stop.set()

        await asyncio.gather(*tasks, clear_warmup(), probe_health("127.0.0.1", port, stop, health))
        health.sort()
        cpu = (_cpu_of(server_pid) - cpu0) / max(1, done[0]) if server_pid else None
        out = []
        for lat in lats:
            lat.sort()
            n = len(lat)
            out.append(
                {
                    "rate": n / seconds,
                    "p50": lat[n // 2] if n else float("nan"),
                    "p99": lat[min(n - 1, int(n * 0.99))] if n else float("nan"),
                    "n": n,
                    "errors": len(errors),
                    "first_error": errors[0] if errors else None,
                    "judge_mean": statistics.mean(samples) if samples else None,
                    "judge_peak": max(samples) if samples else None,
                    "server_cpu_ms": cpu * 1e3 if cpu is not None else None,
                    "health_p99": health[min(len(health) - 1, int(len(health) * 0.99))] if health else None,
                }
            )
        return out

    return asyncio.run(run())


def _start(cmd: list[str], port: int) -> subprocess.Popen:
    # stderr to an unlinked file, not a pipe: a server that logs a lot (e.g. grader retries)
    # would block on a full pipe nobody reads; the child keeps its copy of the descriptor
    with tempfile.TemporaryFile() as log_file:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log_file, env=os.environ.copy())
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                return proc
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log_file.seek(0)
                raise SystemExit(f"{cmd[:6]} did not start: {log_file.read().decode()[-2000:]}")
            time.sleep(0.2)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def _fmt(label: str, r: dict) -> str:
    judge = "-" if r["judge_mean"] is None else f"{r['judge_mean']:.0f} (peak {r['judge_peak']})"
    err = f"  ERRORS {r['errors']}: {r['first_error']}" if r["errors"] else ""
    cpu = "-" if r["server_cpu_ms"] is None else f"{r['server_cpu_ms']:.2f}"
    if not r["n"]:
        return f"{label:<44} no request finished within the window{err}"
    health = "-" if r["health_p99"] is None else f"{r['health_p99'] * 1e3:.0f}"
    return f"{label:<44} {r['rate']:8.1f} {r['p50'] * 1e3:9.0f} {r['p99'] * 1e3:9.0f} {cpu:>9} {health:>8}   {judge}{err}"


def side_by_side(args: argparse.Namespace) -> None:
    sizes = [int(x) for x in args.payloads.split(",") if x]
    payloads = {t: Payloads(t) for t in sizes}
    servers = _servers(args)
    print(
        f"{args.clients} clients, {args.seconds:g} s per scenario after {args.warmup_s:g} s warm-up; "
        f"{os.cpu_count()} CPUs shared with other jobs (load average {os.getloadavg()[0]:.1f} at start); "
        f"payload sizes: "
        + ", ".join(f"{t} tokens = {p.mean_bytes / 1024:.0f} KiB" for t, p in payloads.items())
        + f" ({next(iter(payloads.values())).chars_per_token:.2f} chars/token)"
    )
    print(
        f"{'scenario':<44} {'req/s':>8} {'p50 ms':>9} {'p99 ms':>9} {'CPU ms':>9} {'/health':>8}   grader calls in flight"
    )
    print(
        "(CPU ms: the server process's CPU time per request, the other processes excluded; /health: p99 ms "
        "of a GET /health every 50 ms on its own connection during the load)"
    )
    for judge in [j for j in args.judges.split(",") if j]:
        judge_port = judge_proc = None
        if judge != "rule":
            judge_port = free_port()
            judge_proc = subprocess.Popen(
                [sys.executable, __file__, "--fake-judge-port", str(judge_port), "--fake-judge-delay", judge]
            )
        try:
            if judge_port is not None:
                _wait_port(judge_port)
            judge_args = ["--judge", "rule"]
            if judge_port is not None:
                judge_args = ["--judge", "llm", "--base-url", f"http://127.0.0.1:{judge_port}/v1",
                              "--model", "fake", "--judge-timeout", "30", "--judge-budget", "60"]  # fmt: skip
            judge_label = "rule" if judge == "rule" else f"{float(judge) * 1e3:.0f} ms"
            for tokens in sizes:
                rates: dict[str, list[float]] = collections.defaultdict(list)
                for k in range(args.rounds):  # alternate the order: the machine's load drifts
                    for name, template in servers if k % 2 == 0 else servers[::-1]:
                        r = _scenario(args, template, judge_args, payloads[tokens], judge_port)
                        rates[name].append(r["rate"])
                        print(_fmt(f"{name}, judge {judge_label}, {tokens // 1024}K", r), flush=True)
                if args.rounds > 1:
                    _print_medians(rates, f"judge {judge_label}, {tokens // 1024}K")
        finally:
            if judge_proc is not None:
                _stop(judge_proc)
    if args.big_client_mb:
        big_client(args, payloads[sizes[0]], sizes[0], servers)


def _servers(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    """(label, command template) of each server: this project's, then each ``--also``."""
    servers: list[tuple[str, list[str]]] = [("longtracerl", [])]
    labels = args.also_label or []
    for i, cmd in enumerate(args.also or []):
        servers.append((labels[i] if i < len(labels) else f"other{i + 1}", shlex.split(cmd)))
    return servers


def _scenario(
    args: argparse.Namespace,
    template: list[str],
    judge_args: list[str],
    payloads: Payloads,
    judge_port: int | None,
) -> dict:
    """Start one server, load it with ``args.clients`` clients, stop it; the load's stats."""
    port = free_port()
    if template:
        cmd = _fill(template, port, judge_args)
    else:
        cmd = [sys.executable, "-m", "longtracerl.cli", "serve-reward", "--port", str(port),
               *judge_args, "--judge-concurrency", str(args.judge_concurrency)]  # fmt: skip
    proc = _start(cmd, port)
    try:
        [r] = _load(port, [(payloads, args.clients)], args.seconds, args.warmup_s, judge_port, proc.pid)
    finally:
        _stop(proc)
    return r


def _print_medians(rates: dict[str, list[float]], what: str) -> None:
    base = statistics.median(rates["longtracerl"])
    for name, values in rates.items():
        med = statistics.median(values)
        print(
            f"  median of {len(values)} rounds, {name}, {what}: {med:.1f} req/s "
            f"({med / base:.2f}x longtracerl; rounds: {', '.join(f'{v:.0f}' for v in values)})"
        )


def big_client(args: argparse.Namespace, normal: Payloads, tokens: int, servers: list) -> None:
    """``clients - 1`` normal clients alone, then next to one big-body client, in alternating
    rounds (the machine's load drifts; a ratio within one round is fairer than across runs)."""
    big = Payloads(1024, variants=2, content_bytes=int(args.big_client_mb * 1e6))
    n = args.clients - 1
    seconds = args.seconds / 2
    for name, template in servers:
        port = free_port()
        if template:
            cmd = _fill(template, port, ["--judge", "rule"])
        else:
            cmd = [
                sys.executable,
                "-m",
                "longtracerl.cli",
                "serve-reward",
                "--port",
                str(port),
                "--judge",
                "rule",
            ]
        proc = _start(cmd, port)
        ratios = []
        try:
            for k in range(args.big_rounds):
                [alone] = _load(port, [(normal, n)], seconds, args.warmup_s, None, proc.pid)
                shared, heavy = _load(port, [(normal, n), (big, 1)], seconds, args.warmup_s, None, proc.pid)
                ratios.append(shared["rate"] / alone["rate"])
                print(_fmt(f"{name}, rule, {tokens // 1024}K, {n} clients alone, round {k + 1}", alone))
                print(_fmt(f"{name}, same next to one {big.mean_bytes / 1e6:.1f} MB client", shared))
                print(_fmt(f"  {name}, the {big.mean_bytes / 1e6:.1f} MB client itself", heavy), flush=True)
        finally:
            _stop(proc)
        print(
            f"{name}: the {n} normal clients keep {statistics.median(ratios):.0%} of their throughput next to "
            f"the big client (median of {len(ratios)} rounds: {', '.join(f'{r:.0%}' for r in ratios)})"
        )


async def _burst(port: int, payloads: Payloads, n: int) -> list[tuple[int, float, str]]:
    """``n`` requests at once: (status, seconds, judge_error) of each."""
    async with httpx.AsyncClient(timeout=600, limits=httpx.Limits(max_connections=n)) as client:

        async def one(i: int) -> tuple[int, float, str]:
            t0 = time.perf_counter()
            r = await client.post(
                f"http://127.0.0.1:{port}/evaluate",
                content=payloads.body(i),
                headers={"content-type": "application/json"},
            )
            return r.status_code, time.perf_counter() - t0, r.json().get("judge_error") or ""

        return await asyncio.gather(*(one(i) for i in range(n)))


def outage(args: argparse.Namespace) -> None:
    """40 requests at once against a grader that hangs, answers HTTP 500 or replies garbage."""
    payloads = Payloads(8192, variants=2)
    print(
        f"{args.outage_requests} concurrent /evaluate requests, --judge-timeout {args.outage_timeout:g} "
        f"--judge-budget {args.outage_budget:g}; {os.cpu_count()} CPUs shared with other jobs "
        f"(load average {os.getloadavg()[0]:.1f})"
    )
    for kind in args.outage.split(","):
        judge_port, port = free_port(), free_port()
        delay = "3600" if kind == "hang" else "0"
        judge_proc = subprocess.Popen(
            [sys.executable, __file__, "--fake-judge-port", str(judge_port), "--fake-judge-delay", delay,
             "--fake-judge-failure", "" if kind == "hang" else kind]
        )  # fmt: skip
        _wait_port(judge_port)
        proc = _start(
            [sys.executable, "-m", "longtracerl.cli", "serve-reward", "--port", str(port), "--judge", "llm",
             "--base-url", f"http://127.0.0.1:{judge_port}/v1", "--model", "fake",
             "--judge-timeout", str(args.outage_timeout), "--judge-budget", str(args.outage_budget)],
            port,
        )  # fmt: skip
        try:
            results = asyncio.run(_burst(port, payloads, args.outage_requests))
            health = httpx.get(f"http://127.0.0.1:{port}/health").json()
            calls = httpx.get(f"http://127.0.0.1:{judge_port}/stats").json()["calls"]
        finally:
            _stop(proc)
            _stop(judge_proc)
        times = sorted(t for _, t, _ in results)
        statuses = collections.Counter(s for s, _, _ in results)
        print(
            f"{kind:8} statuses {dict(statuses)}, judge_error on {sum(1 for *_, e in results if e)}, "
            f"latency min {times[0]:.1f} s, max {times[-1]:.1f} s; grader calls {calls}; "
            f"/health {health['status']!r}, judge_failures {health['judge_failures']}"
        )
        print(f"         e.g. {results[0][2][:150]}")


def _fill(template: list[str], port: int, judge_args: list[str]) -> list[str]:
    out: list[str] = []
    for word in template:
        out.extend(judge_args if word == "{judge_args}" else [word.format(port=port)])
    return out


def _wait_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"fake judge on port {port} did not start")


def main() -> None:
    if "--fake-judge-port" in sys.argv:
        fp = argparse.ArgumentParser()
        fp.add_argument("--fake-judge-port", type=int, required=True)
        fp.add_argument("--fake-judge-delay", type=float, required=True)
        fp.add_argument("--fake-judge-failure", default="")
        a = fp.parse_args()
        FakeJudge(a.fake_judge_delay, a.fake_judge_failure).serve(a.fake_judge_port)
        return
    if "--outage" in sys.argv:
        op = argparse.ArgumentParser(description="judge outage check (see the module docstring)")
        op.add_argument("--outage", default="hang,http500,garbage")
        op.add_argument("--outage-requests", type=int, default=40)
        op.add_argument("--outage-timeout", type=float, default=5.0)
        op.add_argument("--outage-budget", type=float, default=20.0)
        outage(op.parse_args())
        return
    if "--side-by-side" in sys.argv:
        sp = argparse.ArgumentParser(description="side-by-side mode (see the module docstring)")
        sp.add_argument("--side-by-side", action="store_true")
        sp.add_argument("--clients", type=int, default=64)
        sp.add_argument(
            "--judges", default="rule,0.05,0.5,2", help="'rule' and fake grader delays in seconds"
        )
        sp.add_argument("--payloads", default="131072,8192", help="context sizes in tokens")
        sp.add_argument("--seconds", type=float, default=15.0)
        sp.add_argument("--warmup-s", type=float, default=3.0)
        sp.add_argument("--judge-concurrency", type=int, default=128)
        sp.add_argument("--big-client-mb", type=float, default=0.0)
        sp.add_argument(
            "--big-rounds", type=int, default=3, help="alternating rounds of the big-client scenario"
        )
        sp.add_argument(
            "--also",
            action="append",
            help="command of another /evaluate server ({port}, {judge_args}); repeatable",
        )
        sp.add_argument("--also-label", action="append", help="label of each --also server (in order)")
        sp.add_argument(
            "--rounds", type=int, default=1, help="rounds per scenario, servers in alternating order"
        )
        side_by_side(sp.parse_args())
        return
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
