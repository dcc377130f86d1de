"""Experiments that continue, end to end on real local worker processes and a real SQLite store:
``lagom(resume=...)`` after a killed driver, an extension, a changed space; ``warm_start``;
``initial_configs``; and bad requests that must leave the store as it was."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from maggy import Searchspace, experiment
from maggy.core import events as ev
from maggy.optimizer import TPE, RandomSearch
from maggy.store import ExperimentNotFound, StoreError, open_store
from maggy.testing.store_conformance import make_record
from maggy.trial import Trial, TrialState

pytestmark = pytest.mark.integration

SPACE = Searchspace(x=("DOUBLE", [0.0, 1.0]), k=("INTEGER", [1, 4]))


def quadratic(x, k):
    return -((x - 0.3) ** 2) - 0.1 * (k - 2) ** 2


def lagom(tmp_path: Path, fn=quadratic, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("progress", False)
    kwargs.setdefault("num_workers", 2)
    kwargs.setdefault("es_policy", "none")
    return experiment.lagom(fn, store=str(tmp_path / "store.db"), **kwargs)


def stored(tmp_path: Path, eid: str):
    with open_store(tmp_path / "store.db", read_only=True) as store:
        return store.get_experiment(eid), store.get_trials(eid, with_history=False)


def snapshot(path: Path) -> list[Any]:
    with open_store(path, read_only=True) as store:
        return [(r, store.get_trials(r.experiment_id)) for r in store.list_experiments()]


class Recording(RandomSearch):
    """A random search that keeps what warm_start gave it (to see what the engine teaches)."""

    taught: list[Any] = []

    def warm_start(self, trials):
        super().warm_start(trials)
        Recording.taught = [(t.trial_id, dict(t.params), t.metric) for t in trials]


def test_extending_a_finished_experiment_keeps_its_id_and_trials(tmp_path: Path) -> None:
    first = lagom(tmp_path, searchspace=SPACE, num_trials=4, optimizer="tpe", seed=1)
    eid = first["experiment_id"]
    _, before = stored(tmp_path, eid)
    started: list[ev.ExperimentStarted] = []
    listener = lambda e: started.append(e) if isinstance(e, ev.ExperimentStarted) else None  # noqa: E731
    second = lagom(tmp_path, num_trials=9, resume=eid[:16], listeners=[listener])  # space, optimizer: stored
    assert second["experiment_id"] == eid and second["status"] == "FINISHED"
    record, after = stored(tmp_path, eid)
    assert (record.status, record.num_trials, record.optimizer, record.end is not None) == (
        "FINISHED",
        9,
        "TPE",
        True,
    )
    assert [t.trial_id for t in after] == list(range(9))
    assert [(t.params, t.metric, t.state) for t in after[:4]] == [
        (t.params, t.metric, t.state) for t in before
    ]
    assert len(second["metric_list"]) == 9  # the result covers every trial, earlier ones too
    best = max(after, key=lambda t: t.metric)
    assert second["best_id"] == best.trial_id
    assert [t.trial_id for t in started[0].earlier_trials] == [0, 1, 2, 3]
    assert started[0].num_trials == 9
    # Nothing more to run: a clear error, and nothing changes.
    before_refusal = snapshot(tmp_path / "store.db")
    with pytest.raises(ValueError, match="pass num_trials greater than 9"):
        lagom(tmp_path, resume=eid)
    assert snapshot(tmp_path / "store.db") == before_refusal


DRIVER = """
import sys, time
from maggy import Searchspace, experiment

def slow(x, k, reporter):
    for step in range(20):
        reporter.broadcast(x * step, step)
        time.sleep(0.05 if x < 0.5 else 0.2)
    return x + k

experiment.lagom(slow, searchspace=Searchspace(x=("DOUBLE", [0.0, 1.0]), k=("INTEGER", [1, 4])),
                 num_trials=12, num_workers=2, store=sys.argv[1], progress=False, es_policy="none",
                 hb_interval=0.2, seed=3)
