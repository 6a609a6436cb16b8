"""Evaluation harness: benchmark registry, loaders, runner, scoring, report (docs/method.md#evaluation).

- :func:`longtracerl.evals.runner.run_eval` (``longtracerl eval``): one benchmark, one model ->
  ``OUT/samples.jsonl`` (resumable) and ``OUT/summary.json``.
- :mod:`longtracerl.evals.registry`: ``BENCHMARKS``, ``get_benchmark``, the paper's reference numbers.
- :mod:`longtracerl.evals.report`: ``compare_table`` (``longtracerl eval-compare``).
- :class:`longtracerl.evals.config.EvalConfig`: every setting, with the paper's sampling defaults.
"""
