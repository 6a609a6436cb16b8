"""Rubric reward throughput: this implementation vs the plain reference, measured in one run.

Batch: 128 responses x 32K tokens (real Wikipedia paragraphs from the HotpotQA asset, cut to
exactly 32,768 SmolLM2 tokens each) x 20 rubrics per response (10 titles of paragraphs inside the
response, 10 titles from elsewhere). The reference is what the authors' code does: normalise the
response once with the rubric normaliser's regex (docs/method.md#rubric-reward), normalise each rubric, one substring test per rubric
(``rubric_score_reference``). Scores must be identical, response by response.

    python benchmarks/bench_rubric.py [--responses 128] [--tokens 32768] [--rubrics 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import time

from longtracerl.assets import asset_path
from longtracerl.rewards.rubric import _automaton, _scan_plan, rubric_score, rubric_score_reference


def build_batch(n: int, tokens: int, n_rubrics: int, seed: int = 0) -> tuple[list[str], list[list[str]], str]:
    rows = json.loads(asset_path("hotpotqa").read_text(encoding="utf-8"))
    paras: dict[str, str] = {}
    for row in rows:
        for title, sentences in row["context"]:
            paras.setdefault(title, "".join(sentences))
    titles = list(paras)
    rng = random.Random(seed)
    try:
        from longtracerl.contexts.tokenizer import load_tokenizer

        tok = load_tokenizer()
        tok_name = tok.name
    except Exception as err:  # tokenizer missing: approximate 4 characters per token
        tok, tok_name = None, f"approx 4 chars/token ({err})"
    texts, rubric_lists = [], []
    for _ in range(n):
        used, parts, chars = [], [], 0
        while chars < tokens * 6:
            t = rng.choice(titles)
            used.append(t)
            parts.append(f"{t}: {paras[t]}")
            chars += len(parts[-1]) + 2
        text = "\n\n".join(parts)
        text = tok.truncate(text, tokens) if tok else text[: tokens * 4]
        inside = [t for t in used[: len(used) // 2]]
        present = rng.sample(inside, min(n_rubrics // 2, len(inside)))
        absent = rng.sample(titles, n_rubrics - len(present))
        texts.append(text)
        rubric_lists.append(present + absent)
    return texts, rubric_lists, tok_name


def run_once(fn, texts, rubric_lists) -> tuple[float, list]:
    t0 = time.perf_counter()
    out = [fn(t, r) for t, r in zip(texts, rubric_lists, strict=True)]
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--responses", type=int, default=128)
    ap.add_argument("--tokens", type=int, default=32768)
    ap.add_argument("--rubrics", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    t0 = time.perf_counter()
    texts, rubric_lists, tok_name = build_batch(args.responses, args.tokens, args.rubrics)
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(
        f"batch: {len(texts)} responses x {args.tokens} tokens ({tok_name}) x {args.rubrics} rubrics, "
        f"{mb:.1f} MB of text, {sum(not t.isascii() for t in texts)} responses with non-ASCII; "
        f"built in {time.perf_counter() - t0:.1f} s"
    )

    impls = {
        "reference (normalise + substring)": rubric_score_reference,
        "scan (this package, default)": rubric_score,
        "automaton (normalise + one AC pass)": lambda t, r: rubric_score(t, r, method="automaton"),
    }
    times: dict[str, list[float]] = {name: [] for name in impls}
    outputs: dict[str, list] = {}
    for _ in range(args.repeats):  # interleaved, so load changes on this shared machine hit all alike
        for name, fn in impls.items():
            _scan_plan.cache_clear()  # every run pays for preparing each rubric list (all distinct)
            _automaton.cache_clear()
            t, outputs[name] = run_once(fn, texts, rubric_lists)
            times[name].append(t)
    ref_name = next(iter(impls))
    for name, out in outputs.items():
        assert out == outputs[ref_name], f"{name}: scores differ from the reference"
    mean_score = statistics.mean(s.score for s in outputs[ref_name])
    print(f"identical scores on all {len(texts)} responses (mean rubric score {mean_score:.3f})")
    print(f"{'implementation':<38}{'best s':>9}{'ms/resp':>9}{'MB/s':>8}{'speed-up':>10}{'median':>8}")
    t_ref = min(times[ref_name])
    for name in impls:
        t = min(times[name])
        per_run = statistics.median(r / x for r, x in zip(times[ref_name], times[name], strict=True))
        print(
            f"{name:<38}{t:>9.3f}{t / len(texts) * 1e3:>9.2f}{mb / t:>8.1f}{t_ref / t:>9.2f}x{per_run:>7.2f}x"
        )
    print(
        f"best of {args.repeats} interleaved runs, each preparing all {len(texts)} rubric lists afresh; "
        "'median' = median of the per-run ratios"
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