"""


def test_resume_after_the_driver_process_was_killed(tmp_path: Path) -> None:
    """kill -9 of the process running lagom (a dead kernel), then resume in another process."""
    db, proc = _start_driver(tmp_path)
    try:
        eid = _wait_for_finished(db, 3)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its workers: nothing closes anything
        proc.wait(timeout=10)
    with open_store(db, read_only=True) as store:
        assert store.get_experiment(eid).status == "RUNNING"  # as a killed kernel leaves it
        earlier = store.get_trials(eid)
    done_before = {t.trial_id: t for t in earlier if t.state is TrialState.FINISHED}
    unfinished = [t.trial_id for t in earlier if not t.state.is_terminal]
    assert unfinished  # the kill caught trials in flight

    def slow(x, k, reporter):
        for step in range(20):
            reporter.broadcast(x * step, step)
        return x + k

    result = lagom(tmp_path, slow, resume=eid, hb_interval=0.2)
    assert result["experiment_id"] == eid and result["status"] == "FINISHED"
    record, after = stored(tmp_path, eid)
    assert record.status == "FINISHED"
    by_id = {t.trial_id: t for t in after}
    for trial_id, trial in done_before.items():  # every finished trial kept exactly once, unchanged
        assert (by_id[trial_id].params, by_id[trial_id].metric) == (trial.params, trial.metric)
    for trial_id in unfinished:  # LOST at the reopening, then run again as retries
        assert by_id[trial_id].state is TrialState.LOST
        (rerun,) = [t for t in after if t.retry_of == trial_id]
        assert rerun.state is TrialState.FINISHED and rerun.params == by_id[trial_id].params
    counted = [t for t in after if t.retry_of is None]
    assert len(counted) == 12 and all(t.state.is_terminal for t in after)
    with open_store(db, read_only=True) as store:  # the earlier curves are still whole in the store
        histories = {t.trial_id: t.history for t in store.get_trials(eid)}
    assert all(len(histories[i]) == 20 for i in done_before)


def test_resume_after_an_interrupt_reruns_the_trials_it_cut_short(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT) of lagom: trials it cut short run again; those that ended are kept."""
    db, proc = _start_driver(tmp_path)
    try:
        eid = _wait_for_finished(db, 3)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) != 0  # ExperimentInterrupted
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    record, earlier = stored(tmp_path, eid)
    assert record.status == "STOPPED"
    cut = [t.trial_id for t in earlier if t.state is TrialState.STOPPED]
    assert cut and all(t.state.is_terminal for t in earlier)

    def quick(x, k):
        return x + k

    result = lagom(tmp_path, quick, resume=eid)
    _, after = stored(tmp_path, eid)
    assert result["status"] == "FINISHED"
    for trial_id in cut:
        (rerun,) = [t for t in after if t.retry_of == trial_id]
        assert rerun.state is TrialState.FINISHED
    assert len([t for t in after if t.retry_of is None]) == 12


def _start_driver(tmp_path: Path) -> tuple[Path, subprocess.Popen[bytes]]:
    """The store path, and a process running DRIVER's experiment on it (its own session)."""
    db = tmp_path / "store.db"
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(DRIVER))
    return db, subprocess.Popen([sys.executable, str(script), str(db)], start_new_session=True)


