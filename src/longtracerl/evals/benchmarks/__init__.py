"""One module per benchmark; each exposes ``BENCHMARK``, a :class:`longtracerl.evals.base.FileBenchmark`."""
