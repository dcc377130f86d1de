"""The experiment store under abuse: a disk that fills up mid-run, a store that fails for a while,
a driver killed a second into a trial, and who may read the file.

Real lagom runs on real worker processes and a real SQLite file. The full disk is real too: the
driver process's RLIMIT_FSIZE is lowered mid-run to the store's size, so that the kernel refuses
every write that would grow the file (EFBIG), as on a full filesystem, without needing root.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import warnings

import pytest

from maggy import Searchspace, experiment
from maggy.cli import main as cli_main
from maggy.store import SQLiteStore, StoreError, StoreWarning, open_store
from maggy.trial import TrialState

FULL_DISK_SCRIPT = textwrap.dedent(
    """
    import json, os, resource, signal, sys, warnings
    from maggy import Searchspace, experiment
    from maggy.core import events as ev

    store_path = sys.argv[1]
    finished = []

    def fill_the_disk(event):
        # After the third trial ended (the store writer, subscribed first, has saved it), no file
        # of this process may grow past what the store's files hold now.
        if isinstance(event, ev.TrialFinished):
            finished.append(event.trial.trial_id)
            if len(finished) == 3:
                sizes = [os.path.getsize(store_path + s) for s in ("", "-wal") if os.path.exists(store_path + s)]
                resource.setrlimit(resource.RLIMIT_FSIZE, (max(sizes), resource.RLIM_INFINITY))

    def train(i, reporter):
        import time
        for step in range(20):
            reporter.broadcast(float(i) + step / 100, step=step)
            time.sleep(0.01)
        return float(i)

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = experiment.lagom(
            train, num_trials=12, searchspace=Searchspace(i=("DISCRETE", list(range(12)))),
            optimizer="gridsearch", num_workers=2, hb_interval=0.1, store=store_path, progress=False,
            listeners=[fill_the_disk])
    print(json.dumps({"result": result, "warnings": [f"{w.category.__name__}: {w.message}" for w in caught]}))
    """
)


@pytest.mark.timeout(120)
def test_a_disk_that_fills_up_mid_run_is_reported_and_the_result_keeps_every_trial(tmp_path) -> None:
    store_path = str(tmp_path / "store.db")
    proc = subprocess.run(
        [sys.executable, "-c", FULL_DISK_SCRIPT, store_path], capture_output=True, text=True, timeout=100
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    result, caught = out["result"], out["warnings"]
    assert result["status"] == "FINISHED" and result["num_trials"] == 12
    assert sorted(result["metric_list"]) == [float(i) for i in range(12)]  # every trial in the result
    unsaved = result["unsaved_trials"]
    assert unsaved and len(unsaved) <= 9 and set(unsaved) <= set(range(12))  # 3 ended before the disk filled
    errors = " ".join(result["store_errors"])
    assert f"trials {', '.join(map(str, unsaved))} were not saved" in errors
    assert "The experiment's end (FINISHED) was not saved".lower() in errors.lower()
    assert [w for w in caught if w.startswith("StoreWarning") and "not saved" in w]
    assert proc.stderr.count("Traceback") == 0  # one warning line per trial, not a traceback per event

    # What the store has is true, and together with the unsaved list it accounts for every trial.
    with open_store(store_path) as store:
        exp = store.list_experiments()[0]
        cli_main(["experiments", "list", "--store", store_path])  # closes it: its driver is gone
        stored = {t.trial_id: t for t in store.get_trials(exp.experiment_id)}
        assert store.get_experiment(exp.experiment_id).status == "FAILED"
    finished = {tid for tid, t in stored.items() if t.state is TrialState.FINISHED}
    assert len(finished) >= 3 and finished | set(unsaved) == set(range(12))
    assert not finished & set(unsaved)
    assert all(stored[tid].metric == float(tid) and len(stored[tid].history) == 20 for tid in finished)


class FlakyStore(SQLiteStore):
    """A real SQLite store whose writes fail while ``failing`` says so (a full disk for a while)."""

    def __init__(self, path, failing) -> None:
        super().__init__(path)
        self.failing = failing
        self.failures = 0

    def _check(self) -> None:
        if self.failing():
            self.failures += 1
            raise sqlite3.OperationalError("database or disk is full")

    def save_trial(self, experiment_id, trial) -> None:
        self._check()
        super().save_trial(experiment_id, trial)

    def save_trial_progress(self, experiment_id, trial, new_points, new_logs=()) -> None:
        self._check()
        super().save_trial_progress(experiment_id, trial, new_points, new_logs)

    def finish_experiment(self, experiment_id, status, end, result) -> None:
        self._check()
        super().finish_experiment(experiment_id, status, end, result)


def curve(i, reporter):
    import time

    for step in range(30):
        reporter.broadcast(float(i) * step, step=step)
        time.sleep(0.02)
    return float(i)


@pytest.mark.timeout(120)
def test_writes_that_fail_for_a_while_are_retried_and_nothing_is_lost(tmp_path) -> None:
    first: list[float] = []

    def failing() -> bool:  # from 0.5 s to 2 s after the first trial write
        first.append(time.monotonic())
        return 0.5 < first[-1] - first[0] < 2.0

    store = FlakyStore(tmp_path / "store.db", failing=failing)
    with warnings.catch_warnings():
        warnings.simplefilter("error", StoreWarning)  # nothing may be reported lost
        result = experiment.lagom(
            curve,
            num_trials=10,
            searchspace=Searchspace(i=("DISCRETE", list(range(10)))),
            optimizer="gridsearch",
            num_workers=2,
            hb_interval=0.1,
            store=store,
            progress=False,
        )
    assert store.failures > 0 and "store_errors" not in result and result["num_trials"] == 10
    trials = store.get_trials(result["experiment_id"])
    assert [t.state for t in trials] == [TrialState.FINISHED] * 10
    assert all(len(t.history) == 30 and t.history[-1] == [29, 29.0 * t.trial_id] for t in trials)
    assert store.get_experiment(result["experiment_id"]).status == "FINISHED"
    store.close()


@pytest.mark.timeout(120)
def test_a_store_that_cannot_record_the_end_still_returns_the_result(tmp_path) -> None:
    finishing = {"now": False}
    store = FlakyStore(tmp_path / "store.db", failing=lambda: finishing["now"])
    original = store.finish_experiment

    def finish_experiment(*args):
        finishing["now"] = True  # the disk fills up just as the experiment ends
        original(*args)

    store.finish_experiment = finish_experiment  # type: ignore[method-assign]
    with pytest.warns(StoreWarning, match=r"experiment's end \(FINISHED\) was not saved.*disk is full"):
        result = experiment.lagom(
            curve,
            num_trials=3,
            searchspace=Searchspace(i=("DISCRETE", [0, 1, 2])),
            optimizer="gridsearch",
            num_workers=2,
            hb_interval=0.1,
            store=store,
            progress=False,
        )
    assert result["status"] == "FINISHED" and result["best_val"] == 2.0 and result["num_trials"] == 3
    assert "unsaved_trials" not in result and len(result["store_errors"]) == 1
    assert [t.state for t in store.get_trials(result["experiment_id"])] == [TrialState.FINISHED] * 3
    store.close()


KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from maggy import Searchspace, experiment

    def train(i, reporter):
        import time
        for step in range(1000):
            reporter.broadcast(float(step), step=step)
            time.sleep(0.05)
        return 0.0

    experiment.lagom(train, num_trials=1, searchspace=Searchspace(i=("DISCRETE", [0])), num_workers=1,
                     hb_interval=0.2, store=sys.argv[1], progress=False)
    """
)


