"""Every stage command takes the same flags: ``--corpus DIR``, ``--run RUN``, ``--no-progress``,
``--config``, ``--set``; ``--out`` is a hidden old spelling of ``--run``."""

from __future__ import annotations

import pytest

from longtracerl.cli import build_parser

STAGE_COMMANDS = ["walks", "questions", "agent", "contexts"]


@pytest.mark.parametrize("command", STAGE_COMMANDS)
def test_stage_commands_share_their_flag_names(command):
    parser = build_parser()
    args = parser.parse_args([command, "--corpus", "C", "--run", "R", "--no-progress", "--set", "seed=1"])
    assert (args.corpus, args.run, args.no_progress, args.overrides) == ("C", "R", True, ["seed=1"])
    old = parser.parse_args([command, "--corpus", "C", "--out", "R"])
    assert old.run == "R" and old.no_progress is False


@pytest.mark.parametrize("command", [*STAGE_COMMANDS, "report"])
def test_help_shows_run_and_hides_the_old_spelling(command, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    text = capsys.readouterr().out
    assert "--run RUN" in text and "--no-progress" in text and "--out" not in text


def test_a_missing_run_is_named(capsys):
    from longtracerl.cli import main

    with pytest.raises(SystemExit, match="required: --run"):
        main(["agent", "--corpus", "C"])


@pytest.mark.parametrize(
    ("command", "action"), [("corpus", "prepare"), ("search", "index"), ("reward", "score")]
)
def test_a_command_of_actions_without_one_prints_its_help_and_fails(command, action, capsys):
    from longtracerl.cli import main

    assert main([command]) == 2
    text = capsys.readouterr().out
    assert f"usage: longtracerl {command}" in text and action in text
