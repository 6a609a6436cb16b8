"""Non-LLM question composer ``masked``: a chained narration built from the path pages' own text.

For each path page, one sentence of its own text (the first that keeps ``min_content_words``
distinctive words after masking) describes the hop; in every clause EVERY path entity's name is
masked: all :func:`~longtracerl.textfacts.name_forms` of all path pages (title,
parenthesis-stripped title, without a leading "The", comma head, a person's surname) are replaced
by a role phrase ("a person", "a place", "a film", ...; "this film" for the page's own name).
The answer is an attribute of the last page, taken from its text: the first candidate that passes
the checks, trying kinds in the order of ``answer_kinds`` (year, a corpus entity that is not a path
page, a number) after a first kind drawn per walk from ``answer_kind_weights`` (default 0.5 / 0.3 /
0.2, so the data set is not all years); its span is replaced by the blank ``___`` and the final sentence
asks for its type. Grammar: :mod:`longtracerl.questions.grammar`.

Length: clauses are cut to ``clause_max_words`` words (shortened down to ``clause_min_words`` when
the question is too long); if it still exceeds ``max_chars``, the chain is cut to its longest
suffix that fits (at least ``min_hops`` pages), and the rubrics and gold pages follow the suffix.

Checks (a failing walk is rejected with the reason): ``name_leak`` (a path title's normalised form
in the normalised question), ``answer_in_question``, ``too_long``, ``no_answer``,
``hop_not_describable`` (a page with no sentence that keeps enough words and opens differently from
the earlier hops' clauses, e.g. sibling species sharing a first sentence), ``page_missing``.

This composer is an offline stand-in for the paper's LLM writer: it hides names but not dates or
other facts of intermediate hops, and a hop clause is searchable on its own (by design, so the
offline agent can find each page by BM25).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from longtracerl.config import config_hash
from longtracerl.corpus.store import PageStore
from longtracerl.questions.config import QuestionsConfig
from longtracerl.questions.grammar import BLANK, ask_for, build_question
from longtracerl.questions.validate import QuestionRejected, answer_in_question, make_question, name_leak
from longtracerl.records import Page, Question, Walk
from longtracerl.text import PatternMatcher
from longtracerl.textfacts import (
    TRAILING_WORDS,
    NameForms,
    classify_role,
    content_tokens,
    find_answers,
    name_forms,
    role_phrase,
    split_sentences,
    strip_qualifier,
    wordset,
)

_ROLE_WORDS = wordset(
    """
    this that person place film series recording band organization team book event structure species
    game character topic
    """
)


def _owners(forms: Sequence[str], owner: Sequence[int]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for f, i in zip(forms, owner, strict=True):
        out.setdefault(f, []).append(i)
    return out


@dataclass
class _Entity:
    page: Page
    role: str
    forms: NameForms
    sentences: list[str]


class Masker:
    """Finds and replaces the names of a path's entities in text (longest, leftmost matches)."""

    def __init__(self, entities: Sequence[_Entity]):
        self.entities = list(entities)
        full, full_owner, part, part_owner = [], [], [], []
        for i, e in enumerate(self.entities):
            for f in sorted(e.forms.full):
                full.append(f.lower())
                full_owner.append(i)
            for f in sorted(e.forms.partial):
                part.append(f)
                part_owner.append(i)
        # a form shared by two path pages ('Kim Tae-yeon') is the own page's name where it is one
        self._full, self._full_owners = PatternMatcher(full), _owners(full, full_owner)
        self._part, self._part_owners = PatternMatcher(part), _owners(part, part_owner)

    def spans(self, text: str, own: int | None = None) -> list[tuple[int, int, int]]:
        """Non-overlapping (start, end, entity index) name mentions, longest first at each start.

        A surname match of the ``own`` page (a person or character) at the start of its text also
        takes the given names before it and a ``Jr.``-like suffix after it.
        """
        found: list[tuple[int, int, int]] = []
        lowered = text.lower()
        if len(lowered) == len(text):
            for s, e, i in self._full.mentions(lowered):
                owners = self._full_owners[self._full.patterns[i]]
                found.append((s, e, own if own in owners else owners[0]))
        for s, e, i in self._part.mentions(text):
            owners = self._part_owners[self._part.patterns[i]]
            owner = own if own in owners else owners[0]
            if owner == own and _GIVEN_NAMES.fullmatch(text[:s]):
                s = 0
                m = _NAME_SUFFIX.match(text, e)
                e = m.end() if m else e
            found.append((s, e, owner))
        found.sort(key=lambda t: (t[0], -(t[1] - t[0])))
        out, last = [], -1
        for s, e, i in found:
            if s >= last:
                out.append((s, e, i))
                last = e
        return out

    def mask(self, text: str, own: int | None, extra: Sequence[tuple[int, int, str]] = ()) -> str:
        """Replace every mention (and the ``extra`` (start, end, replacement) spans) in ``text``."""
        reps = [
            (s, e, role_phrase(self.entities[i].role, definite=(i == own)))
            for s, e, i in self.spans(text, own)
        ]
        reps += list(extra)
        reps.sort()
        out, pos = [], 0
        for s, e, r in reps:
            if s < pos:
                continue
            chunk = text[pos:s]
            if r != BLANK and chunk[-4:].lower() == "the " and (len(chunk) == 4 or chunk[-5] == " "):
                chunk = chunk[:-4]  # 'the Kultur Lige' -> 'an organization', not 'the an organization'
            out.append(chunk)
            out.append(r)
            pos = e
        out.append(text[pos:])
        return "".join(out)


