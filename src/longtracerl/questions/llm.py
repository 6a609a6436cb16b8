"""LLM question composer ``llm`` (docs/method.md#questions-and-rubrics) behind any :class:`~longtracerl.llm.base.ChatModel`.

The model sees the path (titles and the first ``page_chars`` characters of each page, in order)
and the question rules, and must reply with one JSON object ``{"question", "answer", "rubrics"}``.
A reply is valid when: it parses (code fences and text around the object are tolerated), the
three fields have the right types and are non-empty, the question has at most ``max_chars``
characters, the answer does not occur in the question, no path title occurs in the question, and
each rubric occurs (normalised, docs/method.md#rubric-reward) in the text or title of a path page. An invalid reply
is answered with the reason and the model tries again, up to ``llm_max_attempts`` calls; then the
walk is rejected with the last reason, and the rejection keeps the last reply (cut to
``REPLY_CHARS``) beside it.

Transport: where the server supports it (``llm_structured``; llama.cpp turns a JSON schema into a
grammar) the request carries :func:`reply_schema` as its ``response_format``, so the reply is
always one parseable object; a server that refuses the field (HTTP 4xx) gets plain requests from
then on. An LLM call that fails (endpoint down, timeout, HTTP error after the client's retries) is
never an attempt or a rejection: it raises, so the walk goes to ``questions.errors.jsonl`` and
the next run composes it again. The endpoint is checked once when the composer is built.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from longtracerl.config import config_hash
from longtracerl.llm.base import json_objects
from longtracerl.questions.config import QuestionsConfig
from longtracerl.questions.validate import (
    QuestionRejected,
    answer_in_question,
    make_question,
    name_leak,
    rubric_in_pages,
)
from longtracerl.records import Page, Question, Walk

if TYPE_CHECKING:
    from longtracerl.llm.base import ChatModel

log = logging.getLogger(__name__)

COMPOSER_PROMPT = """Below is a path of linked encyclopedia pages, in order. Write ONE hard multi-hop question that can only be answered by following this path from the first page to the last, in order.

Rules:
- Describe every page on the path WITHOUT its name: say what kind of thing it is and give blurred facts from its own text (a nationality or field, a decade instead of a year, a range instead of an exact number), then how it is linked to the previous page (for example "the director of that film", "a band that musician joined").
- Never copy a sentence or a long phrase from the pages: paraphrase. No name, exact date or place of any page on the path may appear in the question.
- Each description after the first must fit many pages on its own but only one of the pages linked to the previous one, so every step is needed, in order, and no keyword leads straight to the answer. The first description must be specific enough to find the first page by searching.
- End with one plain question about one attribute of the LAST page's subject stated in its text (a name, place, event, date or number), for example "In which year was this band formed?". The answer must be unique and must not appear in the question.
- Write fluent English as a chained narration, for example "Start with ... . Next comes ... . Finally, ... . In which year ...?", in at most {max_chars} characters.
- "answer" is the answer exactly as the last page writes it; "rubrics" lists the entities of the path, in order, each written exactly as it appears in its page's text.

Path:
{path}

