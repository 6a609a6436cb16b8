"""Run one benchmark against one model: fit prompts, sample, parse, score, append, summarise.

Outputs in ``OUT``:

- ``samples.jsonl``: one line per (item, sample), appended as each finishes (``key`` =
  ``"<item_id>#<sample>"``). A re-run with the same ``OUT`` skips the keys already there, so an
  interrupted run (endpoint down, Ctrl-C, crash) resumes without losing or repeating samples; a torn
  last line is cut off first.
- ``eval.json``: the settings that define a sample (model, sampling, window, processor, judge). A
  re-run with different settings is refused (use another ``OUT``, or ``restart=True``).
- ``summary.json``: avg@k and the counts, recomputed from ``samples.jsonl`` at the end of every run.

A sample whose model call fails after the client's bounded retries stops the run: samples already
finished are kept, samples not yet started are not attempted, and :class:`EvalError` says how far
the run got and that a re-run resumes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from longtracerl.config import ConfigError, config_hash
from longtracerl.evals.config import EvalConfig
from longtracerl.evals.items import EvalItem, FittedPrompt, fit_item
from longtracerl.evals.parsing import parse_completion
from longtracerl.evals.registry import PAPER_REFERENCE, get_benchmark
from longtracerl.records import JsonlAppender, RecordError, atomic_write_text, iter_json_lines

log = logging.getLogger(__name__)

SAMPLES, SUMMARY, META = "samples.jsonl", "summary.json", "eval.json"
BAD_STATUSES = ("ill_formed", "unfinished", "aborted")


class EvalError(RuntimeError):
    """The run stopped (model endpoint failure); finished samples are kept and a re-run resumes."""


# --------------------------------------------------------------------------- building parts


def build_model(cfg: EvalConfig) -> Any:
    """The chat model named by ``cfg.model`` (see :class:`EvalConfig`)."""
    from longtracerl.llm.openai import make_chat_model

    spec = cfg.model
    if spec.startswith("openai:"):
        kwargs: dict[str, Any] = {
            "timeout_s": cfg.timeout_s,
            "max_retries": cfg.max_retries,
            "backoff_s": cfg.backoff_s,
            "concurrency": cfg.concurrency,
            "extra_body": dict(cfg.extra_body),
        }
        if cfg.base_url:
            kwargs["base_url"] = cfg.base_url
        if cfg.api_key_env:
            key = os.environ.get(cfg.api_key_env)
            if not key:
                raise ConfigError(f"api_key_env={cfg.api_key_env}: the environment variable is not set")
            kwargs["api_key"] = key
        return make_chat_model(spec, **kwargs)
    local = _local_spec(spec)
    if local is not None:
        return make_chat_model(f"local:{local}", max_context=cfg.max_context_tokens)
    if ":" in spec:
        return make_chat_model(spec)
    raise ConfigError(
        f"model '{spec}': not a folder, not 'smollm2', not 'openai:NAME' (with --base-url), not module:attr"
    )


def fit_window(cfg: EvalConfig, window: int) -> EvalConfig:
    """``cfg`` for a model with a ``window``-token context: prompts middle-truncated to fit, and
    ``max_tokens`` (unless given) a quarter of the window (see :class:`EvalConfig`)."""
    data = cfg.model_dump(exclude_unset=True)
    data["max_context_tokens"] = window
    return EvalConfig.model_validate(data)


def _local_spec(spec: str) -> str | None:
    rest = spec.removeprefix("local:")
    if rest == "smollm2":
        return "smollm2"
    if Path(rest).expanduser().exists():
        return str(Path(rest).expanduser())
    return None


def build_tokenizer(cfg: EvalConfig):
    """The tokenizer that measures the window (None when ``max_context_tokens`` is unset)."""
    if cfg.max_context_tokens is None:
        return None
    from longtracerl.contexts.tokenizer import load_tokenizer

    spec = cfg.tokenizer or _local_spec(cfg.model)
    if spec is None:
        raise ConfigError(
            f"max_context_tokens is set but no tokenizer is known for model '{cfg.model}': set tokenizer= "
            "(a tokenizer.json, a Hugging Face folder or a .gguf of the served model; --tokenizer)"
        )
    return load_tokenizer(spec)


def build_judge(cfg: EvalConfig):
    from longtracerl.rewards.server import build_judge as _build

    return _build(
        cfg.judge,
        base_url=cfg.judge_base_url,
        model=cfg.judge_model,
        api_key_env=cfg.judge_api_key_env,
    )


# --------------------------------------------------------------------------- the run


def data_path(cfg: EvalConfig, bench: Any) -> str | None:
    """``cfg.data``, else the one ``<benchmark>.*`` file in ``cfg.data_dir``, else None (the default)."""
    if cfg.data is not None or cfg.data_dir is None:
        return cfg.data
    folder = Path(cfg.data_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"data_dir {folder}: not a folder")
    found = sorted(p for p in folder.glob(f"{bench.name}.*") if p.is_file())
    if len(found) > 1:
        raise ConfigError(
            f"data_dir {folder}: several files for {bench.name}: {', '.join(p.name for p in found)}"
        )
    return str(found[0]) if found else None


def load_items(cfg: EvalConfig, bench: Any) -> list[EvalItem]:
    path = data_path(cfg, bench)
    if path != cfg.data:
        cfg = cfg.model_copy(update={"data": path})
    try:
        items = bench.load(path, cfg)
    except FileNotFoundError as err:
        if path is None and cfg.data_dir is not None:  # say which name the folder was searched for
            raise FileNotFoundError(
                f"{err}; --data-dir {cfg.data_dir} has no file named {bench.name}.<ext> "
                f"(e.g. {bench.name}.jsonl, .json, .csv, .tsv or .parquet)"
            ) from None
        raise
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.item_id in seen:
            raise RecordError(cfg.data, item.meta.get("line"), "id", f"duplicate item id {item.item_id!r}")
        seen[item.item_id] = i
    if cfg.limit is not None:
        items = items[: cfg.limit]
    if not items:
        raise ConfigError(f"benchmark '{bench.name}': no items loaded from {cfg.data or 'the default file'}")
    return items


def _check_meta(out: Path, cfg: EvalConfig, restart: bool) -> None:
    meta_path = out / META
    key = cfg.sampling_key()
    if restart:
        (out / SAMPLES).unlink(missing_ok=True)
        (out / SUMMARY).unlink(missing_ok=True)
    elif meta_path.exists() and (out / SAMPLES).exists():
        old = json.loads(meta_path.read_text(encoding="utf-8")).get("settings", {})
        diff = [k for k in key if old.get(k) != key[k]]
        if diff:
            k = diff[0]
            raise ConfigError(
                f"{out} holds samples made with {k}={old.get(k)!r}, this run has {k}={key[k]!r}: use another "
                "--out, or --restart to discard the old samples"
            )
    atomic_write_text(
        meta_path, json.dumps({"settings": key, "config": cfg.model_dump(mode="json")}, indent=2)
    )


def run_eval(
    cfg: EvalConfig,
    out_dir: str | os.PathLike,
    *,
    model: Any = None,
    judge: Any = None,
    tokenizer: Any = None,
    restart: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    """Evaluate ``cfg.benchmark`` with ``cfg.model`` into ``out_dir``; returns the summary dict.

    ``model``, ``judge`` and ``tokenizer`` may be given as objects (tests, notebooks); otherwise
    they are built from ``cfg``. Raises :class:`EvalError` when the model endpoint fails.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    bench = get_benchmark(cfg.benchmark)
    items = load_items(cfg, bench)
    window_from = "config" if cfg.max_context_tokens is not None else None
    if window_from is None and (model is not None or _local_spec(cfg.model) is not None):
        model = model if model is not None else build_model(cfg)
        window = getattr(model, "max_context", None)
        if isinstance(window, int):  # a local model knows its window: fit the prompts into it
            cfg = fit_window(cfg, window)
            window_from = "model"
    _check_meta(out, cfg, restart)
    appender = JsonlAppender(out / SAMPLES, key="key")
    pending = [
        (it, k) for it in items for k in range(cfg.samples) if f"{it.item_id}#{k}" not in appender.done
    ]
    done_before = len(appender.done)
    log.info(
        "eval %s: %d items x %d samples, %d already done, %d to run -> %s",
        bench.name, len(items), cfg.samples, len(items) * cfg.samples - len(pending), len(pending), out,
    )  # fmt: skip
    started = time.monotonic()
    error: BaseException | None = None
    if pending:
        tok = tokenizer if tokenizer is not None else build_tokenizer(cfg)
        chat = model if model is not None else build_model(cfg)
        if judge is None and bench.uses_judge:
            judge = build_judge(cfg)
        try:
            asyncio.run(_run_pending(cfg, bench, pending, tok, chat, judge, appender, progress))
        except EvalError as err:
            error = err
        finally:
            appender.close()
    summary = summarize(
        out, cfg, bench, items, wall_s=time.monotonic() - started, window_from=window_from,
        samples_run=len(appender.done) - done_before,
    )  # fmt: skip
    if error is not None:
        raise error
    return summary


