"""The command-line flags every stage command shares, and how they become a stage's config.

Stage CLI modules (``<stage>/cli.py``) and :mod:`longtracerl.cli` import this module; it imports
no stage. The flag names are the same on every stage command: ``--corpus DIR``, ``--run RUN``,
``--no-progress``, ``--config FILE``, ``--set KEY=VALUE`` and the executor flags. See
docs/contributing.md#a-data-stage.
"""

from __future__ import annotations

import argparse
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel

from longtracerl.config import ConfigError

C = TypeVar("C", bound=BaseModel)


def add_config_args(parser: argparse.ArgumentParser, example: str | None = None) -> None:
    """The two config flags every stage takes: a YAML file and ``--set key=value`` overrides
    (``example``: a ``--set`` that works for this command, shown in its help)."""
    parser.add_argument("--config", metavar="FILE", help="YAML config file (see configs/).")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Override one config field (repeatable; a dotted KEY reaches a nested one)"
        + (f", e.g. --set {example}." if example else "."),
    )


def field_flag(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    flag: str,
    model: type[BaseModel],
    field: str,
    *,
    shown_default: str | None = None,
    **kwargs: Any,
) -> argparse.Action:
    """Add ``flag`` standing for the config field ``field`` of ``model`` (dotted to reach a nested
    section, e.g. ``export.format``): its dest is the field's name, its help the field's description
    (the attribute docstring, the one source of both) followed by its default, its type or choices
    from the field's annotation (a bool field is a ``store_true`` switch). The flag defaults to None, so
    :func:`stage_config` applies it only when given and the config's own default stands otherwise.
    ``shown_default`` replaces the default named in the help ("" names none), ``help`` the
    description; ``kwargs`` override any other :meth:`~argparse.ArgumentParser.add_argument`
    argument (``dest``, ``metavar``, ``choices``...)."""
    info = _field_info(model, field)
    description = kwargs.pop("help", info.description)
    kind, choices = _flag_type(info.annotation)
    if shown_default is None:
        default = info.get_default(call_default_factory=True)
        shown_default = "" if default is None or default is False else _show(default)
    help_ = " ".join((description or "").split()).replace("%", "%%")
    if shown_default:
        help_ = f"{help_} Default: {shown_default}."
    spec: dict[str, Any] = {"dest": field.rsplit(".", 1)[-1], "default": None, "help": help_}
    if kind is bool:
        if info.get_default(call_default_factory=True) is True and "action" not in kwargs:
            raise TypeError(f"{flag}: {field} defaults to True, a store_true switch could not turn it off")
        spec["action"] = "store_true"
    elif choices:
        spec["choices"] = choices
    elif kind is not str:
        spec["type"] = kind
    return parser.add_argument(flag, **{**spec, **kwargs})


