"""Tokenizer and policy loading for the three model sources (torch/transformers imported inside).

- ``hf``: ``from_pretrained(path)`` (a folder, or a hub id when the hub cache has it);
- ``gguf``: a ``.gguf`` file or the alias ``smollm2`` (``asset_path("smollm2-gguf")``), dequantised
  by transformers with the ``gguf`` package on the first load and cached as a plain safetensors
  folder (the cache of ``longtracerl.llm.local``), which later loads in about a second;
- ``tiny-random``: a randomly initialised ``LlamaForCausalLM`` shaped by ``model.tiny``, with the
  vocabulary and special tokens of the tokenizer named by ``model.tokenizer``.

:func:`check_model_source` runs before anything is loaded and names the setting to fix.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from longtracerl.config import ConfigError
from longtracerl.train.config import ModelSection

log = logging.getLogger(__name__)


def _gguf_location(spec: str) -> tuple[Path, str | None]:
    """``(folder, gguf_file)``; the converted safetensors folder (gguf_file None) when cached."""
    from longtracerl.llm.base import LLMError
    from longtracerl.llm.local import _converted_dir, default_cache_root, resolve_local_model

    try:
        folder, gguf_file = resolve_local_model(spec)
    except (LLMError, FileNotFoundError) as err:
        raise ConfigError(f"model.path={spec!r}: {err}. Fix: give a .gguf file or 'smollm2'.") from None
    if gguf_file:
        conv = _converted_dir(folder / gguf_file, default_cache_root())
        if (conv / "config.json").exists() and (conv / "model.safetensors").exists():
            return conv, None
    return folder, gguf_file


def check_model_source(m: ModelSection) -> None:
    """Fail before loading when the model or tokenizer cannot be where the config says."""
    if m.source == "tiny-random":
        if not m.tokenizer:
            raise ConfigError("model.tokenizer: required with model.source=tiny-random (e.g. 'smollm2')")
        return
    if not m.path:
        raise ConfigError(f"model.path: empty (model.source={m.source}). Fix: --set model.path=...")
    if m.source == "gguf":
        _gguf_location(m.path)
        return
    p = Path(m.path).expanduser()
    if p.exists():
        if not (p / "config.json").exists():
            raise ConfigError(f"model.path={m.path}: folder without config.json (not a transformers model)")
        return
    looks_like_hub_id = m.path.count("/") == 1 and not m.path.startswith((".", "/", "~"))
    if not looks_like_hub_id:
        raise ConfigError(
            f"model.path={m.path}: no such folder. Fix: point model.path at a model folder "
            "(config.json + weights) or a hub id such as Qwen/Qwen3-4B-Thinking-2507."
        )


def load_tokenizer(m: ModelSection):
    from transformers import AutoTokenizer

    if m.source == "tiny-random" or (m.tokenizer and m.source != "hf"):
        spec = m.tokenizer or m.path
        folder, gguf_file = (
            _gguf_location(spec)
            if spec in ("smollm2", "smollm2-gguf") or str(spec).endswith(".gguf")
            else (Path(spec), None)
        )
    elif m.source == "gguf":
        folder, gguf_file = _gguf_location(m.path)
    else:
        folder, gguf_file = m.tokenizer or m.path, None
    kw: dict[str, Any] = {"trust_remote_code": m.trust_remote_code}
    if gguf_file:
        kw["gguf_file"] = gguf_file
    try:
        tok = AutoTokenizer.from_pretrained(str(folder), **kw)
    except (OSError, ValueError) as err:
        raise ConfigError(
            f"model.path/model.tokenizer: cannot load the tokenizer from {folder}: {err}. Fix: point "
            "model.path (or model.tokenizer) at a local model folder, or make the hub reachable."
        ) from None
    if not getattr(tok, "chat_template", None):
        raise ConfigError(f"the tokenizer of {folder} has no chat template: prompts cannot be rendered")
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(m: ModelSection, tokenizer: Any):
    """The policy model (float32 on CPU unless model.dtype says otherwise)."""
    import torch
    from transformers import AutoModelForCausalLM

    kw: dict[str, Any] = {"trust_remote_code": m.trust_remote_code}
    if m.dtype != "auto":
        kw["dtype"] = getattr(torch, m.dtype)
    if m.attn_implementation:
        kw["attn_implementation"] = m.attn_implementation
    if m.source == "tiny-random":
        from transformers import LlamaConfig, LlamaForCausalLM

        t = m.tiny
        cfg = LlamaConfig(
            vocab_size=len(tokenizer),
            **t.model_dump(exclude={"seed"}),
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            tie_word_embeddings=True,
        )
        torch.manual_seed(t.seed)
        model = LlamaForCausalLM(cfg)
        model.generation_config.eos_token_id = tokenizer.eos_token_id
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        return model
    if m.source == "gguf":
        from longtracerl.llm.local import (
            _converted_dir,
            default_cache_root,
            resolve_local_model,
            save_converted,
        )

        folder, gguf_file = _gguf_location(m.path)
        if gguf_file:
            log.info("dequantising %s (first load; cached afterwards)", folder / gguf_file)
            model = AutoModelForCausalLM.from_pretrained(str(folder), gguf_file=gguf_file, **kw)
            src_folder, src_file = resolve_local_model(m.path)
            conv = _converted_dir(src_folder / src_file, default_cache_root())
            if save_converted(model, tokenizer, conv):
                return AutoModelForCausalLM.from_pretrained(str(conv), **kw)
            cfg = model.config.to_dict()
            cfg.pop("quantization_config", None)
            plain = type(model)(type(model.config).from_dict(cfg))
            plain.load_state_dict(model.state_dict())
            return plain
        return AutoModelForCausalLM.from_pretrained(str(folder), **kw)
    try:
        return AutoModelForCausalLM.from_pretrained(m.path, **kw)
    except (OSError, ValueError) as err:
        raise ConfigError(f"model.path={m.path}: cannot load the model: {err}") from None
