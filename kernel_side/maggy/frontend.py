"""How a user interface plugs into a running experiment, without the engine importing it.

A frontend (the Jupyter live view and comm bridge in ``maggy_jupyter``; a terminal bar) is found
through the ``maggy.frontends`` entry-point group, so ``maggy`` never imports IPython or widgets.
For each ``lagom`` call, every installed frontend whose ``active()`` is true gets ``attach(handle)``
before the workers start, and the first attached one whose ``wait`` is not None is used to wait
for the end (e.g. to keep serving comm messages while the notebook cell blocks); ``lagom_async``
likewise awaits the first one's ``wait_async(done)`` coroutine. The contract is :class:`Frontend`;
:func:`waiters` is where its defaults are applied.

Thread-safety: ``ExperimentHandle`` methods may be called from any thread (a widget's button
callback, a comm handler); listeners run on the driver's dispatcher thread.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Protocol

from maggy.core.events import EventBus, Listener
from maggy.trial import Trial

log = logging.getLogger("maggy")

ENTRY_POINT_GROUP = "maggy.frontends"


@dataclass
class ExperimentHandle:
    """What a frontend may see and do for one running experiment."""

    experiment_id: str
    name: str
    num_trials: int
    direction: str
    searchspace: dict[str, Any]
    _bus: EventBus
    _stop_trial: Callable[[int], bool]
    _stop_experiment: Callable[[], None]
    _snapshot: Callable[[], list[Trial]]

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Receive every later event (see ``maggy.core.events``); returns an unsubscribe function."""
        return self._bus.subscribe(listener)

    def stop_trial(self, trial_id: int) -> bool:
        """Ask a running trial to stop (it ends STOPPED); False if it is not running."""
        return self._stop_trial(trial_id)

    def stop_experiment(self) -> None:
        """Start no more trials and ask the running ones to stop; lagom then returns."""
        self._stop_experiment()

    def trials(self) -> list[Trial]:
        """Copies of every trial so far."""
        return self._snapshot()


Waiter = Callable[[threading.Event], None]
AsyncWaiter = Callable[[threading.Event], Awaitable[None]]


class Frontend(Protocol):
    """What a frontend offers. An entry point may name any class that has ``active`` and
    ``attach``; ``wait`` and ``wait_async`` are optional, None when absent (a subclass of
    Frontend inherits that default; for other classes :func:`waiters` applies it)."""

    #: ``wait(done)`` blocks until ``done`` is set, doing the frontend's work meanwhile (serving
    #: comm messages); KeyboardInterrupt must propagate. None (the default): this frontend does
    #: not need to wait in its own way, the next one's or :func:`plain_wait` is used.
    wait: Waiter | None = None

    #: ``await wait_async(done)`` for ``lagom_async``, as ``wait``; None (the default) as there.
    wait_async: AsyncWaiter | None = None

    #: True when this frontend shows the ``WorkerOutput`` events (what worker processes write
    #: outside trials); False (the default): lagom prints them to stderr, as a terminal shows them.
    shows_worker_output: bool = False

    def active(self) -> bool:
        """Whether this frontend applies here (e.g. running inside a Jupyter kernel)."""

    def attach(self, handle: ExperimentHandle) -> None:
        """Called before the workers start; subscribe listeners, show a view."""


def discover() -> list[Any]:
    """Instantiate every installed frontend whose ``active()`` is true (broken ones are logged)."""
    found = []
    for name, load in _entry_points():
        try:
            frontend = load()()
            if frontend.active():
                found.append(frontend)
        except Exception:
            log.exception("maggy: frontend %s failed to load; continuing without it", name)
    return found


@functools.cache
def _entry_points() -> tuple[tuple[str, Callable[[], Any]], ...]:
    # Scanning every installed distribution's metadata takes tens of milliseconds; what is
    # installed does not change while a process runs, so each lagom call after the first skips it.
    return tuple((entry.name, entry.load) for entry in metadata.entry_points(group=ENTRY_POINT_GROUP))


def plain_wait(done: threading.Event, poll: float = 0.05) -> None:
    """Block until ``done``; Ctrl-C (KeyboardInterrupt) is delivered between two polls."""
    while not done.wait(poll):
        pass


async def plain_wait_async(done: threading.Event, poll: float = 0.05) -> None:
    """Await until ``done``, checking every ``poll`` seconds (the event loop runs in between)."""
    while not done.is_set():
        await asyncio.sleep(poll)


def waiters(frontends: Iterable[object]) -> tuple[Waiter, AsyncWaiter]:
    """How ``lagom`` and ``lagom_async`` wait with ``frontends`` attached, in their order: the first
    ``wait`` and the first ``wait_async`` that is not None, else :func:`plain_wait` and
    :func:`plain_wait_async`. A frontend that does not define them (it does not subclass
    :class:`Frontend`) counts as None, the declared default: this is the one place it is applied."""
    offered = [(getattr(f, "wait", None), getattr(f, "wait_async", None)) for f in frontends]
    wait = next((w for w, _ in offered if callable(w)), plain_wait)
    wait_async = next((w for _, w in offered if callable(w)), plain_wait_async)
    return wait, wait_async
