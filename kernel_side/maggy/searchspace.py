"""The search space: named hyperparameters, each with a type and a feasible region.

Implements the Maggy ``Searchspace`` API (``Searchspace(**kwargs)``, ``add``, ``get``, ``names``,
``to_dict``, ``get_random_parameter_values``, parameters readable as attributes) and validates every
parameter when it is added, so a mistake fails in the notebook cell, naming the parameter and the fix,
before any worker starts.

A parameter's value is ``(type, region)`` or ``(type, region, scale)``; the type is case-insensitive:

============  ==================  ==========================================================
DOUBLE        ``[lower, upper]``  floats in the closed interval; scale 'linear' or 'log'
INTEGER       ``[lower, upper]``  ints in the closed interval; scale 'linear' or 'log'
DISCRETE      ``[v1, v2, ...]``   distinct numbers (int or float)
CATEGORICAL   ``[c1, c2, ...]``   distinct str, int, float, bool or None (they travel as JSON)
============  ==================  ==========================================================

The optional scale (default 'linear') says how samplers and grids spread points: 'log' samples
uniformly in log space and needs ``lower > 0``. ``to_dict`` writes it only when it is not linear, so
spaces written in the Maggy form round-trip unchanged.
"""

from __future__ import annotations

import keyword
import math
import numbers
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from maggy._rng import SeedLike, as_generator

_NO_DEFAULT: Any = object()  # Searchspace.add without a default (None is a valid default)

DOUBLE = "DOUBLE"
INTEGER = "INTEGER"
DISCRETE = "DISCRETE"
CATEGORICAL = "CATEGORICAL"
TYPES = (DOUBLE, INTEGER, DISCRETE, CATEGORICAL)
SCALES = ("linear", "log")

# Passed by the driver to the training function next to the hyperparameters (map_fun(**params,
# reporter=...)), so a hyperparameter of that name could never reach it.
_DRIVER_ARGUMENTS = frozenset({"reporter"})


