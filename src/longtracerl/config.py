"""Stage configs: frozen pydantic models loaded from YAML plus ``key=value`` overrides.

Each stage defines its own config class (a subclass of :class:`StageConfig`) next to its code;
this module holds the shared machinery: loading, unknown-key errors with a suggestion,
cross-field errors that name the field, a stable config hash for provenance, and the
name registries used where names enter from the CLI or YAML.

Example:
    >>> class WalkCfg(StageConfig):
    ...     hops: int = Field(default=8, description="Steps per segment.")
    >>> load_config(WalkCfg, overrides=["hops=4"]).hops
    4
    >>> load_config(WalkCfg, overrides=["hosp=4"])
    Traceback (most recent call last):
    ...
    longtracerl.config.ConfigError: command line: unknown key 'hosp' (did you mean 'hops'?)
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "ConfigError",
    "StageConfig",
    "Field",
    "PosInt",
    "NonNegInt",
    "PosFloat",
    "NonNegFloat",
    "UnitFloat",
    "PosUnitFloat",
    "load_config",
    "config_hash",
    "resolve",
    "build",
    "parse_overrides",
]


class ConfigError(ValueError):
    """A config could not be loaded; the message names the source, the key and the fix."""


class StageConfig(BaseModel):
    """Base of every stage config: frozen, unknown keys rejected, every field documented.

    A field's description is the docstring under it (``use_attribute_docstrings``): it reaches
    ``model_fields[name].description`` like ``Field(description=...)`` would.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


# the bounds that stage config fields share (a field with other bounds says them in its Field)
PosInt = Annotated[int, Field(ge=1)]
"""A count of at least 1."""
NonNegInt = Annotated[int, Field(ge=0)]
"""A count that may be 0."""
PosFloat = Annotated[float, Field(gt=0)]
"""A float above 0 (a time, a rate)."""
NonNegFloat = Annotated[float, Field(ge=0)]
"""A float of 0 or more."""
UnitFloat = Annotated[float, Field(ge=0.0, le=1.0)]
"""A share from 0 to 1."""
PosUnitFloat = Annotated[float, Field(gt=0.0, le=1.0)]
"""A share above 0, up to 1."""


C = TypeVar("C", bound=StageConfig)


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = tree
    for k in keys[:-1]:
        node = node.setdefault(k, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{OVERRIDES_SOURCE}: '{dotted}' goes through '{k}', which is not a mapping")
    node[keys[-1]] = value


def parse_overrides(overrides: Sequence[str], values: Iterable[tuple[str, Any]] = ()) -> dict[str, Any]:
    """Turn ``["a.b=3", "name=x"]`` into a nested dict; values are parsed as YAML scalars. ``values``
    (dotted key, value already typed: what a command-line flag gave) are set after them and win."""
    tree: dict[str, Any] = {}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"{OVERRIDES_SOURCE}: '{item}' is not of the form key=value")
        key, raw = item.split("=", 1)
        key = key.strip()
        if not key:
            raise ConfigError(f"{OVERRIDES_SOURCE}: '{item}' has an empty key")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        _set_dotted(tree, key, value)
    for key, value in values:
        _set_dotted(tree, key, value)
    return tree


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _nested_keys(cls: type[BaseModel], prefix: str = "") -> list[str]:
    """Every dotted key of a config, nested sections included (``walks.hops``)."""
    out = []
    for name, f in cls.model_fields.items():
        out.append(prefix + name)
        ann = f.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += _nested_keys(ann, f"{prefix}{name}.")
    return out


def _suggest(cls: type[BaseModel], key: str) -> str | None:
    """The key meant by a misspelt or unqualified ``key``: a close field name at this level, else
    a nested field of that name or close to it (``hops`` -> ``walks.hops``)."""
    fields = list(cls.model_fields)
    nested = [k for k in _nested_keys(cls) if "." in k]
    exact = [k for k in nested if k.rsplit(".", 1)[1] == key]
    if exact:
        return exact[0]
    close = difflib.get_close_matches(key, fields, n=1, cutoff=0.75)
    if close:
        return close[0]
    leaf = difflib.get_close_matches(key, [k.rsplit(".", 1)[1] for k in nested], n=1, cutoff=0.75)
    if leaf:
        return next(k for k in nested if k.rsplit(".", 1)[1] == leaf[0])
    close = difflib.get_close_matches(key, fields, n=1)
    return close[0] if close else None


