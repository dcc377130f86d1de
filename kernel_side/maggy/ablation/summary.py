"""The ablation keys of ``lagom``'s result dict: what each trial removed and what that cost.

Added to the result (``maggy.core.result``) when every trial's params are an ablation label:
  base_id, base_val  the base trial (nothing removed) and its metric
  ablations          per trial, in trial-id order: {'trial_id', 'ablated' (label), 'kind',
                     'component', 'state', 'metric', 'delta'}; delta = metric - base_val
  deltas             {label: delta} for each component with a metric: "what did removing
                     'feature:pclass' do" is ``result['deltas']['feature:pclass']``
  most_important     the label whose removal made the metric worst (by ``direction``), or None
                     if no removal made it worse
A component retried after its worker died counts once: its FINISHED attempt if any, else the
latest attempt with a metric (early-stopped trials report their last value).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from maggy.trial import Trial, TrialState

#: The one params key of an ablation trial; its value is the trial's label (see resolve.AblationTrial).
PARAM = "ablated"
BASE = "base"


def split_label(label: str) -> tuple[str, str | None]:
    """``'feature:pclass'`` -> ``('feature', 'pclass')``; ``'base'`` -> ``('base', None)``."""
    kind, sep, component = label.partition(":")
    return (kind, component) if sep else (label, None)


def ablation_summary(trials: Sequence[Trial], direction: str) -> dict[str, Any]:
    """The keys described in the module docstring, from ``trials`` (any order)."""
    ordered = sorted(trials, key=lambda t: t.trial_id)
    chosen: dict[str, Trial] = {}
    for t in ordered:
        label = t.params[PARAM]
        if t.metric is None:
            continue
        held = chosen.get(label)
        if held is None or held.state is not TrialState.FINISHED or t.state is TrialState.FINISHED:
            chosen[label] = t
    base = chosen.get(BASE)
    base_val = base.metric if base is not None else None

    def delta(metric: float | None) -> float | None:
        return None if metric is None or base_val is None else float(metric) - float(base_val)

    rows = []
    for t in ordered:
        kind, component = split_label(t.params[PARAM])
        rows.append(
            {
                "trial_id": t.trial_id,
                "ablated": t.params[PARAM],
                "kind": kind,
                "component": component,
                "state": t.state.value,
                "metric": t.metric,
                "delta": delta(t.metric),
            }
        )
    deltas = {label: d for label, t in chosen.items() if label != BASE and (d := delta(t.metric)) is not None}
    worse = {label: d for label, d in deltas.items() if (d < 0 if direction == "max" else d > 0)}
    return {
        "base_id": base.trial_id if base is not None else None,
        "base_val": base_val,
        "ablations": rows,
        "deltas": deltas,
        "most_important": max(worse, key=lambda label: abs(worse[label])) if worse else None,
    }
