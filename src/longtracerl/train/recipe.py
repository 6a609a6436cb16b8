"""The paper's recipe (docs/method.md#training-recipe) mapped onto TRL 1.16's ``GRPOConfig``; checks that run before any model loads.

:func:`grpo_kwargs` is pure (no trl import): it turns a :class:`TrainConfig` into the keyword
arguments of ``trl.GRPOConfig``; :func:`build_grpo_config` builds the real object. The mapping
and its gaps are tabulated in ``docs/training.md``:

- group size n -> ``num_generations``; prompts x generations per step -> ``per_device_train_batch_size``
  (completions per micro-batch) x ``gradient_accumulation_steps``, with ``steps_per_generation`` =
  accumulation steps, so one rollout of ``prompts_per_step * n`` completions feeds exactly one
  optimiser step (``num_iterations=1``);
- clip 0.2 / 0.28 -> ``epsilon`` / ``epsilon_high``; token-level loss -> ``loss_type="dapo"``
  (sum over every completion token of the step / number of those tokens); KL 0 -> ``beta=0``;
  entropy 0 -> ``entropy_coef=0``;
- Adam lr 2e-6 constant, wd 0.1, betas (0.9, 0.98), clip 1 -> ``learning_rate``,
  ``lr_scheduler_type="constant"``, ``weight_decay``, ``adam_beta1/2``, ``max_grad_norm``;
- IcePop (keep a token only when the train/rollout probability ratio is in [0.5, 2]) ->
  ``vllm_importance_sampling_mode="token_mask"`` with ``clip_min=0.5``, ``clip_max=2.0``;
- temperature 1, top-p 1 -> ``temperature``, ``top_p`` (``top_k=0``: off).

>>> from longtracerl.train.config import load_preset
>>> kw = grpo_kwargs(load_preset("gpu-qwen3-4b"), "/tmp/out")
>>> kw["gradient_accumulation_steps"] * kw["per_device_train_batch_size"] // kw["num_generations"]
16
"""

from __future__ import annotations

import importlib.util
from typing import Any

from longtracerl.config import ConfigError
from longtracerl.train.config import TrainConfig

_LOGGERS = {"tensorboard": "tensorboard", "wandb": "wandb"}


def available_report_to(requested: str) -> tuple[list[str], list[str]]:
    """``(used, skipped)``: loggers of ``report_to`` (comma list) that are installed / not installed."""
    used, skipped = [], []
    for name in [s.strip() for s in requested.split(",") if s.strip() and s.strip() != "none"]:
        mod = _LOGGERS.get(name, name)
        (used if importlib.util.find_spec(mod) is not None else skipped).append(name)
    return used, skipped


def check_batch(cfg: TrainConfig, world_size: int = 1) -> int:
    """Gradient accumulation steps for one rollout per optimiser step; a clear error when the batch
    sizes do not fit (names the setting and the fix)."""
    g = cfg.grpo
    completions = g.prompts_per_step * g.num_generations
    per_step = g.per_device_train_batch_size * world_size
    if completions % per_step:
        raise ConfigError(
            f"grpo.prompts_per_step * grpo.num_generations = {g.prompts_per_step} * {g.num_generations} = "
            f"{completions} completions per step is not a multiple of grpo.per_device_train_batch_size * "
            f"processes = {per_step}. Fix: choose per_device_train_batch_size dividing {completions}."
        )
    if world_size > 1 and g.per_device_train_batch_size % g.num_generations:
        # each process scores its own slice of the generation batch: a group split across
        # processes cannot be normalised by its group max
        raise ConfigError(
            f"grpo.per_device_train_batch_size={g.per_device_train_batch_size} is not a multiple of "
            f"grpo.num_generations={g.num_generations}: with {world_size} processes a group would be "
            "split across processes and the group-max rubric normalisation cannot see it. "
            "Fix: make per_device_train_batch_size a multiple of num_generations."
        )
    return completions // per_step


