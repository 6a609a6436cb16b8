"""Each loader on small fixtures in the real formats, and every bad-input case."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from longtracerl.corpus.loaders import (
    LOADERS,
    LoadContext,
    kilt_cut_index,
    load_hotpotqa,
    load_jsonl,
    load_kilt,
    load_wiki_summaries,
    title_page_id,
)
from longtracerl.records import RecordError, RejectedItem
from tests.helpers.corpus_inputs import kilt_records, write_lines


def run(loader, path: Path, **kw) -> tuple[list, LoadContext, list[RejectedItem]]:
    skipped: list[RejectedItem] = []
    ctx = LoadContext(Path(path), on_skip=skipped.append, **kw)
    pages = [x.page for x in loader(ctx)]
    return pages, ctx, skipped


# --------------------------------------------------------------------------- kilt


def test_kilt_cut_anchors_and_links(kilt_file: Path) -> None:
    pages, ctx, skipped = run(load_kilt, kilt_file)
    by_id = {p.id: p for p in pages}
    assert list(by_id) == ["1", "2", "3"]
    alpha = by_id["1"]
    assert alpha.title == "Alpha Centauri"
    # title paragraph dropped, section heading rendered as its own "Name:" line, cut before "See also"
    assert (
        alpha.text
        == "Alpha Centauri is near Beta Pictoris and Gamma Draconis.\nHistory:\nIt was catalogued with Delta Scuti."
    )
    assert "Epsilon" not in alpha.text and "reference" not in alpha.text
    # anchors after the cut dropped; an anchor without id keeps its title
    assert alpha.links == ["2", "Gamma Draconis", "4"]
    beta = by_id["2"]
    assert beta.text == "Beta Pictoris is a star; see Alpha Centauri."
    assert beta.links == ["1"]  # the anchor under the plain "External links" heading is dropped
    assert by_id["3"].links == [] and by_id["3"].text == "Gamma Draconis is a star in Draco."
    assert ctx.notes["anchors_dropped_cut"] == 3
    assert ctx.notes["pages_without_anchors"] == 1  # Gamma (Delta, with [], is skipped: empty text)
    assert ctx.skipped == {"empty_text": 1}
    assert skipped[0].item_id == "4" and skipped[0].reason == "empty_text"


def test_kilt_gzip(tmp_path: Path) -> None:
    path = tmp_path / "kilt.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for rec in kilt_records():
            fh.write(json.dumps(rec) + "\n")
    pages, _, _ = run(load_kilt, path)
    assert [p.id for p in pages] == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("paragraphs", "cut"),
    [
        (["T", "a", "Section::::Early life.", "b", "Section::::Further reading.", "c"], 4),
        (["T", "a", "Section::::Works.:Bibliography.", "c"], 2),
        (["T", "a", "See also", "c"], 2),
        (["T", "a", "### Notes", "c"], 2),
        (["T", "a", "References:", "c"], 2),
        (["T", "The notes of the references were long; see also the bibliography for more.", "c"], 3),
        (["T", "a", "b"], 3),
    ],
)
def test_kilt_cut_index(paragraphs: list[str], cut: int) -> None:
    assert kilt_cut_index(paragraphs) == cut


def test_kilt_max_chars_caps_text_and_later_anchors(tmp_path: Path) -> None:
    rec = {
        "wikipedia_id": "9",
        "wikipedia_title": "Long",
        "text": ["Long\n", "x" * 30 + "\n", "Second paragraph with a link.\n"],
        "anchors": [
            {"paragraph_id": 1, "start": 0, "end": 1, "text": "x", "wikipedia_id": "1"},
            {"paragraph_id": 2, "start": 0, "end": 6, "text": "Second", "wikipedia_id": "2"},
        ],
    }
    path = write_lines(tmp_path / "k.jsonl", [rec])
    pages, ctx, _ = run(load_kilt, path, max_chars=20)
    assert pages[0].text == "x" * 20
    assert pages[0].links == ["1"]
    assert ctx.notes["pages_truncated"] == 1 and ctx.notes["anchors_dropped_cap"] == 1


# --------------------------------------------------------------------------- hotpotqa


def test_hotpotqa_first_title_wins(hotpot_file: Path) -> None:
    pages, ctx, skipped = run(load_hotpotqa, hotpot_file)
    assert [p.id for p in pages] == ["Ed_Wood_(film)", "Tim_Burton", "Johnny_Depp"]
    assert pages[0].text == "Ed Wood is a 1994 film by Tim Burton. It stars Johnny Depp."
    assert pages[1].text == "Tim Burton is a director. He made Ed Wood."  # first occurrence kept
    assert all(p.links == [] for p in pages)
    assert ctx.skipped == {"duplicate_title": 1, "empty_text": 1}
    assert {s.reason for s in skipped} == {"duplicate_title", "empty_text"}


def test_title_page_id_is_stable() -> None:
    assert title_page_id("Ed Wood (film)") == "Ed_Wood_(film)"
    assert title_page_id(" Caf\u0065\u0301 ") == "Caf\u00e9"  # NFC


def test_title_id_collision_gets_hash_suffix(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    path.write_text(json.dumps([{"context": [["A B", ["one"]], ["A_B", ["two"]]]}]))
    pages, _, _ = run(load_hotpotqa, path)
    assert pages[0].id == "A_B" and pages[1].id.startswith("A_B~") and len(pages[1].id) == 12


def test_hotpotqa_wrong_type_names_json_position(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    path.write_text(json.dumps([{"context": [["Ok", ["Fine."]]]}, {"context": [["Bad", "not a list"]]}]))
    with pytest.raises(RecordError) as err:
        run(load_hotpotqa, path)
    assert (err.value.path, err.value.line, err.value.field) == (str(path), None, "[1].context[0][1]")
    pages, ctx, skipped = run(load_hotpotqa, path, skip_bad=True)
    assert [p.title for p in pages] == ["Ok"] and ctx.skipped == {"bad_type": 1}
    assert "[1].context[0][1]" in skipped[0].detail


def test_hotpotqa_malformed_document_names_line(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    path.write_text('[\n {"context": []},\n {"context": [}\n]\n')
    with pytest.raises(RecordError) as err:
        run(load_hotpotqa, path, skip_bad=True)  # a whole-file document cannot be skipped past
    assert err.value.line == 3 and "malformed JSON" in str(err.value)


def test_hotpotqa_non_utf8_names_line(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    path.write_bytes(b'[\n{"context": [["T\xff", ["x"]]]}\n]')
    with pytest.raises(RecordError) as err:
        run(load_hotpotqa, path)
    assert err.value.line == 2 and "UTF-8" in err.value.message


# --------------------------------------------------------------------------- wiki summaries


def test_wiki_summaries(summaries_file: Path) -> None:
    pages, ctx, _ = run(load_wiki_summaries, summaries_file)
    assert [(p.id, p.title) for p in pages] == [
        ("Alan_Turing", "Alan Turing"),
        ("Turing_machine", "Turing machine"),
    ]
    assert pages[1].text.startswith("A Turing machine is")
    assert ctx.skipped == {"empty_text": 1}


def test_wiki_summaries_wrong_type(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"A": {"title": "A page", "extract": 3}}))
    with pytest.raises(RecordError) as err:
        run(load_wiki_summaries, path)
    assert err.value.field == '["A"].extract'


# --------------------------------------------------------------------------- generic jsonl


def test_jsonl_basic(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "p.jsonl",
        [
            {"id": "a", "title": "Alpha", "text": " Alpha text. ", "links": ["b", "Beta", "b"]},
            "",  # blank lines are ignored
            {"id": 7, "title": "Seven", "text": "Number seven.", "url": "ignored extra key"},
        ],
    )
    pages, _, _ = run(load_jsonl, path)
    assert [(p.id, p.text, p.links) for p in pages] == [
        ("a", "Alpha text.", ["b", "Beta"]),
        ("7", "Number seven.", []),
    ]


GOOD = {"id": "ok", "title": "Fine", "text": "Fine text."}


@pytest.mark.parametrize(
    ("bad_line", "field", "reason", "message"),
    [
        ('{"id": "x", "title": "T", "text": "unterminated', None, "bad_json", "malformed JSON"),
        ('["a", "list"]', None, "bad_type", "expected a JSON object"),
        ({"id": "x", "text": "no title"}, "title", "missing_field", "missing required field"),
        ({"id": "x", "title": "   ", "text": "blank title"}, "title", "missing_field", "empty"),
        ({"title": "T", "text": "no id"}, "id", "missing_field", "missing required field"),
        (
            {"id": ["x"], "title": "T", "text": "t"},
            "id",
            "bad_type",
            "expected a string or integer id, got list",
        ),
        ({"id": "x", "title": 5, "text": "t"}, "title", "bad_type", "expected a string, got int"),
        ({"id": "x", "title": "T", "text": ["a", "b"]}, "text", "bad_type", "expected a string, got list"),
        (
            {"id": "x", "title": "T", "text": "t", "links": "b"},
            "links",
            "bad_type",
            "expected a list, got str",
        ),
        (
            {"id": "x", "title": "T", "text": "t", "links": ["b", {"id": 1}]},
            "links[1]",
            "bad_type",
            "got dict",
        ),
    ],
)
def test_jsonl_bad_records(tmp_path: Path, bad_line, field, reason, message) -> None:
    path = write_lines(tmp_path / "p.jsonl", [GOOD, GOOD | {"id": "ok2"}, bad_line, GOOD | {"id": "ok3"}])
    with pytest.raises(RecordError) as err:
        run(load_jsonl, path)
    assert err.value.path == str(path)
    assert err.value.line == 3
    assert err.value.field == field
    assert message in err.value.message
    assert str(err.value).startswith(f"{path}:3")
    # with skip_bad: counted, recorded, and the other lines are kept
    pages, ctx, skipped = run(load_jsonl, path, skip_bad=True)
    assert [p.id for p in pages] == ["ok", "ok2", "ok3"]
    assert ctx.skipped == {reason: 1}
    assert skipped[0].reason == reason and f"{path}:3" in skipped[0].detail


def test_jsonl_non_utf8_line(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_bytes(
        b'{"id": "a", "title": "A", "text": "fine"}\n{"id": "b", "title": "B\xe9", "text": "x"}\n'
    )
    with pytest.raises(RecordError) as err:
        run(load_jsonl, path)
    assert (err.value.line, err.value.field) == (2, None) and "not valid UTF-8" in err.value.message
    pages, ctx, _ = run(load_jsonl, path, skip_bad=True)
    assert [p.id for p in pages] == ["a"] and ctx.skipped == {"bad_utf8": 1}


def test_jsonl_empty_text_is_a_counted_skip(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "p.jsonl", [GOOD, {"id": "e", "title": "Empty", "text": "  \n "}])
    pages, ctx, skipped = run(load_jsonl, path)  # no skip_bad needed
    assert [p.id for p in pages] == ["ok"]
    assert ctx.skipped == {"empty_text": 1} and skipped[0].item_id == "e"


def test_jsonl_huge_document_kept_or_capped(tmp_path: Path) -> None:
    big = "word " * 200_000
    path = write_lines(tmp_path / "p.jsonl", [{"id": "big", "title": "Big", "text": big}])
    pages, ctx, _ = run(load_jsonl, path)
    assert len(pages[0].text) == len(big.strip()) and not ctx.notes
    pages, ctx, _ = run(load_jsonl, path, max_chars=1000)
    assert len(pages[0].text) == 1000 and ctx.notes["pages_truncated"] == 1


def test_kilt_bad_anchor_type(tmp_path: Path) -> None:
    recs = kilt_records()
    recs[1]["anchors"][1]["paragraph_id"] = "3"
    path = write_lines(tmp_path / "k.jsonl", recs)
    with pytest.raises(RecordError) as err:
        run(load_kilt, path)
    assert (err.value.line, err.value.field) == (2, "anchors[1].paragraph_id")
    assert "expected an integer, got str" in err.value.message


def test_kilt_missing_title(tmp_path: Path) -> None:
    recs = kilt_records()
    del recs[2]["wikipedia_title"]
    path = write_lines(tmp_path / "k.jsonl", recs)
    with pytest.raises(RecordError) as err:
        run(load_kilt, path)
    assert (err.value.line, err.value.field, err.value.message) == (
        3,
        "wikipedia_title",
        "missing required field",
    )


def test_registry_names() -> None:
    assert set(LOADERS) == {"hotpotqa", "kilt", "jsonl", "wiki-summaries"}
    assert LOADERS["hotpotqa"].default_asset == "hotpotqa" and LOADERS["kilt"].default_asset is None
    assert LOADERS["jsonl"].duplicates == "error" and LOADERS["hotpotqa"].duplicates == "first"


def test_truncated_gzip_is_an_error_naming_the_line(tmp_path: Path) -> None:
    lines = b"".join(
        (
            json.dumps({"wikipedia_id": str(i), "wikipedia_title": f"T{i}", "text": [f"T{i}", "body " * 50]})
            + "\n"
        ).encode()
        for i in range(200)
    )
    data = gzip.compress(lines)
    path = tmp_path / "k.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(RecordError) as err:
        run(load_kilt, path, skip_bad=True)  # a broken stream cannot be skipped past
    assert err.value.line is not None and err.value.line > 1 and "compressed input" in err.value.message
