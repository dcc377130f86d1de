"""ExperimentSummary: one experiment's running summary folded from driver events, pure, fake clock."""

from __future__ import annotations

import pytest

from maggy.core import events as ev
from maggy.core.result import build_result
from maggy.core.summary import ExperimentSummary, FirstError
from maggy.trial import Trial, TrialState

TRACEBACK = """Traceback (most recent call last):
  File "/site-packages/maggy/worker/invoke.py", line 45, in call_training_function
    return fn(**kwargs)
  File "<dynamic-code>", line 4, in train
ValueError: bad lr"""


def trial(i, state=TrialState.RUNNING, metric=None, **kw):
    kw.setdefault("start", 100.0 + i)
    if state.is_terminal:
        kw.setdefault("end", 110.0 + i)
    return Trial(i, {"lr": i / 10}, state=state, metric=metric, **kw)


def started(s: ExperimentSummary, now: float = 100.0, num_trials: int = 4) -> None:
    s.apply(ev.ExperimentStarted("e", "demo", num_trials, 2, ("h", 1)), now)


def run_through(s: ExperimentSummary, *trials: Trial, now: float = 120.0) -> None:
    for t in trials:
        s.apply(
            ev.TrialStarted("e", Trial(t.trial_id, t.params, state=TrialState.RUNNING, start=t.start)), now
        )
        s.apply(ev.TrialFinished("e", t), now)


def test_counts_done_running_total_and_status_follow_the_events():
    s = ExperimentSummary("e", "", 4, "max")
    assert s.status == "WAITING" and s.live and s.done == 0 and s.best() is None
    started(s)
    assert s.status == "RUNNING" and s.name == "demo" and s.num_workers == 2
    run_through(s, trial(0, TrialState.FINISHED, 0.5), trial(1, TrialState.EARLY_STOPPED, 0.9))
    s.apply(ev.TrialStarted("e", trial(2)), 121.0)
    assert (s.done, s.running, s.total) == (2, 1, 4)
    counts = s.counts()
    assert counts[TrialState.FINISHED] == counts[TrialState.EARLY_STOPPED] == counts[TrialState.RUNNING] == 1
    assert counts[TrialState.ERROR] == 0
    # Points and logs do not change the summary.
    assert not s.apply(ev.MetricPoints("e", 2, [[0, 1.0]]), 122.0)
    assert not s.apply(ev.TrialLog("e", 2, ["x"]), 122.0)
    s.apply(ev.ExperimentFinished("e", "STOPPED", {"failure": None}), 130.0)
    assert s.status == "STOPPED" and not s.live and s.failure is None and s.warning is None


def test_a_retry_of_a_lost_trial_is_one_more_trial_to_run():
    s = ExperimentSummary("e", "", 2, "max")
    started(s, num_trials=2)
    run_through(s, trial(0, TrialState.LOST))
    s.apply(ev.TrialStarted("e", trial(2, retry_of=0)), 121.0)
    assert s.total == 3


def test_the_best_is_the_results_best_with_budgets():
    s = ExperimentSummary("e", "", 4, "max")
    started(s)
    trials = [
        trial(0, TrialState.FINISHED, 0.99, budget=1),
        trial(1, TrialState.FINISHED, 0.80, budget=3),
        trial(2, TrialState.FINISHED, 0.85, budget=3),
        trial(3, TrialState.EARLY_STOPPED, 0.95, budget=1),
    ]
    run_through(s, *trials)
    best = s.best()
    assert best is not None and best.trial_id == 2
    assert build_result("e", trials, "max", 1.0, "FINISHED")["best_id"] == best.trial_id


def test_trials_are_kept_without_history_or_logs_and_later_snapshots_win():
    s = ExperimentSummary("e", "", 1, "min")
    started(s, num_trials=1)
    t = trial(0, history=[[0, 1.0]] * 100, logs=["a"] * 100)
    s.apply(ev.TrialStarted("e", t), 100.0)
    assert s.trials[0].history == [] and s.trials[0].logs == []
    assert t.history and t.logs  # the event's snapshot is untouched
    s.apply(ev.TrialFinished("e", trial(0, TrialState.FINISHED, 0.3)), 111.0)
    assert s.trials[0].state is TrialState.FINISHED and s.best().metric == 0.3


def test_seeding_from_trial_copies_starts_a_summary_attached_mid_experiment():
    handle = type(
        "H",
        (),
        {
            "experiment_id": "e",
            "name": "n",
            "num_trials": 3,
            "direction": "max",
            "trials": lambda self: [trial(0, TrialState.FINISHED, 1.0), trial(1)],
        },
    )()
    s = ExperimentSummary.from_handle(handle)
    assert s.status == "RUNNING" and (s.done, s.running) == (1, 1) and s.best().trial_id == 0
    assert s.began() == 100.0  # no ExperimentStarted seen: the first trial's start


def test_while_every_trial_so_far_failed_it_warns_with_the_first_error():
    s = ExperimentSummary("e", "", 4, "max")
    started(s)
    run_through(s, trial(1, TrialState.ERROR, error="second\n" + TRACEBACK, end=120.0))
    run_through(s, trial(0, TrialState.ERROR, error=TRACEBACK, end=115.0))
    assert s.failure is None and s.warning == "every trial so far failed (2)"
    first = s.first_error()
    tail = 'Traceback (most recent call last):\n  File "<dynamic-code>", line 4, in train\nValueError: bad lr'
    assert first == FirstError(0, tail)  # the first to end, maggy's frames left out
    run_through(s, trial(2, TrialState.FINISHED, 0.5))
    assert s.warning is None and s.first_error() is None  # one trial worked: no warning


