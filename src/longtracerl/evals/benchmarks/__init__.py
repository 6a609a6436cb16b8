"""One module per benchmark; each exposes ``BENCHMARK`` (see :class:`longtracerl.evals.base.Benchmark`)."""
