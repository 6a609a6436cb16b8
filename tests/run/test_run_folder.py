"""A run folder tells the truth: a re-run with other settings rebuilds what depends on them (or
refuses in one line), a re-run with the same settings changes nothing, and the files the run
writes are readable like its data files. On the small encyclopedia corpus of tests/helpers/walks_corpus.py."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from longtracerl.cli import main
from longtracerl.corpus.config import CorpusConfig
from longtracerl.corpus.prepare import prepare_corpus
from longtracerl.records import dump_line
from tests.helpers.walks_corpus import make_pages

DATA = (
    "walks.jsonl",
    "questions.jsonl",
    "trajectories.jsonl",
    "contexts.jsonl",
    "rows.jsonl",
    "heldout.jsonl",
)


def _prepare(tmp_path_factory, seed: int) -> Path:
    folder = tmp_path_factory.mktemp(f"corpus{seed}")
    src = folder / "pages.jsonl"
    src.write_text("".join(dump_line(p) for p in make_pages(seed)), encoding="utf-8")
    prepare_corpus("jsonl", src, folder / "prepared", CorpusConfig())
    return folder / "prepared"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return _prepare(tmp_path_factory, 0)


@pytest.fixture(scope="module")
def other_corpus(tmp_path_factory) -> Path:
    return _prepare(tmp_path_factory, 1)


def _args(out: Path, corpus: Path, *extra: str) -> list[str]:
    base = ["run", "--out", str(out), "--corpus", str(corpus), "--num-questions", "12"]
    base += ["--target-tokens", "1024", "--no-progress", "--set", "walks.hops=4"]
    base += [
        "--set",
        "report.max_questions=5",
        "--set",
        "report.plots=false",
        "--set",
        "questions.composer=masked",
    ]
    return base + list(extra)


@pytest.fixture(scope="module")
def finished(tmp_path_factory, corpus) -> Path:
    """A finished run folder with the base settings (copied by each test that re-runs it)."""
    out = tmp_path_factory.mktemp("base") / "run"
    assert main(_args(out, corpus)) == 0
    return out


def _records(path: Path) -> list[str]:
    """A file's records, without the wall-clock timings trajectories carry."""

    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k != "elapsed_s"}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj

    if not path.exists():
        return []
    return [json.dumps(strip(json.loads(line)), sort_keys=True) for line in path.open(encoding="utf-8")]


def _copy(finished: Path, tmp_path: Path) -> Path:
    out = tmp_path / "rerun"
    shutil.copytree(finished, out)
    return out


CHANGES = {
    "rubrics_include_answer": ["--set", "questions.rubrics_include_answer=true"],
    "agent_top_k": ["--set", "agent.top_k=2"],
    "fewer_questions": ["--num-questions", "6"],
    "walks_hops": ["--set", "walks.hops=3"],
    "other_corpus": None,  # --corpus pointing at another corpus
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_rerun_with_another_setting_holds_the_data_of_a_fresh_run(
    change, finished, corpus, other_corpus, tmp_path
):
    extra = CHANGES[change]
    rerun, fresh = _copy(finished, tmp_path), tmp_path / "fresh"
    if extra is None:
        args_re, args_fresh = _args(rerun, other_corpus), _args(fresh, other_corpus)
    else:
        args_re, args_fresh = _args(rerun, corpus, *extra), _args(fresh, corpus, *extra)
    assert main(args_re) == 0
    assert main(args_fresh) == 0
    differs = False
    for name in DATA:
        assert _records(rerun / name) == _records(fresh / name), f"{change}: {name} is stale"
        differs |= _records(rerun / name) != _records(finished / name)
    assert differs, f"{change}: the setting did not change the data (a test that cannot fail)"
    assert (rerun / "config.yaml").read_text() == (fresh / "config.yaml").read_text()
    # the old outputs are kept aside, not lost
    (kept,) = (rerun / "superseded").iterdir()
    assert any((kept / name).exists() and _records(kept / name) == _records(finished / name) for name in DATA)


def test_on_config_change_error_refuses_in_one_line_and_touches_nothing(finished, corpus, tmp_path, capsys):
    rerun = _copy(finished, tmp_path)
    before = {p: p.stat().st_mtime_ns for p in rerun.rglob("*")}
    code = main(_args(rerun, corpus, "--set", "walks.hops=3", "--on-config-change", "error"))
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "walks.hops: 4 -> 3" in err and "--on-config-change rebuild" in err
    assert {p: p.stat().st_mtime_ns for p in rerun.rglob("*")} == before  # config.yaml included


def test_a_finished_run_rerun_with_the_same_settings_changes_nothing(finished, corpus, tmp_path, capsys):
    rerun = _copy(finished, tmp_path)
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in rerun.rglob("*") if p.is_file()}
    assert main(_args(rerun, corpus)) == 0
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in rerun.rglob("*") if p.is_file()}
    assert after == before  # no report rebuild, no summary rewritten with zeroed counters
    # the funnel at the end counts what the files hold
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("funnel: ")]
    n = {name: len(_records(rerun / f"{name}.jsonl")) for name in ("walks", "questions", "rows", "heldout")}
    solved = len(
        {
            json.loads(t)["question_id"]
            for t in _records(rerun / "trajectories.jsonl")
            if json.loads(t)["correct"]
        }
    )
    assert line.startswith(f"funnel: {n['walks']} walks -> {n['questions']} questions")
    assert f" -> {solved} solved" in line
    assert line.endswith(f"-> {n['rows']} rows + {n['heldout']} held out")


