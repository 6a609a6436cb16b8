"""The real embedded corpora (HotpotQA dev distractor paragraphs, Wikipedia summaries)."""

from __future__ import annotations

from pathlib import Path

import pytest

from longtracerl.assets import asset_path
from longtracerl.corpus.config import CorpusConfig
from longtracerl.corpus.loaders import LoadContext, load_hotpotqa, load_wiki_summaries
from longtracerl.corpus.prepare import prepare_corpus
from longtracerl.corpus.stats import corpus_stats


def test_hotpotqa_embedded_page_count() -> None:
    ctx = LoadContext(asset_path("hotpotqa"))
    ids = set()
    n = 0
    for loaded in load_hotpotqa(ctx):
        ids.add(loaded.page.id)
        n += 1
    assert n == 66_581 and len(ids) == n
    assert ctx.skipped == {"duplicate_title": 73_700 - 66_581}


def test_wiki_summaries_embedded_page_count() -> None:
    ctx = LoadContext(asset_path("wiki-summaries"))
    assert sum(1 for _ in load_wiki_summaries(ctx)) == 10_033
    assert not ctx.skipped


@pytest.mark.slow
def test_prepare_embedded_hotpotqa(tmp_path: Path) -> None:
    m = prepare_corpus("hotpotqa", None, tmp_path / "c", CorpusConfig(build_index=False))
    assert m.counts["pages"] == 66_581 and m.graph["method"] == "mentions"
    s = corpus_stats(tmp_path / "c")
    assert s["pages"] == 66_581 and s["links"] == m.counts["links"] > 100_000
    assert 0.05 < s["share_more_than_3"] < 0.5
    hubs = [h["title"] for h in s["top_in_degree"]]
    # months and qualified bases ('September (2007 film)') must not be the hubs
    assert not any("(" in t for t in hubs[:5]) and "September" not in " ".join(hubs)
