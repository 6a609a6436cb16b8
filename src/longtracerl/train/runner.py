"""``longtracerl train``: GRPO on TRL's ``GRPOTrainer`` with the LongTraceRL reward.

Order of work, so that misconfiguration fails before any model is loaded:

1. the model/tokenizer source is checked (:func:`~longtracerl.train.model.check_model_source`);
2. the batch arithmetic is checked and the ``GRPOConfig`` keyword arguments are built
   (:func:`~longtracerl.train.recipe.grpo_kwargs`);
3. the reward callable is built (:func:`~longtracerl.rewards.integrations.trl.make_trl_reward`);
4. the rows are read and validated (``records.TrainingRow``: file, line and field in errors);
5. the tokenizer is loaded and the prompts are rendered with its chat template and bounded
   (:mod:`longtracerl.train.data`); rows made for much longer contexts are refused here
   (``data.max_cut_share``), with the command that builds rows of this length;
6. ``--dry-run`` stops here after building the real ``trl.GRPOConfig`` and calling the reward
   callable the way TRL does on one group of made-up completions;
7. otherwise the model is loaded and ``GRPOTrainer.train()`` runs; per-step metrics go to
   ``OUT/metrics.jsonl``, the final model to ``OUT/model/`` and the curves to ``OUT/train_curves.png``.

Files in OUT: ``train_config.yaml`` (resolved config), ``grpo_args.json`` (the GRPOConfig keyword
arguments), ``data_stats.json`` (prompt-bounding counts), ``metrics.jsonl``, ``summary.json``
(timings), ``model/``, ``train_curves.png`` (:func:`~longtracerl.train.plot.plot_runs`).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import yaml

from longtracerl.config import ConfigError
from longtracerl.records import atomic_write_text
from longtracerl.train.config import REWARD_MODES, TrainConfig, smoke_rows_path
from longtracerl.train.recipe import available_report_to, grpo_kwargs

log = logging.getLogger(__name__)


def make_reward(cfg: TrainConfig, tokenizer: Any = None, metrics_sink: Any = None):
    from longtracerl.rewards.integrations.trl import make_trl_reward

    r = cfg.reward
    return make_trl_reward(
        r.judge,
        mode=REWARD_MODES[r.mode],
        eta=0.0 if r.mode == "outcome-only" else r.eta,
        processor=r.processor,
        num_generations=cfg.grpo.num_generations,
        tokenizer=tokenizer,
        max_completion_length=cfg.grpo.max_completion_length,
        use_reasoning=r.use_reasoning,
        name="longtracerl",
        metrics_sink=metrics_sink,
    )


def _probe_reward(reward: Any, record: dict[str, Any], n: int, think: bool) -> list[float]:
    """Call the reward callable the way TRL does, on one group of made-up completions."""
    answer = record["label"]
    lead = "I read the documents.\n</think>\n\n" if think else ""
    texts = [f"{lead}{answer}", f"{lead}I do not know."] * n
    texts = texts[:n]
    return reward(
        prompts=[record["prompt"]] * n,
        completions=texts,
        completion_ids=None,
        label=[record["label"]] * n,
        question=[record["question"]] * n,
        rubrics=[record["rubrics"]] * n,
    )


def resolve_data(cfg: TrainConfig, data: str | None) -> Path:
    if data:
        return Path(data)
    if cfg.smoke_data:
        return smoke_rows_path()
    raise ConfigError("--data ROWS is required with this preset (e.g. RUN/rows.jsonl from `longtracerl run`)")


def train(
    cfg: TrainConfig,
    data: str | None,
    out: str | os.PathLike,
    *,
    dry_run: bool = False,
) -> dict[str, Any]:
    from longtracerl.train.data import build_records, fitting_target_tokens, load_rows
    from longtracerl.train.model import check_model_source, load_model, load_tokenizer
    from longtracerl.train.needs import check_needs, hub_offline_if_unreachable, require

    t_start = time.perf_counter()
    out_dir = Path(out)
    check_model_source(cfg.model)
    needs = check_needs(cfg)
    if not dry_run:
        require(needs)  # GPU, vLLM, flash-attn, model files: all missing ones in one error, before loading
    if cfg.model.source == "hf" and not Path(cfg.model.path or "").expanduser().exists():
        hub_offline_if_unreachable()  # no minute of hub retries when there is no network
    kwargs = grpo_kwargs(cfg, str(out_dir))
    _used, skipped = available_report_to(cfg.grpo.report_to)
    for name in skipped:
        log.warning("grpo.report_to: %s is not installed; not reporting to it", name)
    data_path = resolve_data(cfg, data)
    rows = load_rows(data_path, cfg.data.max_rows)
    tokenizer_note = None
    try:
        tokenizer = load_tokenizer(cfg.model)
    except ConfigError as err:
        if not dry_run:
            raise
        # dry run without the model's files: measure with the project's default tokenizer instead
        from transformers import AutoTokenizer

        from longtracerl.train.model import _gguf_location

        folder, gguf_file = _gguf_location("smollm2")
        tokenizer = AutoTokenizer.from_pretrained(
            str(folder), **({"gguf_file": gguf_file} if gguf_file else {})
        )
        tokenizer_note = f"{err} -> prompt lengths ESTIMATED with the SmolLM2 tokenizer"
        log.warning("%s", tokenizer_note)
    records, stats = build_records(
        rows, tokenizer, cfg.data.max_prompt_tokens, cfg.data.overflow, path=data_path,
        max_cut_share=cfg.data.max_cut_share, small_model=cfg.grpo.use_cpu,
    )  # fmt: skip
    if stats.truncated and stats.truncated * 2 >= stats.rows:
        log.warning(
            "%d of %d prompts were cut to data.max_prompt_tokens=%d (%d tokens removed): these rows were "
            "made for longer contexts. Fix: raise data.max_prompt_tokens, or build rows of this length "
            "(longtracerl run --target-tokens %d)",
            stats.truncated, stats.rows, cfg.data.max_prompt_tokens, stats.tokens_removed,
            fitting_target_tokens(cfg.data.max_prompt_tokens),
        )  # fmt: skip
    reward = make_reward(cfg, tokenizer if tokenizer_note is None else None)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(
        out_dir / "train_config.yaml", yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)
    )
    atomic_write_text(out_dir / "grpo_args.json", json.dumps(kwargs, indent=2, default=str) + "\n")
    atomic_write_text(out_dir / "data_stats.json", json.dumps(stats.as_dict(), indent=2) + "\n")
    summary: dict[str, Any] = {
        "data": str(data_path),
        "rows": stats.rows,
        "kept": stats.kept,
        "truncated": stats.truncated,
        "dropped": stats.dropped,
        "longest_prompt_tokens": stats.longest_after,
        "reward_mode": cfg.reward.mode,
        "eta": 0.0 if cfg.reward.mode == "outcome-only" else cfg.reward.eta,
        "needs": [n.as_dict() for n in needs],
    }
    if tokenizer_note:
        summary["tokenizer_note"] = tokenizer_note

    if dry_run:
        from longtracerl.train.recipe import build_grpo_config

        args = build_grpo_config(cfg, str(out_dir), portable=True)
        think = "think" in cfg.reward.processor
        # the probe never calls a remote judge: a dry run must work offline
        probe_cfg = cfg.model_copy(update={"reward": cfg.reward.model_copy(update={"judge": "rule"})})
        probe = _probe_reward(make_reward(probe_cfg), records[0], cfg.grpo.num_generations, think)
        summary["probe_judge"] = (
            f"rule (the configured judge {cfg.reward.judge!r} is not called in a dry run)"
        )
        # the arguments a real run gets (grpo_args.json); values only this machine changed are noted
        adjusted = {
            k: _jsonable(getattr(args, k)) for k in kwargs if k == "bf16" and getattr(args, k) != kwargs[k]
        }
        summary.update(
            {
                "dry_run": True,
                "generation_batch_size": args.generation_batch_size,
                "steps_per_generation": args.steps_per_generation,
                "probe_rewards": probe,
                "grpo_config": {k: _jsonable(v) for k, v in kwargs.items()},
            }
        )
        if adjusted:
            summary["validated_here_with"] = adjusted  # e.g. bf16 off: transformers refuses it without a GPU
        missing = [n for n in needs if not n.ok]
        if missing:
            summary["a_real_run_needs"] = [f"{n.name}: {n.fix}" for n in missing]
            log.warning("a real run of this config needs: %s", "; ".join(summary["a_real_run_needs"]))
        atomic_write_text(out_dir / "summary.json", json.dumps(summary, indent=2, default=str) + "\n")
        return summary

    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from longtracerl.train.metrics import make_callback

    try:
        args = GRPOConfig(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"TRL refused the training arguments: {err}") from None
    t_load = time.perf_counter()
    model = load_model(cfg.model, tokenizer)
    load_s = time.perf_counter() - t_load
    dataset = Dataset.from_list([{k: v for k, v in r.items() if k != "prompt_tokens"} for r in records])
    callback = make_callback(out_dir / "metrics.jsonl")
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[reward],
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=[callback],
    )
    t_train = time.perf_counter()
    result = trainer.train()
    train_s = time.perf_counter() - t_train
    model_dir = out_dir / "model"
    trainer.save_model(str(model_dir))
    tokenizer.save_pretrained(str(model_dir))
    summary.update(
        {
            "steps": int(trainer.state.global_step),
            "metrics_lines": callback.writer.lines,
            "model_load_seconds": round(load_s, 2),
            "train_seconds": round(train_s, 2),
            "seconds_per_step": round(train_s / max(1, trainer.state.global_step), 2),
            "total_seconds": round(time.perf_counter() - t_start, 2),
            "train_loss": _jsonable(getattr(result, "training_loss", None)),
            "model_dir": str(model_dir),
            "parameters": sum(p.numel() for p in model.parameters()),
        }
    )
    rewards = _logged_rewards(out_dir / "metrics.jsonl")
    if rewards and not any(rewards):
        summary["warning"] = (
            f"every logged reward was 0 over {len(rewards)} steps: the policy got no signal and learnt "
            "nothing (truncated completions? see OUT/metrics.jsonl; `longtracerl train-probe` measures the "
            "solve rate before training)"
        )
        log.warning("%s", summary["warning"])
    summary["curves"] = _plot_curves(out_dir)
    atomic_write_text(out_dir / "summary.json", json.dumps(summary, indent=2, default=str) + "\n")
    return summary


def _plot_curves(out_dir: Path) -> str | None:
    """``OUT/train_curves.png`` (the figure of ``longtracerl train-report OUT``); a run whose figure
    cannot be drawn (nothing logged, no matplotlib) still finishes, with a warning."""
    from longtracerl.train.plot import plot_runs

    try:
        return str(plot_runs([out_dir]))
    except Exception as err:  # noqa: BLE001 - the trained model is saved; the figure is a convenience
        log.warning(
            "training curves not drawn (%s: %s); `longtracerl train-report %s` retries",
            type(err).__name__, err, out_dir,
        )  # fmt: skip
        return None


def _logged_rewards(path: Path) -> list[float]:
    """The ``reward`` of each logged step (empty when nothing was logged)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            value = json.loads(line).get("reward")
        except (ValueError, AttributeError):
            continue
        if isinstance(value, int | float):
            out.append(float(value))
    return out


def _jsonable(v: Any) -> Any:
    if isinstance(v, str | int | float | bool) or v is None:
        return v
    if hasattr(v, "value"):
        return v.value
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    return str(v)