def _wait_for_finished(db: Path, count: int, timeout: float = 60) -> str:
    """The id of the store's experiment once ``count`` of its trials are FINISHED."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open_store(db, read_only=True) as store:
                records = store.list_experiments()
                if records:
                    eid = records[0].experiment_id
                    trials = store.get_trials(eid, with_history=False)
                    if sum(t.state is TrialState.FINISHED for t in trials) >= count:
                        return eid
        except StoreError:  # not there yet, or its tables are still being made
            pass
        time.sleep(0.1)
    pytest.fail(f"the driver never finished {count} trials")


def test_a_changed_space_teaches_only_the_trials_inside_it(tmp_path: Path) -> None:
    first = lagom(tmp_path, searchspace=SPACE, num_trials=8, seed=5)
    eid = first["experiment_id"]
    _, before = stored(tmp_path, eid)
    narrower = Searchspace(x=("DOUBLE", [0.0, 0.5]), k=("INTEGER", [1, 4]))
    narrower.add("act", ("CATEGORICAL", ["relu", "tanh"]), default="relu")

    def with_act(x, k, act):
        return quadratic(x, k) + (0.01 if act == "tanh" else 0.0)

    result = lagom(tmp_path, with_act, searchspace=narrower, optimizer=Recording(), num_trials=12, resume=eid)
    inside = [t for t in before if t.params["x"] <= 0.5]
    assert 0 < len(inside) < len(before)  # seed 5 puts trials on both sides
    assert Recording.taught == [(t.trial_id, {**t.params, "act": "relu"}, t.metric) for t in inside]
    _, after = stored(tmp_path, eid)
    assert len(after) == 12 and len(result["metric_list"]) == 12  # the ones outside are kept and counted
    assert all("act" in t.params and t.params["x"] <= 0.5 for t in after[8:])
    assert all("act" not in t.params for t in after[:8])


class RecordingTPE(TPE):
    """A TPE that keeps what warm_start gave it."""

    taught: list[Any] = []

    def warm_start(self, trials):
        super().warm_start(trials)
        RecordingTPE.taught = [(t.trial_id, dict(t.params)) for t in trials]


def test_a_gained_parameter_without_default_teaches_tpe_the_shared_ones_only(tmp_path: Path) -> None:
    eid = lagom(tmp_path, searchspace=SPACE, num_trials=4, seed=8)["experiment_id"]
    _, before = stored(tmp_path, eid)
    gained = Searchspace(x=("DOUBLE", [0.0, 1.0]), k=("INTEGER", [1, 4]), depth=("INTEGER", [1, 3]))

    def deeper(x, k, depth):
        return quadratic(x, k) + 0.01 * depth

    lagom(tmp_path, deeper, searchspace=gained, optimizer=RecordingTPE(), num_trials=6, resume=eid)
    assert RecordingTPE.taught == [(t.trial_id, t.params) for t in before]  # no depth: partial points
    Recording.taught = []
    lagom(tmp_path, deeper, searchspace=gained, optimizer=Recording(), num_trials=8, resume=eid)
    assert [tid for tid, _, _ in Recording.taught] == [4, 5]  # random search: only the whole points


def test_a_widened_space_with_a_removed_parameter_teaches_every_earlier_trial(tmp_path: Path) -> None:
    first = lagom(tmp_path, searchspace=SPACE, num_trials=5, seed=6)
    eid = first["experiment_id"]
    _, before = stored(tmp_path, eid)
    wider = Searchspace(x=("DOUBLE", [-1.0, 2.0]))  # k removed: the earlier points lose it

    def only_x(x):
        return -((x - 0.3) ** 2)

    lagom(tmp_path, only_x, searchspace=wider, optimizer=Recording(), num_trials=8, resume=eid)
    assert Recording.taught == [(t.trial_id, {"x": t.params["x"]}, t.metric) for t in before]
    _, after = stored(tmp_path, eid)
    assert len(after) == 8 and all(set(t.params) == {"x"} for t in after[5:])


def test_direction_change_unknown_id_and_running_experiment_are_refused_before_anything(
    tmp_path: Path,
) -> None:
    eid = lagom(tmp_path, searchspace=SPACE, num_trials=2)["experiment_id"]
    before = snapshot(tmp_path / "store.db")
    with pytest.raises(ValueError, match="keeps its direction"):
        lagom(tmp_path, num_trials=4, resume=eid, direction="min")
    with pytest.raises(ExperimentNotFound, match="resume='nope'"):
        lagom(tmp_path, num_trials=4, resume="nope")
    with pytest.raises(ValueError, match="warm_start: experiment .* direction"):
        lagom(tmp_path, searchspace=SPACE, num_trials=4, warm_start=[eid], direction="min")
    assert snapshot(tmp_path / "store.db") == before

    # Running in another live process: refused, and the other run is left alone.
    def hold(x):
        time.sleep(30)
        return x

    other = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import time
                from maggy import Searchspace, experiment
                def hold(x):
                    time.sleep(30)
                    return x
                experiment.lagom(hold, searchspace=Searchspace(x=("DOUBLE", [0, 1])), num_trials=1,
                                 store={str(tmp_path / "store.db")!r}, progress=False)
                """
            ),
        ],
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        running = None
        while running is None and time.monotonic() < deadline:
            with open_store(tmp_path / "store.db", read_only=True) as store:
                running = next(
                    (r.experiment_id for r in store.list_experiments() if r.status == "RUNNING"), None
                )
            time.sleep(0.1)
        assert running is not None
        with pytest.raises(ValueError, match=f"{running} is still running"):
            lagom(tmp_path, hold, num_trials=4, resume=running)
        with open_store(tmp_path / "store.db", read_only=True) as store:
            assert store.get_experiment(running).status == "RUNNING"
    finally:
        os.killpg(other.pid, signal.SIGKILL)
        other.wait(timeout=10)


def test_warm_start_teaches_without_copying_or_counting(tmp_path: Path) -> None:
    source = lagom(tmp_path, searchspace=SPACE, num_trials=5, seed=2)["experiment_id"]
    _, source_trials = stored(tmp_path, source)
    result = lagom(tmp_path, searchspace=SPACE, optimizer=Recording(), num_trials=3, warm_start=source)
    assert result["experiment_id"] != source
    assert Recording.taught == [(t.trial_id, t.params, t.metric) for t in source_trials]
    record, trials = stored(tmp_path, result["experiment_id"])
    assert len(trials) == 3 and record.config["warm_start"] == [source]


