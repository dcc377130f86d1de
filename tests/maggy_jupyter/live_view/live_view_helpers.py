"""Shared by the live view's tests: a fake ExperimentHandle and driver-like event builders."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from maggy.core import events as ev
from maggy.core.events import EventBus
from maggy.trial import Trial, TrialState

EXP = "exp-test"


class FakeHandle:
    """``ExperimentHandle``'s surface; records stop requests; ``publish`` plays the dispatcher."""

    experiment_id = EXP
    searchspace: dict[str, Any] = {}

    def __init__(self, num_trials: int = 4, direction: str = "max", name: str = "toy") -> None:
        self.num_trials = num_trials
        self.direction = direction
        self.name = name
        self.bus = EventBus()
        self.stopped: list[int] = []
        self.experiment_stops = 0
        self.snapshot: list[Trial] = []

    def subscribe(self, listener: Any) -> Any:
        return self.bus.subscribe(listener)

    def stop_trial(self, trial_id: int) -> bool:
        self.stopped.append(trial_id)
        return True

    def stop_experiment(self) -> None:
        self.experiment_stops += 1

    def trials(self) -> list[Trial]:
        return list(self.snapshot)

    def publish(self, *events: ev.Event) -> None:
        for event in events:
            self.bus.publish(event)


def experiment_started(num_trials: int = 4, workers: int = 2) -> ev.ExperimentStarted:
    return ev.ExperimentStarted(EXP, "toy", num_trials, workers, ("127.0.0.1", 1))


def trial_started(
    trial_id: int, params: dict[str, Any] | None = None, start: float = 100.0, **kw: Any
) -> ev.TrialStarted:
    trial = Trial(
        trial_id,
        dict(params or {"lr": 0.1 * (trial_id + 1)}),
        TrialState.RUNNING,
        start=start,
        worker=f"local-{trial_id % 2}",
        **kw,
    )
    return ev.TrialStarted(EXP, trial)


def points(trial_id: int, values: list[float], first_step: int = 0) -> ev.MetricPoints:
    return ev.MetricPoints(EXP, trial_id, [[first_step + i, v] for i, v in enumerate(values)])


def trial_finished(
    started: ev.TrialStarted,
    state: TrialState,
    metric: float | None,
    end: float = 110.0,
    history: list[list[float]] | None = None,
    **kw: Any,
) -> ev.TrialFinished:
    trial = replace(started.trial, state=state, metric=metric, end=end, history=list(history or []), **kw)
    return ev.TrialFinished(EXP, trial)


def experiment_finished(
    status: str = "FINISHED", result: dict[str, Any] | None = None
) -> ev.ExperimentFinished:
    return ev.ExperimentFinished(EXP, status, dict(result or {}))
