"""MedianStoppingRule on synthetic histories, in both directions."""

from __future__ import annotations

import math

import pytest

from maggy.earlystop import MedianStoppingRule
from maggy.earlystop.median import value_at
from maggy.trial import Trial, TrialState

RULE = MedianStoppingRule()


def trial(tid: int, history: list[list[float]], state: TrialState = TrialState.FINISHED) -> Trial:
    return Trial(trial_id=tid, params={}, state=state, history=history)


def running(history: list[list[float]]) -> Trial:
    return trial(99, history, TrialState.RUNNING)


def curve(values: list[float]) -> list[list[float]]:
    return [[step, v] for step, v in enumerate(values)]


# Three finished references; values at step 2: 3, 5, 7 -> median 5.0.
MAX_REFS = [trial(1, curve([1, 2, 3, 9])), trial(2, curve([3, 4, 5])), trial(3, curve([5, 6, 7, 1]))]
# The same curves negated for direction 'min': values -3, -5, -7 -> median -5.
MIN_REFS = [trial(t.trial_id, [[s, -v] for s, v in t.history]) for t in MAX_REFS]


@pytest.mark.parametrize(
    ("direction", "refs", "values", "stop"),
    [
        ("max", MAX_REFS, [1, 2, 4.9], True),  # latest 4.9 < median 5.0
        ("max", MAX_REFS, [1, 2, 5.0], False),  # equal is not worse
        ("max", MAX_REFS, [0, 9, 1], True),  # the latest value counts, not the best so far
        ("min", MIN_REFS, [-1, -2, -4.9], True),  # latest -4.9 > median -5.0
        ("min", MIN_REFS, [-1, -2, -5.0], False),
        ("min", MIN_REFS, [0, -9, -1], True),
    ],
)
def test_stops_only_when_strictly_worse_than_median(
    direction: str, refs: list[Trial], values: list[float], stop: bool
) -> None:
    assert RULE.should_stop(running(curve(values)), refs, direction) is stop


def test_median_uses_values_at_the_same_step_not_final_values() -> None:
    # Final values 9, 5 and 1 would give median 5; the values at step 1 are 2, 4, 6.
    assert RULE.should_stop(running(curve([0, 3.9])), MAX_REFS, "max") is True
    assert RULE.should_stop(running(curve([0, 4.0])), MAX_REFS, "max") is False


def test_worse_only_at_an_early_step() -> None:
    # At step 0 the references' values are 1, 3, 5 (median 3); the trial starts at 2 (worse) ...
    early = running([[0, 2.0]])
    assert RULE.should_stop(early, MAX_REFS, "max") is True
    # ... but has caught up by step 2 (5.5 vs median 5.0), so it is no longer stopped.
    later = running([[0, 2.0], [1, 3.0], [2, 5.5]])
    assert RULE.should_stop(later, MAX_REFS, "max") is False
    # Same story for 'min'.
    assert RULE.should_stop(running([[0, -2.0]]), MIN_REFS, "min") is True
    assert RULE.should_stop(running([[0, -2.0], [1, -3.0], [2, -5.5]]), MIN_REFS, "min") is False


def test_unaligned_steps() -> None:
    # References report at different steps; the running trial is at step 25.
    refs = [
        trial(1, [[10, 1.0], [20, 3.0], [30, 5.0]]),  # highest step <= 25 is 20: 3.0
        trial(2, [[5, 2.0], [15, 4.0], [25, 6.0]]),  # at 25: 6.0
        trial(3, [[0, 9.0], [40, 1.0]]),  # highest step <= 25 is 0: 9.0
        trial(4, [[10, 100.0], [24, 100.0]]),  # finished before 25: its last value, 100.0
        trial(5, [[30, 100.0]]),  # nothing at or before 25: ignored
    ]
    assert [value_at(t, 25) for t in refs] == [3.0, 6.0, 9.0, 100.0, None]
    # median(3, 6, 9, 100) = 7.5
    assert RULE.should_stop(running([[12, 30.0], [25, 7.4]]), refs, "max") is True
    assert RULE.should_stop(running([[12, 3.0], [25, 7.5]]), refs, "max") is False
    neg = [trial(t.trial_id, [[s, -v] for s, v in t.history]) for t in refs]
    assert RULE.should_stop(running([[12, -30.0], [25, -7.4]]), neg, "min") is True
    assert RULE.should_stop(running([[12, -3.0], [25, -7.5]]), neg, "min") is False


