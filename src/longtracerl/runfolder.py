"""What a ``longtracerl run`` folder was made with: one stamp per stage, checked before a re-run.

A stage's stamp is the hash of its own settings (its config section, flattened) chained with the
stamp of the stage before it; the first stage (``corpus``) also hashes the corpus's identity (the
prepared folder's manifest, or the input file's size and mtime). So a stamp changes when the
stage's settings change, when anything upstream changes, or when the corpus does. Stamps live in
``OUT/stamps.json`` with the flattened settings (to say *which* setting differs) and whether the
stage finished.

Before a run, :func:`plan` compares the stamps on file with those of the new config:

- same stamps, stage finished: the stage is skipped (nothing is rewritten);
- same stamps, stage unfinished (or a stage before it ran): the stage resumes;
- another stamp: the stage and every later one are out of date. With ``on_change="rebuild"``
  their outputs are moved to ``OUT/superseded/<time>/`` and rebuilt; with ``"error"`` the run
  stops with one line naming the settings that differ and what to do.

Limits may grow (:data:`GROWABLE`: ``walks.num_walks`` continues the same walk sequence, a larger
``agent.attempts`` gives unsolved questions more tries); lowering one counts as a change.
Settings that never change the data (progress bars, concurrency, the executor) are left out of
the stamps. A folder written before stamps existed is checked against its ``config.yaml``; one
with outputs and neither file is treated as made with unknown settings. A finished stage whose
recorded outputs were deleted runs again.

The stage commands run alone (walks, questions, agent) keep a stamp of their own,
``RUN/<stage>.stamp.json`` (:func:`guard_stage`), and refuse a folder made with other settings.

Example:
    >>> from longtracerl.run import load_run_config
    >>> a = expected_stamps(load_run_config(None), Path("/nonexistent"))
    >>> b = expected_stamps(load_run_config(None, ["agent.top_k=2"]), Path("/nonexistent"))
    >>> [s for s in STAGES if a[s]["key"] != b[s]["key"]]
    ['agent', 'contexts', 'report']
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from longtracerl.config import ConfigError
from longtracerl.config import short_hash as _hash
from longtracerl.pagestore import STORE_FILE
from longtracerl.records import atomic_write_text, sha256_file

log = logging.getLogger(__name__)

STAMPS_FILE = "stamps.json"
SUPERSEDED_DIR = "superseded"
STAGES = ("corpus", "walks", "questions", "agent", "contexts", "report")

GROWABLE = frozenset(
    {"walks.num_walks", "questions.max_questions", "agent.limit", "agent.attempts", "contexts.limit"}
)
"""Settings that may grow between runs (the stage then resumes; None = no limit, the largest);
lowering one is a change."""


def _lower(new: Any, old: Any) -> bool:
    """``new`` is a lower limit than ``old`` (None: no limit)."""
    return new is not None and (old is None or new < old)


NEUTRAL = frozenset({"agent.concurrency", "contexts.on_config_change"})
"""Settings that never change a stage's data (left out of its stamp)."""

OUTPUTS: dict[str, tuple[str, ...]] = {
    "corpus": (),  # OUT/corpus rebuilds itself when its source, input or config change
    "walks": ("walks.*",),
    "questions": ("questions.*",),
    "agent": ("trajectories.*", "agent.*"),
    "contexts": ("contexts.*", "rows.*", "heldout.*", "export.*"),
    "report": ("report",),
}
"""Glob patterns (in OUT) of each stage's outputs: what is set aside when the stage is rebuilt."""


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out if out or not prefix else {prefix[:-1]: {}}
    return {prefix[:-1]: obj}


def folder_identity(folder: Path) -> dict[str, Any]:
    """What identifies a prepared corpus folder's content: its manifest (source, input file and
    its size and mtime, config), else its page store's size and mtime."""
    manifest = folder / "manifest.json"
    if manifest.exists():
        try:
            m = json.loads(manifest.read_text(encoding="utf-8"))
            keys = ("source", "input", "input_size", "input_mtime_ns", "config_hash")
            return {k: m.get(k) for k in keys}
        except ValueError:
            pass
    store = folder / STORE_FILE
    st = store.stat() if store.exists() else None
    return {"pages_size": st.st_size if st else None, "pages_mtime_ns": st.st_mtime_ns if st else None}


