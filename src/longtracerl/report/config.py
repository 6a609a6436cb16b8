"""Config of the difficulty report (YAML section ``report``)."""

from __future__ import annotations

from longtracerl.config import Field, PosInt, StageConfig
from longtracerl.contexts.config import STRATEGIES, Strategy


class ReportConfig(StageConfig):
    """What the report measures; contexts are re-assembled with the run's contexts config."""

    strategies: list[Strategy] = Field(default_factory=lambda: list(STRATEGIES))
    """Strategies to compare (assembled in memory)."""
    max_questions: PosInt = 200
    """Questions measured (seeded sample of those with a context)."""
    max_tokens_per_strategy: PosInt = 1_000_000
    """Context tokens assembled per strategy: the sample is also capped at this / target_tokens questions (7
    at 128K, 30 at 32K, 122 at 8K), so the report stays a small share of the run's time at long contexts;
    raise it for tighter figures."""
    seed: int = 0
    """Seed of the question sample."""
    target_tokens: int | None = Field(None, ge=64)
    """Measure at this budget instead of the run's own."""
    include_title: bool = True
    """Confusability looks at the title and the text (what the model sees)."""
    plots: bool = True
    """Write PNG plots beside report.md."""
