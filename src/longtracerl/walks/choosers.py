"""Next-hop choosers: given the current page and up to 5 candidates, pick one.

Registry (names enter from the CLI / YAML): ``related`` (non-LLM: TF-IDF cosine between the current
page's text and each candidate's text), ``first`` (non-LLM: the first sampled candidate), ``llm``
(docs/method.md#walks: asks a chat model for the most logically connected next topic, as a JSON
object constrained by a schema where the server supports it; falls back to the first candidate on
an unparseable reply and counts it as ``bad_reply``). An LLM call that fails (endpoint down,
timeout, HTTP error after the client's retries) is never turned into a pick: it raises, so the
chain fails as an item (``walks.errors.jsonl``) and the next run walks it again; the endpoint is
checked once when the chooser is built, so a wrong URL fails in seconds.

Example:
    >>> from longtracerl.records import Page
    >>> cur = Page(id="a", title="Sinister", text="A horror film directed by Scott Derrickson.")
    >>> cands = [Page(id="b", title="Lyon", text="Lyon is a city in France."),
    ...          Page(id="c", title="Deliver Us", text="A horror film by Scott Derrickson.")]
    >>> RelatedChooser(idf=None).choose(cur, cands).index
    1
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from longtracerl.config import build
from longtracerl.records import Page
from longtracerl.textfacts import content_tokens

if TYPE_CHECKING:
    from longtracerl.corpus.store import PageStore
    from longtracerl.llm.base import ChatModel
    from longtracerl.walks.config import WalksConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Choice:
    """The chooser's pick: candidate ``index``; ``fallback`` names why the default was used."""

    index: int
    fallback: str | None = None


class Chooser(Protocol):
    name: str
    """Label written into each walk's provenance (``producer``)."""

    def choose(self, current: Page, candidates: Sequence[Page]) -> Choice: ...


class FirstChooser:
    """Non-LLM: the first candidate (candidates are sampled in random order, so a random pick)."""

    name = "first (non-LLM)"

    def choose(self, current: Page, candidates: Sequence[Page]) -> Choice:
        return Choice(0)


def estimate_idf(texts: Sequence[str] | Any, num_docs: int | None = None) -> dict[str, float]:
    """Smoothed IDF ``log(1 + N / df)`` over an iterable of texts."""
    df: Counter[str] = Counter()
    n = 0
    for text in texts:
        df.update(set(content_tokens(text)))
        n += 1
    n = num_docs or n
    return {t: math.log(1.0 + n / c) for t, c in df.items()}


class RelatedChooser:
    """Non-LLM: the candidate whose page text is most related to the current page.

    Relatedness = cosine of TF-IDF vectors (log term frequency, IDF estimated from the corpus;
    unknown tokens get the largest IDF). Ties go to the earlier candidate. Deterministic, cheap.
    """

    name = "related (non-LLM, TF-IDF cosine)"

    def __init__(self, idf: dict[str, float] | None, max_chars: int = 2000):
        self.idf = idf
        self.default_idf = max(idf.values()) if idf else 1.0
        self.max_chars = max_chars

    def _vector(self, page: Page) -> dict[str, float]:
        counts = Counter(content_tokens(f"{page.title} {page.text[: self.max_chars]}"))
        idf = self.idf
        vec = {
            t: (1.0 + math.log(c)) * (idf.get(t, self.default_idf) if idf is not None else 1.0)
            for t, c in counts.items()
        }
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {t: v / norm for t, v in vec.items()}

    def choose(self, current: Page, candidates: Sequence[Page]) -> Choice:
        cur = self._vector(current)
        best, best_score = 0, -1.0
        for i, cand in enumerate(candidates):
            vec = self._vector(cand)
            score = sum(w * cur.get(t, 0.0) for t, w in vec.items())
            if score > best_score + 1e-12:
                best, best_score = i, score
        return Choice(best)


# --------------------------------------------------------------------------- LLM chooser

CHOOSER_PROMPT = """You are building a chain of facts by walking through an encyclopedia, one linked page at a time.

Current page: {title}
{text}

Linked pages you can go to next:
{candidates}

Which linked page is the most logically connected next topic, so that the chain of facts stays coherent and each step depends on the previous one?
{reply}"""

_REPLY_PLAIN = "Reply with the number of that page only (for example: 2)."
_REPLY_JSON = 'Reply with a JSON object naming that page by its number, for example: {"choice": 2}'


def choice_schema(n: int) -> dict[str, Any]:
    """JSON schema of the chooser's reply with ``n`` candidates: ``{"choice": 1..n}``."""
    return {
        "type": "object",
        "properties": {"choice": {"type": "integer", "minimum": 1, "maximum": n}},
        "required": ["choice"],
    }


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    if len(text) <= n:
        return text
    cut = text[:n].rsplit(" ", 1)[0]
    return cut + " ..."