async def _run_pending(cfg, bench, pending, tok, chat, judge, appender, progress) -> None:
    from longtracerl.llm.base import ChatParams, LLMError, acomplete

    budget = None
    if cfg.max_context_tokens is not None:
        budget = cfg.max_context_tokens - cfg.max_tokens - cfg.template_overhead_tokens
    fitted: dict[str, asyncio.Future[FittedPrompt]] = {}
    sem = asyncio.Semaphore(cfg.concurrency)
    # judges and local backends are blocking: give them as many threads as samples in flight
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=cfg.concurrency + 2)
    asyncio.get_running_loop().set_default_executor(pool)
    failures: list[tuple[str, BaseException]] = []
    stop = asyncio.Event()
    cfg_hash = config_hash(cfg)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(pending), desc=f"eval {bench.name}", unit="sample")

    async def fit(item: EvalItem) -> FittedPrompt:
        # once per item, shared by its samples in flight: tokenising a 100K-token context takes ~1 s
        if item.item_id not in fitted:
            fitted[item.item_id] = asyncio.ensure_future(
                asyncio.to_thread(
                    fit_item,
                    item,
                    tok=tok,
                    budget=budget,
                    marker=cfg.truncation_marker,
                    system_prompt=cfg.system_prompt,
                )
            )
        return await fitted[item.item_id]

    async def one(item: EvalItem, k: int) -> None:
        async with sem:
            if stop.is_set():
                return
            fp = await fit(item)
            key = f"{item.item_id}#{k}"
            rec: dict[str, Any] = {
                "key": key, "benchmark": bench.name, "item_id": item.item_id, "sample": k,
                "seed": cfg.seed + k, "model": cfg.model, "gold": item.answer,
                "context_truncated": fp.truncated, "context_overflow": fp.overflow,
                "prompt_tokens": fp.prompt_tokens, "removed_context_tokens": fp.removed_tokens,
            }  # fmt: skip
            if fp.overflow:
                rec.update(_empty_result("context_overflow"))
            else:
                params = ChatParams(
                    temperature=cfg.temperature, top_p=cfg.top_p, top_k=cfg.top_k,
                    max_tokens=cfg.max_tokens, seed=cfg.seed + k,
                )  # fmt: skip
                t0 = time.monotonic()
                try:
                    completion = await acomplete(chat, fp.messages, params)
                except LLMError as err:
                    failures.append((key, err))
                    stop.set()
                    return
                latency = time.monotonic() - t0
                parsed = parse_completion(completion, cfg.processor)
                rec.update(
                    response=completion.text, reasoning_text=completion.reasoning,
                    finish_reason=completion.finish_reason, status=parsed.status,
                    status_reasons=list(parsed.reasons), content=parsed.content,
                    truncated=parsed.status == "truncated",
                    server_prompt_tokens=completion.prompt_tokens,
                    completion_tokens=completion.completion_tokens, latency_s=round(latency, 4),
                )  # fmt: skip
                t1 = time.monotonic()
                if parsed.ok:
                    s = await asyncio.to_thread(bench.score, item, parsed.content, judge)
                    rec.update(
                        score=s.score, parsed_answer=s.parsed_answer, judge=s.judge, judge_error=s.judge_error
                    )
                else:  # not judged: zero, counted by status (truncated apart from ill-formed)
                    rec.update(score=0.0, parsed_answer=None, judge=None, judge_error=None)
                rec["score_s"] = round(time.monotonic() - t1, 4)
            rec["meta"] = item.meta
            rec["config_hash"] = cfg_hash
            appender.write(rec)
            if bar is not None:
                bar.update(1)

    try:
        await asyncio.gather(*(one(it, k) for it, k in pending))
    finally:
        # Ctrl-C (the task is cancelled) or a failure: queued prompt fitting and scoring are
        # dropped, not run; only what is running in a thread now is waited for
        pool.shutdown(wait=False, cancel_futures=True)
        if bar is not None:
            bar.close()
        aclose = getattr(chat, "aclose", None)
        if aclose is not None:
            await aclose()
    if failures:
        key, err = failures[0]
        done = len(appender.done)
        raise EvalError(
            f"model call for {key} failed: {err}. {done} sample(s) are saved in {appender.path}; "
            f"{len(failures)} call(s) failed and the rest were not started. {_fix_for(err)} and re-run "
            "the same command: it resumes where it stopped."
        )