def corpus_identity(cfg: Any, out: Path) -> dict[str, Any]:
    """What identifies the corpus's content: a given folder's (:func:`folder_identity`); for a
    corpus prepared under OUT, the input file's size and mtime."""
    if cfg.corpus_dir:
        return folder_identity(Path(cfg.corpus_dir))
    try:
        from longtracerl.config import resolve
        from longtracerl.corpus.loaders import LOADERS
        from longtracerl.corpus.prepare import _resolve_input, as_loader_spec

        spec = as_loader_spec(resolve(LOADERS, cfg.source, "corpus source"), cfg.source)
        inp = _resolve_input(cfg.source, spec.default_asset, cfg.input)
        st = inp.stat()
        return {"input_size": st.st_size, "input_mtime_ns": st.st_mtime_ns}
    except (ConfigError, OSError, ImportError):
        return {}  # the corpus stage reports the problem itself


def stage_settings(cfg: BaseModel, out: Path) -> dict[str, dict[str, Any]]:
    """Each stage's flattened settings: its config section; for ``corpus`` also every top-level
    field that is not a stage section (source, input, corpus_dir, ...) and the corpus identity."""
    dump = cfg.model_dump(mode="json")
    settings: dict[str, dict[str, Any]] = {s: {} for s in STAGES}
    for key, value in dump.items():
        if key == "executor":
            continue
        stage = key if key in STAGES else "corpus"
        settings[stage].update(_flatten({key: value}))
    ident = corpus_identity(cfg, out)
    settings["corpus"]["corpus content"] = _hash(ident) if ident else None
    for key, value in dump.items():  # a file named by a top-level setting (e.g. questions_from)
        if key not in STAGES and key not in ("input", "corpus_dir") and isinstance(value, str):
            path = Path(value).expanduser()
            if path.is_file():
                st = path.stat()
                settings["corpus"][f"{key} content"] = _hash([st.st_size, st.st_mtime_ns])
    for stage in STAGES:
        settings[stage] = {k: v for k, v in settings[stage].items() if k not in NEUTRAL}
    return settings


