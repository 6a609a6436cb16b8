"""Compatibility names: the text facts moved to :mod:`longtracerl.textfacts`; import them from there."""

from longtracerl.textfacts import (
    AnswerSpan,
    NameForms,
    classify_role,
    find_answers,
    has_answer,
    name_forms,
    role_phrase,
    split_sentences,
    strip_qualifier,
)

__all__ = [
    "AnswerSpan",
    "NameForms",
    "classify_role",
    "find_answers",
    "has_answer",
    "name_forms",
    "role_phrase",
    "split_sentences",
    "strip_qualifier",
]
