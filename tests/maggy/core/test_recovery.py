"""Closing experiments whose driver process died: which ones count, and what is kept."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from maggy.core.recovery import close_abandoned, driver_identity, is_abandoned, process_start
from maggy.store import ExperimentRecord, open_store
from maggy.trial import Trial, TrialState


@pytest.fixture(scope="module")
def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def record(driver: object, status: str = "RUNNING", eid: str = "e1") -> ExperimentRecord:
    config = {} if driver is None else {"driver": driver}
    return ExperimentRecord(
        eid, "n", "", "optimization", None, "randomsearch", "max", 4, config, status, 100.0
    )


def test_driver_identity_is_this_process() -> None:
    me = driver_identity()
    assert (me["host"], me["pid"]) == (socket.gethostname(), os.getpid())
    assert me["started"] == process_start(os.getpid()) and isinstance(me["started"], int)  # Linux /proc


def test_a_reused_pid_is_told_apart_by_the_process_start_time() -> None:
    host, me = socket.gethostname(), driver_identity()
    assert is_abandoned(record(me)) is False
    assert is_abandoned(record({**me, "started": me["started"] - 1})) is True  # an earlier process, same pid
    parent = {"host": host, "pid": os.getppid(), "started": process_start(os.getppid())}
    assert is_abandoned(record(parent)) is False
    assert is_abandoned(record({**parent, "started": parent["started"] + 1})) is True
    assert is_abandoned(record({**parent, "started": None})) is False  # unknown: assumed the same


def test_only_a_running_experiment_of_a_dead_driver_on_this_host_is_abandoned(dead_pid: int) -> None:
    host = socket.gethostname()
    assert is_abandoned(record({"host": host, "pid": dead_pid})) is True
    assert is_abandoned(record({"host": host, "pid": dead_pid}, status="FINISHED")) is False
    assert is_abandoned(record({"host": host, "pid": os.getpid()})) is False  # this process
    assert is_abandoned(record({"host": host, "pid": os.getppid()})) is False  # alive
    assert is_abandoned(record({"host": host + "-elsewhere", "pid": dead_pid})) is False  # shared store
    assert is_abandoned(record(None)) is False  # written before drivers recorded themselves
    assert is_abandoned(record({"host": host, "pid": "12"})) is False


def test_closing_keeps_finished_trials_and_marks_running_ones_lost(tmp_path, dead_pid: int) -> None:
    store = open_store(tmp_path / "s.db")
    rec = record({"host": socket.gethostname(), "pid": dead_pid})
    other = record({"host": socket.gethostname(), "pid": os.getpid()}, eid="e2")
    for r in (rec, other):
        store.create_experiment(r)
    store.save_trial("e1", Trial(0, {"x": 1}, TrialState.FINISHED, metric=0.5, start=101.0, end=102.0))
    store.save_trial(
        "e1",
        Trial(1, {"x": 2}, TrialState.RUNNING, history=[[0, 0.7], [1, 0.8]], logs=["epoch 1"], start=103.0),
    )
    store.save_trial("e1", Trial(2, {"x": 3}, TrialState.PENDING))

    assert close_abandoned(store, [rec, other]) == ["e1"]

    closed = store.get_experiment("e1")
    assert closed.status == "FAILED" and closed.end == 103.0  # the driver was last seen starting trial 1
    assert rec.status == "FAILED" and rec.result == closed.result  # the caller's record is updated
    trials = store.get_trials("e1")
    assert [t.state for t in trials] == [TrialState.FINISHED, TrialState.LOST, TrialState.LOST]
    assert trials[1].history == [[0, 0.7], [1, 0.8]] and trials[1].logs == ["epoch 1"]
    assert f"pid {dead_pid}" in (trials[1].error or "")
    assert closed.result is not None
    assert closed.result["status"] == "FAILED" and closed.result["best_val"] == 0.5
    assert closed.result["lost"] == 2 and closed.result["duration"] == 3.0
    assert store.get_experiment("e2").status == "RUNNING"  # its driver (this process) is alive
    assert close_abandoned(store, [store.get_experiment("e1")]) == []  # once closed, left alone


def test_a_store_that_cannot_be_written_is_shown_as_it_is(tmp_path, dead_pid: int, caplog) -> None:
    store = open_store(tmp_path / "s.db")
    rec = record({"host": socket.gethostname(), "pid": dead_pid})
    store.create_experiment(rec)
    store.close()  # every call now raises StoreError
    assert close_abandoned(store, [rec]) == []
    assert rec.status == "RUNNING" and "could not close abandoned experiment e1" in caplog.text
