"""Walks stage: candidate rule, mad jumps, min-unique rule, reproducibility, resume, choosers, CLI."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from longtracerl.cli import main
from longtracerl.config import ConfigError, load_config
from longtracerl.corpus.graph import LinkGraph
from longtracerl.corpus.store import PageStore
from longtracerl.llm.base import LLMError
from longtracerl.records import Page, RejectedItem, Walk, read_jsonl
from longtracerl.textfacts import has_answer
from longtracerl.walks import (
    CHOOSERS,
    FirstChooser,
    LLMChooser,
    RelatedChooser,
    Walker,
    WalksConfig,
    run_walks,
)
from longtracerl.walks.choosers import Choice
from tests.helpers.llm_servers import StubChatModel
from tests.helpers.walks_corpus import build_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return build_corpus(tmp_path_factory.mktemp("corpus"))


def _walks(run: Path) -> list[Walk]:
    return list(read_jsonl(run / "walks.jsonl", Walk))


# --------------------------------------------------------------------------- candidate rule


def _tiny(tmp_path: Path) -> tuple[PageStore, LinkGraph]:
    """0 = current; 1 good (4 links); 2 disambiguation (5 links); 3 low degree (3 links);
    4 visited (4 links); 5 good (4 links). Pages 6..9 are link targets."""
    titles = [
        "Cur",
        "Good One",
        "Cur (disambiguation)",
        "Low Degree",
        "Visited",
        "Good Two",
        "A",
        "B",
        "C",
        "D",
    ]
    with PageStore.create(tmp_path) as w:
        for i, t in enumerate(titles):
            w.add(Page(id=f"t{i}", title=t, text=f"{t} was founded in {1900 + i}."))
    src, dst = [0, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 0]  # 0 -> itself is dropped by from_edges
    for node, k in [(1, 4), (2, 5), (3, 3), (4, 4), (5, 4), (0, 4)]:
        for j in range(k):
            src.append(node)
            dst.append([6, 7, 8, 9, 1][j] if node != 1 else [6, 7, 8, 9][j])
    graph = LinkGraph.from_edges(len(titles), src, dst)
    graph.save(tmp_path / "graph.npz")
    return PageStore(tmp_path), graph


def test_candidate_rule_excludes_disambiguation_low_degree_visited_and_self(tmp_path):
    store, graph = _tiny(tmp_path)
    walker = Walker(store, graph, WalksConfig(), FirstChooser())
    rng = np.random.default_rng(0)
    cands = walker.candidates(0, visited={0, 4}, rng=rng)
    assert sorted(cands) == [1, 5]
    # min_out_links=2 makes the 3-link page usable; the disambiguation page never is
    walker2 = Walker(store, graph, WalksConfig(min_out_links=2), FirstChooser())
    assert sorted(walker2.candidates(0, visited={0}, rng=rng)) == [1, 3, 4, 5]


def test_at_most_max_candidates_are_sampled(corpus):
    store, graph = PageStore(corpus), LinkGraph.load(corpus)
    walker = Walker(store, graph, WalksConfig(max_candidates=2, min_out_links=0), FirstChooser())
    rng = np.random.default_rng(1)
    for i in range(len(store)):
        cands = walker.candidates(i, set(), rng)
        assert len(cands) <= 2 and i not in cands
        assert len(set(cands)) == len(cands)


# --------------------------------------------------------------------------- segments and jumps


def test_min_unique_default_scales_with_hops_and_is_checked():
    assert WalksConfig(hops=8).effective_min_unique == 7
    assert WalksConfig(hops=4).effective_min_unique == 3
    assert WalksConfig(hops=2).effective_min_unique == 2
    with pytest.raises(ConfigError, match="min_unique"):
        load_config(WalksConfig, overrides={"hops": 4, "min_unique": 6})


def test_kept_segments_respect_min_unique_and_answerable_end(corpus, tmp_path):
    cfg = WalksConfig(num_walks=25, hops=5, seed=3)
    stats = run_walks(cfg, corpus, tmp_path, progress=False)
    walks = _walks(tmp_path)
    assert len(walks) == 25 == stats.kept
    store = PageStore(corpus)
    graph = LinkGraph.load(corpus)
    deg = graph.out_degree()
    for w in walks:
        assert len(set(w.titles)) >= cfg.effective_min_unique
        assert len(w.page_ids) <= cfg.hops
        assert not any("(disambiguation)" in t for t in w.titles)
        # every hop after the entry is a usable page and a graph neighbour of the previous one
        idx = [store.index_of(p) for p in w.page_ids]
        for a, b in zip(idx, idx[1:], strict=False):
            assert b in graph.neighbors(a).tolist()
            assert deg[b] > cfg.min_out_links
        assert has_answer(store.open(w.page_ids[-1]).text)
        assert w.provenance.stage == "walks" and w.provenance.seed == 3
        assert w.provenance.producer.startswith("chooser=related (non-LLM")


def test_rejected_segments_are_counted_and_written(corpus, tmp_path):
    # 8 pages is more than most chains of this small graph manage: dead ends are rejected
    stats = run_walks(WalksConfig(num_walks=5, hops=8, min_unique=8), corpus, tmp_path, progress=False)
    rejected = list(read_jsonl(tmp_path / "walks.rejected.jsonl", RejectedItem))
    assert sum(stats.rejected.values()) == len(rejected) > 0
    assert Counter(r.reason for r in rejected) == stats.rejected
    assert {r.reason for r in rejected} <= {"dead_end", "no_answerable_end", "duplicate_titles"}
    for w in _walks(tmp_path):
        assert len(w.page_ids) == 8


def test_mad_jump_lands_on_a_usable_unvisited_page_or_gives_up(corpus):
    store, graph = PageStore(corpus), LinkGraph.load(corpus)
    cfg = WalksConfig()
    walker = Walker(store, graph, cfg, FirstChooser())
    rng = np.random.default_rng(5)
    visited = {0, 1, 2}
    for _ in range(30):
        nxt = walker.jump(0, visited, rng)
        assert nxt is not None and walker.usable[nxt] and nxt not in visited
    # every usable page visited: no landing possible -> None after the retries
    assert walker.jump(0, set(np.flatnonzero(walker.usable).tolist()), rng) is None


def test_chain_restarts_from_a_visited_page_when_jumps_fail(corpus):
    store, graph = PageStore(corpus), LinkGraph.load(corpus)
    walker = Walker(
        store, graph, WalksConfig(hops=3, segments_per_chain=30, max_consecutive_rejects=30), FirstChooser()
    )
    jumps: Counter[str] = Counter()
    segments = list(walker.chain(0, jumps))
    assert jumps["jumped"] > 0
    assert jumps["restart_from_visited"] > 0  # a 38-page graph runs out of fresh regions
    # restarted segments begin at a page an earlier segment of the chain visited
    seen, restarts = set(), 0
    for seg in segments:
        restarts += seg.pages[0] in seen
        seen.update(seg.pages)
    assert restarts == jumps["restart_from_visited"]
    # once no visited page can move on, the chain ends early instead of looping
    assert jumps["chain_exhausted"] == 1 and len(segments) < 30


# --------------------------------------------------------------------------- reproducibility and resume


def test_same_seed_same_walks_other_seed_other_walks(corpus, tmp_path):
    cfg = WalksConfig(num_walks=12, hops=4, seed=7)
    run_walks(cfg, corpus, tmp_path / "a", progress=False)
    run_walks(cfg, corpus, tmp_path / "b", progress=False)
    run_walks(cfg.model_copy(update={"seed": 8}), corpus, tmp_path / "c", progress=False)
    a = (tmp_path / "a" / "walks.jsonl").read_text()
    assert a == (tmp_path / "b" / "walks.jsonl").read_text()
    assert [w.page_ids for w in _walks(tmp_path / "a")] != [w.page_ids for w in _walks(tmp_path / "c")]


def test_rerun_with_more_walks_continues_the_same_sequence(corpus, tmp_path):
    cfg = WalksConfig(num_walks=20, hops=4, seed=2)
    run_walks(cfg, corpus, tmp_path / "full", progress=False)
    run_walks(cfg.model_copy(update={"num_walks": 7}), corpus, tmp_path / "part", progress=False)
    stats = run_walks(cfg, corpus, tmp_path / "part", progress=False)
    assert stats.new == 13
    assert (tmp_path / "part" / "walks.jsonl").read_text() == (tmp_path / "full" / "walks.jsonl").read_text()


class _Crash(BaseException):
    """A kill (not an Exception, which the executor would retry and record as a failed chain)."""


def test_resume_after_a_crash_has_no_duplicates_and_reaches_n(corpus, tmp_path, monkeypatch):
    calls = {"n": 0, "crash_at": None}

    class Crashy(FirstChooser):
        name = "crashy (test)"

        def choose(self, current, candidates):
            calls["n"] += 1
            if calls["crash_at"] is not None and calls["n"] >= calls["crash_at"]:
                raise _Crash()
            return Choice(len(candidates) - 1)

    monkeypatch.setitem(CHOOSERS, "crashy", lambda cfg, store, model: Crashy())
    cfg = WalksConfig(num_walks=15, hops=4, seed=11, chooser="crashy")
    run_walks(cfg, corpus, tmp_path / "ref", progress=False)
    calls.update(n=0, crash_at=40)
    with pytest.raises(_Crash):
        run_walks(cfg, corpus, tmp_path / "run", progress=False)
    partial = _walks(tmp_path / "run")
    assert 0 < len(partial) < 15
    with open(tmp_path / "run" / "walks.jsonl", "a") as fh:  # a torn last line, as after a kill
        fh.write('{"schema_version": 1, "walk_id": "s11-c0')
    calls.update(crash_at=None)
    stats = run_walks(cfg, corpus, tmp_path / "run", progress=False)
    walks = _walks(tmp_path / "run")
    ids = [w.walk_id for w in walks]
    assert len(ids) == len(set(ids)) == 15 == stats.kept
    assert sorted(ids) == sorted(w.walk_id for w in _walks(tmp_path / "ref"))
    assert {w.walk_id: w.page_ids for w in walks} == {w.walk_id: w.page_ids for w in _walks(tmp_path / "ref")}


def test_resume_with_another_config_is_refused(corpus, tmp_path):
    run_walks(WalksConfig(num_walks=3, hops=4), corpus, tmp_path, progress=False)
    with pytest.raises(ConfigError, match="another walks config"):
        run_walks(WalksConfig(num_walks=3, hops=5), corpus, tmp_path, progress=False)


# --------------------------------------------------------------------------- choosers


def _p(title: str, text: str) -> Page:
    return Page(id=title.lower().replace(" ", "_"), title=title, text=text)


def test_related_chooser_prefers_the_most_related_page_and_is_labelled():
    cur = _p("Sinister", "Sinister is a 2012 supernatural horror film directed by Scott Derrickson.")
    cands = [
        _p("Lyon", "Lyon is a city in France on the Rhone."),
        _p("Deliver Us from Evil", "A 2014 supernatural horror film directed by Scott Derrickson."),
        _p("Tennis", "Tennis is a racket sport."),
    ]
    chooser = RelatedChooser(idf={"supernatural": 5.0, "horror": 4.0, "film": 1.0})
    assert chooser.choose(cur, cands).index == 1
    assert chooser.choose(cur, cands[::-1]).index == 1
    assert "non-LLM" in chooser.name and "non-LLM" in FirstChooser.name


def test_llm_chooser_parses_replies_and_falls_back_with_counts():
    cur = _p("Scott Derrickson", "Scott Derrickson (born July 16, 1966) is an American director. " * 30)
    cands = [_p(f"Film {i}", f"Film {i} is a horror film. " * 40) for i in range(1, 5)]
    model = StubChatModel(["3", "I would go with page 2.", "no idea", '{"choice": 4}', LLMError("timeout")])
    chooser = LLMChooser(model)
    picks = [chooser.choose(cur, cands) for _ in range(4)]
    assert [c.index for c in picks] == [2, 1, 0, 3]
    assert [c.fallback for c in picks] == [None, None, "bad_reply", None]
    # a failed call is never turned into a pick: it raises, and the chain fails as an item
    with pytest.raises(LLMError, match="timeout"):
        chooser.choose(cur, cands)
    assert chooser.fallbacks == Counter({"bad_reply": 1})
    prompt = model.calls[0][0]["content"]
    assert "Current page: Scott Derrickson" in prompt and "most logically connected" in prompt
    assert all(f"{i}. Film {i}:" in prompt for i in range(1, 5))
    # the current page is cut to ~600 characters and each candidate to ~200
    assert prompt.count("American director") < 15
    line = next(ln for ln in prompt.splitlines() if ln.startswith("1. Film 1:"))
    assert len(line) < 230


def test_llm_chooser_in_a_walk_records_fallbacks(corpus, tmp_path):
    model = StubChatModel(["garbage"] * 5 + ["2"] * 1000)
    cfg = WalksConfig(num_walks=4, hops=4, chooser="llm")
    stats = run_walks(cfg, corpus, tmp_path, chat_model=model, progress=False)
    assert stats.kept == 4
    assert stats.fallbacks["bad_reply"] >= 1
    assert _walks(tmp_path)[0].provenance.producer == "chooser=llm:stub"


# --------------------------------------------------------------------------- CLI


def test_cli_walks(corpus, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["walks", "--corpus", str(corpus), "--run", str(run), "--num-walks", "6", "--hops", "4"]
    assert main([*args, "--seed", "1", "--chooser", "first", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "6 kept" in out and "rejected segments" in out
    assert len(_walks(run)) == 6
    state = json.loads((run / "walks.state.json").read_text())
    assert "next_chain" in state
    assert main(["walks", "--corpus", str(corpus), "--out", str(run), "--set", "hosp=3"]) == 2
    assert "did you mean 'hops'" in capsys.readouterr().err


def test_a_graph_of_another_corpus_is_refused(corpus, tmp_path):
    LinkGraph.from_edges(5, [0, 1], [1, 2]).save(tmp_path / "graph.npz")
    with PageStore.create(tmp_path) as w:
        for i in range(3):
            w.add(Page(id=f"z{i}", title=f"Z {i}", text="Text."))
    with pytest.raises(ConfigError, match="rebuild graph.npz"):
        run_walks(WalksConfig(num_walks=1), tmp_path, tmp_path / "run", progress=False)
    assert main(["walks", "--corpus", str(tmp_path), "--out", str(tmp_path / "run"), "--no-progress"]) == 2


def test_a_seed_title_not_in_the_corpus_is_named_by_walks_and_run(corpus, tmp_path, capsys):
    bad = ["--set", 'seed_titles=["No Such Page"]', "--no-progress"]
    assert main(["walks", "--corpus", str(corpus), "--run", str(tmp_path / "w"), *bad]) == 2
    assert "seed_titles: 'No Such Page' is neither a page id nor a title" in capsys.readouterr().err
    run = ["run", "--out", str(tmp_path / "r"), "--corpus", str(corpus), "--stop-after", "walks"]
    assert main([*run, "--set", 'walks.seed_titles=["No Such Page"]', "--no-progress"]) == 2
    assert "longtracerl run: error: seed_titles: 'No Such Page'" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="no usable seed page"):
        run_walks(WalksConfig(num_walks=1, min_out_links=10**6), corpus, tmp_path / "n", progress=False)


def test_walks_are_unique_paths_and_duplicates_are_counted(corpus, tmp_path):
    stats = run_walks(WalksConfig(num_walks=60, hops=3, seed=1), corpus, tmp_path / "u", progress=False)
    paths = [tuple(w.page_ids) for w in _walks(tmp_path / "u")]
    assert len(paths) == len(set(paths)) == 60
    assert stats.rejected["duplicate_walk"] > 0  # a 38-page graph retraces paths
    # a resumed run keeps the rule across runs
    cfg = WalksConfig(num_walks=30, hops=3, seed=1)
    run_walks(cfg, corpus, tmp_path / "r", progress=False)
    run_walks(cfg.model_copy(update={"num_walks": 60}), corpus, tmp_path / "r", progress=False)
    assert (tmp_path / "r" / "walks.jsonl").read_text() == (tmp_path / "u" / "walks.jsonl").read_text()
    dup = run_walks(
        WalksConfig(num_walks=60, hops=3, seed=1, unique_paths=False), corpus, tmp_path / "d", progress=False
    )
    assert "duplicate_walk" not in dup.rejected
