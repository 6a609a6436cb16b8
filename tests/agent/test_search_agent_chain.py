"""The search agent on chained narrations: name forms, the relation a description states, look-ups
that go to the second page of results, and the tool-call budget shared over the descriptions."""

from __future__ import annotations

from longtracerl.agent import search_agent
from longtracerl.agent.config import AgentConfig
from longtracerl.agent.search_agent import (
    SearchAgentPolicy,
    _Attempt,
    _Cand,
    _Description,
    _forms,
    _Read,
    _stems,
    _variants,
    analyse,
)
from longtracerl.agent.tools import ToolBox
from longtracerl.corpus.store import PageNotFound
from longtracerl.records import Page
from longtracerl.search.base import Hit
from longtracerl.textfacts import split_sentences
from tests.helpers.agent_fixtures import CHAIN_QUESTION

CFG = AgentConfig()


def _read(title: str, text: str) -> _Read:
    page = Page(id=title.replace(" ", "_"), title=title, text=text)
    return _Read(page, split_sentences(text), set(_stems(title + " " + text)))


def test_variants_are_the_shorter_forms_a_page_may_be_titled_by():
    assert _variants("Neiman Marcus Group Inc") == ["Neiman Marcus"]
    assert _variants("30 Rockefeller Center") == ["Rockefeller Center"]
    assert _variants("Dan Schneider-produced") == ["Dan Schneider"]
    assert "British Columbia" in _variants("Northern Interior of British Columbia")
    assert _variants("Baz Luhrmann") == []


def test_forms_give_full_forms_and_a_surname_only_for_plain_names():
    assert _forms("Jim Kelly") == (["Jim Kelly"], "Kelly")
    assert _forms("The Times") == (["The Times", "Times"], None)
    assert _forms("Richardson, Texas") == (["Richardson, Texas", "Richardson"], None)
    assert _forms("Romeo + Juliet (film)")[0] == ["Romeo + Juliet"]


def test_description_reads_the_relation_way_from_its_wording():
    cases = {
        "Next comes an Australian director born in the 1960s, who wrote that film": "fwd",
        "Next comes a film, directed by that director": "back",
        "Finally, consider an Australian actress, who appeared in that film": "fwd",
        "Finally, consider an Italian capital, where that club is located": "fwd",
        "Then take a Chinese actor, born in that territory": "back",
        "Then take a player, who played for that team": "back",
        "Then take a team, that that player played for": "fwd",
        "Then take a singer, who was married to that actor": None,
    }
    for clause, way in cases.items():
        assert _Description(clause).way == way, clause


def test_relation_scores_the_cue_a_full_name_and_a_surname():
    d = _Description("Next comes a film, directed by that director")
    prev = _read("Baz Luhrmann", "Baz Luhrmann (born 17 September 1962) is an Australian director.")
    cued = d.relation(prev, "No. 5 the Film", "No. 5 the Film is a short film directed by Baz Luhrmann.")
    plain = d.relation(prev, "Strictly Ballroom", "Strictly Ballroom is a film with Baz Luhrmann as writer.")
    surname = d.relation(prev, "Moulin Rouge!", "Moulin Rouge! is a film by Luhrmann.")
    none = d.relation(prev, "Titanic (1997 film)", "Titanic is a film by James Cameron.")
    assert cued > plain > surname > 0 > none
    # the last word alone names a person only: a race "Prix" is not the "Canadian Grand Prix"
    d = _Description("Next comes a race, named in the description of that round")
    rnd = _read("1998 Molson Indy", "The 1998 Molson Indy was a race at the Canadian Grand Prix circuit.")
    assert d.relation(rnd, "Canadian Grand Prix", "The Canadian Grand Prix is an auto race.") > 0
    assert d.relation(rnd, "Monaco Grand Prix", "The Monaco Grand Prix is an auto race.") < 0


def test_fit_reads_the_kind_as_a_head_and_its_nationality_and_decade_in_the_defining_words():
    d = _Description("Next comes a film released in the 2010s, whose description names that film")
    film = "The Nut Job 2 is a 2017 computer-animated comedy film directed by Cal Brunker."
    person = "Peter Lepeniotis (born 1965) is a Canadian animator, film director and producer."
    assert d.defines(film) and not d.defines(person) and d.fit(film) > d.fit(person)
    d = _Description("Then take an American actor born in the 1980s, named in the description of that film")
    dehaan = "Dane DeHaan (born February 6, 1986) is an American actor."
    garfield = "Andrew Garfield (born 20 August 1983) is a British-American actor."
    assert d.fit(dehaan) > d.fit(garfield)
    d = _Description("Start with an American country music singer born in the 1950s")
    gayle = "Crystal Gayle (born January 9, 1951) is an American country music singer."
    rodgers = "Jimmie Rodgers (born 1933) is an American popular music singer, a star in 1957."
    assert d.fit(gayle) > d.fit(rodgers)


