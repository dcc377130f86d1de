"""Every analysis of one experiment as one JSON-safe dict: what a browser view (the JupyterLab
panel's analysis tab, through the comm bridge) draws without computing anything itself.

Shape (``version`` 1; numbers are plain floats, NaN and infinities become null):

    {"version": 1, "direction": "max", "trials": 1234,       # trials given, in any state
     "params": {"17": {"lr": 0.01, ...}, ...},                # of every trial referenced below
     "history":    {"x": [1, 2, ...], "trial_ids": [...], "values": [...], "states": [...],
                    "best_x": [...], "best_y": [...], "best_id": 17, "total": 1200},
     "parallel":   {"axes": [{"name", "kind", "ticks": [[unit, label], ...]}, ...],
                    "trial_ids": [...], "rows": [[unit per axis..., metric unit], ...],
                    "metric": [...], "metric_range": [lo, hi], "total": 1200},
     "importance": {"importances": {name: share}, "std": {...}, "n_trials": 1200, "method": "..."},
     "slices":     [{"name", "kind", "choices": [...] | null, "x": [...], "metric": [...],
                     "trial_ids": [...], "total": 1200}, ...],
     "ablation":   null | {"base_id", "base_val", "most_important",
                           "bars": [{"label", "kind", "component", "trial_id", "metric", "delta", "hurt"}]}}

Large experiments are thinned as the widgets thin them (``max_points`` dots per scatter,
``max_lines`` polylines; the best trial always kept; ``total`` says how many there were; the
best-so-far line keeps only its steps), so 10,000 trials cost a few hundred kilobytes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from maggy.trial import Trial

from ._ablation import ablation_deltas, is_ablation
from ._columns import CATEGORICAL_KIND, SearchspaceLike
from ._history import optimization_history
from ._importance import param_importances
from ._params import parallel_coordinates, slices
from ._sampling import sample, steps

VERSION = 1


def _num(x: Any) -> float | None:
    f = float(x)
    return f if math.isfinite(f) else None


def _nums(a: np.ndarray) -> list[float | None]:
    return [_num(x) for x in a.tolist()]


def _ids(a: np.ndarray) -> list[int]:
    return [int(x) for x in a.tolist()]


def analysis_payload(
    trials: Iterable[Trial],
    direction: str,
    searchspace: SearchspaceLike = None,
    *,
    max_points: int = 2000,
    max_lines: int = 1000,
) -> dict[str, Any]:
    """The dict described in the module docstring, for ``trials`` (any order)."""
    listed = list(trials)
    sign = 1.0 if direction == "max" else -1.0
    referenced: set[int] = set()

    h = optimization_history(listed, direction)
    rows = sample(sign * h.values, max_points)
    change = steps(h.best)
    referenced.update(int(h.trial_ids[i]) for i in rows)
    last_best = next((b for b in reversed(h.best_ids) if b is not None), None)
    history = {
        "x": [i + 1 for i in rows],
        "trial_ids": [int(h.trial_ids[i]) for i in rows],
        "values": [_num(h.values[i]) for i in rows],
        "states": [h.states[i] for i in rows],
        "best_x": [int(i) + 1 for i in change],
        "best_y": _nums(h.best[change]),
        "best_id": last_best,
        "total": len(h),
    }

    ablation = None
    if is_ablation(listed):
        d = ablation_deltas(listed, direction)
        ablation = {
            "base_id": d.base_id,
            "base_val": None if d.base_val is None else _num(d.base_val),
            "most_important": d.most_important,
            "bars": [
                {
                    "label": b.label,
                    "kind": b.kind,
                    "component": b.component,
                    "trial_id": b.trial_id,
                    "metric": _num(b.metric),
                    "delta": _num(b.delta),
                    "hurt": b.hurt,
                }
                for b in d.bars
            ],
        }

    pc = parallel_coordinates(listed, direction, searchspace)
    lines = sample(pc.metric_unit, max_lines)
    referenced.update(int(pc.trial_ids[i]) for i in lines)
    matrix = pc.matrix()
    parallel = {
        "axes": [
            {"name": a.name, "kind": a.kind, "ticks": [[_num(u), label] for u, label in a.ticks()]}
            for a in pc.axes
        ],
        "trial_ids": [int(pc.trial_ids[i]) for i in lines],
        "rows": [
            _nums(matrix[i].round(4)) for i in lines
        ],  # heights on a 0..1 axis: 4 decimals draw the same
        "metric": [_num(pc.metric[i]) for i in lines],
        "metric_range": [_num(pc.metric.min()), _num(pc.metric.max())] if len(pc.metric) else None,
        "total": len(pc.trial_ids),
    }

    panels = []
    for s in slices(listed, searchspace):
        keep = np.flatnonzero(~np.isnan(s.x))
        keep = keep[sample(sign * s.metric[keep], max_points)]
        referenced.update(_ids(s.trial_ids[keep]))
        categorical = s.column.kind == CATEGORICAL_KIND
        panels.append(
            {
                "name": s.column.name,
                "kind": s.column.kind,
                "choices": [s.column.label(c) for c in s.column.choices] if categorical else None,
                "x": _nums(s.x[keep]),
                "metric": _nums(s.metric[keep]),
                "trial_ids": _ids(s.trial_ids[keep]),
                "total": len(s.trial_ids),
            }
        )

    imp = param_importances(listed, searchspace)
    by_id = {t.trial_id: t.params for t in listed}
    return {
        "version": VERSION,
        "direction": direction,
        "trials": len(listed),
        "params": {str(i): _json_params(by_id[i]) for i in sorted(referenced) if i in by_id},
        "history": history,
        "parallel": parallel,
        "importance": {
            "importances": imp.importances,
            "std": imp.std,
            "n_trials": imp.n_trials,
            "method": imp.method,
        },
        "slices": panels,
        "ablation": ablation,
    }


def _json_params(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in params.items():
        if isinstance(v, float) and not math.isfinite(v):
            out[k] = None
        elif v is None or isinstance(v, (bool, int, float, str)):
            out[k] = v
        else:
            out[k] = str(v)
    return out