@pytest.mark.timeout(120)
def test_a_driver_killed_a_second_into_a_trial_keeps_its_first_points(tmp_path) -> None:
    store_path = str(tmp_path / "store.db")
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, store_path])
    try:
        store = None
        deadline = time.time() + 60
        started = None
        while time.time() < deadline:  # until the trial runs
            try:
                store = store or open_store(store_path)
                exps = store.list_experiments()
                trials = store.get_trials(exps[0].experiment_id) if exps else []
            except Exception:
                trials = []
            if trials and trials[0].state is TrialState.RUNNING:
                started = trials[0].start
                break
            time.sleep(0.05)
        assert started is not None and store is not None, "the trial never started"
        # Its first heartbeat with points comes 0.2 s in; the README promises a save every 2 s.
        # Killed once its first points are in the store, or 1.8 s in at the latest.
        while time.time() < started + 1.8 and not store.get_trials(exps[0].experiment_id)[0].history:
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    exp_id = store.list_experiments()[0].experiment_id
    assert cli_main(["experiments", "show", exp_id, "--store", store_path]) == 0
    trial = store.get_trials(exp_id)[0]
    assert trial.state is TrialState.LOST and trial.history, "the first points were lost with the driver"
    assert trial.history[0] == [0, 0.0]
    store.close()


def test_the_store_file_and_directory_are_private_after_a_real_run(tmp_path) -> None:
    store_path = tmp_path / "private" / "experiments.db"
    experiment.lagom(
        curve,
        num_trials=1,
        searchspace=Searchspace(i=("DISCRETE", [1])),
        num_workers=1,
        hb_interval=0.1,
        store=str(store_path),
        progress=False,
    )
    assert store_path.parent.stat().st_mode & 0o777 == 0o700
    for path in store_path.parent.iterdir():
        assert path.stat().st_mode & 0o777 == 0o600, path