@dataclass(frozen=True)
class Parameter:
    """One validated hyperparameter. Immutable; build it through ``Searchspace.add``.

    ``values`` holds plain Python objects: ``(lower, upper)`` for DOUBLE (floats) and INTEGER (ints),
    the choices for DISCRETE and CATEGORICAL.
    """

    name: str
    type: str
    values: tuple[Any, ...]
    scale: str = "linear"

    @property
    def region(self) -> list[Any]:
        """The feasible region as the user wrote it (a new list each call)."""
        return list(self.values)

    @property
    def cardinality(self) -> int | None:
        """Number of distinct values, or None for a DOUBLE (a continuum)."""
        if self.type == DOUBLE:
            return None
        if self.type == INTEGER:
            return int(self.values[1] - self.values[0] + 1)
        return len(self.values)

    def choices(self) -> list[Any]:
        """Every value of a finite parameter, in order. Raises ValueError for a DOUBLE."""
        if self.type == DOUBLE:
            raise ValueError(f"parameter {self.name!r} is a DOUBLE; it has no finite list of values")
        if self.type == INTEGER:
            return list(range(self.values[0], self.values[1] + 1))
        return list(self.values)

    def sample(self, rng: np.random.Generator) -> Any:
        """One value drawn uniformly (in log space for scale 'log'), as a plain Python object."""
        if self.type == DOUBLE:
            lo, hi = self.values
            if self.scale == "log":
                x = math.exp(rng.uniform(math.log(lo), math.log(hi)))
                return min(max(x, lo), hi)  # exp(log(x)) can land a hair outside the bounds
            return float(rng.uniform(lo, hi))
        if self.type == INTEGER:
            lo, hi = self.values
            if self.scale == "log":
                # Widen by half a unit so that rounding gives the end points their fair share.
                x = math.exp(rng.uniform(math.log(lo - 0.5), math.log(hi + 0.5)))
                return min(max(round(x), lo), hi)
            return int(rng.integers(lo, hi, endpoint=True))
        return self.values[int(rng.integers(len(self.values)))]

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is one of this parameter's feasible values (a bound counts as inside).

        DOUBLE: a finite real number within the bounds; INTEGER: an int (or an integral float)
        within the bounds; DISCRETE and CATEGORICAL: equal to one of the choices (bools are
        never numbers here, as JSON keeps them apart).
        """
        if self.type in (DOUBLE, INTEGER):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
                return False
            if self.type == INTEGER and value != math.floor(value):
                return False
            return bool(self.values[0] <= value <= self.values[1])
        return any(_same_choice(value, choice) for choice in self.values)

    def to_tuple(self) -> tuple[Any, ...]:
        """``(type, region)``, plus the scale when it is not 'linear': the form ``add`` accepts."""
        if self.scale == "linear":
            return (self.type, self.region)
        return (self.type, self.region, self.scale)


class Searchspace:
    """Create a search space from keyword arguments ``name=(type, list)``.

    >>> sp = Searchspace(kernel=('INTEGER', [2, 8]), pool=('INTEGER', [2, 8]))
    >>> sp.add('dropout', ('DOUBLE', [0.01, 0.99]))
    >>> sp.kernel
    [2, 8]
    >>> Searchspace(**sp.to_dict()) == sp
    True

    Parameters keep insertion order (iteration, ``names()``, ``to_dict()``, sampling, grids). A
    Searchspace only grows: parameters can be added, not changed or removed. Invalid input raises
    ValueError naming the parameter, the problem and the fix.

    A parameter may carry a ``default`` (``add(name, spec, default=...)``): the value that trials
    run before it existed are taken to have had, when an experiment resumes or warm-starts with a
    space that gained it (see :meth:`project`).
    """

    DOUBLE = DOUBLE
    INTEGER = INTEGER
    DISCRETE = DISCRETE
    CATEGORICAL = CATEGORICAL

    def __init__(self, **kwargs: Any) -> None:
        self._params: dict[str, Parameter] = {}
        self._defaults: dict[str, Any] = {}
        for name, value in kwargs.items():
            self.add(name, value)

    def add(self, name: str, value: tuple[Any, ...], default: Any = _NO_DEFAULT) -> None:
        """Add the hyperparameter ``name`` with ``value = (type, list)`` or ``(type, list, scale)``.

        ``default``: the value earlier trials, run before this parameter existed, are taken to
        have had when an experiment is resumed or warm-started with this space (see
        :meth:`project`); it must be a feasible value. Without one, such trials teach an optimizer
        that learns from partial trials (TPE) about the parameters they have, and are kept and
        shown but left out of the others' models.

        Raises ValueError if the name is reserved (a Searchspace attribute or method, starts with an
        underscore, is 'reporter', or was added already) or not a valid identifier, if the value
        is not a valid ``(type, list)`` tuple for its type, or if ``default`` is outside it.
        """
        self._check_name(name)
        param = _parse(name, value)
        if default is not _NO_DEFAULT:
            if not param.contains(default):
                raise ValueError(
                    f"Searchspace parameter {name!r}: default {default!r} is not in its region "
                    f"{param.to_tuple()!r}; pass a feasible value"
                )
            self._defaults[name] = int(default) if param.type == INTEGER else default
        self._params[name] = param

    def defaults(self) -> dict[str, Any]:
        """The defaults given to ``add``, by parameter name (a new dict)."""
        return dict(self._defaults)

    def project(self, params: dict[str, Any], partial: bool = False) -> dict[str, Any] | None:
        """``params`` (a trial's, from an earlier run or another experiment) as a point of this space.

        The rules of a changed search space: parameters this space no longer has are dropped; a
        parameter it gained takes its ``default`` (see :meth:`add`); every value must be feasible
        here (a narrowed range or a removed choice leaves the point outside). Returns the point,
        ordered as this space, or None when it is outside (a value out of the region, or a
        gained parameter without a default): such a trial is kept and shown, but does not feed
        the optimizer. With ``partial``, a gained parameter without a default is left out of the
        point instead (for an optimizer that learns from the shared parameters alone: TPE).
        """
        point = {}
        for name, param in self._params.items():
            if name in params:
                value = params[name]
            elif name in self._defaults:
                value = self._defaults[name]
            elif partial:
                continue
            else:
                return None
            if not param.contains(value):
                return None
            point[name] = int(value) if param.type == INTEGER else value
        return point

    def get(self, name: str, default: Any = None) -> Any:
        """The feasible region (a list) of ``name`` if it exists, else ``default``."""
        param = self._params.get(name)
        return default if param is None else param.region

    def names(self) -> dict[str, str]:
        """Dictionary of hyperparameter names, with their types (upper-case) as values."""
        return {name: p.type for name, p in self._params.items()}

    def to_dict(self) -> dict[str, tuple[Any, ...]]:
        """``{name: (type, list)}``, such that ``Searchspace(**sp.to_dict()) == sp``."""
        return {name: p.to_tuple() for name, p in self._params.items()}

    def parameters(self) -> list[Parameter]:
        """The validated parameters, in insertion order (for optimizers)."""
        return list(self._params.values())

    def items(self) -> list[dict[str, Any]]:
        """``[{'name', 'type', 'values', 'scale'}, ...]`` in insertion order (Maggy's optimizer form)."""
        return [
            {"name": p.name, "type": p.type, "values": p.region, "scale": p.scale}
            for p in self._params.values()
        ]

    def get_random_parameter_values(self, num: int, rng: SeedLike = None) -> list[dict[str, Any]]:
        """Generate ``num`` random parameter dictionaries ``{name: value}``.

        Each value is drawn independently and uniformly from its region (DOUBLE: a float in
        ``[lower, upper]``; INTEGER: an int in ``[lower, upper]`` inclusive; DISCRETE and CATEGORICAL:
        one of the values), in log space for scale 'log'. Values are plain Python objects, ready for
        JSON. ``rng`` is None (unseeded), an int seed, a ``random.Random`` or a
        ``numpy.random.Generator`` (which is advanced). Raises ValueError if ``num`` is not an int >= 0.
        """
        if isinstance(num, bool) or not isinstance(num, (int, np.integer)) or num < 0:
            raise ValueError(
                f"num must be a non-negative int (how many dictionaries to generate), got {num!r}"
            )
        gen = as_generator(rng)
        params = list(self._params.values())
        return [{p.name: p.sample(gen) for p in params} for _ in range(int(num))]

    # -- container protocol -------------------------------------------------------------------

    def __getattr__(self, name: str) -> list[Any]:
        # Only reached when normal lookup fails; underscore names never are parameters, which also
        # keeps copy/pickle (that probe for __setstate__ etc. before _params exists) from recursing.
        if not name.startswith("_"):
            param = self.__dict__.get("_params", {}).get(name)
            if param is not None:
                return param.region
        raise AttributeError(f"Searchspace has no parameter or attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        # Assigning sp.lr = [...] would shadow the parameter without validation; route users to add().
        if not name.startswith("_"):
            raise AttributeError(
                f"cannot set {name!r} on a Searchspace; use sp.add({name!r}, (type, list)) instead"
            )
        super().__setattr__(name, value)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._params))  # tab completion in Jupyter

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._params))

    def __len__(self) -> int:
        return len(self._params)

    def __contains__(self, name: object) -> bool:
        return name in self._params

    def __eq__(self, other: object) -> bool:
        """Equal when both hold the same parameters with the same types, regions and scales (any order)."""
        if not isinstance(other, Searchspace):
            return NotImplemented
        return self._params == other._params

    __hash__ = None  # type: ignore[assignment]  # mutable: add() changes it

    def __repr__(self) -> str:
        body = ", ".join(f"{name}={p.to_tuple()!r}" for name, p in self._params.items())
        return f"Searchspace({body})"

    # -- validation ---------------------------------------------------------------------------

    def _check_name(self, name: Any) -> None:
        if not isinstance(name, str):
            raise ValueError(f"Searchspace parameter name {name!r} must be a str, got {type(name).__name__}")
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(
                f"Searchspace parameter {name!r}: not a valid Python identifier; the name is passed to your "
                "training function as a keyword argument, so use letters, digits and underscores, "
                "not starting with a digit, and not a Python keyword"
            )
        if name.startswith("_"):
            raise ValueError(
                f"Searchspace parameter {name!r}: names starting with an underscore are reserved; "
                f"rename it, e.g. {name.lstrip('_') or 'param'!r}"
            )
        if name in _DRIVER_ARGUMENTS:
            raise ValueError(
                f"Searchspace parameter {name!r}: the name is reserved, maggy passes {name!r} to your "
                "training function itself; rename the hyperparameter"
            )
        if hasattr(type(self), name):
            raise ValueError(
                f"Searchspace parameter {name!r}: the name is reserved (it is a Searchspace attribute "
                "or method); rename the hyperparameter"
            )
        if name in self._params:
            raise ValueError(
                f"Searchspace parameter {name!r}: already in the search space as "
                f"{self._params[name].to_tuple()!r}; each name can be added once, use a different name"
            )


