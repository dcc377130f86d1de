"""``maggy.experiments``: the read side shared by the command line, ``%maggy`` and the panel."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from maggy import experiments
from maggy.store import ExperimentRecord, open_store
from maggy.trial import Trial, TrialState


@pytest.fixture(scope="module")
def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _record(eid: str, start: float, driver: dict | None = None) -> ExperimentRecord:
    config = {} if driver is None else {"driver": driver}
    return ExperimentRecord(
        eid, eid[-3:], "", "optimization", None, "randomsearch", "max", 2, config, "RUNNING", start
    )


def _abandoned_store(path: Path, dead_pid: int) -> str:
    """A store holding one experiment of a dead driver, still RUNNING (written after the open's recovery)."""
    eid = "20260101-000000-dead00"
    with open_store(path) as s:
        s.create_experiment(_record(eid, 10.0, {"host": socket.gethostname(), "pid": dead_pid}))
        s.save_trial(eid, Trial(0, {"x": 1}, TrialState.FINISHED, metric=0.5, start=11.0, end=12.0))
        s.save_trial(eid, Trial(1, {"x": 2}, TrialState.RUNNING, start=13.0))
    return eid


def test_no_store_is_an_empty_listing_and_a_no_store_error_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "none" / "experiments.db"
    listing = experiments.list_experiments(path=path)
    assert listing.exists is False and listing.experiments == [] and listing.path == path
    with pytest.raises(experiments.NoStore, match="no experiment store at") as caught:
        experiments.get_experiment("x", path)
    assert isinstance(caught.value, experiments.StoreError) and caught.value.path == path
    assert not path.parent.exists()


def test_listing_is_newest_first_with_counts_and_says_whether_there_are_more(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with open_store(path) as s:
        for i in range(3):
            eid = f"20260101-00000{i}-aaaaaa"
            s.create_experiment(_record(eid, 100.0 + i))
            s.save_trial(eid, Trial(0, {"x": i}, TrialState.FINISHED, metric=float(i), end=1.0))
    listing = experiments.list_experiments(2, path)
    assert [e.record.experiment_id[-8:] for e in listing.experiments] == ["2-aaaaaa", "1-aaaaaa"]
    assert listing.more is True and listing.experiments[0].summary.best_metric == 2.0
    assert experiments.list_experiments(0, path).more is False  # 0: all
    assert len(experiments.list_experiments(None, path).experiments) == 3
    with pytest.raises(ValueError, match="limit must be a non-negative int"):
        experiments.list_experiments(-1, path)


def test_get_by_prefix_with_or_without_histories(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with open_store(path) as s:
        s.create_experiment(_record("20260101-000000-bbbbbb", 1.0))
        s.save_trial("20260101-000000-bbbbbb", Trial(0, {}, TrialState.FINISHED, 1.0, [[0, 1.0]], end=2.0))
    found = experiments.get_experiment("20260101-000000-b", path)
    assert found.record.experiment_id == "20260101-000000-bbbbbb" and found.trials[0].history == [[0, 1.0]]
    assert experiments.get_experiment("2026", path, with_history=False).trials[0].history == []
    with pytest.raises(experiments.ExperimentNotFound):
        experiments.get_experiment("zzz", path)


def test_a_read_closes_an_experiment_of_a_dead_driver_once(tmp_path: Path, dead_pid: int) -> None:
    path = tmp_path / "s.db"
    eid = _abandoned_store(path, dead_pid)
    (listed,) = experiments.list_experiments(path=path).experiments
    assert listed.record.status == "FAILED" and listed.summary.done == 2
    found = experiments.get_experiment(eid, path)
    assert [t.state for t in found.trials] == [TrialState.FINISHED, TrialState.LOST]
    assert found.record.result is not None and found.record.result["best_val"] == 0.5
    with experiments.open_for_reading(path) as store:  # nothing left to close: read-only
        assert getattr(store, "read_only", None) is True


def test_a_read_only_open_never_writes_and_a_writable_one_recovers(tmp_path: Path, dead_pid: int) -> None:
    path = tmp_path / "s.db"
    eid = _abandoned_store(path, dead_pid)
    with open_store(path, read_only=True) as store:
        assert store.get_experiment(eid).status == "RUNNING"
    with open_store(path) as store:
        assert store.get_experiment(eid).status == "FAILED"


def test_a_store_that_cannot_be_written_is_read_as_it_is_with_a_note(
    tmp_path: Path, dead_pid: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Where the store cannot be written, the abandoned experiment shows RUNNING and the log says
    why (the real read-only filesystem: tests/maggy/test_cli.py)."""
    path = tmp_path / "s.db"
    eid = _abandoned_store(path, dead_pid)
    (path.parent / "s.db-wal").unlink(missing_ok=True)
    path.parent.chmod(0o555)
    try:
        with caplog.at_level(logging.WARNING, logger="maggy"):
            if os.access(path.parent, os.W_OK):  # root: permissions do not bind
                pytest.skip("permissions do not stop this user from writing (root)")
            (listed,) = experiments.list_experiments(path=path).experiments
    finally:
        path.parent.chmod(0o755)
    assert listed.record.status == "RUNNING"
    assert f"{eid} left RUNNING by a driver that is gone; not closed as FAILED" in caplog.text


def test_running_experiments_are_the_running_ones_newest_first(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.db") as s:
        for i, status in enumerate(["RUNNING", "FINISHED", "RUNNING"]):
            s.create_experiment(_record(f"20260101-00000{i}-cccccc", 100.0 + i))
            if status != "RUNNING":
                s.finish_experiment(f"20260101-00000{i}-cccccc", status, 200.0, {})
        assert [r.experiment_id[9:15] for r in s.running_experiments()] == ["000002", "000000"]
