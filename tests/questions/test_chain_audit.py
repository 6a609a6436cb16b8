"""The chain composer, the question audit and clean page text (issue 13)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from longtracerl.cli import main
from longtracerl.corpus.config import CorpusConfig
from longtracerl.corpus.markup import clean_page_text
from longtracerl.corpus.prepare import prepare_corpus
from longtracerl.corpus.store import PageStore
from longtracerl.questions import QuestionsConfig, run_questions
from longtracerl.questions.audit import (
    Auditor,
    audit_run,
    pieces,
    role_defects,
    text_defects,
)
from longtracerl.questions.audit_report import audit_section, audit_table
from longtracerl.questions.chain import ChainComposer, Relation, answer_candidates, relations
from longtracerl.questions.facts import describe, fits, page_facts
from longtracerl.questions.validate import QuestionRejected
from longtracerl.records import Label, Page, Provenance, Question, Walk, read_jsonl, write_jsonl
from longtracerl.search.index import build_index
from longtracerl.text import normalize_answer
from longtracerl.textfacts import answer_fits_type, asked_type, question_sentences
from longtracerl.walks import WalksConfig, run_walks
from tests.helpers.md_corpus import write_jsonl as write_md_corpus
from tests.helpers.walks_corpus import build_corpus

# Small corpora: every sentence is near the top of a 80-page index, so the BM25 thresholds are
# the strictest ones (top 1); the defaults (top 5 / top 10) are measured on the embedded corpus
# by benchmarks/bench_questions.py.
SMALL = {"shortcut_top_k": 1, "start_rank": 3}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    c = build_corpus(tmp_path_factory.mktemp("corpus"))
    build_index(c, progress=False)
    return c


@pytest.fixture(scope="module")
def chain_run(corpus, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("run")
    run_walks(WalksConfig(num_walks=30, hops=5, seed=0), corpus, run, progress=False)
    run_questions(QuestionsConfig(**SMALL), corpus, run, progress=False)
    return run


# --------------------------------------------------------------------------- facts


@pytest.mark.parametrize(
    ("sentence", "kind", "nationality", "dated"),
    [
        (
            "Sinister is a 2012 American supernatural horror film directed by Scott Derrickson.",
            "film",
            "American",
            ("released", "2010s"),
        ),
        (
            "Scott Derrickson (born July 16, 1966) is an American director, screenwriter and producer.",
            "director",
            "American",
            ("born", "1960s"),
        ),
        (
            "Twist and Shout is a 1961 American comic science fiction family film.",
            "film",
            "American",
            ("released", "1960s"),
        ),
        ("The Lesser Antilles are a group of islands in the Caribbean Sea.", "island", None, None),
        ("Woodson is a town in Pulaski County, Arkansas, United States.", "town", "American", None),
        (
            "Heavenly Creatures is a 1994 New Zealand psychological drama directed by Peter Jackson.",
            "drama",
            "New Zealand",
            ("dating from", "1990s"),
        ),
        (
            "Panic! at the Disco is an American rock band from Las Vegas, formed in 2004.",
            "band",
            "American",
            ("formed", "2000s"),
        ),
        (
            "The University of Rochester is a private, nonsectarian, research university in Rochester.",
            "university",
            None,
            None,
        ),
    ],
)
def test_page_facts_read_kind_nationality_and_decade(sentence, kind, nationality, dated):
    f = page_facts(sentence)
    assert (f.kind, f.nationality, f.dated) == (kind, nationality, dated)


def test_descriptions_hide_names_years_and_numbers():
    f = page_facts("Sinister is a 2012 American supernatural horror film directed by Scott Derrickson.")
    for level in range(4):
        d = describe(f, level)
        assert "2012" not in d and "Derrickson" not in d and "Sinister" not in d
    assert describe(f, 0) == "an American film"
    assert "2010s" in describe(f, 1) and "horror" in describe(f, 2)
    other = page_facts("Insidious is a 2010 American supernatural horror film directed by James Wan.")
    assert fits(other, f, 2) and not fits(page_facts("Up is a 2009 American animated film."), f, 1)


def test_relations_read_the_cue_and_its_direction():
    film = Page(
        id="f", title="Sinister (film)", text="Sinister is a 2012 horror film directed by Scott Derrickson."
    )
    person = Page(
        id="p", title="Scott Derrickson", text="Scott Derrickson (born 1966) is an American director."
    )
    rels = relations(film, page_facts(film.text), person, page_facts(person.text))
    assert Relation("fwd", "directed") in rels and Relation("fwd", "mention") in rels
    assert Relation("fwd", "directed").phrase("film") == "who directed that film"
    assert Relation("bwd", "directed") in relations(
        person, page_facts(person.text), film, page_facts(film.text)
    )
    # a cue before a page of the wrong kind is only a mention ('directed by' + a film's name)
    odd = Page(id="o", title="Night Shift", text="Night Shift is a 2001 film directed by Sinister.")
    assert relations(odd, page_facts(odd.text), film, page_facts(film.text)) == {Relation("fwd", "mention")}


def test_answer_candidates_ask_in_plain_words():
    page = Page(
        id="b",
        title="Foo Band",
        text="Foo Band is an American rock band formed in 1994 in Ohio. The band was founded by Ann Lee.",
    )
    answers = {a.ask: a.text for a in answer_candidates(page, page_facts(page.text))}
    assert answers["Who founded this band?"] == "Ann Lee"
    person = Page(id="p", title="Ann Lee", text="Ann Lee (born March 3, 1971) is an American singer.")
    assert [(a.ask, a.text) for a in answer_candidates(person, page_facts(person.text))][0] == (
        "In which year was this singer born?",
        "1971",
    )


# --------------------------------------------------------------------------- chain composer


def test_chain_questions_keep_every_rule(corpus, chain_run):
    store = PageStore(corpus)
    qs = list(read_jsonl(chain_run / "questions.jsonl", Question))
    rejected = [json.loads(x) for x in (chain_run / "questions.rejected.jsonl").read_text().splitlines()]
    assert qs, f"no question kept; rejections: {[r['reason'] for r in rejected]}"
    auditor = Auditor(corpus, top_k=1)
    walks = {w.walk_id: w for w in read_jsonl(chain_run / "walks.jsonl", Walk)}
    for q in qs:
        gold = q.label.gold_page_ids
        assert len(gold) >= 3 and len(q.question) <= 800
        assert q.provenance.producer == "chain (non-LLM)"
        assert text_defects(q.question, [store.title_of(i) for i in walks[q.walk_id].page_ids]) == []
        last = store.open(gold[-1])
        assert normalize_answer(q.label.answer) in normalize_answer(last.text)
        assert normalize_answer(q.label.answer) not in normalize_answer(q.question).split()
        assert not auditor.shortcut(q.question, gold[-1], "").shortcut
        assert q.question.startswith("Start with ") and q.question.endswith("?")
        assert "___" not in q.question
    assert all(r["reason"] for r in rejected)


def test_a_hop_that_is_not_unique_given_the_chain_is_ordered_or_rejected(tmp_path):
    # a film whose page names three American actors born in the 1960s: 'the actor named in it' is
    # ambiguous; the first and the last named can be told apart by their order, the middle one not
    actors = [("a", "Tom Arlen", 1961), ("b", "Bo Fenn", 1964), ("e", "Cy Dorn", 1966)]
    pages = [
        Page(
            id="d",
            title="Ravel Quist",
            text="Ravel Quist (born 1950) is a Danish director. Quist directed Glass Harbour.",
        ),
        Page(
            id="f",
            title="Glass Harbour",
            text="Glass Harbour is a 1999 Danish drama film directed by Ravel Quist, with Tom Arlen, Bo Fenn and Cy Dorn.",
        ),
        *[
            Page(id=i, title=t, text=f"{t} (born {y}) is an American actor. He was in Glass Harbour.")
            for i, t, y in actors
        ],
        *[  # other actors, linked to nothing here: a generic sentence alone must not single one out
            Page(
                id=f"x{k}",
                title=f"Filler Person{k}",
                text=f"Filler Person{k} (born {1960 + k}) is an American actor born in Ohio.",
            )
            for k in range(8)
        ],
    ]
    c = tmp_path / "c"
    write_jsonl(tmp_path / "in.jsonl", [{"id": p.id, "title": p.title, "text": p.text} for p in pages])
    prepare_corpus("jsonl", tmp_path / "in.jsonl", c, CorpusConfig(min_title_chars=3))
    store = PageStore(c)
    composer = ChainComposer(QuestionsConfig(shortcut_top_k=1, start_rank=5, start_words=0), store)

    def compose(last: str) -> Question:
        ids = ["d", "f", last]
        walk = Walk(
            walk_id="w",
            page_ids=ids,
            titles=[store.title_of(i) for i in ids],
            provenance=Provenance(stage="walks"),
        )
        return composer.compose(walk, [store.open(i) for i in ids])

    with pytest.raises(QuestionRejected) as err:
        compose("b")
    assert err.value.reason == "not_unique_given_chain"
    first, last = compose("a"), compose("e")
    assert "the first American actor" in first.question and first.label.answer == "1961"
    assert "the last American actor" in last.question and last.label.answer == "1966"


# --------------------------------------------------------------------------- audit


def test_pieces_are_the_question_its_sentences_and_clauses():
    got = pieces("Start with a film, released in the 2010s. Who directed it?")
    assert got[0][0] == "question"
    assert ("sentence", "Who directed it?") in got and ("clause", "released in the 2010s") in got


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Start with a topic: # this topic ## Family The sisters of this topic. Who?", "markup_heading"),
        ("It is Section::::Career. Who?", "markup_kilt"),
        ("A person {'1': , '2': } born. Who?", "markup_braces"),
        ("A place ( ) is an area. Which place?", "empty_brackets"),
        ("A band (formed 1990 is here. Which band?", "unbalanced_brackets"),
        ('He said "hello. Who?', "unbalanced_quotes"),
        ("It is a a person. Who?", "doubled_word"),
        ("It is best known. Who?", "cut_off"),
        ("It is the film of. Which film?", "cut_off"),
        ("It links [[Paris]]. Which city?", "markup_wikitext"),
    ],
)
def test_text_defects_find_each_kind(text, code):
    assert code in text_defects(text)


def test_text_defects_pass_clean_text_and_catch_path_names():
    clean = "Start with an American film released in the 2010s. Next comes a director, who directed that film. In which year was this director born?"
    assert text_defects(clean) == []
    assert text_defects("Start with Sinister, a film. Who directed it?", ["Sinister (film)"]) == ["path_name"]


def test_role_words_that_contradict_the_page():
    film = Page(id="f", title="T", text="Twist is a 1961 American comic science fiction family film.")
    person = Page(id="p", title="P", text="Ann Lee (born 1971) is an American singer.")
    ok = "Start with a film: this film is old. Finally, a person it mentions: ___ was born. Which person fills the blank?"
    bad = "Start with a book: this book is old. Finally, a person it mentions: ___ was born. Which person fills the blank?"
    assert role_defects(ok, [film, person]) == []
    assert role_defects(bad, [film, person]) == ["role_contradicts_page"]
    assert role_defects("Who directed the 1961 film Twist?", [film, person]) is None  # not hop-structured


@pytest.mark.parametrize(
    ("question", "kind", "good", "bad"),
    [
        ("Start with a band. In which year was this band formed?", "year", "1994", "Ohio"),
        ("What was the population of this town at the 2010 census?", "number", "4,311", "Ohio"),
        ("Who directed this film?", "person", "Ann Lee", "1994"),
        ("Where was this singer born?", "place", "Ohio", "1971"),
        ("Are both bands from Ohio?", "yes_no", "yes", "Ohio"),
    ],
)
def test_asked_type_and_answer_type(question, kind, good, bad):
    assert asked_type(question) == kind
    assert answer_fits_type(good, kind) and not answer_fits_type(bad, kind)


def test_audit_finds_the_masked_shortcut_and_not_the_chain_one(corpus, chain_run, tmp_path):
    masked = tmp_path / "masked"
    masked.mkdir()
    (masked / "walks.jsonl").write_text((chain_run / "walks.jsonl").read_text())
    run_questions(QuestionsConfig(composer="masked"), corpus, masked, progress=False)
    m = audit_run(corpus, masked, plots=False, top_k=1)
    c = audit_run(corpus, chain_run, plots=True, top_k=1)
    assert m["questions"] and c["questions"]
    assert m["shortcut_pct"] > 50 and c["shortcut_pct"] == 0
    rows = [json.loads(x) for x in (chain_run / "questions.audit.jsonl").read_text().splitlines()]
    assert len(rows) == c["questions"] and all(r["hops"] >= 3 and r["answer_ok"] for r in rows)
    assert all(len(r["chain"]) == r["hops"] - 1 for r in rows)
    assert sum(c["hop_counts"].values()) == c["questions"] and Path(c["plots"][0]).exists()
    table = "\n".join(audit_table({"chain": c, "masked": m}))
    assert "| chain | masked |" in table.splitlines()[0] and f"{m['shortcut_pct']} %" in table


def test_audit_works_on_imported_questions_and_via_the_cli(corpus, tmp_path, capsys):
    store = PageStore(corpus)
    ids = store.ids()[:2]
    t0, t1 = store.title_of(ids[0]), store.title_of(ids[1])
    q = Question(
        question_id="hp-1",
        question=f"Which is older, {t0} or {t1}?",
        label=Label(answer=t0, rubrics=[t0, t1], gold_page_ids=ids),
        provenance=Provenance(stage="import", producer="hotpotqa"),
    )
    run = tmp_path / "imported"
    run.mkdir()
    write_jsonl(run / "questions.jsonl", [q])
    assert (
        main(["questions", "audit", "--corpus", str(corpus), "--run", str(run), "--no-plots", "--top-k", "1"])
        == 0
    )
    assert "audited 1 questions" in capsys.readouterr().out
    row = json.loads((run / "questions.audit.jsonl").read_text())
    assert row["hops"] == 2 and "path_name" in row["defects"] and row["answer_checks"]["in_question"]
    assert json.loads((run / "questions.audit.json").read_text())["questions"] == 1


def test_the_report_section_holds_the_audit_and_examples(corpus, chain_run, tmp_path):
    summary, lines = audit_section(chain_run, corpus, tmp_path, plots=False)
    md = "\n".join(lines)
    assert "## Question quality" in md and "**Answer:**" in md
    assert summary["questions"] == len((chain_run / "questions.jsonl").read_text().splitlines())


# --------------------------------------------------------------------------- clean page text


@pytest.mark.parametrize(
    ("raw", "title", "want"),
    [
        (
            "# Ann\n\n## Family\nThe sister of **Ann** is [Bea](http://x).",
            "Ann",
            "Family:\nThe sister of Ann is Bea.",
        ),
        ("Intro.\n\n- one\n* two\n1. three", None, "Intro.\none\ntwo\nthree"),
        (
            "== History ==\nFounded in [[Paris|the capital]]{{cite|x}}.<ref>n</ref>",
            None,
            "History:\nFounded in the capital.",
        ),
        ("Section::::Career.:Early.\nBULLET::::- A bullet.", None, "Early:\nA bullet."),
        (
            "Verdi (] ; 9 October 1813 – 1901) was a composer.",
            None,
            "Verdi (9 October 1813 – 1901) was a composer.",
        ),
        ("Swan {'1': , '2': } (born 1956) is a man.", None, "Swan (born 1956) is a man."),
        ("1. FC Köln is a football club.", None, "1. FC Köln is a football club."),
        ("Plain text (with brackets) stays.", None, "Plain text (with brackets) stays."),
    ],
)
def test_clean_page_text(raw, title, want):
    assert clean_page_text(raw, title) == want


def test_markdown_corpus_gives_clean_pages_and_questions(tmp_path):
    src = write_md_corpus(tmp_path / "md.jsonl")
    c = tmp_path / "corpus"
    m = prepare_corpus("jsonl", src, c, CorpusConfig())
    assert m.counts["notes"]["pages_markup_cleaned"] == m.counts["pages"]
    store = PageStore(c)
    for page in store.iter_pages():
        assert text_defects(page.text.replace("\n", " ") + ".") in ([], ["cut_off"]), page.text
        assert "#" not in page.text and "**" not in page.text and "](" not in page.text
    run = tmp_path / "run"
    run_walks(WalksConfig(num_walks=20, hops=4, seed=1, min_out_links=1), c, run, progress=False)
    for composer in ("chain", "masked"):
        r = tmp_path / composer
        r.mkdir()
        (r / "walks.jsonl").write_text((run / "walks.jsonl").read_text())
        run_questions(QuestionsConfig(composer=composer, **SMALL), c, r, progress=False)
        if (r / "questions.jsonl").exists() and (r / "questions.jsonl").read_text():
            s = audit_run(c, r, plots=False, top_k=1)
            markup = {k for k in s["defects"] if k.startswith("markup") or k == "empty_brackets"}
            assert not markup, (composer, s["defects"])


# --------------------------------------------------------------------------- llm composer checks


@pytest.mark.parametrize(
    ("question", "answer", "shortcut", "reason"),
    [
        ("Start with a topic: # this topic ## Family. Who is it?", "Bea", None, "text_defect"),
        (
            "Start with an American singer. In which year was she born?",
            "1980",
            None,
            "answer_not_on_last_page",
        ),
        ("Start with an American singer. Who is her sister?", "Bea", lambda q, pid: "Start with", "shortcut"),
    ],
)
def test_llm_replies_go_through_the_chain_checks(question, answer, shortcut, reason):
    from longtracerl.questions.llm import COMPOSER_PROMPT, validate_reply

    pages = [
        Page(id="a", title="Ann Lee", text="Ann Lee (born 1971) is an American singer."),
        Page(id="b", title="Bea Lee", text="Bea Lee is the sister of Ann Lee. Bea is a painter."),
    ]
    with pytest.raises(QuestionRejected) as err:
        validate_reply({"question": question, "answer": answer, "rubrics": ["Ann Lee"]}, pages, 800, shortcut)
    assert err.value.reason == reason
    ok = "Start with an American singer. Who is the painter whose description names that singer?"
    assert (
        validate_reply({"question": ok, "answer": "Bea", "rubrics": ["Ann Lee"]}, pages, 800, None)[1]
        == "Bea"
    )
    assert "WITHOUT its name" in COMPOSER_PROMPT and "decade instead of a year" in COMPOSER_PROMPT


def test_max_hops_bounds_the_chain_window(corpus, chain_run, tmp_path):
    run = tmp_path / "short"
    run.mkdir()
    (run / "walks.jsonl").write_text((chain_run / "walks.jsonl").read_text())
    run_questions(QuestionsConfig(max_hops=3, **SMALL), corpus, run, progress=False)
    qs = list(read_jsonl(run / "questions.jsonl", Question))
    walks = {w.walk_id: w for w in read_jsonl(run / "walks.jsonl", Walk)}
    assert qs and all(len(q.label.gold_page_ids) == 3 for q in qs)
    # the window ends as late as it can: here, with every hop valid, at the walk's last page
    assert any(q.label.gold_page_ids[-1] == walks[q.walk_id].page_ids[-1] for q in qs)


# --------------------------------------------------------------------------- audit: fast == reference


def _reference_audit(auditor: Auditor, question: str, gold: list[str], answer: str) -> dict:
    """The audit's shortcut and chain checks done the plain way: a separate search per check and
    per depth, every hit's page fetched, a snippet made and normalised for every hit."""
    from longtracerl.search.analysis import make_snippet
    from longtracerl.text import normalize_answer as norm

    r, top_k = auditor.retriever, auditor.top_k

    def has(hay: str, needle: str) -> bool:
        return bool(norm(needle)) and f" {norm(needle)} " in f" {norm(hay)} "

    answer_page = gold[-1] if gold else ""
    where = piece = snip = None
    for w, text in pieces(question):
        ranked = r.search_pages(text, top_k)
        if where is None and answer_page in [sp.page.id for sp in ranked]:
            where, piece = w, text
        snippets = [make_snippet(text, sp.page.text, r.config.snippet_chars) for sp in ranked]
        if snip is None and any(has(s, answer) for s in snippets):
            snip = text
    chain = []
    deep = {t: r._ranked(t, auditor.depth) for _, t in pieces(question)}
    for i in range(1, len(gold)):
        ranks = [
            ([pid for pid, _ in hits].index(gold[i]), t) for t, hits in deep.items() if gold[i] in dict(hits)
        ]
        nbrs = set(auditor.neighbour_ids(gold[i - 1]))
        alone = among = None
        if ranks:
            rank, t = min(ranks, key=lambda x: x[0])  # min keeps the first piece on a tie
            score = deep[t][rank][1]
            alone = len([1 for _, s in deep[t] if s >= score])
            among = 1 + len([1 for pid, s in deep[t] if s >= score and pid in nbrs and pid != gold[i]])
        chain.append(
            {
                "hop": i + 1,
                "neighbours": len(nbrs),
                "fits_alone": alone,
                "fits_among_neighbours": among,
                "ambiguous_alone": alone is None or alone > top_k,
                "unique_given_chain": among == 1,
            }
        )
    return {
        "shortcut": where is not None,
        "shortcut_where": where,
        "shortcut_piece": piece,
        "answer_in_snippet": snip is not None,
        "chain": chain,
    }