def parse_choice(reply: str, titles: Sequence[str]) -> int | None:
    """The 0-based candidate index named by an LLM reply, or None if it cannot be read.

    Accepts a bare number, ``{"choice": 2}``, text such as ``"I pick 3."`` (the first number in
    range, after any ``</think>``), or a reply naming exactly one candidate title.

    >>> parse_choice("2", ["A", "B", "C"]), parse_choice('{"choice": 3}', ["A", "B", "C"])
    (1, 2)
    >>> parse_choice("<think>1 or 2?</think> Option 2.", ["A", "B"]), parse_choice("Beta!", ["Alpha", "Beta"])
    (1, 1)
    >>> parse_choice("none of them", ["A", "B"]) is None
    True
    """
    text = reply.rsplit("</think>", 1)[-1].strip()
    if not text:
        return None
    try:
        obj = json.loads(text)
        if isinstance(obj, dict):
            for key in ("choice", "index", "answer", "page"):
                if key in obj:
                    text = str(obj[key])
                    break
        elif isinstance(obj, int):
            text = str(obj)
    except (json.JSONDecodeError, ValueError):
        pass
    for m in re.finditer(r"(?<![\d.])(\d{1,2})(?![\d.]\d)", text):
        k = int(m.group(1))
        if 1 <= k <= len(titles):
            return k - 1
    low = text.lower()
    hits = [i for i, t in enumerate(titles) if t and t.lower() in low]
    if len(hits) == 1:
        return hits[0]
    return None


class LLMChooser:
    """The method's chooser (docs/method.md#walks): an LLM picks the most logically connected next topic.

    ``structured`` (see :func:`~longtracerl.llm.base.response_format_for`) asks for
    ``{"choice": N}`` under a JSON schema; a server that refuses the ``response_format`` (HTTP 4xx)
    gets plain requests from then on. Fallback to the first candidate only when the reply cannot be
    parsed (``bad_reply``, counted in :attr:`fallbacks`); a failed call raises
    :class:`~longtracerl.llm.base.LLMError`.
    """

    def __init__(
        self,
        model: ChatModel,
        *,
        current_chars: int = 600,
        candidate_chars: int = 200,
        max_tokens: int = 64,
        temperature: float = 0.0,
        structured: str = "json_object_schema",
    ):
        from longtracerl.llm.base import ChatParams, response_format_for

        response_format_for({}, "check", structured)  # an unknown kind fails here, not at the first call
        self.model = model
        self.name = f"llm:{getattr(model, 'name', type(model).__name__)}"
        self.current_chars = current_chars
        self.candidate_chars = candidate_chars
        self.params = ChatParams(temperature=temperature, max_tokens=max_tokens)
        self.structured = structured
        self.fallbacks: Counter[str] = Counter()
        self.calls = 0

    def prompt(self, current: Page, candidates: Sequence[Page]) -> str:
        lines = [
            f"{i}. {c.title}: {_clip(c.text.split(chr(10))[0], self.candidate_chars)}"
            for i, c in enumerate(candidates, start=1)
        ]
        return CHOOSER_PROMPT.format(
            title=current.title,
            text=_clip(current.text, self.current_chars),
            candidates="\n".join(lines),
            reply=_REPLY_PLAIN if self.structured == "off" else _REPLY_JSON,
        )

    def _reply(self, current: Page, candidates: Sequence[Page]) -> str:
        from longtracerl.llm.base import complete_with_format, response_format_for

        messages = [{"role": "user", "content": self.prompt(current, candidates)}]
        fmt = response_format_for(choice_schema(len(candidates)), "choice", self.structured)
        completion, kept = complete_with_format(self.model, messages, self.params, fmt)
        if fmt is not None and not kept:
            self.structured = "off"  # plain requests (and the plain prompt) from now on
        return completion.text

    def choose(self, current: Page, candidates: Sequence[Page]) -> Choice:
        if len(candidates) == 1:
            return Choice(0)
        self.calls += 1
        reply = self._reply(current, candidates)
        idx = parse_choice(reply, [c.title for c in candidates])
        if idx is None:
            self.fallbacks["bad_reply"] += 1
            return Choice(0, fallback="bad_reply")
        return Choice(idx)


# --------------------------------------------------------------------------- registry


def _make_first(cfg: WalksConfig, store: PageStore, chat_model: ChatModel | None) -> Chooser:
    return FirstChooser()


def _make_related(cfg: WalksConfig, store: PageStore, chat_model: ChatModel | None) -> Chooser:
    n = len(store)
    if n <= cfg.idf_sample:
        texts = (f"{p.title} {p.text[: cfg.related_chars]}" for p in store.iter_pages())
    else:
        step = n / cfg.idf_sample
        texts = (
            (lambda p: f"{p.title} {p.text[: cfg.related_chars]}")(store.by_index(int(i * step)))
            for i in range(cfg.idf_sample)
        )
    return RelatedChooser(estimate_idf(texts), max_chars=cfg.related_chars)


def _make_llm(cfg: WalksConfig, store: PageStore, chat_model: ChatModel | None) -> Chooser:
    from longtracerl.llm.openai import stage_chat_model

    chat_model = stage_chat_model(chat_model or cfg.llm, cfg.llm_client)
    return LLMChooser(
        chat_model,
        current_chars=cfg.current_chars,
        candidate_chars=cfg.candidate_chars,
        max_tokens=cfg.llm_max_tokens,
        temperature=cfg.llm_temperature,
        structured=cfg.llm_structured,
    )


ChooserFactory = Callable[["WalksConfig", "PageStore", "ChatModel | None"], Chooser]

CHOOSERS: dict[str, ChooserFactory | str] = {
    "related": _make_related,
    "first": _make_first,
    "llm": _make_llm,
}
"""Chooser factories ``(cfg, store, chat_model) -> Chooser``; ``module:attr`` names a user factory."""


def make_chooser(cfg: WalksConfig, store: PageStore, chat_model: ChatModel | None = None) -> Chooser:
    """Build the chooser named by ``cfg.chooser`` (a chat model may be passed in for ``llm``)."""
    return build(CHOOSERS, cfg.chooser, "chooser", "choose", cfg, store, chat_model)
