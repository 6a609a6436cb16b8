"""The shared ``FileBenchmark.load`` (missing --data, the field check, skipped rows) and user benchmarks
that implement only the protocol, run through the runner."""

from __future__ import annotations

import json

import pytest

from longtracerl.evals.base import FileBenchmark
from longtracerl.evals.config import EvalConfig
from longtracerl.evals.registry import BENCHMARKS, get_benchmark
from longtracerl.evals.runner import run_eval
from longtracerl.records import RecordError
from tests.helpers.llm_servers import StubChatModel

TINY = "tests.helpers.eval_benchmarks:Tiny"


@pytest.mark.parametrize("name", sorted(set(BENCHMARKS) - {"aa-lcr"}))
def test_builtin_without_data_names_the_benchmark_and_the_hint(name):
    bench = get_benchmark(name)
    assert isinstance(bench, FileBenchmark)
    with pytest.raises(FileNotFoundError) as exc:
        bench.load(None, EvalConfig())
    assert str(exc.value) == f"{name} needs --data {bench.data_hint}"
    assert bench.data_hint != FileBenchmark.data_hint  # each says which file it wants


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_file_benchmark_load_checks_fields_skips_and_starts_once(tmp_path):
    bench = get_benchmark(TINY)
    data = write_jsonl(
        tmp_path / "t.jsonl",
        [{"q": "one?", "a": "1"}, {"q": "two?", "a": "2", "skip": 1}, {"q": "three?", "a": "3"}],
    )
    before = type(bench).starts
    items = bench.load(data, EvalConfig())
    assert [i.item_id for i in items] == ["tiny-1", "tiny-3"] and type(bench).starts == before + 1
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"q": "one?", "a": "1"}, {"q": "two?", "a": " "}])
    with pytest.raises(RecordError) as exc:
        bench.load(bad, EvalConfig())
    assert (exc.value.path, exc.value.line, exc.value.field) == (bad, 2, "a")
    assert "bad.jsonl:2: field 'a': empty value" in str(exc.value)
    with pytest.raises(FileNotFoundError, match=r"^tiny needs --data PATH \(a JSONL of \{q, a\}\)$"):
        bench.load(None, EvalConfig())


@pytest.mark.parametrize("target", ["tests.helpers.eval_benchmarks:PLAIN", TINY])
def test_user_benchmark_runs_through_the_runner(tmp_path, target):
    rows = [{"q": "two plus two?", "a": "4"}, {"q": "two plus three?", "a": "5"}]
    if target.endswith("PLAIN"):  # only load + score: reads its own JSON list
        data = tmp_path / "d.json"
        data.write_text(json.dumps(rows))
    else:
        data = write_jsonl(tmp_path / "d.jsonl", rows)
    model = StubChatModel(default="4")
    summary = run_eval(EvalConfig(benchmark=target, data=str(data), samples=1), tmp_path / "out", model=model)
    assert summary["n_items"] == 2 and summary["avg_at_k"] == 50.0
    lines = [json.loads(x) for x in (tmp_path / "out" / "samples.jsonl").read_text().splitlines()]
    assert sorted(r["score"] for r in lines) == [0.0, 1.0]
    assert any("two plus three?" in m[-1]["content"] for m in model.calls)


def test_what_a_load_sets_up_stays_with_that_load(tmp_path):
    from longtracerl.evals.benchmarks.aa_lcr import BENCHMARK
    from longtracerl.evals.config import EvalConfig

    data = tmp_path / "aa.jsonl"
    data.write_text(
        '{"question": "q1", "answer": "a", "context": "c"}\n{"question": "q2", "answer": "b", "context": "d"}\n'
    )
    first = [i.item_id for i in BENCHMARK.load(str(data), EvalConfig())]
    again = [i.item_id for i in BENCHMARK.load(str(data), EvalConfig())]
    assert first == again == ["aa-lcr-000", "aa-lcr-001"]  # numbering restarts with every load
    assert not hasattr(BENCHMARK, "numbers")  # the shared benchmark object keeps nothing
