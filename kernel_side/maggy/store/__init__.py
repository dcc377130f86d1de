"""The Experiments service: every experiment is registered when it starts, its trials as they go.

Where the store lives (one scheme, in this order):

1. the ``path`` passed to :func:`open_store` (the CLI's ``--store PATH``);
2. ``$MAGGY_HOME/experiments.db`` when the environment variable ``MAGGY_HOME`` is set;
3. ``~/.maggy/experiments.db`` otherwise.

``MAGGY_HOME`` names a directory (created on first use) so that later maggy state can live next to
the store. Point it at shared storage to see the experiments of several machines in one place,
or at a temporary directory to keep tests away from your real history.

Privacy: the store holds every param, log line and traceback of your experiments, so maggy keeps
it to you, as ``~/.ssh`` is kept: the directories it creates are 0700 and the store file 0600
(with its SQLite side files). ``~/.maggy`` is maggy's own, so one left open to others (by an older
maggy) is closed to 0700 when used (unless it is a symlink: then you chose where it points); a
directory you chose (``MAGGY_HOME``, ``--store``) that exists already keeps its mode, since you
may share it on purpose.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from maggy.store.base import (
    ExperimentNotFound,
    ExperimentRecord,
    ExperimentStatus,
    ExperimentStore,
    StoreError,
    StoreWarning,
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
    "StoreWarning",
    "TrialSummary",
    "default_store_path",
    "new_experiment_id",
    "open_store",
]

STORE_FILENAME = "experiments.db"


def default_store_path() -> Path:
    """``$MAGGY_HOME/experiments.db``, else ``~/.maggy/experiments.db``; creates the directory
    (0700; see the module docstring)."""
    home = os.environ.get("MAGGY_HOME")
    directory = Path(home).expanduser() if home else Path.home() / ".maggy"
    if not directory.exists():
        directory.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # made by another process meanwhile
            directory.mkdir(mode=0o700)
    elif not home and not directory.is_symlink() and directory.is_dir() and directory.stat().st_mode & 0o077:
        # Ours: no one else needs to read it. Not ours to change (another owner, a read-only
        # filesystem): leave it.
        with contextlib.suppress(OSError):
            directory.chmod(0o700)
    return directory / STORE_FILENAME


def open_store(path: str | os.PathLike[str] | None = None, read_only: bool = False) -> ExperimentStore:
    """Open (creating if needed) the store at ``path``, or at :func:`default_store_path`.

    ``read_only``: open an existing store for reading only, without ever writing to it (works on
    a read-only filesystem); a missing store is then a :class:`StoreError`. The caller owns the
    result and closes it (it is a context manager).

    A writable open first closes the experiments whose driver died without closing them (a
    killed kernel): FAILED, their unfinished trials LOST (:mod:`maggy.core.recovery`). This is the
    one place that happens, so whatever opens the store to write (``lagom``, the Experiments
    panel, a read that finds such an experiment: :func:`maggy.experiments.open_for_reading`)
    sees them closed. A read-only open shows them as they are.
    """
    store = SQLiteStore(default_store_path() if path is None else path, read_only=read_only)
    if not read_only:
        from maggy.core.recovery import close_abandoned  # it imports this package

        try:
            close_abandoned(store, store.running_experiments())
        except BaseException:
            store.close()
            raise
    return store
