"""Training rows -> TRL dataset records, with the prompt-length bound applied here.

trl 1.16 has no ``max_prompt_length``: ``GRPOTrainer`` renders a conversational prompt with
``tokenizer.apply_chat_template(..., add_generation_prompt=True)`` and generates from all of
it. So the bound is applied before the trainer sees a row, measured the same way (the model's
chat template, generation prompt included):

- ``truncate-middle`` (default): tokens are removed from the middle of the *documents part* of the
  user message (the text between the first ``Documents:`` and the last ``Question:``; the whole
  message when those markers are missing), and a ``[...]`` marker is put where they were. The
  instruction and the question are never cut. The cut is re-measured after rendering and
  tightened until the prompt fits (tokenisation at the seam can differ by a token or two).
- ``drop``: the row is left out.
- ``error``: the first row over the bound stops the run (before any model is loaded).

Every decision is counted in :class:`PromptStats` (written to ``OUT/data_stats.json``).

Each record keeps the prompt conversational (``prompt`` = the row's ``input_messages``) so TRL
applies the same chat template, and carries the reward columns ``label``, ``question``,
``rubrics`` that :func:`~longtracerl.rewards.integrations.trl.make_trl_reward` reads.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from longtracerl.config import ConfigError
from longtracerl.records import TrainingRow, read_jsonl

CUT_MARKER = "\n[...]\n"
DOCS_START = "Documents:"
QUESTION_START = "Question:"


@dataclass
class PromptStats:
    rows: int = 0
    kept: int = 0
    truncated: int = 0
    dropped: int = 0
    tokens_removed: int = 0
    tokens_before: int = 0
    max_prompt_tokens: int = 0
    made_for_tokens: int | None = None
    longest_before: int = 0
    longest_after: int = 0
    dropped_lines: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_rows(path: str | os.PathLike, max_rows: int | None = None) -> list[tuple[int, TrainingRow]]:
    """``(line number, row)`` pairs of a released-format file; a bad line raises ``RecordError``
    naming the file, line and field. Rows without rubrics or question are refused here."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(
            f"--data {p}: file not found (export rows with `longtracerl run` or `longtracerl export`)"
        )
    out: list[tuple[int, TrainingRow]] = []
    for lineno, row in enumerate(read_jsonl(p, TrainingRow), start=1):
        out.append((lineno, row))
        if max_rows is not None and len(out) >= max_rows:
            break
    if not out:
        raise ConfigError(f"--data {p}: no rows")
    return out


def _render_len(tokenizer: Any, messages: list[dict[str, str]], template_kwargs: dict[str, Any]) -> int:
    ids = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=True, return_dict=False, **template_kwargs
    )
    if isinstance(ids, dict) or hasattr(ids, "keys"):
        ids = ids["input_ids"]
    return len(ids)


def docs_span(content: str) -> tuple[int, int]:
    """Character span of the documents part of a user message (see module doc).

    >>> c = "Instr.\\n\\nDocuments:\\n\\nA B C\\n\\nQuestion: who?"
    >>> s, e = docs_span(c); c[s:e]
    '\\n\\nA B C\\n\\n'
    """
    start = content.find(DOCS_START)
    end = content.rfind(QUESTION_START)
    if start < 0 or end < 0 or end <= start:
        return 0, len(content)
    return start + len(DOCS_START), end


def cut_middle(tokenizer: Any, text: str, n_remove: int) -> str:
    """``text`` with about ``n_remove`` tokens taken out of its middle (by token offsets), marker inserted."""
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    offsets = enc["offset_mapping"]
    n = len(offsets)
    if n_remove >= n:
        return CUT_MARKER
    keep = n - n_remove
    head, tail = keep // 2, keep - keep // 2
    head_end = offsets[head - 1][1] if head > 0 else 0
    tail_start = offsets[n - tail][0] if tail > 0 else len(text)
    return text[:head_end] + CUT_MARKER + text[tail_start:]


def bound_messages(
    tokenizer: Any,
    messages: list[dict[str, str]],
    max_tokens: int,
    template_kwargs: dict[str, Any] | None = None,
) -> tuple[list[dict[str, str]], int, int]:
    """``(messages, tokens before, tokens after)``; the last user message's documents are cut in the
    middle until the rendered prompt has at most ``max_tokens`` tokens. Raises ``ValueError`` when
    even an empty documents part does not fit."""
    kw = template_kwargs or {}
    before = _render_len(tokenizer, messages, kw)
    if before <= max_tokens:
        return messages, before, before
    idx = max(i for i, m in enumerate(messages) if m["role"] == "user")
    content = messages[idx]["content"]
    s, e = docs_span(content)
    docs = content[s:e]
    n_docs = len(tokenizer(docs, add_special_tokens=False)["input_ids"])
    excess = before - max_tokens
    remove = excess + 4  # the marker and the seam
    for _ in range(8):
        new = content[:s] + cut_middle(tokenizer, docs, min(remove, n_docs)) + content[e:]
        out = [dict(m) for m in messages]
        out[idx] = {**out[idx], "content": new}
        after = _render_len(tokenizer, out, kw)
        if after <= max_tokens:
            return out, before, after
        if remove >= n_docs:
            break
        remove += after - max_tokens + 2
    raise ValueError(
        f"the prompt without its documents still has {after} tokens > data.max_prompt_tokens={max_tokens}"
    )


