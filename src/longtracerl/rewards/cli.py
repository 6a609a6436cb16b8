"""``longtracerl serve-reward`` and ``longtracerl reward score``.

``reward score`` reads a JSONL file with one response per line::

    {"id": "q1-0", "group_id": "q1", "response": "<raw model output>", "finish_reason": "stop",
     "label": "Paris", "question": "...", "rubrics": ["Eiffel Tower", "Seine"], "aliases": []}

(``id``, ``finish_reason``, ``aliases`` optional; ``group_id`` defaults to ``id``, i.e. a group
of one). Lines of one group must agree on label, question, rubrics and aliases. It writes one
line per response (``id``, ``group_id`` and every :class:`~longtracerl.records.RewardResult`
field) and a summary JSON (monitors over all responses) next to the output
(``OUT.summary.json``) or at ``--summary``. When some verdicts could not be obtained (their rows
have ``judge_error``) it says so and exits with status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from longtracerl.config import ConfigError, config_hash


class ResponseToScore(BaseModel):
    """One line of the ``reward score`` input."""

    model_config = ConfigDict(extra="forbid")
    id: str | None = None
    group_id: str | None = None
    response: str
    finish_reason: str | None = None
    label: str
    question: str = ""
    rubrics: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)
    schema_version: int | None = None


# the flags that stand for a RewardConfig field (flag -> field), by the commands that take them
_JUDGE_FLAGS = {
    "--judge": "judge", "--base-url": "base_url", "--model": "model", "--api-key-env": "api_key_env",
    "--judge-timeout": "judge_timeout_s", "--judge-budget": "judge_budget_s",
    "--judge-concurrency": "judge_concurrency",
}  # fmt: skip
_SERVE_FLAGS = {
    "--host": "host", "--port": "port", **_JUDGE_FLAGS, "--auth-key-env": "auth_key_env",
    "--insecure-no-key": "insecure_no_key", "--max-body-mb": "max_body_mb",
    "--max-concurrency": "max_concurrency", "--offload-mb": "offload_mb",
}  # fmt: skip
_SCORE_FLAGS = {
    "--processor": "processor", "--mode": "mode", "--eta": "eta", "--use-reasoning": "use_reasoning",
    **_JUDGE_FLAGS,
}  # fmt: skip


_METAVARS = {"api_key_env": "VAR", "auth_key_env": "VAR"}


def _config(args: argparse.Namespace) -> Any:
    """--config (its ``rewards:`` section in a whole-pipeline file), --set, then the flags."""
    from longtracerl.cliargs import stage_config
    from longtracerl.rewards.config import RewardConfig

    return stage_config(RewardConfig, args, {**_SERVE_FLAGS, **_SCORE_FLAGS}.values(), "rewards")


def _judge_from_config(cfg: Any) -> Any:
    from longtracerl.rewards.server import build_judge

    return build_judge(
        cfg.judge,
        base_url=cfg.base_url,
        model=cfg.model,
        api_key_env=cfg.api_key_env,
        timeout_s=cfg.judge_timeout_s,
        max_total_s=cfg.judge_budget_s,
        concurrency=cfg.judge_concurrency,
    )


def register(subparsers: Any) -> None:
    from longtracerl.cliargs import add_config_args, command_group, field_flags
    from longtracerl.rewards.config import RewardConfig

    serve = subparsers.add_parser(
        "serve-reward",
        help="Run the reward server (POST /evaluate, /evaluate_group; GET /health).",
        description="Reward server: a drop-in /evaluate for the authors' trainer, plus /evaluate_group.",
    )
    field_flags(serve, RewardConfig, _SERVE_FLAGS, metavars=_METAVARS)
    serve.add_argument("--log-level", default="warning", help="uvicorn log level (default warning).")
    add_config_args(serve)
    serve.set_defaults(func=_serve)

    sub = command_group(subparsers, "reward", "Score responses offline (rewards, components, monitors).")
    score = sub.add_parser(
        "score", help="Score a JSONL of responses; write per-response results and a summary."
    )
    score.add_argument(
        "--input", required=True, metavar="FILE", help="JSONL of responses (see docs/rewards.md)."
    )
    score.add_argument("--out", required=True, metavar="FILE", help="Per-response results (JSONL).")
    score.add_argument("--summary", metavar="FILE", help="Summary JSON (default: OUT.summary.json).")
    field_flags(score, RewardConfig, _SCORE_FLAGS, metavars=_METAVARS)
    add_config_args(score)
    score.set_defaults(func=_score)


def _serve(args: argparse.Namespace) -> int:
    from longtracerl.rewards.server import check_bind, serve

    cfg = _config(args)
    key = None
    if cfg.auth_key_env:
        key = os.environ.get(cfg.auth_key_env)
        if not key:
            raise ConfigError(f"--auth-key-env {cfg.auth_key_env}: the environment variable is not set")
    check_bind(cfg.host, key, cfg.insecure_no_key)  # before building a judge
    judge = _judge_from_config(cfg)
    print(
        f"reward server on http://{cfg.host}:{cfg.port} (judge {judge.name}"
        f"{', bearer key required' if key else ''})",
        file=sys.stderr,
    )
    serve(
        judge,
        host=cfg.host,
        port=cfg.port,
        api_key=key,
        log_level=args.log_level,
        insecure_no_key=cfg.insecure_no_key,
        settings=cfg.settings(),
        max_body_bytes=int(cfg.max_body_mb * 1024 * 1024),
        max_concurrency=cfg.max_concurrency,
        offload_bytes=int(cfg.offload_mb * 1024 * 1024),
        prewarm=True,
    )
    return 0


def load_groups(path: str | os.PathLike) -> list[tuple[str, list[tuple[int, ResponseToScore]]]]:
    """Read and group the input; errors name the file, the line and the field."""
    from longtracerl.records import RecordError, iter_json_lines, parse_record

    groups: dict[str, list[tuple[int, ResponseToScore]]] = {}
    for lineno, obj in iter_json_lines(path):
        row = parse_record(obj, ResponseToScore, path=path, line=lineno)
        gid = (
            row.group_id if row.group_id is not None else (row.id if row.id is not None else f"line{lineno}")
        )
        members = groups.setdefault(gid, [])
        if members:
            first_line, first = members[0]
            for fld in ("label", "question", "rubrics", "aliases"):
                if getattr(row, fld) != getattr(first, fld):
                    raise RecordError(
                        path, lineno, fld, f"differs from line {first_line} of the same group_id '{gid}'"
                    )
        members.append((lineno, row))
    return list(groups.items())


def _score(args: argparse.Namespace) -> int:
    from longtracerl.records import atomic_write_text, write_jsonl
    from longtracerl.rewards.combine import batch_monitors, score_group
    from longtracerl.rewards.parse import get_processor

    cfg = _config(args)
    if not Path(args.input).exists():
        raise FileNotFoundError(f"--input {args.input}: no such file")
    settings = cfg.settings().replace(processor=get_processor(cfg.processor))
    groups = load_groups(args.input)
    judge = _judge_from_config(cfg)
    out_rows: list[dict[str, Any]] = []
    results = []
    for gid, members in groups:
        first = members[0][1]
        g = score_group(
            [m.response for _, m in members],
            label=first.label,
            question=first.question,
            rubrics=first.rubrics,
            judge=judge,
            settings=settings,
            finish_reasons=[m.finish_reason for _, m in members],
            aliases=first.aliases,
        )
        for (lineno, m), r in zip(members, g.results, strict=True):
            results.append(r)
            out_rows.append(
                {"id": m.id if m.id is not None else f"line{lineno}", "group_id": gid, **r.model_dump()}
            )
    n = write_jsonl(args.out, out_rows)
    summary = {
        "input": str(args.input),
        "responses": n,
        "groups": len(groups),
        "judge": judge.name,
        "judge_approximate": cfg.judge == "rule",
        "config": cfg.model_dump(mode="json"),
        "config_hash": config_hash(cfg),
        "monitors": batch_monitors(results),
        "judge_errors": sum(1 for r in results if r.judge_error),
    }
    summary_path = args.summary or f"{args.out}.summary.json"
    atomic_write_text(summary_path, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    m = summary["monitors"]
    print(
        f"scored {n} responses in {len(groups)} groups -> {args.out}; "
        f"reward mean {m['reward_mean'] or 0:.4f}, accuracy {m['outcome_mean'] or 0:.4f}, "
        f"gated {m['gated_share'] or 0:.2%}; summary {summary_path}",
        file=sys.stderr,
    )
    if summary["judge_errors"]:
        print(
            f"warning: {summary['judge_errors']} verdict(s) could not be obtained from the judge: those rows "
            "have judge_error set and outcome/reward are placeholders, not judgements; score them again",
            file=sys.stderr,
        )
        return 1
    return 0
