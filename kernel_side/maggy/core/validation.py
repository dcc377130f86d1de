"""Checks of ``lagom``'s arguments, run before any worker starts.

Every error is a ValueError (TypeError for a map_fun that is not a plain training function, or a
listener that is not callable) whose message names the argument and says what to change. Each
option's own check is named next to its field in ``maggy.options``; the checks that combine
several options are called by ``maggy.experiment``.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

from maggy.optimizer.base import BUDGET_ARG, AbstractOptimizer
from maggy.searchspace import Searchspace
from maggy.worker.invoke import REPORTER_ARG, accepted_arguments

EXPERIMENT_TYPES = ("optimization", "ablation")
DIRECTIONS = ("max", "min")


#: Heartbeat interval bounds (seconds). Above a minute the live view updates once a minute, a
#: stopped trial gets 3 beats to notice and a dead worker is noticed only after 5 beats (5 min),
#: and huge values crash the heartbeat thread (a wait beyond threading.TIMEOUT_MAX). Below 10 ms
#: each worker would send over 100 authenticated round trips a second to the driver for nothing.
HB_INTERVAL_MIN = 0.01
HB_INTERVAL_MAX = 60.0


def check_callable(map_fun: Any) -> Callable[..., Any]:
    """map_fun must be a plain function the worker can call and get a result from, right away.

    A coroutine, generator or async generator function returns an object instead of running, and
    a class builds an instance: every trial would end ERROR, so they are refused here.
    """
    if not callable(map_fun):
        raise TypeError(f"map_fun must be a function (your training function), got {type(map_fun).__name__}")
    if inspect.isclass(map_fun):
        raise TypeError(
            f"map_fun must be a function (your training function), got the class {map_fun.__name__}: "
            "pass a def that builds and trains it, e.g. def train(lr): return Model(lr).fit()"
        )
    fn_name = getattr(map_fun, "__name__", type(map_fun).__name__)
    target = map_fun
    if not (inspect.isroutine(map_fun) or isinstance(map_fun, functools.partial)):
        target = type(map_fun).__call__  # a callable object: its __call__ is what runs
    if inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target):
        raise TypeError(
            f"map_fun {fn_name}() is an async function; workers call it without an event loop and would "
            "get a coroutine, not a result: make it a plain def (e.g. def train(...): return "
            "asyncio.run(my_async_train(...)))"
        )
    if inspect.isgeneratorfunction(target):
        raise TypeError(
            f"map_fun {fn_name}() is a generator function (it uses yield), so calling it returns a generator, "
            "not a result: return the metric instead, and report progress with reporter.broadcast(value)"
        )
    return cast(Callable[..., Any], map_fun)


def check_experiment_type(experiment_type: Any) -> str:
    if not isinstance(experiment_type, str) or experiment_type.lower() not in EXPERIMENT_TYPES:
        raise ValueError(f"experiment_type must be one of {EXPERIMENT_TYPES}, got {experiment_type!r}")
    return experiment_type.lower()


def check_direction(direction: Any) -> str:
    if not isinstance(direction, str) or direction.lower() not in DIRECTIONS:
        raise ValueError(f"direction must be 'max' or 'min', got {direction!r}")
    return direction.lower()


def check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def check_non_negative_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    return int(value)


def check_positive_number(name: str, value: Any, unit: str = "seconds", infinite: str = "") -> float:
    """A finite number > 0 as a float. ``infinite``: what to pass instead of infinity (for the message)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not float(value) > 0:
        raise ValueError(f"{name} must be a positive number of {unit}, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number of {unit}, got {value!r}{infinite}")
    return float(value)


def check_hb_interval(value: Any) -> float:
    """hb_interval in seconds, within [HB_INTERVAL_MIN, HB_INTERVAL_MAX] (see why there)."""
    hb = check_positive_number("hb_interval", value)
    if not HB_INTERVAL_MIN <= hb <= HB_INTERVAL_MAX:
        raise ValueError(
            f"hb_interval must be between {HB_INTERVAL_MIN:g} and {HB_INTERVAL_MAX:g} seconds, got {value!r}: "
            "workers send their metrics every hb_interval, the live view and stop requests follow them, "
            "and a worker is declared lost after 5 silent intervals (the default, 1 s, suits most runs)"
        )
    return hb


def check_text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {type(value).__name__}")
    return value


def check_listeners(name: str, value: Any) -> tuple[Callable[..., Any], ...]:
    """A list (any iterable) of callables, each called with every driver event; kept as a tuple.
    None counts as no listeners, as for the other options whose default means "none"."""
    if value is None:
        return ()
    if callable(value) or isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(
            f"{name} must be a list of callables, each receiving every event (e.g. {name}=[print]), "
            f"got {type(value).__name__}"
        )
    listeners = tuple(value)
    for i, listener in enumerate(listeners):
        if not callable(listener):
            raise TypeError(
                f"{name}[{i}] is {_a(type(listener).__name__)}, not a callable: pass functions that take an event"
            )
    return listeners


