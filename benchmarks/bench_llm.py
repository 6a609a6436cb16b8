"""LLM layer figures: client overhead, async throughput under the concurrency limit, cache hits,
a real llama.cpp server and the in-process local backend.

    python benchmarks/bench_llm.py            # fake server + cache only (a few seconds)
    python benchmarks/bench_llm.py --real     # also llama-cpp-python server and LocalChatModel
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: tests.helpers

from longtracerl.llm.base import ChatParams  # noqa: E402
from longtracerl.llm.openai import make_chat_model  # noqa: E402
from tests.helpers.llm_servers import FakeLLMServer, FakeResponse, start_llama_server  # noqa: E402


def conv(i: int) -> list[dict]:
    return [{"role": "user", "content": f"question {i}: which city is the capital of France?"}]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--real", action="store_true")
    args = ap.parse_args()
    n = args.n
    with FakeLLMServer() as srv, tempfile.TemporaryDirectory() as tmp:
        m = make_chat_model("openai:fake", base_url=srv.base_url)
        t0 = time.perf_counter()
        for i in range(n):
            m.complete(conv(i))
        dt = time.perf_counter() - t0
        print(f"sync sequential, instant server: {n / dt:.0f} req/s ({1000 * dt / n:.2f} ms/req)")

        srv.default = FakeResponse.chat("ok", delay_s=0.05)
        for conc in (1, 8):
            mc = make_chat_model("openai:fake", base_url=srv.base_url, concurrency=conc)
            k = 40
            t0 = time.perf_counter()
            mc.complete_many([conv(i) for i in range(k)])
            dt = time.perf_counter() - t0
            print(
                f"async, 50 ms server, concurrency {conc}: {k / dt:.1f} req/s (peak in flight {srv.max_in_flight})"
            )
            srv.max_in_flight = 0

        srv.default = FakeResponse.chat("ok")
        mc = make_chat_model("openai:fake", base_url=srv.base_url, cache_dir=tmp)
        for i in range(n):
            mc.complete(conv(i))
        t0 = time.perf_counter()
        for i in range(n):
            assert mc.complete(conv(i)).cached
        dt = time.perf_counter() - t0
        print(f"cache hits: {1000 * dt / n:.2f} ms/hit over {n} entries")

    if args.real:
        server = start_llama_server()
        try:
            m = make_chat_model("openai:smollm2", base_url=server.base_url, timeout_s=120)
            p = ChatParams(max_tokens=32)
            m.complete(conv(0), p)
            t0 = time.perf_counter()
            toks = sum(m.complete(conv(i), p).completion_tokens or 0 for i in range(5))
            dt = time.perf_counter() - t0
            print(f"llama-cpp-python SmolLM2-135M Q4_1: {dt / 5:.2f} s/req, {toks / dt:.0f} tok/s")
        finally:
            server.stop()
        with tempfile.TemporaryDirectory() as conv_dir:
            t0 = time.perf_counter()
            make_chat_model("local:smollm2", convert_cache=conv_dir)
            print(f"LocalChatModel first load (dequantise GGUF + save): {time.perf_counter() - t0:.1f} s")
            t0 = time.perf_counter()
            local = make_chat_model("local:smollm2", convert_cache=conv_dir)
            print(f"LocalChatModel load from the converted folder: {time.perf_counter() - t0:.1f} s")
        p = ChatParams(max_tokens=32)
        t0 = time.perf_counter()
        toks = sum(local.complete(conv(i), p).completion_tokens for i in range(3))
        dt = time.perf_counter() - t0
        print(
            f"LocalChatModel SmolLM2-135M fp32 (transformers, CPU): {dt / 3:.2f} s/req, {toks / dt:.0f} tok/s"
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
