"""PNG plots of the difficulty report (matplotlib's Agg canvas; docs/report.md).

Figures are made with :class:`matplotlib.figure.Figure` directly (no pyplot state to keep or
close) and fixed margins instead of ``tight_layout``, which draws each figure once more to
measure it: about 40 % of the plotting time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _figure(width: float, height: float, **margins: float) -> tuple[Any, Any]:
    """A figure of one axes with fixed margins (fractions of the figure), and its axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(**{"left": 0.1, "right": 0.97, "bottom": 0.15, "top": 0.9, **margins})
    return fig, fig.subplots()


def _save(fig: Any, path: Path) -> str:
    fig.savefig(path, dpi=100)
    return str(path)


def write_plots(report: dict[str, Any], lengths: list[int], out: Path) -> list[str]:
    """Write the plots; returns their paths."""
    paths: list[str] = []

    # confusability: measured vs paper
    labels, ours, paper = [], [], []
    for s, v in report["strategies"].items():
        labels.append(s)
        ours.append(v["confusability_pct"] or 0.0)
        paper.append(v["paper_pct"] or 0.0)
    for tag, name in (("tier1", "Tier-1"), ("tier2", "Tier-2")):
        labels.append(name)
        ours.append(report["tiers"][tag]["pct"] or 0.0)
        paper.append(report["tiers"][tag]["paper_pct"])
    fig, ax = _figure(8, 4, left=0.08, bottom=0.2)
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], ours, width=0.4, label="measured")
    ax.bar([x + 0.2 for x in xs], paper, width=0.4, label="paper")
    ax.set_xticks(list(xs), labels, rotation=20)
    ax.set_ylabel("confusable distractors (%)")
    ax.set_title("Confusability by distractor strategy")
    ax.legend()
    paths.append(_save(fig, out / "confusability.png"))

    if lengths:
        fig, ax = _figure(6, 3.5, left=0.12, bottom=0.15)
        ax.hist(lengths, bins=30)
        ax.set_xlabel("prompt tokens")
        ax.set_ylabel("contexts")
        ax.set_title("Context length distribution")
        paths.append(_save(fig, out / "context_lengths.png"))

    per = report["agent"].get("per_attempt") or {}
    if per:
        paths.append(_agent_success(report["agent"], out))

    top_k = {s: v["gold_rank"].get("all_gold_in_top_k_pct") for s, v in report["strategies"].items()}
    top_k = {s: v for s, v in top_k.items() if v}
    if top_k:
        paths.append(_gold_in_top_k(top_k, out))
    return paths


def _agent_success(agent: dict[str, Any], out: Path) -> str:
    """Attempts and correct attempts per attempt number (counts on the bars), and the cumulative
    share of questions solved by attempt k (right axis)."""
    per = agent["per_attempt"]
    ks = list(per)
    xs = range(len(ks))
    made = [per[k]["attempts"] for k in ks]
    correct = [per[k]["correct"] for k in ks]
    fig, ax = _figure(6.5, 3.8, left=0.1, right=0.88, bottom=0.14)
    ax.bar([x - 0.2 for x in xs], made, width=0.4, color="#bbbbbb", label="attempts made")
    ax.bar([x + 0.2 for x in xs], correct, width=0.4, color="#4c72b0", label="correct")
    for x, m, c in zip(xs, made, correct, strict=True):
        ax.annotate(str(m), (x - 0.2, m), ha="center", va="bottom", fontsize=8)
        ax.annotate(str(c), (x + 0.2, c), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(list(xs), ks)
    ax.set_xlabel("attempt")
    ax.set_ylabel("count")
    ax.set_ylim(0, max(made) * 1.15 + 1)
    right = ax.twinx()
    solved = agent.get("solved_by_attempt") or {}
    right.plot(
        list(xs), [100 * (solved.get(k) or 0) for k in ks], "o-", color="black", label="solved by attempt k"
    )
    right.set_ylim(0, 105)
    right.set_ylabel("questions solved by attempt k (%)")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = right.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper right", fontsize=8)
    ax.set_title(
        f"Search agent: {agent.get('solved', 0)} of {agent.get('questions_tried', 0)} questions solved"
    )
    return _save(fig, out / "agent_success.png")


def _gold_in_top_k(top_k: dict[str, dict[str, float]], out: Path) -> str:
    """Share of contexts whose gold pages are all among the top k documents (BM25 on the
    question), per strategy: the lower the curve, the harder the gold is to pick out."""
    fig, ax = _figure(6.5, 3.8, left=0.1, bottom=0.14)
    for s, curve in top_k.items():
        ks = [int(k) for k in curve]
        ax.plot(ks, list(curve.values()), "o-", label=s)
    ax.set_xscale("log")
    from longtracerl.report.stage import TOP_K

    largest = max(int(k) for curve in top_k.values() for k in curve)
    # the last point of a curve: all documents (a round k too close to it would print over it)
    ticks = [k for k in TOP_K if k * 1.5 < largest] + [largest]
    ax.set_xticks(ticks, [str(k) for k in ticks])
    ax.minorticks_off()
    ax.set_ylim(0, 105)
    ax.set_xlabel("k (documents of the context, ranked by BM25 on the question)")
    ax.set_ylabel("contexts with all gold in top k (%)")
    ax.set_title("Retrieval difficulty by distractor strategy")
    ax.legend(fontsize=8)
    return _save(fig, out / "gold_in_top_k.png")
