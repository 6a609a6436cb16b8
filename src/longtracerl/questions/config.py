"""Config of the questions stage (docs/method.md#questions-and-rubrics)."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from longtracerl.config import ConfigError, Field, StageConfig
from longtracerl.llm.base import LLMClientSettings, client_settings_field, structured_field

AnswerKind = Literal["year", "entity", "number"]


class QuestionsConfig(StageConfig):
    """One question per walk: ``masked`` (non-LLM, offline) or ``llm`` composer."""

    composer: str = Field(
        default="chain",
        description="Question composer: chain (non-LLM, offline, blurred chained descriptions), masked "
        "(non-LLM, a copied sentence with a blank), llm (OpenAI-compatible endpoint), or module:attr.",
    )
    max_questions: int | None = Field(
        default=None,
        ge=1,
        description="Stop once questions.jsonl holds this many questions (default: all walks).",
    )
    max_chars: int = Field(default=800, ge=100, description="Longest question (paper: ~800 characters).")
    # chain composer
    start_rank: int = Field(
        default=10,
        ge=1,
        description="chain: the first sentence alone must put the first page in this BM25 top (the chain "
        "can be entered by search).",
    )
    max_hops: int | None = Field(
        default=None,
        ge=2,
        description="chain: most pages a question follows (a window of the walk ending as late as "
        "possible); None: the whole walk.",
    )
    start_words: int = Field(
        default=3,
        ge=0,
        description="chain: rare words of the first page quoted in the first sentence, added one by one "
        "until the sentence finds the page (0: never).",
    )
    shortcut_top_k: int = Field(
        default=5,
        ge=1,
        description="chain: a hop sentence alone, or any sentence/clause or the whole question, must not "
        "put its page (the answer page) in this BM25 top.",
    )
    # masked composer
    min_hops: int = Field(
        default=3,
        ge=2,
        description="Fewest path pages a question keeps (chain: the shortest window; masked: the shortest suffix that fits max_chars).",
    )
    clause_max_words: int = Field(
        default=18, ge=4, description="Most words of one hop's clause (masked composer)."
    )
    clause_min_words: int = Field(
        default=12,
        ge=4,
        description="Clauses are shortened down to this many words before hops are dropped to fit max_chars.",
    )
    min_content_words: int = Field(
        default=3,
        ge=1,
        description="A hop clause needs this many distinctive words (not masks, not stop words) to be searchable.",
    )
    answer_kinds: list[AnswerKind] = Field(
        default_factory=lambda: ["year", "entity", "number"],
        description="Answer kinds the masked composer may use, in order of preference (after the drawn first kind).",
    )
    answer_kind_weights: dict[str, float] | None = Field(
        default_factory=lambda: {"year": 0.5, "entity": 0.3, "number": 0.2},
        description=(
            "Per walk, the first answer kind tried is drawn from these weights (by a hash of the walk id); "
            "the rest follow answer_kinds. Empty or null: always the answer_kinds order."
        ),
    )
    rubrics_include_answer: bool = Field(
        default=False, description="Append the answer to the rubric list (rubrics are the path entities)."
    )
    # llm composer
    llm: str = Field(
        default="openai:",
        description="LLM spec for composer=llm (see llm.openai.make_chat_model); 'openai:' = model and URL from env.",
    )
    llm_max_attempts: int = Field(
        default=3, ge=1, description="LLM calls per walk before the walk is rejected."
    )
    llm_max_tokens: int = Field(default=1024, ge=16, description="Reply budget of the LLM composer.")
    llm_client: LLMClientSettings = client_settings_field()
    llm_structured: Literal["json_object_schema", "json_schema", "json_object", "off"] = structured_field(
        "the LLM composer (the reply schema)"
    )
    llm_temperature: float = Field(
        default=0.3, ge=0.0, description="Sampling temperature of the LLM composer."
    )
    page_chars: int = Field(default=600, ge=50, description="Characters of each path page shown to the LLM.")

    @model_validator(mode="after")
    def _check(self) -> QuestionsConfig:
        if self.clause_min_words > self.clause_max_words:
            raise ConfigError(
                f"field 'clause_min_words': {self.clause_min_words} > clause_max_words={self.clause_max_words}"
            )
        if not self.answer_kinds:
            raise ConfigError("field 'answer_kinds': empty; give at least one of year, entity, number")
        return self
