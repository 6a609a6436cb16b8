"""Config of the questions stage (docs/method.md#questions-and-rubrics)."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from longtracerl.config import ConfigError, Field, NonNegFloat, NonNegInt, PosInt, StageConfig
from longtracerl.llm.base import LLMClientSettings, client_settings_field, structured_field

AnswerKind = Literal["year", "entity", "number"]


class QuestionsConfig(StageConfig):
    """One question per walk: the ``chain`` (default) or ``masked`` composer (non-LLM, offline) or the ``llm`` one."""

    composer: str = "chain"
    """Question composer: chain (non-LLM, offline, blurred chained descriptions), masked (non-LLM, a copied
    sentence with a blank), llm (OpenAI-compatible endpoint), or module:attr."""
    max_questions: PosInt | None = None
    """Stop once questions.jsonl holds this many questions (default: all walks)."""
    max_chars: int = Field(800, ge=100)
    """Longest question (paper: ~800 characters)."""
    # chain composer
    start_rank: PosInt = 10
    """chain: the first sentence alone must put the first page in this BM25 top (the chain can be entered by
    search)."""
    max_hops: int | None = Field(None, ge=2)
    """chain: most pages a question follows (a window of the walk ending as late as possible); None: the whole
    walk."""
    start_words: NonNegInt = 3
    """chain: rare words of the first page quoted in the first sentence, added one by one until the sentence
    finds the page (0: never)."""
    shortcut_top_k: PosInt = 5
    """chain: a hop sentence alone, or any sentence/clause or the whole question, must not put its page (the
    answer page) in this BM25 top."""
    # masked composer
    min_hops: int = Field(3, ge=2)
    """Fewest path pages a question keeps (chain: the shortest window; masked: the shortest suffix that fits
    max_chars)."""
    clause_max_words: int = Field(18, ge=4)
    """Most words of one hop's clause (masked composer)."""
    clause_min_words: int = Field(12, ge=4)
    """Clauses are shortened down to this many words before hops are dropped to fit max_chars."""
    min_content_words: PosInt = 3
    """A hop clause needs this many distinctive words (not masks, not stop words) to be searchable."""
    answer_kinds: list[AnswerKind] = Field(default_factory=lambda: ["year", "entity", "number"])
    """Answer kinds the masked composer may use, in order of preference (after the drawn first kind)."""
    answer_kind_weights: dict[str, float] | None = Field(
        default_factory=lambda: {"year": 0.5, "entity": 0.3, "number": 0.2}
    )
    """Per walk, the first answer kind tried is drawn from these weights (by a hash of the walk id); the rest
    follow answer_kinds. Empty or null: always the answer_kinds order."""
    rubrics_include_answer: bool = False
    """Append the answer to the rubric list (rubrics are the path entities)."""
    # llm composer
    llm: str = "openai:"
    """LLM spec for composer=llm, e.g. openai:MODEL@http://127.0.0.1:8000/v1 (see llm.openai.make_chat_model);
    'openai:' = model and URL from the environment."""
    llm_max_attempts: PosInt = 3
    """LLM calls per walk before the walk is rejected."""
    llm_max_tokens: int = Field(1024, ge=16)
    """Reply budget of the LLM composer."""
    llm_client: LLMClientSettings = client_settings_field()
    llm_structured: Literal["json_object_schema", "json_schema", "json_object", "off"] = structured_field(
        "the LLM composer (the reply schema)"
    )
    llm_temperature: NonNegFloat = 0.3
    """Sampling temperature of the LLM composer."""
    page_chars: int = Field(600, ge=50)
    """Characters of each path page shown to the LLM."""

    @model_validator(mode="after")
    def _check(self) -> QuestionsConfig:
        if self.clause_min_words > self.clause_max_words:
            raise ConfigError(
                f"field 'clause_min_words': {self.clause_min_words} > clause_max_words={self.clause_max_words}"
            )
        if not self.answer_kinds:
            raise ConfigError("field 'answer_kinds': empty; give at least one of year, entity, number")
        return self
