"""Ablation bars: the result dict's deltas, most harmful removal first."""

from __future__ import annotations

from maggy.ablation.summary import ablation_summary
from maggy.trial import Trial, TrialState
from maggy.visualization import ablation_deltas, is_ablation


def A(tid, label, metric, state=TrialState.FINISHED):
    return Trial(tid, {"ablated": label}, state, metric=metric, end=float(tid))


TRIALS = [
    A(0, "base", 0.80),
    A(1, "feature:pclass", 0.70),
    A(2, "feature:fare", 0.82),
    A(3, "layer:dense_1", 0.60),
    A(4, "layer:dense_2", None, TrialState.ERROR),
]


def test_bars_carry_the_summary_deltas_ordered_by_harm():
    got = ablation_deltas(TRIALS, "max")
    want = ablation_summary(TRIALS, "max")
    assert got.base_id == 0 and got.base_val == 0.80
    assert {b.label: b.delta for b in got.bars} == want["deltas"]
    assert [b.label for b in got.bars] == ["layer:dense_1", "feature:pclass", "feature:fare"]
    assert [b.hurt for b in got.bars] == [True, True, False]
    assert got.most_important == want["most_important"] == "layer:dense_1"
    assert (got.bars[0].kind, got.bars[0].component, got.bars[0].trial_id) == ("layer", "dense_1", 3)
    low = ablation_deltas(TRIALS, "min")
    assert [b.label for b in low.bars][0] == "feature:fare"  # for min, a higher metric is the harm


def test_is_ablation_tells_ablation_trials_from_hpo_ones():
    assert is_ablation(TRIALS)
    assert not is_ablation([Trial(0, {"lr": 0.1})])
    assert not is_ablation([])
