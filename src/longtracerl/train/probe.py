"""``longtracerl train-probe``: the base policy's solve rate on training rows, before training.

GRPO learns only from groups whose rewards differ. With the positive-only rubric reward (and with
outcome-only) a group where every sample is wrong scores 0 everywhere and gives no gradient, so a
curriculum is only useful when the base policy already answers some of its questions. This probe
measures that, with exactly what ``longtracerl train`` would use:

- the same config (preset / ``--set``), rows, chat template and prompt bound
  (:func:`~longtracerl.train.data.build_records`);
- the same sampling as TRL's transformers generation path (``do_sample``, ``temperature``,
  ``top_p``, ``top_k``, ``max_new_tokens = grpo.max_completion_length``, TRL's EOS list, the
  completion cut after the first EOS);
- the same reward callable (:func:`~longtracerl.train.runner.make_reward`, ``completion_ids``
  passed so that truncation and stop tokens are gated as in training).

It writes ``OUT/probe.json`` (summary) and ``OUT/probe.jsonl`` (one line per prompt: label,
rewards, outcomes, gate reasons, answers). Figures that matter for GRPO: ``outcome_mean`` (share
of correct samples), ``groups_with_signal`` (share of prompts whose rewards are not all equal:
the prompts that give a gradient) and ``gated_share``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from longtracerl.records import atomic_write_text
from longtracerl.train.config import TrainConfig


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    """TRL's list: the generation config's EOS ids, the tokenizer's EOS first when missing."""
    ids = getattr(model.generation_config, "eos_token_id", None)
    if ids is None:
        ids = []
    elif isinstance(ids, int):
        ids = [ids]
    ids = list(ids)
    if tokenizer.eos_token_id not in ids:
        ids = [tokenizer.eos_token_id, *ids]
    return ids


def cut_after_eos(ids: list[int], eos: list[int]) -> list[int]:
    """The completion as TRL masks it: up to and including the first EOS id.

    >>> cut_after_eos([5, 6, 2, 2, 2], [2])
    [5, 6, 2]
    >>> cut_after_eos([5, 6, 7], [2])
    [5, 6, 7]
    """
    for i, t in enumerate(ids):
        if t in eos:
            return ids[: i + 1]
    return ids


