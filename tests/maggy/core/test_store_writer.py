"""StoreWriter: trials saved when they start, their progress while they run, and when they end;
writes that fail are kept and tried again, and what stays unsaved is reported."""

from __future__ import annotations

import sqlite3

from maggy.core import events as ev
from maggy.core.store_writer import StoreWriter
from maggy.store import ExperimentRecord, SQLiteStore, open_store
from maggy.trial import Trial, TrialState


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _record(exp_id: str = "e") -> ExperimentRecord:
    return ExperimentRecord(exp_id, "n", "", "optimization", None, "r", "max", 1, {}, "RUNNING", 0.0)


class FlakyStore(SQLiteStore):
    """A real SQLite store whose trial writes fail (as on a full disk) while ``failing`` is set,
    and which counts the points and log lines each write carries."""

    def __init__(self, path) -> None:
        super().__init__(path)
        self.failing = False
        self.points_written: list[int] = []
        self.lines_written: list[int] = []

    def save_trial_progress(self, experiment_id, trial, new_points, new_logs=()) -> None:
        if self.failing:
            raise sqlite3.OperationalError("database or disk is full")
        super().save_trial_progress(experiment_id, trial, new_points, new_logs)
        self.points_written.append(len(new_points))
        self.lines_written.append(len(new_logs))


def test_first_progress_is_saved_at_once_then_at_most_every_interval(tmp_path) -> None:
    store = open_store(tmp_path / "s.db")
    store.create_experiment(_record())
    clock = Clock()
    writer = StoreWriter(store, "e", progress_interval=2.0, clock=clock)
    started = Trial(0, {"x": 1}, TrialState.RUNNING, start=1.0)
    writer(ev.TrialStarted("e", started))

    def saved() -> Trial:
        return store.get_trials("e")[0]

    assert saved().state is TrialState.RUNNING and saved().history == []
    clock.now = 0.3
    writer(ev.MetricPoints("e", 0, [[0, 0.1]]))
    assert saved().history == [[0, 0.1]]  # the first points at once: a kill -9 now keeps them
    clock.now = 1.0
    writer(ev.MetricPoints("e", 0, [[1, 0.2]]))
    assert saved().history == [[0, 0.1]]  # within the interval: not yet
    clock.now = 2.5
    writer(ev.TrialLog("e", 0, ["epoch 1 done"]))
    writer(ev.MetricPoints("e", 0, [[2, 0.3]]))
    assert saved().history == [[0, 0.1], [1, 0.2]] and saved().logs == ["epoch 1 done"]  # on the log line
    clock.now = 4.6
    writer(ev.MetricPoints("e", 0, [[3, 0.4]]))
    assert saved().history == [[0, 0.1], [1, 0.2], [2, 0.3], [3, 0.4]]
    assert started.history == [] and started.logs == []  # the event's trial is not touched

    # The driver's trial in TrialFinished may hold a thinned history: the store keeps every point.
    final = Trial(0, {"x": 1}, TrialState.FINISHED, 0.9, [[9, 0.9]], ["epoch 1 done"], start=1.0, end=5.0)
    writer(ev.MetricPoints("e", 0, [[9, 0.9]]))
    writer(ev.TrialFinished("e", final))
    whole = saved()
    assert whole.history == [[0, 0.1], [1, 0.2], [2, 0.3], [3, 0.4], [9, 0.9]]
    assert whole.state is TrialState.FINISHED and whole.metric == 0.9 and whole.end == 5.0
    assert whole.logs == ["epoch 1 done"]
    clock.now = 10.0
    writer(ev.MetricPoints("e", 0, [[10, 1.0]]))  # a late point after the end changes nothing
    assert saved() == whole
    assert writer.flush() == {}


def test_each_write_carries_only_the_new_points(tmp_path) -> None:
    store = FlakyStore(tmp_path / "s.db")
    store.create_experiment(_record())
    clock = Clock()
    writer = StoreWriter(store, "e", progress_interval=2.0, clock=clock)
    writer(ev.TrialStarted("e", Trial(0, {}, TrialState.RUNNING, start=0.0)))
    for beat in range(100):
        clock.now = beat * 0.5
        writer(ev.MetricPoints("e", 0, [[beat * 100 + i, float(i)] for i in range(100)]))
    assert max(store.points_written) <= 500  # at most one interval's points, however long the curve
    writer(ev.TrialFinished("e", Trial(0, {}, TrialState.FINISHED, metric=1.0, start=0.0, end=60.0)))
    assert len(store.get_trials("e")[0].history) == 10_000


