"""``EvalConfig``: every knob of ``longtracerl eval`` (YAML section ``eval`` or ``--set key=value``).

Defaults follow the paper's protocol (docs/method.md#evaluation): temperature 0.6, top-p 0.95, top-k 20, 4 samples
per item, a 32K-token response budget. The judge defaults to the offline rule judge so a run works
without a grader endpoint; the paper's numbers need ``judge=llm`` (see docs/evals.md).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import model_validator

from longtracerl.config import (
    ConfigError,
    Field,
    NonNegFloat,
    NonNegInt,
    PosFloat,
    PosInt,
    PosUnitFloat,
    StageConfig,
)


class EvalConfig(StageConfig):
    benchmark: str = "aa-lcr"
    """Benchmark name (aa-lcr, longbench-v2, mrcr, frames, longreason, heldout) or module:attr."""
    data: str | None = None
    """Benchmark file; unset: the embedded copy where one exists (AA-LCR), else an error."""
    data_dir: str | None = None
    """Folder holding one file per benchmark named <benchmark>.<ext>; used when data is unset."""
    model: str = "smollm2"
    """A local model folder, 'smollm2' (the offline GGUF), or 'openai:NAME' (with base_url)."""
    base_url: str | None = None
    """OpenAI-compatible endpoint for openai:NAME, e.g. http://127.0.0.1:8000/v1."""
    api_key_env: str | None = None
    """Environment variable holding the API key."""
    samples: int = Field(4, ge=1, le=64)
    """Samples per item (avg@k uses k = samples)."""
    temperature: NonNegFloat = 0.6
    """Sampling temperature (paper: 0.6)."""
    top_p: PosUnitFloat = 0.95
    """Nucleus sampling (paper: 0.95)."""
    top_k: int | None = 20
    """Top-k sampling (paper: 20); None = not sent."""
    max_tokens: PosInt = 32768
    """Response budget in tokens (paper: 32K)."""
    seed: int = 0
    """Sample i of every item is drawn with seed + i."""
    system_prompt: str | None = None
    """Optional system message (paper: none)."""
    max_context_tokens: int | None = Field(None, ge=256)
    """The model's window. When set, prompts longer than max_context_tokens - max_tokens -
    template_overhead_tokens are truncated in the middle of their documents (docs/evals.md)."""
    template_overhead_tokens: NonNegInt = 64
    """Tokens reserved for the chat template's wrapper tokens."""
    tokenizer: str | None = None
    """Tokenizer for the window (a tokenizer.json, a HF folder, a .gguf, 'smollm2'); unset: the local model's
    own; required for openai:NAME when max_context_tokens is set."""
    truncation_marker: str = "\n\n[... middle of the documents removed to fit the context window ...]\n\n"
    """Text put where the middle of the documents was cut."""
    processor: str = "auto"
    """Response parser: 'auto' (split off reasoning when the model produced any, else the whole text is the
    answer), 'plain' (whole text), 'qwen3-thinking', 'deepseek-r1-qwen3', module:attr."""
    judge: Literal["rule", "llm"] = "rule"
    """Answer judge for judged benchmarks: rule (offline approximation) or llm."""
    judge_model: str | None = None
    """Grader model name for judge=llm."""
    judge_base_url: str | None = None
    """Grader endpoint for judge=llm."""
    judge_api_key_env: str | None = None
    """Env var with the grader's API key."""
    concurrency: int = Field(8, ge=1, le=1024)
    """Samples in flight at once."""
    timeout_s: PosFloat = 1800.0
    """Seconds per model request."""
    max_retries: int = Field(4, ge=0, le=10)
    """Retries per model request."""
    backoff_s: NonNegFloat = 1.0
    """Base backoff between retries."""
    extra_body: dict[str, Any] = Field(default_factory=dict)
    """Merged into each request body (e.g. chat_template_kwargs)."""
    limit: PosInt | None = None
    """Evaluate only the first N items."""
    articles: str | None = None
    """FRAMES: JSONL of Wikipedia article texts {url, title, text}."""
    context_length: str | None = None
    """LongReason: keep rows whose length field equals this (e.g. 32k)."""

    @model_validator(mode="before")
    @classmethod
    def _fit_max_tokens(cls, data: Any) -> Any:
        """With a window and no ``max_tokens`` given, answer in a quarter of the window (at most
        the default): the paper's 32K response budget alone overflows a small model's window."""
        if isinstance(data, dict) and data.get("max_context_tokens") and "max_tokens" not in data:
            default = cls.model_fields["max_tokens"].default
            data = {**data, "max_tokens": max(16, min(default, int(data["max_context_tokens"]) // 4))}
        return data

    @model_validator(mode="after")
    def _check(self) -> EvalConfig:
        if self.max_context_tokens is not None:
            room = self.max_context_tokens - self.max_tokens - self.template_overhead_tokens
            if room < 64:
                raise ConfigError(
                    f"max_context_tokens={self.max_context_tokens} leaves {room} tokens for the prompt after "
                    f"max_tokens={self.max_tokens} and template_overhead_tokens={self.template_overhead_tokens}; "
                    "lower max_tokens or raise max_context_tokens"
                )
        if self.judge == "llm" and not self.judge_model:
            raise ConfigError("judge=llm needs judge_model (the grader model name; --judge-model)")
        return self

    def sampling_key(self) -> dict[str, Any]:
        """The fields that change what a sample is; a resumed run must agree on them."""
        keep = (
            "benchmark", "model", "temperature", "top_p", "top_k", "max_tokens", "seed",
            "system_prompt", "max_context_tokens", "template_overhead_tokens", "tokenizer",
            "truncation_marker", "processor", "judge", "judge_model", "extra_body", "articles",
            "context_length",
        )  # fmt: skip
        return {k: getattr(self, k) for k in keep}