class _Ranked:
    """A retriever with a fixed ranking per query (the page titled by the name alone ranks 12th)."""

    def __init__(self, pages: dict[str, Page], rankings: dict[str, list[str]]):
        self.pages, self.rankings = pages, rankings

    def search(self, query: str, k: int = 10) -> list[Hit]:
        ids = self.rankings.get(query, [])[:k]
        return [
            Hit(page_id=p, title=self.pages[p].title, snippet=self.pages[p].text[:80], score=1.0 / i, rank=i)
            for i, p in enumerate(ids, 1)
        ]


class _Store:
    def __init__(self, pages: dict[str, Page]):
        self.pages = pages

    def open(self, pid: str) -> Page:
        if pid not in self.pages:
            raise PageNotFound(pid)
        return self.pages[pid]


def test_lookup_asks_for_the_second_page_when_the_name_has_no_page_among_the_first():
    pages = {
        f"Batman_{i}": Page(id=f"Batman_{i}", title=f"Batman ({i})", text="Batman thing.") for i in range(11)
    }
    pages["Batman"] = Page(id="Batman", title="Batman", text="Batman is a superhero.")
    ranking = [f"Batman_{i}" for i in range(11)] + ["Batman"]
    tools = ToolBox(_Ranked(pages, {"Batman": ranking}), _Store(pages), top_k=10)
    st = _Attempt(analyse(CHAIN_QUESTION), None, 0.0, 10)  # type: ignore[arg-type]
    found = SearchAgentPolicy(CFG)._lookup(tools, st, ["Batman"])
    ids = [c.page_id for c in found]
    assert "Batman" in ids and ids[:10] == ranking[:10]  # "Batman (album)" ... only: the next page
    assert [e.args for e in tools.events] == [{"query": "Batman"}, {"query": "Batman", "offset": 10}]
    assert "Batman" in tools.seen_ids  # the second page's results are recorded as seen


def test_chain_stays_within_its_call_budget_and_resolves_every_description(store, retriever):
    for turns in (20, 120):
        cfg = AgentConfig(chain_turns=turns)
        policy = SearchAgentPolicy(cfg)
        policy.debug = {}
        tb = ToolBox(retriever, store, top_k=5, max_calls=cfg.max_turns)
        end = policy.run(CHAIN_QUESTION, tb, attempt=1, seed=1)
        assert end.reason == "answered"
        assert tb.n_calls <= turns
        assert len(policy.debug["hops"]) == len(analyse(CHAIN_QUESTION).clauses)  # no description skipped
        assert tb.cited_ids[:2] == ["fest", "marta"]


def test_later_attempts_read_more_candidates_per_description(store, retriever, monkeypatch):
    monkeypatch.setattr(search_agent, "CHAIN_MENTIONS", 0)  # the candidates of the descriptions only
    monkeypatch.setattr(search_agent, "CHAIN_CHECKS", 0)
    opened = []
    for attempt in (1, 3):
        tb = ToolBox(retriever, store, top_k=5, max_calls=80)
        SearchAgentPolicy(AgentConfig(chain_open=1)).run(CHAIN_QUESTION, tb, attempt=attempt, seed=3)
        opened.append(len(tb.opened_ids))
    assert opened[1] > opened[0]


def _cand(pid: str, text: str, search: float = 1.0) -> _Cand:
    return _Cand(pid, pid.replace("_", " "), search=search, text=text)


def test_mentioning_keeps_the_results_whose_shown_text_names_the_page_in_order():
    prev = _read("Baz Luhrmann (director)", "Baz Luhrmann is an Australian director.")
    cands = [
        _cand("Strictly_Ballroom", "Strictly Ballroom is a 1992 film by Baz Luhrmann."),
        _cand("Baz_Luhrmann_(director)", "Baz Luhrmann is an Australian director."),  # the page itself
        _cand("Moulin_Rouge!", "Moulin Rouge! is a film by Luhrmann."),  # a surname only
        _cand("Bazaar", "Bazaar Luhrmannia is a market."),  # no whole-word full form
        _cand("Australia_(film)", "Australia is a 2008 epic by Baz Luhrmann, starring Nicole Kidman."),
    ]
    assert [c.page_id for c in SearchAgentPolicy._mentioning(cands, prev)] == [
        "Strictly_Ballroom",
        "Australia_(film)",
    ]
    assert SearchAgentPolicy._mentioning(cands, None) == []


def _pages(texts: dict[str, str]) -> dict[str, Page]:
    return {t.replace(" ", "_"): Page(id=t.replace(" ", "_"), title=t, text=x) for t, x in texts.items()}


