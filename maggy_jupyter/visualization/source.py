"""Where a plot's trials come from: an experiment id, a result dict, a stored experiment or a
running experiment's handle (:func:`source`)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from maggy.trial import Trial


class Source:
    """Where a plot reads trials: a stored experiment (fixed) or a running one (``handle``)."""

    def __init__(
        self,
        experiment_id: str,
        direction: str,
        searchspace: Any,
        trials: Callable[[], list[Trial]],
        handle: Any = None,
        experiment_type: str | None = None,
    ) -> None:
        self.experiment_id = experiment_id
        self.direction = direction
        self.searchspace = searchspace
        self.trials = trials
        self.handle = handle
        self.experiment_type = experiment_type


def source(experiment: Any, store: str | os.PathLike[str] | None = None) -> Source:
    """The :class:`Source` of ``experiment`` (see the module docstring for what it may be)."""
    from maggy import experiments
    from maggy.experiments import Experiment

    from .. import registry

    if hasattr(experiment, "subscribe") and hasattr(experiment, "trials"):
        h = experiment
        return Source(h.experiment_id, h.direction, h.searchspace, h.trials, handle=h)
    if isinstance(experiment, registry.Registered):
        if experiment.running:
            return source(experiment.handle)
        experiment = experiment.experiment_id
    if isinstance(experiment, Experiment):
        rec, stored = experiment.record, list(experiment.trials)
        return Source(
            rec.experiment_id, rec.direction, rec.searchspace, lambda: stored, None, rec.experiment_type
        )
    if isinstance(experiment, dict):
        if "experiment_id" not in experiment:
            raise TypeError("a result dict names its experiment in 'experiment_id'; this one has none")
        experiment = experiment["experiment_id"]
    if not isinstance(experiment, str):
        raise TypeError(
            f"experiment must be an experiment id, a result dict, an Experiment or a running "
            f"experiment's handle, got {type(experiment).__name__}"
        )
    if store is None:  # this kernel's running experiment: live
        try:
            entry = registry.get(experiment)
        except KeyError:
            entry = None
        if entry is not None and entry.running:
            return source(entry.handle)
    return source(experiments.get_experiment(experiment, path=store, with_history=False))