def _sampled_questions(corpus: Path, n: int, seed: int) -> list[Question]:
    """Questions made of page text: a sentence of one page, a clause of another, an answer word
    taken from a third page (so some pieces find it and some snippets hold it, some not)."""
    import random

    rng = random.Random(seed)
    store = PageStore(corpus)
    ids = store.ids()
    out = []
    for k in range(n):
        gold = rng.sample(ids, 3)
        pages = [store.open(g) for g in gold]
        s0 = question_sentences(pages[0].text)[0]
        words = pages[2].text.split()
        start = rng.randrange(len(words))
        answer = " ".join(words[start : start + rng.choice([1, 1, 2, 3])]).strip(".,;")
        clause = " ".join(pages[1].text.split()[: rng.randint(3, 8)])
        out.append(
            Question(
                question_id=f"s{k}",
                question=f"{s0} Then, {clause}; which {pages[2].title.split()[0]} is it?",
                label=Label(answer=answer, rubrics=[answer], gold_page_ids=gold),
                provenance=Provenance(stage="import", producer="sampled"),
            )
        )
    return out


@pytest.mark.parametrize(("top_k", "depth"), [(1, 100), (5, 3)])  # depth 3: some hops rank below it
def test_audit_rows_equal_the_plain_reference(corpus, chain_run, tmp_path, top_k, depth):
    masked = tmp_path / "masked"
    masked.mkdir()
    (masked / "walks.jsonl").write_text((chain_run / "walks.jsonl").read_text())
    run_questions(QuestionsConfig(composer="masked"), corpus, masked, progress=False)
    qs = [
        *read_jsonl(chain_run / "questions.jsonl", Question),
        *read_jsonl(masked / "questions.jsonl", Question),
        *_sampled_questions(corpus, 40, seed=top_k),
    ]
    auditor = Auditor(corpus, top_k=top_k, depth=depth)
    seen = Counter()
    for q in qs:
        gold = list(q.label.gold_page_ids)
        row = auditor.audit(q)
        want = _reference_audit(auditor, q.question, gold, q.label.answer)
        assert {k: row[k] for k in want} == want, q.question
        # the page-only shortcut (what the chain composer asks) agrees with a top-k search
        page_only = auditor.shortcut(q.question, gold[-1], "")
        assert page_only.shortcut == any(
            gold[-1] in [pid for pid, _ in auditor.retriever._ranked(t, top_k)] for _, t in pieces(q.question)
        )
        seen.update(k for k in ("shortcut", "answer_in_snippet") if row[k])
        seen.update(f"ambiguous_{h['ambiguous_alone']}" for h in row["chain"])
        seen.update(f"unique_{h['unique_given_chain']}" for h in row["chain"])
    # the fixture exercises both outcomes of every check compared above
    assert all(seen[k] for k in ("shortcut", "answer_in_snippet", "ambiguous_True", "ambiguous_False"))
    assert seen["unique_True"] and seen["unique_False"]
    assert seen["shortcut"] < len(qs) and seen["answer_in_snippet"] < len(qs)


