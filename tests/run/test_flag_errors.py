"""A bad value given by a command-line flag is labelled ``command line`` (issue 14: it read
``<defaults>``), for ``run`` and the stage commands alike."""

from __future__ import annotations

import pytest

from longtracerl.cli import main


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["run", "--out", "{tmp}/run", "--target-tokens", "10"], "contexts.target_tokens"),
        (["contexts", "--corpus", "{tmp}/c", "--run", "{tmp}/r", "--target-tokens", "10"], "target_tokens"),
        (["walks", "--corpus", "{tmp}/c", "--run", "{tmp}/r", "--hops", "0"], "hops"),
        (["report", "--run", "{tmp}/r", "--max-questions", "0"], "max_questions"),
    ],
)
def test_a_bad_flag_value_is_labelled_command_line(argv, field, tmp_path, capsys):
    code = main([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert f"error: command line: field '{field}'" in err and "<defaults>" not in err
    assert not any(tmp_path.iterdir())  # refused before anything was written
