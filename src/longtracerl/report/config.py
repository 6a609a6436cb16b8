"""Config of the difficulty report (YAML section ``report``)."""

from __future__ import annotations

from longtracerl.config import Field, StageConfig
from longtracerl.contexts.config import STRATEGIES, Strategy


class ReportConfig(StageConfig):
    """What the report measures; contexts are re-assembled with the run's contexts config."""

    strategies: list[Strategy] = Field(
        default_factory=lambda: list(STRATEGIES), description="Strategies to compare (assembled in memory)."
    )
    max_questions: int = Field(
        default=200, ge=1, description="Questions measured (seeded sample of those with a context)."
    )
    max_tokens_per_strategy: int = Field(
        default=1_000_000,
        ge=1,
        description=(
            "Context tokens assembled per strategy: the sample is also capped at this / target_tokens "
            "questions (7 at 128K, 30 at 32K, 122 at 8K), so the report stays a small share of the "
            "run's time at long contexts; raise it for tighter figures."
        ),
    )
    seed: int = Field(default=0, description="Seed of the question sample.")
    target_tokens: int | None = Field(
        default=None, ge=64, description="Measure at this budget instead of the run's own."
    )
    include_title: bool = Field(
        default=True, description="Confusability looks at the title and the text (what the model sees)."
    )
    plots: bool = Field(default=True, description="Write PNG plots beside report.md.")
