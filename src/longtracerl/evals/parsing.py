"""Turn a :class:`~longtracerl.llm.base.Completion` into answer content with the rewards' parser.

Processors (``EvalConfig.processor``):

- any name of :data:`longtracerl.rewards.parse.PROCESSORS` (``qwen3-thinking``,
  ``deepseek-r1-qwen3``) or ``module:attr``: the method's parser (docs/method.md#parsing-the-response). When the server split the
  reasoning off (vLLM/SGLang reasoning parsers send ``reasoning_content``), the raw text is rebuilt
  as ``reasoning + "\\n</think>\\n\\n" + content`` first, so the same rules apply.
- ``plain``: for non-thinking models: the whole text is the answer; ``finish_reason`` ``length`` ->
  truncated, ``abort`` -> aborted, blank text -> ill-formed.
- ``auto`` (default): ``plain`` unless the model produced reasoning (a ``</think>`` in the text or
  ``reasoning_content`` from the server), then the generic ``<think>``/``</think>`` processor.

    >>> from longtracerl.llm.base import Completion
    >>> parse_completion(Completion(text="Paris", finish_reason="stop"), "auto").content
    'Paris'
    >>> p = parse_completion(Completion(text="Paris", reasoning="It is Paris.", finish_reason="stop"), "auto")
    >>> (p.status, p.content)
    ('ok', 'Paris')
    >>> parse_completion(Completion(text="Par", finish_reason="length"), "plain").status
    'truncated'
"""

from __future__ import annotations

from longtracerl.llm.base import Completion
from longtracerl.rewards.parse import GenericProcessor, ParsedResponse, get_processor, status_of

THINK = GenericProcessor(name="think", think_open="<think>", think_close="</think>")


class PlainProcessor:
    """The whole text is the answer content (non-thinking models)."""

    name = "plain"

    def parse(self, text: str, finish_reason: str | None = None) -> ParsedResponse:
        reasons = []
        if finish_reason == "abort":
            reasons.append("aborted")
        elif finish_reason == "length":
            reasons.append("truncated")
        if not text.strip():
            reasons.append("empty_content")
        return ParsedResponse("", text.strip(), status_of(reasons), reasons)


PLAIN = PlainProcessor()


def parse_completion(completion: Completion, processor: str = "auto") -> ParsedResponse:
    text = completion.text or ""
    reasoning = completion.reasoning
    if processor == "plain":
        return PLAIN.parse(text, completion.finish_reason)
    if processor == "auto":
        if not reasoning and "</think>" not in text:
            return PLAIN.parse(text, completion.finish_reason)
        proc = THINK
    else:
        proc = get_processor(processor)
    raw = f"{reasoning}\n</think>\n\n{text}" if reasoning else text
    return proc.parse(raw, completion.finish_reason)