def test_when_every_context_is_rejected_the_run_says_why_and_where(finished, corpus, tmp_path, capsys):
    rerun = _copy(finished, tmp_path)
    assert main(_args(rerun, corpus, "--target-tokens", "64")) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "every item was dropped (budget_too_small" in err
    assert str(rerun / "contexts.rejected.jsonl") in err and "--target-tokens" in err
    assert "run `longtracerl contexts` first" not in err


def test_a_stage_after_one_that_dropped_everything_says_so(tmp_path):
    from longtracerl.agent.runner import run_agent
    from longtracerl.records import RejectedItem, write_jsonl

    reasons = ["hop_findable_alone", "hop_findable_alone", "no_answer"]
    write_jsonl(
        tmp_path / "questions.rejected.jsonl",
        [RejectedItem(item_id=f"w{i}", stage="questions", reason=r) for i, r in enumerate(reasons)],
    )
    with pytest.raises(FileNotFoundError) as info:
        run_agent(None, tmp_path / "corpus", tmp_path)
    msg = str(info.value)
    assert "every item was dropped (hop_findable_alone 2, no_answer 1)" in msg
    assert str(tmp_path / "questions.rejected.jsonl") in msg
    with pytest.raises(FileNotFoundError, match="missing \\(run `longtracerl questions` first\\)"):
        run_agent(None, tmp_path / "corpus", tmp_path / "empty")


def test_a_deleted_output_of_a_finished_run_is_made_again(finished, corpus, tmp_path):
    rerun = _copy(finished, tmp_path)
    (rerun / "rows.jsonl").unlink()
    walks_mtime = (rerun / "walks.jsonl").stat().st_mtime_ns
    assert main(_args(rerun, corpus)) == 0
    assert _records(rerun / "rows.jsonl") == _records(finished / "rows.jsonl")
    assert (rerun / "walks.jsonl").stat().st_mtime_ns == walks_mtime  # earlier stages untouched


def test_more_questions_continue_the_folder_instead_of_rebuilding_it(finished, corpus, tmp_path):
    rerun = _copy(finished, tmp_path)
    old_walks = _records(finished / "walks.jsonl")
    assert main(_args(rerun, corpus, "--num-questions", "16")) == 0
    walks = _records(rerun / "walks.jsonl")
    assert walks[: len(old_walks)] == old_walks and len(walks) == 16
    assert not (rerun / "superseded").exists()


def test_a_killed_stage_keeps_its_settings_on_record(finished, corpus, tmp_path):
    """Stamps are written before a stage runs: a folder whose run died in the questions stage
    and is re-run with other question settings is rebuilt from there, not resumed."""
    rerun = _copy(finished, tmp_path)
    stamps = json.loads((rerun / "stamps.json").read_text())
    for stage in ("questions", "agent", "contexts", "report"):
        stamps["stages"][stage]["complete"] = False
    (rerun / "stamps.json").write_text(json.dumps(stamps))
    assert main(_args(rerun, corpus, "--set", "questions.rubrics_include_answer=true")) == 0
    kept = next((rerun / "superseded").iterdir())
    assert (kept / "questions.jsonl").exists() and not (kept / "walks.jsonl").exists()


def test_run_files_have_the_mode_of_the_data_files(finished):
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in finished.iterdir() if p.is_file()}
    data_mode = modes["walks.jsonl"]
    for name in ("config.yaml", "run.json", "stamps.json", "contexts.summary.json", "agent.summary.json"):
        assert modes[name] == data_mode, name


def test_an_unwritable_out_is_named_as_such(tmp_path, corpus, capsys, monkeypatch):
    out = tmp_path / "ro"
    out.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, m, **kw: False if Path(p) == out else real(p, m, **kw))
    assert main(_args(out, corpus)) == 2
    err = capsys.readouterr().err
    assert "not writable" in err and "resume" not in err


