"""Frontends attach to a running experiment and can stop it (real workers, a fake frontend)."""

from __future__ import annotations

import threading
import time

import pytest

from maggy import Searchspace, experiment
from maggy.core import events as ev
from maggy.core import run as run_module
from maggy.frontend import ExperimentHandle, plain_wait
from maggy.store import open_store
from maggy.trial import TrialState

pytestmark = pytest.mark.integration


def sleepy(seconds, reporter):
    import time

    for step in range(int(seconds * 20)):
        reporter.broadcast(float(step), step=step)
        time.sleep(0.05)
    return float(seconds)


def silent_sleeper(seconds):
    import time

    time.sleep(seconds)
    return float(seconds)


class StoppingFrontend:
    """Stops one trial, then the experiment, from another thread, as a stop button would."""

    def __init__(self, stop_whole: bool) -> None:
        self.stop_whole = stop_whole
        self.handle: ExperimentHandle | None = None
        self.waited = False
        self.events: list[str] = []

    def active(self) -> bool:
        return True

    def attach(self, handle: ExperimentHandle) -> None:
        self.handle = handle
        handle.subscribe(self.on_event)

    def on_event(self, event: ev.Event) -> None:
        self.events.append(type(event).__name__)
        if isinstance(event, ev.MetricPoints) and event.trial_id == 0 and not self.stop_whole:
            threading.Thread(target=self.handle.stop_trial, args=(0,)).start()
        if isinstance(event, ev.TrialStarted) and self.stop_whole and event.trial.trial_id == 1:
            threading.Thread(target=self.handle.stop_experiment).start()

    def wait(self, done: threading.Event) -> None:
        self.waited = True
        plain_wait(done)


def run_with(frontend, fn, space, tmp_path, **kw):
    store = str(tmp_path / "s.db")
    old = run_module.discover
    run_module.discover = lambda: [frontend]
    try:
        result = experiment.lagom(fn, searchspace=space, store=store, num_workers=2, hb_interval=0.1, **kw)
    finally:
        run_module.discover = old
    s = open_store(store)
    return result, s.get_experiment(result["experiment_id"]), s.get_trials(result["experiment_id"])


def test_a_frontend_stops_one_trial_while_the_rest_finish(tmp_path):
    fe = StoppingFrontend(stop_whole=False)
    space = Searchspace(seconds=("DISCRETE", [10, 0.2, 0.3]))
    started = time.time()
    result, record, trials = run_with(fe, sleepy, space, tmp_path, num_trials=3, optimizer="gridsearch")
    assert fe.waited and fe.handle.experiment_id == result["experiment_id"]
    assert trials[0].state is TrialState.STOPPED and trials[0].history
    assert [t.state for t in trials[1:]] == [TrialState.FINISHED, TrialState.FINISHED]
    assert record.status == "FINISHED" and result["stopped"] == 1
    assert time.time() - started < 8
    assert fe.events[-1] == "ExperimentFinished"


def test_stopping_the_experiment_ends_even_trials_that_never_report(tmp_path):
    fe = StoppingFrontend(stop_whole=True)
    space = Searchspace(seconds=("DISCRETE", [30, 31, 32, 33]))
    started = time.time()
    result, record, trials = run_with(
        fe, silent_sleeper, space, tmp_path, num_trials=4, optimizer="gridsearch"
    )
    assert time.time() - started < 15  # the 2 s grace, then the workers are killed
    assert record.status == "STOPPED" and result["status"] == "STOPPED"
    assert [t.state for t in trials] == [TrialState.STOPPED, TrialState.STOPPED]  # trials 2, 3 never started


def quick_reporter(i, reporter):
    import time

    for step in range(3):
        reporter.broadcast(float(i + step), step=step)
        time.sleep(0.01)
    return float(i)


class StopAfterFinished(StoppingFrontend):
    """Stops the experiment once ``count`` trials finished (quick trials: some are queued ahead then)."""

    def __init__(self, count: int) -> None:
        super().__init__(stop_whole=True)
        self.count = count
        self.finished = 0

    def on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.TrialFinished):
            self.finished += 1
            if self.finished == self.count:
                threading.Thread(target=self.handle.stop_experiment).start()


def test_stopping_quick_trials_handed_out_ahead_leaves_only_trials_that_ran(tmp_path):
    space = Searchspace(i=("INTEGER", [0, 10**6]))
    started = time.time()
    result, record, trials = run_with(StopAfterFinished(10), quick_reporter, space, tmp_path, num_trials=200)
    assert time.time() - started < 10
    assert record.status == "STOPPED" and 10 <= len(trials) < 200
    assert all(t.state.is_terminal and t.start is not None for t in trials)  # nothing queued is left over
    finished = [t for t in trials if t.state is TrialState.FINISHED]
    assert len(finished) >= 10
    for t in finished:  # every point of every finished trial arrived, once, in order
        i = t.params["i"]
        assert t.history == [[0, float(i)], [1, float(i + 1)], [2, float(i + 2)]] and t.metric == float(i)
