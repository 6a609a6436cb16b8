"""Training config: one frozen model per section, loaded from a preset YAML plus ``--set`` overrides.

Presets live in ``longtracerl/train/presets/*.yaml`` (package data); ``--preset NAME`` picks one,
``--preset FILE.yaml`` reads any file of the same shape. Every field is documented here; the
mapping of each field onto TRL's ``GRPOConfig`` is in :mod:`longtracerl.train.recipe` and
``docs/training.md``.

Example:
    >>> cfg = load_preset("gpu-qwen3-4b")
    >>> cfg.grpo.epsilon, cfg.grpo.epsilon_high, cfg.grpo.beta, cfg.reward.mode
    (0.2, 0.28, 0.0, 'rubric-positive')
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import model_validator

from longtracerl.config import (
    ConfigError,
    Field,
    NonNegFloat,
    NonNegInt,
    PosFloat,
    PosInt,
    StageConfig,
    UnitFloat,
    load_config,
)

PRESETS = ("cpu-smoke", "cpu-smollm2", "cpu-smollm2-easy", "gpu-qwen3-4b")

# CLI reward names -> longtracerl.rewards modes (rewards/combine.py)
REWARD_MODES = {
    "rubric-positive": "positive-only",
    "rubric-all": "mix",
    "rubric-negative": "negative-only",
    "outcome-only": "outcome-only",
}


class TinyModel(StageConfig):
    """A randomly initialised Llama built locally (``model.source: tiny-random``): every field but
    ``seed`` is the ``transformers.LlamaConfig`` argument of the same name."""

    hidden_size: int = 64
    """Width of the hidden states."""
    num_hidden_layers: int = 2
    """Transformer layers."""
    num_attention_heads: int = 4
    """Attention heads."""
    num_key_value_heads: int = 2
    """Key/value heads (GQA)."""
    intermediate_size: int = 128
    """MLP width."""
    max_position_embeddings: int = 4096
    """Longest sequence (prompt + completion)."""
    seed: int = 0
    """Seed of the random initialisation."""


class ModelSection(StageConfig):
    source: Literal["hf", "gguf", "tiny-random"] = "hf"
    """hf: a transformers model folder or hub id in `path`; gguf: a .gguf file (or the alias 'smollm2')
    dequantised by transformers, cached as a safetensors folder; tiny-random: a random-init Llama (see
    `tiny`) with the tokenizer of `tokenizer`."""
    path: str = ""
    """Model folder, hub id, .gguf file or alias ('smollm2')."""
    tokenizer: str | None = None
    """Tokenizer source when it differs from `path` (tiny-random: required; 'smollm2' = the GGUF's)."""
    dtype: Literal["float32", "bfloat16", "float16", "auto"] = "float32"
    """Weights dtype."""
    attn_implementation: str | None = None
    """e.g. flash_attention_2, sdpa."""
    trust_remote_code: bool = False
    """Passed to from_pretrained."""
    tiny: TinyModel = Field(default_factory=TinyModel)
    """Shape of the tiny-random model."""


class DataSection(StageConfig):
    max_prompt_tokens: int = Field(128000, gt=0)
    """Bound on the rendered prompt (chat template applied, generation prompt included), tokens."""
    overflow: Literal["truncate-middle", "drop", "error"] = "truncate-middle"
    """Rows over max_prompt_tokens: truncate-middle cuts tokens out of the middle of the documents part
    (instruction and question kept, a '[...]' marker left); drop leaves the row out; error stops before the
    model is loaded."""
    max_rows: int | None = None
    """Use only the first N rows (None: all)."""
    max_cut_share: UnitFloat = 0.5
    """Refuse the rows (before any model is loaded) when truncate-middle would remove more than this share of
    all prompt tokens: they were made for longer contexts (1: never refuse)."""


class RewardSection(StageConfig):
    mode: Literal["rubric-positive", "rubric-all", "rubric-negative", "outcome-only"] = "rubric-positive"
    """Reward mode. rubric-positive: the method (rubric bonus on correct answers only); rubric-all: the release's 'mix for
    all' ((1-eta)*o + eta*r'); rubric-negative: the release's negative-only; outcome-only: o (eta ignored)."""
    eta: UnitFloat = 0.3
    """Rubric weight eta (docs/method.md#group-combination)."""
    judge: str = "rule"
    """Outcome judge: 'rule' (offline approximation), 'llm' or 'llm:SPEC' (see docs/adapters.md)."""
    processor: str = "qwen3-thinking"
    """Response processor (rewards.parse)."""
    use_reasoning: bool = False
    """Score rubrics on reasoning + answer."""


class GRPOSection(StageConfig):
    """The paper's recipe (docs/method.md#training-recipe) in TRL's terms; see recipe.py for the mapping."""

    num_generations: int = Field(8, ge=2)
    """Group size n (samples per prompt)."""
    prompts_per_step: PosInt = 16
    """Prompts per optimiser step (one rollout)."""
    per_device_train_batch_size: PosInt = 8
    """Completions per forward/backward micro-batch (TRL counts completions)."""
    max_completion_length: int = Field(32000, gt=0)
    """Response budget, tokens."""
    max_steps: int = Field(200, gt=0)
    """Optimiser steps."""
    learning_rate: PosFloat = 2e-6
    lr_scheduler_type: str = "constant"
    warmup_steps: NonNegInt = 0
    weight_decay: NonNegFloat = 0.1
    adam_beta1: float = 0.9
    adam_beta2: float = 0.98
    max_grad_norm: float = 1.0
    epsilon: float = 0.2
    """PPO clip, low side."""
    epsilon_high: float = 0.28
    """PPO clip, high side."""
    beta: float = 0.0
    """KL coefficient (0: no reference model)."""
    loss_type: str = "dapo"
    """dapo = token-level loss over the whole step's tokens."""
    scale_rewards: str = "group"
    """GRPO std normalisation per group."""
    num_iterations: PosInt = 1
    """Optimiser passes per rollout (1: on-policy)."""
    mask_truncated_completions: bool = False
    """Paper: truncated samples stay (reward 0)."""
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    """0: off."""
    use_vllm: bool = False
    vllm_mode: Literal["colocate", "server"] = "colocate"
    vllm_gpu_memory_utilization: float = 0.3
    vllm_tensor_parallel_size: int = 1
    vllm_max_model_length: int | None = None
    """Default: max_prompt_tokens + max_completion_length."""
    vllm_importance_sampling_correction: bool = True
    """Train/rollout mismatch correction."""
    vllm_importance_sampling_mode: str = "token_mask"
    """token_mask = IcePop-style mask."""
    vllm_importance_sampling_clip_min: float | None = 0.5
    vllm_importance_sampling_clip_max: float | None = 2.0
    bf16: bool = False
    gradient_checkpointing: bool = False
    use_cpu: bool = False
    logging_steps: PosInt = 1
    save_steps: int | None = None
    """Checkpoint every N steps (None: only at the end)."""
    report_to: str = "none"
    """none, tensorboard, wandb (used only when installed)."""
    seed: int = 0
    """Seed of the training run (TRL's seed: data order and sampling)."""
    extra: dict[str, Any] = Field(default_factory=dict)
    """More GRPOConfig options, passed verbatim."""

    @model_validator(mode="after")
    def _check(self) -> GRPOSection:
        if self.epsilon_high < self.epsilon:
            raise ValueError(f"epsilon_high ({self.epsilon_high}) < epsilon ({self.epsilon})")
        return self


class TrainConfig(StageConfig):
    model: ModelSection = Field(default_factory=ModelSection)
    data: DataSection = Field(default_factory=DataSection)
    reward: RewardSection = Field(default_factory=RewardSection)
    grpo: GRPOSection = Field(default_factory=GRPOSection)
    smoke_data: bool = False
    """With no --data, train on the rows shipped with the package (cpu-smoke)."""
    description: str = ""
    """What the preset is for."""


def preset_path(name: str) -> Path:
    """A preset name (``cpu-smoke``, ...) or a YAML file path."""
    if name in PRESETS:
        return Path(str(resources.files("longtracerl.train") / "presets" / f"{name}.yaml"))
    p = Path(name)
    if p.suffix in (".yaml", ".yml"):
        if not p.exists():
            raise ConfigError(f"--preset {name}: file not found")
        return p
    raise ConfigError(f"--preset {name!r}: not a preset ({', '.join(PRESETS)}) and not a .yaml file")


def load_preset(name: str, overrides: Any = ()) -> TrainConfig:
    return load_config(TrainConfig, preset_path(name), overrides)


def smoke_rows_path() -> Path:
    """The 8 released-format rows shipped for ``cpu-smoke`` (2-hop, 256-token contexts: they fit its 384-token bound)."""
    return Path(str(resources.files("longtracerl.train") / "presets" / "smoke_rows.jsonl"))
