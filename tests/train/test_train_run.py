"""`longtracerl train` around the trainer, fast: rows made for another length are refused before any
model is loaded, and a finished run writes its curves (PNG). TRL's GRPOTrainer is replaced by a stub
that scores made-up completions with the real reward callable and logs them the way TRL does."""

import json
from types import SimpleNamespace

import pytest

from longtracerl.cli import main
from longtracerl.train.config import load_preset, smoke_rows_path
from longtracerl.train.data import build_records, load_rows


def _long_row(i, target=1024):
    docs = "\n\n".join(
        f'<section title="D{i}-{k}">\n' + f"page {k} of question {i}, " * 60 + "\n</section>"
        for k in range(6)
    )
    return {
        "source": "longqa",
        "input_messages": [
            {
                "role": "user",
                "content": f"Answer from the documents.\n\nDocuments:\n\n{docs}\n\nQuestion: q{i}?",
            }
        ],
        "label": "1918",
        "metadata": {
            "extra_reward_info": {"question": f"q{i}?", "rubrics": ["D"], "dataset_name": "longqa"},
            "provenance": {"target_tokens": target},
        },
    }


@pytest.fixture
def long_rows(tmp_path):
    p = tmp_path / "long.jsonl"
    p.write_text("".join(json.dumps(_long_row(i)) + "\n" for i in range(4)))
    return p


def test_shipped_smoke_rows_fit_the_cpu_smoke_bound(smol_tok):
    cfg = load_preset("cpu-smoke")
    _records, stats = build_records(
        load_rows(smoke_rows_path()), smol_tok, cfg.data.max_prompt_tokens, cfg.data.overflow
    )
    assert stats.rows == 8 and stats.truncated == 0 and stats.tokens_removed == 0
    assert stats.longest_after <= cfg.data.max_prompt_tokens
    assert stats.made_for_tokens is not None and stats.made_for_tokens < cfg.data.max_prompt_tokens


def test_rows_made_for_longer_contexts_are_refused_before_loading(tmp_path, long_rows, capsys):
    out = tmp_path / "o"
    code = main(["train", "--preset", "cpu-smoke", "--data", str(long_rows), "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "4 of 4 rows (made for 1024-token contexts)" in err and "data.max_prompt_tokens=384" in err
    # how to get rows of this length, and how to accept the cut
    assert "longtracerl run --out RUN" in err and "--target-tokens 256" in err and "walks.hops=2" in err
    assert "data.max_cut_share=1" in err
    assert not out.exists()  # nothing written, no model loaded
    # the dry run refuses the same rows (a real run would)
    assert (
        main(["train", "--preset", "cpu-smoke", "--data", str(long_rows), "--out", str(out), "--dry-run"])
        == 2
    )


def test_accepting_the_cut_trains_on_cut_rows(tmp_path, long_rows, capsys):
    out = tmp_path / "dry"
    argv = ["train", "--preset", "cpu-smoke", "--data", str(long_rows), "--out", str(out), "--dry-run"]
    assert main([*argv, "--set", "data.max_cut_share=1"]) == 0
    stats = json.loads((out / "data_stats.json").read_text())
    assert stats["truncated"] == 4 and stats["tokens_removed"] > stats["tokens_before"] / 2


class _StubTrainer:
    """GRPOTrainer's surface as the runner uses it; ``answers`` = the completions of each step."""

    answers: list[list[str]] = []

    def __init__(self, model, reward_funcs, args, train_dataset, processing_class, callbacks):
        self.reward, self.args, self.data, self.callbacks = reward_funcs[0], args, train_dataset, callbacks
        self.state = SimpleNamespace(global_step=0)

    def train(self):
        rec = self.data[0]
        for step, texts in enumerate(self.answers, start=1):
            n = len(texts)
            rewards = self.reward(
                prompts=[rec["prompt"]] * n,
                completions=texts,
                completion_ids=None,
                label=[rec["label"]] * n,
                question=[rec["question"]] * n,
                rubrics=[rec["rubrics"]] * n,
            )
            self.state.global_step = step
            logs = {
                "reward": sum(rewards) / n,
                "longtracerl/outcome_mean": sum(r > 0 for r in rewards) / n,
                "longtracerl/rubric_mean": 0.0,
            }
            for cb in self.callbacks:
                cb.on_step_begin(self.args, self.state, None)
                cb.on_step_end(self.args, self.state, None)
                cb.on_log(self.args, self.state, None, logs=logs)
        return SimpleNamespace(training_loss=0.0)

    def save_model(self, path):
        self.model_dir = path


@pytest.mark.parametrize("right", [False, True])
def test_a_finished_run_writes_its_curves_and_warns_when_every_reward_is_zero(tmp_path, monkeypatch, right):
    import trl

    from longtracerl.train import runner

    label = json.loads(smoke_rows_path().read_text().splitlines()[0])["label"]
    _StubTrainer.answers = [[label if right else "no idea", "no idea", "no idea", "no idea"]] * 3
    monkeypatch.setattr(trl, "GRPOTrainer", _StubTrainer)
    cfg = load_preset("cpu-smoke", ["grpo.max_steps=3"])
    out = tmp_path / "run"
    summary = runner.train(cfg, None, out)
    assert summary["truncated"] == 0 and summary["steps"] == 3
    png = out / "train_curves.png"
    assert summary["curves"] == str(png) and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert ("every logged reward was 0 over 3 steps" in summary.get("warning", "")) is not right


def test_the_refusal_comes_before_any_prompt_is_cut(long_rows, smol_tok, monkeypatch):
    from longtracerl.config import ConfigError
    from longtracerl.train import data

    def no_cut(*_a, **_k):
        raise AssertionError("a prompt was cut before the rows were refused")

    monkeypatch.setattr(data, "bound_messages", no_cut)
    with pytest.raises(ConfigError, match=r"at least [\d,]+ of [\d,]+ prompt tokens"):
        build_records(load_rows(long_rows), smol_tok, 384, "truncate-middle", max_cut_share=0.5)
    # the other overflow rules cut nothing, so they keep their own errors
    with pytest.raises(ConfigError, match="every row is over"):
        build_records(load_rows(long_rows), smol_tok, 384, "drop", max_cut_share=0.5)
