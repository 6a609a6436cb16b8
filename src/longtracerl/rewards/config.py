"""Config of the reward commands (``reward score``, ``serve-reward``): YAML + ``--set`` + flags.

A whole-pipeline YAML file may hold it under a ``rewards:`` section.

Example:
    >>> from longtracerl.config import load_config
    >>> cfg = load_config(RewardConfig, overrides=["eta=0", "mode=mix"])
    >>> (cfg.judge, cfg.eta, cfg.mode)
    ('rule', 0.0, 'mix')
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import model_validator

from longtracerl.config import Field, PosFloat, PosInt, StageConfig, UnitFloat

if TYPE_CHECKING:
    from longtracerl.rewards.combine import RewardSettings


class RewardConfig(StageConfig):
    judge: Literal["rule", "llm"] = "rule"
    """Answer judge: 'llm' (the method: an OpenAI-compatible grader) or 'rule' (an offline approximation)."""
    base_url: str | list[str] | None = None
    """Grader endpoint for judge=llm, e.g. http://127.0.0.1:8001/v1; several (a list, or comma-separated) form
    a pool: round-robin, a failing one skipped for a while."""
    model: str | None = None
    """Grader model name for judge=llm."""
    api_key_env: str | None = None
    """Environment variable holding the grader's API key."""
    judge_timeout_s: PosFloat = 60.0
    """Seconds per grader request."""
    judge_budget_s: PosFloat = 300.0
    """Hard deadline of one verdict in seconds, all calls, retries and pauses included."""
    judge_concurrency: int = Field(128, ge=1, le=4096)
    """Grader calls in flight at once (judge=llm). A trainer with 64 connections needs at least 64."""
    processor: str = "qwen3-thinking"
    """Response processor name or module:attr."""
    mode: str = "positive-only"
    """Group combination mode (see docs/rewards.md)."""
    eta: UnitFloat = 0.3
    """Rubric weight eta; 0 = judge accuracy alone."""
    use_content: bool = True
    """Score rubrics on the answer content (the method)."""
    use_reasoning: bool = False
    """Also score rubrics on the reasoning."""
    word_boundary: bool = False
    """Departure: rubrics must match on token boundaries (off in the method)."""
    group_normalise: bool = True
    """Divide rubric scores by the group max M (the method); off: r' = r."""
    host: str = "127.0.0.1"
    """Address serve-reward binds to (the default serves this machine only)."""
    port: int = Field(8000, ge=0, le=65535)
    """Port serve-reward listens on."""
    auth_key_env: str | None = None
    """Environment variable holding a bearer key clients of serve-reward must send (Authorization: Bearer
    KEY)."""
    insecure_no_key: bool = False
    """Let serve-reward bind a non-loopback host without auth_key_env (refused otherwise): anyone who
    reaches the port can use the server and its judge."""
    max_body_mb: PosFloat = 16.0
    """Largest request body serve-reward accepts, in MiB."""
    max_concurrency: PosInt | None = None
    """Worker threads of serve-reward for a blocking judge's verdicts (default 1 for the rule judge; 32 for a
    blocking custom judge). Parsing and rubric scoring run on the event loop; LLM verdicts are awaited
    there (see judge_concurrency)."""
    offload_mb: PosFloat = 1.0
    """Request bodies of serve-reward this large (MiB) are scored in their own thread, so they do not hold up small
    requests."""

    @model_validator(mode="after")
    def _check(self) -> RewardConfig:
        from longtracerl.rewards.combine import MODES

        if self.mode not in MODES:
            raise ValueError(f"mode '{self.mode}' unknown; valid: {', '.join(MODES)}")
        if self.judge == "llm" and not self.model:
            raise ValueError("judge=llm needs model (the grader model name served at base_url); set --model")
        self.settings()  # the processor name and the combination fields, checked once
        return self

    def settings(self) -> RewardSettings:
        """The reward settings these fields describe (shared by every scoring path)."""
        from longtracerl.rewards.combine import SETTING_NAMES, RewardSettings

        return RewardSettings(**self.model_dump(include=set(SETTING_NAMES)))
