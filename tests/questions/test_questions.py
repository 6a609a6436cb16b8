"""Questions stage: masked composer properties, answer types, rejections, LLM composer, resume, CLI."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from longtracerl.cli import main
from longtracerl.corpus.store import PageStore
from longtracerl.llm.base import LLMError
from longtracerl.questions import QuestionsConfig, parse_question, run_questions
from longtracerl.questions.grammar import ask_for
from longtracerl.questions.llm import LLMComposer
from longtracerl.questions.masked import MaskedComposer, Masker, _Entity
from longtracerl.questions.validate import QuestionRejected, name_leak
from longtracerl.records import Page, Provenance, Question, RejectedItem, Walk, read_jsonl, write_jsonl
from longtracerl.text import normalize_answer, normalize_rubric
from longtracerl.textfacts import (
    classify_role,
    find_answers,
    name_forms,
    split_sentences,
    strip_qualifier,
)
from longtracerl.walks import WalksConfig, run_walks
from tests.helpers.llm_servers import StubChatModel
from tests.helpers.walks_corpus import build_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return build_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def many_walks(corpus, tmp_path_factory) -> Path:
    """Walks of 3 to 6 pages from several seeds, all in one run folder."""
    run = tmp_path_factory.mktemp("run")
    walks: list[Walk] = []
    for seed, hops in [(0, 4), (1, 5), (2, 6), (3, 3), (4, 5)]:
        sub = run / f"s{seed}"
        run_walks(WalksConfig(num_walks=30, hops=hops, seed=seed), corpus, sub, progress=False)
        walks += list(read_jsonl(sub / "walks.jsonl", Walk))
    write_jsonl(run / "walks.jsonl", walks)
    return run


def _walk(ids: list[str], store: PageStore, wid: str = "w1") -> Walk:
    return Walk(
        walk_id=wid,
        page_ids=ids,
        titles=[store.title_of(i) for i in ids] if all(i in store for i in ids) else ids,
        provenance=Provenance(stage="walks", seed=0),
    )


def _questions(run: Path) -> list[Question]:
    return list(read_jsonl(run / "questions.jsonl", Question))


# --------------------------------------------------------------------------- masked: properties


def test_masked_questions_hide_every_path_name_and_the_answer(corpus, many_walks):
    stats = run_questions(QuestionsConfig(composer="masked"), corpus, many_walks, progress=False)
    store = PageStore(corpus)
    walks = {w.walk_id: w for w in read_jsonl(many_walks / "walks.jsonl", Walk)}
    questions = _questions(many_walks)
    assert len(questions) >= 120 and stats.written == len(questions)
    for q in questions:
        walk = walks[q.walk_id]
        nq = f" {normalize_rubric(q.question)} "
        for title in walk.titles:  # the whole walk, not only the pages the question kept
            for form in {title, strip_qualifier(title)}:
                assert f" {normalize_rubric(form)} " not in nq, (title, q.question)
            page = store.open(walk.page_ids[walk.titles.index(title)])
            for surname in name_forms(title, classify_role(split_sentences(page.text)[0])).partial:
                assert surname not in q.question, (surname, q.question)
        assert f" {normalize_answer(q.label.answer)} " not in f" {normalize_answer(q.question)} "
        assert len(q.question) <= 800
        # the answer is taken from the last gold page, the gold pages are a suffix of the walk
        gold = q.label.gold_page_ids
        assert walk.page_ids[-len(gold) :] == gold and len(gold) >= 3 or gold == walk.page_ids
        assert q.label.answer in store.open(gold[-1]).text
        assert q.label.rubrics == list(dict.fromkeys(strip_qualifier(store.title_of(g)) for g in gold))
        assert q.provenance.producer == "masked (non-LLM)" and q.provenance.source_ids == [q.walk_id]


def test_masked_questions_follow_the_documented_grammar(corpus, many_walks):
    run_questions(QuestionsConfig(composer="masked"), corpus, many_walks, progress=False)
    store = PageStore(corpus)
    kinds = Counter()
    for q in _questions(many_walks):
        parsed = parse_question(q.question)
        gold = q.label.gold_page_ids
        assert len(parsed.hops) == len(gold)
        assert parsed.hops[0].lead == "Start with" and parsed.hops[-1].lead == "Finally,"
        assert all(h.lead == "Then" for h in parsed.hops[2:-1])
        assert parsed.final.clause.count("___") == 1
        assert all("___" not in h.clause for h in parsed.hops[:-1])
        # the answer type asked for matches the answer
        kinds[parsed.answer_type] += 1
        if parsed.answer_type == "year":
            assert q.label.answer.isdigit() and len(q.label.answer) == 4
        elif parsed.answer_type == "number":
            assert q.label.answer.replace(",", "").replace(".", "").isdigit()
        else:
            pid = store.find_title(q.label.answer)
            assert pid is not None and pid not in gold
            role = classify_role(split_sentences(store.open(pid).text)[0])
            assert parsed.ask == ask_for("entity", role)
        # filling the blank gives back a sentence of the last page (apart from masks and cuts)
        rest = parsed.final.clause.split("___", 1)[1]
        for role_word in (" a ", " an ", " this "):
            rest = rest.split(role_word)[0]
        filled = normalize_rubric(q.label.answer + rest[:20])
        assert filled in normalize_rubric(store.open(gold[-1]).text), (filled, q.question)
    assert kinds["year"] > 0


def test_answer_kind_preference_is_configurable(corpus, many_walks, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "walks.jsonl").write_text((many_walks / "walks.jsonl").read_text())
    run_questions(QuestionsConfig(composer="masked", answer_kinds=["number"]), corpus, run, progress=False)
    qs = _questions(run)
    assert qs and all(parse_question(q.question).answer_type == "number" for q in qs)


# --------------------------------------------------------------------------- answer types


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Its population was 4,311 at the 2010 census.", [("year", "2010"), ("number", "4,311")]),
        ("He was born on July 16, 1966 in Denver.", [("year", "1966")]),
        ("The 1990s saw 12 albums.", [("number", "12")]),
        ("It earned 3.5 million dollars in 2001.", [("year", "2001"), ("number", "3.5")]),
    ],
)
def test_find_answers_years_and_numbers(sentence, expected):
    assert [(a.kind, a.text) for a in find_answers(sentence)] == expected
    for a in find_answers(sentence):
        assert sentence[a.start : a.end] == a.text


def test_find_answers_entities_need_a_corpus_page():
    lookup = {"Tim Burton": "p1", "Johnny Depp": "p2"}.get
    found = find_answers(
        "Ed Wood is a film directed by Tim Burton and starring Johnny Depp and Joe Nobody.", lookup
    )
    assert [(a.kind, a.text, a.page_id) for a in found] == [
        ("entity", "Tim Burton", "p1"),
        ("entity", "Johnny Depp", "p2"),
    ]


@pytest.mark.parametrize(
    ("first_sentence", "role"),
    [
        ("Scott Derrickson (born July 16, 1966) is an American director.", "person"),
        ("Edward Davis Wood Jr. (October 10, 1924 – December 10, 1978) was an American filmmaker.", "person"),
        ("Woodson is a census-designated place (CDP) in Pulaski County, Arkansas.", "place"),
        ("Sinister is a 2012 supernatural horror film directed by Scott Derrickson.", "film"),
        ("Chicago is a 2002 American musical crime comedy-drama film.", "film"),
        ("The Smashing Pumpkins are an American alternative rock band from Chicago.", "band"),
        ("Union is the eponymous sixth studio album by American rock band Kiss.", "recording"),
        ("Blue is the colour between violet and green.", "topic"),
    ],
)
def test_classify_role(first_sentence, role):
    assert classify_role(first_sentence) == role


def test_ask_words_per_type():
    assert ask_for("year") == "What year" and ask_for("number") == "What number"
    assert ask_for("entity", "person") == "Which person" and ask_for("entity", "place") == "Which place"
    assert ask_for("entity", "topic") == "What name"
    q = "Start with a film: this film is a ___ horror film. Which person fills the blank?"
    assert parse_question(q).answer_type == "person"
    with pytest.raises(ValueError):
        parse_question("Who directed Sinister?")


def test_masking_takes_given_names_and_surnames(tmp_path):
    pages = [
        Page(
            id="a",
            title="Sinister (film)",
            text="Sinister is a 2012 supernatural horror film directed by Scott Derrickson.",
        ),
        Page(
            id="b",
            title="Scott Derrickson",
            text='Scott Edward "Scotty" Derrickson (born July 16, 1966) is an American director. Derrickson lives in Los Angeles.',
        ),
        Page(
            id="c",
            title="Los Angeles",
            text="Los Angeles is a city in California. It had 3,976,322 residents in 2016.",
        ),
    ]
    with PageStore.create(tmp_path) as w:
        for p in pages:
            w.add(p)
    store = PageStore(tmp_path)
    q = MaskedComposer(QuestionsConfig(composer="masked", min_hops=2), store).compose(_walk(["a", "b", "c"], store), pages)
    for name in ("Sinister", "Scott", "Scotty", "Derrickson", "Los Angeles", "Edward"):
        assert name not in q.question, q.question
    assert "this person (born July 16, 1966) is an American director" in q.question
    assert q.label.answer == "2016" and q.label.rubrics == ["Sinister", "Scott Derrickson", "Los Angeles"]


# --------------------------------------------------------------------------- rejections


def test_rejections_are_counted_with_reasons(tmp_path):
    pages = [
        Page(
            id="a",
            title="Harbor Lights",
            text="Harbor Lights is a 1951 drama film shot in Carrow Bay by Ada Vance.",
        ),
        Page(
            id="b", title="Carrow Bay", text="Carrow Bay is a fishing town in Cornwall with 3,120 residents."
        ),
        Page(id="c", title="Quiet Note", text="Quiet Note is a short poem about the sea and the wind."),
        Page(id="d", title="Band", text="A band is a group of musicians who perform music in 1990."),
        Page(
            id="e",
            title="Grey Harbor",
            text="Grey Harbor is a drama film set in 1951 near a busy fishing town.",
        ),
    ]
    with PageStore.create(tmp_path) as w:
        for p in pages:
            w.add(p)
    store = PageStore(tmp_path)
    run = tmp_path / "run"
    walks = [
        _walk(["a", "b"], store, "ok"),
        _walk(["a", "c"], store, "no-answer"),  # the last page has no year, number or corpus entity
        _walk(["a", "missing-page"], store, "missing"),
        _walk(["b", "d"], store, "leak"),  # the title 'Band' is also a role word: its name cannot be hidden
        _walk(["a", "e"], store, "answer-dup"),  # the only answer, 1951, is also in the first clause
    ]
    write_jsonl(run / "walks.jsonl", walks)
    stats = run_questions(QuestionsConfig(composer="masked", min_hops=2), tmp_path, run, progress=False)
    rejected = {r.item_id: r for r in read_jsonl(run / "questions.rejected.jsonl", RejectedItem)}
    assert [q.walk_id for q in _questions(run)] == ["ok"]
    assert rejected["no-answer"].reason == "no_answer"
    assert rejected["missing"].reason == "page_missing"
    assert rejected["leak"].reason == "name_leak"
    assert rejected["answer-dup"].reason == "answer_in_question"
    assert stats.rejected == Counter(r.reason for r in rejected.values())
    # a re-run skips every handled walk and writes nothing twice
    again = run_questions(QuestionsConfig(composer="masked", min_hops=2), tmp_path, run, progress=False)
    assert again.new == 0 and again.skipped == 5 and len(_questions(run)) == 1


def test_too_long_chain_is_cut_to_a_suffix(corpus, many_walks):
    store = PageStore(corpus)
    walk = next(w for w in read_jsonl(many_walks / "walks.jsonl", Walk) if len(w.page_ids) >= 5)
    pages = [store.open(p) for p in walk.page_ids]
    cfg = QuestionsConfig(composer="masked", max_chars=330, min_hops=2, clause_max_words=12, clause_min_words=12)
    try:
        q = MaskedComposer(cfg, store).compose(walk, pages)
    except QuestionRejected as err:
        assert err.reason in ("too_long", "answer_in_question", "no_answer")
    else:
        assert len(q.question) <= 330
        assert 2 <= len(q.label.gold_page_ids) < len(walk.page_ids)
        assert q.label.gold_page_ids == walk.page_ids[-len(q.label.gold_page_ids) :]
    with pytest.raises(QuestionRejected) as err:
        MaskedComposer(QuestionsConfig(composer="masked", max_chars=100, min_hops=5), store).compose(walk, pages)
    assert err.value.reason in ("too_long", "answer_in_question")


def test_max_questions_and_resume(corpus, many_walks, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "walks.jsonl").write_text((many_walks / "walks.jsonl").read_text())
    first = run_questions(QuestionsConfig(composer="masked", max_questions=5), corpus, run, progress=False)
    assert first.written == 5
    second = run_questions(QuestionsConfig(composer="masked", max_questions=12), corpus, run, progress=False)
    ids = [q.question_id for q in _questions(run)]
    assert len(ids) == len(set(ids)) == 12 and second.new == 7


# --------------------------------------------------------------------------- LLM composer


PAGES = [
    Page(
        id="a", title="Sinister (film)", text="Sinister is a 2012 horror film directed by Scott Derrickson."
    ),
    Page(
        id="b",
        title="Scott Derrickson",
        text="Scott Derrickson (born July 16, 1966) is an American director.",
    ),
]
WALK = Walk(
    walk_id="w9",
    page_ids=["a", "b"],
    titles=["Sinister (film)", "Scott Derrickson"],
    provenance=Provenance(stage="walks", seed=4),
)
GOOD = json.dumps(
    {
        "question": "Start with a 2012 horror film. Move to its director. In what year was he born?",
        "answer": "1966",
        "rubrics": ["Sinister", "Scott Derrickson"],
    }
)


def test_llm_composer_valid_json_first_time():
    model = StubChatModel([f"```json\n{GOOD}\n```"])
    q = LLMComposer(QuestionsConfig(composer="llm"), model).compose(WALK, PAGES)
    assert q.label.answer == "1966" and q.label.rubrics == ["Sinister", "Scott Derrickson"]
    assert q.label.gold_page_ids == ["a", "b"] and q.provenance.producer == "llm:stub"
    prompt = model.calls[0][0]["content"]
    assert "Sinister (film)" in prompt and "JSON" in prompt and "800" in prompt


def test_llm_composer_retries_garbage_then_accepts():
    model = StubChatModel(["I cannot do that.", GOOD])
    composer = LLMComposer(QuestionsConfig(composer="llm"), model)
    q = composer.compose(WALK, PAGES)
    assert q.label.answer == "1966" and composer.attempts == 2
    retry = model.calls[1]
    assert retry[-2]["role"] == "assistant" and "not usable" in retry[-1]["content"]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (
            {
                "question": "Which director born in 1966 made a 2012 film?",
                "answer": "1966",
                "rubrics": ["Sinister"],
            },
            "answer_in_question",
        ),
        (
            {"question": "Who directed Sinister?", "answer": "Scott Derrickson", "rubrics": ["Sinister"]},
            "name_leak",
        ),
        (
            {
                "question": "A 2012 film's director: birth year?",
                "answer": "1966",
                "rubrics": ["Stephen King"],
            },
            "rubric_not_in_pages",
        ),
        ({"question": "x" * 900, "answer": "1966", "rubrics": ["Sinister"]}, "too_long"),
        (
            {"question": "A 2012 film's director: birth year?", "answer": "", "rubrics": ["Sinister"]},
            "bad_field",
        ),
        ({"question": "A 2012 film's director: birth year?", "answer": "1966", "rubrics": []}, "bad_field"),
    ],
)
def test_llm_composer_rejects_invalid_replies_after_bounded_retries(reply, reason):
    model = StubChatModel([json.dumps(reply)] * 3)
    composer = LLMComposer(QuestionsConfig(composer="llm", llm_max_attempts=3), model)
    with pytest.raises(QuestionRejected) as err:
        composer.compose(WALK, PAGES)
    assert err.value.reason == reason and composer.attempts == 3 and not model.replies


def test_llm_composer_errors_then_valid_and_stage_counts(corpus, tmp_path):
    model = StubChatModel([LLMError("HTTP 503"), "{not json", GOOD])
    composer = LLMComposer(QuestionsConfig(composer="llm"), model)
    with pytest.raises(LLMError):  # a failed call is no attempt: the stage retries the walk
        composer.compose(WALK, PAGES)
    assert composer.compose(WALK, PAGES).label.answer == "1966"
    # through the stage: a walk whose every attempt fails is rejected with the last reason
    with PageStore.create(tmp_path / "c") as w:
        for p in PAGES:
            w.add(p)
    run = tmp_path / "run"
    write_jsonl(run / "walks.jsonl", [WALK, WALK.model_copy(update={"walk_id": "w10"})])
    stub = StubChatModel([GOOD, "garbage", "garbage", "garbage"])
    stats = run_questions(
        QuestionsConfig(composer="llm"), tmp_path / "c", run, chat_model=stub, progress=False
    )
    assert stats.written == 1 and stats.rejected == Counter({"bad_json": 1})
    (rejected,) = read_jsonl(run / "questions.rejected.jsonl", RejectedItem)
    assert rejected.reply == "garbage"  # the evidence is kept beside the reason


# --------------------------------------------------------------------------- CLI


def test_cli_walks_then_questions(corpus, tmp_path, capsys):
    run = tmp_path / "run"
    assert (
        main(
            [
                "walks",
                "--corpus",
                str(corpus),
                "--out",
                str(run),
                "--num-walks",
                "8",
                "--hops",
                "4",
                "--no-progress",
            ]
        )
        == 0
    )
    assert (
        main(
            ["questions", "--corpus", str(corpus), "--run", str(run), "--max-questions", "5", "--composer", "masked", "--no-progress"]
        )
        == 0
    )
    assert "questions: 5 in file" in capsys.readouterr().out
    assert len(_questions(run)) == 5
    assert (
        main(["questions", "--corpus", str(corpus), "--run", str(tmp_path / "nowhere"), "--no-progress"]) == 2
    )


def test_answer_kind_mix_is_deterministic_per_walk(corpus):
    store = PageStore(corpus)
    composer = MaskedComposer(QuestionsConfig(composer="masked"), store)
    firsts = Counter(composer.kind_order(f"w{i}")[0] for i in range(2000))
    assert abs(firsts["year"] / 2000 - 0.5) < 0.05 and abs(firsts["entity"] / 2000 - 0.3) < 0.05
    assert composer.kind_order("w7") == composer.kind_order("w7")
    assert sorted(composer.kind_order("w7")) == ["entity", "number", "year"]
    plain = MaskedComposer(QuestionsConfig(composer="masked", answer_kind_weights=None), store)
    assert {tuple(plain.kind_order(f"w{i}")) for i in range(50)} == {("year", "entity", "number")}


def test_sibling_pages_with_the_same_first_sentence_get_distinct_clauses(tmp_path):
    first = "is a species of flowering plant in the squash family native to the desert of Sonora."
    pages = [
        Page(
            id="a",
            title="Cucurbita alpha",
            text=f"Cucurbita alpha {first} It grows on dry rocky slopes near streams.",
        ),
        Page(
            id="b",
            title="Cucurbita beta",
            text=f"Cucurbita beta {first} Its fruit is eaten by coyotes and javelinas.",
        ),
        Page(id="c", title="Cucurbita gamma", text=f"Cucurbita gamma {first}"),
        Page(
            id="d",
            title="Cucurbita delta",
            text="Cucurbita delta was first described by Sereno Watson in 1876.",
        ),
    ]
    with PageStore.create(tmp_path) as w:
        for p in pages:
            w.add(p)
    store = PageStore(tmp_path)
    composer = MaskedComposer(QuestionsConfig(composer="masked", min_hops=2), store)
    q = composer.compose(_walk(["a", "b", "d"], store), [pages[0], pages[1], pages[3]])
    hops = parse_question(q.question).hops
    assert "squash family" in hops[0].clause and "coyotes" in hops[1].clause
    with pytest.raises(QuestionRejected) as err:
        composer.compose(_walk(["a", "c", "d"], store), [pages[0], pages[2], pages[3]])
    assert err.value.reason == "hop_not_describable"


# --------------------------------------------------------------------------- masking property

_TITLES = [
    "Scott Derrickson",
    "Sinister (film)",
    "Woodson, Arkansas",
    "The Smashing Pumpkins",
    "American Dad!",
    "Los Angeles",
    "Ed Wood Jr.",
    "Kim Tae-yeon (painter)",
]
_WORDS = [
    "the",
    "film",
    "was",
    "born",
    "in",
    "1966",
    "directed",
    "by",
    "and",
    "city",
    "band",
    "album",
    ",",
    "(",
    ")",
]


def _case(name: str, how: int) -> str:
    return [name, name.lower(), name.upper(), name.title()][how]


@settings(max_examples=150, deadline=None)
@given(
    titles=st.lists(st.sampled_from(_TITLES), min_size=2, max_size=5, unique=True),
    pieces=st.lists(st.tuples(st.integers(0, 20), st.integers(0, 3)), min_size=3, max_size=25),
)
def test_masking_leaves_no_full_path_name_in_any_case(titles, pieces):
    roles = {"Scott Derrickson": "person", "Ed Wood Jr.": "person", "Kim Tae-yeon (painter)": "person"}
    pages = [Page(id=str(i), title=t, text="x") for i, t in enumerate(titles)]
    ents = [
        _Entity(p, roles.get(p.title, "topic"), name_forms(p.title, roles.get(p.title, "topic")), [])
        for p in pages
    ]
    masker = Masker(ents)
    names = [strip_qualifier(t).rstrip("!") for t in titles]
    words = []
    for k, how in pieces:  # a text of filler words with path names in any letter case
        words.append(_case(names[k % len(names)], how) if k % 3 == 0 else _WORDS[k % len(_WORDS)])
    text = " ".join(words)
    masked = masker.mask(text, own=0)
    assert name_leak(masked, titles) is None, (text, masked)


def test_a_bad_walks_line_names_file_and_line_and_keeps_earlier_questions(corpus, many_walks, tmp_path):
    from longtracerl.records import RecordError

    run = tmp_path / "run"
    run.mkdir()
    lines = (many_walks / "walks.jsonl").read_text().splitlines()
    bad = json.loads(lines[1])
    del bad["page_ids"]
    (run / "walks.jsonl").write_text("\n".join([lines[0], json.dumps(bad), lines[2]]) + "\n")
    with pytest.raises(RecordError) as err:
        run_questions(QuestionsConfig(composer="masked"), corpus, run, progress=False)
    assert "walks.jsonl:2" in str(err.value) and "page_ids" in str(err.value)
    assert len(_questions(run)) == 1
    assert main(["questions", "--corpus", str(corpus), "--run", str(run), "--no-progress"]) == 2


def test_a_name_shared_by_two_path_pages_is_this_on_its_own_page(tmp_path):
    pages = [
        Page(
            id="a",
            title="Kim Tae-yeon",
            text="Kim Tae-yeon (born March 9, 1989) is a South Korean singer and actress.",
        ),
        Page(
            id="b",
            title="Kim Tae-yeon (painter)",
            text="Kim Tae-yeon (born 27 August 1956) is a South Korean painter of landscapes.",
        ),
        Page(
            id="c", title="Gwangju", text="Gwangju is a city in South Korea with 1,490,092 residents in 2017."
        ),
    ]
    with PageStore.create(tmp_path) as w:
        for p in pages:
            w.add(p)
    store = PageStore(tmp_path)
    q = MaskedComposer(QuestionsConfig(composer="masked", min_hops=2), store).compose(_walk(["a", "b", "c"], store), pages)
    hops = parse_question(q.question).hops
    assert hops[0].clause.startswith("this person (born March 9, 1989)")
    assert hops[1].clause.startswith("this person (born 27 August 1956)")


def test_cli_reads_one_yaml_file_with_both_sections(corpus, tmp_path, capsys):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("walks:\n  hops: 4\n  num_walks: 5\n  seed: 9\nquestions:\n  composer: masked\n  max_questions: 2\n")
    run = tmp_path / "run"
    assert (
        main(["walks", "--corpus", str(corpus), "--out", str(run), "--config", str(cfg), "--no-progress"])
        == 0
    )
    walks = list(read_jsonl(run / "walks.jsonl", Walk))
    assert len(walks) == 5 and all(len(w.page_ids) <= 4 for w in walks) and walks[0].provenance.seed == 9
    assert (
        main(["questions", "--corpus", str(corpus), "--run", str(run), "--config", str(cfg), "--no-progress"])
        == 0
    )
    assert len(_questions(run)) == 2
