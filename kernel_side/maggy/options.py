"""``LagomOptions``: every option of ``experiment.lagom``, defined once.

``lagom(...)`` and ``lagom_async(...)`` take exactly the fields of :class:`LagomOptions` as
arguments (their signature is this class's), ``experiment.run(options)`` runs a built one, and the
``%%lagom`` magic generates its flags from the fields and builds the same object. A new option is
one field here: its default, and its :class:`Option` (help line, group, check, how a command line
spells it); ``lagom``, ``lagom_async``, the magic and their help follow.

Each option's own check runs when the object is built: ``LagomOptions(...)`` raises ValueError
(TypeError for a map_fun or listener that cannot be called) naming the argument and saying what to
change, and keeps the normalised value (``direction='MAX'`` -> ``'max'``, ``hb_interval=1`` ->
``1.0``). Checks that need several options or build objects (the searchspace against the training
function, the optimizer, the early-stopping policy, the backend) run when ``lagom`` prepares the
experiment, still before any worker starts.
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import KW_ONLY, dataclass, field
from typing import TYPE_CHECKING, Any

from maggy.core import validation as check

if TYPE_CHECKING:
    from maggy.core.events import Event
    from maggy.store import ExperimentStore

__all__ = [
    "GROUPS",
    "LagomOptions",
    "Option",
    "default_text",
    "describe_options",
    "option_info",
    "with_options_described",
]


@dataclass(frozen=True)
class Option:
    """How one option is described and checked: the metadata of a :class:`LagomOptions` field.

    ``help``: one line, shown by ``help(lagom)`` and ``%%lagom?``; the default is added to it.
    ``group``: the heading it is listed under (one of :data:`GROUPS`). ``check(name, value)``:
    returns the value to keep, raises ValueError/TypeError saying what to change; None: any value
    (checked when lagom prepares the experiment, if at all).
    ``text``: how a command line spells it: ``int``, ``float`` or ``str`` convert the text, ``bool``
    is an on/off switch, None means an object (the magic takes a built-in name or a variable).
    ``metavar`` and ``choices``: for the command line's help and parsing.
    """

    help: str
    group: str = "experiment"
    check: Callable[[str, Any], Any] | None = None
    text: Callable[[str], Any] | None = None
    metavar: str | None = None
    choices: tuple[str, ...] | None = None


_INFO = "maggy"  # the key of the Option in a field's metadata


def _meta(**info: Any) -> dict[str, Option]:
    return {_INFO: Option(**info)}


def _option(default: Any, **info: Any) -> Any:
    return field(default=default, metadata=_meta(**info))


def _seconds(infinite: str) -> Callable[[str, Any], float]:
    return lambda name, value: check.check_positive_number(name, value, infinite=infinite)


def _optional(check_value: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    return lambda name, value: None if value is None else check_value(name, value)


_EARLY_STOPPING = "early stopping"
_CONTINUING = "continuing"
_WORKERS = "workers"
#: The headings options are listed under, in this order.
GROUPS = ("experiment", _EARLY_STOPPING, _CONTINUING, _WORKERS)


@dataclass(frozen=True)
class LagomOptions:
    """The options of one experiment: ``lagom``'s arguments, checked (see the module docstring).

    The first fourteen are the Maggy API's, in its order and with its defaults; the rest are
    keyword-only extras. Frozen: ``dataclasses.replace(options, num_trials=50)`` makes a changed
    copy (checked again).
    """

    map_fun: Callable[..., Any] = field(  # no default: required (a plain field() tells type checkers so)
        metadata=_meta(
            help="the training function: takes its hyperparameters by name (plus reporter, and budget "
            "where the optimizer grants one) and returns a number or {'metric': number, ...}",
            check=lambda name, value: check.check_callable(value),
            metavar="FUNC",
        )
    )
    name: str = _option("no-name", help="experiment name", check=check.check_text, text=str)
    experiment_type: str = _option(
        "optimization",
        help="'optimization', or 'ablation', which takes ablation_study and ablator instead of a searchspace",
        check=lambda name, value: check.check_experiment_type(value),
        text=str,
        choices=check.EXPERIMENT_TYPES,
    )
    hb_interval: float = _option(
        1,
        help="seconds between a worker's heartbeats, which carry its metrics and stop requests",
        group=_WORKERS,
        check=lambda name, value: check.check_hb_interval(value),
        text=float,
        metavar="SECONDS",
    )
    num_trials: int = _option(1, help="trials to run", check=check.check_positive_int, text=int, metavar="N")
    searchspace: Any = _option(
        None, help="the Searchspace (or a dict of its to_dict()); required for an optimization"
    )
    optimizer: Any = _option(
        None,
        help="'randomsearch' (the default), 'gridsearch', 'tpe', 'gp', 'asha', 'hyperband', or an optimizer object",
    )
    direction: str = _option(
        "max",
        help="'max' maximises the metric, 'min' minimises it",
        check=lambda name, value: check.check_direction(value),
        text=str,
        choices=check.DIRECTIONS,
    )
    ablation_study: Any = _option(None, help="the AblationStudy of an ablation experiment")
    ablator: Any = _option(None, help="an ablation's ablator: 'loco' (the default) or an ablator object")
    es_policy: Any = _option(
        "median",
        help="early-stopping rule: 'median', 'percentile', 'none', or a policy object",
        group=_EARLY_STOPPING,
    )
    es_interval: float = _option(
        300,
        help="seconds between two early-stopping checks",
        group=_EARLY_STOPPING,
        check=_seconds("; to turn early stopping off pass es_policy='none'"),
        text=float,
        metavar="SECONDS",
    )
    es_min: int = _option(
        10,
        help="trials that must have ended before early stopping starts",
        group=_EARLY_STOPPING,
        check=check.check_non_negative_int,
        text=int,
        metavar="N",
    )
    description: str = _option(
        "", help="a longer description of the experiment", check=check.check_text, text=str
    )
    _: KW_ONLY
    resume: str | None = _option(
        None,
        help="an experiment id (or unique prefix) to continue under the same id: its trials are kept and "
        "taught to the optimizer, its LOST and interrupted ones run again, until it has num_trials "
        "(at least as many as it asked for before); searchspace and optimizer default to its own",
        group=_CONTINUING,
        check=check.check_experiment_ref,
        text=str,
        metavar="ID",
    )
    warm_start: tuple[str, ...] = _option(
        (),
        help="experiment ids whose ended trials teach the optimizer before it suggests anything "
        "(not re-run, not counted)",
        group=_CONTINUING,
        check=check.check_experiment_refs,
        text=str,
        metavar="ID[,ID...]",
    )
    initial_configs: tuple[dict[str, Any], ...] = _option(
        (),
        help="params dicts to run first, in order, before the optimizer's suggestions (each counts "
        "towards num_trials)",
        group=_CONTINUING,
        check=check.check_initial_configs,
    )
    num_workers: int | None = _option(
        None,
        help="workers to start (default: min(num_trials, CPUs); on Spark min(num_trials, task slots))",
        group=_WORKERS,
        text=int,
        metavar="N",
    )
    trial_timeout: float | None = _option(
        None,
        help="seconds; a trial running longer is killed and ends ERROR (default: no limit)",
        group=_WORKERS,
        check=_optional(_seconds("; for no time limit pass trial_timeout=None")),
        text=float,
        metavar="SECONDS",
    )
    max_retries: int = _option(
        1,
        help="re-runs of a trial whose worker died, which ends LOST",
        group=_WORKERS,
        check=check.check_non_negative_int,
        text=int,
        metavar="N",
    )
    seed: Any = _option(
        None, help="seed of the optimizer (int or numpy Generator): same seed, same suggestions", text=int
    )
    backend: Any = _option(
        None,
        help="'local' processes, 'spark', a SparkSession or a backend object "
        "(default: Spark when a SparkSession is active, else local)",
        group=_WORKERS,
    )
    store: ExperimentStore | str | None = _option(
        None,
        help="an ExperimentStore or a file path (default: $MAGGY_HOME/experiments.db, else ~/.maggy/experiments.db)",
        group=_WORKERS,
        text=str,
        metavar="PATH",
    )
    progress: bool | None = _option(
        None,
        help="a progress bar in the terminal (default: on, unless a notebook view shows the experiment)",
        group=_WORKERS,
        text=bool,
    )
    listeners: Iterable[Callable[[Event], None]] = _option(
        (),
        help="callables receiving every driver event (maggy.core.events), on the driver's thread",
        group=_WORKERS,
        check=check.check_listeners,
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            option_check = option_info(f).check
            if option_check is not None:
                object.__setattr__(self, f.name, option_check(f.name, getattr(self, f.name)))


def option_info(f: dataclasses.Field[Any]) -> Option:
    """The :class:`Option` of a field of :class:`LagomOptions`."""
    info: Option = f.metadata[_INFO]
    return info


def default_text(f: dataclasses.Field[Any]) -> str:
    """`` (default X)``; '' for no default, or one that is None or empty (the help says what it means)."""
    if f.default is dataclasses.MISSING or f.default in (None, (), ""):
        return ""
    return f" (default {f.default!r})"


def describe_options(indent: str = "    ") -> str:
    """Every option, one paragraph each, under its group's heading, each line starting with
    ``indent``: appended to the docstrings of ``LagomOptions``, ``lagom`` and ``lagom_async``."""
    lines = []
    for group in GROUPS:
        lines.append(f"{indent}{group.capitalize()}:")
        for f in dataclasses.fields(LagomOptions):
            if option_info(f).group == group:
                text = f"``{f.name}``: {option_info(f).help}{default_text(f)}."
                lines += textwrap.wrap(text, 100, initial_indent=indent * 2, subsequent_indent=indent * 3)
    return "\n".join(lines)


def with_options_described(doc: str | None) -> str | None:
    """``doc`` (a docstring indented by four spaces) followed by :func:`describe_options`."""
    return None if doc is None else doc.rstrip() + "\n\n" + describe_options() + "\n"  # None: python -OO


LagomOptions.__doc__ = with_options_described(LagomOptions.__doc__)