def field_flags(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    model: type[BaseModel],
    fields: Mapping[str, str],
    *,
    metavars: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> None:
    """One :func:`field_flag` per item of ``fields`` (flag -> dotted field of ``model``), in order;
    ``metavars`` (field -> metavar) names some fields' values, ``kwargs`` go to every flag."""
    for flag, field in fields.items():
        extra = {"metavar": metavars[field]} if metavars and field in metavars else {}
        field_flag(parser, flag, model, field, **extra, **kwargs)


def field_overrides(
    args: argparse.Namespace,
    flags: Mapping[str, str] | Iterable[str],
    extra: Iterable[tuple[str, Any]] = (),
) -> dict[str, Any]:
    """The override tree of ``--set``, then the flags given (``flags`` as in :func:`stage_config`)
    and the ``extra`` (dotted key, value) pairs, which win; the flags' values keep their parsed types."""
    from longtracerl.config import parse_overrides

    return parse_overrides(args.overrides, [*_given(args, flags), *extra])


def _given(args: argparse.Namespace, flags: Mapping[str, str] | Iterable[str]) -> list[tuple[str, Any]]:
    """(dotted field, value) of the flags given: ``flags`` maps flag dest -> dotted field, or lists
    the dotted fields of flags added by :func:`field_flag` (dest: the field's own name)."""
    if not isinstance(flags, Mapping):
        flags = {field.rsplit(".", 1)[-1]: field for field in flags}
    return [
        (field, getattr(args, dest)) for dest, field in flags.items() if getattr(args, dest, None) is not None
    ]


def _field_info(model: type[BaseModel], field: str) -> Any:
    """The pydantic FieldInfo of a (dotted) field."""
    *sections, name = field.split(".")
    for section in sections:
        model = model.model_fields[section].annotation  # type: ignore[assignment]
    if name not in model.model_fields:
        raise KeyError(f"{model.__name__} has no field {name!r}")
    return model.model_fields[name]


def _flag_type(annotation: Any) -> tuple[type, list[Any] | None]:
    """The scalar type a flag parses to (and the choices of a Literal) from a field annotation."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _flag_type(get_args(annotation)[0])
    if origin is list:
        raise TypeError(f"no flag type for a field of type {annotation}: give type= or nargs=")
    if origin is Literal:
        values = list(get_args(annotation))
        return type(values[0]), values
    if origin in (Union, types.UnionType):
        scalar = [a for a in get_args(annotation) if a is not type(None) and get_origin(a) is not list]
        if not scalar:
            raise TypeError(f"no flag type for a field of type {annotation}: give type= or nargs=")
        return _flag_type(scalar[0])
    return (annotation if annotation in (bool, int, float) else str), None


def _show(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def add_executor_args(parser: argparse.ArgumentParser) -> None:
    """``--executor``, ``--workers`` and ``--ray-address``: where a stage's items run."""
    g = parser.add_argument_group("where the items run (see docs/executors.md)")
    g.add_argument(
        "--executor",
        choices=["local", "ray"],
        help="local (default: in this process, or --workers N processes) or ray (a cluster given by "
        "--ray-address, else a local Ray instance). Same outputs either way.",
    )
    g.add_argument(
        "--workers", type=int, help="Workers: local 1 = in-process, N = processes; 0 = one per CPU."
    )
    g.add_argument(
        "--ray-address", help="Ray cluster to join: auto, HOST:PORT or ray://HOST:PORT (implies ray)."
    )


def command_group(
    subparsers: argparse._SubParsersAction, name: str, help: str, description: str | None = None
) -> argparse._SubParsersAction:
    """A command made of actions (``longtracerl NAME ACTION ...``); its subparsers are returned for
    the actions. Without an action it prints its help and exits with status 2."""
    parser = subparsers.add_parser(name, help=help, description=description)
    parser.set_defaults(func=lambda _args: (parser.print_help(), 2)[1])
    return parser.add_subparsers(dest=f"{name}_command", metavar="ACTION")


def stage_parser(
    subparsers: argparse._SubParsersAction,
    name: str,
    doc: str | None,
    *,
    run: str = "Run folder (required).",
    corpus: str | None = "Corpus folder (required).",
    example: str | None = None,
    executor: bool = True,
    config: type[BaseModel] | None = None,
    fields: Mapping[str, str] | None = None,
) -> argparse.ArgumentParser:
    """The parser of a stage command, its help from ``doc`` (the command module's docstring: the
    first line, after ``"``longtracerl NAME``: "``, is the one-line help; the rest the description),
    with the shared flags: ``--corpus DIR`` (unless ``corpus`` is None), ``--run RUN`` (``--out``
    is its hidden old spelling), ``--no-progress``, the config flags, (``executor``) the
    executor flags and the flags that stand for a field of the stage's ``config`` (``fields``:
    flag -> field, added by :func:`field_flag`). ``--corpus`` and ``--run`` are checked by
    :func:`require`, so a subcommand of the stage command may leave them out."""
    first, _, rest = (doc or "").strip().partition("\n")
    summary = first.split(": ", 1)[-1].rstrip(".")
    parser = subparsers.add_parser(
        name,
        help=summary[:1].upper() + summary[1:],
        description=" ".join(rest.split()) or None,
    )
    if corpus is not None:
        parser.add_argument("--corpus", metavar="DIR", help=corpus)
    parser.add_argument("--run", metavar="RUN", help=run)
    parser.add_argument("--out", dest="run", metavar="RUN", help=argparse.SUPPRESS)
    parser.add_argument("--no-progress", dest="no_progress", action="store_true", help="No progress bar.")
    add_config_args(parser, example)
    if executor:
        add_executor_args(parser)
    if fields:
        if config is None:
            raise TypeError("stage_parser: fields need their config class (config=)")
        field_flags(parser, config, fields)
    return parser


def require(args: argparse.Namespace, *flags: str) -> None:
    """Stop with argparse's wording when a required flag (added by :func:`stage_parser`) is missing."""
    for flag in flags:
        if getattr(args, flag, None) is None:
            raise SystemExit(
                f"longtracerl {args.command}: error: the following argument is required: --{flag}"
            )


def stage_config(
    cls: type[C],
    args: argparse.Namespace,
    flags: Mapping[str, str] | Iterable[str],
    section: str,
    **set_: Any,
) -> C:
    """A stage's config from ``--config`` (its ``section`` of a whole-pipeline file, or the whole
    file), ``--set`` and the flags that stand for a field (``flags``: flag dest -> dotted field, or
    the dotted fields of flags added by :func:`field_flag`; ``set_``: more fields), the flags winning."""
    from longtracerl.config import load_config, parse_overrides

    overrides = parse_overrides(args.overrides, [*_given(args, flags), *set_.items()])
    return load_config(cls, args.config, overrides, section=section)


def run_stage_command(
    args: argparse.Namespace,
    cls: type[C],
    flags: Mapping[str, str] | Iterable[str],
    entry: Callable[..., Any],
    *,
    set_: Mapping[str, Any] | None = None,
    **options: Any,
) -> tuple[C, Any]:
    """What every data stage command does: check ``--corpus`` and ``--run``, load the stage's
    config (:func:`stage_config`, section = the command's name), open the executor the flags ask
    for and call the stage's entry function ``entry(cfg, corpus, run, progress=, executor=,
    **options)``. Returns the config and what the entry function returned."""
    from contextlib import closing

    require(args, "corpus", "run")
    cfg = stage_config(cls, args, flags, args.command, **(set_ or {}))
    with closing(executor_from_args(args)) as executor:
        return cfg, entry(
            cfg, args.corpus, args.run, progress=not args.no_progress, executor=executor, **options
        )


def executor_overrides(args: argparse.Namespace, prefix: str = "") -> list[tuple[str, Any]]:
    """The executor flags as (dotted key, value) overrides of an
    :class:`~longtracerl.executor.ExecutorConfig` (``prefix``: its place in a larger config)."""
    out: list[tuple[str, Any]] = []
    if args.executor:
        out.append((f"{prefix}kind", args.executor))
    if args.ray_address:
        if args.executor == "local":
            raise ConfigError("--ray-address needs --executor ray")
        out += [(f"{prefix}kind", "ray"), (f"{prefix}ray_address", args.ray_address)]
    if args.workers is not None:
        out.append((f"{prefix}workers", args.workers))
    return out


def executor_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~longtracerl.executor.Executor` the stage flags ask for (close it when done)."""
    from longtracerl.config import load_config, parse_overrides
    from longtracerl.executor import ExecutorConfig, make_executor

    return make_executor(load_config(ExecutorConfig, None, parse_overrides([], executor_overrides(args))))
