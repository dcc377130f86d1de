"""Closing experiments whose driver died without closing them (a killed kernel, ``kill -9``).

A driver normally ends its experiment itself, even on Ctrl-C or a failure (``ExperimentRun``'s
``finish``). Only a process that dies outright leaves the experiment RUNNING in the store, its
running trials RUNNING too. So every experiment records where its driver runs
(``config["driver"] = {"host": ..., "pid": ...}``, :func:`driver_identity`), and the next writable
open of the store (:func:`maggy.store.open_store`: a new ``lagom``, the Experiments panel, or a
read through :mod:`maggy.experiments` that finds such an experiment) closes the abandoned ones:
trials that were PENDING or RUNNING become LOST with a message saying why, and the experiment
FAILED with the result dict computed from its trials, so everything that finished stays usable.

An experiment counts as abandoned only when its driver ran on this host and that process no
longer exists. Experiments of other hosts (a shared store) and of drivers that are alive are never
touched. A pid reused by a later process is told apart by the process start time the driver
records where the OS gives it (Linux ``/proc``); elsewhere such a reuse keeps the abandoned
experiment RUNNING (the safe mistake). Records written before drivers recorded themselves are
left alone.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable
from typing import Any

from maggy.core.result import build_result
from maggy.store import ExperimentRecord, ExperimentStatus, ExperimentStore
from maggy.trial import TrialState

log = logging.getLogger("maggy")


def driver_identity() -> dict[str, Any]:
    """What an experiment records about its driver process: ``{"host", "pid", "started"}``
    (``started``: the process start time in clock ticks since boot, or None where unknown)."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": process_start(os.getpid())}


def is_abandoned(record: ExperimentRecord) -> bool:
    """True if ``record`` is RUNNING but its driver process, on this host, no longer exists."""
    driver = record.config.get("driver")
    if record.status != ExperimentStatus.RUNNING.value or not isinstance(driver, dict):
        return False
    pid = driver.get("pid")
    if driver.get("host") != socket.gethostname() or not isinstance(pid, int) or pid <= 0:
        return False
    if pid != os.getpid():
        try:
            os.kill(pid, 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            return True
        except PermissionError:  # exists, owned by someone else
            pass
    # A process with that pid exists (maybe this one): the driver only if it started when the
    # driver did. Unknown start times (not recorded, or not readable here) count as the same.
    started, now = driver.get("started"), process_start(pid)
    return started is not None and now is not None and started != now


def process_start(pid: int) -> int | None:
    """Start time of process ``pid`` in clock ticks since boot (Linux), else None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            # Field 22; the command name (field 2) may hold spaces and parentheses, so split
            # after its closing parenthesis, where field 3 starts.
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def close_abandoned(store: ExperimentStore, records: Iterable[ExperimentRecord]) -> list[str]:
    """Close every abandoned experiment among ``records`` (see module docstring); their ids.

    Each record passed in that was closed is updated in place (status, end, result), so a caller
    can show the records it already read. Never raises for one experiment: a failure to close it
    (a read-only store, say) is logged and the experiment stays as it was.
    """
    closed = []
    for record in records:
        if not is_abandoned(record):
            continue
        try:
            _close(store, record)
        except Exception:  # e.g. a read-only store: the caller still gets to show what is there
            log.exception("maggy: could not close abandoned experiment %s", record.experiment_id)
            continue
        closed.append(record.experiment_id)
    return closed


def _close(store: ExperimentStore, record: ExperimentRecord) -> None:
    pid = record.config["driver"]["pid"]
    trials = store.get_trials(record.experiment_id, with_history=False)  # the points stay where they are
    # The last moment the driver is known to have been alive: its latest trial start or end.
    times = [t for trial in trials for t in (trial.start, trial.end) if t is not None]
    end = max([record.start, *times])
    for trial in trials:
        if trial.state in (TrialState.PENDING, TrialState.RUNNING):
            trial.state = TrialState.LOST
            trial.error = (
                f"the experiment's driver process (pid {pid}) ended while this trial ran "
                "(kernel killed or restarted?); its points and logs so far are kept"
            )
            store.save_trial_progress(record.experiment_id, trial, [])  # its stored points stay
    result = build_result(
        record.experiment_id,
        trials,
        record.direction,
        end - record.start,
        ExperimentStatus.FAILED.value,
        record.experiment_type,
    )
    store.finish_experiment(record.experiment_id, ExperimentStatus.FAILED, end, result)
    record.status, record.end, record.result = ExperimentStatus.FAILED.value, end, result
    log.warning(
        "maggy: experiment %s was left RUNNING by a driver that no longer exists (pid %s); "
        "closed it as FAILED, its finished trials kept",
        record.experiment_id,
        pid,
    )