def _parse(name: str, value: Any) -> Parameter:
    """Validate ``value`` for parameter ``name`` and return the normalised Parameter."""
    if not isinstance(value, (tuple, list)) or len(value) not in (2, 3):
        raise ValueError(
            f"Searchspace parameter {name!r}: expected a tuple (type, list), e.g. ('DOUBLE', [0.001, 0.1]) "
            f"or ('INTEGER', [2, 8]), got {value!r}"
        )
    kind, region = value[0], value[1]
    if not isinstance(kind, str) or kind.strip().upper() not in TYPES:
        raise ValueError(
            f"Searchspace parameter {name!r}: unknown type {kind!r}; use one of {', '.join(TYPES)}"
        )
    kind = kind.strip().upper()
    if isinstance(region, np.ndarray):
        region = region.tolist()  # e.g. np.linspace(...) for a DISCRETE; tolist() gives Python scalars
    if not isinstance(region, (list, tuple)):
        raise ValueError(
            f"Searchspace parameter {name!r}: the feasible region of a {kind} must be a list, "
            f"got {region!r} ({type(region).__name__})"
        )
    scale = _parse_scale(name, kind, value[2]) if len(value) == 3 else "linear"
    if kind in (DOUBLE, INTEGER):
        values = _parse_bounds(name, kind, list(region), scale)
    else:
        values = _parse_choices(name, kind, list(region))
    return Parameter(name=name, type=kind, values=values, scale=scale)


