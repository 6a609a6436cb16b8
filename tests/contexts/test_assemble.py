import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from longtracerl.contexts.assemble import (
    ContextBuilder,
    ContextRejected,
    derive_tiers,
    first_correct,
    render_context,
)
from longtracerl.contexts.config import ContextsConfig
from longtracerl.contexts.prompt import INSTRUCTIONS
from longtracerl.corpus.store import PageStore
from longtracerl.records import Page
from tests.helpers.ctx_fixtures import FakeRetriever, make_question, make_store, make_traj


def exact_tokens(builder, ctx, q):
    pages = builder.store.get_many(d.page_id for d in ctx.docs)
    return builder.tok.count(render_context(ctx, q.question, pages))


def builder_for(store, tok, **cfg):
    return ContextBuilder(store, tok, ContextsConfig(**cfg), retriever=FakeRetriever(store))


# --------------------------------------------------------------------------- tiers


def test_tiers_are_derived_from_the_trajectory_sets():
    t = make_traj(
        "q",
        seen=["g1", "s1", "o1", "s2", "c1", "s1"],
        opened=["o1", "g1", "c1", "o2"],
        cited=["g1", "c1"],
    )
    tiers = derive_tiers(t, ["g1", "g2"])
    assert tiers.gold == ["g1", "g2"]
    assert tiers.tier1 == ["o1", "o2"]  # opened, not cited, not gold (o2 opened without being seen)
    assert tiers.tier2 == ["s1", "s2"]  # seen, never opened, not gold; deduplicated
    assert tiers.cited_other == ["c1"]
    assert not {"g1", "g2"} & set(tiers.tier1 + tiers.tier2)


def test_first_correct_takes_the_lowest_correct_attempt():
    ts = [
        make_traj("q", [], [], [], correct=False, attempt=1),
        make_traj("q", ["b"], [], [], correct=True, attempt=3),
        make_traj("q", ["a"], [], [], correct=True, attempt=2),
    ]
    assert first_correct(ts).attempt == 2
    assert first_correct(ts[:1]) is None


# --------------------------------------------------------------------------- budget


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=400), min_size=8, max_size=40),
    budget=st.integers(min_value=250, max_value=6000),
    seed=st.integers(min_value=0, max_value=10),
    strategy=st.sampled_from(["traj-tiered", "traj-random", "one-shot-search", "random"]),
)
def test_budget_is_never_exceeded(tmp_path_factory, tok, sizes, budget, seed, strategy):
    d = tmp_path_factory.mktemp("c")
    rng = random.Random(seed)
    words = ["river", "castle", "alpha", "beta", "Zürich", "1999", "«quoted»", "x&y", "\n"]
    with PageStore.create(d) as w:
        for i, n in enumerate(sizes):
            w.add(
                Page(
                    id=f"p{i}",
                    title=f"T{i} <{rng.choice(words)}>",
                    text=" ".join(rng.choice(words) for _ in range(n)),
                )
            )
    store = PageStore(d)
    q = make_question("q", ["p0", "p1"])
    t = make_traj("q", seen=[f"p{i}" for i in range(2, len(sizes))], opened=["p2", "p3", "p0"], cited=["p0"])
    # the sum-of-parts estimate alone (no exact re-count: past the first prompts of a run) ...
    fast = builder_for(store, tok, target_tokens=budget, seed=seed)
    fast._built = 5
    ctx_fast = fast.build(q, t, strategy)
    assert fast.verified == 0
    assert exact_tokens(fast, ctx_fast, q) == ctx_fast.total_tokens <= budget
    # ... and with every prompt counted exactly
    b = builder_for(store, tok, target_tokens=budget, seed=seed, verify_tokens="always")
    ctx = b.build(q, t, strategy)
    n = exact_tokens(b, ctx, q)
    assert n <= budget
    assert ctx.total_tokens == n
    assert (ctx.docs, ctx.total_tokens) == (ctx_fast.docs, ctx_fast.total_tokens)
    ids = [x.page_id for x in ctx.docs]
    assert len(ids) == len(set(ids))
    assert {"p0", "p1"} <= set(ids)


def test_budget_holds_when_the_estimate_is_wrong(store, tok):
    """Force a wrong per-join estimate: exact verification must repair the prompt."""
    b = builder_for(store, tok, target_tokens=3000, verify_tokens="always")
    b.coster.sep = 0  # real joins cost 2 tokens: the estimate now undercounts
    q = make_question("q", ["p0", "p1"])
    ctx = b.build(q, make_traj("q", [f"p{i}" for i in range(2, 60)], [], []))
    assert exact_tokens(b, ctx, q) <= 3000 == ctx.target_tokens
    assert b.repaired >= 1


