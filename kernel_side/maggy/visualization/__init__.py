"""Analysis of an experiment's trials: the data behind optuna-dashboard's plots, and the plots.

Pure computations over a list of :class:`maggy.trial.Trial` (from :func:`maggy.experiments.get_experiment`,
the store, or a running experiment's ``handle.trials()``), a ``direction`` and optionally the
search space (a ``Searchspace`` or its ``to_dict()`` form, as the store keeps it):

- :func:`optimization_history`: metrics in the order trials ended, and the best so far by
  :func:`maggy.core.result.best_trial`'s rule;
- :func:`parallel_coordinates`: parameters per axis mapped onto [0, 1] (categoricals as choice
  indices), the metric as colour;
- :func:`param_importances`: fANOVA main effects on a numpy random forest (see
  :mod:`maggy.visualization._importance` for the method and its limits; ~0.1 s at 1,000 trials);
- :func:`slices`: the metric against each parameter;
- :func:`ablation_deltas`: each removed component's delta against the base trial, as in the
  result dict's ``deltas``;
- :func:`analysis_payload`: all of the above as one JSON-safe dict, thinned for 10,000 trials,
  for a browser view (the panel's analysis tab) to draw.

The widgets (bqplot, in the cell; live while the experiment runs) are ``plot_optimization_history``,
``plot_parallel_coordinate``, ``plot_param_importances``, ``plot_slice`` and ``plot_ablation``,
which live in :mod:`maggy_jupyter.visualization` and load from here only when first used, so that
this module, like ``import maggy``, pulls in no widget library.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._ablation import AblationBar, AblationDeltas, ablation_deltas, is_ablation
from ._columns import Column, columns
from ._history import History, optimization_history
from ._importance import Importances, param_importances
from ._params import ParallelCoordinates, Slice, parallel_coordinates, slices
from ._payload import analysis_payload

_PLOTS = (
    "plot_optimization_history",
    "plot_parallel_coordinate",
    "plot_param_importances",
    "plot_slice",
    "plot_ablation",
)

__all__ = [
    "AblationBar",
    "AblationDeltas",
    "Column",
    "History",
    "Importances",
    "ParallelCoordinates",
    "Slice",
    "ablation_deltas",
    "analysis_payload",
    "columns",
    "is_ablation",
    "optimization_history",
    "param_importances",
    "parallel_coordinates",
    "slices",
    *_PLOTS,
]


def __getattr__(name: str) -> Any:
    if name in _PLOTS:
        try:
            module = importlib.import_module("maggy_jupyter.visualization")
        except ImportError as e:  # maggy installed without its Jupyter side, or no bqplot
            raise ImportError(
                f"maggy.visualization.{name} draws with bqplot in Jupyter: pip install 'maggy-jupyter[jupyter]' ({e})"
            ) from e
        return getattr(module, name)
    raise AttributeError(f"module 'maggy.visualization' has no attribute {name!r}")
