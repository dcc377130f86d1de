"""The Experiments service interface: what every storage backend must do, and promise.

The driver registers an experiment with ``create_experiment`` before any worker starts, writes each
trial with ``save_trial`` when it starts and again when it ends, and closes the experiment with
``finish_experiment``; while a trial runs, its new points and log lines go in with
``save_trial_progress`` (appended, so a long curve or log is never rewritten). The CLI and the
notebook read it back with ``list_experiments``, ``get_experiment``, ``get_trials`` and, for
listings, ``trial_summary`` (counts and the best trial without reading every history). The one
conformance suite, :mod:`maggy.testing.store_conformance`, runs against every backend (maggy's
own in ``tests/maggy/store``); a new backend is done when that suite passes.
"""

from __future__ import annotations

import abc
import enum
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from maggy.core.result import best_trial
from maggy.trial import HISTORY_LIMIT, Trial, extend_bounded


class ExperimentStatus(str, enum.Enum):
    """Lifecycle of one experiment. The string values are what the store keeps."""

    RUNNING = "RUNNING"
    FINISHED = "FINISHED"  # every trial ran
    STOPPED = "STOPPED"  # the user stopped it (stop button, interrupt)
    FAILED = "FAILED"  # the driver itself failed; trial errors alone never fail an experiment

    @property
    def is_terminal(self) -> bool:
        return self is not ExperimentStatus.RUNNING


@dataclass
class ExperimentRecord:
    """What the store keeps about one experiment, apart from its trials.

    ``start``/``end`` are Unix timestamps (seconds). ``searchspace``, ``config`` and ``result`` are
    plain JSON-compatible dicts (the caller converts objects, e.g. ``Searchspace.to_dict()``).
    ``status`` holds an :class:`ExperimentStatus` value as a plain string.
    """

    experiment_id: str
    name: str
    description: str
    experiment_type: str
    searchspace: dict[str, Any] | None
    optimizer: str
    direction: str
    num_trials: int
    config: dict[str, Any]
    status: str
    start: float
    end: float | None = None
    result: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ExperimentRecord:
        """Build a record from ``to_dict`` output; unknown keys are ignored so that an export
        written by a newer maggy still loads."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass(frozen=True)
class TrialSummary:
    """What a listing shows of an experiment's trials, without reading their histories.

    ``total``: trials stored; ``done``: those in a terminal state; ``best_id``/``best_metric``:
    the best trial for the direction asked by maggy's one rule, :func:`maggy.core.result.best_trial`
    (the one the result dict names), or None when no trial has a metric.
    """

    total: int
    done: int
    best_id: int | None
    best_metric: float | None


class StoreError(RuntimeError):
    """The store cannot be used: not a maggy store, written by a newer maggy, closed, or (at the
    start of an experiment) not writable."""


#: What to do about a store that cannot be written to: the end of every such error message.
UNWRITABLE_HINT = (
    "if its disk is full or it is read-only, free some space or make it writable, or keep the "
    "experiments elsewhere: lagom(store='PATH') or the MAGGY_HOME environment variable"
)


class StoreWarning(UserWarning):
    """Issued at the end of an experiment some of whose writes to the store failed (a full
    disk): the result dict is whole, the store is not (``result["store_errors"]`` says what)."""


class ExperimentNotFound(KeyError):
    """No single experiment matches the id (or id prefix) asked for.

    A KeyError so that ``except KeyError`` works; ``str()`` gives the plain message (KeyError would
    quote it) because the CLI prints it as is.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "experiment not found"