def test_gold_pages_are_truncated_only_when_they_alone_overflow(tmp_path, tok):
    with PageStore.create(tmp_path) as w:
        w.add(Page(id="g1", title="Big", text=" ".join(["word"] * 2000)))
        w.add(Page(id="g2", title="Small", text="short text"))
        w.add(Page(id="d", title="D", text="distractor"))
    store = PageStore(tmp_path)
    q = make_question("q", ["g1", "g2"])
    b = builder_for(store, tok, target_tokens=500, fill=[])
    ctx = b.build(q, make_traj("q", ["d"], [], []))
    by_id = {d.page_id: d for d in ctx.docs}
    assert by_id["g1"].truncated and not by_id["g2"].truncated
    assert by_id["g1"].text_chars is not None and by_id["g1"].text_chars < len(store.open("g1").text)
    assert exact_tokens(b, ctx, q) <= 500
    # with room for everything, nothing is truncated
    ctx2 = builder_for(store, tok, target_tokens=5000, fill=[]).build(q, make_traj("q", ["d"], [], []))
    assert not any(d.truncated for d in ctx2.docs) and len(ctx2.docs) == 3


def test_budget_too_small_is_rejected(store, tok):
    with pytest.raises(ContextRejected) as err:
        builder_for(store, tok, target_tokens=64).build(
            make_question("q", ["p0", "p1"]), make_traj("q", [], [], [])
        )
    assert err.value.reason == "budget_too_small"


# --------------------------------------------------------------------------- gold, tags, fill


def test_gold_always_present_and_never_a_distractor(store, tok):
    b = builder_for(store, tok, target_tokens=4000)
    gold = ["p5", "p6", "p7"]
    # the trajectory saw and opened gold pages too: they must stay gold
    t = make_traj("q", seen=["p5", "p20", "p21", "p6"], opened=["p5", "p20", "p7"], cited=["p5"])
    for strategy in ("traj-tiered", "traj-random", "one-shot-search", "random"):
        ctx = b.build(make_question("q", gold), t, strategy)
        tags = {d.page_id: d.tag for d in ctx.docs}
        assert all(tags[g] == "gold" for g in gold), strategy
        assert [d.page_id for d in ctx.docs if d.tag == "gold"].__len__() == 3


def test_tier_priority_fill_order_and_tags(store, tok):
    q = make_question("q", ["p0", "p1"], rubrics=["castle"])
    tier1 = [f"p{i}" for i in range(10, 15)]
    tier2 = [f"p{i}" for i in range(20, 40)]
    t = make_traj("q", seen=tier1 + tier2, opened=tier1, cited=[])
    # large budget: every tier doc, then fill-search, then fill-random
    b = builder_for(store, tok, target_tokens=20000, fill_search_k=5)
    ctx = b.build(q, t)
    by_tag: dict[str, set] = {}
    for d in ctx.docs:
        by_tag.setdefault(d.tag, set()).add(d.page_id)
    assert by_tag["tier1"] == set(tier1)
    assert by_tag["tier2"] == set(tier2)
    assert by_tag["fill-search"] and by_tag["fill-random"]
    hits = {h.page_id for query in (q.question, "castle") for h in b.retriever.search(query, 5)}
    assert by_tag["fill-search"] <= hits
    assert not by_tag["fill-search"] & (set(tier1) | set(tier2) | {"p0", "p1"})
    # small budget: Tier-1 goes in before any Tier-2
    small = builder_for(store, tok, target_tokens=1200).build(q, t)
    tags = [d.tag for d in small.docs]
    assert "tier2" in tags
    assert {d.page_id for d in small.docs if d.tag == "tier1"} == set(tier1)
    assert "fill-search" not in tags


def test_fill_sources_follow_the_config(store, tok):
    q = make_question("q", ["p0", "p1"])
    t = make_traj("q", seen=["p10"], opened=[], cited=[])
    only_random = builder_for(store, tok, target_tokens=3000, fill=["random"]).build(q, t)
    assert {d.tag for d in only_random.docs} == {"gold", "tier2", "fill-random"}
    none = builder_for(store, tok, target_tokens=3000, fill=[]).build(q, t)
    assert {d.tag for d in none.docs} == {"gold", "tier2"}
    search_first = builder_for(store, tok, target_tokens=3000, fill=["search", "random"]).build(q, t)
    assert "fill-search" in {d.tag for d in search_first.docs}


def test_missing_distractor_is_skipped_and_missing_gold_rejected(store, tok):
    b = builder_for(store, tok, target_tokens=3000)
    ctx = b.build(make_question("q", ["p0"]), make_traj("q", ["nope", "p3"], ["nope2"], []))
    assert "nope" not in {d.page_id for d in ctx.docs} and b.missing_skipped == 2
    with pytest.raises(ContextRejected) as err:
        b.build(make_question("q", ["p0", "ghost"]), make_traj("q", [], [], []))
    assert err.value.reason == "gold_page_missing" and "ghost" in err.value.detail
    strict = builder_for(store, tok, target_tokens=3000, missing_pages="error")
    with pytest.raises(ContextRejected):
        strict.build(make_question("q", ["p0"]), make_traj("q", ["nope"], [], []))


def test_questions_without_rubrics_or_trajectory_are_rejected(store, tok):
    b = builder_for(store, tok, target_tokens=3000)
    with pytest.raises(ContextRejected) as err:
        b.build(make_question("q", ["p0"], rubrics=[]), make_traj("q", [], [], []))
    assert err.value.reason == "no_rubrics"
    with pytest.raises(ContextRejected) as err:
        b.build(make_question("q", ["p0"]), None)
    assert err.value.reason == "no_correct_trajectory"
    # the non-trajectory strategies do not need a trajectory
    assert b.build(make_question("q", ["p0"]), None, "random").docs


