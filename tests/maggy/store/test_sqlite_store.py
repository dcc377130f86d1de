"""What is specific to the SQLite backend and to locating the store; the shared contract is tested
in test_store_conformance.py."""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import pytest

from maggy.store import SQLiteStore, StoreError, default_store_path, open_store
from maggy.store.sqlite import SCHEMA_VERSION


def test_file_uses_wal_and_a_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "dir" / "e.db"  # missing parents are created
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"experiments", "trials"} <= tables
    finally:
        conn.close()


def test_store_from_a_newer_maggy_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "e.db"
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer maggy"):
        SQLiteStore(path)


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("this is not sqlite, " * 100)
    with pytest.raises(StoreError, match="not a usable maggy store"):
        SQLiteStore(path)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_store_refuses_use_after_fork(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "e.db")
    pid = os.fork()
    if pid == 0:  # child: must refuse, and exit without running pytest's teardown
        try:
            store.list_experiments()
            code = 1
        except StoreError:
            code = 0
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store.list_experiments() == []  # the parent's connection is untouched
    store.close()


def test_default_store_path_honours_maggy_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAGGY_HOME", str(tmp_path / "mh"))
    assert default_store_path() == tmp_path / "mh" / "experiments.db"
    assert (tmp_path / "mh").is_dir()


def test_default_store_path_falls_back_to_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAGGY_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    if sys.platform == "win32":
        monkeypatch.setenv("USERPROFILE", str(tmp_path))
    assert default_store_path() == tmp_path / ".maggy" / "experiments.db"


def test_open_store_uses_path_or_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAGGY_HOME", str(tmp_path / "mh"))
    with open_store() as s:
        assert isinstance(s, SQLiteStore) and s.path == tmp_path / "mh" / "experiments.db"
    with open_store(tmp_path / "other.db") as s:
        assert isinstance(s, SQLiteStore) and s.path == tmp_path / "other.db"
    assert (tmp_path / "other.db").exists()


# -- privacy: the store holds every param, log line and traceback ------------------------------


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_a_new_store_and_the_directories_made_for_it_are_private(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "e.db"
    store = SQLiteStore(path)
    store.create_experiment(make_record("x"))  # the -wal and -shm files exist while it is open
    side = [Path(f"{path}-wal"), Path(f"{path}-shm")]
    assert all(p.exists() for p in side)
    assert [_mode(p) for p in (path, *side)] == [0o600] * 3
    assert _mode(tmp_path / "a") == _mode(tmp_path / "a" / "b") == 0o700
    store.close()
    conn = sqlite3.connect(path)  # a rollback journal (the mode SQLite falls back to) likewise
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("PRAGMA locking_mode = EXCLUSIVE")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE experiments SET name = 'y'")
    journal = Path(f"{path}-journal")
    assert journal.exists() and _mode(journal) == 0o600
    conn.execute("ROLLBACK")
    conn.close()


def test_an_existing_directory_chosen_by_the_user_keeps_its_mode(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    SQLiteStore(shared / "e.db").close()
    assert _mode(shared) == 0o755 and _mode(shared / "e.db") == 0o600


def test_the_default_directory_is_made_private_even_when_it_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MAGGY_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    fresh = default_store_path()
    assert _mode(fresh.parent) == 0o700
    fresh.parent.chmod(0o755)  # as an older maggy left it
    assert _mode(default_store_path().parent) == 0o700
    home = tmp_path / "home"  # MAGGY_HOME: the user's choice, made private only when maggy makes it
    monkeypatch.setenv("MAGGY_HOME", str(home))
    assert _mode(default_store_path().parent) == 0o700
    home.chmod(0o750)
    assert _mode(default_store_path().parent) == 0o750


# -- read-only opening -----------------------------------------------------------------------


def make_record(exp_id: str):
    from maggy.store import ExperimentRecord

    return ExperimentRecord(exp_id, "n", "", "optimization", None, "r", "max", 1, {}, "RUNNING", 1.0)


def test_read_only_store_reads_everything_and_writes_nothing(tmp_path: Path) -> None:
    from maggy.trial import Trial, TrialState

    path = tmp_path / "e.db"
    with SQLiteStore(path) as store:
        store.create_experiment(make_record("x"))
        store.save_trial_progress("x", Trial(0, {"a": 1}, TrialState.RUNNING), [[0, 1.0], [1, 2.0]])
    before = path.read_bytes()
    with open_store(path, read_only=True) as ro:
        assert [r.experiment_id for r in ro.list_experiments()] == ["x"]
        assert ro.get_trials("x")[0].history == [[0, 1.0], [1, 2.0]]
        with pytest.raises(StoreError, match="read-only"):
            ro.save_trial("x", Trial(1, {}))
        with pytest.raises(StoreError, match="read-only"):
            ro.finish_experiment("x", "FINISHED", 2.0, None)
    assert path.read_bytes() == before
    with pytest.raises(StoreError, match="no maggy store"):
        open_store(tmp_path / "missing.db", read_only=True)
    assert not (tmp_path / "missing.db").exists()


def test_a_version_1_store_is_read_as_is_and_upgraded_by_a_writer(tmp_path: Path) -> None:
    from maggy.trial import Trial, TrialState

    path = tmp_path / "old.db"
    with SQLiteStore(path) as store:
        store.create_experiment(make_record("x"))
        store.save_trial("x", Trial(0, {}, TrialState.FINISHED, 1.0, history=[[0, 1.0]]))
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE trial_points")
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    with open_store(path, read_only=True) as ro:
        assert ro.get_trials("x")[0].history == [[0, 1.0]]
    with open_store(path) as store:
        store.save_trial_progress("x", Trial(0, {}, TrialState.FINISHED, 1.0), [[1, 2.0]])
        assert store.get_trials("x")[0].history == [[0, 1.0], [1, 2.0]]


def test_a_version_2_store_is_read_as_is_and_upgraded_by_a_writer(tmp_path: Path) -> None:
    from maggy.trial import Trial, TrialState

    path = tmp_path / "v2.db"
    with SQLiteStore(path) as store:
        store.create_experiment(make_record("x"))
        store.save_trial("x", Trial(0, {}, TrialState.RUNNING, logs=["old 0", "old 1"]))
        store.save_trial_progress("x", Trial(0, {}, TrialState.RUNNING), [[0, 1.0]])
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE trial_logs")
    conn.execute("PRAGMA user_version = 2")
    conn.close()
    with open_store(path, read_only=True) as ro:
        (trial,) = ro.get_trials("x")
        assert (trial.logs, trial.history) == (["old 0", "old 1"], [[0, 1.0]])
    with open_store(path) as store:
        store.save_trial_progress("x", Trial(0, {}, TrialState.FINISHED, 1.0), [[1, 2.0]], ["new 2"])
        (trial,) = store.get_trials("x")
        assert (trial.logs, trial.history) == (["old 0", "old 1", "new 2"], [[0, 1.0], [1, 2.0]])
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    conn.close()