def _fix_for(err: BaseException) -> str:
    """What to change after a failed model call: the request (HTTP 4xx) or the endpoint."""
    status = getattr(err, "status", None)
    if status is not None and 400 <= status < 500 and status != 429:
        return (
            "Fix: the server refused the request; when the prompt plus --max-tokens exceed its context "
            "window, give the window with --max-context-tokens N (prompts are then fitted into it) or "
            "lower --max-tokens"
        )
    return "Fix: start the endpoint again (or correct --base-url / --model)"


def _empty_result(status: str) -> dict[str, Any]:
    return {
        "response": None, "reasoning_text": None, "finish_reason": None, "status": status,
        "status_reasons": [status], "content": None, "truncated": False, "server_prompt_tokens": None,
        "completion_tokens": None, "latency_s": 0.0, "score": 0.0, "parsed_answer": None,
        "judge": None, "judge_error": None, "score_s": 0.0,
    }  # fmt: skip


# --------------------------------------------------------------------------- summary


def summarize(
    out: Path,
    cfg: EvalConfig,
    bench: Any,
    items: list[EvalItem],
    wall_s: float = 0.0,
    window_from: str | None = None,
    samples_run: int = 0,
) -> dict[str, Any]:
    """Recompute ``summary.json`` from ``samples.jsonl`` (only the current items and k samples count).

    ``window_from``: where ``max_context_tokens`` came from ("model": the local model's own
    window, "config": given), for the summary's account of what was cut.
    """
    wanted = {it.item_id for it in items}
    by_item: dict[str, dict[int, dict]] = defaultdict(dict)
    path = out / SAMPLES
    if path.exists():
        for _line, rec in iter_json_lines(path):
            if rec.get("item_id") in wanted and rec.get("sample", 10**9) < cfg.samples:
                by_item[rec["item_id"]][rec["sample"]] = rec
    recs = [r for d in by_item.values() for r in d.values()]
    complete = [d for d in by_item.values() if len(d) == cfg.samples]
    item_means = [sum(r["score"] for r in d.values()) / cfg.samples for d in complete]
    latencies = [r["latency_s"] for r in recs if r.get("latency_s")]
    status_counts: dict[str, int] = defaultdict(int)
    for r in recs:
        status_counts[r["status"]] += 1
    summary = {
        "benchmark": bench.name,
        "title": bench.title,
        "model": cfg.model,
        "judge": cfg.judge if bench.uses_judge else "exact",
        "judge_approximate": bool(bench.uses_judge and cfg.judge == "rule"),
        "k": cfg.samples,
        "avg_at_k": round(100 * sum(item_means) / len(item_means), 2) if item_means else None,
        "n_items": len(items),
        "n_items_complete": len(complete),
        "n_samples": len(recs),
        "complete": len(complete) == len(items),
        "mean_score_all_samples": round(100 * sum(r["score"] for r in recs) / len(recs), 2) if recs else None,
        "statuses": dict(sorted(status_counts.items())),
        "n_truncated": status_counts.get("truncated", 0),
        "n_ill_formed": sum(status_counts.get(s, 0) for s in BAD_STATUSES),
        "n_context_overflow_items": sum(
            1 for d in by_item.values() if any(r.get("context_overflow") for r in d.values())
        ),
        "n_context_truncated_items": sum(
            1 for d in by_item.values() if any(r.get("context_truncated") for r in d.values())
        ),
        "window": {
            "max_context_tokens": cfg.max_context_tokens,
            "max_tokens": cfg.max_tokens,
            "from": window_from,
            "removed_context_tokens_mean": _mean([r.get("removed_context_tokens") for r in recs]),
            "removed_context_tokens_max": max(
                (r.get("removed_context_tokens") or 0 for r in recs), default=0
            ),
        },
        "n_judge_errors": sum(1 for r in recs if r.get("judge_error")),
        "mean_latency_s": round(sum(latencies) / len(latencies), 3) if latencies else None,
        "mean_completion_tokens": _mean([r.get("completion_tokens") for r in recs]),
        "mean_prompt_tokens": _mean([r.get("server_prompt_tokens") or r.get("prompt_tokens") for r in recs]),
        "wall_s_last_run": round(wall_s, 2),
        # wall time per sample of the last run: the throughput (mean_latency_s also counts the time
        # a request waited in the server's queue, so it exceeds this when samples run concurrently)
        "wall_s_per_sample_last_run": round(wall_s / samples_run, 3) if samples_run else None,
        "limit": cfg.limit,
        "breakdown": _breakdown(complete, getattr(bench, "breakdown", ()), cfg.samples),
        "paper": {name: ref.get(bench.name) for name, ref in PAPER_REFERENCE.items() if bench.name in ref},
        "settings": cfg.sampling_key(),
        "config_hash": config_hash(cfg),
    }
    atomic_write_text(out / SUMMARY, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary


def _breakdown(complete: list[dict[int, dict]], keys, k: int) -> dict[str, dict[str, dict[str, float]]]:
    """avg@k by item metadata (e.g. LongBench v2 difficulty and length), complete items only."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for key in keys:
        groups: dict[str, list[float]] = defaultdict(list)
        for d in complete:
            value = next(iter(d.values())).get("meta", {}).get(key)
            groups[str(value)].append(sum(r["score"] for r in d.values()) / k)
        out[key] = {
            g: {"avg_at_k": round(100 * sum(v) / len(v), 2), "n_items": len(v)}
            for g, v in sorted(groups.items())
        }
    return out


def _mean(values: list) -> float | None:
    vals = [v for v in values if isinstance(v, int | float)]
    return round(sum(vals) / len(vals), 1) if vals else None


def _format_window(w: dict[str, Any]) -> str:
    if not w.get("max_context_tokens"):
        return "not set (prompts sent whole)"
    src = {"model": "the model's own", "config": "given"}.get(w.get("from") or "", "given")
    text = f"{w['max_context_tokens']} tokens ({src}), max_tokens {w['max_tokens']}"
    if w.get("removed_context_tokens_max"):
        text += (
            f"; middle of the documents cut: mean {w['removed_context_tokens_mean']} / "
            f"max {w['removed_context_tokens_max']} tokens per sample"
        )
    return text


def format_summary(summary: dict[str, Any]) -> str:
    """A short markdown table of one run."""
    avg = summary["avg_at_k"]
    rows = [
        ("benchmark", summary["title"]),
        ("model", summary["model"]),
        (f"avg@{summary['k']}", "n/a" if avg is None else f"{avg:.1f}"),
        ("items (complete / all)", f"{summary['n_items_complete']} / {summary['n_items']}"),
        ("samples", summary["n_samples"]),
        ("truncated responses", summary["n_truncated"]),
        ("ill-formed / unfinished", summary["n_ill_formed"]),
        ("context-truncated items", summary["n_context_truncated_items"]),
        ("window", _format_window(summary.get("window") or {})),
        ("context-overflow items", summary["n_context_overflow_items"]),
        ("judge errors", summary["n_judge_errors"]),
        ("judge", summary["judge"] + (" (approximate)" if summary["judge_approximate"] else "")),
        ("mean latency / sample (s)", summary["mean_latency_s"]),
    ]
    for name, value in summary.get("paper", {}).items():
        rows.append((name, value))
    lines = ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines)
