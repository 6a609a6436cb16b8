"""Contexts stage: tiered long contexts from agent trajectories, the prompt, and the row export.

Public API (import from the submodules; this package imports nothing heavy):

- :func:`longtracerl.contexts.stage.build_contexts` - the stage (RUN/contexts.jsonl, then export);
- :func:`longtracerl.contexts.export.export_rows` - rows.jsonl / heldout.jsonl / *.parquet;
- :class:`longtracerl.contexts.assemble.ContextBuilder` - one context of any strategy, in memory;
- :func:`longtracerl.contexts.tokenizer.load_tokenizer` - the real tokenizer used for budgets;
- :class:`longtracerl.contexts.config.ContextsConfig`, :class:`~longtracerl.contexts.config.ExportConfig`.

See docs/contexts.md.
"""
