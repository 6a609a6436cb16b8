"""`longtracerl questions import`: QA files -> RUN/questions.jsonl, rejects with reasons."""

from __future__ import annotations

import json

import pytest

from longtracerl.cli import main
from longtracerl.config import ConfigError
from longtracerl.questions.importers import import_questions
from longtracerl.records import Question, RecordError, RejectedItem, read_jsonl

HOTPOT = [
    {
        "_id": "h1",
        "question": "The festival founded by which violinist takes place in Port Avalon?",
        "answer": "Marta Quell",
        "type": "bridge",
        "level": "medium",
        "supporting_facts": [
            ["Harbor Lights Festival", 0],
            ["Harbor Lights Festival", 1],
            ["Marta Quell", 0],
        ],
        "context": [],
    },
    {
        "_id": "h2",
        "question": "Which is older, the Carl Nielsen Prize or the Royal Danish Academy of Music?",
        "answer": "Royal Danish Academy of Music",
        "type": "comparison",
        "level": "hard",
        "supporting_facts": [["carl nielsen  prize", 0], ["Royal Danish Academy of Music", 0]],
        "context": [],
    },
    {
        "_id": "h3",
        "question": "Where is the Lost Page museum?",
        "answer": "Nowhere",
        "supporting_facts": [["Lost Page", 0], ["Port Avalon", 0]],
        "context": [],
    },
]


def _write(path, rows, jsonl=False):
    path.write_text(
        "".join(json.dumps(r) + "\n" for r in rows) if jsonl else json.dumps(rows), encoding="utf-8"
    )
    return path


def test_hotpotqa_file_imports_with_titles_resolved(tmp_path, corpus_dir):
    src = _write(tmp_path / "hotpot.json", HOTPOT)
    run = tmp_path / "run"
    stats = import_questions(corpus_dir, run, source="hotpotqa", input=src, rubrics_include_answer=True)
    qs = list(read_jsonl(run / "questions.jsonl", Question))
    assert [q.question_id for q in qs] == ["hotpotqa-h1", "hotpotqa-h2"]
    assert qs[0].label.gold_page_ids == ["fest", "marta"]
    assert qs[0].label.rubrics == ["Harbor Lights Festival", "Marta Quell"]  # answer already a rubric
    # a title differing only in case and spaces resolves to the corpus spelling
    assert qs[1].label.gold_page_ids == ["nielsen", "academy"]
    assert qs[1].label.rubrics == ["Carl Nielsen Prize", "Royal Danish Academy of Music"]
    assert qs[1].provenance.producer == "import:hotpotqa:dev" and qs[1].provenance.source_ids == ["h2"]
    (rej,) = read_jsonl(run / "questions.rejected.jsonl", RejectedItem)
    assert rej.item_id == "hotpotqa-h3" and rej.reason == "gold_page_missing" and "Lost Page" in rej.detail
    assert (stats.read, stats.written, dict(stats.rejected)) == (3, 2, {"gold_page_missing": 1})
    summary = json.loads((run / "questions.import.json").read_text())
    assert summary["written"] == 2 and summary["rejected"] == {"gold_page_missing": 1}


