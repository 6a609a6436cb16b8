"""OpenAI MRCR (multi-round co-reference): find the i-th of several identical asks in a long chat.

Input: the published Parquet files (``2needle.parquet`` ...; JSONL/CSV with the same columns also
accepted): ``prompt`` (a JSON-encoded message list), ``answer``, ``random_string_to_prepend``,
``n_needles``, ``desired_msg_index``, ``total_messages``, ``n_chars`` (the last four are kept as
metadata). The messages are sent as they are (the last one is the ask).

Score (OpenAI's published grading rule): 0 when the response does not start with
``random_string_to_prepend``; otherwise that prefix is removed from both the response and the answer
and the score is ``difflib.SequenceMatcher(None, response, answer).ratio()``.

    >>> grade("abcXYZ poem", "abcXYZ poem", "abcXYZ")
    1.0
    >>> grade("poem", "abcXYZ poem", "abcXYZ")
    0.0
    >>> round(grade("abcXYZ a poem", "abcXYZ the poem", "abcXYZ"), 4)
    0.75
"""

from __future__ import annotations

import hashlib
import json
from difflib import SequenceMatcher

from longtracerl.evals.base import FileBenchmark, Score
from longtracerl.evals.items import EvalItem
from longtracerl.records import RecordError


def grade(response: str, answer: str, prefix: str) -> float:
    if not response.startswith(prefix):
        return 0.0
    return float(SequenceMatcher(None, response.removeprefix(prefix), answer.removeprefix(prefix)).ratio())


class MRCR(FileBenchmark):
    name = "mrcr"
    title = "MRCR"
    uses_judge = False
    breakdown = ("n_needles",)  # avg@k by these metadata keys in summary.json
    data_hint = "PATH (a published MRCR .parquet file; see docs/evals.md)"
    fields = ("prompt", "answer", "random_string_to_prepend")

    def item(self, row, line, path, cfg):
        try:
            messages = json.loads(row["prompt"]) if isinstance(row["prompt"], str) else row["prompt"]
        except json.JSONDecodeError as err:
            raise RecordError(path, line, "prompt", f"not a JSON message list: {err.msg}") from None
        if (
            not isinstance(messages, list)
            or not messages
            or not all(
                isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
                for m in messages
            )
        ):
            raise RecordError(path, line, "prompt", "expected a non-empty list of {role, content} messages")
        digest = hashlib.sha256(str(row["prompt"]).encode("utf-8")).hexdigest()[:10]
        meta = {k: row.get(k) for k in ("n_needles", "desired_msg_index", "total_messages", "n_chars")}
        meta["prefix"] = str(row["random_string_to_prepend"])
        return EvalItem(
            f"mrcr-{line:05d}-{digest}",
            str(row["answer"]),
            messages[-1]["content"],
            messages=tuple({"role": m["role"], "content": m["content"]} for m in messages),
            meta=meta,
        )

    def score(self, item, content, judge):
        # the response is used as the model wrote it (only thinking is stripped): the prefix rule is exact
        return Score(grade(content, item.answer, item.meta["prefix"]), content[:200])


BENCHMARK = MRCR()
