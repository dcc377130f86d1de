"""DispatchQueue on its own: retries of LOST trials, and trials handed out ahead to a worker."""

from __future__ import annotations

import itertools

import pytest

from maggy.core.dispatch_queue import AHEAD_MAX_SECONDS, DispatchQueue
from maggy.trial import Trial, TrialState


def lost(trial_id: int, retry_of: int | None = None) -> Trial:
    return Trial(trial_id, {"x": trial_id}, TrialState.LOST, budget=3.0, retry_of=retry_of)


def test_a_lost_trial_is_rerun_until_its_chain_has_used_its_retries() -> None:
    queue, ids = DispatchQueue(ahead=False, max_retries=2), itertools.count(10)
    first = lost(0)
    trials = {0: first}
    rerun = queue.retry(first, trials, ids.__next__)
    assert rerun is not None and (rerun.trial_id, rerun.retry_of, rerun.params, rerun.budget) == (
        10,
        0,
        {"x": 0},
        3.0,
    )
    assert rerun.state is TrialState.PENDING and rerun.params is not first.params and len(queue) == 1
    trials[10] = rerun
    rerun.state = TrialState.LOST
    second = queue.retry(rerun, trials, ids.__next__)
    assert second is not None and second.retry_of == 10
    trials[11] = second
    second.state = TrialState.LOST
    assert queue.retry(second, trials, ids.__next__) is None  # two retries used
    assert next(ids) == 12  # no id taken for a retry that is not made
    assert [queue.next_retry(), queue.next_retry(), queue.next_retry()] == [rerun, second, None]


def test_no_retries_allowed_means_none_made() -> None:
    assert DispatchQueue(ahead=False, max_retries=0).retry(lost(0), {}, lambda: 1) is None


def test_a_trial_given_back_goes_before_waiting_retries_and_loses_its_worker() -> None:
    queue = DispatchQueue(ahead=True, max_retries=1)
    waiting = queue.retry(lost(0), {}, lambda: 5)
    queued = Trial(3, {"x": 3}, worker="w1")
    queue.give_back(queued)
    assert queued.worker is None and len(queue) == 2
    assert queue.drain_retries() == [queued, waiting] and len(queue) == 0


def test_only_quick_trials_hand_the_next_one_out_ahead() -> None:
    assert DispatchQueue.was_quick(Trial(0, {}, start=10.0, end=10.0 + AHEAD_MAX_SECONDS / 2))
    assert not DispatchQueue.was_quick(Trial(0, {}, start=10.0, end=10.0 + AHEAD_MAX_SECONDS))
    assert not DispatchQueue.was_quick(Trial(0, {}, start=10.0))  # not ended


def test_handing_out_ahead_needs_permission_a_free_slot_and_more_trials_than_workers() -> None:
    queue = DispatchQueue(ahead=True, max_retries=0, expected_workers=2)
    assert queue.may_hand_out_ahead(7, remaining=3, registered=1)
    assert not queue.may_hand_out_ahead(7, remaining=2, registered=1)  # as many as the expected workers
    assert not queue.may_hand_out_ahead(7, remaining=3, registered=3)  # more workers came than expected
    queue.hand_out(7, 42)
    assert queue.queued(7) == 42 and not queue.may_hand_out_ahead(7, remaining=9, registered=1)
    with pytest.raises(ValueError, match="already has trial 42 queued"):
        queue.hand_out(7, 43)
    assert queue.may_hand_out_ahead(8, remaining=9, registered=1)  # another registration
    assert queue.take(7) == 42 and queue.take(7) is None and queue.queued(7) is None
    queue.ahead = False
    assert not queue.may_hand_out_ahead(7, remaining=9, registered=1)


def test_stopping_drops_queued_trials_still_pending_and_remembers_them() -> None:
    queue = DispatchQueue(ahead=True, max_retries=0)
    pending, started = Trial(1, {}), Trial(2, {}, TrialState.RUNNING)
    trials = {1: pending, 2: started}
    queue.hand_out(7, 1)
    queue.hand_out(8, 2)
    queue.drop_queued(trials)
    assert trials == {2: started}  # the started one is the driver's to stop
    assert queue.was_dropped(1) and not queue.was_dropped(2) and not queue.was_dropped(None)
    assert queue.queued(7) == 1  # its worker's FINAL still finds it was queued (answered DONE)
