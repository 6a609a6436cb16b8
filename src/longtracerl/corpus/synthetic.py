"""Synthetic KILT-shaped corpora of any size, for scale benchmarks and tests (no third-party text).

Every word comes from a seeded syllable table, so no real text is shipped. A record has the KILT
knowledge-source fields the ``kilt`` loader reads (docs/method.md#corpus-and-link-graph), with
headings, bullets, a back-matter tail and anchors whose offsets point into their paragraph; page
and paragraph lengths, link counts, hub popularity and red links follow the laws in
:class:`SynthSpec`. Generation streams in constant memory and is a deterministic function of
``(spec, pages)``. Formats and distributions: docs/scale.md (Synthetic KILT corpora).

Example:
    >>> recs = list(iter_synthetic_kilt(50, SynthSpec(seed=3)))
    >>> len(recs), recs[0]["text"][0] == recs[0]["wikipedia_title"] + "\\n"
    (50, True)
    >>> a = recs[7]["anchors"][0]
    >>> recs[7]["text"][a["paragraph_id"]][a["start"]:a["end"]] == a["text"]
    True
    >>> recs == list(iter_synthetic_kilt(50, SynthSpec(seed=3)))
    True
"""

from __future__ import annotations

import gzip
import json
import math
import os
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np

__all__ = [
    "SynthSpec",
    "iter_synthetic_kilt",
    "kilt_to_jsonl",
    "write_synthetic",
    "synthetic_title",
    "synthetic_id",
]

# consonant-vowel syllables: 20 x 6 = 120 syllables
_CONS = "bcdfghjklmnprstvwxyz"
_VOWELS = "aeiouy"
_SYLLABLES = [c + v for c in _CONS for v in _VOWELS]
# title qualifiers are generated words too; these few shapes mimic Wikipedia's "(film)", "(2009 album)"
_MASK = (1 << 64) - 1
_CUT_TAIL = ("See also", "References", "External links", "Further reading", "Notes")


@dataclass(frozen=True)
class SynthSpec:
    """Parameters of a synthetic corpus. Defaults aim at English-Wikipedia-like shapes."""

    seed: int = 0
    vocab_size: int = 20_000  # generated words, Zipf-distributed in the text
    word_zipf_s: float = 1.07  # word-frequency exponent
    paras_median: float = 6.0  # body paragraphs per page: log-normal
    paras_sigma: float = 0.8
    paras_max: int = 300
    words_median: float = 45.0  # words per body paragraph: log-normal
    words_sigma: float = 0.8
    words_max: int = 1500
    heading_share: float = 0.15  # share of body paragraphs that are section headings
    bullet_share: float = 0.08  # share of body paragraphs that are bullets
    words_per_anchor: float = 25.0  # one anchor per this many body words (Poisson)
    hub_share: float = 0.6  # share of anchor targets drawn from the power law (else local)
    zipf_s: float = 0.9  # popularity exponent of hub targets (in-degree tail ~ 1 + 1/zipf_s)
    local_window: int = 2000  # topical neighbourhood of local targets (pages)
    dangling_share: float = 0.03  # anchors to pages that do not exist
    backmatter_share: float = 0.5  # pages with a See also / References tail (anchors there too)
    qualifier_share: float = 0.1  # titles with a trailing "(qualifier)"
    id_start: int = 12
    id_stride: int = 3  # wikipedia_id = id_start + index * id_stride (ids are not dense, as in KILT)

    def __post_init__(self) -> None:
        for name in ("paras_median", "words_median", "words_per_anchor"):
            if getattr(self, name) <= 0:
                raise ValueError(f"SynthSpec.{name} must be > 0 (got {getattr(self, name)})")
        for name in ("hub_share", "dangling_share", "backmatter_share", "qualifier_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"SynthSpec.{name} must be in [0, 1] (got {getattr(self, name)})")
        if self.zipf_s <= 0 or self.zipf_s == 1.0:
            raise ValueError(f"SynthSpec.zipf_s must be > 0 and != 1 (got {self.zipf_s})")
        if self.vocab_size < 100 or self.local_window < 1 or self.id_stride < 1:
            raise ValueError("SynthSpec: vocab_size >= 100, local_window >= 1, id_stride >= 1")


def _word(rng: random.Random, n_syl: int) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(n_syl))


def _index_name(i: int, table: list[str]) -> str:
    """The index written in syllables (base 120): unique per index."""
    out = []
    while True:
        i, r = divmod(i, len(table))
        out.append(table[r])
        if i == 0:
            break
    return "".join(out)


def synthetic_id(spec: SynthSpec, i: int) -> str:
    """The ``wikipedia_id`` of page ``i``."""
    return str(spec.id_start + i * spec.id_stride)


