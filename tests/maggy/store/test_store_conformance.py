"""The store conformance suite (:mod:`maggy.testing.store_conformance`) against maggy's stores.

Each ``store_factory`` parameter is one backend: the SQLite store, and the SQLite store relying
on the :class:`~maggy.store.ExperimentStore` defaults a third-party backend inherits (so that
those defaults keep the contract too). Module-level openers: spawned processes open them too.
"""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from pathlib import Path

import pytest

from maggy.store import ExperimentStore, SQLiteStore, new_experiment_id
from maggy.testing.store_conformance import *  # noqa: F403 -- the suite's tests and its store fixture
from maggy.testing.store_conformance import StoreFactory


class DefaultsStore(SQLiteStore):
    """The SQLite store with the ExperimentStore defaults where a backend may override them."""

    save_trial_progress = ExperimentStore.save_trial_progress


@pytest.fixture(params=["sqlite", "sqlite-defaults"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    cls = SQLiteStore if request.param == "sqlite" else DefaultsStore
    return functools.partial(cls, str(tmp_path / "experiments.db"))


def test_new_experiment_id_is_sortable_unique_and_short() -> None:
    ids = [new_experiment_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{6}", i) for i in ids)
    stamps = [i[:15] for i in ids]
    assert stamps == sorted(stamps)  # time part never goes backwards
    assert len(ids[0]) <= 24


def test_the_suite_is_not_imported_by_maggy() -> None:
    code = "import sys, maggy, maggy.store, maggy.experiment; print('pytest' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "False"  # maggy.testing (which imports pytest) is for tests only
