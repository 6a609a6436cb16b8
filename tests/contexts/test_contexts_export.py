import errno
import json

import pytest

import longtracerl.contexts.export as export_mod
from longtracerl.config import ConfigError
from longtracerl.contexts.config import ContextsConfig, ExportConfig
from longtracerl.contexts.export import export_rows, heldout_split
from longtracerl.contexts.prompt import INSTRUCTIONS
from longtracerl.contexts.stage import build_contexts
from longtracerl.records import Context, Question, TrainingRow, read_jsonl
from tests.helpers.ctx_fixtures import FakeRetriever


def build(run_dir, store, **cfg):
    cfg.setdefault("target_tokens", 2500)
    return build_contexts(
        ContextsConfig(**cfg), store.dir, run_dir, store=store, retriever=FakeRetriever(store), progress=False
    )


def test_released_format_exactly(run_dir, store):
    s = build(run_dir, store, export={"heldout_count": 2})
    assert s["contexts"] == 11 and s["rejected"] == {"no_correct_trajectory": 1}
    questions = {q.question_id: q for q in read_jsonl(run_dir / "questions.jsonl", Question)}
    contexts = {c.question_id: c for c in read_jsonl(run_dir / "contexts.jsonl", Context)}
    lines = (run_dir / "rows.jsonl").read_text().splitlines() + (
        run_dir / "heldout.jsonl"
    ).read_text().splitlines()
    assert len(lines) == 11
    for line in lines:
        row = json.loads(line)
        TrainingRow.model_validate(row)
        assert list(row) == ["source", "input_messages", "label", "metadata"]
        assert row["source"] == "longqa"
        assert len(row["input_messages"]) == 1 and set(row["input_messages"][0]) == {"role", "content"}
        assert row["input_messages"][0]["role"] == "user"
        info = row["metadata"]["extra_reward_info"]
        assert list(info) == ["question", "rubrics", "dataset_name"] and info["dataset_name"] == "longqa"
        assert set(row["metadata"]) == {"extra_reward_info", "provenance"}
        qid = row["metadata"]["provenance"]["question_id"]
        q = questions[qid]
        assert row["label"] == q.label.answer and info["question"] == q.question
        assert info["rubrics"] == q.label.rubrics
        content = row["input_messages"][0]["content"]
        instruction, rest = content.split("\n\nDocuments:\n\n", 1)
        assert instruction == INSTRUCTIONS[contexts[qid].instruction_id]
        assert rest.startswith("<section title=")
        assert content.endswith(f"</section>\n\nQuestion: {q.question}")
        assert content.count("<section title=") == len(contexts[qid].docs)
        assert row["metadata"]["provenance"]["total_tokens"] <= 2500


def test_heldout_split_is_disjoint_by_gold_pages():
    gold = {f"q{i}": [f"p{i}", f"p{i + 1}"] for i in range(0, 10, 2)}  # chains of 2 shared nothing
    gold.update({"a": ["x", "y"], "b": ["y", "z"], "c": ["z"], "d": ["w"]})  # a-b-c linked by pages
    for n in range(0, 9):
        train, held = heldout_split(gold, ExportConfig(heldout_count=n, seed=n))
        assert len(held) <= n and set(train) | set(held) == set(gold) and not set(train) & set(held)
        held_pages = {p for q in held for p in gold[q]}
        train_pages = {p for q in train for p in gold[q]}
        assert not held_pages & train_pages
        assert ("a" in held) == ("b" in held) == ("c" in held)
    # deterministic, and the fraction rule
    assert heldout_split(gold, ExportConfig(heldout_fraction=0.3)) == heldout_split(
        gold, ExportConfig(heldout_fraction=0.3)
    )
    assert len(heldout_split(gold, ExportConfig(heldout_fraction=0.3))[1]) == 3


def test_json_and_parquet_load_with_datasets(run_dir, store):
    datasets = pytest.importorskip("datasets")
    build(run_dir, store, export={"heldout_count": 2})
    js = datasets.load_dataset("json", data_files=str(run_dir / "rows.jsonl"), split="train")
    assert len(js) == 9 and js[0]["source"] == "longqa"
    assert js[0]["input_messages"][0]["role"] == "user"
    assert set(js[0]["metadata"]["extra_reward_info"]) == {"question", "rubrics", "dataset_name"}
    pq = datasets.load_dataset(
        "parquet",
        data_files={"train": str(run_dir / "rows.parquet"), "test": str(run_dir / "heldout.parquet")},
    )
    assert len(pq["train"]) == 9 and len(pq["test"]) == 2
    r = pq["train"][0]
    assert r["data_source"] == "longqa" and r["ability"] == "long-context-qa"
    assert r["reward_model"] == {"style": "rule", "ground_truth": js[0]["label"]}
    assert r["prompt"] == js[0]["input_messages"]
    assert r["extra_info"]["index"] == 0 and r["extra_info"]["split"] == "train"
    assert r["extra_info"]["rubrics"] == js[0]["metadata"]["extra_reward_info"]["rubrics"]
    assert json.loads(r["extra_info"]["provenance"])["question_id"] == r["extra_info"]["question_id"]
    assert [x["index"] for x in pq["train"]["extra_info"]] == list(range(9))