# --------------------------------------------------------------------------- seeds and strategies


def test_seed_reproducibility(store, tok):
    t = make_traj(
        "q", seen=[f"p{i}" for i in range(10, 60)], opened=[f"p{i}" for i in range(10, 20)], cited=[]
    )
    qs = [make_question(f"q{i}", [f"p{i}"]) for i in range(8)]
    a = [builder_for(store, tok, target_tokens=3000, seed=1).build(q, t) for q in qs]
    b = [builder_for(store, tok, target_tokens=3000, seed=1).build(q, t) for q in qs]
    c = [builder_for(store, tok, target_tokens=3000, seed=2).build(q, t) for q in qs]
    assert [x.model_dump() for x in a] == [x.model_dump() for x in b]
    assert [x.instruction_id for x in a] != [x.instruction_id for x in c]
    assert [[d.page_id for d in x.docs] for x in a] != [[d.page_id for d in x.docs] for x in c]
    # shuffled: gold is not always first
    assert any(x.docs[0].tag != "gold" for x in a)
    assert all(0 <= x.instruction_id < len(INSTRUCTIONS) for x in a)


def test_strategies_differ_as_specified(tmp_path, tok):
    store = make_store(tmp_path, n=400, seed=3)
    b = builder_for(store, tok, target_tokens=3000)
    q = make_question("q", ["p0", "p1"])
    seen = [f"p{i}" for i in range(300, 340)]
    t = make_traj("q", seen=seen, opened=seen[:8], cited=[])
    ctx = {s: b.build(q, t, s) for s in ("traj-tiered", "traj-random", "one-shot-search", "random")}
    tags = {s: {d.tag for d in c.docs} for s, c in ctx.items()}
    assert tags["traj-tiered"] >= {"gold", "tier1", "tier2"}
    assert "traj" in tags["traj-random"] and not tags["traj-random"] & {"tier1", "tier2"}
    assert "one-shot-search" in tags["one-shot-search"]
    assert tags["random"] == {"gold", "random"}
    one_shot_ids = {d.page_id for d in ctx["one-shot-search"].docs if d.tag == "one-shot-search"}
    hits = {h.page_id for h in b.retriever.search(q.question, 1000)}
    assert one_shot_ids <= hits
    traj_ids = {d.page_id for d in ctx["traj-random"].docs if d.tag == "traj"}
    assert traj_ids <= set(seen)
    # traj-random takes the pool without tier priority: with a budget smaller than the pool,
    # the tiered context holds every Tier-1 doc, the random one need not
    b_small = builder_for(store, tok, target_tokens=1500)
    small = {s: b_small.build(q, t, s) for s in ("traj-tiered", "traj-random")}
    assert len(small["traj-tiered"].docs) < len(seen)
    tiered_ids = {d.page_id for d in small["traj-tiered"].docs}
    assert [d.page_id for d in small["traj-tiered"].docs] != [d.page_id for d in small["traj-random"].docs]
    assert set(seen[:8]) <= tiered_ids


def test_build_all_assembles_every_strategy_in_memory(store, tok):
    from longtracerl.contexts.assemble import build_all

    b = builder_for(store, tok, target_tokens=2000)
    qs = [make_question("q1", ["p0"]), make_question("q2", ["p1"])]
    trajs = {"q1": make_traj("q1", ["p10", "p11"], ["p10"], []), "q2": None}
    out = build_all(b, qs, trajs, ["traj-tiered", "random"])
    assert [c.question_id for c in out["traj-tiered"]] == ["q1"]  # q2 has no correct trajectory
    assert [c.question_id for c in out["random"]] == ["q1", "q2"]
    assert all(c.strategy == "random" for c in out["random"])


def test_contexts_do_not_depend_on_the_token_cache_state(tmp_path, tok):
    """A run that starts with a warm page-token cache builds the same contexts as a cold one."""
    rng = random.Random(0)
    words = ["river", "castle", "king", "war", "music", "film"]
    with PageStore.create(tmp_path) as w:
        for i in range(400):  # pages 300+ are long: a cache holding only them has a skewed mean
            n = 400 if i >= 300 else rng.randint(5, 30)
            w.add(Page(id=f"p{i}", title=f"T{i}", text=" ".join(rng.choice(words) for _ in range(n))))
    store = PageStore(tmp_path)
    t = make_traj("q", seen=[f"p{i}" for i in range(10, 20)], opened=["p10"], cited=[])
    qs = [make_question(f"q{i}", [f"p{i}"], rubrics=["river", "king"]) for i in range(3)]
    cold = builder_for(store, tok, target_tokens=4000)
    warm = builder_for(store, tok, target_tokens=4000)
    warm.cache.ensure(f"p{i}" for i in range(300, 400))
    for q in qs:
        for strategy in ("traj-tiered", "one-shot-search", "random"):
            assert cold.build(q, t, strategy).model_dump() == warm.build(q, t, strategy).model_dump()
