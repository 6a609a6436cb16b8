"""The benchmark registry: names that enter from the CLI or YAML -> benchmark objects.

Values are ``module:attr`` strings imported on first use; any other ``module:attr`` names a user's
own benchmark object (or class) with ``name``, ``title``, ``uses_judge``, ``load`` and ``score``.

    >>> get_benchmark("mrcr").title
    'MRCR'
    >>> get_benchmark("longbench")
    Traceback (most recent call last):
    ...
    longtracerl.config.ConfigError: unknown benchmark 'longbench'. Valid: aa-lcr, frames, heldout, longbench-v2, longreason, mrcr, or module:attr. Did you mean 'longbench-v2'?
"""

from __future__ import annotations

from longtracerl.config import ConfigError, resolve

BENCHMARKS: dict[str, str] = {
    "aa-lcr": "longtracerl.evals.benchmarks.aa_lcr:BENCHMARK",
    "mrcr": "longtracerl.evals.benchmarks.mrcr:BENCHMARK",
    "frames": "longtracerl.evals.benchmarks.frames:BENCHMARK",
    "longbench-v2": "longtracerl.evals.benchmarks.longbench_v2:BENCHMARK",
    "longreason": "longtracerl.evals.benchmarks.longreason:BENCHMARK",
    "heldout": "longtracerl.evals.benchmarks.heldout:BENCHMARK",
}

# the paper's five benchmarks, in the order of its tables
PAPER_BENCHMARKS: tuple[str, ...] = ("aa-lcr", "mrcr", "frames", "longbench-v2", "longreason")

# docs/method.md#the-papers-figures: Qwen3-4B-Thinking-2507 base vs. LongTraceRL (avg@4, judge accuracy, %)
PAPER_REFERENCE: dict[str, dict[str, float]] = {
    "Qwen3-4B-Thinking-2507 (paper)": {
        "aa-lcr": 33.2, "mrcr": 36.2, "frames": 76.7, "longbench-v2": 41.7, "longreason": 78.5,
    },
    "LongTraceRL-4B (paper)": {
        "aa-lcr": 41.8, "mrcr": 45.8, "frames": 79.5, "longbench-v2": 44.1, "longreason": 83.8,
    },
}  # fmt: skip


def get_benchmark(name: str):
    target = resolve(BENCHMARKS, name, "benchmark")
    bench = target() if isinstance(target, type) else target
    for attr in ("name", "title", "uses_judge", "load", "score"):
        if not hasattr(bench, attr):
            raise ConfigError(f"benchmark '{name}' has no '{attr}' (see longtracerl.evals.base.Benchmark)")
    return bench
