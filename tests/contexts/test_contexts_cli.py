import json

from longtracerl.cli import main


def test_contexts_export_report_cli_end_to_end(run_dir, store, tmp_path, capsys):
    from longtracerl.search.index import build_index

    build_index(store.dir, progress=False)  # the real BM25 index of the tiny corpus
    corpus, run = str(store.dir), str(run_dir)
    rc = main(
        [
            "contexts",
            "--corpus",
            corpus,
            "--run",
            run,
            "--target-tokens",
            "2000",
            "--no-progress",
            "--heldout-count",
            "2",
            "--set",
            "seed=3",
        ]
    )
    assert rc == 0
    summary = json.loads((run_dir / "contexts.summary.json").read_text())
    assert summary["contexts"] == 11 and summary["over_budget"] == 0 and summary["config"]["seed"] == 3
    assert summary["tokens"]["max"] <= 2000
    assert (run_dir / "rows.jsonl").exists() and (run_dir / "rows.parquet").exists()
    n_train = len((run_dir / "rows.jsonl").read_text().splitlines())
    assert n_train + len((run_dir / "heldout.jsonl").read_text().splitlines()) == 11

    assert main(["export", "--run", run, "--format", "released", "--heldout-count", "0", "--force"]) == 0
    assert len((run_dir / "rows.jsonl").read_text().splitlines()) == 11

    assert main(["report", "--run", run, "--no-progress", "--max-questions", "5"]) == 0
    rep = json.loads((run_dir / "report" / "report.json").read_text())
    assert rep["measured_questions"] == 5
    assert set(rep["strategies"]) == {"traj-tiered", "traj-random", "one-shot-search", "random"}
    md = (run_dir / "report" / "report.md").read_text()
    assert "50.03 %" in md and "63.23 %" in md and "1.35 %" in md
    assert (run_dir / "report" / "confusability.png").stat().st_size > 1000

    # bad tokenizer: a clear error, exit code 2, nothing lost
    before = (run_dir / "contexts.jsonl").read_bytes()
    rc = main(
        [
            "contexts",
            "--corpus",
            corpus,
            "--run",
            run,
            "--tokenizer",
            str(tmp_path / "missing.json"),
            "--no-progress",
        ]
    )
    assert rc == 2
    assert "missing.json" in capsys.readouterr().err
    assert (run_dir / "contexts.jsonl").read_bytes() == before
