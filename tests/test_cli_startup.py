"""`import longtracerl` and `longtracerl --help` stay light: no torch, transformers, trl, servers."""

import json
import subprocess
import sys

HEAVY = [
    "torch",
    "transformers",
    "trl",
    "fastapi",
    "uvicorn",
    "ray",
    "datasets",
    "matplotlib",
    "pyarrow",
    "tokenizers",
]


def test_help_imports_nothing_heavy():
    code = (
        "import sys, json\n"
        "from longtracerl.cli import build_parser\n"
        "build_parser().format_help()\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_every_stage_has_a_subcommand():
    from longtracerl.cli import build_parser

    text = build_parser().format_help()
    for name in (
        "run",
        "corpus",
        "walks",
        "questions",
        "agent",
        "contexts",
        "export",
        "report",
        "search",
        "serve-search",
        "reward",
        "serve-reward",
        "train",
        "eval",
    ):
        assert f"    {name}" in text, name


def test_disk_full_is_a_clear_error_not_a_traceback(tmp_path, monkeypatch, capsys):
    import errno

    import longtracerl.run
    from longtracerl.cli import main

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(longtracerl.run, "run_pipeline", full)
    assert main(["run", "--out", str(tmp_path / "r"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "run the same command again to resume" in err