class ExperimentStore(abc.ABC):
    """Where experiments and their trials live.

    Thread and process safety (every backend must honour this; the conformance suite checks it):

    * Every method may be called from any thread, concurrently, on one store object. The backend
      serialises what it must; callers need no lock of their own.
    * Several processes (several notebooks, a CLI reading while a driver writes) may open the same
      store at once and write to it. Each write is atomic and durable when the method returns, so a
      reader in another process sees a trial as soon as ``save_trial`` returns.
    * Writes of different experiments never interfere. Two concurrent ``save_trial`` calls for the
      same ``(experiment_id, trial_id)`` leave one of the two whole trials, never a mix.
    * A store object must not be shared across ``fork``; each process opens its own (backends may
      reopen transparently when they detect a fork).

    Data contract: dict values (params, info, config, searchspace, result) must be JSON-compatible.
    numpy scalars and arrays are stored as their Python equivalents; any other object that JSON
    cannot hold is stored as its ``repr()`` rather than failing the experiment. History values may
    be NaN or infinite and read back as such; a NaN ``metric`` reads back as None (no metric).
    Returned objects are fresh copies: mutating them does not change the store.
    """

    @abc.abstractmethod
    def create_experiment(self, record: ExperimentRecord) -> None:
        """Register a new experiment. Raises ValueError if its id already exists."""

    def resume_experiment(self, record: ExperimentRecord) -> None:
        """Set the stored experiment ``record.experiment_id`` RUNNING again, with ``record``'s
        name, description, searchspace, optimizer, num_trials and config; its end and result are
        cleared, its start and trials kept (``lagom(resume=...)``).

        Atomic check and update: raises ValueError when the experiment is RUNNING (two kernels
        resuming it at once: one wins), :class:`ExperimentNotFound` for an unknown exact id. The
        default raises NotImplementedError: a backend that cannot do it cannot resume.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot resume experiments")

    @abc.abstractmethod
    def finish_experiment(
        self,
        experiment_id: str,
        status: ExperimentStatus | str,
        end: float,
        result: dict[str, Any] | None,
    ) -> None:
        """Record how an experiment ended. ``status`` must be terminal (not RUNNING), else
        ValueError; an unknown exact id raises :class:`ExperimentNotFound`."""

    @abc.abstractmethod
    def save_trial(self, experiment_id: str, trial: Trial) -> None:
        """Insert or replace the whole trial ``(experiment_id, trial.trial_id)``.

        Called when the trial starts and again when it ends (and may be called in between). The
        trial is read during the call only, so the caller must not mutate it concurrently. Raises
        :class:`ExperimentNotFound` if the experiment (exact id) was never created.
        """

    def save_trial_progress(
        self,
        experiment_id: str,
        trial: Trial,
        new_points: Sequence[Sequence[float]],
        new_logs: Sequence[str] = (),
    ) -> None:
        """Write ``trial``'s fields (inserting it if absent) but keep its stored history and
        logs, appending ``new_points`` and ``new_logs`` to them; ``trial.history`` and
        ``trial.logs`` are ignored.

        This is how the driver stores long curves and long logs: each write costs the new
        points and lines, not the whole history, and the driver need not keep them all in
        memory. Atomic like ``save_trial``: after a failure (a full disk) nothing of the call
        was written, so the caller may retry it with the same (or more) points and lines.
        Raises :class:`ExperimentNotFound` like ``save_trial``. This default reads the stored
        trial back; a backend should append without reading it.
        """
        stored = {t.trial_id: t for t in self.get_trials(experiment_id)}.get(trial.trial_id)
        whole = replace(
            trial,
            history=[*(stored.history if stored else []), *(list(p) for p in new_points)],
            logs=[*(stored.logs if stored else []), *new_logs],
        )
        self.save_trial(experiment_id, whole)

    @abc.abstractmethod
    def list_experiments(self, limit: int | None = None) -> list[ExperimentRecord]:
        """Experiments newest first (by start time); at most ``limit`` of them when given."""

    def running_experiments(self) -> list[ExperimentRecord]:
        """The RUNNING experiments, newest first (what recovery looks at on every writable open).
        This default filters ``list_experiments()``; a backend should ask only for those."""
        return [r for r in self.list_experiments() if r.status == ExperimentStatus.RUNNING.value]

    @abc.abstractmethod
    def get_experiment(self, experiment_id: str) -> ExperimentRecord:
        """The experiment with this id, or with this unique id prefix.

        An exact id wins over a prefix. Raises :class:`ExperimentNotFound` when nothing matches
        (the message suggests close ids and ``maggy experiments list``) or when the prefix is
        ambiguous (the message lists the candidates).
        """

    @abc.abstractmethod
    def get_trials(self, experiment_id: str, with_history: bool = True) -> list[Trial]:
        """All trials of the experiment (exact id), ordered by trial_id; ``[]`` if none yet.
        Raises :class:`ExperimentNotFound` for an unknown experiment.

        Each trial's whole history and log, unless ``with_history`` is False: then every
        ``history`` and ``logs`` is empty, and a backend should not read the points and lines at
        all (long curves and logs are the bulk of a store; a summary of the trials needs none of
        them)."""

    def get_histories(self, experiment_id: str, limit: int = HISTORY_LIMIT) -> dict[int, list[list[float]]]:
        """Each trial's history (by trial id; trials without points left out), thinned evenly to
        at most ``limit`` points as the driver keeps them (:func:`maggy.trial.extend_bounded`:
        the first and the latest point kept), without logs. What a resumed experiment needs of
        its earlier curves: a backend should read them a trial at a time, so that memory stays
        bounded by ``limit`` points per trial whatever the stored curves' length. Raises
        :class:`ExperimentNotFound` like ``get_trials``. This default reads every whole history.
        """
        histories = {}
        for trial in self.get_trials(experiment_id):
            if trial.history:
                kept: list[list[float]] = []
                extend_bounded(kept, trial.history, limit)
                histories[trial.trial_id] = kept
        return histories

    def trial_summary(self, experiment_id: str, direction: str) -> TrialSummary:
        """Counts and the best trial of the experiment (exact id), see TrialSummary.

        ``direction`` is 'max' or 'min'. Raises :class:`ExperimentNotFound` like ``get_trials``.
        This default reads every trial; a backend should answer it without reading histories.
        """
        trials = self.get_trials(experiment_id, with_history=False)
        best = best_trial(trials, direction)
        return TrialSummary(
            total=len(trials),
            done=sum(t.state.is_terminal for t in trials),
            best_id=None if best is None else best.trial_id,
            best_metric=None if best is None else best.metric,
        )

    @abc.abstractmethod
    def close(self) -> None:
        """Release resources. Idempotent; any other call afterwards raises :class:`StoreError`."""

    def __enter__(self) -> ExperimentStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_id_lock = threading.Lock()
_issued_stamp = ""
_issued: set[str] = set()  # ids handed out during _issued_stamp's second, to rule out repeats


def new_experiment_id() -> str:
    """A new experiment id such as ``20261128-235501-3fa2c1``: UTC time, then 24 random bits.

    UTC so that ids sort by start time on every machine whatever its time zone; within one second
    the random suffix decides the order. Never repeats within a process; across processes starting
    in the same second a repeat has odds of 1 in 16 million per pair, and ``create_experiment``
    rejects it rather than mixing two experiments. Short enough to type, and the store accepts any
    unique prefix.
    """
    global _issued_stamp
    with _id_lock:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        if stamp != _issued_stamp:
            _issued_stamp = stamp
            _issued.clear()
        while True:
            new = f"{stamp}-{os.urandom(3).hex()}"
            if new not in _issued:
                _issued.add(new)
                return new
