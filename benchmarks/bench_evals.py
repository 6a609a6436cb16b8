"""Evaluation harness figures: SmolLM2-135M (llama.cpp server) on N AA-LCR items, middle-truncated.

    python benchmarks/bench_evals.py [--items 5] [--samples 1] [--window 2048] [--max-tokens 64]

Prints the summary table, seconds per item / per sample, the fitting (tokenise + truncate) cost per
item, and peak memory of this process (the server is a separate process).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: tests.helpers

from longtracerl.contexts.tokenizer import load_tokenizer  # noqa: E402
from longtracerl.evals.config import EvalConfig  # noqa: E402
from longtracerl.evals.items import fit_item  # noqa: E402
from longtracerl.evals.registry import get_benchmark  # noqa: E402
from longtracerl.evals.runner import format_summary, run_eval  # noqa: E402
from tests.helpers.llm_servers import start_llama_server  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=5)
    ap.add_argument("--samples", type=int, default=1)
    ap.add_argument("--window", type=int, default=2048)
    ap.add_argument("--max-tokens", type=int, default=64)
    args = ap.parse_args()

    cfg0 = EvalConfig(benchmark="aa-lcr", limit=args.items)
    t = time.perf_counter()
    items = get_benchmark("aa-lcr").load(None, cfg0)[: args.items]
    load_s = time.perf_counter() - t
    tok = load_tokenizer("smollm2")
    budget = args.window - args.max_tokens - 64
    t = time.perf_counter()
    for it in items:
        fit_item(it, tok=tok, budget=budget, marker=cfg0.truncation_marker)
    fit_s = (time.perf_counter() - t) / len(items)

    t = time.perf_counter()
    server = start_llama_server(n_ctx=max(args.window, 2048))
    start_s = time.perf_counter() - t
    try:
        cfg = EvalConfig(
            benchmark="aa-lcr", model="openai:smollm2", base_url=server.base_url, limit=args.items,
            samples=args.samples, max_context_tokens=args.window, max_tokens=args.max_tokens,
            tokenizer="smollm2", concurrency=1,
        )  # fmt: skip
        out = Path(tempfile.mkdtemp(prefix="bench_evals_"))
        t = time.perf_counter()
        summary = run_eval(cfg, out)
        run_s = time.perf_counter() - t
    finally:
        server.stop()
    lines = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    print(format_summary(summary))
    print()
    print(f"AA-LCR load (100 rows, 42 MB CSV): {load_s:.2f} s")
    print(f"fit one item (tokenise ~100K-token context + middle-truncate to {budget}): {fit_s:.2f} s")
    print(f"llama.cpp server start: {start_s:.1f} s")
    print(
        f"run: {run_s:.1f} s for {len(items)} items x {args.samples} samples = {run_s / len(items):.1f} s/item"
    )
    lat = [r["latency_s"] for r in lines]
    print(f"model latency per sample: mean {sum(lat) / len(lat):.2f} s, max {max(lat):.2f} s")
    print(f"server prompt tokens: {[r['server_prompt_tokens'] for r in lines]}")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