def _split(flat: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(fixed settings, growable settings) of a flat ``key: value`` mapping."""
    grow = {k: v for k, v in flat.items() if k in GROWABLE}
    return {k: v for k, v in flat.items() if k not in grow}, grow


def _stage_split(stage: str, section: BaseModel) -> tuple[dict[str, Any], dict[str, Any]]:
    """(fixed, growable) settings of one stage's config section, flattened as ``stage.key``, the
    neutral ones (:data:`NEUTRAL`) left out: what :func:`stage_settings` holds for that stage."""
    flat = _flatten({stage: section.model_dump(mode="json")})
    return _split({k: v for k, v in flat.items() if k not in NEUTRAL})


def _diff_pair(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``key: old -> new`` for each key whose value differs (``<unset>`` where one lacks it)."""
    return [
        f"{k}: {_describe(old.get(k, '<unset>'))} -> {_describe(new.get(k, '<unset>'))}"
        for k in sorted(set(old) | set(new))
        if old.get(k, "<unset>") != new.get(k, "<unset>")
    ]


def _chain_key(upstream: str, settings: dict[str, Any]) -> str:
    """A stage's key: its settings chained to the key of the stage it reads, so a change upstream
    changes every later key."""
    return _hash([upstream, settings])


def expected_stamps(cfg: BaseModel, out: Path) -> dict[str, dict[str, Any]]:
    """The stamp of every stage for ``cfg``: key (chained hash), settings and growable values."""
    stamps: dict[str, dict[str, Any]] = {}
    upstream = ""
    for stage, settings in stage_settings(cfg, out).items():
        fixed, grow = _split(settings)
        key = _chain_key(upstream, fixed)
        stamps[stage] = {"key": key, "settings": fixed, "grow": grow, "complete": False}
        upstream = key
    return stamps


def _has_outputs(out: Path, stage: str) -> list[Path]:
    return sorted(p for pat in OUTPUTS[stage] for p in out.glob(pat))


def outputs_of(out: Path, stage: str) -> list[str]:
    """The files a finished stage left in ``out`` (relative names), kept in its stamp."""
    names = [p.relative_to(out).as_posix() for p in _has_outputs(out, stage)]
    if stage == "corpus" and (out / "corpus" / "manifest.json").exists():
        names.append("corpus/manifest.json")
    return names


RETIRED = {"agent": ("progress",)}
"""Config fields that no longer exist but old ``config.yaml`` files still hold (ignored there)."""


def read_stamps(out: Path, config_cls: type[BaseModel] | None = None) -> dict[str, dict[str, Any]] | None:
    """Stamps on file; for a folder from before stamps, those of its ``config.yaml`` read as a
    ``config_cls`` (all unfinished); None when the folder has neither."""
    path = out / STAMPS_FILE
    if path.exists():
        try:
            return json.loads(path.read_text(encoding="utf-8"))["stages"]
        except (ValueError, KeyError, TypeError):
            log.warning("%s: unreadable; the folder's outputs count as made with unknown settings", path)
            return None
    old_yaml = out / "config.yaml"
    if old_yaml.exists() and config_cls is not None:
        try:  # config.yaml is a whole dump of the run config: no defaults to apply
            data = yaml.safe_load(old_yaml.read_text(encoding="utf-8"))
            for section, names in RETIRED.items():
                for name in names:
                    (data.get(section) or {}).pop(name, None)
            old = config_cls.model_validate(data)
        except (ValueError, AttributeError, yaml.YAMLError):
            return None
        return expected_stamps(old, out)
    return None


def record_alone(out: Path, stage: str, cfg: BaseModel, *, complete: bool) -> None:
    """A stage command run on its own in a ``longtracerl run`` folder (one with ``stamps.json``):
    the stage's stamp now holds the settings its outputs were made with, so a later ``run`` with
    other settings rebuilds them; when they changed, the later stages (made from the old outputs)
    are marked unfinished. A folder without ``stamps.json`` is left alone."""
    stamps = read_stamps(out) if (out / STAMPS_FILE).exists() else None
    if stamps is None or stage not in STAGES:
        return
    fixed, grow = _stage_split(stage, cfg)
    i = STAGES.index(stage)
    upstream = (stamps.get(STAGES[i - 1]) or {}).get("key", "") if i else ""
    key = _chain_key(upstream, fixed)
    changed = (stamps.get(stage) or {}).get("key") != key
    stamps[stage] = {
        "key": key,
        "settings": fixed,
        "grow": grow,
        "complete": complete,
        "outputs": outputs_of(out, stage),
    }
    for later in STAGES[i + 1 :] if changed else ():
        entry = stamps.get(later)
        if entry is not None:  # its key follows its input's; its outputs are from the old input
            entry["key"] = key = _chain_key(key, entry.get("settings", {}))
            entry["complete"] = False
    write_stamps(out, stamps)


def file_key(path: Path) -> str:
    """What a stage read from a file outside the run folder: its path and content hash."""
    return f"{Path(path).resolve()} sha256:{sha256_file(path)[:16]}"


def write_stamps(out: Path, stamps: dict[str, dict[str, Any]]) -> None:
    atomic_write_text(out / STAMPS_FILE, json.dumps({"stages": stamps}, indent=2) + "\n")


def _describe(a: Any) -> str:
    return json.dumps(a) if not isinstance(a, str) else a


@dataclass
class Plan:
    """What a run does with a folder: stages to skip, the first stage out of date and why."""

    stamps: dict[str, dict[str, Any]]
    finished: set[str] = field(default_factory=set)  # up to date and finished: skipped
    stale: list[str] = field(default_factory=list)  # out of date: set aside and rebuilt
    changes: list[str] = field(default_factory=list)  # "walks.hops: 6 -> 3"
    superseded: Path | None = None


def plan(out: Path, cfg: BaseModel, on_change: str = "rebuild") -> Plan:
    """Compare ``out``'s stamps with ``cfg``'s; set out-of-date outputs aside (``on_change=
    "rebuild"``) or raise a one-line :class:`ConfigError` naming the differences (``"error"``)."""
    want = expected_stamps(cfg, out)
    have = read_stamps(out, type(cfg)) if out.exists() else None
    result = Plan(stamps=want)
    for i, stage in enumerate(STAGES):
        old, new = (have or {}).get(stage), want[stage]
        if old is None:
            if _has_outputs(out, stage):
                result.stale = list(STAGES[i:])
                result.changes = [f"{stage}: outputs with no record of their settings"]
                break
            continue
        shrunk = [k for k, v in new["grow"].items() if k in old.get("grow", {}) and _lower(v, old["grow"][k])]
        if old.get("key") != new["key"] or shrunk:
            result.stale = list(STAGES[i:])
            result.changes = _diff(have or {}, want, result.stale) or [f"{stage}: settings changed"]
            break
        grown = any(_lower(old.get("grow", {}).get(k, v), v) for k, v in new["grow"].items())
        outputs = old.get("outputs") or []
        new["outputs"] = outputs
        # finished: and its outputs are all still there (a deleted file is made again)
        new["complete"] = bool(old.get("complete")) and not grown and all((out / f).exists() for f in outputs)
        if new["complete"]:
            result.finished.add(stage)
    result.stale = [s for s in result.stale if _has_outputs(out, s) or s in (have or {})]
    if not result.stale:
        result.changes = []
        return result
    first = result.stale[0]
    for stage in result.stale:
        result.finished.discard(stage)
    if on_change == "error":
        raise ConfigError(
            f"{out} holds data made with other settings ({'; '.join(result.changes)}): use a new --out "
            f"folder, or add --on-config-change rebuild to set the outputs of {first} and later stages "
            f"aside under {out / SUPERSEDED_DIR} and rebuild them"
        )
    result.superseded = _set_aside(out, result.stale)
    log.warning(
        "%s: %s; rebuilding %s (old outputs kept in %s)",
        out,
        "; ".join(result.changes),
        ", ".join(result.stale),
        result.superseded,
    )
    return result


def _diff(have: dict[str, Any], want: dict[str, Any], stages: list[str]) -> list[str]:
    changes = []
    for stage in stages:
        old = dict((have.get(stage) or {}).get("settings", {}), **(have.get(stage) or {}).get("grow", {}))
        changes += _diff_pair(old, dict(want[stage]["settings"], **want[stage]["grow"]))
    return changes


def _set_aside(out: Path, stages: list[str]) -> Path | None:
    moved = [(s, p) for s in stages for p in _has_outputs(out, s)]
    if not moved:
        return None
    dest = out / SUPERSEDED_DIR / time.strftime("%Y%m%d-%H%M%S")
    n = 1
    while dest.exists():
        n += 1
        dest = dest.with_name(f"{dest.name.split('.')[0]}.{n}")
    dest.mkdir(parents=True)
    for _stage, p in moved:
        os.replace(p, dest / p.name)
    stamps = out / STAMPS_FILE
    if stamps.exists():
        (dest / STAMPS_FILE).write_bytes(stamps.read_bytes())
    return dest


def write_config(out: Path, cfg: BaseModel) -> None:
    """``OUT/config.yaml``: the settings the folder's data is made with (written once checked)."""
    text = yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)
    path = out / "config.yaml"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        atomic_write_text(path, text)


