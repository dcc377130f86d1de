"""Mapping params dicts to and from numbers, for the model-based optimizers (TPE, GP).

Every non-categorical parameter becomes one coordinate in the unit interval [0, 1]:

- DOUBLE: its position between the bounds, in log space for scale 'log';
- INTEGER: the same over ``[lower - 0.5, upper + 0.5]`` (log: ``log`` of those), so each integer
  owns a cell of equal width (equal width in log space for 'log') and encodes to the cell's centre;
- DISCRETE: ordinal: the i-th smallest of n values owns the cell ``[i/n, (i+1)/n]``. By rank, not
  by value, because such lists are usually geometric (16, 32, 64, 128) and a linear map would
  crowd the small values together.

A CATEGORICAL becomes the index of its value in the list; each model decides what to do with it
(TPE: per-category weights; GP: one-hot). Decoding snaps any point of [0, 1] back to a valid value,
so a model may work in the continuous relaxation and round only at the end.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from maggy.searchspace import CATEGORICAL, DISCRETE, DOUBLE, INTEGER, Parameter, Searchspace


class Encoder:
    """The unit-cube encoding of one search space (see module docstring). Immutable after creation.

    ``numeric`` are the non-categorical parameters (columns of ``encode``'s first array), in
    search-space order; ``categorical`` the categorical ones, with ``n_choices`` values each.
    """

    def __init__(self, searchspace: Searchspace) -> None:
        params = searchspace.parameters()
        self.numeric: list[Parameter] = [p for p in params if p.type != CATEGORICAL]
        self.categorical: list[Parameter] = [p for p in params if p.type == CATEGORICAL]
        self.n_choices: list[int] = [len(p.values) for p in self.categorical]
        self._order = [p.name for p in params]
        # DISCRETE values sorted once; the rank of a value is its cell.
        self._sorted = {p.name: sorted(p.values) for p in self.numeric if p.type == DISCRETE}

    def encode(self, configs: list[dict[str, Any]], missing: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """``(U, C)``: U is ``(n, len(numeric))`` floats in [0, 1], C ``(n, len(categorical))`` ints.

        A parameter a config lacks raises KeyError; with ``missing`` it encodes as NaN (numeric)
        or -1 (categorical) instead (a partial trial, see ``learns_from_partial_trials``)."""
        u = np.array(
            [
                [
                    self._to_unit(p, c[p.name]) if p.name in c or not missing else math.nan
                    for p in self.numeric
                ]
                for c in configs
            ],
            dtype=float,
        )
        cats = [
            [_index(p, c[p.name]) if p.name in c or not missing else -1 for p in self.categorical]
            for c in configs
        ]
        return u.reshape(len(configs), len(self.numeric)), np.array(cats, dtype=int).reshape(
            len(configs), len(self.categorical)
        )

    def decode(self, u: np.ndarray, cats: np.ndarray) -> dict[str, Any]:
        """The params dict (plain Python values, search-space order) for one point ``(u, cats)``."""
        out: dict[str, Any] = {}
        for p, x in zip(self.numeric, u, strict=True):
            out[p.name] = self._from_unit(p, float(x))
        for p, i in zip(self.categorical, cats, strict=True):
            out[p.name] = p.values[int(i)]
        return {name: out[name] for name in self._order}

    def snap(self, u: np.ndarray) -> np.ndarray:
        """``u`` ``(n, len(numeric))`` with every coordinate moved to the point its value encodes to.

        Vectorised ``encode(decode(.))`` of the numeric part: DOUBLE clipped to [0, 1], INTEGER
        and DISCRETE moved to the centre of their cell, so a model can score the points that would
        really be suggested without building a params dict for each.
        """
        out = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        for j, p in enumerate(self.numeric):
            if p.type == DISCRETE:
                n = len(p.values)
                out[:, j] = (np.minimum(np.floor(out[:, j] * n), n - 1) + 0.5) / n
            elif p.type == INTEGER:
                lo, hi = _span(p)
                if p.scale == "log":
                    x = np.round(np.exp(math.log(lo) + out[:, j] * (math.log(hi) - math.log(lo))))
                    x = np.clip(x, p.values[0], p.values[1])
                    out[:, j] = (np.log(x) - math.log(lo)) / (math.log(hi) - math.log(lo))
                else:
                    x = np.clip(np.round(lo + out[:, j] * (hi - lo)), p.values[0], p.values[1])
                    out[:, j] = (x - lo) / (hi - lo)
        return out

    def cells(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The cell ``[low, high]`` of each snapped numeric coordinate: every point of it decodes to
        the same value. A DOUBLE's cell is the point itself (``low == high``)."""
        u = self.snap(u)
        low, high = u.copy(), u.copy()
        for j, p in enumerate(self.numeric):
            if p.type == DISCRETE:
                n = len(p.values)
                low[:, j] = np.floor(u[:, j] * n) / n
                high[:, j] = low[:, j] + 1.0 / n
            elif p.type == INTEGER:
                lo, hi = _span(p)
                if p.scale == "log":
                    x = np.exp(math.log(lo) + u[:, j] * (math.log(hi) - math.log(lo)))
                    edges = [
                        (np.log(x + d) - math.log(lo)) / (math.log(hi) - math.log(lo)) for d in (-0.5, 0.5)
                    ]
                else:
                    x = lo + u[:, j] * (hi - lo)
                    edges = [(x + d - lo) / (hi - lo) for d in (-0.5, 0.5)]
                low[:, j], high[:, j] = np.clip(edges[0], 0, 1), np.clip(edges[1], 0, 1)
        return low, high

    def _to_unit(self, p: Parameter, value: Any) -> float:
        if p.type == DISCRETE:
            ranks = self._sorted[p.name]
            return (ranks.index(value) + 0.5) / len(ranks)
        lo, hi = _span(p)
        x = float(value)
        if p.scale == "log":
            lo, hi, x = math.log(lo), math.log(hi), math.log(x)
        return min(max((x - lo) / (hi - lo), 0.0), 1.0)

    def _from_unit(self, p: Parameter, u: float) -> Any:
        u = min(max(u, 0.0), 1.0)
        if p.type == DISCRETE:
            ranks = self._sorted[p.name]
            return ranks[min(int(u * len(ranks)), len(ranks) - 1)]
        lo, hi = _span(p)
        x = (
            math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
            if p.scale == "log"
            else lo + u * (hi - lo)
        )
        if p.type == INTEGER:
            return int(min(max(round(x), p.values[0]), p.values[1]))
        return float(min(max(x, p.values[0]), p.values[1]))  # exp(log(x)) can overshoot by an ulp


def _span(p: Parameter) -> tuple[float, float]:
    """The interval mapped onto [0, 1]: the bounds, widened by half a unit for an INTEGER."""
    lo, hi = p.values
    if p.type == INTEGER:
        return lo - 0.5, hi + 0.5  # lower >= 1 for scale 'log', so lo - 0.5 stays positive
    assert p.type == DOUBLE
    return float(lo), float(hi)


def _index(p: Parameter, value: Any) -> int:
    # CATEGORICAL choices may mix True, 1 and '1': compare type and value, as the searchspace does.
    for i, v in enumerate(p.values):
        if type(v) is type(value) and v == value:
            return i
    raise ValueError(f"value {value!r} is not a choice of parameter {p.name!r}")


def config_key(params: dict[str, Any]) -> str:
    """A canonical, hashable form of a params dict (to match results to suggestions, find repeats).

    JSON with sorted keys: values are JSON scalars already, and ``True``/``1``/``'1'`` stay distinct.
    """
    return json.dumps(params, sort_keys=True, default=repr)
