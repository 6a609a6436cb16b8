"""What a training config needs from the machine, checked before anything loads.

A GPU preset needs a CUDA GPU, vLLM (``grpo.use_vllm``), flash-attn
(``model.attn_implementation: flash_attention_2``) and the model's files (a local folder, or a
hub id already in the hub cache or reachable). :func:`check_needs` lists each with ``ok`` and the
fix; ``train --dry-run`` prints the list, a real run stops with all missing ones in one error.

:func:`hub_offline_if_unreachable` turns the hub off (``HF_HUB_OFFLINE=1``) when it cannot be
reached within a second or two, so that loading a cached model does not spend tens of seconds
retrying the network, and loading an uncached one fails at once.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse

from longtracerl.config import ConfigError
from longtracerl.train.config import TrainConfig

log = logging.getLogger(__name__)


@dataclass
class Need:
    name: str
    why: str
    ok: bool
    fix: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def hub_reachable(timeout_s: float = 1.5) -> bool:
    """Can the model hub's host be reached (a TCP connect, no request)?"""
    try:
        from huggingface_hub import constants
    except ImportError:
        return False
    url = urlparse(constants.ENDPOINT)
    try:
        with socket.create_connection((url.hostname or "", url.port or 443), timeout=timeout_s):
            return True
    except OSError:
        return False


def hub_offline_if_unreachable() -> bool:
    """Set ``HF_HUB_OFFLINE=1`` when the hub cannot be reached; True when the hub is off."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return True
    if hub_reachable():
        return False
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:  # the constant is read at import time
        from huggingface_hub import constants

        constants.HF_HUB_OFFLINE = True
    except ImportError:
        pass
    log.warning("the model hub is not reachable: hub lookups are off (HF_HUB_OFFLINE=1), cached files only")
    return True


def _hub_cached(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    found = try_to_load_from_cache(repo_id, "config.json")
    return isinstance(found, str)


def check_needs(cfg: TrainConfig) -> list[Need]:
    """Each thing this config needs from the machine, with whether it is there."""
    g, m = cfg.grpo, cfg.model
    needs: list[Need] = []
    if not g.use_cpu:
        needs.append(
            Need(
                "CUDA GPU",
                "grpo.use_cpu is false" + (" and grpo.bf16 is true" if g.bf16 else ""),
                _cuda(),
                "run on a machine with an NVIDIA GPU and a CUDA build of torch, or use a cpu-* preset",
            )
        )
    if g.use_vllm:
        needs.append(
            Need(
                "vLLM",
                "grpo.use_vllm is true (rollouts)",
                importlib.util.find_spec("vllm") is not None,
                "pip install vllm (the version TRL supports), or --set grpo.use_vllm=false",
            )
        )
    if (m.attn_implementation or "").startswith("flash_attention"):
        needs.append(
            Need(
                "flash-attn",
                f"model.attn_implementation is {m.attn_implementation}",
                importlib.util.find_spec("flash_attn") is not None,
                "pip install flash-attn --no-build-isolation, or --set model.attn_implementation=sdpa",
            )
        )
    if m.source == "hf" and m.path and not Path(m.path).expanduser().exists():
        cached = _hub_cached(m.path)
        reachable = cached or hub_reachable()
        needs.append(
            Need(
                f"model {m.path}",
                "model.source is hf with a hub id",
                reachable,
                ""
                if reachable
                else f"download it where the hub is reachable (huggingface-cli download "
                f"{m.path}) and point model.path at the folder",
            )
        )
    return needs


def require(needs: list[Need]) -> None:
    """Raise one :class:`ConfigError` naming every missing need (of :func:`check_needs`) and its fix."""
    missing = [n for n in needs if not n.ok]
    if missing:
        raise ConfigError(
            "this training config needs what this machine lacks: "
            + "; ".join(f"{n.name} ({n.why}) - fix: {n.fix}" for n in missing)
            + ". `longtracerl train --dry-run` checks everything else without them."
        )
