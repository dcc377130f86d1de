"""The dict ``lagom`` returns, computed from the experiment's trials.

Keys (all always present):
  experiment_id  the store id (``maggy experiments show ID``)
  best_id, best_val, best_config     the best trial by ``direction`` (None if no trial has a metric)
  worst_id, worst_val, worst_config  the worst such trial
  avg            mean metric of those trials (None if none)
  metric_list    their metrics, in trial-id order
  num_trials     trials run, in any final state (a retried LOST trial counts once per attempt)
  early_stopped  trials stopped by the early-stopping rule
  errors         trials that raised or returned something that is not a finite number
  duration       wall-clock seconds from start to end
Extra keys: ``status`` (FINISHED, STOPPED or FAILED), ``stopped`` (trials stopped by the user),
``lost`` (trials whose worker died), ``failure`` (why a FAILED experiment failed, e.g. "all 20
trials failed; first error (trial 3): ValueError: ..."; None otherwise). Only when writes to the
store failed (a full disk): ``store_errors`` (what the store lacks, in words) and
``unsaved_trials`` (their ids); see ``ExperimentRun._store_end``.

Ablation experiments (``experiment_type='ablation'``) add ``base_id``, ``base_val``,
``ablations``, ``deltas`` and ``most_important``: see ``maggy.ablation.summary``.

Best, worst and avg use the trials :func:`scored_trials` picks: FINISHED trials (with budgets, as
ASHA and Hyperband give, only those at the largest budget reached: a metric after 1 epoch does not
compare with one after 27); only when there are none do they fall back to trials that ended early
with a partial metric (EARLY_STOPPED, STOPPED), so a stopped run still reports what it saw.
:func:`best_trial` is maggy's one rule for "the best trial": the result dict, the CLI, ``%maggy``,
the store's listings, the progress bars, the live view and the panel all name the trial it names.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TypeVar

from maggy.trial import Trial, TrialState

_PARTIAL = (TrialState.EARLY_STOPPED, TrialState.STOPPED)


class Scorable(Protocol):
    """What the best-trial rule reads of a trial (a :class:`~maggy.trial.Trial` has it all)."""

    @property
    def trial_id(self) -> int: ...
    @property
    def state(self) -> TrialState: ...
    @property
    def metric(self) -> float | None: ...
    @property
    def budget(self) -> float | None: ...


T = TypeVar("T", bound=Scorable)


def _has_metric(trial: Scorable) -> bool:
    # NaN never compares: a trial with one is not a candidate (the engine makes NaN an ERROR, but
    # a store written by hand or by an older maggy may hold one).
    return trial.metric is not None and not math.isnan(trial.metric)


def scored_trials(trials: Iterable[T]) -> list[T]:
    """The trials that compete for best (and make up worst, avg, metric_list), by trial id.

    FINISHED trials with a metric; with budgets (ASHA, Hyperband) only those at the largest
    budget reached. When there are none, the EARLY_STOPPED and STOPPED trials with a (partial)
    metric. Works on anything with ``trial_id``, ``state``, ``metric`` and ``budget``.
    """
    ordered = sorted(trials, key=lambda t: t.trial_id)
    scored = [t for t in ordered if t.state is TrialState.FINISHED and _has_metric(t)]
    budgets = [t.budget for t in scored if t.budget is not None]
    if budgets:  # ASHA/Hyperband: only trials at the largest budget reached compare fairly
        top = max(budgets)
        scored = [t for t in scored if t.budget == top]
    if not scored:
        scored = [t for t in ordered if t.state in _PARTIAL and _has_metric(t)]
    return scored


def best_trial(trials: Iterable[T], direction: str) -> T | None:
    """The best trial of ``trials`` (any order) by ``direction`` ('max' or 'min') among
    :func:`scored_trials`, the lowest trial id on a tie; None when no trial has a metric.

    Maggy's one rule for "the best trial" (see the module docstring); raises ValueError for
    another ``direction``.
    """
    if direction not in ("max", "min"):
        raise ValueError(f"direction must be 'max' or 'min', got {direction!r}")
    scored = scored_trials(trials)
    if not scored:
        return None
    pick = max if direction == "max" else min
    return pick(scored, key=lambda t: float(t.metric or 0.0))  # first of equals: the lowest id


def build_result(
    experiment_id: str,
    trials: Sequence[Trial],
    direction: str,
    duration: float,
    status: str,
    experiment_type: str = "optimization",
    failure: str | None = None,
) -> dict[str, Any]:
    """Summarise ``trials`` (any order) into the result dict described in the module docstring."""
    ordered = sorted(trials, key=lambda t: t.trial_id)
    scored = scored_trials(ordered)
    metrics = [float(t.metric) for t in scored if t.metric is not None]
    best = best_trial(scored, direction)
    worst = best_trial(scored, "min" if direction == "max" else "max")

    def count(state: TrialState) -> int:
        return sum(1 for t in ordered if t.state is state)

    result = {
        "experiment_id": experiment_id,
        "best_id": best.trial_id if best else None,
        "best_val": best.metric if best else None,
        "best_config": dict(best.params) if best else None,
        "worst_id": worst.trial_id if worst else None,
        "worst_val": worst.metric if worst else None,
        "worst_config": dict(worst.params) if worst else None,
        "avg": sum(metrics) / len(metrics) if metrics else None,
        "metric_list": metrics,
        "num_trials": sum(1 for t in ordered if t.state.is_terminal),
        "early_stopped": count(TrialState.EARLY_STOPPED),
        "errors": count(TrialState.ERROR),
        "stopped": count(TrialState.STOPPED),
        "lost": count(TrialState.LOST),
        "duration": duration,
        "status": status,
        "failure": failure,
    }
    if experiment_type == "ablation":
        from maggy.ablation import summary  # light (no TF); imported only for ablations

        result.update(summary.ablation_summary(ordered, direction))
    return result