def test_check_reads_the_shown_pages_that_name_each_chain_entity_and_pages_deeper_when_too_few(monkeypatch):
    monkeypatch.setattr(search_agent, "CHAIN_CHECKS", 2)
    pages = _pages(
        {
            "Marta Quell": "Marta Quell is a Danish violinist born in 1971.",
            "Harbor Lights Festival": "The Harbor Lights Festival was founded by Marta Quell.",
            "Old Mill Bakery": "The Old Mill Bakery is a bakery in Leeds.",
            "Aarhus Quartet": "The Aarhus Quartet once played with Marta Quell in Aarhus.",
            **{f"Quell {i}": f"Quell {i} is a word." for i in range(10)},
        }
    )
    ranking = ["Marta_Quell"] + [f"Quell_{i}" for i in range(10)] + ["Aarhus_Quartet"]  # 12th
    tools = ToolBox(_Ranked(pages, {"Marta Quell": ranking}), _Store(pages), top_k=10)
    st = _Attempt(analyse(CHAIN_QUESTION), None, 0.0, 10)  # type: ignore[arg-type]
    marta = _read("Marta Quell", pages["Marta_Quell"].text)
    st.chain, st.reads = [marta], {"Marta_Quell": marta}
    st.cands = {
        "Harbor_Lights_Festival": _cand("Harbor_Lights_Festival", pages["Harbor_Lights_Festival"].text),
        "Old_Mill_Bakery": _cand("Old_Mill_Bakery", pages["Old_Mill_Bakery"].text, search=2.0),
    }
    SearchAgentPolicy(CFG)._check(tools, st)
    # one shown page names her: her name is searched, then the second page of that
    assert [e.args for e in tools.events if e.tool == "search"] == [
        {"query": "Marta Quell"},
        {"query": "Marta Quell", "offset": 10},
    ]
    assert tools.opened_ids == ["Harbor_Lights_Festival", "Aarhus_Quartet"]  # never the bakery
    assert tools.cited_ids == []  # checked, not cited: these become Tier-1


def test_a_hop_also_reads_results_that_name_the_entity_just_resolved(store, retriever, monkeypatch):
    monkeypatch.setattr(search_agent, "CHAIN_CHECKS", 0)  # the hop's own reads only
    read_in_hop = {}
    for mentions in (0, 3):
        monkeypatch.setattr(search_agent, "CHAIN_MENTIONS", mentions)
        tb = ToolBox(retriever, store, top_k=5)
        end = SearchAgentPolicy(AgentConfig(chain_open=1)).run(CHAIN_QUESTION, tb, attempt=1, seed=1)
        assert end.reason == "answered" and tb.cited_ids[:2] == ["fest", "marta"]
        # the reads before the last entity is looked up with the asked words ("... year ... born")
        last = next(i for i, e in enumerate(tb.events) if e.tool == "search" and "born" in e.args["query"])
        read_in_hop[mentions] = {e.args["page_id"] for e in tb.events[:last] if e.tool == "open"}
    # Port Avalon's page names the festival resolved at the first hop: with one candidate read per
    # description it is read only as a result that names it, before the second hop settles
    assert read_in_hop[0] == {"fest", "marta"}
    assert read_in_hop[3] == {"fest", "marta", "avalon"}


def test_a_weak_hop_takes_a_second_look_at_pages_titled_by_part_of_a_longer_name():
    prev = Page(
        id="The_Stratton_Story",
        title="The Stratton Story",
        text="The Stratton Story is a 1949 film. Its stars later made The Glenn Miller Story together.",
    )
    gold = Page(id="Glenn_Miller", title="Glenn Miller", text="Glenn Miller was an American musician.")
    story = Page(id="Story_film", title="The Glenn Miller Story", text="The Glenn Miller Story is a film.")
    other = Page(id="Millerton", title="Glenn Millerton", text="Glenn Millerton is a town.")  # not a part of it
    pages = {p.id: p for p in (prev, gold, story, other)}
    rankings = {"The Glenn Miller Story": ["Millerton", "Glenn_Miller"]}  # its own page is not in the index
    tools = ToolBox(_Ranked(pages, rankings), _Store(pages), top_k=10)
    policy = SearchAgentPolicy(CFG)
    st = _Attempt(analyse(CHAIN_QUESTION), None, 0.0, 10)  # type: ignore[arg-type]
    policy._search(tools, st, "The Glenn Miller Story", again=True)  # the hop's look-up of the name
    calls = tools.n_calls
    d = _Description("From there, go to an American musician, named in the description of that film")
    found = policy._second_look(tools, st, d, _read(prev.title, prev.text))
    assert [c.page_id for c in found if c.page_id in pages] == ["Glenn_Miller"]
    # the name's results were reused; the new calls are the second page of the previous name + description
    assert [e.args for e in tools.events[calls:]][0] == {"query": f"The Stratton Story {d.query}", "offset": 10}