def _parse_scale(name: str, kind: str, scale: Any) -> str:
    if not isinstance(scale, str) or scale.strip().lower() not in SCALES:
        raise ValueError(
            f"Searchspace parameter {name!r}: unknown scale {scale!r}; use one of {', '.join(SCALES)}"
        )
    if kind not in (DOUBLE, INTEGER):
        raise ValueError(
            f"Searchspace parameter {name!r}: a scale applies only to DOUBLE and INTEGER, not {kind}; "
            "drop the third element"
        )
    return scale.strip().lower()


def _is_number(x: Any) -> bool:
    # bool is an int subclass, but True as a bound or a DISCRETE value is almost surely a mistake.
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


def _parse_bounds(name: str, kind: str, region: list[Any], scale: str) -> tuple[Any, ...]:
    if len(region) != 2 or not all(_is_number(x) for x in region):
        raise ValueError(
            f"Searchspace parameter {name!r}: a {kind} needs exactly two numbers [lower, upper], got {region!r}"
        )
    if kind == INTEGER:
        if not all(isinstance(x, numbers.Integral) for x in region):
            raise ValueError(
                f"Searchspace parameter {name!r}: INTEGER bounds must be ints, got {region!r}; "
                "write them without a decimal point, or use DOUBLE for a continuous range"
            )
        lo: float = int(region[0])
        hi: float = int(region[1])
        if lo < -(2**63) or hi >= 2**63:  # numpy draws int64
            raise ValueError(
                f"Searchspace parameter {name!r}: INTEGER bounds must lie within +-2**63, got {region!r}; "
                "use a DOUBLE with scale 'log' for astronomically wide ranges"
            )
    else:
        lo, hi = float(region[0]), float(region[1])
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(f"Searchspace parameter {name!r}: DOUBLE bounds must be finite, got {region!r}")
        if not math.isfinite(hi - lo):
            # Samplers draw lower + u * (upper - lower) and grids step by the width: an infinite
            # width gives inf/NaN values, which no worker can receive.
            raise ValueError(
                f"Searchspace parameter {name!r}: the range {region!r} is too wide, upper - lower overflows "
                f"a float (the width must stay below {sys.float_info.max:.3g}); narrow it, or for positive "
                "values spanning many orders of magnitude use scale 'log'"
            )
    if lo >= hi:
        raise ValueError(
            f"Searchspace parameter {name!r}: lower bound {region[0]!r} must be less than upper bound "
            f"{region[1]!r}; swap them, or use ('DISCRETE', [{region[0]!r}]) for a fixed value"
        )
    if scale == "log" and lo <= 0:
        raise ValueError(
            f"Searchspace parameter {name!r}: a log scale needs lower bound > 0, got {region[0]!r}; "
            "raise the lower bound or use the linear scale"
        )
    return (lo, hi)