def test_a_permission_error_mid_run_says_not_writable(tmp_path, monkeypatch, capsys):
    import longtracerl.run

    def denied(*a, **kw):
        raise PermissionError(13, "Permission denied", str(tmp_path / "x" / "run.json"))

    monkeypatch.setattr(longtracerl.run, "run_pipeline", denied)
    assert main(["run", "--out", str(tmp_path / "x"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "not writable" in err and "run.json" in err and "resume" not in err


def test_a_file_named_by_a_setting_is_part_of_the_stamps(tmp_path, corpus):
    from longtracerl.run import load_run_config
    from longtracerl.runfolder import expected_stamps

    qa = tmp_path / "qa.jsonl"
    qa.write_text("{}\n")
    cfg = load_run_config(None, [f"questions_from={qa}", f"corpus_dir={corpus}"])
    before = expected_stamps(cfg, tmp_path)
    qa.write_text("{}\n{}\n")  # the same path, other questions
    after = expected_stamps(cfg, tmp_path)
    assert [s for s in before if before[s]["key"] != after[s]["key"]] == list(before)
    assert expected_stamps(cfg, tmp_path) == after


def test_a_stage_command_on_a_folder_made_with_other_settings_refuses_in_one_line(
    finished, corpus, tmp_path, capsys
):
    rerun = _copy(finished, tmp_path)
    before = (rerun / "questions.jsonl").read_bytes()
    q = ["questions", "--run", str(rerun), "--corpus", str(corpus), "--composer", "masked", "--no-progress"]
    assert main([*q, "--set", "rubrics_include_answer=true"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "questions.rubrics_include_answer: false -> true" in err
    assert (rerun / "questions.jsonl").read_bytes() == before
    assert main(q) == 0  # the same settings: nothing to do, nothing refused
    assert (rerun / "questions.jsonl").read_bytes() == before
    # the agent on other questions: made again after moving the questions aside
    for p in rerun.glob("questions.*"):
        p.unlink()
    assert main([*q, "--set", "rubrics_include_answer=true"]) == 0
    a = ["agent", "--run", str(rerun), "--corpus", str(corpus), "--no-progress"]
    assert main(a) == 2
    assert "its input (an earlier stage) changed" in capsys.readouterr().err


def test_walks_on_another_corpus_into_the_same_folder_are_refused(corpus, other_corpus, tmp_path):
    from longtracerl.config import ConfigError
    from longtracerl.walks import WalksConfig, run_walks

    cfg = WalksConfig(num_walks=3, hops=3)
    run_walks(cfg, corpus, tmp_path, progress=False)
    with pytest.raises(ConfigError, match="corpus content: "):
        run_walks(cfg, other_corpus, tmp_path, progress=False)
    assert run_walks(cfg.model_copy(update={"num_walks": 5}), corpus, tmp_path, progress=False).kept == 5


def _stamps(out: Path) -> dict:
    return json.loads((out / "stamps.json").read_text(encoding="utf-8"))["stages"]


def test_contexts_run_alone_in_a_run_folder_updates_its_stamps(finished, corpus, tmp_path):
    rerun = _copy(finished, tmp_path)
    before = _stamps(rerun)
    c = ["contexts", "--run", str(rerun), "--corpus", str(corpus), "--target-tokens", "2048", "--no-progress"]
    assert main(c) == 0
    after = _stamps(rerun)
    assert after["contexts"]["settings"]["contexts.target_tokens"] == 2048
    assert after["contexts"]["key"] != before["contexts"]["key"] and after["contexts"]["complete"]
    assert not after["report"]["complete"]  # the report was made from the old contexts
    assert _records(rerun / "rows.jsonl") != _records(finished / "rows.jsonl")
    # a later `run` with the folder's settings rebuilds the contexts instead of keeping the 2048 ones
    assert main(_args(rerun, corpus)) == 0
    assert _records(rerun / "rows.jsonl") == _records(finished / "rows.jsonl")
    assert _stamps(rerun)["contexts"]["key"] == before["contexts"]["key"]


def test_report_run_alone_in_a_run_folder_updates_its_stamps(finished, tmp_path):
    rerun = _copy(finished, tmp_path)
    assert _stamps(rerun)["report"]["settings"]["report.max_questions"] == 5
    r = ["report", "--run", str(rerun), "--max-questions", "3", "--no-plots", "--no-progress"]
    assert main(r) == 0
    after = _stamps(rerun)["report"]
    assert after["settings"]["report.max_questions"] == 3 and after["complete"]
    assert "report" in after["outputs"]


def test_questions_from_a_walks_file_record_the_file_and_its_hash(finished, corpus, tmp_path, capsys):
    walks = tmp_path / "my-walks.jsonl"
    shutil.copy(finished / "walks.jsonl", walks)
    run = tmp_path / "q"
    q = ["questions", "--corpus", str(corpus), "--run", str(run), "--walks", str(walks)]
    q += ["--composer", "masked", "--no-progress"]
    assert main(q) == 0
    recorded = json.loads((run / "questions.stamp.json").read_text(encoding="utf-8"))["settings"]["input"]
    assert str(walks.resolve()) in recorded and "sha256:" in recorded
    assert main(q) == 0  # the same file: nothing to do
    capsys.readouterr()
    lines = walks.read_text(encoding="utf-8").splitlines(keepends=True)
    walks.write_text("".join(lines[1:]), encoding="utf-8")  # other walks under the same name
    assert main(q) == 2
    assert "its input (an earlier stage) changed" in capsys.readouterr().err
