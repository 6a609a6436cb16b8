"""Answer judges: the outcome reward (0 or 1) of docs/method.md#outcome-reward.

- :class:`LLMJudge` is the method's judge: any :class:`~longtracerl.llm.base.ChatModel` (an
  OpenAI-compatible endpoint in practice) gets the bare question, the correct answer and the
  response content, and must reply with ``extracted_final_answer:``, ``reasoning:`` and
  ``correct: yes|no``. Unparseable replies are asked again (3 calls in all); a call that raises
  :class:`~longtracerl.llm.base.LLMError` is retried (3 attempts), all under one hard deadline;
  when nothing usable came back the result has ``error`` saying why: that is a judge failure,
  not a wrong answer. Parsed verdicts are cached by a digest of (question, answer, response,
  aliases).
- :class:`RuleJudge` is an offline **approximation** for tests and runs without an LLM:
  normalised exact match, containment of the gold answer in a short extracted answer, token F1
  over a threshold, numeric tolerance, and alias lists. Its results say ``approximate=True``.

Example:
    >>> j = RuleJudge()
    >>> j.judge("Capital of France?", "Paris", "The answer is **Paris**.").correct
    True
    >>> j.judge("How many?", "1,000", "Final answer: 1000").correct
    True
    >>> j.judge("Who?", "Marie Curie", "Pierre Curie").correct
    False
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import random
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from longtracerl.llm.base import ChatModel, ChatParams, LLMError
from longtracerl.text import normalize_answer, token_f1


@dataclass(frozen=True, slots=True)
class JudgeResult:
    """One verdict. ``error`` is set when no verdict could be obtained (then ``correct`` is False)."""

    correct: bool
    extracted_answer: str | None = None
    reasoning: str | None = None
    raw: str | None = None
    error: str | None = None
    attempts: int = 0
    method: str = ""  # which rule or judge decided: "llm", "rule:exact", "rule:f1", ...
    approximate: bool = False  # True for rule-based verdicts (an approximation of the LLM judge)
    cached: bool = False


@runtime_checkable
class Judge(Protocol):
    """Decides whether a response answers a question correctly."""

    name: str

    def judge(
        self, question: str, answer: str, response: str, *, aliases: Sequence[str] = ()
    ) -> JudgeResult: ...


# --------------------------------------------------------------------------- rule judge

_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")
_ANSWER_LINE = re.compile(
    r"^[ \t>*_#-]*(?:final\s+answer|exact\s+answer|answer)[ \t*_]*[:：][ \t*_]*(.+?)[ \t*_]*$",
    re.IGNORECASE | re.MULTILINE,
)
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+")
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_NUMERIC_ONLY = re.compile(r"^[\s$€£¥~≈]*([-+]?[\d.,]+(?:[eE][-+]?\d+)?)\s*%?\s*$")


def extract_answer(response: str) -> str:
    """The answer part of a free-text response: last ``\\boxed{}``, else the last
    ``Answer:``/``Final answer:`` line, else the whole response (stripped)."""
    boxed = _BOXED.findall(response)
    if boxed:
        return boxed[-1].strip()
    lines = _ANSWER_LINE.findall(response)
    if lines:
        return lines[-1].strip()
    return response.strip()


def _to_number(text: str) -> float | None:
    m = _NUMERIC_ONLY.match(text)
    if not m:
        return None
    raw = m.group(1).replace(",", "")
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _numbers_in(text: str) -> list[float]:
    out = []
    for raw in _NUMBER.findall(text):
        try:
            value = float(raw.replace(",", ""))
        except ValueError:
            continue
        if math.isfinite(value):
            out.append(value)
    return out


@dataclass(frozen=True)
class RuleJudge:
    """Offline rule-based judge: an approximation of the LLM judge, not the method's judge.

    A response (its extracted answer, see :func:`extract_answer`) is correct when, against the gold
    answer or any alias:

    1. ``exact``: :func:`~longtracerl.text.normalize_answer` forms are equal;
    2. ``number``: the gold answer is a number and the extracted answer is that number, or holds
       exactly one number: equal when the gold is a whole number (a year or a count), else within
       ``numeric_rel_tol`` (relative) or ``numeric_abs_tol``;
    3. ``contains`` (not for numeric golds): the gold answer's normalised tokens occur as a contiguous whole-word run in
       the extracted answer and the extracted answer has at most ``containment_max_extra_tokens``
       more tokens than the gold (long answers listing many candidates do not pass); for a gold
       answer with CJK characters the same test runs on characters with spaces removed;
    4. ``f1`` (not for numeric golds): token F1 >= ``f1_threshold``.
    """

    f1_threshold: float = 0.8
    numeric_rel_tol: float = 0.01
    numeric_abs_tol: float = 1e-9
    containment_max_extra_tokens: int = 10
    name: str = "rule"

    def judge(self, question: str, answer: str, response: str, *, aliases: Sequence[str] = ()) -> JudgeResult:
        extracted = extract_answer(response)
        golds = [g for g in (answer, *aliases) if isinstance(g, str) and g.strip()]
        if not extracted or not golds:
            why = "empty response" if not extracted else "no gold answer"
            return JudgeResult(False, extracted or None, why, None, None, 0, "rule:none", True)
        norm_e = normalize_answer(extracted)  # once: responses can be long
        tokens_e = norm_e.split()
        facts = [(g, normalize_answer(g), _to_number(g)) for g in golds]
        for rule in ("exact", "number", "contains", "f1"):
            for gold, norm_g, number_g in facts:
                if self._check(rule, extracted, norm_e, tokens_e, norm_g, number_g):
                    why = f"rule '{rule}' matched gold {gold!r}"
                    return JudgeResult(True, extracted, why, None, None, 0, f"rule:{rule}", True)
        return JudgeResult(False, extracted, "no rule matched", None, None, 0, "rule:none", True)

    def _check(
        self, rule: str, extracted: str, norm_e: str, tokens_e: list[str], norm_g: str, number_g: float | None
    ) -> bool:
        if rule == "exact":
            return norm_e == norm_g != ""
        if rule == "number":
            if number_g is None:
                return False
            e = _to_number(extracted)
            if e is None:
                found = _numbers_in(extracted)
                if len(found) != 1:
                    return False
                e = found[0]
            if number_g.is_integer():  # years, counts: 1889 is not 1900, whatever the tolerance
                return e == number_g
            return math.isclose(e, number_g, rel_tol=self.numeric_rel_tol, abs_tol=self.numeric_abs_tol)
        if number_g is not None:
            return False  # a numeric gold is matched by value only (no "between 99 and 100")
        tokens_g = norm_g.split()
        if not tokens_g:
            return False
        if rule == "contains":
            if _CJK.search(norm_g):  # no spaces between CJK words: compare characters, not tokens
                g_chars, e_chars = norm_g.replace(" ", ""), norm_e.replace(" ", "")
                return len(e_chars) <= len(g_chars) + self.containment_max_extra_tokens and g_chars in e_chars
            if len(tokens_e) > len(tokens_g) + self.containment_max_extra_tokens:
                return False
            return f" {norm_g} " in f" {norm_e} "
        # f1: with recall <= 1, F1 >= t needs precision >= t / (2 - t), i.e. a short enough answer
        t = self.f1_threshold
        if t > 0 and len(tokens_e) > len(tokens_g) * (2 - t) / t:
            return False
        return token_f1(extracted, " ".join(tokens_g)) >= t


# --------------------------------------------------------------------------- LLM judge

GRADER_PROMPT = """You are grading one answer to a question against the reference answer.