# --------------------------------------------------------------------------- stages run alone


def guard_stage(
    run: Path, stage: str, cfg: BaseModel, corpus: str | os.PathLike | None, upstream: str | None
) -> str:
    """A stage command run on a folder on its own: ``RUN/<stage>.stamp.json`` records the stage's
    settings, the corpus and the upstream stage's key; a folder whose outputs were made with
    others is refused in one line (which setting differs, what to do). Returns the stage's key.

    ``upstream``: the key of what the stage reads (e.g. the walks config hash); None when unknown.
    Growable settings (:data:`GROWABLE`) may be raised: the stage then continues.
    """
    settings, grow = _stage_split(stage, cfg)
    if corpus is not None:
        settings["corpus content"] = _hash(folder_identity(Path(corpus)))
    settings["input"] = upstream
    key = _hash(settings)
    path = run / f"{stage}.stamp.json"
    old: dict[str, Any] = {}
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            old = {}
    lowered = [k for k, v in grow.items() if k in old.get("grow", {}) and _lower(v, old["grow"][k])]
    outputs = [p for p in _has_outputs(run, stage) if p != path]
    if old and (old.get("key") != key or lowered) and outputs:
        diffs = _diff_pair(dict(old.get("settings", {}), **old.get("grow", {})), dict(settings, **grow))
        why = "; ".join(
            d if not d.startswith("input:") else "its input (an earlier stage) changed" for d in diffs
        )
        raise ConfigError(
            f"{run}: the {stage} outputs there were made with another {stage} config or input ({why}): use a new run "
            f"folder, or move {run}/{stage}.* away to rebuild them"
        )
    if old.get("key") != key or old.get("grow") != grow:
        atomic_write_text(path, json.dumps({"key": key, "settings": settings, "grow": grow}, indent=2) + "\n")
    return key


