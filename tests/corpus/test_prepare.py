"""prepare_corpus: manifest, skipped records, idempotence, crash safety, CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from longtracerl.cli import main
from longtracerl.config import ConfigError
from longtracerl.corpus import prepare as prepare_mod
from longtracerl.corpus.config import CorpusConfig
from longtracerl.corpus.graph import LinkGraph
from longtracerl.corpus.prepare import MANIFEST_FILE, prepare_corpus, read_manifest
from longtracerl.corpus.stats import corpus_stats
from longtracerl.corpus.store import PageStore
from longtracerl.records import RecordError, RejectedItem, read_jsonl
from tests.helpers.corpus_inputs import write_lines

NO_INDEX = CorpusConfig(build_index=False)


def pages_jsonl(path: Path, n: int = 6) -> Path:
    names = [f"Star Number {i}" for i in range(n)]
    rows = [
        {
            "id": f"s{i}",
            "title": names[i],
            "text": f"{names[i]} is near {names[(i + 1) % n]} and {names[(i + 2) % n]}.",
        }
        for i in range(n)
    ]
    return write_lines(path, rows)


def test_prepare_jsonl_mentions(tmp_path: Path) -> None:
    src = pages_jsonl(tmp_path / "in.jsonl")
    out = tmp_path / "corpus"
    m = prepare_corpus("jsonl", src, out, NO_INDEX)
    assert m.status == "complete" and not m.skipped_run
    assert m.counts["pages"] == 6 and m.counts["skipped_total"] == 0
    assert m.graph["method"] == "mentions" and m.graph["mention_links"] == 12
    assert m.counts["links"] == 24  # i -> i+1, i+2 plus the reverses: 4 neighbours each
    assert m.input == str(src.resolve()) and m.schema_version == 1
    assert set(m.timings) == {"load_s", "graph_s", "index_s", "total_s"}
    on_disk = json.loads((out / MANIFEST_FILE).read_text())
    assert on_disk["config_hash"] == m.config_hash and on_disk["counts"]["pages"] == 6
    assert sorted(p.name for p in out.iterdir()) == ["graph.npz", "manifest.json", "pages.sqlite"]
    store = PageStore(out)
    assert len(store) == 6 and store.open("s3").title == "Star Number 3"
    assert LinkGraph.load(out).num_pages == 6


def test_prepare_kilt_uses_anchors(tmp_path: Path, kilt_file: Path) -> None:
    m = prepare_corpus("kilt", kilt_file, tmp_path / "c", NO_INDEX)
    assert m.graph["method"] == "anchors"
    g = LinkGraph.load(tmp_path / "c")
    store = PageStore(tmp_path / "c")
    got = {
        (store.title_of(store.id_of(i)), store.title_of(store.id_of(int(j))))
        for i in range(len(store))
        for j in g.neighbors(i)
    }
    # Delta Scuti (id 4) was skipped (empty after the cut): its anchor is dangling
    assert got == {
        ("Alpha Centauri", "Beta Pictoris"),
        ("Alpha Centauri", "Gamma Draconis"),
        ("Beta Pictoris", "Alpha Centauri"),
    }
    assert m.graph["dangling"] == 1
    assert m.counts["skipped"] == {"empty_text": 1}
    assert m.counts["notes"]["pages_without_anchors"] == 1
    skipped = list(read_jsonl(tmp_path / "c" / "skipped.jsonl", RejectedItem))
    assert [(s.item_id, s.reason) for s in skipped] == [("4", "empty_text")]


def test_prepare_hotpot_and_summaries_fixtures(
    tmp_path: Path, hotpot_file: Path, summaries_file: Path
) -> None:
    m = prepare_corpus("hotpotqa", hotpot_file, tmp_path / "h", NO_INDEX)
    assert m.counts["pages"] == 3 and m.counts["skipped"] == {"duplicate_title": 1, "empty_text": 1}
    assert m.counts["records_read"] == 5
    edges = m.graph["mention_links"]
    assert edges >= 3  # Ed Wood -> Tim Burton, Johnny Depp; Johnny Depp -> Tim Burton ...
    m = prepare_corpus("wiki-summaries", summaries_file, tmp_path / "s", NO_INDEX)
    assert m.counts["pages"] == 2 and m.graph["mention_links"] == 2


def test_duplicate_ids_error_names_both_lines(tmp_path: Path) -> None:
    src = write_lines(
        tmp_path / "in.jsonl",
        [
            {"id": "a", "title": "A page", "text": "x"},
            {"id": "b", "title": "B page", "text": "y"},
            {"id": "a", "title": "Again", "text": "z"},
        ],
    )
    out = tmp_path / "c"
    with pytest.raises(RecordError) as err:
        prepare_corpus("jsonl", src, out, NO_INDEX)
    assert (err.value.line, err.value.field) == (3, "id")
    assert "duplicate page id 'a' (first at line 1)" in err.value.message
    assert read_manifest(out) is None and not (out / "pages.sqlite").exists()
    m = prepare_corpus("jsonl", src, out, CorpusConfig(build_index=False, skip_bad=True))
    assert m.counts["pages"] == 2 and m.counts["skipped"] == {"duplicate_id": 1}
    assert PageStore(out).open("a").title == "A page"  # the first one wins
    (rec,) = read_jsonl(out / "skipped.jsonl", RejectedItem)
    assert rec.item_id == "a" and rec.reason == "duplicate_id" and f"{src.resolve()}:3" in rec.detail


def test_skip_bad_collects_everything(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(
        b'{"id": "a", "title": "Alpha Page", "text": "Alpha Page meets Beta Page."}\n'
        b'{"id": "b", "title": "Beta Page", "text": "Beta Page."}\n'
        b"{not json\n"
        b'{"id": "c", "text": "no title"}\n'
        b'{"id": "d", "title": "D\xff", "text": "bad bytes"}\n'
        b'{"id": "e", "title": "E", "text": 5}\n'
        b'{"id": "f", "title": "F", "text": ""}\n'
    )
    out = tmp_path / "c"
    with pytest.raises(RecordError) as err:
        prepare_corpus("jsonl", src, out, NO_INDEX)
    assert err.value.line == 3
    m = prepare_corpus("jsonl", src, out, CorpusConfig(build_index=False, skip_bad=True))
    assert m.counts["pages"] == 2
    assert m.counts["skipped"] == {
        "bad_json": 1,
        "bad_type": 1,
        "bad_utf8": 1,
        "empty_text": 1,
        "missing_field": 1,
    }
    assert m.counts["records_read"] == 7
    lines = [r.detail.split(": ")[0] for r in read_jsonl(out / "skipped.jsonl", RejectedItem)]
    assert [x.rsplit(":", 1)[1] for x in lines] == ["3", "4", "5", "6", "7"]


def test_second_prepare_is_skipped_and_config_change_rebuilds(tmp_path: Path) -> None:
    src = pages_jsonl(tmp_path / "in.jsonl")
    out = tmp_path / "c"
    first = prepare_corpus("jsonl", src, out, NO_INDEX)
    mtime = (out / "pages.sqlite").stat().st_mtime_ns
    again = prepare_corpus("jsonl", src, out, NO_INDEX)
    assert again.skipped_run and again.created_at == first.created_at
    assert (out / "pages.sqlite").stat().st_mtime_ns == mtime
    changed = prepare_corpus("jsonl", src, out, CorpusConfig(build_index=False, symmetric_mentions=False))
    assert not changed.skipped_run and changed.config_hash != first.config_hash
    assert changed.counts["links"] == 12
    # a changed input file (size or mtime) rebuilds too
    os.utime(src, ns=(1, 1))
    assert not prepare_corpus(
        "jsonl", src, out, CorpusConfig(build_index=False, symmetric_mentions=False)
    ).skipped_run
    assert not prepare_corpus("jsonl", src, out, NO_INDEX, force=True).skipped_run


def test_crash_during_graph_keeps_previous_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = pages_jsonl(tmp_path / "in.jsonl")
    out = tmp_path / "c"
    first = prepare_corpus("jsonl", src, out, NO_INDEX)

    def boom(*a, **k):
        raise RuntimeError("killed")

    monkeypatch.setattr(prepare_mod, "build_mention_graph", boom)
    with pytest.raises(RuntimeError):
        prepare_corpus("jsonl", src, out, CorpusConfig(build_index=False, symmetric_mentions=False))
    # the old corpus is untouched and still complete for its own config
    m = read_manifest(out)
    assert m is not None and m.config_hash == first.config_hash
    assert len(PageStore(out)) == 6
    monkeypatch.undo()
    rebuilt = prepare_corpus("jsonl", src, out, CorpusConfig(build_index=False, symmetric_mentions=False))
    assert not rebuilt.skipped_run and not (out / ".building").exists()


def test_crash_after_files_moved_leaves_no_complete_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = pages_jsonl(tmp_path / "in.jsonl")
    out = tmp_path / "c"
    prepare_corpus("jsonl", src, out, NO_INDEX)

    def boom(corpus_dir, progress, cfg=None):
        raise RuntimeError("index crashed")

    monkeypatch.setattr(prepare_mod, "_call_build_index", boom)
    with pytest.raises(RuntimeError):
        prepare_corpus("jsonl", src, out, CorpusConfig(build_index=True))
    assert read_manifest(out) is None  # nothing claims to be complete
    monkeypatch.setattr(
        prepare_mod, "_call_build_index", lambda d, progress, cfg=None: {"doc_count": 6, "fake": True}
    )
    m = prepare_corpus("jsonl", src, out, CorpusConfig(build_index=True))
    assert m.status == "complete" and m.index == {"doc_count": 6, "fake": True}
    assert prepare_corpus("jsonl", src, out, CorpusConfig(build_index=True)).skipped_run


def test_error_in_first_run_then_rerun(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = pages_jsonl(tmp_path / "in.jsonl")
    out = tmp_path / "c"
    monkeypatch.setattr(
        prepare_mod, "build_mention_graph", lambda *a, **k: (_ for _ in ()).throw(MemoryError())
    )
    with pytest.raises(MemoryError):
        prepare_corpus("jsonl", src, out, NO_INDEX)
    assert not (out / ".building").exists() and read_manifest(out) is None
    assert not (out / "pages.sqlite").exists()
    monkeypatch.undo()
    # a hard kill (no exception handling) leaves .building/ behind: the next run clears it
    (out / ".building").mkdir()
    (out / ".building" / "pages.sqlite.partial").write_bytes(b"half a database")
    m = prepare_corpus("jsonl", src, out, NO_INDEX)
    assert m.counts["pages"] == 6 and not (out / ".building").exists()


def test_build_index_hook_real(tmp_path: Path) -> None:
    """The search stage's build_index, called by prepare (tantivy, real)."""
    src = pages_jsonl(tmp_path / "in.jsonl")
    m = prepare_corpus("jsonl", src, tmp_path / "c", CorpusConfig())
    assert m.index is not None and m.index.get("doc_count") == 6
    assert (tmp_path / "c" / "index").is_dir()


