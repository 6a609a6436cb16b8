"""PNG plots of the difficulty report (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_plots(
    report: dict[str, Any], lengths: list[int], ranks: dict[str, list[dict]], out: Path
) -> list[str]:
    """Write the plots; returns their paths."""
    plt = _plt()
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
    fig, ax = plt.subplots(figsize=(8, 4))
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], ours, width=0.4, label="measured")
    ax.bar([x + 0.2 for x in xs], paper, width=0.4, label="paper")
    ax.set_xticks(list(xs), labels, rotation=20)
    ax.set_ylabel("confusable distractors (%)")
    ax.set_title("Confusability by distractor strategy")
    ax.legend()
    fig.tight_layout()
    p = out / "confusability.png"
    fig.savefig(p, dpi=100)
    plt.close(fig)
    paths.append(str(p))

    if lengths:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.hist(lengths, bins=30)
        ax.set_xlabel("prompt tokens")
        ax.set_ylabel("contexts")
        ax.set_title("Context length distribution")
        fig.tight_layout()
        p = out / "context_lengths.png"
        fig.savefig(p, dpi=100)
        plt.close(fig)
        paths.append(str(p))

    per = report["agent"].get("per_attempt") or {}
    if per:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ks = list(per)
        ax.bar(ks, [100 * (per[k]["rate"] or 0) for k in ks], label="accuracy of attempt")
        solved = report["agent"]["solved_by_attempt"]
        ax.plot(ks, [100 * (solved.get(k) or 0) for k in ks], "o-", color="black", label="solved by attempt")
        ax.set_xlabel("attempt")
        ax.set_ylabel("%")
        ax.set_title("Search agent success")
        ax.legend()
        fig.tight_layout()
        p = out / "agent_success.png"
        fig.savefig(p, dpi=100)
        plt.close(fig)
        paths.append(str(p))

    data = {s: [r["best"] for r in rs] for s, rs in ranks.items() if rs}
    if data:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        ax.boxplot(list(data.values()), showfliers=False)
        ax.set_xticks(range(1, len(data) + 1), list(data), rotation=15)
        ax.set_ylabel("best gold rank (BM25, question)")
        ax.set_yscale("log")
        ax.set_title("Retrieval difficulty: rank of the best gold page")
        fig.tight_layout()
        p = out / "gold_rank.png"
        fig.savefig(p, dpi=100)
        plt.close(fig)
        paths.append(str(p))
    return paths
