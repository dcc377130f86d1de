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

Best, worst and avg use FINISHED trials (with budgets, as ASHA and Hyperband give, only those at
the largest budget reached: a metric after 1 epoch does not compare with one after 27); only when
there are none do they fall back to trials that ended early with a partial metric (EARLY_STOPPED,
STOPPED), so a stopped run still reports what it saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from maggy.trial import Trial, TrialState


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
    scored = [t for t in ordered if t.state is TrialState.FINISHED and t.metric is not None]
    budgets = [t.budget for t in scored if t.budget is not None]
    if budgets:  # ASHA/Hyperband: only trials at the largest budget reached compare fairly
        top = max(budgets)
        scored = [t for t in scored if t.budget == top]
    if not scored:
        partial = (TrialState.EARLY_STOPPED, TrialState.STOPPED)
        scored = [t for t in ordered if t.state in partial and t.metric is not None]
    metrics = [float(t.metric) for t in scored if t.metric is not None]
    best = worst = None
    if scored:
        pick_best = max if direction == "max" else min
        pick_worst = min if direction == "max" else max
        best = pick_best(scored, key=lambda t: t.metric or 0.0)
        worst = pick_worst(scored, key=lambda t: t.metric or 0.0)

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