[question]
{question}

[response to grade]
{response}

[reference answer]
{answer}
{aliases}
Write exactly these three fields, each on its own line and in this order:

extracted_final_answer: the final answer that the response commits to, copied exactly. Write None if the response gives no final answer.

reasoning: one or two sentences on whether the extracted answer means the same as the reference answer. Judge only that: do not solve the question again, do not argue for a different answer, and do not comment on the response's explanation. Ignore differences in wording, formatting or capitalisation that keep the meaning; for numbers, allow a very small rounding difference.

correct: yes if the extracted answer is equivalent to the reference answer, otherwise no (also no when it is ambiguous, incomplete, hedges between several answers, or is wrong in any part)."""

_FIELD_NAMES = r"extracted[\s_]*final[\s_]*answer|reasoning|correct"
_FIELD = re.compile(rf"^[ \t#>*_-]*({_FIELD_NAMES})[ \t*_]*[:：]", re.IGNORECASE | re.MULTILINE)
_VERDICT = re.compile(r"^[\s*_`\"'\[(]*(yes|no)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ParsedVerdict:
    correct: bool
    extracted_answer: str | None
    reasoning: str | None


def _clean_field(value: str) -> str:
    value = value.strip()
    value = re.sub(r"^[*_`\s]+|[*_`\s]+$", "", value)
    return value.strip()


def parse_grader_reply(reply: str) -> ParsedVerdict | None:
    """Read the three fields from a grader reply; ``None`` when there is no yes/no verdict.

    Tolerant of bold/italic markers, header marks, case, spaces around the colon, and
    ``extracted final answer`` written with spaces. The last occurrence of a field wins.

    >>> v = parse_grader_reply("**Extracted_Final_Answer:** Paris\\n**Reasoning**: same city\\n**Correct:** Yes")
    >>> (v.correct, v.extracted_answer, v.reasoning)
    (True, 'Paris', 'same city')
    >>> parse_grader_reply("I think it is right.") is None
    True
    """
    if not isinstance(reply, str):
        return None
    marks = list(_FIELD.finditer(reply))
    fields: dict[str, str] = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(reply)
        key = re.sub(r"[\s_]+", "_", m.group(1).lower())
        fields[key] = reply[m.end() : end]
    verdict = fields.get("correct")
    if verdict is None:
        return None
    vm = _VERDICT.match(verdict)
    if not vm:
        return None
    extracted = fields.get("extracted_final_answer")
    reasoning = fields.get("reasoning")
    extracted = _clean_field(extracted) if extracted is not None else None
    if extracted is not None and extracted.lower() in ("", "none", "null", "n/a"):
        extracted = None
    return ParsedVerdict(
        vm.group(1).lower() == "yes", extracted, _clean_field(reasoning) if reasoning is not None else None
    )


class LLMJudge:
    """The method's judge over any :class:`ChatModel` (docs/method.md#outcome-reward).

    ``max_total_s`` is a hard deadline for one verdict, every call, retry and pause included
    (``asyncio.timeout`` around the whole attempt loop): when it passes, the call in flight is
    cancelled and the result says so in ``error``. :meth:`ajudge` runs on the caller's event
    loop (the reward server's); :meth:`judge` (blocking, thread-safe) runs the same coroutine on
    a private event loop thread, so both paths share one policy. A chat model without
    ``acomplete`` is called in a private thread pool of ``max_concurrency`` threads.

    A result with ``error`` set is **not** a verdict: callers must not read it as a wrong answer
    (see :func:`longtracerl.rewards.combine.score_parsed` and the server's HTTP 503).

    Args:
        chat_model: the grader model (e.g. ``longtracerl.llm.openai.make_chat_model(...)``).
        params: sampling parameters for the grader (default: temperature 0, 1024 tokens).
        max_calls: grader calls per verdict when replies are unparseable (3, as the release).
        max_api_attempts: attempts per call when the client raises ``LLMError`` (3).
        backoff_s: base of the jittered exponential pause between failed attempts.
        max_total_s: hard deadline for one verdict, all calls included.
        cache_size: verdicts kept (LRU); 0 disables the cache.
        max_concurrency: verdicts judged at once by the blocking path's callers (threads of
            ``score_group``) and threads for a chat model without ``acomplete``. The HTTP client
            has its own limit (``LLMConfig.concurrency``).
    """

    approximate = False

    def __init__(
        self,
        chat_model: ChatModel,
        *,
        params: ChatParams | None = None,
        max_calls: int = 3,
        max_api_attempts: int = 3,
        backoff_s: float = 0.5,
        max_total_s: float = 300.0,
        cache_size: int = 100_000,
        max_concurrency: int = 8,
        prompt: str = GRADER_PROMPT,
    ):
        if max_calls < 1 or max_api_attempts < 1:
            raise ValueError("LLMJudge: max_calls and max_api_attempts must be >= 1")
        if not max_total_s > 0:
            raise ValueError("LLMJudge: max_total_s must be > 0")
        self.chat_model = chat_model
        self.name = f"llm:{getattr(chat_model, 'name', 'model')}"
        self.params = params or ChatParams(temperature=0.0, max_tokens=1024)
        self.max_calls = max_calls
        self.max_api_attempts = max_api_attempts
        self.backoff_s = backoff_s
        self.max_total_s = max_total_s
        self.cache_size = cache_size
        self.max_concurrency = max_concurrency
        self.prompt = prompt
        self._cache: OrderedDict[bytes, JudgeResult] = OrderedDict()
        self._lock = threading.Lock()
        self._runner: tuple[int, asyncio.AbstractEventLoop] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self.calls = 0  # grader calls made (for tests and monitors)
        self.in_flight = 0  # grader calls running now

    def messages(self, question: str, answer: str, response: str, aliases: Sequence[str] = ()) -> list[dict]:
        alias_text = ""
        if aliases:
            alias_text = "\n[also accepted as the reference answer]\n" + "\n".join(aliases) + "\n"
        text = self.prompt.format(question=question, response=response, answer=answer, aliases=alias_text)
        return [{"role": "user", "content": text}]

    def judge(self, question: str, answer: str, response: str, *, aliases: Sequence[str] = ()) -> JudgeResult:
        """Blocking :meth:`ajudge` (not from inside this judge's own loop)."""
        if not response or not response.strip():
            return JudgeResult(False, None, "empty response", None, None, 0, "llm")
        future = asyncio.run_coroutine_threadsafe(
            self.ajudge(question, answer, response, aliases=aliases), self._loop()
        )
        return future.result()

    async def ajudge(
        self, question: str, answer: str, response: str, *, aliases: Sequence[str] = ()
    ) -> JudgeResult:
        """One verdict, within ``max_total_s`` whatever the grader does."""
        if not response or not response.strip():
            return JudgeResult(False, None, "empty response", None, None, 0, "llm")
        key = _cache_key(question, answer, response, aliases)
        if self.cache_size:
            with self._lock:
                hit = self._cache.get(key)
                if hit is not None:
                    self._cache.move_to_end(key)
                    return _replace_cached(hit)
        progress = _Progress()
        try:
            async with asyncio.timeout(self.max_total_s):  # cancels the call in flight when it passes
                result = await self._attempts(self.messages(question, answer, response, aliases), progress)
        except TimeoutError:
            result = JudgeResult(
                False,
                None,
                None,
                progress.raw,
                f"time budget of {self.max_total_s:g}s spent (hard deadline over all calls); "
                f"last problem: {progress.error or 'the grader had not answered'}",
                progress.attempts,
                "llm",
            )
        if self.cache_size and result.error is None:
            with self._lock:
                self._cache[key] = result
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return result

    async def _call(self, messages: list[dict]) -> Any:
        native = getattr(self.chat_model, "acomplete", None)
        if native is not None:
            return await native(messages, self.params)
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max(1, self.max_concurrency), thread_name_prefix="judge")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.chat_model.complete, messages, self.params)

    async def _attempts(self, messages: list[dict], progress: _Progress) -> JudgeResult:
        calls_left = self.max_calls
        api_failures = 0
        while calls_left > 0:
            progress.attempts += 1
            with self._lock:
                self.calls += 1
                self.in_flight += 1
            try:
                completion = await self._call(messages)
            except Exception as err:  # LLMError, or anything else a client lets through
                api_failures += 1
                kind = "" if isinstance(err, LLMError) else f"{type(err).__name__}: "
                progress.error = f"judge API error: {kind}{err}"
                if api_failures >= self.max_api_attempts:
                    break
                delay = self.backoff_s * (2 ** max(api_failures - 1, 0)) * (0.5 + random.random())
                if delay > 0:
                    await asyncio.sleep(delay)
                continue
            finally:
                with self._lock:
                    self.in_flight -= 1
            calls_left -= 1
            progress.raw = completion.text
            verdict = parse_grader_reply(completion.text or "")
            if verdict is not None:
                return JudgeResult(
                    verdict.correct,
                    verdict.extracted_answer,
                    verdict.reasoning,
                    completion.text,
                    None,
                    progress.attempts,
                    "llm",
                )
            progress.error = "unparseable judge reply (no 'correct: yes|no')"
        return JudgeResult(
            False, None, None, progress.raw, progress.error or "no verdict", progress.attempts, "llm"
        )

    def _loop(self) -> asyncio.AbstractEventLoop:
        """This judge's private event loop thread (started once per process, daemon)."""
        runner = self._runner
        if runner is not None and runner[0] == os.getpid():
            return runner[1]
        with self._lock:
            if self._runner is None or self._runner[0] != os.getpid():  # none yet, or forked
                loop = asyncio.new_event_loop()
                threading.Thread(target=_run_loop, args=(loop,), name="llm-judge-loop", daemon=True).start()
                weakref.finalize(self, loop.call_soon_threadsafe, loop.stop)  # the thread ends with the judge
                self._runner = (os.getpid(), loop)
            return self._runner[1]


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    try:
        loop.run_forever()
    finally:
        loop.close()


@dataclass(slots=True)
class _Progress:
    """What the attempt loop saw so far (read when the deadline cuts it short)."""

    attempts: int = 0
    raw: str | None = None
    error: str | None = None


def _cache_key(question: str, answer: str, response: str, aliases: Sequence[str]) -> bytes:
    """A digest, so the cache holds verdicts, not copies of 32K-token responses."""
    h = hashlib.blake2b(digest_size=20)
    for part in (question, answer, response, *aliases):
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.digest()


def _replace_cached(result: JudgeResult) -> JudgeResult:
    return JudgeResult(
        result.correct,
        result.extracted_answer,
        result.reasoning,
        result.raw,
        result.error,
        result.attempts,
        result.method,
        result.approximate,
        True,
    )


JUDGES = {"rule": RuleJudge, "llm": LLMJudge}
