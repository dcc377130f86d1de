"""Listener that writes an experiment's trials to the experiment store as they start and end."""

from __future__ import annotations

import logging

from maggy.core import events as ev
from maggy.store import ExperimentStore

log = logging.getLogger("maggy")


class StoreWriter:
    """Saves each trial when it starts and again, with its history, logs and metric, when it ends."""

    def __init__(self, store: ExperimentStore, experiment_id: str) -> None:
        self.store = store
        self.experiment_id = experiment_id

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, (ev.TrialStarted, ev.TrialFinished)):
            self.store.save_trial(self.experiment_id, event.trial)