def stage_key(run: Path, stage: str) -> str | None:
    """The key of an earlier stage's outputs in ``run`` (for :func:`guard_stage`'s ``upstream``):
    its stamp, or for walks the walk config hash of ``walks.state.json``; None when unknown."""
    path = run / ("walks.state.json" if stage == "walks" else f"{stage}.stamp.json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("config_hash" if stage == "walks" else "key")
    return value if isinstance(value, str) else None


# --------------------------------------------------------------------------- the funnel

HINTS = {
    "budget_too_small": "raise --target-tokens (contexts.target_tokens)",
    "no_correct_attempt": "more agent.attempts, or another agent policy",
    "hop_findable_alone": "another questions.composer, or longer walks (walks.hops)",
}
"""What to try when every item of a stage is dropped for this reason."""


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a torn last line: the stage repairs it on resume
    return out


def _reasons(out: Path, stage: str, done: set[str] | None = None) -> dict[str, int]:
    """Drop reasons of a stage: its rejected file, plus its errors still unresolved."""
    counts: dict[str, int] = {}
    for rec in _lines(out / f"{stage}.rejected.jsonl"):
        counts[rec.get("reason", "?")] = counts.get(rec.get("reason", "?"), 0) + 1
    failed = {rec.get("item_id") for rec in _lines(out / f"{stage}.errors.jsonl")} - (done or set())
    if failed:
        counts["error"] = counts.get("error", 0) + len(failed)
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def _summary(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def funnel(out: Path) -> list[dict[str, Any]]:
    """What each stage of the folder kept and dropped (with reasons), in chain order:
    walks -> questions -> solved -> contexts -> rows + held out. Stages not run yet are left out."""
    steps: list[dict[str, Any]] = []
    if (out / "walks.state.json").exists():
        # rejected segments are the walker's search, not walks lost: listed only when none is kept
        kept = len(_lines(out / "walks.jsonl"))
        steps.append({"stage": "walks", "kept": kept, "dropped": {} if kept else _reasons(out, "walks")})
    questions = _lines(out / "questions.jsonl")
    if questions or (out / "questions.rejected.jsonl").exists():
        done = {q.get("walk_id") for q in questions}
        steps.append(
            {"stage": "questions", "kept": len(questions), "dropped": _reasons(out, "questions", done)}
        )
    agent = _summary(out / "agent.summary.json")
    if agent:
        steps.append({"stage": "solved", "kept": agent.get("kept", 0), "dropped": _reasons(out, "agent")})
        if agent.get("incomplete"):
            steps[-1]["dropped"]["not finished"] = agent["incomplete"]
    contexts = _summary(out / "contexts.summary.json")
    if contexts:
        dropped = {k: v for k, v in (contexts.get("rejected") or {}).items() if k != "no_correct_trajectory"}
        steps.append({"stage": "contexts", "kept": contexts.get("contexts", 0), "dropped": dropped})
    export = _summary(out / "export.summary.json")
    if export:
        steps.append({"stage": "rows", "kept": export.get("rows", 0), "heldout": export.get("heldout", 0)})
    return steps


def format_funnel(steps: list[dict[str, Any]]) -> str:
    """``12 walks -> 9 questions (3 dropped: hop_findable_alone 3) -> ...`` (one line)."""
    parts = []
    for s in steps:
        if s["stage"] == "rows":
            parts.append(f"{s['kept']} rows + {s.get('heldout', 0)} held out")
            continue
        text = f"{s['kept']} {s['stage']}"
        dropped = s.get("dropped") or {}
        if dropped:
            why = ", ".join(f"{k} {v}" for k, v in dropped.items())
            text += f" ({sum(dropped.values())} dropped: {why})"
        parts.append(text)
    return " -> ".join(parts)


class NothingLeft(ConfigError):
    """A stage kept no item: the chain cannot go on; the message says why and where to look."""


def _why_empty(out: Path, stage: str, dropped: dict[str, int]) -> str:
    why = ", ".join(f"{k} {v}" for k, v in dropped.items()) or "no input items"
    where = [str(p) for p in (out / f"{stage}.rejected.jsonl", out / f"{stage}.errors.jsonl") if p.exists()]
    hint = next((HINTS[k] for k in dropped if k in HINTS), None)
    msg = f"every item was dropped ({why})"
    if where:
        msg += f"; reasons in {' and '.join(where)}"
    return msg + (f"; try: {hint}" if hint else "")


def check_not_empty(out: Path, stage: str) -> None:
    """Raise :class:`NothingLeft` when ``stage`` (walks, questions, agent, contexts) kept nothing,
    naming the reasons and the file that lists them."""
    name = {"agent": "solved"}.get(stage, stage)
    step = next((s for s in funnel(out) if s["stage"] == name), None)
    if step is None or step["kept"]:
        return
    raise NothingLeft(f"{stage}: no item kept: {_why_empty(out, stage, step.get('dropped') or {})}")


def missing_input(path: Path, first: str) -> str:
    """The message for a stage input that is not there: when the stage that writes it ran and
    dropped every item, say so (reasons and where they are); else ``missing (run FIRST first)``."""
    stage = {"trajectories": "agent"}.get(path.stem, path.stem)
    rejected = path.parent / f"{stage}.rejected.jsonl"
    if rejected.exists() or (path.parent / f"{stage}.errors.jsonl").exists():
        return f"{path}: none written: {_why_empty(path.parent, stage, _reasons(path.parent, stage))}"
    return f"{path}: missing (run `{first}` first)"