def _a(noun: str) -> str:
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def check_searchspace(searchspace: Any) -> Searchspace:
    if searchspace is None:
        raise ValueError(
            "an optimization experiment needs a searchspace: pass searchspace=Searchspace(name=('DOUBLE', [lo, hi]), ...)"
        )
    if isinstance(searchspace, dict):
        return Searchspace(**searchspace)
    if not isinstance(searchspace, Searchspace):
        raise ValueError(
            f"searchspace must be a maggy.Searchspace (or a dict of its to_dict()), got {type(searchspace).__name__}"
        )
    if len(searchspace) == 0:
        raise ValueError(
            "the searchspace is empty: add at least one parameter with searchspace.add(name, (TYPE, [...]))"
        )
    return searchspace


def check_budget_name(searchspace: Searchspace, optimizer: AbstractOptimizer) -> None:
    """An optimizer that grants budgets passes ``budget`` to the training function, so a
    hyperparameter of that name would clash with it (with other optimizers it is an ordinary name)."""
    if optimizer.uses_budget and BUDGET_ARG in searchspace:
        raise ValueError(
            f"the searchspace has a hyperparameter named {BUDGET_ARG!r}, but {optimizer.name} passes its own "
            f"{BUDGET_ARG!r} (the trial's budget, e.g. epochs) to the training function: rename the "
            "hyperparameter, or use an optimizer without budgets (e.g. 'randomsearch', 'tpe')"
        )


def check_signature(map_fun: Callable[..., Any], provided: set[str]) -> None:
    """map_fun must accept every provided parameter and need nothing else (besides ``reporter``)."""
    fn_name = getattr(map_fun, "__name__", "map_fun")
    try:
        names, required, var_kw = accepted_arguments(map_fun)
    except (ValueError, TypeError) as exc:  # builtins and C functions have no readable signature
        raise TypeError(
            f"the signature of map_fun {fn_name}() cannot be read ({exc}), so maggy cannot tell which "
            f"hyperparameters it takes: wrap it in a def, e.g. def train(x, y): return {fn_name}(x, y)"
        ) from None
    missing = sorted(required - provided - {REPORTER_ARG})
    if missing:
        raise ValueError(
            f"{fn_name}() needs parameter(s) {missing} that the searchspace does not have "
            f"(it has {sorted(provided)}): add them to the searchspace or give them defaults"
        )
    if not var_kw:
        extra = sorted(provided - names)
        if extra:
            raise ValueError(
                f"the searchspace has parameter(s) {extra} that {fn_name}() does not take: "
                f"add them to its signature (or **kwargs) or remove them from the searchspace"
            )


def check_experiment_ref(name: str, value: Any) -> str | None:
    """An experiment id or unique prefix (``resume``); None: none. Surrounding blanks dropped."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            f"{name} must be an experiment id or a unique prefix of one (see `maggy experiments list`), "
            f"got {value!r}"
        )
    return value.strip()


def check_experiment_refs(name: str, value: Any) -> tuple[str, ...]:
    """Experiment ids (``warm_start``): a list of str, or one str of ids separated by commas or
    blanks (as a command line gives them); kept as a tuple. None counts as none."""
    if value is None:
        return ()
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    if isinstance(items, (bytes, dict)) or not isinstance(items, Iterable):
        raise TypeError(f"{name} must be a list of experiment ids, e.g. {name}=['20261205-101500-3fa2c1']")
    refs = tuple(items)
    for i, ref in enumerate(refs):
        if not isinstance(ref, str) or not ref.strip():
            raise ValueError(f"{name}[{i}] must be an experiment id (a non-empty str), got {ref!r}")
    return tuple(ref.strip() for ref in refs)


def check_initial_configs(name: str, value: Any) -> tuple[dict[str, Any], ...]:
    """A list of params dicts (``initial_configs``), copied into a tuple; None counts as none.
    Their names and values are checked against the search space when lagom prepares the run."""
    if value is None:
        return ()
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise TypeError(
            f"{name} must be a list of dicts of hyperparameter values, e.g. {name}=[{{'lr': 0.01}}], "
            f"got {type(value).__name__}"
        )
    configs = tuple(value)
    for i, config in enumerate(configs):
        if not isinstance(config, Mapping):
            raise TypeError(
                f"{name}[{i}] must be a dict of hyperparameter values, got {type(config).__name__}"
            )
    return tuple(dict(config) for config in configs)


def check_initial_configs_fit(configs: Sequence[Mapping[str, Any]], space: Searchspace) -> None:
    """Each of ``configs`` has every parameter of ``space``, no other, each
    feasible; raises ValueError naming the first that does not."""
    for i, config in enumerate(configs):
        missing = [n for n in space.names() if n not in config]
        extra = [n for n in config if n not in space]
        if missing or extra:
            what = "; ".join(
                part
                for part in (
                    f"lacks {', '.join(map(repr, missing))}" if missing else "",
                    f"has {', '.join(map(repr, extra))}, not in the searchspace" if extra else "",
                )
                if part
            )
            raise ValueError(f"initial_configs[{i}] {what}; give a value for each searchspace parameter")
        for param in space.parameters():
            if not param.contains(config[param.name]):
                raise ValueError(
                    f"initial_configs[{i}]: {param.name}={config[param.name]!r} is outside its region "
                    f"{param.to_tuple()!r}"
                )
