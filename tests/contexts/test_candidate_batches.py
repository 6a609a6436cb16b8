"""Candidates reach the builder in small batches, so it counts few tokens it does not use."""

import random

from longtracerl.contexts.assemble import CANDIDATE_BATCH, ContextBuilder
from longtracerl.contexts.config import ContextsConfig
from tests.helpers.ctx_fixtures import FakeRetriever, make_question, make_store, make_traj


def test_sources_hand_out_small_batches_in_the_same_order(store, tok):
    b = ContextBuilder(store, tok, ContextsConfig(target_tokens=100_000), retriever=FakeRetriever(store))
    q = make_question("q1", ["p0"], rubrics=["river", "king"])
    t = make_traj("q1", seen=[f"p{i}" for i in range(1, 150)], opened=["p1"], cited=[])
    for strategy in ("random", "one-shot-search", "traj-random"):
        rng = random.Random(3)
        batches = [batch for source in b.sources(strategy, q, t, None, rng) for batch in source(100_000)]
        assert batches and max(map(len, batches)) <= CANDIDATE_BATCH, strategy
    drawn = [
        p for batch in b.sources("random", q, None, None, random.Random(3))[0](100_000) for p, _ in batch
    ]
    assert sorted(drawn) == sorted(store.ids())  # every page once: batching drops and repeats none


def test_a_full_context_counted_at_most_one_batch_it_does_not_use(tmp_path, tok):
    store = make_store(tmp_path / "corpus", n=3000)
    cfg = ContextsConfig(target_tokens=30_000)
    b = ContextBuilder(store, tok, cfg, retriever=FakeRetriever(store))
    b.page_tokens_estimate()  # counts a fixed sample of pages once per builder
    for i, strategy in enumerate(("random", "one-shot-search")):
        before = set(b.cache.ntok)
        ctx = b.build(make_question(f"q{i}", [f"p{i}"], rubrics=["river"]), None, strategy)
        counted = set(b.cache.ntok) - before
        unused = counted - {d.page_id for d in ctx.docs}
        assert len(unused) < CANDIDATE_BATCH + cfg.max_consecutive_skips, strategy
