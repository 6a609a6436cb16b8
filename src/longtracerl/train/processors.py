"""Response processors for models that do not think (no ``</think>``), e.g. SmolLM2 on the CPU demo.

The method (docs/method.md#parsing-the-response) parses a *thinking* model's response: reasoning, one ``</think>``, answer. A
small instruct model such as SmolLM2-135M never writes ``</think>``, so under the
``qwen3-thinking`` processor every response would be gated (``think_close_count``) and every
reward would be 0. ``chatml-answer-only`` treats the whole response as the answer and keeps every
other gate of the parser (truncated, aborted, unfinished, wrong stop token, special token in the
answer, empty answer). It is a labelled departure for non-thinking models, selected with
``reward.processor: longtracerl.train.processors:CHATML_ANSWER_ONLY``.

>>> r = CHATML_ANSWER_ONLY.parse("Paris<|im_end|>")
>>> r.status, r.reasoning, r.content
('ok', '', 'Paris')
>>> CHATML_ANSWER_ONLY.parse("Paris<|endoftext|>").reasons
['wrong_stop_token']
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from longtracerl.rewards.parse import QWEN3_THINKING, GenericProcessor, ParsedResponse

_FAKE_REASONING = "-"


@dataclass(frozen=True)
class AnswerOnlyProcessor:
    """Whole response = answer; the parse gates of ``inner`` (stop tokens, special tokens) apply."""

    # Qwen3's ChatML tokens, no think tag opening the response, and think tags banned in the answer
    inner: GenericProcessor = field(
        default_factory=lambda: replace(
            QWEN3_THINKING,
            name="chatml",
            think_open="",
            special_token_pattern=QWEN3_THINKING.special_token_pattern + "|</?think>",
        )
    )
    name: str = "chatml-answer-only"
    think_close: str = "</think>"

    def parse(self, text: str, finish_reason: str | None = None) -> ParsedResponse:
        if not isinstance(text, str):
            raise TypeError(f"response must be a str, got {type(text).__name__}")
        # a fixed one-character reasoning makes the inner parser see the answer as content
        p = self.inner.parse(f"{_FAKE_REASONING}\n{self.inner.think_close}\n\n{text}", finish_reason)
        reasons = [r for r in p.reasons if r not in ("empty_reasoning",)]
        if "think_close_count" in reasons:  # the answer itself wrote </think>
            reasons = [r if r != "think_close_count" else "special_token_in_content" for r in reasons]
            content = text
        else:
            content = p.content
        status = p.status if reasons else "ok"
        return ParsedResponse("", content, status, reasons)


CHATML_ANSWER_ONLY = AnswerOnlyProcessor()
