"""StoreWriter: trials saved when they start, their progress while they run, and when they end."""

from __future__ import annotations

from maggy.core import events as ev
from maggy.core.store_writer import StoreWriter
from maggy.store import ExperimentRecord, open_store
from maggy.trial import Trial, TrialState


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_running_progress_is_saved_at_most_every_interval_and_the_end_as_is(tmp_path) -> None:
    store = open_store(tmp_path / "s.db")
    store.create_experiment(
        ExperimentRecord("e", "n", "", "optimization", None, "r", "max", 1, {}, "RUNNING", 0.0)
    )
    clock = Clock()
    writer = StoreWriter(store, "e", progress_interval=2.0, clock=clock)
    started = Trial(0, {"x": 1}, TrialState.RUNNING, start=1.0)
    writer(ev.TrialStarted("e", started))

    def saved() -> Trial:
        return store.get_trials("e")[0]

    assert saved().state is TrialState.RUNNING and saved().history == []
    clock.now = 1.0
    writer(ev.MetricPoints("e", 0, [[0, 0.1]]))
    assert saved().history == []  # within the interval: not yet
    clock.now = 2.5
    writer(ev.TrialLog("e", 0, ["epoch 1 done"]))
    writer(ev.MetricPoints("e", 0, [[1, 0.2], [2, 0.3]]))
    assert saved().history == [[0, 0.1]] and saved().logs == ["epoch 1 done"]  # saved on the log line
    clock.now = 4.6
    writer(ev.MetricPoints("e", 0, [[3, 0.4]]))
    assert saved().history == [[0, 0.1], [1, 0.2], [2, 0.3], [3, 0.4]]
    assert started.history == []  # the event's trial is not touched: other listeners share it

    final = Trial(0, {"x": 1}, TrialState.FINISHED, metric=0.9, history=[[9, 0.9]], start=1.0, end=5.0)
    writer(ev.TrialFinished("e", final))
    assert saved() == final
    clock.now = 10.0
    writer(ev.MetricPoints("e", 0, [[10, 1.0]]))  # a late point after the end changes nothing
    assert saved() == final