def grpo_kwargs(cfg: TrainConfig, output_dir: str, world_size: int = 1) -> dict[str, Any]:
    """Keyword arguments of ``trl.GRPOConfig`` for this training config (no trl import)."""
    g = cfg.grpo
    accum = check_batch(cfg, world_size)
    used, _skipped = available_report_to(g.report_to)
    kw: dict[str, Any] = {
        "output_dir": output_dir,
        # batch: one rollout of prompts_per_step * num_generations completions = one optimiser step
        "num_generations": g.num_generations,
        "per_device_train_batch_size": g.per_device_train_batch_size,
        "gradient_accumulation_steps": accum,
        "steps_per_generation": accum,
        "num_iterations": g.num_iterations,
        "max_steps": g.max_steps,
        "max_completion_length": g.max_completion_length,
        # objective
        "epsilon": g.epsilon,
        "epsilon_high": g.epsilon_high,
        "beta": g.beta,
        "loss_type": g.loss_type,
        "scale_rewards": g.scale_rewards,
        "mask_truncated_completions": g.mask_truncated_completions,
        "entropy_coef": 0.0,
        # optimiser
        "learning_rate": g.learning_rate,
        "lr_scheduler_type": g.lr_scheduler_type,
        "warmup_steps": g.warmup_steps,
        "weight_decay": g.weight_decay,
        "adam_beta1": g.adam_beta1,
        "adam_beta2": g.adam_beta2,
        "max_grad_norm": g.max_grad_norm,
        "optim": "adamw_torch",
        # sampling
        "temperature": g.temperature,
        "top_p": g.top_p,
        "top_k": g.top_k,
        # rollout engine
        "use_vllm": g.use_vllm,
        # machine
        "bf16": g.bf16,
        "gradient_checkpointing": g.gradient_checkpointing,
        "use_cpu": g.use_cpu,
        "seed": g.seed,
        "data_seed": g.seed,
        # logging / saving
        "logging_steps": g.logging_steps,
        "report_to": used or "none",
        "save_strategy": "steps" if g.save_steps else "no",
        "remove_unused_columns": False,
        "log_completions": False,
    }
    if g.save_steps:
        kw["save_steps"] = g.save_steps
    if g.use_vllm:
        kw.update(
            {
                "vllm_mode": g.vllm_mode,
                "vllm_importance_sampling_correction": g.vllm_importance_sampling_correction,
                "vllm_importance_sampling_mode": g.vllm_importance_sampling_mode,
                "vllm_importance_sampling_clip_min": g.vllm_importance_sampling_clip_min,
                "vllm_importance_sampling_clip_max": g.vllm_importance_sampling_clip_max,
            }
        )
        if g.vllm_mode == "colocate":
            kw["vllm_gpu_memory_utilization"] = g.vllm_gpu_memory_utilization
            kw["vllm_tensor_parallel_size"] = g.vllm_tensor_parallel_size
            kw["vllm_max_model_length"] = g.vllm_max_model_length or (
                cfg.data.max_prompt_tokens + g.max_completion_length
            )
    # the model is loaded by longtracerl.train.model (dtype, attention from model.*) and handed to
    # GRPOTrainer as an object, so TRL's model_init_kwargs are not used
    for key, value in g.extra.items():
        kw[key] = value
    return kw


def build_grpo_config(cfg: TrainConfig, output_dir: str, *, portable: bool = False):
    """The ``trl.GRPOConfig``. ``portable=True`` (dry runs on a machine without a GPU): bf16 is
    validated as off, because transformers refuses bf16 without a GPU; the returned object is
    otherwise the one a GPU run gets."""
    from trl import GRPOConfig

    kw = grpo_kwargs(cfg, output_dir)
    if portable:
        import torch

        if not torch.cuda.is_available():
            kw["bf16"] = False
    try:
        return GRPOConfig(**kw)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"TRL refused the training arguments: {err}") from None