def _check_keys(cls: type[BaseModel], data: Mapping[str, Any], source: str, prefix: str = "") -> None:
    fields = cls.model_fields
    for key, value in data.items():
        if key not in fields:
            close = _suggest(cls, key)
            hint = f" (did you mean '{prefix}{close}'?)" if close else f" (valid keys: {', '.join(fields)})"
            raise ConfigError(f"{source}: unknown key '{prefix}{key}'{hint}")
        ann = fields[key].annotation
        if isinstance(value, Mapping) and isinstance(ann, type) and issubclass(ann, BaseModel):
            _check_keys(ann, value, source, prefix=f"{prefix}{key}.")


def load_config(
    cls: type[C],
    path: str | os.PathLike | None = None,
    overrides: Sequence[str] | Mapping[str, Any] = (),
    *,
    section: str | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> C:
    """Load ``cls`` from an optional YAML file and overrides. With ``section``, a file that has a
    ``section:`` key (a whole-pipeline config) gives that mapping, any other file is read whole.

    Precedence: ``defaults`` (a nested dict that changes the class defaults for one use, e.g.
    the ``run`` command's corpus-specific defaults) < the YAML file < the overrides.
    """
    data: dict[str, Any] = {}
    source = "<defaults>"
    if path is not None:
        source = str(path)
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f":{mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"{path}{where}: not valid YAML ({getattr(err, 'problem', err)})") from None
        loaded = loaded or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
        whole = section is None or section not in loaded
        if not whole:
            loaded = loaded[section] or {}
            source = f"{path} [{section}]"
            if not isinstance(loaded, dict):
                raise ConfigError(f"{source}: expected a mapping")
        try:
            _check_keys(cls, loaded, source)
        except ConfigError as err:
            sections = [k for k, v in loaded.items() if k not in cls.model_fields and isinstance(v, dict)]
            if section is None or not whole or not sections:
                raise
            # a file of sections (a whole-pipeline config) without this command's one
            raise ConfigError(f"{err}; the file has no '{section}:' section") from None
        data = loaded
    over = dict(overrides) if isinstance(overrides, Mapping) else parse_overrides(overrides)
    _check_keys(cls, over, OVERRIDES_SOURCE)
    if defaults:
        _check_keys(cls, defaults, "<defaults>")
        data = _merge(dict(defaults), data)
    data = _merge(data, over)
    try:
        return cls.model_validate(data)
    except ValidationError as err:
        e = err.errors()[0]
        loc = ".".join(str(x) for x in e.get("loc", ()))
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        where = tuple(e.get("loc", ()))
        if _holds(over, where) or (not where and over and path is None):
            source = OVERRIDES_SOURCE  # defaults are valid: a cross-field error comes from what was set
        elif not where and over:
            source = f"{source} + {OVERRIDES_SOURCE}"
        if not loc:  # a cross-field check: its message names the fields itself
            raise ConfigError(f"{source}: {msg}") from None
        raise ConfigError(f"{source}: field '{loc}': {msg} (got {e.get('input')!r})") from None


OVERRIDES_SOURCE = "command line"
"""How errors in ``--set`` (and the flags that stand for a field) name their source."""


def _holds(tree: Mapping[str, Any], loc: Sequence[Any]) -> bool:
    """Whether the nested dict sets the value at ``loc`` (a pydantic error location)."""
    node: Any = tree
    for part in loc:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return bool(loc)


def short_hash(obj: Any) -> str:
    """A short stable hash of JSON-like data (keys sorted; other objects by ``str``)."""
    blob = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]


def config_hash(cfg: BaseModel) -> str:
    """A short stable hash of a config, written into every record's provenance."""
    return short_hash(cfg.model_dump(mode="json"))


def resolve(registry: Mapping[str, Any], name: str, kind: str) -> Any:
    """Look up ``name`` in a registry; ``module:attr`` imports a user object instead.

    Registry values may be objects or ``"module:attr"`` strings (imported lazily).
    """
    target: Any
    if name in registry:
        target = registry[name]
    elif ":" in name:
        target = name
    else:
        close = difflib.get_close_matches(name, list(registry), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ConfigError(
            f"unknown {kind} '{name}'. Valid: {', '.join(sorted(registry))}, or module:attr.{hint}"
        )
    if isinstance(target, str):
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
            return getattr(module, attr)
        except (ImportError, AttributeError) as err:
            raise ConfigError(f"{kind} '{name}': cannot import '{target}': {err}") from None
    return target


def build(registry: Mapping[str, Any], name: str, kind: str, method: str, *args: Any) -> Any:
    """The object the factory named ``name`` (see :func:`resolve`) makes from ``args``; it must have
    a ``method()``, so that a ``module:attr`` factory giving something else fails here, by name."""
    obj = resolve(registry, name, kind)(*args)
    if not callable(getattr(obj, method, None)):
        raise ConfigError(f"{kind} '{name}' did not give an object with a {method}() method")
    return obj


Factory = Callable[..., Any]
