"""get_policy, NoStopping, user policies, and check_due."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from maggy.earlystop import EarlyStopPolicy, MedianStoppingRule, NoStopping, check_due, get_policy
from maggy.trial import Trial, TrialState


class StopEverything(EarlyStopPolicy):
    def should_stop(self, running: Trial, finished: Sequence[Trial], direction: str) -> bool:
        return True


@pytest.mark.parametrize(
    ("spec", "cls"),
    [
        ("median", MedianStoppingRule),
        ("MEDIAN", MedianStoppingRule),
        (" Median ", MedianStoppingRule),
        ("none", NoStopping),
        ("None", NoStopping),
        (None, NoStopping),
        (StopEverything, StopEverything),
    ],
)
def test_get_policy_resolves(spec: Any, cls: type) -> None:
    assert type(get_policy(spec)) is cls


def test_default_is_median_and_instances_pass_through() -> None:
    assert type(get_policy()) is MedianStoppingRule
    policy = StopEverything()
    assert get_policy(policy) is policy
    assert policy.name == "StopEverything"


def test_unknown_name_lists_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown es_policy 'asha'.*'median', 'none'"):
        get_policy("asha")


@pytest.mark.parametrize("spec", [1, object(), ["median"], Trial])
def test_other_types_are_rejected(spec: Any) -> None:
    with pytest.raises(TypeError, match="es_policy must be"):
        get_policy(spec)


def test_no_stopping_never_stops() -> None:
    hopeless = Trial(trial_id=1, params={}, state=TrialState.RUNNING, history=[[0, -1e9]])
    best = [Trial(trial_id=2, params={}, state=TrialState.FINISHED, history=[[0, 1e9]])]
    assert NoStopping().should_stop(hopeless, best, "max") is False
    assert NoStopping().should_stop(hopeless, best, "min") is False
    with pytest.raises(ValueError, match="direction"):
        NoStopping().should_stop(hopeless, best, "up")


def test_policies_cannot_be_created_without_should_stop() -> None:
    with pytest.raises(TypeError):
        EarlyStopPolicy()  # type: ignore[abstract]


@pytest.mark.parametrize(
    ("now", "last_check", "n_finished", "due"),
    [
        (1000.0, None, 9, False),  # es_min not reached
        (1000.0, None, 10, True),  # never checked: due as soon as es_min is reached
        (1000.0, 800.0, 10, False),  # 200 s < 300 s since the last check
        (1100.0, 800.0, 10, True),  # exactly es_interval later
        (1200.0, 800.0, 12, True),
        (5000.0, 800.0, 3, False),  # interval passed, but es_min not reached
    ],
)
def test_check_due(now: float, last_check: float | None, n_finished: int, due: bool) -> None:
    assert check_due(now, last_check, es_interval=300, n_finished=n_finished, es_min=10) is due


def test_check_due_with_zero_minimum_and_interval() -> None:
    assert check_due(0.0, None, 0, 0, 0) is True
    assert check_due(5.0, 5.0, 0, 0, 0) is True
