"""Our own held-out split: ``RUN/heldout.jsonl`` written by ``longtracerl run`` / ``contexts export``.

Rows are :class:`~longtracerl.records.TrainingRow` (the released format): the user message is the
whole prompt (instruction, ``Documents:``, the documents, ``Question: ...``), ``label`` the answer,
``metadata.extra_reward_info.question`` the bare question. For truncation the text from the last
``\\n\\nQuestion: `` on is the kept tail. Score: the answer judge against ``label``. The split is
made by question and by gold pages (``contexts/export.py``), so these questions never reach training.
"""

from __future__ import annotations

from longtracerl.evals.base import FileBenchmark, judged_score
from longtracerl.evals.items import EvalItem, Prompt
from longtracerl.records import TrainingRow, iter_json_lines, parse_record

MARK = "\n\nQuestion: "


class Heldout(FileBenchmark):
    name = "heldout"
    title = "Held-out"
    uses_judge = True
    data_hint = "RUN/heldout.jsonl"

    def rows(self, path):  # typed records: parse_record checks every field, naming file, line and field
        for line, obj in iter_json_lines(path):
            yield line, parse_record(obj, TrainingRow, path=path, line=line)

    def item(self, row, line, path, cfg):
        users = [m for m in row.input_messages if m.role == "user"]
        text = users[-1].content if users else row.input_messages[-1].content
        cut = text.rfind(MARK)
        body, tail = (text[:cut], text[cut:]) if cut >= 0 else (text, "")
        prov = (row.metadata.model_extra or {}).get("provenance") or {}
        system = [m.content for m in row.input_messages if m.role == "system"]
        return EvalItem(
            str(prov.get("question_id") or f"heldout-{line:05d}"),
            row.label,
            row.metadata.extra_reward_info.question,
            Prompt(system[0] + "\n\n" if system else "", body, tail),
            meta={"rubrics": list(row.metadata.extra_reward_info.rubrics)},
        )

    score = staticmethod(judged_score)


BENCHMARK = Heldout()
