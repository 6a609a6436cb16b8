"""The training prompt: one user message (docs/method.md#training-rows).

An instruction drawn (seeded per question) from :data:`INSTRUCTIONS`, ``Documents:``, one
``<section title="...">`` block per document, then ``Question: ...`` (``PROMPT_FORMAT_VERSION``
1; the example below shows it). No answer-format instruction, as in the released data. Budgets
are counted on exactly this string; :class:`PromptCoster` checks once per tokenizer that a
prompt's count is the sum of its parts. Details: docs/contexts.md (The prompt, Token counting).

Example:
    >>> print(render_prompt("Use the documents.", [render_doc("A & B", "Text.")], "Who?"))
    Use the documents.
    <BLANKLINE>
    Documents:
    <BLANKLINE>
    <section title="A &amp; B">
    Text.
    </section>
    <BLANKLINE>
    Question: Who?
"""

from __future__ import annotations

import hashlib
import html
import random
from collections.abc import Sequence
from dataclasses import dataclass

from longtracerl.contexts.tokenizer import TokenCounter

PROMPT_FORMAT_VERSION = 1

INSTRUCTIONS: tuple[str, ...] = (
    "Answer the question using only the provided documents.",
    "Use only the documents below to answer the question.",
    "Read the documents that follow and answer the question based solely on them.",
    "Rely exclusively on the supplied documents when you answer the question.",
    "The documents below contain what you need. Answer the question from them alone.",
    "Base your answer to the question only on the information in the documents provided.",
    "Consult the following documents and answer the question without drawing on outside knowledge.",
    "Answer the question at the end, relying on nothing but the documents given here.",
    "Using the documents provided and no other source, answer the question.",
    "Work out the answer to the question from the documents below; do not use outside information.",
    "Only the documents given below may be used to answer the question.",
    "Answer the following question with evidence taken solely from the documents provided.",
)

DOC_SEPARATOR = "\n\n"
_DOC_OPEN = '<section title="{title}">\n'
_DOC_CLOSE = "\n</section>"


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from any values (stable across processes, unlike ``hash``).

    >>> stable_seed(0, "q1") == stable_seed(0, "q1") != stable_seed(1, "q1")
    True
    """
    blob = "\x1f".join(str(p) for p in parts).encode("utf-8")
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "big")


def choose_instruction(seed: int, question_id: str, pool: Sequence[str] = INSTRUCTIONS) -> int:
    """Index of the instruction used for one question (seeded, independent of run order)."""
    return random.Random(stable_seed(seed, question_id, "instruction")).randrange(len(pool))


def render_doc(title: str, text: str) -> str:
    """One document block: ``<section title="...">`` text ``</section>``."""
    return _DOC_OPEN.format(title=html.escape(title, quote=True)) + text.strip() + _DOC_CLOSE


def prompt_prefix(instruction: str) -> str:
    return f"{instruction}\n\nDocuments:{DOC_SEPARATOR}"


def prompt_suffix(question: str) -> str:
    return f"{DOC_SEPARATOR}Question: {question.strip()}"


def render_prompt(instruction: str, doc_blocks: Sequence[str], question: str) -> str:
    """The whole user message from rendered document blocks."""
    return prompt_prefix(instruction) + DOC_SEPARATOR.join(doc_blocks) + prompt_suffix(question)


@dataclass
class PromptCoster:
    """Token costs of the fixed prompt parts for one tokenizer.

    ``total = prefix_cost(instr) + sum(doc block counts) + (n - 1) * sep + suffix_cost(question)``
    is exact when :attr:`additive` is true (checked on construction).
    """

    tok: TokenCounter
    sep: int = 0
    additive: bool = False

    def __post_init__(self) -> None:
        open_tok = self.tok.count(render_doc("T", "x"))
        self._probe_open = render_doc("T", "x")
        self.sep = self.tok.count(self._probe_open + DOC_SEPARATOR + self._probe_open) - 2 * open_tok
        self._prefix_cache: dict[str, int] = {}
        self.additive = self._check_additive()

    def prefix_cost(self, instruction: str) -> int:
        if instruction not in self._prefix_cache:
            probe = self.tok.count(self._probe_open)
            self._prefix_cache[instruction] = (
                self.tok.count(prompt_prefix(instruction) + self._probe_open) - probe
            )
        return self._prefix_cache[instruction]

    def suffix_cost(self, question: str) -> int:
        probe = self.tok.count(self._probe_open)
        return self.tok.count(self._probe_open + prompt_suffix(question)) - probe

    def estimate(self, instruction: str, block_tokens: Sequence[int], question: str) -> int:
        n = len(block_tokens)
        return (
            self.prefix_cost(instruction)
            + sum(block_tokens)
            + max(0, n - 1) * self.sep
            + self.suffix_cost(question)
        )

    def _check_additive(self) -> bool:
        samples = [
            ("Héllo wörld", "Text with  spaces\nand lines.\n"),
            ('Quote "x" & <y>', "  leading space, trailing >"),
            ("数字 123", "Ends with a newline\n\n"),
            ("Zz", "<section>not a tag</section>"),
        ]
        blocks = [render_doc(t, x) for t, x in samples]
        counts = self.tok.count_batch(blocks)
        for instr in INSTRUCTIONS[:2]:
            for q in ("Which one?", "  What about 'x'?  "):
                exact = self.tok.count(render_prompt(instr, blocks, q))
                if exact != self.estimate(instr, counts, q):
                    return False
        return True