def chatty(i, reporter):
    for line in range(3000):
        print(f"trial {i} line {line}")
    return float(i)


@pytest.mark.timeout(120)
def test_a_long_log_is_whole_in_the_store_and_a_tail_in_the_driver(tmp_path, monkeypatch) -> None:
    from maggy import trial as trial_module
    from maggy.core import events as ev

    monkeypatch.setattr(trial_module, "LOG_TAIL_LINES", 100)  # the driver runs in this process
    ended: list = []
    store_path = str(tmp_path / "store.db")
    result = experiment.lagom(
        chatty,
        num_trials=2,
        searchspace=Searchspace(i=("DISCRETE", [0, 1])),
        optimizer="gridsearch",
        num_workers=2,
        hb_interval=0.1,
        store=store_path,
        progress=False,
        listeners=[lambda e: ended.append(e.trial) if isinstance(e, ev.TrialFinished) else None],
    )
    assert result["num_trials"] == 2 and "store_errors" not in result
    tails = {t.trial_id: t.logs for t in ended}
    with open_store(store_path, read_only=True) as store:
        stored = {t.trial_id: t.logs for t in store.get_trials(result["experiment_id"])}
    assert sorted(tails) == sorted(stored) == [0, 1]
    for tid, logs in stored.items():
        ours = [line for line in logs if line.startswith(f"trial {tid} ")]
        assert ours == [f"trial {tid} line {n}" for n in range(3000)]  # every line, in order
        assert not any("earlier line" in line for line in logs)
        tail = tails[tid]  # what the driver kept: the latest lines, behind one counting the rest
        assert len(tail) == 101 and tail[1:] == logs[-100:] and tail[-1] == f"trial {tid} line 2999"
        assert isinstance(tail[0], trial_module.ElidedLines) and tail[0].elided == len(logs) - 100


FULL_AT_START_SCRIPT = textwrap.dedent(
    """
    import json, resource, signal, sys
    from maggy import Searchspace, experiment
    from maggy.core import events as ev

    seen = []

    def train(i, reporter):
        return float(i)

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))  # no file may grow: a full disk
    try:
        experiment.lagom(
            train, num_trials=2, searchspace=Searchspace(i=("DISCRETE", [0, 1])), num_workers=1,
            hb_interval=0.1, store=sys.argv[1], progress=False,
            listeners=[lambda event: seen.append(type(event).__name__)])
        error = None
    except Exception as exc:
        error = f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
    print(json.dumps({"error": error, "events": seen}))
    """
)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("held_open", [False, True], ids=["store-closed", "store-held-open-elsewhere"])
def test_a_disk_full_before_the_start_is_a_clear_error_before_any_worker_starts(tmp_path, held_open) -> None:
    store_path = tmp_path / "store.db"
    with open_store(store_path) as store:  # an existing store, as after earlier experiments
        experiment.lagom(
            curve,
            num_trials=1,
            searchspace=Searchspace(i=("DISCRETE", [1])),
            num_workers=1,
            hb_interval=0.1,
            store=store,
            progress=False,
        )
    # Held open by another process (a notebook, the CLI): its -wal and -shm files exist, so only
    # the first write fails; closed: opening it fails already.
    other = open_store(store_path) if held_open else None
    try:
        if other is not None:
            other.list_experiments()
        proc = subprocess.run(
            [sys.executable, "-c", FULL_AT_START_SCRIPT, str(store_path)],
            capture_output=True,
            text=True,
            timeout=100,
        )
    finally:
        if other is not None:
            other.close()
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    error = out["error"]
    assert error is not None and error.startswith("maggy.store.base.StoreError: "), error
    assert str(store_path) in error and "MAGGY_HOME" in error and "store=" in error and "free" in error
    assert "ExperimentStarted" not in out["events"] and "TrialStarted" not in out["events"]  # no worker ran
    assert "Traceback" not in proc.stderr and "StoreWarning" not in proc.stderr, proc.stderr


def test_a_store_that_cannot_be_written_is_a_clear_error_before_any_worker_starts(tmp_path) -> None:
    store_path = tmp_path / "store.db"
    open_store(store_path).close()
    seen: list = []
    with open_store(store_path, read_only=True) as read_only, pytest.raises(StoreError) as info:
        experiment.lagom(
            curve,
            num_trials=1,
            searchspace=Searchspace(i=("DISCRETE", [1])),
            num_workers=1,
            store=read_only,
            progress=False,
            listeners=[seen.append],
        )
    message = str(info.value)
    assert str(store_path) in message and "read-only" in message and "MAGGY_HOME" in message
    assert "nothing ran" in message
    assert [type(e).__name__ for e in seen] == ["ExperimentFinished"]  # no worker started, no trial
    with open_store(store_path, read_only=True) as store:
        assert store.list_experiments() == []
