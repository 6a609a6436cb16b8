"""End to end: the `longtracerl run` CLI chain on a real slice of the embedded Wikipedia corpus."""

import json

import pytest

from longtracerl.assets import asset_path
from longtracerl.cli import main
from longtracerl.records import Context, Question, TrainingRow, Trajectory, read_jsonl


@pytest.fixture(scope="module")
def hotpot_slice(tmp_path_factory):
    """The first 400 HotpotQA records: about 3,900 real Wikipedia intro paragraphs."""
    data = json.loads(asset_path("hotpotqa").read_text(encoding="utf-8"))[:400]
    path = tmp_path_factory.mktemp("slice") / "hotpot_slice.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_run_chain_end_to_end_and_resume(tmp_path, hotpot_slice):
    out = tmp_path / "run"
    args = [
        "run",
        "--out",
        str(out),
        "--num-questions",
        "12",
        "--target-tokens",
        "2048",
        "--no-progress",
        "--set",
        f"input={hotpot_slice}",
        "--set",
        "walks.hops=4",
    ]
    assert main(args) == 0
    for name in (
        "walks.jsonl",
        "questions.jsonl",
        "trajectories.jsonl",
        "contexts.jsonl",
        "rows.jsonl",
        "rows.parquet",
        "report/report.md",
        "run.json",
    ):
        assert (out / name).exists(), name

    questions = {q.question_id: q for q in read_jsonl(out / "questions.jsonl", Question)}
    trajectories = list(read_jsonl(out / "trajectories.jsonl", Trajectory))
    contexts = list(read_jsonl(out / "contexts.jsonl", Context))
    rows = list(read_jsonl(out / "rows.jsonl", TrainingRow))
    assert questions and trajectories and contexts and rows
    solved = {t.question_id for t in trajectories if t.correct}
    assert {c.question_id for c in contexts} <= solved
    for ctx in contexts:
        assert ctx.total_tokens <= 2048
        gold = set(questions[ctx.question_id].label.gold_page_ids)
        assert gold <= {d.page_id for d in ctx.docs if d.tag == "gold"}
        assert not any(d.page_id in gold for d in ctx.docs if d.tag != "gold")
    for row in rows:
        (msg,) = row.input_messages
        assert msg.role == "user" and "Documents:" in msg.content
        assert row.label not in row.metadata.extra_reward_info.question or len(row.label) < 3

    before = {p.name: p.read_bytes() for p in out.glob("*.jsonl")}
    assert main(args) == 0  # a second run finds every stage complete and changes nothing
    assert {p.name: p.read_bytes() for p in out.glob("*.jsonl")} == before
