import json

import pytest

from longtracerl.records import (
    JsonlAppender,
    Label,
    Page,
    Provenance,
    Question,
    RecordError,
    TrainingRow,
    read_jsonl,
    write_jsonl,
)


def test_roundtrip_and_schema_version(tmp_path):
    p = tmp_path / "q.jsonl"
    q = Question(
        question_id="q1",
        question="Start with a city. Which river?",
        label=Label(answer="Seine", rubrics=["Paris", "Seine"], gold_page_ids=["1", "2"]),
        provenance=Provenance(stage="questions", seed=3),
    )
    assert write_jsonl(p, [q]) == 1
    line = json.loads(p.read_text())
    assert line["schema_version"] == 1
    (back,) = list(read_jsonl(p, Question))
    assert back == q


@pytest.mark.parametrize(
    "line, field, message",
    [
        ('{"id": "1", "text": "x"}', "title", "missing required field"),
        ('{"id": "1", "title": "T", "text": "x", "bogus": 1}', "bogus", "unknown field"),
        ('{"id": "1", "title": "", "text": "x"}', "title", "at least 1"),
        ("[1, 2]", None, "expected a JSON object"),
        ('{"id": "1", "title": ', None, "malformed JSON"),
    ],
)
def test_bad_lines_name_file_line_field(tmp_path, line, field, message):
    p = tmp_path / "pages.jsonl"
    good = Page(id="0", title="Ok", text="fine").model_dump_json()
    p.write_text(good + "\n\n" + line + "\n")
    with pytest.raises(RecordError) as info:
        list(read_jsonl(p, Page))
    err = info.value
    assert err.path == str(p) and err.line == 3 and err.field == field
    assert message in str(err)
    assert f"{p}:3" in str(err)


def test_non_utf8_line(tmp_path):
    p = tmp_path / "pages.jsonl"
    p.write_bytes(b'{"id": "1", "title": "caf\xe9", "text": ""}\n')
    with pytest.raises(RecordError, match="not valid UTF-8"):
        list(read_jsonl(p, Page))


def test_appender_repairs_torn_line_and_resumes(tmp_path):
    p = tmp_path / "w.jsonl"
    p.write_text('{"k": "a"}\n{"k": "b"}\n{"k": "c", "x": ')  # crash mid-write
    app = JsonlAppender(p, key="k")
    assert app.done == {"a", "b"}
    with app:
        app.write({"k": "c"})
    assert [json.loads(x)["k"] for x in p.read_text().splitlines()] == ["a", "b", "c"]


def test_write_jsonl_is_atomic_on_failure(tmp_path):
    p = tmp_path / "rows.jsonl"
    write_jsonl(p, [{"a": 1}])

    def boom():
        yield {"a": 2}
        raise OSError("No space left on device")

    with pytest.raises(OSError):
        write_jsonl(p, boom())
    assert p.read_text() == '{"a": 1}\n'  # old content kept whole
    assert list(tmp_path.iterdir()) == [p]  # no temp file left behind


def test_training_row_released_shape():
    row = TrainingRow.model_validate(
        {
            "source": "longqa",
            "input_messages": [
                {"role": "user", "content": "Answer only using the provided documents.\n\nDocuments: ..."}
            ],
            "label": "1912",
            "metadata": {
                "extra_reward_info": {"question": "q?", "rubrics": ["A", "B"], "dataset_name": "longqa"},
                "provenance": {"seed": 1},
            },
        }
    )
    assert row.metadata.extra_reward_info.rubrics == ["A", "B"]
    assert row.model_dump()["metadata"]["provenance"] == {"seed": 1}
