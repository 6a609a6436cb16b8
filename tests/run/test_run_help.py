"""``longtracerl run --help`` tells the truth (issue 14): every ``--set KEY=VALUE`` it shows loads
(it suggested ``--set hops=6``, an unknown key), and ``--num-questions`` says what N counts."""

from __future__ import annotations

import re

import pytest

from longtracerl.cli import build_parser
from longtracerl.run import load_run_config


def _help(capsys) -> str:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--help"])
    return " ".join(capsys.readouterr().out.split())  # argparse's line wrapping undone


def test_every_set_example_of_run_help_loads(capsys):
    examples = [kv.rstrip(".") for kv in re.findall(r"--set ([a-z][\w.]*=[^\s,;()]+)", _help(capsys))]
    assert any(kv.startswith("walks.hops=") for kv in examples)
    # together (the LLM example sets agent.policy and agent.model): raises ConfigError on an
    # unknown key or a bad value
    load_run_config(None, examples)


def test_num_questions_says_it_counts_walks_and_where_the_funnel_is(capsys):
    text = _help(capsys)
    num = text[text.index("--num-questions N Walks") :][:400]
    assert "walks.num_walks" in num and "funnel" in num and "questions to write" not in num


@pytest.mark.parametrize(
    ("argv", "config"),
    [
        (["walks"], "longtracerl.walks.config:WalksConfig"),
        (["export"], "longtracerl.contexts.config:ContextsConfig"),
        (["train"], "longtracerl.train.config:TrainConfig"),
        (["eval"], "longtracerl.evals.config:EvalConfig"),
    ],
)
def test_the_set_example_of_every_stage_command_loads(argv, config, capsys):  # run's: the test above
    from longtracerl.config import load_config, resolve

    with pytest.raises(SystemExit):
        build_parser().parse_args([*argv, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    examples = [kv.rstrip(".") for kv in re.findall(r"e\.g\. --set ([a-z][\w.]*=[^\s,;()]+)", text)]
    cls = resolve({}, config, "config")
    assert examples
    for kv in examples:
        load_config(cls, None, [kv])  # raises ConfigError on an unknown key or a bad value