_GIVEN_NAMES = re.compile(r"(?:[A-Z][\w.'’-]*\s+)+")
_NAME_SUFFIX = re.compile(r",?\s+(?:Jr|Sr|II|III|IV)\b\.?")
_QUOTES = str.maketrans("", "", '"“”')
_INNER_STOP = re.compile(r"[.!?;]+(?=\s)|\?")
_TRAIL = re.compile(r"[\s.,;:!?\-–—(\"'“‘]+$")
_LEAD = re.compile(r"^[\s,;:.)\"'”’\-–—]+")


def clean_clause(text: str, *, blank_ok: bool = False) -> str:
    """Make a clause grammar-safe: no inner ". ", no "?", no stray blank, no trailing stop."""
    if not blank_ok:
        text = text.replace(BLANK, " ")
    text = text.replace("\u2026", " ")
    text = _INNER_STOP.sub("", text)
    text = " ".join(text.split())
    text = _LEAD.sub("", _TRAIL.sub("", text))
    return text


def cut_words(text: str, max_words: int, keep: str | None = None) -> str:
    """At most ``max_words`` words; with ``keep``, a window that contains that token."""
    words = text.split()
    if len(words) > max_words:
        start = 0
        if keep is not None:
            at = next((i for i, w in enumerate(words) if keep in w), 0)
            start = max(0, min(at - max_words // 2, len(words) - max_words))
            while start > 0 and words[start - 1].lower() in ("this", "a", "an", "tv"):
                start -= 1  # never cut a role phrase ('this TV series') in two
        words = words[start : start + max_words]
    while len(words) > 1 and (
        words[-1].lower().strip(",;:") in TRAILING_WORDS or (words[-1] == "TV" and words[-2] in ("a", "this"))
    ):
        words.pop()
    return clean_clause(" ".join(words), blank_ok=keep is not None)


def _opening(clause: str) -> str:
    """The first words of a clause as they survive the shortest cut (for duplicate checks)."""
    return " ".join(clause.lower().split()[:10])


def _distinct_words(clause: str) -> int:
    return sum(1 for t in content_tokens(clause) if t not in _ROLE_WORDS)


def answer_kind_order(cfg: QuestionsConfig, walk_id: str) -> list[str]:
    """Answer kinds in the order tried for a walk (both offline composers).

    With ``answer_kind_weights`` the first kind is drawn from the weights by a hash of the walk
    id (deterministic, independent of the run), the others follow in ``answer_kinds`` order.
    """
    kinds = list(cfg.answer_kinds)
    weights = {k: w for k, w in (cfg.answer_kind_weights or {}).items() if k in kinds and w > 0}
    if not weights:
        return kinds
    u = int.from_bytes(hashlib.sha256(walk_id.encode("utf-8")).digest()[:8], "big") / 2**64
    total, acc = sum(weights.values()), 0.0
    first = kinds[0]
    for k in kinds:
        acc += weights.get(k, 0.0) / total
        if k in weights and u < acc:
            first = k
            break
    return [first] + [k for k in kinds if k != first]


class MaskedComposer:
    """Offline, non-LLM composer (see module docstring)."""

    name = "masked (non-LLM)"

    def __init__(self, cfg: QuestionsConfig, store: PageStore):
        self.cfg = cfg
        self.store = store
        self.config_hash = config_hash(cfg)
        self._roles: dict[str, str] = {}

    def _role_of(self, page_id: str) -> str:
        role = self._roles.get(page_id)
        if role is None:
            page = self.store.get(page_id)
            sents = split_sentences(page.text) if page else []
            role = classify_role(sents[0]) if sents else "topic"
            if len(self._roles) > 100_000:
                self._roles.clear()
            self._roles[page_id] = role
        return role

    def _entity(self, page: Page) -> _Entity:
        sents = [s.translate(_QUOTES) for s in split_sentences(page.text)]
        role = classify_role(sents[0]) if sents else "topic"
        self._roles.setdefault(page.id, role)
        return _Entity(page, role, name_forms(page.title, role), sents)

    def _hop_clause(self, masker: Masker, i: int, earlier: Sequence[str]) -> str:
        """The first sentence of page ``i`` that keeps enough distinctive words after masking and
        whose opening words differ from the earlier hops' clauses (sibling pages such as two
        species of one genus often share a first sentence word for word)."""
        ent = masker.entities[i]
        seen = {_opening(c) for c in earlier}
        for sent in ent.sentences:
            masked = clean_clause(masker.mask(sent, own=i))
            if _distinct_words(masked) >= self.cfg.min_content_words and _opening(masked) not in seen:
                return masked
        raise QuestionRejected("hop_not_describable", ent.page.title)

    def kind_order(self, walk_id: str) -> list[str]:
        """Answer kinds in the order tried for this walk (:func:`answer_kind_order`)."""
        return answer_kind_order(self.cfg, walk_id)

    def _answers(self, masker: Masker, path_ids: set[str], kinds: Sequence[str]):
        """Yield (kind, answer text, entity role or None, masked final clause with the blank)."""
        last = len(masker.entities) - 1
        ent = masker.entities[last]
        per_kind: dict[str, list] = {k: [] for k in self.cfg.answer_kinds}
        for sent in ent.sentences:
            names = masker.spans(sent)
            for a in find_answers(sent, self.store.find_title if "entity" in per_kind else None):
                if a.kind not in per_kind:
                    continue
                if any(s < a.end and a.start < e for s, e, _ in names):
                    continue  # inside a path name
                if a.kind == "entity" and a.page_id in path_ids:
                    continue
                per_kind[a.kind].append((sent, a))
        for kind in kinds:
            for sent, a in per_kind[kind]:
                role = self._role_of(a.page_id) if a.kind == "entity" and a.page_id else None
                clause = clean_clause(
                    masker.mask(sent.replace(BLANK, "   "), own=last, extra=[(a.start, a.end, BLANK)]),
                    blank_ok=True,
                )
                if BLANK not in clause:
                    continue
                yield a.kind, a.text, role, clause

    def compose(self, walk: Walk, pages: Sequence[Page]) -> Question:
        """One question from a walk and its pages (in path order); raises QuestionRejected."""
        cfg = self.cfg
        entities = [self._entity(p) for p in pages]
        masker = Masker(entities)
        titles = [p.title for p in pages]
        hop_clauses: list[str] = []
        for i in range(len(pages) - 1):
            hop_clauses.append(self._hop_clause(masker, i, hop_clauses))
        last_reason = QuestionRejected("no_answer", titles[-1])
        for kind, answer, role, final_clause in self._answers(
            masker, {p.id for p in pages}, self.kind_order(walk.walk_id)
        ):
            ask = ask_for(kind, role)
            try:
                text, start = self._fit(entities, hop_clauses, final_clause, ask)
            except QuestionRejected as err:
                last_reason = err
                continue
            leak = name_leak(text, titles)
            if leak is not None:
                last_reason = QuestionRejected("name_leak", leak)
                continue
            if answer_in_question(text, answer):
                last_reason = QuestionRejected("answer_in_question", answer)
                continue
            used = pages[start:]
            rubrics = list(dict.fromkeys(strip_qualifier(p.title) for p in used))
            if cfg.rubrics_include_answer and answer not in rubrics:
                rubrics.append(answer)
            return make_question(
                walk, text, answer, rubrics, used, config_hash=self.config_hash, producer=self.name
            )
        raise last_reason

    def _fit(
        self, entities: Sequence[_Entity], hop_clauses: Sequence[str], final_clause: str, ask: str
    ) -> tuple[str, int]:
        """The longest chain suffix (then the longest clauses) whose question fits max_chars."""
        cfg = self.cfg
        n = len(entities)
        last_start = max(0, n - cfg.min_hops)
        budgets = list(range(cfg.clause_max_words, cfg.clause_min_words - 1, -2))
        if budgets[-1] != cfg.clause_min_words:
            budgets.append(cfg.clause_min_words)
        text = ""
        for start in range(0, last_start + 1):
            for words in budgets:
                hops = [(entities[i].role, cut_words(hop_clauses[i], words)) for i in range(start, n - 1)]
                final = (entities[-1].role, cut_words(final_clause, words + 4, keep=BLANK))
                text = build_question(hops, final, ask)
                if len(text) <= cfg.max_chars:
                    return text, start
        raise QuestionRejected("too_long", f"{len(text)} chars with {n - last_start} pages")