def test_an_early_stopped_reference_counts_only_up_to_where_it_was_stopped() -> None:
    stopped = trial(4, curve([0.0, 0.0]), TrialState.EARLY_STOPPED)  # stopped after step 1
    assert value_at(stopped, 1) == 0.0 and value_at(stopped, 2) is None
    # At step 1 it is a reference (median of 2, 4, 6, 0 = 3) ...
    assert RULE.should_stop(running(curve([0, 2.9])), [*MAX_REFS, stopped], "max") is True
    # ... at step 2 it is not: median of 3, 5, 7 stays 5 instead of dropping to 4.
    assert RULE.should_stop(running(curve([0, 0, 4.5])), [*MAX_REFS, stopped], "max") is True


def test_latest_step_is_the_highest_even_if_points_arrive_out_of_order() -> None:
    # Highest step 2 (value 4.9 < median 5.0); a later-arriving step-1 point is not the latest.
    assert RULE.should_stop(running([[0, 1.0], [2, 4.9], [1, 9.0]]), MAX_REFS, "max") is True
    assert RULE.should_stop(running([[0, 1.0], [2, 5.1], [1, 0.0]]), MAX_REFS, "max") is False


def test_even_number_of_references_uses_the_mean_of_the_middle_two() -> None:
    refs = [trial(1, curve([2.0])), trial(2, curve([4.0]))]  # median 3.0
    assert RULE.should_stop(running(curve([2.9])), refs, "max") is True
    assert RULE.should_stop(running(curve([3.0])), refs, "max") is False


def test_only_finished_and_early_stopped_trials_count() -> None:
    good = running(curve([5.0]))
    refs = [
        trial(1, curve([10.0]), TrialState.ERROR),
        trial(2, curve([10.0]), TrialState.STOPPED),
        trial(3, curve([10.0]), TrialState.LOST),
        trial(4, curve([10.0]), TrialState.RUNNING),
        trial(5, [], TrialState.FINISHED),
    ]
    assert RULE.should_stop(good, refs, "max") is False
    assert RULE.should_stop(good, [*refs, trial(6, curve([6.0]), TrialState.EARLY_STOPPED)], "max") is True


def test_the_running_trial_is_never_its_own_reference() -> None:
    me = running(curve([1.0, 10.0]))
    finished_copy = trial(99, curve([1.0, 10.0]))
    assert RULE.should_stop(me, [finished_copy], "max") is False


def test_no_references_or_empty_history_never_stops() -> None:
    assert RULE.should_stop(running(curve([-1e9])), [], "max") is False
    assert RULE.should_stop(running([]), MAX_REFS, "max") is False
    assert RULE.should_stop(running([]), MIN_REFS, "min") is False


def test_nan_points_are_ignored() -> None:
    refs = [trial(1, [[0, 1.0], [1, 3.0], [2, math.nan]])]  # at step 2: the value at step 1, 3.0
    assert value_at(refs[0], 2) == 3.0
    assert RULE.should_stop(running([[0, math.nan], [2, 2.9]]), refs, "max") is True
    # the latest comparable point is 2.0 at step 0, where the reference had 1.0
    assert RULE.should_stop(running([[0, 2.0], [2, math.nan]]), refs, "max") is False
    assert RULE.should_stop(running([[0, math.nan]]), refs, "max") is False  # nothing comparable yet


def test_inputs_are_not_mutated() -> None:
    refs = [trial(1, curve([1.0, 2.0]))]
    me = running(curve([0.0, 0.5]))
    before = [t.to_dict() for t in [*refs, me]]
    RULE.should_stop(me, refs, "max")
    assert [t.to_dict() for t in [*refs, me]] == before


def test_bad_direction() -> None:
    with pytest.raises(ValueError, match="direction must be 'max' or 'min'"):
        RULE.should_stop(running(curve([1.0])), MAX_REFS, "maximize")


def test_null_values_from_the_wire_count_as_nan() -> None:
    # The wire carries a value that is not a number as null; a rule must not raise over it.
    running_trial = Trial(9, {}, TrialState.RUNNING, history=[[0, None], [1, 0.1]])
    finished = [Trial(1, {}, TrialState.FINISHED, 1.0, [[0, None], [1, 0.5]])]
    assert MedianStoppingRule().should_stop(running_trial, finished, "max")
