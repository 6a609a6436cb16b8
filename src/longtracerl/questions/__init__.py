"""Questions stage (docs/method.md#questions-and-rubrics): one obfuscated multi-hop question per walk.

Public API: :class:`QuestionsConfig`, :func:`run_questions` (writes ``RUN/questions.jsonl`` and
``RUN/questions.rejected.jsonl``), the composer registry :data:`COMPOSERS` /
:func:`make_composer`, the composers :class:`~longtracerl.questions.chain.ChainComposer` (non-LLM,
default), :class:`~longtracerl.questions.masked.MaskedComposer` (non-LLM) and
:class:`~longtracerl.questions.llm.LLMComposer`, the masked question grammar
(:func:`parse_question`), :class:`QuestionRejected`, and the audit of any question file
(:mod:`longtracerl.questions.audit`).
"""

from longtracerl.questions.config import QuestionsConfig
from longtracerl.questions.grammar import BLANK, ParsedQuestion, build_question, parse_question
from longtracerl.questions.run import COMPOSERS, QuestionStats, make_composer, run_questions
from longtracerl.questions.validate import QuestionRejected, answer_in_question, name_leak

__all__ = [
    "BLANK",
    "COMPOSERS",
    "ParsedQuestion",
    "QuestionRejected",
    "QuestionStats",
    "QuestionsConfig",
    "answer_in_question",
    "build_question",
    "make_composer",
    "name_leak",
    "parse_question",
    "run_questions",
]
