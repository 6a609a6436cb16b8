import json

import pytest

from longtracerl.config import ConfigError
from longtracerl.records import RecordError
from longtracerl.train.config import smoke_rows_path
from longtracerl.train.data import CUT_MARKER, build_records, load_rows


def _row(content, label="Paris", rubrics=("France",), question="Capital of France?"):
    return {
        "source": "longqa",
        "input_messages": [{"role": "user", "content": content}],
        "label": label,
        "metadata": {
            "extra_reward_info": {"question": question, "rubrics": list(rubrics), "dataset_name": "longqa"}
        },
    }


def _write(tmp_path, rows, name="rows.jsonl"):
    p = tmp_path / name
    p.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return p


def _render_len(tok, messages):
    return len(
        tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False)
    )


def test_truncate_middle_keeps_instruction_and_question(tmp_path, smol_tok):
    docs = "\n\n".join(
        f'<section title="D{i}">\nword{i} ' + "filler text " * 40 + "\n</section>" for i in range(20)
    )
    content = f"Answer only using the provided documents.\n\nDocuments:\n\n{docs}\n\nQuestion: Who wrote it?"
    rows = load_rows(_write(tmp_path, [_row(content), _row("Documents:\n\nshort\n\nQuestion: ok?")]))
    records, stats = build_records(rows, smol_tok, 300, "truncate-middle")
    assert stats.rows == 2 and stats.kept == 2 and stats.truncated == 1 and stats.dropped == 0
    cut = records[0]["prompt"][0]["content"]
    assert cut.startswith("Answer only using the provided documents.\n\nDocuments:")
    assert cut.endswith("Question: Who wrote it?")
    assert CUT_MARKER in cut
    assert "word0" in cut and "word19" in cut  # both ends of the documents survive
    assert "word10" not in cut  # the middle went
    n = _render_len(smol_tok, records[0]["prompt"])
    assert n <= 300 and n == records[0]["prompt_tokens"]
    assert stats.tokens_removed == stats.longest_before - n
    # the short row is untouched
    assert records[1]["prompt"][0]["content"] == "Documents:\n\nshort\n\nQuestion: ok?"
    assert records[0]["rubrics"] == ["France"] and records[0]["question"] == "Capital of France?"


def test_drop_and_error(tmp_path, smol_tok):
    long = "Documents:\n\n" + "alpha beta " * 400 + "\n\nQuestion: q?"
    path = _write(tmp_path, [_row("Documents:\n\nx\n\nQuestion: q?"), _row(long)])
    rows = load_rows(path)
    records, stats = build_records(rows, smol_tok, 200, "drop", path=path)
    assert stats.kept == 1 and stats.dropped == 1 and stats.dropped_lines == [2]
    with pytest.raises(ConfigError, match=r"rows.jsonl:2: .*data.max_prompt_tokens=200.*Fix"):
        build_records(rows, smol_tok, 200, "error", path=path)
    with pytest.raises(ConfigError, match="every row"):
        build_records(rows[1:], smol_tok, 200, "drop", path=path)


def test_bound_too_small_for_question(tmp_path, smol_tok):
    rows = load_rows(
        _write(tmp_path, [_row("Documents:\n\n" + "x " * 300 + "\n\nQuestion: " + "why " * 100)])
    )
    with pytest.raises(ConfigError, match="without its documents"):
        build_records(rows, smol_tok, 50, "truncate-middle")


def test_bad_rows_name_file_line_field(tmp_path):
    bad = _row("c")
    del bad["metadata"]["extra_reward_info"]["rubrics"]
    p = _write(tmp_path, [_row("c"), bad])
    with pytest.raises(RecordError) as err:
        load_rows(p)
    msg = str(err.value)
    assert "rows.jsonl" in msg and ":2" in msg and "rubrics" in msg
    p2 = _write(tmp_path, [_row("c"), "{not json"], name="b.jsonl")
    with pytest.raises(RecordError, match=r"b.jsonl.*2"):
        load_rows(p2)
    with pytest.raises(FileNotFoundError, match="nope.jsonl"):
        load_rows(tmp_path / "nope.jsonl")


def test_shipped_smoke_rows_are_released_format():
    rows = load_rows(smoke_rows_path())
    assert len(rows) == 8
    assert all(r.metadata.extra_reward_info.rubrics for _, r in rows)
