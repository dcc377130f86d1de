"""``maggy.Study``: ask-and-tell for a loop the user drives, on a real SQLite store.

The experiment a study makes is an ordinary one: it is in the store from the start, its trials
as they go, and ``lagom(resume=...)`` continues it on real worker processes (and the other way
round: ``Study(resume=...)`` continues a lagom experiment).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

import maggy
from maggy import Searchspace, experiment
from maggy.optimizer import Asha, GridSearch
from maggy.store import ExperimentStatus, open_store
from maggy.study import Study
from maggy.trial import CUT_SHORT, Trial, TrialState

SPACE = Searchspace(x=("DOUBLE", [0.0, 1.0]), k=("INTEGER", [1, 4]))


def quadratic(x: float, k: int) -> float:
    return -((x - 0.3) ** 2) - 0.1 * (k - 2) ** 2


def stored(path: Path, eid: str):
    with open_store(path, read_only=True) as store:
        return store.get_experiment(eid), store.get_trials(eid)


def ask(study: Study) -> Trial:
    trial = study.ask()
    assert trial is not None
    return trial


def loop(study: Study, n: int) -> list[Trial]:
    asked = []
    for _ in range(n):
        trial = ask(study)
        study.tell(trial, quadratic(**trial.params))
        asked.append(trial)
    return asked


def test_maggy_exports_study() -> None:
    assert maggy.Study is Study


@pytest.mark.parametrize("optimizer", ["randomsearch", "tpe", "gp"])
def test_ask_tell_loop_records_an_ordinary_experiment(tmp_path: Path, optimizer: str) -> None:
    db = tmp_path / "s.db"
    study = Study(SPACE, optimizer, name="loop", seed=3, store=str(db))
    eid = study.experiment_id
    record, trials = stored(db, eid)
    assert record.status == "RUNNING" and record.name == "loop" and trials == []
    assert record.config["driven_by"] == "study" and record.config["driver"]["pid"] > 0
    assert record.config["num_trials_asked"] == 0

    first = ask(study)
    assert first is not None and first.trial_id == 0 and first.budget is None
    assert set(first.params) == {"x", "k"} and first.state is TrialState.RUNNING
    assert [t.state for t in stored(db, eid)[1]] == [TrialState.RUNNING]  # saved when asked
    study.tell(first, quadratic(**first.params))
    assert [t.state for t in stored(db, eid)[1]] == [TrialState.FINISHED]
    loop(study, 11)  # past TPE's and GP's random start-up trials: the models suggest too

    assert [t.trial_id for t in study.trials] == list(range(12))
    metrics = [t.metric for t in study.trials if t.metric is not None]
    best = study.best_trial
    assert best is not None and best.metric == max(metrics)
    result = study.result()
    assert result["experiment_id"] == eid and result["best_id"] == best.trial_id
    assert result["num_trials"] == 12 and result["status"] == "RUNNING"
    assert study.close()["status"] == "FINISHED"
    record, trials = stored(db, eid)
    assert record.status == "FINISHED" and record.result is not None
    assert record.result["best_val"] == best.metric and record.optimizer == study.optimizer.name
    assert [(t.params, t.metric) for t in trials] == [(t.params, t.metric) for t in study.trials]
    with open_store(db) as store:  # it shows in `maggy experiments list`
        assert eid in [r.experiment_id for r in store.list_experiments()]


def test_gridsearch_runs_its_grid_then_ask_returns_none(tmp_path: Path) -> None:
    space = Searchspace(k=("INTEGER", [1, 3]), act=("CATEGORICAL", ["relu", "tanh"]))
    with Study(space, GridSearch(), store=str(tmp_path / "s.db")) as study:
        seen = []
        while (trial := study.ask()) is not None:
            seen.append((trial.params["k"], trial.params["act"]))
            study.tell(trial, trial.params["k"])
        assert len(seen) == 6 == len(set(seen))
        assert study.ask() is None  # used up: None again, nothing recorded
        assert len(study.trials) == 6
    assert stored(tmp_path / "s.db", study.experiment_id)[0].status == "FINISHED"


def test_num_trials_caps_the_asks(tmp_path: Path) -> None:
    with Study(SPACE, store=str(tmp_path / "s.db"), num_trials=3) as study:
        loop(study, 3)
        assert study.ask() is None
    record, trials = stored(tmp_path / "s.db", study.experiment_id)
    assert record.num_trials == 3 and record.config["num_trials_asked"] == 3 and len(trials) == 3


def test_same_seed_and_same_results_give_the_same_asks(tmp_path: Path) -> None:
    def asks(name: str) -> list[dict[str, Any]]:
        with Study(SPACE, "tpe", seed=11, store=str(tmp_path / f"{name}.db")) as study:
            return [t.params for t in loop(study, 14)]

    assert asks("a") == asks("b")


def test_report_stores_the_curve_and_failed_trials_end_error(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with Study(SPACE, store=str(db)) as study:
        trial = ask(study)
        for step in range(3):
            study.report(trial, step, 0.1 * step)
        study.tell(trial.trial_id, 0.5)
        failed = ask(study)
        study.report(failed, 0, 0.25)
        study.tell(failed, error="ValueError: diverged")
        gave_up = ask(study)
        study.tell(gave_up, None)  # no value: a failed trial
        pruned = ask(study)
        study.report(pruned, 4, -1.0)
        study.tell(pruned, state="EARLY_STOPPED")
    _, trials = stored(db, study.experiment_id)
    assert trials[0].history == [[0.0, 0.0], [1.0, 0.1], [2.0, 0.2]] and trials[0].metric == 0.5
    assert (trials[1].state, trials[1].error, trials[1].history) == (
        TrialState.ERROR,
        "ValueError: diverged",
        [[0.0, 0.25]],
    )
    assert trials[2].state is TrialState.ERROR and trials[2].metric is None
    assert (trials[3].state, trials[3].metric) == (TrialState.EARLY_STOPPED, -1.0)
    assert study.best_trial is not None and study.best_trial.trial_id == 0


def test_bad_tells_raise_and_change_nothing(tmp_path: Path) -> None:
    with Study(SPACE, store=str(tmp_path / "s.db")) as study:
        trial = ask(study)
        with pytest.raises(ValueError, match="trial 7 is not one of this study's"):
            study.tell(7, 1.0)
        with pytest.raises(ValueError, match="finite number"):
            study.tell(trial, math.nan)
        with pytest.raises(TypeError, match="a number"):
            study.tell(trial, "0.3")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="state"):
            study.tell(trial, 1.0, state="LOST")
        assert study.trials[0].state is TrialState.RUNNING  # still open: tell it properly
        study.tell(trial, 1.0)
        with pytest.raises(ValueError, match="trial 0 was told already"):
            study.tell(trial, 2.0)
        with pytest.raises(ValueError, match="not running"):
            study.report(trial, 1, 1.0)
        copy = study.trials[0]
        copy.params["x"] = 99.0
        assert study.trials[0].params["x"] != 99.0  # trials are copies
    with pytest.raises(RuntimeError, match="closed"):
        ask(study)


def test_closing_with_pending_trials_stops_them_for_a_resume_to_rerun(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    study = Study(SPACE, "tpe", seed=1, store=str(db))
    loop(study, 2)
    pending = ask(study)
    with pytest.raises(ValueError, match="still running"):  # not while this study has it open
        Study(resume=study.experiment_id, store=str(db))
    assert study.close()["status"] == "STOPPED"
    assert study.close()["status"] == "STOPPED"  # closing again changes nothing
    record, trials = stored(db, study.experiment_id)
    assert record.status == "STOPPED"
    assert trials[2].state is TrialState.STOPPED and trials[2].error.startswith(CUT_SHORT)

    again = Study(resume=study.experiment_id[:12], store=str(db), seed=2)
    assert again.experiment_id == study.experiment_id and len(again.trials) == 3
    rerun = ask(again)
    assert (rerun.trial_id, rerun.retry_of, rerun.params) == (3, 2, pending.params)
    again.tell(rerun, 0.0)
    assert ask(again).trial_id == 4
    assert again.close()["status"] == "STOPPED"  # trial 4 was asked and not told
    record, trials = stored(db, study.experiment_id)
    assert len(trials) == 5 and record.name == "no-name" and record.optimizer == "TPE"


def test_a_loop_that_raises_ends_the_experiment_failed(tmp_path: Path) -> None:
    with pytest.raises(ZeroDivisionError), Study(SPACE, store=str(tmp_path / "s.db")) as study:
        study.tell(ask(study), 1.0)
        ask(study)
        1 / 0  # noqa: B018
    record, trials = stored(tmp_path / "s.db", study.experiment_id)
    assert record.status == "FAILED" and "ZeroDivisionError" in record.result["failure"]
    assert trials[1].state is TrialState.STOPPED


def test_asha_that_must_wait_says_to_tell_pending_trials_first(tmp_path: Path) -> None:
    space = Searchspace(act=("CATEGORICAL", ["relu", "tanh"]))
    asha = Asha(reduction_factor=2, max_budget=4)  # rungs 1, 2, 4: the better half moves up
    with Study(space, asha, direction="min", store=str(tmp_path / "s.db")) as study:
        a, b = ask(study), ask(study)
        assert (a.budget, b.budget) == (1, 1)
        with pytest.raises(RuntimeError, match=r"tell\(\) the trials asked for first \(0, 1\)"):
            ask(study)
        study.tell(a, 0.1)
        study.tell(b, 0.2)
        promoted = ask(study)  # the best of the bottom rung at the next budget
        assert (promoted.params, promoted.budget) == (a.params, 2)
        study.tell(promoted, 0.05)
    with pytest.raises(ValueError, match="num_trials"):
        Study(space, "asha", store=str(tmp_path / "s.db"))


def test_bad_construction_raises_before_anything_is_stored(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with pytest.raises(ValueError, match="direction"):
        Study(SPACE, direction="up", store=str(db))
    with pytest.raises(ValueError, match="searchspace"):
        Study(store=str(db))
    with pytest.raises(ValueError, match="initial_configs"):
        Study(SPACE, store=str(db), initial_configs=[{"x": 5.0, "k": 1}])
    with pytest.raises(KeyError, match="resume='nope'"):
        Study(SPACE, store=str(db), resume="nope")
    with open_store(db, read_only=True) as store:
        assert store.list_experiments() == []


def test_initial_configs_and_warm_start(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with Study(SPACE, "tpe", seed=0, store=str(db)) as source:
        loop(source, 6)
    first = {"x": 0.3, "k": 2}
    with Study(SPACE, "tpe", seed=0, store=str(db), warm_start=[source.experiment_id],
               initial_configs=[first]) as study:  # fmt: skip
        trial = ask(study)
        assert trial.params == first
        study.tell(trial, 0.0)
        assert len(study.optimizer.trials) == 7  # six taught, one told
        assert len(study.trials) == 1  # warm-start trials are not copied in
    record, _ = stored(db, study.experiment_id)
    assert record.config["warm_start"] == [source.experiment_id]


@pytest.mark.integration
def test_lagom_resumes_a_study(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with Study(SPACE, "tpe", seed=5, store=str(db)) as study:
        kept = [(t.trial_id, t.params) for t in loop(study, 5)]
    result = experiment.lagom(
        quadratic,
        resume=study.experiment_id,
        num_trials=8,
        store=str(db),
        num_workers=2,
        es_policy="none",
        progress=False,
    )
    assert result["experiment_id"] == study.experiment_id and result["num_trials"] == 8
    record, trials = stored(db, study.experiment_id)
    assert record.status == "FINISHED" and record.optimizer == "TPE"
    assert [t.trial_id for t in trials] == list(range(8))
    assert all(t.state is TrialState.FINISHED for t in trials)
    assert [(t.trial_id, t.params) for t in trials[:5]] == kept


@pytest.mark.integration
def test_a_study_resumes_a_lagom_experiment(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    space = Searchspace(k=("INTEGER", [1, 3]), act=("CATEGORICAL", ["relu", "tanh"]))

    def train(k: int, act: str) -> float:
        return k + (act == "relu")

    result = experiment.lagom(
        train, searchspace=space, num_trials=4, store=str(db), num_workers=2, es_policy="none", progress=False
    )
    eid = result["experiment_id"]
    with Study(resume=eid, store=str(db)) as study:  # its space and optimizer (random search)
        assert len(study.trials) == 4 and study.optimizer.name == "RandomSearch"
        rest = []
        while (trial := study.ask()) is not None:  # only the two configurations not yet run
            rest.append(trial)
            study.tell(trial, train(**trial.params))
    assert [t.trial_id for t in rest] == [4, 5]
    record, trials = stored(db, eid)
    assert record.status == ExperimentStatus.FINISHED.value
    assert len({(t.params["k"], t.params["act"]) for t in trials}) == 6


def test_a_resume_keeps_the_direction_unless_told_another(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with Study(SPACE, "gp", direction="min", store=str(db)) as study:
        loop(study, 2)
    with pytest.raises(ValueError, match="keeps its direction"):
        Study(resume=study.experiment_id, direction="max", store=str(db))
    with Study(resume=study.experiment_id, store=str(db)) as again:
        assert again.direction == "min" and again.optimizer.name == "GP"
        loop(again, 1)
        best = again.best_trial
        assert best is not None and best.metric == min(t.metric for t in again.trials if t.metric is not None)
