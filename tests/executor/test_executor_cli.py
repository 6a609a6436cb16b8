"""The executor flags of `longtracerl run` and the stage commands."""

from __future__ import annotations

import argparse

import pytest

from longtracerl.cli import build_parser, main
from longtracerl.cliargs import add_executor_args, executor_overrides
from longtracerl.config import ConfigError
from longtracerl.executor import InlineExecutor, ProcessExecutor
from longtracerl.run import load_run_config


def _args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_executor_args(p)
    return p.parse_args(argv)


@pytest.mark.parametrize(
    ("argv", "want"),
    [
        ((), []),
        (("--workers", "3"), [("executor.workers", 3)]),
        (("--executor", "ray"), [("executor.kind", "ray")]),
        (("--ray-address", "yes"), [("executor.kind", "ray"), ("executor.ray_address", "yes")]),
    ],
)
def test_flags_become_run_config_overrides(argv, want):
    from longtracerl.config import parse_overrides

    overrides = executor_overrides(_args(*argv), prefix="executor.")
    assert overrides == want
    cfg = load_run_config(None, parse_overrides([], overrides)).executor  # "yes" stays an address
    assert cfg.kind == ("ray" if argv and argv[0] != "--workers" else "local")


def test_ray_address_with_the_local_executor_is_refused():
    with pytest.raises(ConfigError, match="--ray-address needs --executor ray"):
        executor_overrides(_args("--executor", "local", "--ray-address", "auto"))
    assert main(["walks", "--corpus", "x", "--out", "y", "--executor", "local", "--ray-address", "auto"]) == 2


@pytest.mark.parametrize("command", ["run", "walks", "questions", "agent", "contexts"])
def test_every_item_stage_takes_the_executor_flags(command):
    sub = build_parser()._subparsers._group_actions[0].choices[command]
    flags = {opt for action in sub._actions for opt in action.option_strings}
    assert {"--executor", "--workers", "--ray-address"} <= flags


def test_executor_choice_follows_the_workers():
    from longtracerl.cliargs import executor_from_args

    assert isinstance(executor_from_args(_args()), InlineExecutor)
    ex = executor_from_args(_args("--workers", "2"))
    assert isinstance(ex, ProcessExecutor) and ex.workers == 2
    with pytest.raises(ConfigError, match="workers"):
        executor_from_args(_args("--workers", "-1"))
