"""Config of the walks stage (docs/method.md#walks)."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from longtracerl.config import ConfigError, Field, StageConfig
from longtracerl.llm.base import LLMClientSettings, client_settings_field, structured_field


class WalksConfig(StageConfig):
    """Controlled random walks with mad-walk jumps; one kept segment = one ``Walk`` record."""

    num_walks: int = Field(
        default=100, ge=1, description="Kept segments to reach (a re-run continues to it)."
    )
    hops: int = Field(
        default=8,
        ge=2,
        description=(
            "Pages per segment (the entry page is step 1). Paper: 8. On the small HotpotQA corpus "
            "8-page segments survive less often; see docs/walks.md for measured survival."
        ),
    )
    min_unique: int | None = Field(
        default=None,
        ge=2,
        description="Minimum unique titles of a kept segment; default max(2, hops*7//8) (7 for 8 hops).",
    )
    seed: int = Field(default=0, description="Seed; chain k uses the generator seeded with (seed, k).")
    chooser: str = Field(
        default="related",
        description="Next-hop chooser: related (non-LLM, TF-IDF cosine), first (non-LLM), llm, or module:attr.",
    )
    min_out_links: int = Field(
        default=3, ge=0, description="A page is a usable hop only with MORE than this many outgoing links."
    )
    max_candidates: int = Field(default=5, ge=1, description="Candidates sampled per step (paper: 5).")
    require_answerable_end: bool = Field(
        default=True,
        description=(
            "The last page must offer an answer (a year, number or corpus entity): the last step only "
            "considers such candidates and trailing pages without one are trimmed."
        ),
    )
    lookahead: bool = Field(
        default=True,
        description=(
            "Prefer candidates that have a usable unvisited neighbour themselves (one-step lookahead; "
            "not in the paper: it cuts dead ends on sparse graphs such as the HotpotQA corpus), and "
            "seed chains only at such pages. The chooser still picks among up to max_candidates."
        ),
    )
    unique_paths: bool = Field(
        default=True,
        description="Reject a segment whose page sequence equals an already kept walk (reason duplicate_walk).",
    )
    segments_per_chain: int = Field(
        default=10, ge=1, description="Segments walked from one seed page (joined by mad-walk jumps)."
    )
    max_consecutive_rejects: int = Field(
        default=3, ge=1, description="A chain ends after this many rejected segments in a row."
    )
    jump_min: int = Field(default=2, ge=1, description="Fewest random hops of a mad-walk jump.")
    jump_max: int = Field(default=4, ge=1, description="Most random hops of a mad-walk jump.")
    jump_retries: int = Field(
        default=20, ge=1, description="Jump attempts before restarting from a visited page."
    )
    max_segments_factor: int = Field(
        default=50, ge=1, description="Safety bound: stop after num_walks * this many attempted segments."
    )
    seed_titles: list[str] = Field(
        default_factory=list, description="Optional seed page titles (or ids); default: random usable pages."
    )
    min_seed_in_degree: int = Field(
        default=0, ge=0, description="Popularity filter: seed pages need at least this many incoming links."
    )
    # chooser options
    related_chars: int = Field(
        default=2000, ge=50, description="Characters of page text the related chooser compares."
    )
    idf_sample: int = Field(
        default=20_000, ge=1, description="Pages sampled (evenly) to estimate IDF for the related chooser."
    )
    llm: str = Field(
        default="openai:",
        description="LLM spec for chooser=llm (see llm.openai.make_chat_model); 'openai:' = model and URL from env.",
    )
    llm_max_tokens: int = Field(default=64, ge=1, description="Reply budget of the LLM chooser.")
    llm_client: LLMClientSettings = client_settings_field()
    llm_structured: Literal["json_object_schema", "json_schema", "json_object", "off"] = structured_field(
        'the LLM chooser ({"choice": N}; off: a plain number)'
    )
    llm_temperature: float = Field(
        default=0.0, ge=0.0, description="Sampling temperature of the LLM chooser."
    )
    current_chars: int = Field(
        default=600, ge=50, description="Characters of the current page shown to the LLM."
    )
    candidate_chars: int = Field(
        default=200, ge=20, description="Characters of each candidate shown to the LLM."
    )

    @property
    def effective_min_unique(self) -> int:
        return self.min_unique if self.min_unique is not None else max(2, self.hops * 7 // 8)

    @model_validator(mode="after")
    def _check(self) -> WalksConfig:
        if self.min_unique is not None and self.min_unique > self.hops:
            raise ConfigError(
                f"field 'min_unique': {self.min_unique} is more than hops={self.hops}; "
                "set min_unique <= hops or leave it empty for the default"
            )
        if self.jump_min > self.jump_max:
            raise ConfigError(
                f"field 'jump_min': {self.jump_min} > jump_max={self.jump_max}; set jump_min <= jump_max"
            )
        return self