def test_each_write_carries_only_the_new_log_lines(tmp_path) -> None:
    store = FlakyStore(tmp_path / "s.db")
    store.create_experiment(_record())
    clock = Clock()
    writer = StoreWriter(store, "e", progress_interval=2.0, clock=clock)
    writer(ev.TrialStarted("e", Trial(0, {}, TrialState.RUNNING, start=0.0)))
    lines = [f"line {i}" for i in range(20_000)]
    for beat in range(100):
        clock.now = beat * 0.5
        writer(ev.TrialLog("e", 0, lines[beat * 200 : (beat + 1) * 200]))
    assert max(store.lines_written) <= 1000  # at most one interval's lines, however long the log
    # The driver's trial in TrialFinished holds a bounded tail of its log: the store keeps it all.
    tail = Trial(0, {}, TrialState.FINISHED, metric=1.0, logs=["[earlier lines]", "line 19999"], end=60.0)
    writer(ev.TrialFinished("e", tail))
    assert store.get_trials("e")[0].logs == lines and max(store.lines_written) <= 1000


def test_failed_writes_keep_the_latest_state_and_every_point_until_the_store_recovers(tmp_path) -> None:
    store = FlakyStore(tmp_path / "s.db")
    store.create_experiment(_record())
    clock = Clock()
    pauses: list[float] = []
    writer = StoreWriter(store, "e", progress_interval=2.0, clock=clock, sleep=pauses.append)
    writer(ev.TrialStarted("e", Trial(0, {"x": 0}, TrialState.RUNNING, start=0.0)))
    writer(ev.MetricPoints("e", 0, [[0, 0.0]]))

    store.failing = True  # the disk fills up
    clock.now = 2.0
    writer(ev.MetricPoints("e", 0, [[1, 1.0]]))
    assert len(pauses) == 2  # tried three times, with a short backoff
    writer(ev.TrialStarted("e", Trial(1, {"x": 1}, TrialState.RUNNING, start=2.0)))
    assert len(pauses) == 2  # while failing, other writes wait for the next retry: no stall per event
    writer(ev.MetricPoints("e", 0, [[2, 2.0]]))
    writer(ev.TrialFinished("e", Trial(0, {"x": 0}, TrialState.FINISHED, metric=2.0, start=0.0, end=2.5)))
    assert set(writer.unsaved()) == {0, 1}
    assert store.get_trials("e")[0].state is TrialState.RUNNING  # what the store had before

    store.failing = False  # space again: the next event after the interval writes everything
    clock.now = 4.5
    writer(ev.MetricPoints("e", 1, [[0, 5.0]]))
    trials = store.get_trials("e")
    assert trials[0].state is TrialState.FINISHED and trials[0].metric == 2.0
    assert trials[0].history == [[0, 0.0], [1, 1.0], [2, 2.0]]  # the failed write superseded, no point lost
    assert trials[1].state is TrialState.RUNNING and trials[1].history == [[0, 5.0]]
    assert writer.unsaved() == {} and writer.flush() == {}


def test_flush_reports_what_the_store_never_got(tmp_path) -> None:
    store = FlakyStore(tmp_path / "s.db")
    store.create_experiment(_record())
    clock = Clock()
    pauses: list[float] = []
    writer = StoreWriter(store, "e", clock=clock, sleep=pauses.append)
    writer(ev.TrialStarted("e", Trial(0, {}, TrialState.RUNNING, start=0.0)))
    store.failing = True
    for tid in (1, 2, 3):
        writer(ev.TrialStarted("e", Trial(tid, {}, TrialState.RUNNING, start=0.0)))
        writer(ev.TrialFinished("e", Trial(tid, {}, TrialState.FINISHED, metric=1.0, start=0.0, end=1.0)))
    pauses.clear()
    unsaved = writer.flush()
    assert sorted(unsaved) == [1, 2, 3] and "disk is full" in unsaved[1]
    assert len(pauses) == 2  # the backoff once; the rest tried once each, so a full disk cannot stall the end
    store.failing = False
    assert writer.flush() == {}
    assert [t.state for t in store.get_trials("e")] == [TrialState.RUNNING] + [TrialState.FINISHED] * 3
