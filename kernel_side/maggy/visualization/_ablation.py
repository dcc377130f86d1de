"""Ablation bars: what removing each component did to the metric, against the base trial.

The deltas are :func:`maggy.ablation.summary.ablation_summary`'s, the ones the result dict
carries (``result['deltas']``); this module only orders and labels them for a chart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from maggy.ablation import summary
from maggy.trial import Trial


@dataclass(frozen=True)
class AblationBar:
    """One removed component: ``label`` as in the result dict ('feature:pclass'), its trial,
    metric, and ``delta`` = metric - base metric. ``hurt``: removing it made the metric worse
    for the direction (the component mattered)."""

    label: str
    kind: str
    component: str | None
    trial_id: int
    metric: float
    delta: float
    hurt: bool


@dataclass(frozen=True)
class AblationDeltas:
    """The base trial and one bar per component with a metric, the most harmful removal first."""

    direction: str
    base_id: int | None
    base_val: float | None
    bars: tuple[AblationBar, ...]
    most_important: str | None


def is_ablation(trials: Iterable[Trial]) -> bool:
    """Whether ``trials`` are an ablation study's (every trial's only param is its label)."""
    listed = list(trials)
    return bool(listed) and all(set(t.params) == {summary.PARAM} for t in listed)


def ablation_deltas(trials: Iterable[Trial], direction: str) -> AblationDeltas:
    """The :class:`AblationDeltas` of an ablation study's ``trials`` (any order)."""
    if direction not in ("max", "min"):
        raise ValueError(f"direction must be 'max' or 'min', got {direction!r}")
    listed = list(trials)
    s = summary.ablation_summary(listed, direction)
    chosen: dict[str, dict[str, Any]] = {}  # label -> the row of the attempt whose delta the summary kept
    for row in s["ablations"]:
        label = row["ablated"]
        if label in s["deltas"] and row["delta"] == s["deltas"][label]:
            chosen.setdefault(label, row)
    sign = 1.0 if direction == "max" else -1.0
    bars = [
        AblationBar(
            label=label,
            kind=row["kind"],
            component=row["component"],
            trial_id=row["trial_id"],
            metric=float(row["metric"]),
            delta=float(delta),
            hurt=sign * delta < 0,
        )
        for label, delta in s["deltas"].items()
        if (row := chosen.get(label)) is not None
    ]
    bars.sort(key=lambda b: (sign * b.delta, b.trial_id))  # the removal that cost most first
    return AblationDeltas(direction, s["base_id"], s["base_val"], tuple(bars), s["most_important"])
