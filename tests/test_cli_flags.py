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


def test_a_field_flag_takes_its_help_type_and_default_from_the_config_field():
    import argparse

    from longtracerl.cliargs import field_flag
    from longtracerl.rewards.config import RewardConfig

    parser = argparse.ArgumentParser()
    timeout = field_flag(parser, "--judge-timeout", RewardConfig, "judge_timeout_s")
    judge = field_flag(parser, "--judge", RewardConfig, "judge")
    key = field_flag(parser, "--auth-key-env", RewardConfig, "auth_key_env", metavar="VAR")
    switch = field_flag(parser, "--use-reasoning", RewardConfig, "use_reasoning")
    info = RewardConfig.model_fields["judge_timeout_s"]
    assert timeout.dest == "judge_timeout_s" and timeout.type is float and timeout.default is None
    assert timeout.help.startswith(info.description) and f"Default: {info.default:g}." in timeout.help
    assert judge.choices == ["rule", "llm"] and judge.help.endswith("Default: rule.")
    assert key.metavar == "VAR" and "Default" not in key.help  # no default worth naming (None)
    assert switch.nargs == 0 and switch.default is None and "Default" not in switch.help
    args = parser.parse_args(["--judge-timeout", "7", "--use-reasoning"])
    assert (args.judge_timeout_s, args.use_reasoning, args.judge) == (7.0, True, None)


def test_a_nested_field_flag_and_an_omitted_flag_leave_the_config_default(tmp_path):
    import argparse

    from longtracerl.cliargs import add_config_args, field_flag, stage_config
    from longtracerl.contexts.config import ContextsConfig

    parser = argparse.ArgumentParser()
    add_config_args(parser)
    fmt = field_flag(parser, "--format", ContextsConfig, "export.format")
    field_flag(parser, "--heldout-count", ContextsConfig, "export.heldout_count")
    assert fmt.dest == "format" and fmt.choices == ["released", "verl", "all"]
    fields = ["export.format", "export.heldout_count"]
    given = stage_config(ContextsConfig, parser.parse_args(["--heldout-count", "3"]), fields, "contexts")
    assert (given.export.format, given.export.heldout_count) == (ContextsConfig().export.format, 3)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("export:\n  format: verl\n")
    args = parser.parse_args(
        ["--config", str(cfg), "--format", "released", "--set", "export.heldout_count=2"]
    )
    flagged = stage_config(ContextsConfig, args, fields, "contexts")
    assert (flagged.export.format, flagged.export.heldout_count) == ("released", 2)


def test_an_unknown_field_is_named():
    import argparse

    from longtracerl.cliargs import field_flag
    from longtracerl.rewards.config import RewardConfig

    with pytest.raises(KeyError, match="judge_timeout"):
        field_flag(argparse.ArgumentParser(), "--timeout", RewardConfig, "judge_timeout")


def test_run_help_names_the_run_default_not_the_stage_default():
    from longtracerl.run import RUN_DEFAULTS

    flag = next(
        a
        for a in build_parser()._subparsers._group_actions[0].choices["run"]._actions
        if a.dest == "num_questions"
    )
    assert flag.help.endswith(f"Default: {RUN_DEFAULTS['walks']['num_walks']}.")


def test_a_field_flag_refuses_a_switch_that_could_not_change_its_field_and_a_list_field():
    import argparse

    from longtracerl.cliargs import field_flag
    from longtracerl.contexts.config import ContextsConfig
    from longtracerl.rewards.config import RewardConfig

    parser = argparse.ArgumentParser()
    with pytest.raises(TypeError, match="defaults to True"):
        field_flag(parser, "--use-content", RewardConfig, "use_content")
    on_off = field_flag(
        parser, "--use-content", RewardConfig, "use_content", action=argparse.BooleanOptionalAction
    )
    assert parser.parse_args(["--no-use-content"]).use_content is False and on_off.default is None
    with pytest.raises(TypeError, match="no flag type"):
        field_flag(parser, "--fill", ContextsConfig, "fill")


def test_flags_become_typed_overrides_that_win_over_set():
    from longtracerl.cli import build_parser
    from longtracerl.cliargs import field_overrides
    from longtracerl.run import _RUN_FLAGS, load_run_config
    from longtracerl.train.cli import _TRAIN_FLAGS
    from longtracerl.train.config import load_preset

    parser = build_parser()
    argv = [
        "train",
        "--preset",
        "cpu-smoke",
        "--out",
        "o",
        "--reward",
        "rubric-all",
        "--rubric-weight",
        "0.5",
    ]
    args = parser.parse_args([*argv, "--max-steps", "2", "--seed", "7", "--set", "grpo.max_steps=9"])
    cfg = load_preset("cpu-smoke", field_overrides(args, _TRAIN_FLAGS.values()))
    assert (cfg.reward.mode, cfg.reward.eta, cfg.grpo.max_steps, cfg.grpo.seed) == ("rubric-all", 0.5, 2, 7)
    probe = parser.parse_args(
        [
            "train-probe",
            "--preset",
            "cpu-smoke",
            "--data",
            "r.jsonl",
            "--out",
            "o",
            "--reward",
            "outcome-only",
        ]
    )
    assert load_preset("cpu-smoke", field_overrides(probe, ["reward.mode"])).reward.mode == "outcome-only"
    # a flag's value is not read again as YAML: a corpus folder named "null" or "yes" stays a path
    run = parser.parse_args(["run", "--out", "o", "--corpus", "null", "--workers", "2"])
    overrides = field_overrides(run, _RUN_FLAGS, [("executor.workers", 2)])
    assert overrides == {"corpus_dir": "null", "executor": {"workers": 2}}
    assert load_run_config(None, overrides).corpus_dir == "null"