def probe(
    cfg: TrainConfig,
    data: str | os.PathLike,
    out: str | os.PathLike,
    *,
    samples: int | None = None,
    max_rows: int | None = None,
    seed: int | None = None,
    endpoint: str | None = None,
) -> dict[str, Any]:
    """Sample ``samples`` (default ``grpo.num_generations``) completions per prompt from the
    untrained policy and score them with the training reward; returns the summary."""
    from longtracerl.train.data import build_records, load_rows
    from longtracerl.train.model import check_model_source, load_tokenizer
    from longtracerl.train.runner import make_reward

    n = samples or cfg.grpo.num_generations
    if n < 1:
        raise ValueError(f"--samples must be >= 1, got {n}")
    check_model_source(cfg.model)
    rows = load_rows(data, max_rows or cfg.data.max_rows)
    tokenizer = load_tokenizer(cfg.model)
    records, stats = build_records(
        rows, tokenizer, cfg.data.max_prompt_tokens, cfg.data.overflow, path=data,
        max_cut_share=cfg.data.max_cut_share, small_model=cfg.grpo.use_cpu,
    )  # fmt: skip
    results_of_batch: list[Any] = []

    def sink(_flat: dict[str, float], results: list[Any]) -> None:
        results_of_batch.extend(results)

    # one prompt's n samples are scored as one group (group-max rubric normalisation as in training)
    group_cfg = cfg.model_copy(update={"grpo": cfg.grpo.model_copy(update={"num_generations": n})})
    reward = make_reward(group_cfg, tokenizer, metrics_sink=sink)

    t0 = time.perf_counter()
    g = cfg.grpo
    if endpoint:
        sample = _endpoint_sampler(endpoint, cfg, tokenizer, g.seed if seed is None else seed)
    else:
        sample = _local_sampler(cfg, tokenizer, g.seed if seed is None else seed)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    tot = {"samples": 0, "correct": 0, "gated": 0, "reward": 0.0, "signal": 0, "any_correct": 0}
    reasons: dict[str, int] = {}
    for i, rec in enumerate(records, start=1):
        comp_ids = sample(rec["prompt"], n)
        texts = [tokenizer.decode(c, skip_special_tokens=True) for c in comp_ids]
        results_of_batch.clear()
        rewards = reward(
            prompts=[rec["prompt"]] * n,
            completions=[[{"role": "assistant", "content": t}] for t in texts],
            completion_ids=comp_ids,
            label=[rec["label"]] * n,
            question=[rec["question"]] * n,
            rubrics=[rec["rubrics"]] * n,
        )
        res = list(results_of_batch)
        outcomes = [float(r.outcome) for r in res]
        tot["samples"] += n
        tot["correct"] += sum(1 for o in outcomes if o > 0)
        tot["gated"] += sum(1 for r in res if r.gated)
        tot["reward"] += sum(rewards)
        tot["signal"] += int(len(set(rewards)) > 1)
        tot["any_correct"] += int(any(o > 0 for o in outcomes))
        print(
            f"train-probe: prompt {i}/{len(records)}: correct {tot['correct']}/{tot['samples']} "
            f"({time.perf_counter() - t0:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
        for r in res:
            for why in r.gate_reasons:
                reasons[why] = reasons.get(why, 0) + 1
        lines.append(
            json.dumps(
                {
                    "label": rec["label"],
                    "question": rec["question"],
                    "prompt_tokens": rec["prompt_tokens"],
                    "rewards": rewards,
                    "outcomes": outcomes,
                    "gate_reasons": [r.gate_reasons for r in res],
                    "completions": texts,
                    "completion_tokens": [len(c) for c in comp_ids],
                },
                ensure_ascii=False,
            )
        )
    seconds = time.perf_counter() - t0
    atomic_write_text(out_dir / "probe.jsonl", "\n".join(lines) + "\n")
    s = max(1, tot["samples"])
    summary = {
        "data": str(data),
        "prompts": len(records),
        "samples_per_prompt": n,
        "samples": tot["samples"],
        "outcome_mean": round(tot["correct"] / s, 4),
        "reward_mean": round(tot["reward"] / s, 4),
        "gated_share": round(tot["gated"] / s, 4),
        "gated_by_reason": reasons,
        "prompts_with_a_correct_sample": round(tot["any_correct"] / max(1, len(records)), 4),
        "groups_with_signal": round(tot["signal"] / max(1, len(records)), 4),
        "reward_mode": cfg.reward.mode,
        "max_completion_length": g.max_completion_length,
        "max_prompt_tokens": cfg.data.max_prompt_tokens,
        "prompt_stats": stats.as_dict(),
        "seconds": round(seconds, 1),
        "seconds_per_prompt": round(seconds / max(1, len(records)), 2),
        "sampler": f"endpoint {endpoint}"
        if endpoint
        else "local (the training model, transformers generate)",
    }
    atomic_write_text(out_dir / "probe.json", json.dumps(summary, indent=2) + "\n")
    return summary


def _local_sampler(cfg: TrainConfig, tokenizer: Any, seed: int):
    """Samples from the training model itself, as TRL's transformers path does."""
    import torch

    from longtracerl.train.model import load_model

    model = load_model(cfg.model, tokenizer)
    model.eval()
    eos = _eos_ids(model, tokenizer)
    g = cfg.grpo
    gen_kw: dict[str, Any] = {
        "max_new_tokens": g.max_completion_length,
        "do_sample": True,
        "temperature": g.temperature,
        "top_p": g.top_p,
        "top_k": g.top_k,
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": eos,
    }
    torch.manual_seed(seed)

    def sample(messages: list[dict[str, str]], n: int) -> list[list[int]]:
        ids = tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=True, return_dict=False
        )
        if isinstance(ids, dict) or hasattr(ids, "keys"):
            ids = ids["input_ids"]
        inp = torch.tensor([list(ids)] * n)
        with torch.no_grad():
            seqs = model.generate(input_ids=inp, attention_mask=torch.ones_like(inp), **gen_kw)
        return [cut_after_eos(s[inp.shape[1] :].tolist(), eos) for s in seqs]

    return sample


def _endpoint_sampler(endpoint: str, cfg: TrainConfig, tokenizer: Any, seed: int):
    """Samples from an OpenAI-compatible server (e.g. llama.cpp over the same GGUF): much faster on
    CPU, an approximation of the training policy (quantised weights, the server's sampler). The
    completion ids are re-tokenised from the text; EOS is appended when the server says ``stop``."""
    from longtracerl.llm import ChatParams, make_chat_model

    # llama.cpp's server defaults (top_k 40, min_p 0.05, repeat penalty) are turned off: TRL samples
    # from the full distribution at grpo.temperature / top_p / top_k
    model = make_chat_model(endpoint, timeout_s=300, extra_body={"min_p": 0.0, "repeat_penalty": 1.0})
    g = cfg.grpo
    counter = [seed * 1_000_003]

    def sample(messages: list[dict[str, str]], n: int) -> list[list[int]]:
        out: list[list[int]] = []
        for _ in range(n):
            counter[0] += 1
            params = ChatParams(
                max_tokens=g.max_completion_length,
                temperature=g.temperature,
                top_p=g.top_p,
                top_k=g.top_k,
                seed=counter[0],
            )
            c = model.complete(messages, params)
            ids = tokenizer.encode(c.text, add_special_tokens=False)[: g.max_completion_length]
            if c.finish_reason == "stop":
                ids.append(tokenizer.eos_token_id)
            out.append(ids)
        return out

    return sample
