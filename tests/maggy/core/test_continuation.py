"""The rules of a resume and a warm start (maggy.core.continuation), on a real SQLite store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from maggy.core.continuation import find_experiment, load_earlier, load_warm_start, projected
from maggy.core.recovery import driver_identity
from maggy.searchspace import Searchspace
from maggy.store import ExperimentNotFound, ExperimentStatus, ExperimentStore, open_store
from maggy.testing.store_conformance import make_record
from maggy.trial import CUT_SHORT, Trial, TrialState

SPACE = Searchspace(lr=("DOUBLE", [0.001, 0.1]), units=("DISCRETE", [32, 64]))


@pytest.fixture
def store(tmp_path: Path) -> ExperimentStore:
    with open_store(tmp_path / "s.db") as s:
        yield s


def _trial(i: int, state: TrialState, metric: float | None = None, **kw: object) -> Trial:
    params = kw.pop("params", {"lr": 0.01 * (i + 1), "units": 32})
    return Trial(trial_id=i, params=params, state=state, metric=metric, **kw)  # type: ignore[arg-type]


def _stored(store: ExperimentStore, trials: list[Trial], status: str = "FAILED", **kw: object) -> str:
    record = make_record(searchspace=SPACE.to_dict(), status=status, **kw)
    store.create_experiment(record)
    for trial in trials:
        store.save_trial(record.experiment_id, trial)
    return record.experiment_id


# ---- Searchspace.project: the rules of a changed search space ----------------------------------


def test_project_keeps_shared_params_and_drops_removed_ones() -> None:
    new = Searchspace(lr=("DOUBLE", [0.001, 0.1]))
    assert new.project({"lr": 0.01, "units": 32}) == {"lr": 0.01}


def test_project_gives_an_added_param_its_default_or_leaves_the_point_out() -> None:
    new = Searchspace(lr=("DOUBLE", [0.001, 0.1]), units=("DISCRETE", [32, 64]))
    new.add("act", ("CATEGORICAL", ["relu", "tanh"]), default="relu")
    assert new.project({"lr": 0.01, "units": 32}) == {"lr": 0.01, "units": 32, "act": "relu"}
    new.add("depth", ("INTEGER", [1, 4]))  # no default
    assert new.project({"lr": 0.01, "units": 32}) is None
    assert new.project({"lr": 0.01, "units": 32, "depth": 2.0}) == {
        "lr": 0.01,
        "units": 32,
        "act": "relu",
        "depth": 2,
    }


def test_project_widened_range_keeps_a_point_a_narrowed_one_may_not() -> None:
    wider = Searchspace(lr=("DOUBLE", [0.0001, 1.0]), units=("DISCRETE", [16, 32, 64]))
    narrower = Searchspace(lr=("DOUBLE", [0.05, 0.1]), units=("DISCRETE", [32, 64]))
    fewer_choices = Searchspace(lr=("DOUBLE", [0.001, 0.1]), units=("DISCRETE", [64]))
    point = {"lr": 0.01, "units": 32}
    assert wider.project(point) == point
    assert narrower.project(point) is None
    assert fewer_choices.project(point) is None


def test_project_keeps_json_kinds_apart() -> None:
    space = Searchspace(flag=("CATEGORICAL", [1, "1", None]))
    assert space.project({"flag": True}) is None  # True is not 1 once it has been through JSON
    assert space.project({"flag": 1}) == {"flag": 1}
    assert space.project({"flag": None}) == {"flag": None}


def test_add_refuses_a_default_outside_the_region() -> None:
    space = Searchspace()
    with pytest.raises(ValueError, match=r"default 9 is not in its region"):
        space.add("depth", ("INTEGER", [1, 4]), default=9)
    assert "depth" not in space
    cats = Searchspace()  # None is a value like any other
    cats.add("norm", ("CATEGORICAL", ["batch", None]), default=None)
    assert cats.defaults() == {"norm": None}


def test_projected_leaves_out_trials_outside_the_space() -> None:
    narrower = Searchspace(lr=("DOUBLE", [0.015, 0.1]), units=("DISCRETE", [32, 64]))
    trials = [_trial(0, TrialState.FINISHED, 1.0), _trial(1, TrialState.FINISHED, 2.0)]  # lr 0.01, 0.02
    inside = projected(trials, narrower)
    assert [t.trial_id for t in inside] == [1]
    assert trials[0].params == {"lr": 0.01, "units": 32}  # the originals are untouched


# ---- load_earlier: what a resume keeps, re-runs and counts --------------------------------------


def test_resume_keeps_every_trial_and_reruns_lost_and_cut_short_ones(store: ExperimentStore) -> None:
    trials = [
        _trial(0, TrialState.FINISHED, 0.5, history=[[s, s / 2] for s in range(5000)]),
        _trial(1, TrialState.LOST, error="worker died"),
        _trial(2, TrialState.STOPPED, 0.2, error=f"{CUT_SHORT} (interrupted by the user)"),
        _trial(3, TrialState.STOPPED, 0.1),  # its own stop button: a decision, kept as is
        _trial(4, TrialState.LOST, error="worker died"),
        _trial(5, TrialState.FINISHED, 0.7, params={"lr": 0.05, "units": 32}, retry_of=4),
        _trial(6, TrialState.ERROR, error="ValueError"),
        _trial(7, TrialState.EARLY_STOPPED, 0.05),
    ]
    eid = _stored(store, trials, config={"num_trials_asked": 7})
    earlier = load_earlier(store, find_experiment(store, eid[:15], "resume"), "max", "optimization", SPACE)
    assert [t.trial_id for t in earlier.trials] == list(range(8))
    assert len(earlier.trials[0].history) <= 2048 and earlier.trials[0].history[-1] == [4999, 2499.5]
    # 1 (LOST, never retried) and 2 (cut short by the interrupt) run again; 4 had its retry (5).
    assert [(r.trial_id, r.retry_of, r.state) for r in earlier.reruns] == [
        (8, 1, TrialState.PENDING),
        (9, 2, TrialState.PENDING),
    ]
    assert earlier.reruns[0].params == trials[1].params
    assert earlier.counted == 7  # every trial but the retry counts towards num_trials
    assert earlier.target == 7
    assert earlier.next_id == 10
    # The optimizer hears of all but 4 (its retry 5 replaced it); 1 and 2 as running again.
    assert [t.trial_id for t in earlier.learned_from()] == [0, 1, 2, 3, 5, 6, 7]


def test_a_trial_cut_short_runs_again_in_the_new_space_or_gives_its_place(store: ExperimentStore) -> None:
    eid = _stored(
        store,
        [
            _trial(0, TrialState.LOST, params={"lr": 0.01, "units": 32}),
            _trial(1, TrialState.LOST, params={"lr": 0.09, "units": 32}),
            _trial(2, TrialState.FINISHED, 0.5),
        ],
    )
    narrower = Searchspace(lr=("DOUBLE", [0.001, 0.05]), units=("DISCRETE", [32, 64]))
    narrower.add("act", ("CATEGORICAL", ["relu", "tanh"]), default="tanh")
    earlier = load_earlier(store, find_experiment(store, eid, "resume"), "max", "optimization", narrower)
    assert [(r.retry_of, r.params) for r in earlier.reruns] == [(0, {"lr": 0.01, "units": 32, "act": "tanh"})]
    assert earlier.counted == 2  # trial 1 lies outside: not run again, a new suggestion replaces it


def test_resume_of_a_running_experiment_is_refused(store: ExperimentStore) -> None:
    eid = _stored(store, [], status="RUNNING", config={"driver": driver_identity()})  # this live process
    record = find_experiment(store, eid, "resume")
    with pytest.raises(ValueError, match=rf"{eid} is still running \(driver pid {os.getpid()}"):
        load_earlier(store, record, "max", "optimization", SPACE)


def test_resume_refuses_another_direction_or_type(store: ExperimentStore) -> None:
    record = find_experiment(store, _stored(store, []), "resume")
    with pytest.raises(ValueError, match="keeps its direction: pass direction='max'"):
        load_earlier(store, record, "min", "optimization", SPACE)
    with pytest.raises(ValueError, match="experiment_type='optimization'"):
        load_earlier(store, record, "max", "ablation", SPACE)


def test_resume_of_an_ablation_with_a_changed_study_is_refused(store: ExperimentStore) -> None:
    study = Searchspace(ablated=("CATEGORICAL", ["base", "dense_1", "dropout"]))
    record = make_record(experiment_type="ablation", searchspace=study.to_dict(), status="STOPPED")
    store.create_experiment(record)
    same = Searchspace(ablated=("CATEGORICAL", ["base", "dense_1", "dropout"]))
    assert load_earlier(store, record, "max", "ablation", same).trials == []
    changed = Searchspace(ablated=("CATEGORICAL", ["base", "dense_1", "conv_2"]))
    with pytest.raises(
        ValueError, match=r"study differs .*base, dense_1, dropout then, base, dense_1, conv_2"
    ):
        load_earlier(store, record, "max", "ablation", changed)


def test_an_unknown_or_empty_reference_names_the_option(store: ExperimentStore) -> None:
    with pytest.raises(ExperimentNotFound, match=r"resume='2026': no experiment"):
        find_experiment(store, "2026", "resume")
    with pytest.raises(ValueError, match="warm_start: expected an experiment id"):
        find_experiment(store, " ", "warm_start")


# ---- load_warm_start --------------------------------------------------------------------------------


def test_warm_start_reads_ended_trials_of_each_experiment_once(store: ExperimentStore) -> None:
    a = _stored(store, [_trial(0, TrialState.FINISHED, 0.5), _trial(1, TrialState.LOST)])
    b = _stored(store, [_trial(0, TrialState.ERROR), _trial(1, TrialState.FINISHED, 0.9)])
    ids, trials = load_warm_start(store, [a, b, a], "max")
    assert ids == [a, b]
    assert [(t.trial_id, t.state) for t in trials] == [
        (0, TrialState.FINISHED),
        (0, TrialState.ERROR),
        (1, TrialState.FINISHED),
    ]


def test_warm_start_refuses_another_direction_and_the_resumed_experiment(store: ExperimentStore) -> None:
    a = _stored(store, [])
    with pytest.raises(ValueError, match="teach the optimizer the opposite"):
        load_warm_start(store, [a], "min")
    with pytest.raises(ValueError, match="is the one being resumed"):
        load_warm_start(store, [a], "max", exclude=a)


def test_a_bad_request_changes_nothing_in_the_store(store: ExperimentStore) -> None:
    eid = _stored(store, [_trial(0, TrialState.FINISHED, 0.5)], status=ExperimentStatus.STOPPED.value)
    before = (store.get_experiment(eid), store.get_trials(eid))
    record = find_experiment(store, eid, "resume")
    with pytest.raises(ValueError):
        load_earlier(store, record, "min", "optimization", SPACE)
    with pytest.raises(ValueError):
        load_warm_start(store, [eid], "min")
    assert (store.get_experiment(eid), store.get_trials(eid)) == before


def test_project_partial_leaves_a_gained_parameter_without_default_out_of_the_point() -> None:
    new = Searchspace(lr=("DOUBLE", [0.001, 0.1]), depth=("INTEGER", [1, 4]))
    assert new.project({"lr": 0.01, "units": 32}) is None
    assert new.project({"lr": 0.01, "units": 32}, partial=True) == {"lr": 0.01}
    assert new.project({"lr": 0.5}, partial=True) is None  # still outside: partial is not lenient on values
