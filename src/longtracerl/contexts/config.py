"""Configs of the contexts and export stages (YAML section ``contexts``; ``export`` nested in it)."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from longtracerl.config import ConfigError, Field, NonNegInt, PosInt, StageConfig

Strategy = Literal["traj-tiered", "traj-random", "one-shot-search", "random"]
STRATEGIES: tuple[str, ...] = ("traj-tiered", "traj-random", "one-shot-search", "random")
FillSource = Literal["search", "random"]


class ExportConfig(StageConfig):
    """How contexts become training rows (released JSONL, verl Parquet, held-out split)."""

    enabled: bool = True
    """Export rows right after assembling contexts."""
    format: Literal["released", "verl", "all"] = "all"
    """released: rows.jsonl + heldout.jsonl; verl: rows.parquet + heldout.parquet; all: both."""
    heldout_fraction: float = Field(0.05, ge=0.0, lt=1.0)
    """Share of questions held out (split by gold pages; ignored when heldout_count is set)."""
    heldout_count: NonNegInt | None = None
    """Held-out questions (at most this many: whole components only)."""
    seed: int = 0
    """Seed of the held-out split."""
    dataset_name: str = "longqa"
    """`source` and `dataset_name` of every row."""
    ability: str = "long-context-qa"
    """verl `ability` column."""
    row_group_size: PosInt = 32
    """Rows per Parquet row group (memory bound)."""


class ContextsConfig(StageConfig):
    """Context assembly (docs/method.md#distractor-tiers-and-contexts): gold + Tier-1 + Tier-2 + fill up to a token budget."""

    strategy: Strategy = "traj-tiered"
    """Distractor strategy (docs/method.md#distractor-tiers-and-contexts)."""
    target_tokens: int = Field(32768, ge=64)
    """Budget for the whole user message in tokens of `tokenizer` (the paper uses 131072)."""
    tokenizer: str = "smollm2-gguf"
    """smollm2-gguf (embedded), a tokenizer.json, a Hugging Face tokenizer folder or a .gguf."""
    seed: int = 0
    """Seed of instruction choice, random pages and shuffling."""
    fill: list[FillSource] = Field(default_factory=lambda: ["search", "random"])
    """Sources used, in order, when the strategy's own pool runs short."""
    fill_search_k: NonNegInt = 0
    """BM25 hits per fill query (question, each rubric); 0 = enough to fill."""
    one_shot_k: NonNegInt = 0
    """Hits of the one-shot search; 0 = enough to fill."""
    max_search_k: PosInt = 2000
    """Upper bound on any single search's k."""
    max_consecutive_skips: PosInt = 64
    """Stop filling after this many pages in a row did not fit."""
    verify_tokens: Literal["auto", "always"] = "auto"
    """auto: when the tokenizer is additive over the prompt layout, count exactly the first 4 and every 200th
    prompt; always: count every prompt exactly."""
    missing_pages: Literal["skip", "error"] = "skip"
    """A distractor id missing from the store: skip (counted) or error."""
    require_rubrics: bool = True
    """Reject questions whose rubric list is empty."""
    limit: PosInt | None = None
    """Assemble at most this many contexts."""
    on_config_change: Literal["rebuild", "error"] = "rebuild"
    """RUN/contexts.jsonl built with other assembly settings: rebuild (the old file is kept as contexts.<old
    hash>.jsonl) or error."""
    export: ExportConfig = Field(default_factory=ExportConfig)
    """Export settings."""

    @model_validator(mode="after")
    def _check(self) -> ContextsConfig:
        if len(set(self.fill)) != len(self.fill):
            raise ConfigError(f"field 'fill': duplicate sources in {self.fill}")
        return self
