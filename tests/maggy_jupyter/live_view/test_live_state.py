"""The live view's pure model: events folded into trial records, progress, best, ETA (no widgets)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from live_view_helpers import (
    FakeHandle,
    experiment_finished,
    experiment_started,
    points,
    trial_finished,
    trial_started,
)

from maggy.core import events as ev
from maggy.core.result import build_result
from maggy.trial import Trial, TrialState
from maggy_jupyter.live_view.series import Series
from maggy_jupyter.live_view.state import ExperimentState

EXP = "exp-test"


def folded(
    *events: ev.Event, direction: str = "max", num_trials: int = 6, now: float = 200.0
) -> ExperimentState:
    state = ExperimentState(EXP, "toy", num_trials, direction)
    for event in events:
        state.apply(event, now)
    return state


def test_every_final_state_and_a_retry_are_counted_like_the_result_dict():
    s = [trial_started(i, start=100.0 + i) for i in range(5)]
    retry = trial_started(5, start=120.0, retry_of=4)
    state = folded(
        experiment_started(num_trials=5),
        *s,
        points(0, [0.1, 0.5, 0.9]),
        ev.TrialLog(EXP, 2, ["epoch 1", "boom coming"]),
        trial_finished(s[0], TrialState.FINISHED, 0.9, end=110.0),
        trial_finished(s[1], TrialState.EARLY_STOPPED, 0.2),
        trial_finished(
            s[2], TrialState.ERROR, None, error="Traceback (most recent call last):\nValueError: x"
        ),
        trial_finished(s[3], TrialState.STOPPED, 0.4),
        trial_finished(s[4], TrialState.LOST, None, error="worker died"),
        retry,
    )
    summary = state.summary(now=130.0)
    assert (summary.done, summary.total, summary.running) == (5, 6, 1)  # the retry is one more trial to run
    assert (summary.finished, summary.early_stopped, summary.errors, summary.stopped, summary.lost) == (
        1,
        1,
        1,
        1,
        1,
    )
    assert summary.best_id == 0 and summary.best_metric == 0.9 and summary.best_params == {"lr": 0.1}
    record = state.trials[0]
    assert record.worker == "local-0" and record.duration(now=999.0) == pytest.approx(10.0)
    assert state.trials[5].retry_of == 4 and state.trials[5].duration(now=130.0) == pytest.approx(10.0)
    x, y, st = state.line(0, max_points=100)
    assert list(x) == [0, 1, 2] and y.tolist() == pytest.approx([0.1, 0.5, 0.9]) and st is TrialState.FINISHED
    text = state.log_text(2, max_lines=10)
    assert text.startswith("epoch 1\nboom coming") and "--- ERROR: ---" in text and "ValueError: x" in text
    assert [tid for tid, _ in state.running_ids()] == [5]


def _random_trials(rng: random.Random, n: int, budgets: bool = False) -> list[Trial]:
    states = [TrialState.FINISHED, TrialState.EARLY_STOPPED, TrialState.STOPPED, TrialState.ERROR]
    trials = []
    for i in range(n):
        st = rng.choice(states)
        metric = None if st is TrialState.ERROR else float(rng.randint(0, 5))  # ties on purpose
        budget = rng.choice([1.0, 3.0, 9.0]) if budgets else None  # as ASHA and Hyperband grant
        trials.append(Trial(i, {"x": i}, st, metric=metric, start=0.0, end=1.0, budget=budget))
    return trials


@pytest.mark.parametrize("budgets", [False, True])
@pytest.mark.parametrize("direction", ["max", "min"])
@pytest.mark.parametrize("seed", range(6))
def test_best_so_far_agrees_with_build_result(direction, seed, budgets):
    trials = _random_trials(random.Random(seed), 12, budgets)
    state = folded(direction=direction)
    # Fold in a shuffled finishing order: the best must not depend on arrival order.
    for trial in random.Random(seed + 100).sample(trials, len(trials)):
        state.apply(ev.TrialFinished(EXP, trial), 0.0)
    expected = build_result(EXP, trials, direction, 1.0, "FINISHED")
    summary = state.summary(now=1.0)
    assert (summary.best_id, summary.best_metric) == (expected["best_id"], expected["best_val"])


def test_best_prefers_finished_and_falls_back_to_partial_metrics():
    s0, s1, s2 = (trial_started(i) for i in range(3))
    state = folded(s0, s1, s2, trial_finished(s0, TrialState.EARLY_STOPPED, 5.0), direction="min")
    assert state.summary(1.0).best_id == 0  # only a partial metric so far
    state.apply(trial_finished(s1, TrialState.FINISHED, 7.0), 1.0)
    assert state.summary(1.0).best_id == 1  # a FINISHED trial wins over a better early-stopped one
    state.apply(trial_finished(s2, TrialState.FINISHED, 6.0), 1.0)
    assert state.summary(1.0).best_id == 2 and state.summary(1.0).best_metric == 6.0


def test_eta_is_throughput_times_what_is_left():
    state = ExperimentState(EXP, "toy", 20, "max")
    state.apply(experiment_started(num_trials=20), 0.0)
    assert state.summary(now=5.0).eta is None  # nothing done yet: no estimate
    for i in range(4):
        started = trial_started(i, start=0.0)
        state.apply(started, 0.0)
        state.apply(trial_finished(started, TrialState.FINISHED, 1.0, end=20.0), 20.0)
    summary = state.summary(now=20.0)
    assert summary.elapsed == pytest.approx(20.0) and summary.eta == pytest.approx(
        80.0
    )  # 16 left at 5 s each
    state.request_stop_experiment()
    assert state.summary(now=21.0).eta is None
    state.apply(experiment_finished("STOPPED"), 22.0)
    summary = state.summary(now=99.0)
    assert summary.eta is None and summary.status == "STOPPED" and summary.elapsed == pytest.approx(22.0)


def test_changes_name_only_what_moved_and_reset_when_taken():
    s0, s1 = trial_started(0), trial_started(1)
    state = folded(s0, s1)
    first = state.take_changes()
    assert first.lines == {0, 1} and first.structure
    state.apply(points(1, [0.3, 0.4]), 1.0)
    state.apply(ev.TrialLog(EXP, 0, ["hello"]), 1.0)
    changes = state.take_changes()
    assert changes.lines == {1} and changes.logs == {0} and changes.live and not changes.structure
    assert not state.take_changes()


def test_missed_events_are_recovered_from_trial_snapshots():
    # A point for a trial this view never saw start (attached mid-experiment): a RUNNING record.
    state = folded(points(3, [1.0]))
    assert state.trials[3].state is TrialState.RUNNING and len(state.trials[3].series) == 1
    started = trial_started(3, params={"lr": 0.5})
    history = [[0, 1.0], [1, 2.0], [2, 3.0]]
    state.apply(trial_finished(started, TrialState.FINISHED, 3.0, history=history, logs=["a", "b"]), 1.0)
    record = state.trials[3]
    assert record.params == {"lr": 0.5} and len(record.series) == 3 and record.logs == ["a", "b"]
    # Seeding from a handle's trial copies (how a view attaches to a running experiment).
    handle = FakeHandle(num_trials=2)
    handle.snapshot = [Trial(0, {"lr": 1}, TrialState.RUNNING, history=[[0, 0.5]], start=1.0)]
    seeded = ExperimentState.from_handle(handle)
    assert seeded.trials[0].series.last_value() == 0.5 and seeded.progress.total == 2
    summary = seeded.summary(now=4.0)
    assert summary.status == "RUNNING" and summary.elapsed == pytest.approx(3.0)  # from the first start


def test_logs_are_bounded_and_the_cut_is_reported():
    state = ExperimentState(EXP, "toy", 1, "max", max_log_lines=5)
    state.apply(trial_started(0), 0.0)
    state.apply(ev.TrialLog(EXP, 0, [f"line {i}" for i in range(8)]), 0.0)
    assert state.trials[0].logs == [f"line {i}" for i in range(3, 8)] and state.trials[0].dropped_logs == 3
    assert state.log_text(0, max_lines=2).splitlines() == [
        "... 6 earlier lines not shown",
        "line 6",
        "line 7",
    ]


def test_stop_requests_are_remembered_until_the_trial_ends():
    started = trial_started(0)
    state = folded(started)
    state.request_stop_trial(0)
    assert state.running_ids() == [(0, True)]
    state.apply(trial_finished(started, TrialState.STOPPED, 0.1), 1.0)
    assert state.running_ids() == [] and not state.trials[0].stop_requested


def test_series_grows_and_thins_keeping_both_ends():
    series = Series(capacity=2)
    for start in range(0, 5000, 100):
        series.extend([[s, s * 0.5] for s in range(start, start + 100)])
    assert len(series) == 5000 and series.last_value() == pytest.approx(4999 * 0.5)
    x, y = series.arrays(max_points=1000)
    assert x.dtype == np.float32 and len(x) == 1000 and (x[0], x[-1]) == (0, 4999)
    assert np.all(np.diff(x) > 0) and y[-1] == pytest.approx(2499.5)
    x_all, _ = series.arrays(max_points=10_000)
    assert len(x_all) == 5000
    with pytest.raises(ValueError):
        series.extend([[1, 2, 3]])


def test_a_warning_while_every_trial_so_far_failed_and_the_failure_once_failed():
    s0, s1 = trial_started(0), trial_started(1)
    tb = "Traceback (most recent call last):\nValueError: bad lr"
    state = folded(
        experiment_started(num_trials=3), s0, s1, trial_finished(s0, TrialState.ERROR, None, error=tb)
    )
    summary = state.summary(1.0)
    assert summary.failure is None and summary.warning == "every trial so far failed (1)"
    assert summary.first_error == "trial 0:\n" + tb
    reason = "all 2 trials failed; first error (trial 0): ValueError: bad lr"
    state.apply(trial_finished(s1, TrialState.ERROR, None, error=tb), 2.0)
    state.apply(experiment_finished("FAILED", {"status": "FAILED", "failure": reason}), 3.0)
    summary = state.summary(4.0)
    assert (summary.failure, summary.warning, summary.status) == (reason, None, "FAILED")
    assert summary.first_error == "trial 0:\n" + tb


def test_a_resumed_experiments_earlier_trials_are_rows_lines_and_counts_marked_earlier():
    earlier = (
        Trial(0, {"lr": 0.1}, TrialState.FINISHED, 0.7, history=[[0, 0.2], [1, 0.7]], start=1.0, end=9.0),
        Trial(1, {"lr": 0.2}, TrialState.LOST, None, start=1.0, end=3.0),
    )
    started = ev.ExperimentStarted(EXP, "toy", 3, 2, ("127.0.0.1", 1), earlier_trials=earlier)
    s = trial_started(2, retry_of=1)
    state = folded(started, s, points(2, [0.1]), num_trials=3)
    assert state.earlier_ids == frozenset({0, 1})
    assert [(r.trial_id, r.earlier) for r in state.rows(200.0)] == [(0, True), (1, True), (2, False)]
    x, y, st = state.line(0, max_points=100)
    assert x.tolist() == [0, 1] and y.tolist() == pytest.approx([0.2, 0.7]) and st is TrialState.FINISHED
    summary = state.summary(200.0)
    assert (summary.done, summary.total, summary.running, summary.earlier) == (2, 4, 1, 2)
    assert summary.best_id == 0 and state.running_ids() == [(2, False)]
    assert state.take_changes().lines == {0, 1, 2}  # the earlier lines get drawn too