def test_full_disk_mid_export_keeps_previous_files_and_rerun_completes(run_dir, store, monkeypatch):
    build(run_dir, store, export={"heldout_count": 0})
    before = {f: (run_dir / f).read_bytes() for f in ("rows.jsonl", "rows.parquet", "heldout.jsonl")}
    real = export_mod._write_text
    calls = {"n": 0}

    def full_disk(fh, text):
        calls["n"] += 1
        if calls["n"] > 4:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fh, text)

    monkeypatch.setattr(export_mod, "_write_text", full_disk)
    with pytest.raises(OSError):
        export_rows(run_dir, store.dir, ExportConfig(heldout_count=3, seed=5), store=store)
    for f, data in before.items():
        assert (run_dir / f).read_bytes() == data
    assert not [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]
    monkeypatch.setattr(export_mod, "_write_text", real)
    s = export_rows(run_dir, store.dir, ExportConfig(heldout_count=3, seed=5), store=store)
    assert s["rows"] + s["heldout"] == 11 and s["heldout"] <= 3
    assert len((run_dir / "rows.jsonl").read_text().splitlines()) == s["rows"]
    # up to date: skipped
    again = export_rows(run_dir, store.dir, ExportConfig(heldout_count=3, seed=5), store=store)
    assert again["stamp"] == s["stamp"] and again["seconds"] == s["seconds"]


def test_full_disk_mid_contexts_resumes_without_duplicates(run_dir, store, monkeypatch):
    from longtracerl.records import JsonlAppender

    real = JsonlAppender.write
    calls = {"n": 0}

    def full_disk(self, record):
        if self.path.name == "contexts.jsonl":
            calls["n"] += 1
            if calls["n"] == 5:
                self._fh = self._fh or open(self.path, "a", encoding="utf-8")  # noqa: SIM115
                self._fh.write('{"question_id": "torn')  # a torn line, as a full disk leaves
                self._fh.flush()
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, record)

    monkeypatch.setattr(JsonlAppender, "write", full_disk)
    with pytest.raises(OSError):
        build(run_dir, store)
    assert not (run_dir / "rows.jsonl").exists()
    monkeypatch.setattr(JsonlAppender, "write", real)
    s = build(run_dir, store)
    ids = [c.question_id for c in read_jsonl(run_dir / "contexts.jsonl", Context)]
    assert len(ids) == len(set(ids)) == 11 and s["resumed_from"] == 4 and s["written_this_run"] == 7
    # a re-run with the same config writes nothing new
    assert build(run_dir, store)["written_this_run"] == 0
    # another config: refused on request, else the old file is set aside and rebuilt
    with pytest.raises(ConfigError, match="another contexts config"):
        build(run_dir, store, target_tokens=3000, on_config_change="error")
    old = (run_dir / "contexts.jsonl").read_bytes()
    s2 = build(run_dir, store, target_tokens=3000)
    assert s2["written_this_run"] == 11 and s2["target_tokens"] == 3000
    kept = [p for p in run_dir.glob("contexts.*.jsonl") if p.name != "contexts.rejected.jsonl"]
    assert [p.read_bytes() for p in kept] == [old]
    assert (
        build_contexts(
            ContextsConfig(target_tokens=3000, seed=9),
            store.dir,
            run_dir,
            store=store,
            retriever=FakeRetriever(store),
            force=True,
            progress=False,
        )["written_this_run"]
        == 11
    )


def test_missing_trajectories_is_a_clear_error(run_dir, store):
    (run_dir / "trajectories.jsonl").unlink()
    with pytest.raises(FileNotFoundError, match="trajectories.jsonl: missing"):
        build(run_dir, store)
    assert not (run_dir / "contexts.jsonl").exists()
    s = build(run_dir, store, strategy="random")  # needs no trajectory
    assert s["contexts"] == 12
