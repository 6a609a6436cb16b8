"""Config of the walks stage (docs/method.md#walks)."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from longtracerl.config import ConfigError, Field, NonNegFloat, NonNegInt, PosInt, StageConfig
from longtracerl.llm.base import LLMClientSettings, client_settings_field, structured_field


class WalksConfig(StageConfig):
    """Controlled random walks with mad-walk jumps; one kept segment = one ``Walk`` record."""

    num_walks: PosInt = 100
    """Kept segments to reach (a re-run continues to it)."""
    hops: int = Field(8, ge=2)
    """Pages per segment (the entry page is step 1). Paper: 8. On the small HotpotQA corpus 8-page segments
    survive less often; see docs/walks.md for measured survival."""
    min_unique: int | None = Field(None, ge=2)
    """Minimum unique titles of a kept segment; default max(2, hops*7//8) (7 for 8 hops)."""
    seed: int = 0
    """Seed; chain k uses the generator seeded with (seed, k)."""
    chooser: str = "related"
    """Next-hop chooser: related (non-LLM, TF-IDF cosine), first (non-LLM), llm, or module:attr."""
    min_out_links: NonNegInt = 3
    """A page is a usable hop only with MORE than this many outgoing links."""
    max_candidates: PosInt = 5
    """Candidates sampled per step (paper: 5)."""
    require_answerable_end: bool = True
    """The last page must offer an answer (a year, number or corpus entity): the last step only considers such
    candidates and trailing pages without one are trimmed."""
    lookahead: bool = True
    """Prefer candidates that have a usable unvisited neighbour themselves (one-step lookahead; not in the
    paper: it cuts dead ends on sparse graphs such as the HotpotQA corpus), and seed chains only at such
    pages. The chooser still picks among up to max_candidates."""
    unique_paths: bool = True
    """Reject a segment whose page sequence equals an already kept walk (reason duplicate_walk)."""
    segments_per_chain: PosInt = 10
    """Segments walked from one seed page (joined by mad-walk jumps)."""
    max_consecutive_rejects: PosInt = 3
    """A chain ends after this many rejected segments in a row."""
    jump_min: PosInt = 2
    """Fewest random hops of a mad-walk jump."""
    jump_max: PosInt = 4
    """Most random hops of a mad-walk jump."""
    jump_retries: PosInt = 20
    """Jump attempts before restarting from a visited page."""
    max_segments_factor: PosInt = 50
    """Safety bound: stop after num_walks * this many attempted segments."""
    seed_titles: list[str] = Field(default_factory=list)
    """Optional seed page titles (or ids); default: random usable pages."""
    min_seed_in_degree: NonNegInt = 0
    """Popularity filter: seed pages need at least this many incoming links."""
    # chooser options
    related_chars: int = Field(2000, ge=50)
    """Characters of page text the related chooser compares."""
    idf_sample: PosInt = 20_000
    """Pages sampled (evenly) to estimate IDF for the related chooser."""
    llm: str = "openai:"
    """LLM spec for chooser=llm, e.g. openai:MODEL@http://127.0.0.1:8000/v1 (see llm.openai.make_chat_model);
    'openai:' = model and URL from the environment."""
    llm_max_tokens: PosInt = 64
    """Reply budget of the LLM chooser."""
    llm_client: LLMClientSettings = client_settings_field()
    llm_structured: Literal["json_object_schema", "json_schema", "json_object", "off"] = structured_field(
        'the LLM chooser ({"choice": N}; off: a plain number)'
    )
    llm_temperature: NonNegFloat = 0.0
    """Sampling temperature of the LLM chooser."""
    current_chars: int = Field(600, ge=50)
    """Characters of the current page shown to the LLM."""
    candidate_chars: int = Field(200, ge=20)
    """Characters of each candidate shown to the LLM."""

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
