"""LongReason (ByteDance Seed): 794 multiple-choice reasoning questions expanded to 8K-128K contexts.

The dataset is published on the Hugging Face hub with one split per context length (``8k``,
``16k``, ``32k``, ``64k``, ``128k``, plus ``original`` and ``expanded``). Export the split you want
to JSONL/JSON/Parquet/CSV (e.g. ``datasets.load_dataset(...)["32k"].to_json("longreason-32k.jsonl")``)
and pass it with ``--data``. Accepted rows (field names checked in this order):

- ``context`` + ``question`` (+ optional ``choices``/``options``: a list or an ``{"A": ...}`` map,
  rendered as ``(A) ...`` lines) + ``answer``; or
- ``prompt`` (the dataset's full prompt: context, inquiry and options) + ``answer``. For
  truncation its last paragraph (after the last blank line) is taken as the question and kept.

``answer`` is the letter (``A``-``J``; ``(B)`` and ``B.`` are accepted). Optional ``id``/``_id``,
and ``length``/``context_length`` (filtered with ``--set context_length=32k`` when a file mixes
lengths). Score: 1 when the extracted letter (``The correct answer is (X)`` first, then the last
``Answer: X`` / ``answer is (X)`` / ``\\boxed{X}``) equals the answer.
"""

from __future__ import annotations

import re

from longtracerl.evals.base import FileBenchmark, Score
from longtracerl.evals.benchmarks.choice import extract_choice
from longtracerl.evals.items import EvalItem, Prompt, require
from longtracerl.records import RecordError

LETTERS = "ABCDEFGHIJ"
FORMAT = '\n\nReply in this format: "The correct answer is (insert answer here)".'
_ANSWER = re.compile(r"^\(?([A-J])\)?\.?$")


def _choices(raw, path, line) -> str:
    if raw in (None, "", [], {}):
        return ""
    if isinstance(raw, dict):
        pairs = [(str(k).strip("() ."), str(v)) for k, v in raw.items()]
    elif isinstance(raw, list):
        pairs = [(LETTERS[i], str(v)) for i, v in enumerate(raw[: len(LETTERS)])]
    else:
        raise RecordError(path, line, "choices", "expected a list or a {letter: text} map")
    return "\n" + "\n".join(f"({k}) {v}" for k, v in pairs)


class LongReason(FileBenchmark):
    name = "longreason"
    title = "LongReason"
    uses_judge = False
    breakdown = ("length",)  # avg@k by these metadata keys in summary.json
    data_hint = "PATH (an exported split; see docs/evals.md)"
    # no `fields`: rows of another length are skipped before any check, and the rest are checked here

    def item(self, row, line, path, cfg):
        length = row.get("length", row.get("context_length"))
        if cfg.context_length and str(length).lower() != cfg.context_length.lower():
            return None
        require(row, ("answer",), path, line)
        m = _ANSWER.match(str(row["answer"]).strip().upper())
        if not m:
            raise RecordError(path, line, "answer", f"expected a choice letter A-J, got {row['answer']!r}")
        if row.get("context") is not None and row.get("question") is not None:
            require(row, ("context", "question"), path, line)
            question = str(row["question"]).strip()
            opts = _choices(row.get("choices", row.get("options")), path, line)
            prompt = Prompt("", str(row["context"]), f"\n\n{question}{opts}{FORMAT}")
        elif row.get("prompt") is not None:
            require(row, ("prompt",), path, line)
            text = str(row["prompt"]).rstrip()
            cut = text.rfind("\n\n")
            body, tail = (text[:cut], text[cut:]) if cut > 0 else ("", text)
            question = tail.strip()
            prompt = Prompt("", body, tail + FORMAT)
        else:
            raise RecordError(
                path, line, "context", "missing required field (give context + question, or prompt)"
            )
        rid = row.get("id", row.get("_id"))
        item_id = f"longreason-{rid}" if rid not in (None, "") else f"longreason-{line:04d}"
        return EvalItem(item_id, m.group(1), question, prompt, meta={"length": length})

    def score(self, item, content, judge):
        letter = extract_choice(content, letters="A-J", fallback=True)
        return Score(1.0 if letter == item.answer else 0.0, letter)


BENCHMARK = LongReason()
