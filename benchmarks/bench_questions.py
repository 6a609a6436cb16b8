"""Question quality of the offline composers (issue 13 targets), audited on real pages.

Usage:
    python benchmarks/bench_questions.py [--out /tmp/bench_questions] [--walks 150] [--md-examples 1500]

1. The default ``longtracerl run`` config (embedded HotpotQA corpus, 150 walks of 6 pages) up to
   its walks; then the questions stage with ``chain`` (default) and ``masked`` on the same walks,
   timed (CPU seconds of this process, inline executor), and ``questions audit`` on each.
2. A markdown-like JSONL corpus made from real pages: the HotpotQA paragraphs of the first
   ``--md-examples`` dev examples, each written as ``# Title``, a bold first sentence, a
   ``## Details`` heading, the other sentences as ``- `` list items and the mentions of other
   titles as ``[name](/wiki/name)`` links. Prepared (markup cleaned), walked, composed with both
   composers and audited for text defects.

Prints the audit table (chain beside masked) and each target with PASS/FAIL:
shortcut rate <= 10 % of kept questions, 0 questions with a text defect (both corpora), every kept
question with >= 3 hops, answer on the last gold page and not in the question, >= half of the
walks giving a kept question.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import time
from pathlib import Path


def _compose_and_audit(corpus: Path, walks: Path, out: Path, composer: str, **overrides) -> dict:
    from longtracerl.questions import QuestionsConfig, run_questions
    from longtracerl.questions.audit import audit_run

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copy(walks, out / "walks.jsonl")
    n_walks = sum(1 for line in walks.read_text().splitlines() if line.strip())
    t0 = time.process_time()
    stats = run_questions(QuestionsConfig(composer=composer, **overrides), corpus, out, progress=False)
    seconds = time.process_time() - t0
    summary = audit_run(corpus, out, plots=False) if stats.written else {"questions": 0, "defects": {}}
    summary.update(
        walks=n_walks,
        kept_pct=round(100 * stats.written / n_walks, 1) if n_walks else None,
        rejected=dict(stats.rejected),
        compose_cpu_s=round(seconds, 2),
    )
    return summary


def markdown_corpus(path: Path, n_examples: int) -> Path:
    """Real HotpotQA paragraphs rewritten as markdown pages (module docstring)."""
    from longtracerl.assets import asset_path
    from longtracerl.textfacts import split_sentences

    data = json.loads(asset_path("hotpotqa").read_text(encoding="utf-8"))[:n_examples]
    pages: dict[str, str] = {}
    for ex in data:
        for title, sents in ex["context"]:
            pages.setdefault(title, "".join(sents).strip())
    titles = sorted((t for t in pages if len(t) >= 6), key=len, reverse=True)[:5000]
    link = re.compile("|".join(re.escape(t) for t in titles)) if titles else None
    with path.open("w", encoding="utf-8") as f:
        for i, (title, text) in enumerate(pages.items()):
            sents = split_sentences(text)
            if not sents:
                continue
            body = [
                s if link is None else link.sub(lambda m: f"[{m.group(0)}](/wiki/{m.group(0)})", s)
                for s in sents
            ]
            first = body[0].replace(title, f"**{title}**", 1)
            md = f"# {title}\n\n{first}\n"
            if len(body) > 1:
                md += "\n## Details\n" + "".join(f"- {s}\n" for s in body[1:])
            f.write(json.dumps({"id": f"md{i}", "title": title, "text": md}) + "\n")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="/tmp/bench_questions")
    ap.add_argument("--walks", type=int, default=150)
    ap.add_argument("--md-examples", type=int, default=1500)
    args = ap.parse_args()

    from longtracerl.corpus.config import CorpusConfig
    from longtracerl.corpus.prepare import prepare_corpus
    from longtracerl.questions.audit_report import audit_table
    from longtracerl.run import load_run_config, run_pipeline
    from longtracerl.walks import WalksConfig, run_walks

    out = Path(args.out)
    run = out / "run"
    cfg = load_run_config(None, [f"walks.num_walks={args.walks}"])
    t0 = time.perf_counter()
    run_pipeline(run, cfg, stop_after="walks", progress=False)
    print(f"embedded corpus + walks: {time.perf_counter() - t0:.1f} s wall ({run})")
    corpus = run / "corpus"
    res = {c: _compose_and_audit(corpus, run / "walks.jsonl", out / c, c) for c in ("chain", "masked")}

    md_src = markdown_corpus(out / "md.jsonl", args.md_examples)
    md_corpus = out / "md_corpus"
    m = prepare_corpus("jsonl", md_src, md_corpus, CorpusConfig(), force=True)
    md_run = out / "md_run"
    if md_run.exists():
        shutil.rmtree(md_run)
    run_walks(WalksConfig(num_walks=60, hops=5, seed=0), md_corpus, md_run, progress=False)
    md = {
        c: _compose_and_audit(md_corpus, md_run / "walks.jsonl", out / f"md_{c}", c)
        for c in ("chain", "masked")
    }

    print("\n## Embedded HotpotQA corpus, default run walks\n")
    print("\n".join(audit_table(res)))
    for c, s in res.items():
        print(
            f"{c}: {s['questions']}/{s['walks']} walks kept ({s['kept_pct']} %), compose {s['compose_cpu_s']} CPU s; rejected {s['rejected']}"
        )
    print(
        f"\n## Markdown-like JSONL corpus ({m.counts['pages']} pages, {m.counts['notes'].get('pages_markup_cleaned', 0)} cleaned, {m.counts['links']} links)\n"
    )
    print("\n".join(audit_table(md)))
    for c, s in md.items():
        print(f"{c}: {s['questions']}/{s['walks']} walks kept; defects {s['defects'] or 'none'}")

    ch = res["chain"]
    targets = [
        (
            "shortcut rate <= 10 % of kept chain questions",
            ch["shortcut_pct"] is not None and ch["shortcut_pct"] <= 10,
            f"{ch['shortcut_pct']} %",
        ),
        (
            "0 chain questions with a text defect (embedded)",
            ch["defect_questions"] == 0,
            ch["defect_questions"],
        ),
        (
            "0 chain questions with a text defect (markdown)",
            md["chain"].get("defect_questions", 0) == 0,
            md["chain"].get("defect_questions"),
        ),
        (
            "every kept chain question has >= 3 hops",
            min(int(k) for k in ch["hop_counts"]) >= 3,
            ch["hop_counts"],
        ),
        (
            "answer on the last gold page, not in the question, asked type",
            ch["answer_ok_pct"] == 100.0,
            f"{ch['answer_ok_pct']} %",
        ),
        (
            ">= half of the walks give a kept chain question",
            (ch["kept_pct"] or 0) >= 50,
            f"{ch['kept_pct']} %",
        ),
    ]
    print("\n## Targets (issue 13)\n")
    for name, ok, value in targets:
        print(f"- {'PASS' if ok else 'FAIL'} {name}: {value}")
    print(f"\ncompose CPU seconds: chain {ch['compose_cpu_s']}, masked {res['masked']['compose_cpu_s']}")


if __name__ == "__main__":
    main()
