"""The experiments of this kernel: running ones and the most recent finished ones.

``JupyterFrontend.attach`` registers every experiment's handle here before its workers start;
``%maggy`` (list, show, stop) and the comm bridge look them up. Only handles of this process are
kept (the store has the rest); finished ones stay, newest first, up to ``MAX_RECENT``.

Thread-safety: every function may be called from any thread (the notebook's main thread, a comm
handler, the driver's dispatcher thread delivering ``ExperimentFinished``). One lock guards the
table; entries are immutable snapshots, replaced rather than changed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace

from maggy.core.events import Event, ExperimentFinished
from maggy.frontend import ExperimentHandle

#: Finished experiments kept per kernel (running ones are always kept).
MAX_RECENT = 20

RUNNING = "RUNNING"


@dataclass(frozen=True)
class Registered:
    """One experiment of this kernel. ``status`` is RUNNING, then the experiment's final status."""

    handle: ExperimentHandle
    status: str
    started: float
    finished: float | None = None

    @property
    def experiment_id(self) -> str:
        return self.handle.experiment_id

    @property
    def name(self) -> str:
        return self.handle.name

    @property
    def running(self) -> bool:
        return self.status == RUNNING


_lock = threading.Lock()
_entries: dict[str, Registered] = {}  # insertion order == start order


def register(handle: ExperimentHandle) -> Registered:
    """Record ``handle`` as running and follow it to its end (listens for ``ExperimentFinished``).

    Registering the same experiment id again replaces its entry (a handle is registered once per
    ``lagom`` call; a second call with the same id would be a new run of it).
    """
    entry = Registered(handle=handle, status=RUNNING, started=time.time())
    with _lock:
        _entries.pop(entry.experiment_id, None)
        _entries[entry.experiment_id] = entry
        _trim()
    handle.subscribe(_Follower(entry.experiment_id))
    return entry


def running() -> list[Registered]:
    """Experiments of this kernel still running, oldest first (in practice at most one)."""
    with _lock:
        return [e for e in _entries.values() if e.running]


def recent() -> list[Registered]:
    """Every experiment remembered, running or finished, newest first."""
    with _lock:
        return list(reversed(_entries.values()))


def get(experiment_id_or_prefix: str) -> Registered:
    """The experiment whose id is, or uniquely starts with, ``experiment_id_or_prefix``.

    Raises KeyError when none matches or when the prefix is ambiguous (the message says which).
    """
    key = experiment_id_or_prefix.strip()
    with _lock:
        if key in _entries:
            return _entries[key]
        matches = [e for i, e in _entries.items() if key and i.startswith(key)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise KeyError(f"no experiment of this kernel has an id starting with {key!r}")
    ids = ", ".join(e.experiment_id for e in matches)
    raise KeyError(f"{key!r} matches several experiments of this kernel ({ids}); give more of the id")


def mark_finished(experiment_id: str, status: str) -> None:
    """Record the final ``status`` (called on ``ExperimentFinished``; idempotent)."""
    with _lock:
        entry = _entries.get(experiment_id)
        if entry is not None and entry.running:
            _entries[experiment_id] = replace(entry, status=status, finished=time.time())
            _trim()


def clear() -> None:
    """Forget every experiment (tests; a running experiment keeps running)."""
    with _lock:
        _entries.clear()


def _trim() -> None:
    """Drop the oldest finished entries beyond MAX_RECENT; the caller holds ``_lock``."""
    finished = [i for i, e in _entries.items() if not e.running]
    for experiment_id in finished[: max(0, len(finished) - MAX_RECENT)]:
        del _entries[experiment_id]


class _Follower:
    """Event listener moving an entry to its final status; runs on the dispatcher thread."""

    def __init__(self, experiment_id: str) -> None:
        self.experiment_id = experiment_id

    def __call__(self, event: Event) -> None:
        if isinstance(event, ExperimentFinished):
            mark_finished(self.experiment_id, event.status)