def test_a_piece_that_recurs_across_questions_is_searched_once(corpus, chain_run, tmp_path):
    masked = tmp_path / "masked"
    masked.mkdir()
    (masked / "walks.jsonl").write_text((chain_run / "walks.jsonl").read_text())
    run_questions(QuestionsConfig(composer="masked"), corpus, masked, progress=False)
    qs = [
        *read_jsonl(masked / "questions.jsonl", Question),
        *read_jsonl(chain_run / "questions.jsonl", Question),
    ]
    auditor = Auditor(corpus)
    searched = Counter()
    hits = auditor.retriever._hits

    def counting(text, k):
        searched[(text, k)] += 1
        return hits(text, k)

    auditor.retriever._hits = counting
    rows = [auditor.audit(q) for q in qs]
    asked = Counter(t for q in qs for t in dict.fromkeys(t for _, t in pieces(q.question)))
    assert max(asked.values()) > 1  # the masked composer repeats pieces across questions
    assert max(searched.values()) == 1
    assert rows == [Auditor(corpus).audit(q) for q in qs]  # as with a fresh auditor per question


@pytest.mark.parametrize(
    "text",
    [
        "Zürich – São Paulo, Ærø; İstanbul and the ﬁne Kraków (Pößneck) are cities of the Œuvre™ kind.",
        "Théâtre des Champs-Élysées: “Le Sacre” (1913) — Nijinsky’s ballet; ΑΣΒ ΟΔΥΣΣΕΥΣ σοφός.",
        "Plain ASCII text: the U.S. band's 1994-95 tour, the A-side and a B-side of O'Neil's single.",
    ],
)
def test_snippet_prefilter_never_drops_a_snippet_that_holds_the_answer(text):
    from longtracerl.questions.audit import _may_contain
    from longtracerl.search.analysis import make_snippet

    long_text = " ".join([text] * 3 + ["filler words here"] * 20 + [text])
    words = normalize_answer(long_text).split()
    checked = 0
    for chars in (12, 25, 40, 80):
        for query in (*words[::3], "nothing matches"):
            snip = normalize_answer(make_snippet(query, long_text, chars)).split()
            for i in range(len(snip)):
                for j in range(i + 1, min(len(snip), i + 3) + 1):
                    assert _may_contain(long_text, " ".join(snip[i:j])), (query, chars, snip[i:j])
                    checked += 1
    assert checked > 100
    assert not _may_contain(long_text, "absent word")


