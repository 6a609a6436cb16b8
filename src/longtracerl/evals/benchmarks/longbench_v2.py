"""LongBench v2: 503 four-choice questions over 8K-2M-word contexts.

Input: the published ``data.json`` (a JSON list; JSONL also accepted) with fields ``_id, domain,
sub_domain, difficulty, length, question, choice_A, choice_B, choice_C, choice_D, answer,
context``. Prompt: the context in ``<text>`` tags, then the question and the four choices, then the
required answer format ``The correct answer is (X)``. Score: 1 when the extracted letter equals
``answer`` (extraction as in the reference scripts: see :mod:`.choice`), else 0.
"""

from __future__ import annotations

from longtracerl.evals.base import FileBenchmark, Score
from longtracerl.evals.benchmarks.choice import extract_choice
from longtracerl.evals.items import EvalItem, Prompt
from longtracerl.records import RecordError

HEAD = "Read the text below, then answer the multiple-choice question that follows it.\n\n<text>\n"
TAIL = (
    "\n</text>\n\nQuestion: {question}\nChoices:\n(A) {A}\n(B) {B}\n(C) {C}\n(D) {D}\n\n"
    'Reply in this format: "The correct answer is (insert answer here)".'
)


class LongBenchV2(FileBenchmark):
    name = "longbench-v2"
    title = "LongBench v2"
    uses_judge = False
    breakdown = ("difficulty", "length")  # avg@k by these metadata keys in summary.json
    data_hint = "PATH (the published data.json; see docs/evals.md)"
    fields = ("_id", "question", "choice_A", "choice_B", "choice_C", "choice_D", "answer", "context")

    def item(self, row, line, path, cfg):
        answer = str(row["answer"]).strip().upper()
        if answer not in ("A", "B", "C", "D"):
            raise RecordError(path, line, "answer", f"expected one of A, B, C, D, got {row['answer']!r}")
        question = str(row["question"]).strip()
        tail = TAIL.format(question=question, **{k: str(row[f"choice_{k}"]).strip() for k in "ABCD"})
        meta = {k: row.get(k) for k in ("domain", "sub_domain", "difficulty", "length")}
        return EvalItem(str(row["_id"]), answer, question, Prompt(HEAD, str(row["context"]), tail), meta=meta)

    def score(self, item, content, judge):
        letter = extract_choice(content)
        return Score(1.0 if letter == item.answer else 0.0, letter)


BENCHMARK = LongBenchV2()