def test_a_failed_experiment_shows_the_engines_reason_and_the_first_error():
    s = ExperimentSummary("e", "", 1, "max")
    started(s, num_trials=1)
    run_through(s, trial(0, TrialState.LOST))  # no traceback: its state stands in
    s.apply(ev.ExperimentFinished("e", "FAILED", {"failure": "the only trial failed (trial 0): LOST"}), 130.0)
    assert s.failure == "the only trial failed (trial 0): LOST" and s.warning is None
    assert s.first_error() == FirstError(0, "LOST")


def test_a_failed_experiment_without_a_reason_or_a_failed_trial():
    s = ExperimentSummary("e", "", 1, "max")
    started(s, num_trials=1)
    s.apply(ev.ExperimentFinished("e", "FAILED", {}), 130.0)
    assert s.failure == "the experiment failed" and s.first_error() is None


@pytest.mark.parametrize(
    ("events_done", "now", "eta"),
    [(0, 150.0, None), (1, 150.0, 150.0), (4, 150.0, 0.0)],
)
def test_elapsed_and_eta_from_the_throughput_so_far(events_done, now, eta):
    s = ExperimentSummary("e", "", 4, "max")
    started(s, now=100.0)
    run_through(s, *[trial(i, TrialState.FINISHED, 0.1) for i in range(events_done)])
    assert s.elapsed(now) == 50.0
    assert s.eta(now) == eta


def test_elapsed_stops_at_the_end_and_eta_is_none_after_it():
    s = ExperimentSummary("e", "", 2, "max")
    started(s, now=100.0)
    run_through(s, trial(0, TrialState.FINISHED, 0.1))
    s.apply(ev.ExperimentFinished("e", "STOPPED", {}), 130.0)
    assert s.elapsed(500.0) == 30.0 and s.eta(500.0) is None
    assert ExperimentSummary().elapsed(5.0) == 0.0  # nothing started


def resumed(s: ExperimentSummary, earlier: list[Trial], num_trials: int, now: float = 200.0) -> None:
    s.apply(ev.ExperimentStarted("e", "demo", num_trials, 2, ("h", 1), earlier_trials=tuple(earlier)), now)


def test_a_resumed_experiments_earlier_trials_count_in_progress_and_best():
    s = ExperimentSummary("e", "", 4, "max")
    earlier = [
        trial(0, TrialState.FINISHED, 0.9, history=[[0, 0.5], [1, 0.9]]),
        trial(1, TrialState.ERROR, error=TRACEBACK),
        trial(2, TrialState.LOST),  # re-run by this run as a new trial (retry_of=2)
    ]
    resumed(s, earlier, num_trials=4)  # the 3 earlier trials count (as suggested ones), 1 new to run
    assert s.earlier == frozenset({0, 1, 2})
    assert s.status == "RUNNING" and s.done == 3 and s.running == 0
    assert s.total == 4  # the re-run of the LOST one is a retry: counted once it starts
    assert s.trials[0].history == []  # kept without histories, like every trial
    assert s.best().trial_id == 0
    s.apply(ev.TrialStarted("e", trial(3, retry_of=2)), 201.0)
    s.apply(ev.TrialStarted("e", trial(4)), 201.0)
    assert s.total == 5 and s.running == 2  # a re-run of an earlier LOST trial is one more, as a retry
    run_through(s, trial(3, TrialState.FINISHED, 0.95, retry_of=2), trial(4, TrialState.LOST))
    s.apply(ev.TrialStarted("e", trial(5, retry_of=4)), 202.0)
    assert s.total == 6  # and so is a retry of this run's LOST trial
    run_through(s, trial(5, TrialState.FINISHED, 0.1, retry_of=4))
    assert (s.done, s.total) == (6, 6) and s.best().trial_id == 3
    assert s.earlier == frozenset({0, 1, 2})  # new trials are not earlier ones


def test_a_resumed_experiments_eta_uses_this_runs_throughput_only():
    s = ExperimentSummary("e", "", 4, "max")
    resumed(s, [trial(i, TrialState.FINISHED, 0.1) for i in range(2)], num_trials=4, now=100.0)
    assert s.eta(150.0) is None  # nothing done in this run yet: the earlier trials took no time here
    run_through(s, trial(2, TrialState.FINISHED, 0.2))
    assert s.elapsed(150.0) == 50.0 and s.eta(150.0) == 50.0  # 1 done in 50 s, 1 left


def test_earlier_trials_and_a_new_trials_failures_make_no_warning_while_one_earlier_trial_worked():
    s = ExperimentSummary("e", "", 3, "max")
    resumed(s, [trial(0, TrialState.FINISHED, 0.5)], num_trials=3)
    run_through(s, trial(1, TrialState.ERROR, error=TRACEBACK))
    assert s.warning is None


def test_a_new_experiment_has_no_earlier_trials():
    s = ExperimentSummary("e", "", 2, "max")
    started(s, num_trials=2)
    assert s.earlier == frozenset() and s.total == 2


def test_earlier_trials_seeded_before_experiment_started_are_not_counted_twice():
    earlier = [trial(0, TrialState.LOST), trial(1, TrialState.FINISHED, 0.5, retry_of=0)]
    s = ExperimentSummary("e", "", 3, "max")
    s.seed(earlier)  # a view built from a handle whose trials already hold the earlier ones
    resumed(s, earlier, num_trials=3)
    assert s.total == 4 and s.done == 2 and s.earlier == frozenset({0, 1})