_JSON_SCALARS = (str, int, float, bool, type(None))


def _parse_choices(name: str, kind: str, region: list[Any]) -> tuple[Any, ...]:
    if not region:
        raise ValueError(
            f"Searchspace parameter {name!r}: a {kind} needs at least one value, got an empty list"
        )
    values: list[Any] = []
    seen: set[Any] = set()
    for x in region:
        if isinstance(x, np.generic):
            x = x.item()  # numpy scalars would not JSON-serialise on the way to the workers
        if kind == DISCRETE and not _is_number(x):
            raise ValueError(
                f"Searchspace parameter {name!r}: DISCRETE values must be numbers, got {x!r} "
                f"({type(x).__name__}); use CATEGORICAL for non-numeric choices"
            )
        if kind == DISCRETE:
            x = int(x) if isinstance(x, numbers.Integral) else float(x)  # e.g. Fraction -> float
        if not isinstance(x, _JSON_SCALARS):
            raise ValueError(
                f"Searchspace parameter {name!r}: CATEGORICAL values must be str, int, float, bool or None "
                f"(they travel to the workers as JSON), got {x!r} ({type(x).__name__}); "
                "use a string label and map it to the object inside your training function"
            )
        if isinstance(x, float) and not math.isfinite(x):
            raise ValueError(f"Searchspace parameter {name!r}: values must be finite, got {x!r}")
        # DISCRETE: 2 and 2.0 are the same number. CATEGORICAL: True, 1 and '1' are different choices.
        key = x if kind == DISCRETE else (type(x), x)
        if key in seen:
            raise ValueError(
                f"Searchspace parameter {name!r}: value {x!r} appears more than once in {region!r}; list each value once"
            )
        seen.add(key)
        values.append(x)
    return tuple(values)


def _same_choice(value: Any, choice: Any) -> bool:
    """``value == choice`` as JSON sees it: ``True`` is not ``1``, ``1`` is ``1.0``."""
    if isinstance(value, bool) or isinstance(choice, bool):
        return value is choice
    return bool(value == choice) and (value is None) == (choice is None)
