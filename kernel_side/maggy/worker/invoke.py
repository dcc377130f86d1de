"""Calling the user's training function and judging what it returns.

These are the rules ``lagom`` validates up front and the worker applies per trial: parameters
are passed by name, ``reporter`` only when the function declares it, and the result is a
number or a dict holding the number under ``METRIC_KEY``.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable
from typing import Any

#: Key under which a training function returning a dict puts its metric.
METRIC_KEY = "metric"
REPORTER_ARG = "reporter"


def accepted_arguments(fn: Callable[..., Any]) -> tuple[set[str], set[str], bool]:
    """Return (all named parameters, those without a default, whether it takes ``**kwargs``)."""
    sig = inspect.signature(fn)
    names: set[str] = set()
    required: set[str] = set()
    var_kw = False
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            var_kw = True
        elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            names.add(p.name)
            if p.default is p.empty:
                required.add(p.name)
    return names, required, var_kw


def call_training_function(fn: Callable[..., Any], params: dict[str, Any], reporter: Any) -> Any:
    """Call ``fn`` with ``params`` by name, adding ``reporter`` if ``fn`` declares it."""
    names, _, var_kw = accepted_arguments(fn)
    kwargs = dict(params)
    if REPORTER_ARG in names:
        kwargs[REPORTER_ARG] = reporter
    if not var_kw:
        kwargs = {k: v for k, v in kwargs.items() if k in names}
    return fn(**kwargs)


def metric_from_result(result: Any) -> tuple[float | None, str | None]:
    """Return ``(metric, None)`` for a usable result, else ``(None, message saying what came back)``."""
    value = result
    if isinstance(result, dict):
        if METRIC_KEY not in result:
            return None, (
                f"the training function returned a dict without the key {METRIC_KEY!r} "
                f"(keys: {sorted(map(str, result))}); put the metric under {METRIC_KEY!r}"
            )
        value = result[METRIC_KEY]
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None, (
            f"the training function returned {value!r} ({type(value).__name__}); "
            f"return a number, or a dict with the number under {METRIC_KEY!r}"
        )
    number = float(value)
    if not math.isfinite(number):
        return None, f"the training function returned {number} (not a finite number)"
    return number, None