def test_report_reuses_an_up_to_date_audit(corpus, chain_run, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "questions.jsonl").write_text((chain_run / "questions.jsonl").read_text())
    first = audit_run(corpus, run, plots=False, top_k=1)
    rows = (run / "questions.audit.jsonl").read_text()
    again = audit_run(corpus, run, plots=False, top_k=1, reuse=True)
    assert again.get("reused") and not first.get("reused")
    assert {k: v for k, v in again.items() if k != "reused"} == json.loads(json.dumps(first))
    assert (run / "questions.audit.jsonl").read_text() == rows
    assert audit_run(corpus, run, plots=False, top_k=5, reuse=True).get("reused") is None  # settings
    audit_run(corpus, run, plots=False, top_k=1)
    # another questions file (one question fewer): audited again, one row per question
    lines = (run / "questions.jsonl").read_text().splitlines(keepends=True)
    (run / "questions.jsonl").write_text("".join(lines[:-1]))
    fresh = audit_run(corpus, run, plots=False, top_k=1, reuse=True)
    assert not fresh.get("reused") and fresh["questions"] == len(lines) - 1
    assert (run / "questions.audit.jsonl").read_text() != rows
    # the report section (default settings) reuses the files an audit with them wrote
    audit_run(corpus, run, plots=False)
    stamp = (run / "questions.audit.jsonl").stat().st_mtime_ns
    out = tmp_path / "report"
    out.mkdir()
    summary, _ = audit_section(run, corpus, out, plots=True)
    assert summary["reused"] and summary["questions"] == len(lines) - 1
    assert (run / "questions.audit.jsonl").stat().st_mtime_ns == stamp
    assert all(Path(p).parent == out and Path(p).exists() for p in summary["plots"])


def test_the_audit_keeps_its_most_recently_used_searches(corpus, monkeypatch):
    from longtracerl.questions import audit as audit_mod

    monkeypatch.setattr(audit_mod, "RECENT_SEARCHES", 2)
    auditor = Auditor(corpus)
    searched = Counter()
    hits = auditor.retriever._hits

    def counting(text, k):
        searched[text] += 1
        return hits(text, k)

    auditor.retriever._hits = counting
    for text in ["From there", "a film", "From there", "a song", "From there", "a film"]:
        audit_mod._Searches(auditor, "", 5)._get(text)  # one question per piece
    # "From there" is used again and again, so it stays; "a film" was dropped by "a song"
    assert searched == {"From there": 1, "a film": 2, "a song": 1}
