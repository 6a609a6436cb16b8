"""Training curves (PNG, matplotlib Agg) from one or more ``metrics.jsonl`` files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from longtracerl.train.metrics import read_metrics

PANELS = (
    ("reward", "reward (final, mean)"),
    ("outcome", "outcome accuracy (judge)"),
    ("rubric", "rubric score (raw, mean)"),
    ("gated_share", "gated share"),
    ("rubric_hit_rate_wrong", "rubric hit rate on wrong answers"),
    ("response_length", "response length (tokens)"),
)


def rolling_mean(ys: Sequence[float], k: int) -> list[float]:
    """Trailing mean over the last ``k`` points (fewer at the start).

    >>> rolling_mean([0, 1, 1, 0], 2)
    [0.0, 0.5, 1.0, 0.5]
    """
    out: list[float] = []
    for i in range(len(ys)):
        w = ys[max(0, i - k + 1) : i + 1]
        out.append(float(sum(w)) / len(w))
    return out


def plot_runs(
    runs: Sequence[str | Path],
    out: str | Path | None = None,
    labels: Sequence[str] | None = None,
    smooth: int = 0,
) -> Path:
    """One panel per metric, one line per run. ``smooth`` > 1: the per-step points are drawn faint and
    a trailing mean over ``smooth`` steps is drawn over them (single-prompt steps are noisy)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = [read_metrics(r) for r in runs]
    names = list(labels) if labels else [Path(r).name for r in runs]
    if len(names) != len(series):
        raise ValueError(f"{len(names)} labels for {len(series)} runs")
    fig, axes = plt.subplots(2, 3, figsize=(13, 6.5))
    for ax, (key, title) in zip(axes.flat, PANELS, strict=True):
        for rows, name in zip(series, names, strict=True):
            pts = [(r["step"], r[key]) for r in rows if r.get(key) is not None]
            if pts:
                xs, ys = zip(*pts, strict=True)
                if smooth > 1:
                    (line,) = ax.plot(xs, ys, marker="o", markersize=2, linewidth=0.6, alpha=0.35)
                    ax.plot(
                        xs,
                        rolling_mean(ys, smooth),
                        color=line.get_color(),
                        linewidth=2,
                        label=f"{name} (mean of last {smooth})",
                    )
                else:
                    ax.plot(xs, ys, marker="o", markersize=3, label=name)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    path = Path(out) if out else Path(runs[0]) / "train_curves.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