Reply with a JSON object only: {{"question": "...", "answer": "...", "rubrics": ["...", "..."]}}"""

RETRY_PROMPT = (
    "That reply is not usable: {reason}. Reply again with one JSON object "
    '{{"question": "...", "answer": "...", "rubrics": [...]}} that follows every rule.'
)


def reply_schema(max_chars: int, n_pages: int) -> dict[str, Any]:
    """JSON schema of one composer reply (sent as the structured-output format). The length
    bounds keep a grammar-constrained reply from running into ``max_tokens`` mid-string (a
    truncated object is no JSON).

    >>> sorted(reply_schema(400, 3)["properties"])
    ['answer', 'question', 'rubrics']
    """
    text = {"type": "string", "minLength": 1}
    return {
        "type": "object",
        "properties": {
            "question": {**text, "maxLength": max_chars},
            "answer": {**text, "maxLength": 100},
            "rubrics": {
                "type": "array",
                "items": {**text, "maxLength": 100},
                "minItems": 1,
                "maxItems": n_pages + 1,
            },
        },
        "required": ["question", "answer", "rubrics"],
    }


REPLY_CHARS = 2000
"""How much of the last reply a rejected walk keeps."""

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def extract_json_object(reply: str) -> dict[str, Any]:
    """The first JSON object in a reply (after any ``</think>``, inside a code fence or not).

    >>> extract_json_object('Sure! ```json\\n{"a": 1}\\n``` done')
    {'a': 1}
    >>> extract_json_object('text {"q": "x {y}"} more')
    {'q': 'x {y}'}
    >>> extract_json_object('{"q": "two\\nlines"}')["q"]
    'two\\nlines'
    """
    text = reply.rsplit("</think>", 1)[-1]
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1)
    for obj in json_objects(text):
        return obj
    raise ValueError("no JSON object in the reply")


def validate_reply(
    obj: dict[str, Any], pages: Sequence[Page], max_chars: int, shortcut: Any = None
) -> tuple[str, str, list[str]]:
    """Check one decoded reply; returns (question, answer, rubrics) or raises QuestionRejected.

    ``shortcut(question, answer_page_id) -> str | None`` (the offline composers' BM25 check, when
    the corpus has an index) names a piece of the question that finds the answer page alone."""
    q, a, r = obj.get("question"), obj.get("answer"), obj.get("rubrics")
    if not isinstance(q, str) or not q.strip():
        raise QuestionRejected("bad_field", "'question' must be a non-empty string")
    if not isinstance(a, str | int | float) or not str(a).strip():
        raise QuestionRejected("bad_field", "'answer' must be a non-empty string")
    if not isinstance(r, list) or not r or not all(isinstance(x, str) and x.strip() for x in r):
        raise QuestionRejected("bad_field", "'rubrics' must be a non-empty list of non-empty strings")
    q, a, rubrics = q.strip(), str(a).strip(), [x.strip() for x in r]
    if len(q) > max_chars:
        raise QuestionRejected("too_long", f"the question has {len(q)} characters (max {max_chars})")
    if answer_in_question(q, a):
        raise QuestionRejected("answer_in_question", f"the answer {a!r} appears in the question")
    leak = name_leak(q, [p.title for p in pages])
    if leak is not None:
        raise QuestionRejected("name_leak", f"the question names the path page {leak!r}")
    check_question(q, a, pages, shortcut)
    texts = [f"{p.title}\n{p.text}" for p in pages]
    missing = [x for x in rubrics if not rubric_in_pages(x, texts)]
    if missing:
        raise QuestionRejected("rubric_not_in_pages", f"rubrics not found in any path page: {missing}")
    return q, a, list(dict.fromkeys(rubrics))


def check_question(question: str, answer: str, pages: Sequence[Page], shortcut: Any = None) -> None:
    """The checks the offline ``chain`` composer keeps too: no text defect (questions.audit), the
    answer on the last page, and (with ``shortcut``) no piece that finds the answer page alone."""
    from longtracerl.questions.audit import text_defects
    from longtracerl.text import normalize_answer

    defects = text_defects(question)
    if defects:
        raise QuestionRejected("text_defect", f"the question has text defects: {', '.join(defects)}")
    last = pages[-1]
    if f" {normalize_answer(answer)} " not in f" {normalize_answer(last.title + ' ' + last.text)} ":
        raise QuestionRejected(
            "answer_not_on_last_page", f"the answer {answer!r} is not in the last page's text"
        )
    piece = shortcut(question, last.id) if shortcut is not None else None
    if piece is not None:
        raise QuestionRejected(
            "shortcut", f"searching {piece!r} alone finds the last page: describe it more vaguely"
        )


class LLMComposer:
    """The method's LLM composer (see module docstring). ``attempts`` counts LLM calls made."""

    def __init__(self, cfg: QuestionsConfig, model: ChatModel):
        from longtracerl.llm.base import ChatParams, check_endpoint

        check_endpoint(model)  # a wrong URL fails here, in seconds
        self.cfg = cfg
        self.model = model
        self.name = f"llm:{getattr(model, 'name', type(model).__name__)}"
        self.params = ChatParams(temperature=cfg.llm_temperature, max_tokens=cfg.llm_max_tokens)
        self.structured = cfg.llm_structured
        self.config_hash = config_hash(cfg)
        self.attempts = 0
        self.shortcut: Any = None  # set by the stage when the corpus has a search index

    def prompt(self, pages: Sequence[Page]) -> str:
        lines = []
        for i, p in enumerate(pages, start=1):
            text = " ".join(p.text.split())
            if len(text) > self.cfg.page_chars:
                text = text[: self.cfg.page_chars].rsplit(" ", 1)[0] + " ..."
            lines.append(f"{i}. {p.title}\n{text}")
        return COMPOSER_PROMPT.format(max_chars=self.cfg.max_chars, path="\n\n".join(lines))

    def _reply(self, messages: list[dict[str, Any]], n_pages: int) -> str:
        """One completion; endpoint failures raise (the walk is retried by the next run)."""
        from longtracerl.llm.base import complete_with_format, response_format_for

        fmt = response_format_for(reply_schema(self.cfg.max_chars, n_pages), "question", self.structured)
        completion, kept = complete_with_format(self.model, messages, self.params, fmt)
        if fmt is not None and not kept:
            self.structured = "off"
        return completion.text

    def compose(self, walk: Walk, pages: Sequence[Page]) -> Question:
        messages: list[dict[str, Any]] = [{"role": "user", "content": self.prompt(pages)}]
        last = QuestionRejected("no_attempt")
        reply = ""
        for _ in range(self.cfg.llm_max_attempts):
            self.attempts += 1
            reply = self._reply(messages, len(pages))
            try:
                obj = extract_json_object(reply)
                question, answer, rubrics = validate_reply(obj, pages, self.cfg.max_chars, self.shortcut)
            except ValueError as err:
                last = QuestionRejected("bad_json", str(err))
            except QuestionRejected as err:
                last = err
            else:
                return make_question(
                    walk, question, answer, rubrics, pages, config_hash=self.config_hash, producer=self.name
                )
            messages = [
                *messages,
                {"role": "assistant", "content": reply},
                {"role": "user", "content": RETRY_PROMPT.format(reason=last.detail or last.reason)},
            ]
        last.reply = reply[:REPLY_CHARS]  # kept beside the reason in questions.rejected.jsonl
        raise last
