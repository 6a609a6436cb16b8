"""``corpus prepare`` passes the index shard size and writer heap to the search index build."""

from __future__ import annotations

from longtracerl.config import config_hash, load_config
from longtracerl.corpus.config import CorpusConfig
from longtracerl.corpus.prepare import prepare_corpus
from longtracerl.corpus.synthetic import SynthSpec, write_synthetic


def test_prepare_builds_a_sharded_index(tmp_path):
    src = tmp_path / "in.jsonl"
    write_synthetic(src, 400, SynthSpec(seed=2), fmt="jsonl")
    cfg = load_config(CorpusConfig, overrides=["index_shard_mb=0.3", "index_writer_heap_mb=16"])
    m = prepare_corpus("jsonl", src, tmp_path / "c", cfg)
    assert m.index["doc_count"] == 400
    assert m.index["build"]["shards"] > 1
    assert m.index["build"]["shard_mb"] == 0.3
    assert m.index["build"]["writer_heap_mb"] == 16

    from longtracerl.search.index import open_retriever

    r = open_retriever(tmp_path / "c")
    page = r.store.by_index(17)
    assert page.id in {h.page_id for h in r.search(page.title, k=5)}
    r.close()


def test_prepare_default_is_one_shard_for_small_corpora(tmp_path):
    src = tmp_path / "in.jsonl"
    write_synthetic(src, 50, SynthSpec(seed=2), fmt="jsonl")
    m = prepare_corpus("jsonl", src, tmp_path / "c", CorpusConfig())
    assert m.index["build"]["shards"] == 1


def test_index_knobs_do_not_change_the_corpus_config_hash():
    # the index scores the same whatever the shards, so a corpus is not rebuilt for them
    assert config_hash(CorpusConfig()) == config_hash(CorpusConfig(index_shard_mb=5, index_writer_heap_mb=64))
    assert config_hash(CorpusConfig()) != config_hash(CorpusConfig(min_title_chars=5))
