"""Trials' parameters as numeric columns: the encoding every analysis view shares.

One :class:`Column` per parameter, in the search space's order (parameters the space does not
name but trials carry, e.g. after the space changed, follow in first-seen order). Numbers stay
numbers (DOUBLE, INTEGER, DISCRETE); a CATEGORICAL is the index of its choice. ``unit`` maps a
column onto [0, 1] the way its search space spreads it: linear between the bounds, in log space
for a 'log' scale, a categorical's ``K`` choices at ``i / (K - 1)``. A trial without the
parameter is NaN.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from maggy.searchspace import CATEGORICAL, Searchspace
from maggy.trial import Trial

NUMERIC = "numeric"
CATEGORICAL_KIND = "categorical"

SearchspaceLike = Searchspace | Mapping[str, Any] | None


@dataclass(frozen=True)
class Column:
    """One parameter over a list of trials.

    ``values``: the number (numeric) or choice index (categorical) per trial, NaN where missing.
    ``unit``: ``values`` mapped onto [0, 1] (see the module docstring); may leave [0, 1] for a
    trial outside a since-narrowed space. ``lo``/``hi``: the numeric range mapped to 0 and 1
    (the space's bounds widened to the data). ``choices``: a categorical's values, in index order.
    """

    name: str
    kind: str
    values: np.ndarray
    unit: np.ndarray
    lo: float = 0.0
    hi: float = 1.0
    log: bool = False
    choices: tuple[Any, ...] = ()

    def label(self, value: Any) -> str:
        """How a raw value of this parameter reads on an axis or in a tooltip."""
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)

    def ticks(self, count: int = 5) -> list[tuple[float, str]]:
        """``(position in unit space, label)`` pairs for an axis: every choice of a categorical
        (thinned to about ``count``), else ``count`` evenly spread values between lo and hi."""
        if self.kind == CATEGORICAL_KIND:
            k = len(self.choices)
            step = max(1, math.ceil(k / max(count, 1)))
            return [(_index_unit(i, k), self.label(c)) for i, c in enumerate(self.choices)][::step]
        out = []
        for u in np.linspace(0.0, 1.0, count):
            value = self.from_unit(float(u))
            out.append((float(u), self.label(value)))
        return out

    def from_unit(self, u: float) -> float:
        """The numeric value at ``u`` in unit space (numeric columns)."""
        if self.log:
            return float(math.exp(math.log(self.lo) + u * (math.log(self.hi) - math.log(self.lo))))
        return float(self.lo + u * (self.hi - self.lo))


def resolve_space(searchspace: SearchspaceLike) -> Searchspace | None:
    """``searchspace`` as a Searchspace: one, its ``to_dict()`` form (as the store keeps it), or None."""
    if searchspace is None or isinstance(searchspace, Searchspace):
        return searchspace
    try:
        return Searchspace(**{name: tuple(spec) for name, spec in searchspace.items()})
    except (TypeError, ValueError):
        return None  # a space an older maggy wrote differently: infer from the trials instead


def param_names(trials: Sequence[Trial], space: Searchspace | None) -> list[str]:
    """The space's parameter names, then those only trials carry, in first-seen order."""
    names = list(space) if space is not None else []
    seen = set(names)
    for t in trials:
        for name in t.params:
            if name not in seen:
                seen.add(name)
                names.append(name)
    return names


def columns(trials: Sequence[Trial], searchspace: SearchspaceLike = None) -> list[Column]:
    """One :class:`Column` per parameter of ``trials`` (see the module docstring)."""
    space = resolve_space(searchspace)
    return [_column(name, trials, space) for name in param_names(trials, space)]


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(float(x))


def _index_unit(i: float, k: int) -> float:
    return 0.5 if k <= 1 else i / (k - 1)


_MISSING = object()


def _column(name: str, trials: Sequence[Trial], space: Searchspace | None) -> Column:
    raw = [t.params.get(name, _MISSING) for t in trials]
    present = [v for v in raw if v is not _MISSING and v is not None]
    param = next((p for p in space.parameters() if p.name == name), None) if space is not None else None
    categorical = (param is not None and param.type == CATEGORICAL) or (
        param is None and not all(_is_number(v) for v in present)
    )
    if categorical:
        choices = list(param.values) if param is not None else []
        index = {_key(c): i for i, c in enumerate(choices)}
        for v in raw:  # values the space does not list (it changed): after its own, as met
            if v is not _MISSING and _key(v) not in index:
                index[_key(v)] = len(choices)
                choices.append(v)
        values = np.array([np.nan if v is _MISSING else index[_key(v)] for v in raw], dtype=float)
        k = len(choices)
        unit = values / (k - 1) if k > 1 else np.where(np.isnan(values), np.nan, 0.5)
        return Column(name, CATEGORICAL_KIND, values, unit, 0.0, float(max(k - 1, 0)), False, tuple(choices))
    values = np.array([float(v) if _is_number(v) else np.nan for v in raw], dtype=float)
    finite = values[np.isfinite(values)]
    lows = [float(finite.min())] if finite.size else []
    highs = [float(finite.max())] if finite.size else []
    if param is not None:  # the space's bounds, widened to any trial outside them
        lows.append(float(min(param.values)))
        highs.append(float(max(param.values)))
    lo, hi = min(lows, default=0.0), max(highs, default=1.0)
    log = param is not None and param.scale == "log" and lo > 0
    if log:
        span = math.log(hi) - math.log(lo)
        with np.errstate(divide="ignore", invalid="ignore"):
            unit = (
                (np.log(values) - math.log(lo)) / span
                if span > 0
                else np.where(np.isnan(values), np.nan, 0.5)
            )
    else:
        span = hi - lo
        unit = (values - lo) / span if span > 0 else np.where(np.isnan(values), np.nan, 0.5)
    return Column(name, NUMERIC, values, unit, lo, hi, log)


def _key(value: Any) -> tuple[str, Any]:
    # 1, 1.0 and True are one dict key in Python, three choices in a CATEGORICAL (JSON keeps them apart).
    if isinstance(value, float) or not _hashable(value):
        return (type(value).__name__, repr(value))
    return (type(value).__name__, value)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