def test_errors_for_unknown_source_and_missing_input(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown corpus source 'jsonn'.*Did you mean 'jsonl'"):
        prepare_corpus("jsonn", tmp_path / "x", tmp_path / "c", NO_INDEX)
    with pytest.raises(ConfigError, match="no embedded copy"):
        prepare_corpus("kilt", None, tmp_path / "c", NO_INDEX)
    with pytest.raises(FileNotFoundError):
        prepare_corpus("jsonl", tmp_path / "missing.jsonl", tmp_path / "c", NO_INDEX)
    empty = write_lines(tmp_path / "e.jsonl", [{"id": "a", "title": "A", "text": ""}])
    with pytest.raises(RecordError, match="no usable page"):
        prepare_corpus("jsonl", empty, tmp_path / "c", NO_INDEX)


def test_config_rejects_inconsistent_caps() -> None:
    from longtracerl.config import load_config

    with pytest.raises(ConfigError, match="qualified_max_mention_share"):
        load_config(CorpusConfig, overrides=["qualified_max_mention_share=0.2", "max_mention_share=0.1"])


def test_stats(tmp_path: Path) -> None:
    prepare_corpus("jsonl", pages_jsonl(tmp_path / "in.jsonl"), tmp_path / "c", NO_INDEX)
    s = corpus_stats(tmp_path / "c", top=3)
    assert s["pages"] == 6 and s["links"] == 24
    assert s["out_degree"] == {"min": 4, "median": 4.0, "mean": 4.0, "p90": 4.0, "max": 4}
    assert s["share_more_than_3"] == 1.0 and s["share_no_links"] == 0.0
    assert [h["pages"] for h in s["histogram"] if h["pages"]] == [6]
    assert len(s["top_in_degree"]) == 3 and s["top_in_degree"][0]["in_degree"] == 4


def test_cli_prepare_and_stats(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = pages_jsonl(tmp_path / "in.jsonl")
    out = tmp_path / "c"
    args = ["corpus", "prepare", "--source", "jsonl", "--input", str(src), "--out", str(out), "--no-progress"]
    assert main([*args, "--set", "build_index=false"]) == 0
    assert "pages: 6" in capsys.readouterr().out
    assert main([*args, "--set", "build_index=false"]) == 0
    assert "already complete" in capsys.readouterr().out
    assert main(["corpus", "stats", str(out)]) == 0
    text = capsys.readouterr().out
    assert "pages: 6" in text and "out-degree histogram" in text and "top in-degree" in text
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("corpus:\n  build_index: false\n  min_title_chars: 50\n")
    assert main([*args, "--config", str(cfg)]) == 0
    assert "links: 0" in capsys.readouterr().out


def test_cli_bad_input_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = write_lines(tmp_path / "in.jsonl", [{"id": "a", "title": "A page", "text": "x"}, "{oops"])
    args = [
        "corpus",
        "prepare",
        "--source",
        "jsonl",
        "--input",
        str(src),
        "--out",
        str(tmp_path / "c"),
        "--no-progress",
    ]
    assert main([*args, "--set", "build_index=false"]) == 2
    assert f"{src.resolve()}:2: malformed JSON" in capsys.readouterr().err
    assert main([*args, "--set", "build_index=false", "--skip-bad"]) == 0
    assert "bad_json 1" in capsys.readouterr().out
    assert main([*args, "--set", "build_inde=false"]) == 2
    assert "did you mean 'build_index'" in capsys.readouterr().err
