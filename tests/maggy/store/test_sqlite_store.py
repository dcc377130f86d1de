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
