from longtracerl.agent.tools import ToolBox
from tests.helpers.agent_fixtures import PAGES, TinyBM25


def test_events_recorded_in_order_with_timing(store):
    tb = ToolBox(TinyBM25(PAGES), store, top_k=3)
    res = tb.search("Danish violinist")
    assert len(res.hits) == 3
    tb.open(res.hits[0].page_id)
    tb.open("does-not-exist")
    tb.cite([res.hits[0].page_id, "nope"])
    tb.answer(" 1971 ")
    tools = [e.tool for e in tb.events]
    assert tools == ["search", "open", "open", "cite", "answer"]
    assert [e.step for e in tb.events] == [1, 2, 3, 4, 5]
    assert all(e.elapsed_s >= 0 for e in tb.events)
    assert tb.events[0].args == {"query": "Danish violinist"}
    assert tb.events[0].result_ids == [h.page_id for h in res.hits]
    assert tb.events[2].error == "unknown page id 'does-not-exist'" and tb.events[2].result_ids == []
    assert tb.events[3].result_ids == [res.hits[0].page_id] and "nope" in tb.events[3].error
    assert tb.final_answer == "1971"


def test_seen_opened_cited_sets(store):
    tb = ToolBox(TinyBM25(PAGES), store, top_k=4)
    first = [h.page_id for h in tb.search("Danish").hits]
    second = [h.page_id for h in tb.search("festival town").hits]
    expected_seen = list(dict.fromkeys(first + second))
    assert tb.seen_ids == expected_seen
    tb.open(first[0])
    tb.open(first[0])  # opened twice, listed once
    tb.open("mill")  # a page never shown in results may still be opened by id
    assert tb.opened_ids == [first[0], "mill"]
    assert tb.events[-1].tool == "open" and tb.events[-2].result_ids == [first[0]]
    tb.cite([first[0]])
    assert tb.cited_ids == [first[0]]
    assert "mill" not in tb.seen_ids


def test_empty_query_is_an_error_observation(store):
    tb = ToolBox(TinyBM25(PAGES), store)
    res = tb.search("   ")
    assert not res.ok and res.error == "empty query"
    assert tb.events[0].error == "empty query" and tb.seen_ids == []


def test_top_k_bounds_results(store):
    tb = ToolBox(TinyBM25(PAGES), store, top_k=2)
    assert len(tb.search("the").hits) <= 2
    assert len(tb.search("music", k=50).hits) <= 2


def test_render_truncates(store):
    tb = ToolBox(TinyBM25(PAGES), store)
    obs = tb.open("marta").render(max_chars=20)
    assert obs.startswith("[marta] Marta Quell") and obs.endswith("[...truncated]")
    assert "Error" in tb.open("zzz").render()


def test_offset_gives_the_next_page_of_results(store):
    tb = ToolBox(TinyBM25(PAGES), store, top_k=2)
    whole = [h.page_id for h in TinyBM25(PAGES).search("Danish festival town", 4)]
    assert len(whole) == 4
    first = tb.search("Danish festival town")
    second = tb.search("Danish festival town", offset=2)
    assert [h.page_id for h in first.hits] == whole[:2]
    assert [h.page_id for h in second.hits] == whole[2:4]
    assert [h.rank for h in second.hits] == [3, 4]  # ranks in the whole ranking
    assert tb.events[1].args == {"query": "Danish festival town", "offset": 2}
    assert tb.events[1].result_ids == whole[2:4]
    assert tb.seen_ids == whole[:4]  # the second page's results are seen too
    past = tb.search("Danish festival town", offset=80)
    assert past.ok and past.hits == [] and "No more results" in past.render()


def test_bad_offset_is_an_error_observation(store):
    tb = ToolBox(TinyBM25(PAGES), store, top_k=2)
    for bad in (-1, "x", 1000):
        res = tb.search("Danish", offset=bad)
        assert not res.ok and "offset" in res.error
    assert [e.error is not None for e in tb.events] == [True, True, True]
    assert tb.seen_ids == []
