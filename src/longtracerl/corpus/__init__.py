"""corpus stage: input files -> CORPUS/ (pages.sqlite, graph.npz, index/, manifest.json).

- ``prepare.prepare_corpus(source, input_path, out, cfg) -> Manifest`` (what ``corpus prepare`` and
  ``run`` call), ``prepare.read_manifest(dir)``;
- ``loaders.LOADERS``: hotpotqa, kilt, jsonl, wiki-summaries;
- ``links.build_mention_graph`` / ``links.build_anchor_graph``;
- ``store.PageStore``, ``graph.LinkGraph``; ``stats.corpus_stats``; ``config.CorpusConfig``.

See docs/corpus.md. Nothing is imported here, so ``import longtracerl.corpus`` stays light.
"""
