"""Checks of ``lagom``'s arguments, run before any worker starts.

Every error is a ValueError (TypeError for a non-callable map_fun) whose message names the
argument and says what to change.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

from maggy.searchspace import Searchspace
from maggy.worker.invoke import REPORTER_ARG, accepted_arguments

EXPERIMENT_TYPES = ("optimization", "ablation")
DIRECTIONS = ("max", "min")


def check_callable(map_fun: Any) -> None:
    if not callable(map_fun):
        raise TypeError(f"map_fun must be a function (your training function), got {type(map_fun).__name__}")


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


def check_positive_number(name: str, value: Any, unit: str = "seconds") -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not float(value) > 0:
        raise ValueError(f"{name} must be a positive number of {unit}, got {value!r}")
    return float(value)


def check_text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {type(value).__name__}")
    return value


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


def check_signature(map_fun: Callable[..., Any], provided: set[str]) -> None:
    """map_fun must accept every provided parameter and need nothing else (besides ``reporter``)."""
    names, required, var_kw = accepted_arguments(map_fun)
    fn_name = getattr(map_fun, "__name__", "map_fun")
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
