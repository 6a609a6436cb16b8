"""Per-step training metrics: a TRL/transformers callback that writes ``OUT/metrics.jsonl``.

TRL's ``GRPOTrainer.log`` merges its own metrics (``reward``, ``reward_std``,
``completions/mean_length``, ...) with every value the reward callable sent through
``log_metric`` (``longtracerl/outcome_mean``, ``longtracerl/gated_share``, ...), averaged over the
logging interval, and hands the result to each callback's ``on_log``. With ``logging_steps=1`` that
is one line per optimiser step. Each line has the stable keys below, then ``trl``: every value TRL
logged at that step, unchanged.

========================  =====================================================================
key                       meaning (source key in TRL's log)
========================  =====================================================================
step                      optimiser step (``state.global_step``)
reward                    mean final reward of the step's completions (``reward``)
reward_std                mean within-group std (``reward_std``)
outcome                   judge accuracy (``longtracerl/outcome_mean``)
rubric                    raw rubric score, mean (``longtracerl/rubric_mean``)
rubric_normalised         rubric / group max, mean (``longtracerl/rubric_normalised_mean``)
gated_share               share of completions gated to 0 (``longtracerl/gated_share``)
gated_by_reason           {reason: share} (``longtracerl/gated_by_reason/<reason>``)
rubric_on_wrong           mean rubric score of wrong answers (``longtracerl/rubric_on_wrong``)
rubric_hit_rate_wrong     share of wrong answers hitting >= 1 rubric (``longtracerl/rubric_hit_share_wrong``)
response_length           mean completion length, tokens (``completions/mean_length``)
clipped_ratio             share of completions cut at max_completion_length (``completions/clipped_ratio``)
loss, grad_norm, lr       optimiser (``loss``, ``grad_norm``, ``learning_rate``)
step_seconds              wall time of the step (measured by this callback)
========================  =====================================================================
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

PREFIX = "longtracerl/"
KEYS = {
    "reward": "reward",
    "reward_std": "reward_std",
    "outcome": PREFIX + "outcome_mean",
    "rubric": PREFIX + "rubric_mean",
    "rubric_normalised": PREFIX + "rubric_normalised_mean",
    "gated_share": PREFIX + "gated_share",
    "rubric_on_wrong": PREFIX + "rubric_on_wrong",
    "rubric_hit_rate_wrong": PREFIX + "rubric_hit_share_wrong",
    "judge_error_share": PREFIX + "judge_error_share",
    "response_length": "completions/mean_length",
    "clipped_ratio": "completions/clipped_ratio",
    "loss": "loss",
    "grad_norm": "grad_norm",
    "lr": "learning_rate",
    "entropy": "entropy",
}
REQUIRED = ("step", "reward", "outcome", "rubric")


def _num(v: Any) -> Any:
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def metrics_line(step: int, logs: dict[str, Any], step_seconds: float | None = None) -> dict[str, Any]:
    """The metrics.jsonl record of one TRL log dict.

    >>> metrics_line(3, {"reward": 0.5, "longtracerl/outcome_mean": 0.25, "longtracerl/rubric_mean": 0.4,
    ...                  "longtracerl/gated_by_reason/truncated": 0.5})["gated_by_reason"]
    {'truncated': 0.5}
    """
    line: dict[str, Any] = {"step": step}
    for key, src in KEYS.items():
        line[key] = _num(logs.get(src))
    reasons = {
        k[len(PREFIX + "gated_by_reason/") :]: _num(v)
        for k, v in logs.items()
        if k.startswith(PREFIX + "gated_by_reason/")
    }
    line["gated_by_reason"] = reasons
    line["step_seconds"] = round(step_seconds, 3) if step_seconds is not None else None
    line["trl"] = {k: _num(v) for k, v in logs.items()}
    return line


class MetricsWriter:
    """Appends one :func:`metrics_line` per training log to ``path`` (flushed each line)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("", encoding="utf-8")
        self._t0: float | None = None
        self.last_step_seconds: float | None = None
        self.lines = 0

    def step_begin(self) -> None:
        self._t0 = time.perf_counter()

    def step_end(self) -> None:
        if self._t0 is not None:
            self.last_step_seconds = time.perf_counter() - self._t0

    def log(self, step: int, logs: dict[str, Any]) -> None:
        if not logs or "reward" not in logs:
            return  # the end-of-training summary (train_runtime, ...) is not a step
        line = metrics_line(step, dict(logs), self.last_step_seconds)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
        self.lines += 1


def make_callback(path: str | Path):
    """A ``transformers.TrainerCallback`` writing ``path`` (transformers imported here)."""
    from transformers import TrainerCallback

    writer = MetricsWriter(path)

    class MetricsCallback(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):  # noqa: ANN001
            writer.step_begin()

        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001
            writer.step_end()

        def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001
            writer.log(int(state.global_step), logs or {})

    cb = MetricsCallback()
    cb.writer = writer
    return cb


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    p = Path(path)
    if p.is_dir():
        p = p / "metrics.jsonl"
    if not p.exists():
        raise FileNotFoundError(f"{p}: no metrics (train with `longtracerl train --out DIR` first)")
    rows = []
    for lineno, text in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        if text.strip():
            try:
                rows.append(json.loads(text))
            except ValueError as err:
                raise ValueError(f"{p}:{lineno}: not JSON ({err})") from None
    return rows
