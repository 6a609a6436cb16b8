"""Configuration of the search-agent stage (``longtracerl agent``).

Example:
    >>> from longtracerl.config import load_config
    >>> cfg = load_config(AgentConfig, overrides=["attempts=3", "policy=retrieval"])
    >>> cfg.attempts, cfg.policy, cfg.top_k
    (3, 'retrieval', 10)
"""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from longtracerl.config import ConfigError, Field, NonNegFloat, NonNegInt, PosInt, PosUnitFloat, StageConfig
from longtracerl.llm.base import LLMClientSettings, client_settings_field


class AgentConfig(StageConfig):
    """Everything ``run_agent`` needs besides the corpus and the run folder."""

    policy: str = "retrieval"
    """Agent policy: 'retrieval' (offline, NON-LLM search agent working from the question text), 'clauses'
    (the earlier NON-LLM agent for masked questions), 'llm' (a chat model calling the tools), or
    module:attr of a policy factory."""
    attempts: PosInt = 5
    """Attempts per question; stops at the first correct."""
    max_turns: PosInt = 80
    """Tool calls allowed per attempt (turn limit), all tools counted."""
    top_k: int = Field(10, ge=1, le=100)
    """Search results shown per query."""
    concurrency: PosInt = 8
    """Questions worked on at once (LLM policy; asyncio, bounded)."""
    seed: int = 0
    """Base seed; attempt a of question q uses a seed derived from both."""
    limit: PosInt | None = None
    """Only the first N questions (unset: all)."""

    # --- correctness ----------------------------------------------------------------------
    judge: Literal["rule", "llm"] = "rule"
    """Correctness check after an attempt: 'rule' (normalised answer match) or 'llm'."""
    judge_model: str | None = None
    """Chat model spec of the LLM judge (judge=llm); defaults to `model`."""
    f1_threshold: PosUnitFloat = 0.8
    """Rule judge: token F1 at or above this also counts as correct."""

    # --- retrieval policy (the search agent, default) ---------------------------------------
    max_open: int = Field(10, ge=1, le=50)
    """Retrieval policy: pages read per attempt at most."""
    cover: PosUnitFloat = 0.8
    """Retrieval policy: stop searching once the two best read pages hold this share of the question's content
    words."""
    chain_names: int = Field(10, ge=0, le=30)
    """Retrieval policy, chained narration: names of the previous entity's page looked up per hop."""
    chain_open: int = Field(10, ge=1, le=14)
    """Retrieval policy, chained narration: candidate pages read per description at the first attempt (two
    more at each later attempt, 14 at most)."""
    chain_turns: PosInt = 200
    """Retrieval policy, chained narration: tool calls per attempt (shared out over the descriptions); other
    questions and the LLM policy keep max_turns."""
    keep: Literal["correct", "gold_opened"] = "correct"
    """Which questions the stage keeps: 'correct' (a correct attempt) or 'gold_opened' (also a question whose
    attempt opened all its gold pages, for imported QA sets)."""

    # --- clauses policy (the earlier retrieval agent for the masked composer's questions) --
    open_per_clause: int = Field(3, ge=1, le=20)
    """Clauses policy: pages opened per clause search."""
    follow_entities: int = Field(4, ge=0, le=50)
    """Clauses policy: entity names per page followed by a search."""

    open_margin: NonNegFloat | None = 0.5
    """Clauses policy: read a clause's 2nd..open_per_clause-th candidates only when their prior score is
    within this margin of the best one (None: always read them)."""
    probe_entities: bool = True
    """Clauses policy: once a hop is resolved, search the entity's name (alone and with keywords of the next
    clause) and read the best pages that mention it."""
    probe_open: int = Field(3, ge=0, le=10)
    """Clauses policy: pages read per entity-name look-up."""
    verify_answer: bool = True
    """Clauses policy: search the answer with the answer page's name before answering."""
    question_search: bool = False
    """Clauses policy: search the whole question text once before the first clause."""

    # --- LLM policy -----------------------------------------------------------------------
    model: str | None = None
    """Chat model spec for policy=llm, e.g. openai:NAME@http://127.0.0.1:8000/v1 (see
    longtracerl.llm.make_chat_model)."""
    llm_client: LLMClientSettings = client_settings_field()
    tool_mode: Literal["native", "json", "auto"] = "auto"
    """native: OpenAI `tools` function calling; json: one plain-text JSON action per turn; auto: native,
    falling back to json when the server rejects tools."""
    json_response_format: Literal["off", "json_object", "json_object_schema", "json_schema"] = (
        "json_object_schema"
    )
    """JSON action mode: the response_format sent. json_object_schema: json_object with the action schema
    (llama.cpp servers constrain the reply to it); json_schema: the OpenAI structured-output form;
    json_object: any JSON object; off: none. A server that rejects it gets plain requests from then on."""
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    """LLM sampling temperature."""
    max_tokens: int = Field(512, ge=16)
    """LLM tokens per turn."""
    max_malformed: NonNegInt = 3
    """Malformed actions tolerated per attempt before it fails ('malformed')."""
    loop_repeats: int = Field(3, ge=2)
    """The same action this many times in a row ends the attempt ('loop')."""
    observation_chars: int = Field(2000, ge=100)
    """Observations fed back to the model are cut to this many chars."""
    context_chars: int = Field(24000, ge=1000)
    """Older observations are shortened when the conversation exceeds this many chars."""

    @model_validator(mode="after")
    def _check(self) -> AgentConfig:
        if self.policy == "llm" and not self.model:
            raise ConfigError(
                "field 'model': policy=llm needs a chat model spec; set model=<spec> (e.g. an "
                "OpenAI-compatible base URL) or use policy=retrieval"
            )
        if self.judge == "llm" and not (self.judge_model or self.model):
            raise ConfigError("field 'judge_model': judge=llm needs judge_model=<spec> (or model=<spec>)")
        return self