def test_jsonl_source_reads_titles_ids_aliases_and_other_shapes(tmp_path, corpus_dir):
    rows = [
        {"id": "a", "question": "Q a?", "answer": "1971", "gold_titles": ["Marta Quell"], "aliases": ["71"]},
        {"question": "Q b?", "answer": "Aarhus", "gold_page_ids": ["marta", "aarhus"]},
        {  # MuSiQue shape
            "id": "c",
            "question": "Q c?",
            "answer": "1867",
            "answer_aliases": ["eighteen sixty-seven"],
            "paragraphs": [
                {"title": "Royal Danish Academy of Music", "paragraph_text": "...", "is_supporting": True},
                {"title": "Aarhus", "paragraph_text": "...", "is_supporting": False},
            ],
        },
        {
            "id": "d",
            "Prompt": "Q d?",
            "Answer": "Leeds",
            "wiki_links": ["https://en.wikipedia.org/wiki/Old_Mill_Bakery"],
        },
        {"id": "e", "question": "Q e?", "answer": "", "gold_titles": ["Aarhus"]},
        {"id": "f", "question": "Q f?", "answer": "x"},
        {"id": "g", "question": "Q g?", "answer": "x", "gold_page_ids": ["nope"]},
    ]
    src = _write(tmp_path / "qa.jsonl", rows, jsonl=True)
    run = tmp_path / "run"
    import_questions(corpus_dir, run, source="jsonl", input=src)
    qs = {q.question_id: q for q in read_jsonl(run / "questions.jsonl", Question)}
    assert list(qs) == ["jsonl-a", "jsonl-line2", "jsonl-c", "jsonl-d"]
    assert qs["jsonl-a"].label.aliases == ["71"] and qs["jsonl-a"].label.gold_page_ids == ["marta"]
    assert qs["jsonl-line2"].label.rubrics == ["Marta Quell", "Aarhus"]  # titles of the given ids
    assert qs["jsonl-c"].label.gold_page_ids == ["academy"]
    assert qs["jsonl-c"].label.aliases == ["eighteen sixty-seven"]
    assert qs["jsonl-d"].label.gold_page_ids == ["mill"] and qs["jsonl-d"].question == "Q d?"
    rej = {r.item_id: r.reason for r in read_jsonl(run / "questions.rejected.jsonl", RejectedItem)}
    assert rej == {"jsonl-e": "no_answer", "jsonl-f": "no_gold_pages", "jsonl-g": "gold_page_missing"}


def test_seeded_sample_is_stable_and_differs_by_seed(tmp_path, corpus_dir):
    rows = [{"id": str(i), "question": f"Q{i}?", "answer": "a", "gold_titles": ["Aarhus"]} for i in range(40)]
    src = _write(tmp_path / "qa.jsonl", rows, jsonl=True)

    def ids(name, seed):
        run = tmp_path / name
        import_questions(corpus_dir, run, source="jsonl", input=src, n=10, seed=seed)
        return [q.question_id for q in read_jsonl(run / "questions.jsonl", Question)]

    a, b, c = ids("a", 1), ids("b", 1), ids("c", 2)
    assert a == b and len(a) == 10 and a != c
    assert a == sorted(a, key=lambda s: int(s.split("-")[1]))  # file order kept


def test_bad_input_names_file_line_and_field(tmp_path, corpus_dir):
    src = tmp_path / "bad.jsonl"
    src.write_text('{"question": "ok?", "answer": "a", "gold_titles": ["Aarhus"]}\n{"question": [1]}\n')
    with pytest.raises(RecordError, match=r"bad.jsonl:2: field 'question'"):
        import_questions(corpus_dir, tmp_path / "run", source="jsonl", input=src)
    assert not (tmp_path / "run" / "questions.jsonl").exists()  # nothing half-written
    src.write_text('{"question": "ok?"\n')
    with pytest.raises(RecordError, match=r"bad.jsonl:1: malformed JSON"):
        import_questions(corpus_dir, tmp_path / "run", source="jsonl", input=src)
    with pytest.raises(ConfigError, match="needs --input"):
        import_questions(corpus_dir, tmp_path / "run", source="jsonl")
    with pytest.raises(ConfigError, match="dev split"):
        import_questions(corpus_dir, tmp_path / "run", source="hotpotqa", split="train")


def test_cli_import_refuses_to_overwrite_without_force(tmp_path, corpus_dir, capsys):
    src = _write(tmp_path / "hotpot.json", HOTPOT)
    args = ["questions", "import", "--source", "hotpotqa", "--input", str(src)]
    args += ["--corpus", str(corpus_dir), "--run", str(tmp_path / "run")]
    assert main(args) == 0
    assert "2 questions written" in capsys.readouterr().out
    assert main(args) != 0
    assert "pass --force" in capsys.readouterr().err
    assert main(args + ["--force", "--n", "1", "--seed", "3"]) == 0
    assert len(list(read_jsonl(tmp_path / "run" / "questions.jsonl", Question))) <= 1
