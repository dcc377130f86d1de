"""The Experiments service: every experiment is registered when it starts, its trials as they go.

Where the store lives (one scheme, in this order):

1. the ``path`` passed to :func:`open_store` (the CLI's ``--store PATH``);
2. ``$MAGGY_HOME/experiments.db`` when the environment variable ``MAGGY_HOME`` is set;
3. ``~/.maggy/experiments.db`` otherwise.

``MAGGY_HOME`` names a directory (created on first use) so that later maggy state can live next to
the store. Point it at shared storage to see the experiments of several machines in one place,
or at a temporary directory to keep tests away from your real history.
"""

from __future__ import annotations

import os
from pathlib import Path

from maggy.store.base import (
    ExperimentNotFound,
    ExperimentRecord,
    ExperimentStatus,
    ExperimentStore,
    StoreError,
    TrialSummary,
    new_experiment_id,
)
from maggy.store.sqlite import SQLiteStore

__all__ = [
    "ExperimentNotFound",
    "ExperimentRecord",
    "ExperimentStatus",
    "ExperimentStore",
    "SQLiteStore",
    "StoreError",
    "TrialSummary",
    "default_store_path",
    "new_experiment_id",
    "open_store",
]

STORE_FILENAME = "experiments.db"


def default_store_path() -> Path:
    """``$MAGGY_HOME/experiments.db``, else ``~/.maggy/experiments.db``; creates the directory."""
    home = os.environ.get("MAGGY_HOME")
    directory = Path(home).expanduser() if home else Path.home() / ".maggy"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / STORE_FILENAME


def open_store(path: str | os.PathLike[str] | None = None) -> ExperimentStore:
    """Open (creating if needed) the store at ``path``, or at :func:`default_store_path`.

    The caller owns the result and closes it (it is a context manager).
    """
    return SQLiteStore(default_store_path() if path is None else path)
