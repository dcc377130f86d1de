"""PercentileStoppingRule: the median rule at 50, stricter below, looser above, and get_policy."""

from __future__ import annotations

import numpy as np
import pytest

from maggy.earlystop import MedianStoppingRule, PercentileStoppingRule, get_policy
from maggy.trial import Trial, TrialState


def curve(values: list[float]) -> list[list[float]]:
    return [[step, v] for step, v in enumerate(values)]


def ended(tid: int, values: list[float], state: TrialState = TrialState.FINISHED) -> Trial:
    return Trial(trial_id=tid, params={}, state=state, history=curve(values))


def running(values: list[float]) -> Trial:
    return Trial(trial_id=99, params={}, state=TrialState.RUNNING, history=curve(values))


# Running averages at step 0 are the first values: 1, 2, 3, 4, 5.
REFS = [ended(i, [float(i)]) for i in range(1, 6)]


@pytest.mark.parametrize(
    ("percentile", "direction", "best", "stop"),
    [
        (25.0, "max", 3.9, True),  # the cut for the top quarter (max) is 4.0
        (25.0, "max", 4.0, False),  # a tie is not stopped
        (50.0, "max", 2.9, True),  # median 3.0
        (75.0, "max", 2.0, False),  # the cut is 2.0
        (75.0, "max", 1.9, True),
        (10.0, "max", 4.5, True),  # 4.6: interpolated between 5 and 4
        (25.0, "min", 2.1, True),  # best first for 'min': 1, 2, ... cut 2.0
        (25.0, "min", 2.0, False),
        (0.0, "max", 4.99, True),  # 0: only the best reference's level survives
        (100.0, "max", 1.0, False),  # 100: never stops above the worst
    ],
)
def test_cut_by_percentile(percentile: float, direction: str, best: float, stop: bool) -> None:
    rule = PercentileStoppingRule(percentile)
    assert rule.should_stop(running([best]), REFS, direction) is stop


def test_fifty_is_the_median_rule_exactly() -> None:
    rng = np.random.default_rng(0)
    median, fifty = MedianStoppingRule(), PercentileStoppingRule(50)
    for _ in range(300):
        n = int(rng.integers(1, 8))
        refs = [ended(i, rng.normal(size=int(rng.integers(1, 6))).round(1).tolist()) for i in range(n)]
        run = running(rng.normal(size=int(rng.integers(1, 6))).round(1).tolist())
        for direction in ("max", "min"):
            assert fifty.should_stop(run, refs, direction) == median.should_stop(run, refs, direction)


def test_ignores_untrusted_references_and_empty_history() -> None:
    rule = PercentileStoppingRule(25)
    bad_refs = [ended(1, [9.0], TrialState.STOPPED), ended(2, [9.0], TrialState.ERROR)]
    assert rule.should_stop(running([0.0]), bad_refs, "max") is False
    assert rule.should_stop(running([]), REFS, "max") is False
    with pytest.raises(ValueError, match="direction"):
        rule.should_stop(running([1.0]), REFS, "up")


@pytest.mark.parametrize("value", [-1, 100.5, "25", True, float("nan")])
def test_bad_percentile_is_rejected(value: object) -> None:
    with pytest.raises(ValueError, match=r"percentile must be a number in \[0, 100\]"):
        PercentileStoppingRule(value)  # type: ignore[arg-type]


def test_get_policy_knows_percentile() -> None:
    rule = get_policy("Percentile")
    assert isinstance(rule, PercentileStoppingRule) and rule.percentile == 25.0
    assert rule.name == "PercentileStoppingRule(25)"
    custom = PercentileStoppingRule(percentile=10)
    assert get_policy(custom) is custom
