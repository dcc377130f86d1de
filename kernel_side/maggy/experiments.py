"""Recorded experiments, for programs: the read side that ``maggy experiments``, ``%maggy`` and the
JupyterLab panel share.

    from maggy import experiments

    listing = experiments.list_experiments(limit=20)  # newest first, each with its trial counts
    found = experiments.get_experiment("20260105")    # by id or a unique prefix; .record, .trials

``path`` is always optional: ``--store PATH`` of the command line, else the default store
(:func:`maggy.store.default_store_path`). Text for people comes from :mod:`maggy.render`.

Reading never creates a store (:class:`NoStore` where there is none) and opens it read-only, so it
works on a read-only filesystem or another user's file. Experiments whose driver died (a killed
kernel) are closed as FAILED when the store is opened for writing (:func:`maggy.store.open_store`);
a read finding such an experiment reopens the store writable for that, where it may write, and
otherwise shows it as it is (still RUNNING), with a warning on the ``maggy`` logger.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from maggy.store import (
    ExperimentNotFound,
    ExperimentRecord,
    ExperimentStore,
    StoreError,
    TrialSummary,
    default_store_path,
    open_store,
)
from maggy.trial import Trial

__all__ = [
    "DEFAULT_LIST_LIMIT",
    "Experiment",
    "ExperimentNotFound",
    "ExperimentRecord",
    "Listed",
    "Listing",
    "NoStore",
    "StoreError",
    "get_experiment",
    "list_experiments",
    "open_for_reading",
    "open_store",
    "store_path",
]

log = logging.getLogger("maggy")

#: Experiments a listing shows when not told how many.
DEFAULT_LIST_LIMIT = 20


class NoStore(StoreError):
    """There is no experiment store at ``path`` yet (no experiment has used it)."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"no experiment store at {path}")
        self.path = path


@dataclass(frozen=True)
class Listed:
    """One experiment of a listing: its record and its trials' counts (no histories read)."""

    record: ExperimentRecord
    summary: TrialSummary


@dataclass(frozen=True)
class Listing:
    """The newest experiments of a store. ``exists``: whether there is a store at ``path`` at all;
    ``more``: whether the store holds more experiments than were listed."""

    path: Path
    experiments: list[Listed] = field(default_factory=list)
    more: bool = False
    exists: bool = True


@dataclass(frozen=True)
class Experiment:
    """One stored experiment and its trials (in trial id order)."""

    record: ExperimentRecord
    trials: list[Trial]


def store_path(path: str | os.PathLike[str] | None = None) -> Path:
    """``path`` (``~`` expanded), else the default store's path."""
    return Path(path).expanduser() if path else default_store_path()


def open_for_reading(path: str | os.PathLike[str] | None = None) -> ExperimentStore:
    """The store at ``path``, opened to read; the caller closes it (a context manager).

    Read-only, unless it holds experiments left RUNNING by a driver that is gone and may be
    written here: then it is opened writable, which closes them (see the module docstring).
    Raises :class:`NoStore` where there is no store, :class:`StoreError` where it cannot be read.
    """
    from maggy.core.recovery import is_abandoned

    where = store_path(path)
    if not where.exists():
        raise NoStore(where)
    store = open_store(where, read_only=True)
    try:
        abandoned = [r.experiment_id for r in store.running_experiments() if is_abandoned(r)]
    except BaseException:
        store.close()
        raise
    if not abandoned:
        return store
    try:
        if not (os.access(where, os.W_OK) and os.access(where.parent, os.W_OK)):
            raise StoreError("the store is read-only here")
        writable = open_store(where)  # closes them
    except (StoreError, OSError) as e:
        log.warning(
            "maggy: note: %s left RUNNING by a driver that is gone; not closed as FAILED (%s)",
            ", ".join(abandoned),
            e,
        )
        return store
    store.close()
    return writable


def list_experiments(
    limit: int | None = DEFAULT_LIST_LIMIT, path: str | os.PathLike[str] | None = None
) -> Listing:
    """The newest ``limit`` experiments (None or 0: all), newest first, with their trial counts.

    No store at ``path`` is an empty listing with ``exists`` False, not an error.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be a non-negative int or None, got {limit!r}")
    limit = limit or None
    try:
        store = open_for_reading(path)
    except NoStore as e:
        return Listing(e.path, exists=False)
    with store:
        # One more than shown, to know whether there are more.
        records = store.list_experiments(None if limit is None else limit + 1)
        shown = [
            Listed(rec, store.trial_summary(rec.experiment_id, rec.direction)) for rec in records[:limit]
        ]
    return Listing(store_path(path), shown, more=limit is not None and len(records) > limit)


def get_experiment(
    id_or_prefix: str, path: str | os.PathLike[str] | None = None, with_history: bool = True
) -> Experiment:
    """The experiment ``id_or_prefix`` (its id or a unique prefix of it) and its trials.

    ``with_history``: read every trial's points (False: empty histories, much less to read).
    Raises :class:`NoStore`, :class:`ExperimentNotFound` (unknown or ambiguous: the message names
    the candidates) or :class:`StoreError`.
    """
    with open_for_reading(path) as store:
        record = store.get_experiment(id_or_prefix)
        return Experiment(record, store.get_trials(record.experiment_id, with_history=with_history))