def _mix(x: int) -> int:
    """splitmix64 finaliser: a well-spread 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _syllables(h: int, n: int) -> str:
    out = []
    for _ in range(n):
        h, r = divmod(h, len(_SYLLABLES))
        out.append(_SYLLABLES[r])
    return "".join(out)


def synthetic_title(spec: SynthSpec, i: int) -> str:
    """The (unique) title of page ``i``: a pure function of ``(spec.seed, i)``.

    >>> synthetic_title(SynthSpec(seed=1), 5) == synthetic_title(SynthSpec(seed=1), 5)
    True
    >>> len({synthetic_title(SynthSpec(), i) for i in range(2000)})
    2000
    """
    h = _mix(_mix(spec.seed) ^ i)
    g = _mix(h)
    name = _index_name(i, _SYLLABLES).capitalize()
    title = f"{_syllables(h >> 8, 1 + (h & 3) % 3).capitalize()} {name}" if (h >> 2) % 5 else name
    if (g % 10_000) < spec.qualifier_share * 10_000:
        g >>= 14
        qual = _syllables(g, 2)
        title += f" ({qual})" if g % 10 < 7 else f" ({1800 + (g >> 8) % 220} {qual})"
    return title


def _href(title: str) -> str:
    return quote(title.replace(" ", "_"), safe="()_,'-")


class _Sampler:
    """The random draws of one corpus: lengths, words, link targets."""

    def __init__(self, n: int, spec: SynthSpec):
        self.n = n
        self.spec = spec
        self.rng = random.Random(f"pages:{spec.seed}")
        vrng = random.Random(f"vocab:{spec.seed}")
        vocab: list[str] = []
        seen: set[str] = set()
        while len(vocab) < spec.vocab_size:
            w = _word(vrng, min(4, 1 + int(vrng.expovariate(0.9))))
            if w not in seen:
                seen.add(w)
                vocab.append(w)
        self.vocab = np.array(vocab, dtype=object)
        cum = np.cumsum(1.0 / np.arange(1, len(vocab) + 1, dtype=np.float64) ** spec.word_zipf_s)
        self.cum = cum / cum[-1]
        self.np_rng = np.random.Generator(np.random.PCG64([spec.seed, 7]))
        # popularity rank -> page index: an affine permutation (a coprime with n)
        prng = random.Random(f"perm:{spec.seed}")
        a = prng.randrange(1, max(2, n)) | 1
        while math.gcd(a, n) != 1:
            a += 2
        self.perm_a, self.perm_b = a % max(n, 1), prng.randrange(max(n, 1))
        self._zipf_c = (n + 1) ** (1.0 - spec.zipf_s) - 1.0
        self._info: dict[int, tuple[str, str, str]] = {}  # bounded cache of target titles

    def target_info(self, j: int) -> tuple[str, str, str]:
        """(title, href, wikipedia_id) of page ``j``; hubs repeat, so recent ones are cached."""
        info = self._info.get(j)
        if info is None:
            title = synthetic_title(self.spec, j)
            info = (title, _href(title), synthetic_id(self.spec, j))
            if len(self._info) >= 50_000:
                self._info.clear()
            self._info[j] = info
        return info

    def words(self, k: int) -> list[str]:
        idx = np.searchsorted(self.cum, self.np_rng.random(k), side="right")
        return self.vocab[np.minimum(idx, len(self.vocab) - 1)].tolist()

    def lognormal_int(self, median: float, sigma: float, lo: int, hi: int) -> int:
        return max(lo, min(hi, int(round(self.rng.lognormvariate(math.log(median), sigma)))))

    def poisson(self, lam: float) -> int:
        if lam <= 0:
            return 0
        if lam > 30:  # normal approximation
            return max(0, int(round(self.rng.gauss(lam, math.sqrt(lam)))))
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def target(self, src: int) -> int:
        """A link target of page ``src`` (may equal src; the loader/graph drops self-links)."""
        spec, n, rng = self.spec, self.n, self.rng
        if rng.random() < spec.hub_share:
            u = rng.random()
            s = spec.zipf_s
            x = (1.0 + u * self._zipf_c) ** (1.0 / (1.0 - s))  # continuous power law on [1, n+1)
            rank = min(n - 1, int(x) - 1)
            return (self.perm_a * rank + self.perm_b) % n
        w = min(spec.local_window, n)
        return (src - w // 2 + rng.randrange(w)) % n


def iter_synthetic_kilt(pages: int, spec: SynthSpec | None = None) -> Iterator[dict]:
    """Yield ``pages`` KILT records, page 0 first; constant memory, deterministic by ``spec``."""
    spec = spec or SynthSpec()
    if pages < 1:
        raise ValueError(f"pages must be >= 1 (got {pages})")
    smp = _Sampler(pages, spec)
    rng = smp.rng
    for i in range(pages):
        title = synthetic_title(spec, i)
        paragraphs = [title + "\n"]
        anchors: list[dict] = []

        n_body = smp.lognormal_int(spec.paras_median, spec.paras_sigma, 1, spec.paras_max)
        for _ in range(n_body):
            r = rng.random()
            pid = len(paragraphs)
            if pid > 1 and r < spec.heading_share:
                heading = " ".join(smp.words(rng.randint(1, 2))).capitalize()
                paragraphs.append(f"Section::::{heading}.\n")
                continue
            n_words = smp.lognormal_int(spec.words_median, spec.words_sigma, 3, spec.words_max)
            if r < spec.heading_share + spec.bullet_share:
                n_words = min(n_words, 12)
                prefix = "BULLET::::- "
            else:
                prefix = ""
            n_links = smp.poisson(n_words / spec.words_per_anchor)
            paragraphs.append(_paragraph(smp, i, anchors, n_words, prefix, pid, n_links))
        if rng.random() < spec.backmatter_share:
            head = rng.choice(_CUT_TAIL)
            paragraphs.append(f"Section::::{head}.\n")
            for _ in range(rng.randint(1, 4)):
                pid = len(paragraphs)
                if head == "See also":
                    anchor = _anchor(smp, spec, i)
                    anchor.update(paragraph_id=pid, start=len("BULLET::::- "))
                    anchor["end"] = anchor["start"] + len(anchor["text"])
                    anchors.append(anchor)
                    paragraphs.append(f"BULLET::::- {anchor['text']}\n")
                else:
                    paragraphs.append(_paragraph(smp, i, anchors, rng.randint(5, 15), "BULLET::::- ", pid, 0))
        yield {
            "wikipedia_id": synthetic_id(spec, i),
            "wikipedia_title": title,
            "text": paragraphs,
            "anchors": anchors,
        }


def _paragraph(
    smp: _Sampler, src: int, anchors: list[dict], n_words: int, prefix: str, para_id: int, n_links: int
) -> str:
    """A paragraph of generated words; ``n_links`` words are replaced by anchors (appended to ``anchors``)."""
    rng = smp.rng
    words = smp.words(n_words)
    words[0] = words[0].capitalize()
    slots = sorted(rng.sample(range(n_words), min(n_links, n_words))) if n_links else []
    parts: list[str] = [prefix]
    pos = len(prefix)
    last = 0
    for slot in slots:
        chunk = " ".join(words[last:slot])
        if chunk:
            chunk += " "
        parts.append(chunk)
        pos += len(chunk)
        anchor = _anchor(smp, smp.spec, src)
        parts.append(anchor["text"])
        anchor["paragraph_id"] = para_id
        anchor["start"], anchor["end"] = pos, pos + len(anchor["text"])
        pos = anchor["end"]
        anchors.append(anchor)
        last = slot + 1
        if last <= n_words - 1:
            parts.append(" ")
            pos += 1
    parts.append(" ".join(words[last:]))
    return "".join(parts).rstrip() + ".\n"


def _anchor(smp: _Sampler, spec: SynthSpec, src: int) -> dict:
    rng = smp.rng
    if rng.random() < spec.dangling_share:
        title = f"{smp.words(1)[0].capitalize()} {_word(rng, 3)}"  # a red link: no such page
        return {"text": title, "href": _href(title), "wikipedia_title": title}
    title, href, pid = smp.target_info(smp.target(src))
    return {"text": title, "href": href, "wikipedia_title": title, "wikipedia_id": pid}


def kilt_to_jsonl(rec: dict) -> dict:
    """The same page as a generic ``{"id", "title", "text", "links"}`` record (raw KILT paragraphs
    joined, markup kept, links = every anchor's target id or title)."""
    links = [a.get("wikipedia_id") or a["wikipedia_title"] for a in rec["anchors"]]
    return {
        "id": rec["wikipedia_id"],
        "title": rec["wikipedia_title"],
        "text": "".join(rec["text"][1:]).strip(),
        "links": list(dict.fromkeys(links)),
    }


def write_synthetic(
    out: str | os.PathLike,
    pages: int,
    spec: SynthSpec | None = None,
    *,
    fmt: str = "kilt",
    compresslevel: int = 3,
    progress: bool = False,
) -> dict:
    """Write ``pages`` synthetic records to ``out`` (gzip when it ends in ``.gz``); atomic.

    Returns a summary: pages, anchors, bytes written, the spec.
    """
    spec = spec or SynthSpec()
    if fmt not in ("kilt", "jsonl"):
        raise ValueError(f"fmt must be 'kilt' or 'jsonl' (got {fmt!r})")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    records = iter_synthetic_kilt(pages, spec)
    if progress:
        from tqdm import tqdm

        records = tqdm(records, total=pages, desc="synth", unit="page", mininterval=0.5)
    n_anchors = 0
    try:
        raw = open(tmp, "wb")  # noqa: SIM115 (closed below)
        fh = (
            gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=compresslevel, mtime=0)
            if out.suffix == ".gz"
            else raw
        )
        try:
            buf: list[bytes] = []
            for rec in records:
                n_anchors += len(rec["anchors"])
                obj = rec if fmt == "kilt" else kilt_to_jsonl(rec)
                buf.append(json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n")
                if len(buf) >= 256:
                    fh.write(b"".join(buf))
                    buf.clear()
            fh.write(b"".join(buf))
        finally:
            if fh is not raw:
                fh.close()
            raw.close()
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return {
        "pages": pages,
        "anchors": n_anchors,
        "bytes": out.stat().st_size,
        "format": fmt,
        "spec": asdict(spec),
    }