def test_initial_configs_run_first_in_order_and_count(tmp_path: Path) -> None:
    first = [{"x": 0.3, "k": 2}, {"x": 0.9, "k": 4}]
    result = lagom(
        tmp_path, searchspace=SPACE, num_trials=4, num_workers=1, initial_configs=first, optimizer="tpe"
    )
    _, trials = stored(tmp_path, result["experiment_id"])
    assert [t.params for t in trials[:2]] == first and len(trials) == 4
    assert result["best_config"] == {"x": 0.3, "k": 2}
    with pytest.raises(ValueError, match=r"initial_configs\[1\] lacks 'k'"):
        lagom(tmp_path, searchspace=SPACE, num_trials=4, initial_configs=[{"x": 0.1, "k": 1}, {"x": 0.2}])
    with pytest.raises(ValueError, match=r"initial_configs\[0\]: x=2 is outside"):
        lagom(tmp_path, searchspace=SPACE, num_trials=4, initial_configs=[{"x": 2, "k": 1}])
    with pytest.raises(ValueError, match="more than the 1 trials left"):
        lagom(tmp_path, searchspace=SPACE, num_trials=1, initial_configs=first)

    def with_budget(x, k, budget):
        return x

    with pytest.raises(ValueError, match="cannot be used with Asha"):
        lagom(tmp_path, with_budget, searchspace=SPACE, num_trials=4, optimizer="asha", initial_configs=first)


def test_same_seed_same_history_same_suggestions(tmp_path: Path) -> None:
    """A resumed run is reproducible: two copies of one store resumed alike suggest alike."""
    eid = lagom(tmp_path, searchspace=SPACE, num_trials=6, optimizer="tpe", seed=4, num_workers=1)[
        "experiment_id"
    ]
    copies = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        shutil.copy(tmp_path / "store.db", tmp_path / name / "store.db")
        lagom(tmp_path / name, resume=eid, num_trials=10, seed=9, num_workers=1)
        copies.append([t.params for t in stored(tmp_path / name, eid)[1]])
    assert copies[0] == copies[1] and len(copies[0]) == 10


def test_a_grid_resumed_after_losing_a_trial_runs_every_point_once(tmp_path: Path) -> None:
    """Killed after 3 of 6 grid points, with the 4th running: its re-run is that point, and the
    grid goes on with the 5th and 6th (not the 4th again)."""
    grid = Searchspace(x=("DISCRETE", [0.1, 0.2, 0.3]), k=("INTEGER", [1, 2]))
    points = [{"x": x, "k": k} for x in (0.1, 0.2, 0.3) for k in (1, 2)]
    record = make_record(
        searchspace=grid.to_dict(), optimizer="GridSearch", num_trials=6, config={"num_trials_asked": 6}
    )
    with open_store(tmp_path / "store.db") as store:  # as a kernel death leaves it, once closed
        store.create_experiment(record)
        for i, params in enumerate(points[:4]):
            state = TrialState.FINISHED if i < 3 else TrialState.LOST
            store.save_trial(
                record.experiment_id, Trial(i, params, state=state, metric=1.0 if i < 3 else None)
            )
        store.finish_experiment(record.experiment_id, "FAILED", time.time(), None)
    lagom(tmp_path, resume=record.experiment_id, direction="max")
    _, after = stored(tmp_path, record.experiment_id)
    assert [(t.trial_id, t.retry_of) for t in after[4:]] == [(4, 3), (5, None), (6, None)]
    finished = [t.params for t in after if t.state is TrialState.FINISHED]
    assert sorted(map(str, finished)) == sorted(map(str, points))


def test_two_kernels_resuming_at_once_one_wins_and_the_other_leaves_the_store_alone(tmp_path: Path) -> None:
    """The checks pass in both kernels; the store's atomic RUNNING switch decides: the loser raises
    before any worker starts and writes nothing (it must not end the winner's run)."""
    import asyncio

    eid = lagom(tmp_path, searchspace=SPACE, num_trials=2)["experiment_id"]
    loser = experiment.lagom_async(
        quadratic, resume=eid, num_trials=4, store=str(tmp_path / "store.db"), progress=False
    )  # checked now, runs when awaited
    with open_store(tmp_path / "store.db") as store:  # meanwhile another kernel resumed it
        winner = store.get_experiment(eid)
        winner.status, winner.config = "RUNNING", {**winner.config, "driver": {"host": "elsewhere", "pid": 1}}
        store.resume_experiment(winner)
    before = snapshot(tmp_path / "store.db")
    with pytest.raises(ValueError, match="is running; it cannot be resumed twice"):
        asyncio.run(loser)
    assert snapshot(tmp_path / "store.db") == before