def build_records(
    rows: list[tuple[int, TrainingRow]],
    tokenizer: Any,
    max_prompt_tokens: int,
    overflow: str,
    *,
    path: str | os.PathLike = "<rows>",
    template_kwargs: dict[str, Any] | None = None,
    max_cut_share: float | None = None,
    small_model: bool = False,
) -> tuple[list[dict[str, Any]], PromptStats]:
    """Dataset records for ``GRPOTrainer`` and the counts of the bounding rule. With
    ``max_cut_share``, rows made for much longer contexts are refused (:func:`refuse_heavy_cut`)
    after every prompt is measured and before any is cut."""
    stats = PromptStats(rows=len(rows), max_prompt_tokens=max_prompt_tokens)
    measured: list[tuple[int, TrainingRow, list[dict[str, str]], int]] = []
    for lineno, row in rows:
        if not row.metadata.extra_reward_info.question.strip():
            raise ConfigError(f"{path}:{lineno}: field 'metadata.extra_reward_info.question': empty")
        messages = [m.model_dump() for m in row.input_messages]
        n = _render_len(tokenizer, messages, template_kwargs or {})
        stats.longest_before = max(stats.longest_before, n)
        stats.tokens_before += n
        prov = (row.metadata.model_extra or {}).get("provenance")
        target = prov.get("target_tokens") if isinstance(prov, dict) else None
        if isinstance(target, int):
            stats.made_for_tokens = max(stats.made_for_tokens or 0, target)
        measured.append((lineno, row, messages, n))
    if max_cut_share is not None and overflow == "truncate-middle":
        over = [n for *_, n in measured if n > max_prompt_tokens]
        refuse_heavy_cut(
            stats, len(over), sum(over) - len(over) * max_prompt_tokens, max_cut_share,
            path=path, small_model=small_model,
        )  # fmt: skip
    records: list[dict[str, Any]] = []
    for lineno, row, messages, n in measured:
        info = row.metadata.extra_reward_info
        if n > max_prompt_tokens:
            if overflow == "error":
                raise ConfigError(
                    f"{path}:{lineno}: the prompt has {n} tokens > data.max_prompt_tokens={max_prompt_tokens}. "
                    "Fix: raise data.max_prompt_tokens, or set data.overflow=truncate-middle|drop."
                )
            if overflow == "drop":
                stats.dropped += 1
                stats.dropped_lines.append(lineno)
                continue
            try:
                messages, _, n_after = bound_messages(tokenizer, messages, max_prompt_tokens, template_kwargs)
            except ValueError as err:
                raise ConfigError(
                    f"{path}:{lineno}: {err}. Fix: raise data.max_prompt_tokens or use data.overflow=drop."
                ) from None
            stats.truncated += 1
            stats.tokens_removed += n - n_after
            n = n_after
        stats.longest_after = max(stats.longest_after, n)
        records.append(
            {
                "prompt": messages,
                "label": row.label,
                "question": info.question,
                "rubrics": list(info.rubrics),
                "prompt_tokens": n,
            }
        )
    stats.kept = len(records)
    if not records:
        raise ConfigError(
            f"{path}: every row is over data.max_prompt_tokens={max_prompt_tokens} and data.overflow=drop. "
            "Fix: raise data.max_prompt_tokens or use data.overflow=truncate-middle."
        )
    return records, stats


def fitting_target_tokens(max_prompt_tokens: int) -> int:
    """A ``longtracerl run --target-tokens`` whose rows render within ``max_prompt_tokens``: about two
    thirds of the bound for the documents, the rest for the instruction, question and chat template
    (2-hop rows of 256 context tokens render to about 300 with SmolLM2's template).

    >>> fitting_target_tokens(384), fitting_target_tokens(768), fitting_target_tokens(128000)
    (256, 512, 85312)
    """
    return max(64, max_prompt_tokens * 2 // 3 // 64 * 64)


def refuse_heavy_cut(
    stats: PromptStats,
    n_over: int,
    at_least_removed: int,
    max_cut_share: float,
    *,
    path: Any,
    small_model: bool,
) -> None:
    """Raise ``ConfigError`` (before anything is cut or any model loaded) when bounding the prompts
    would remove more than ``max_cut_share`` of all their tokens (``stats.tokens_before``;
    ``at_least_removed`` = the tokens over the bound): the rows were made for longer contexts, and a
    policy trained on their stumps learns from questions whose documents are mostly gone. The
    message says how to build rows of this length."""
    share = at_least_removed / stats.tokens_before if stats.tokens_before else 0.0
    if share <= max_cut_share:
        return
    made_for = f" (made for {stats.made_for_tokens}-token contexts)" if stats.made_for_tokens else ""
    target = fitting_target_tokens(stats.max_prompt_tokens)
    hops = " --set walks.hops=2 --set questions.min_hops=2" if small_model else ""
    raise ConfigError(
        f"--data {path}: {n_over} of {stats.rows} rows{made_for} are longer than "
        f"data.max_prompt_tokens={stats.max_prompt_tokens}; cutting them would remove at least "
        f"{at_least_removed:,} of {stats.tokens_before:,} prompt tokens ({share:.0%} > "
        f"data.max_cut_share={max_cut_share:g}). Build rows of this length: `longtracerl run --out RUN "
        f"--num-questions 200 --target-tokens {target}{hops}`, then --data RUN/rows.jsonl "
        "(docs/training.md). Or raise data.max_prompt_tokens, or accept the cut with "
        "--set data.max_cut_share=1."
    )
