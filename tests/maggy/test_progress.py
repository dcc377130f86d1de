"""The terminal progress bar: how an experiment ended is on screen, and why it failed."""

from __future__ import annotations

import io

from maggy.core import events as ev
from maggy.progress import ConsoleProgress
from maggy.trial import Trial, TrialState

TRACEBACK = """Traceback (most recent call last):
  File "/site-packages/maggy/worker/invoke.py", line 45, in call_training_function
    return fn(**kwargs)
  File "<dynamic-code>", line 4, in train
ValueError: bad x 0.5"""


def _run(states: list[TrialState], status: str, failure: str | None = None) -> tuple[str, ConsoleProgress]:
    out = io.StringIO()
    bar = ConsoleProgress("max", len(states), file=out)
    for i, state in enumerate(states):
        trial = Trial(i, {"x": i}, state=state, metric=1.0 if state is TrialState.FINISHED else None)
        trial.error = TRACEBACK if state is TrialState.ERROR else None
        bar(ev.TrialStarted("e", trial))
        bar(ev.TrialFinished("e", trial))
    bar(ev.ExperimentFinished("e", status, {"failure": failure}))
    return out.getvalue(), bar


def test_a_failed_experiment_turns_the_bar_red_and_prints_why_with_the_users_frames():
    text, bar = _run(
        [TrialState.ERROR] * 3, "FAILED", "all 3 trials failed; first error (trial 0): ValueError: bad x 0.5"
    )
    assert bar._bar.colour == "red"
    assert "maggy failed" in text and "errors=3" in text
    assert (
        "maggy: experiment FAILED: all 3 trials failed; first error (trial 0): ValueError: bad x 0.5" in text
    )
    assert '  File "<dynamic-code>", line 4, in train' in text and "maggy/worker" not in text


def test_a_finished_experiment_keeps_the_plain_bar_and_prints_no_failure():
    text, bar = _run([TrialState.ERROR, TrialState.FINISHED], "FINISHED")
    assert bar._bar.colour is None
    assert "FAILED" not in text and "failed" not in text


def test_a_stopped_experiment_says_so():
    text, bar = _run([TrialState.STOPPED], "STOPPED")
    assert "maggy stopped" in text and bar._bar.colour == "yellow"


def test_the_bars_best_is_the_results_best_with_budgets():
    # ASHA: a metric after budget 1 does not compare with one after budget 9 (maggy.core.result).
    out = io.StringIO()
    bar = ConsoleProgress("max", 3, file=out)
    for i, (metric, budget) in enumerate([(0.99, 1), (0.80, 9), (0.85, 9)]):
        trial = Trial(i, {"x": i}, state=TrialState.FINISHED, metric=metric, budget=budget)
        bar(ev.TrialStarted("e", trial))
        bar(ev.TrialFinished("e", trial))
    assert "best=0.85" in out.getvalue().splitlines()[-1].split("\r")[-1]
    assert bar._bar.n == 3


def test_a_retried_lost_trial_adds_one_to_the_bars_total():
    bar = ConsoleProgress("max", 2, file=io.StringIO())
    lost = Trial(0, {}, state=TrialState.LOST)
    bar(ev.TrialStarted("e", lost))
    bar(ev.TrialFinished("e", lost))
    bar(ev.TrialStarted("e", Trial(1, {}, state=TrialState.RUNNING, retry_of=0)))
    assert bar._bar.total == 3 and bar._bar.n == 1


def test_a_resumed_experiment_counts_its_earlier_trials_and_says_so_once():
    out = io.StringIO()
    bar = ConsoleProgress("max", 3, file=out)
    earlier = tuple(Trial(i, {"x": i}, state=TrialState.FINISHED, metric=float(i)) for i in range(2))
    started = ev.ExperimentStarted("e", "demo", 3, 1, ("h", 1), earlier_trials=earlier)
    bar(started)
    assert bar._bar.total == 3 and bar._bar.n == 2
    new = Trial(2, {"x": 2}, state=TrialState.RUNNING)
    bar(ev.TrialStarted("e", new))
    bar(ev.TrialFinished("e", Trial(2, {"x": 2}, state=TrialState.FINISHED, metric=0.5)))
    bar(ev.ExperimentFinished("e", "FINISHED", {}))
    text = out.getvalue()
    assert text.count("resumed: 2 earlier trials") == 1
    assert bar._bar.n == 3 and "best=1" in text.splitlines()[-1].split("\r")[-1]
