"""One experiment's lifecycle after validation: start, wait, finish.

``ExperimentRun`` is built by ``maggy.experiment`` from validated arguments. ``execute`` blocks
(``lagom``), ``execute_async`` awaits (``lagom_async``). Either way ``finish`` always runs: the
workers are stopped, the driver closed, and the experiment's final status and result written to
the store, so nothing that finished is lost when a trial, a worker or the user interrupts.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from types import FrameType, TracebackType
from typing import Any

from maggy.backends.base import Backend, Supervision, driver_host_of
from maggy.core import events as ev
from maggy.core.driver import Driver
from maggy.core.driver_core import DriverCore
from maggy.core.failure import all_failed
from maggy.core.result import build_result
from maggy.core.store_writer import RETRY_BACKOFF, StoreWriter
from maggy.exceptions import ExperimentInterrupted
from maggy.frontend import (
    AsyncWaiter,
    ExperimentHandle,
    Waiter,
    discover,
    plain_wait,
    plain_wait_async,
    waiters,
)
from maggy.rpc.framing import new_secret
from maggy.store import ExperimentNotFound, ExperimentRecord, ExperimentStatus, ExperimentStore, StoreWarning
from maggy.store.base import UNWRITABLE_HINT, StoreError

log = logging.getLogger("maggy")


class ExperimentRun:
    """Drives one registered experiment from its first worker to its result dict."""

    def __init__(
        self,
        packed_fn: bytes,
        core: DriverCore,
        record: ExperimentRecord,
        store: ExperimentStore,
        runner: Backend,
        progress: bool | None,
        listeners: Iterable[Callable[[ev.Event], None]],
        on_close: Callable[[], None],
        resuming: bool = False,
    ) -> None:
        """``resuming``: ``record`` is a stored experiment to continue (``lagom(resume=...)``): it is
        set RUNNING again instead of registered, and ``core`` holds its earlier trials."""
        self.packed_fn = packed_fn
        self.resuming = resuming
        self.core = core
        self.record = record
        self.store = store
        self.runner = runner
        self._on_close = on_close
        self.bus = ev.EventBus()
        self.store_writer = StoreWriter(store, record.experiment_id)
        self.bus.subscribe(self.store_writer)
        self.handle = ExperimentHandle(
            experiment_id=record.experiment_id,
            name=record.name,
            num_trials=record.num_trials,
            direction=record.direction,
            searchspace=dict(record.searchspace or {}),
            _bus=self.bus,
            _stop_trial=core.stop_trial,
            _stop_experiment=core.stop_experiment,
            _snapshot=core.snapshot_trials,
        )
        self.waiter: Waiter = plain_wait
        self.async_waiter: AsyncWaiter = plain_wait_async
        self._progress = progress
        self._listeners = list(listeners)
        self._driver: Driver | None = None
        self._registered = False
        self._started = time.time()

    # ---- the two ways to run -----------------------------------------------------------------

    def execute(self) -> dict[str, Any]:
        """Run to the end, blocking.

        Ctrl-C (KeyboardInterrupt) ends the experiment cleanly, then raises
        :class:`~maggy.exceptions.ExperimentInterrupted` carrying the result dict. It may come at
        any moment: once the end has begun, further Ctrl-Cs are held until the workers are
        stopped and the final status and result are in the store (a few seconds at most).
        """
        status = ExperimentStatus.FAILED
        interrupted = False
        with _InterruptGuard() as guard:
            try:
                self._start(attach_frontends=True)
                self.waiter(self.core.done)
                guard.hold()
                status = self._status()
            except KeyboardInterrupt:
                guard.hold()
                interrupted = True
                status = self._interrupted_status()
            finally:
                guard.hold()
                self._ensure_registered()
                result = self._finish(status, self._failure_text(status))
        if interrupted or guard.held:
            raise ExperimentInterrupted(result, self.record.num_trials) from None
        return self._result_or_raise(result)

    async def execute_async(self) -> dict[str, Any]:
        """Run to the end without blocking the event loop (top-level ``await`` in a notebook).

        Cancelling the awaiting task ends the experiment STOPPED and re-raises the
        ``CancelledError``; a KeyboardInterrupt raises ``ExperimentInterrupted`` as in
        :meth:`execute`. Either way the store holds the final state.
        """
        status = ExperimentStatus.FAILED
        interrupted = False
        try:
            self._start(attach_frontends=True)
            await self.async_waiter(self.core.done)
            status = self._status()
        except KeyboardInterrupt:
            interrupted = True
            status = self._interrupted_status()
        except asyncio.CancelledError:
            status = self._interrupted_status()
            raise
        finally:
            # The end runs on this thread without yielding, so a cancellation waits for it by
            # itself; only Python's default handler would raise in the middle of it.
            with _InterruptGuard(holding=True) as guard:
                self._ensure_registered()
                result = self._finish(status, self._failure_text(status))
        if interrupted or guard.held:
            raise ExperimentInterrupted(result, self.record.num_trials) from None
        return self._result_or_raise(result)

    # ---- lifecycle ---------------------------------------------------------------------------

    def _start(self, attach_frontends: bool) -> None:
        frontends = discover() if attach_frontends else []
        attached = []
        for frontend in frontends:
            try:
                frontend.attach(self.handle)
            except Exception:
                log.exception("maggy: frontend %r failed to attach; continuing without it", frontend)
                continue
            attached.append(frontend)
        self.waiter, self.async_waiter = waiters(attached)
        if not any(getattr(frontend, "shows_worker_output", False) for frontend in attached):
            self.bus.subscribe(_echo_worker_output)  # where a terminal would show it, as before
        if self._progress if self._progress is not None else not frontends:
            from maggy.progress import ConsoleProgress

            self.bus.subscribe(ConsoleProgress(self.record.direction, self.record.num_trials))
        for listener in self._listeners:
            self.bus.subscribe(listener)
        earlier = tuple(t for t in self.core.snapshot_trials() if t.state.is_terminal)
        try:
            if self.resuming:
                self.store.resume_experiment(self.record)
            else:
                self.store.create_experiment(self.record)
        except ValueError:  # a repeated id, a resume already running: the store's own message says it
            raise
        except Exception as exc:  # a full disk, a read-only file: say so before any worker starts
            raise StoreError(
                f"experiment {self.record.experiment_id} could not be registered in the store "
                f"({self.store}: {type(exc).__name__}: {exc}), so nothing ran; {UNWRITABLE_HINT}"
            ) from exc
        self._registered = True
        num_workers = self.runner.worker_count(self.record.num_trials)
        self.core.expected_workers = num_workers
        secret = new_secret()  # fresh per experiment; reaches workers only through the backend's channel
        # The backend knows which interface its workers reach (loopback locally, Spark's driver
        # host on a cluster).
        self._driver = Driver(
            self.core, secret, self.bus, host=driver_host_of(self.runner), kill_worker=self.runner.kill_worker
        )
        self._started = time.time()
        self._driver.start()
        # Queued, not published here: the dispatcher thread delivers every event, in order.
        self.core.events.put(
            ev.ExperimentStarted(
                self.record.experiment_id,
                self.record.name,
                self.record.num_trials,
                num_workers,
                self._driver.address,
                dict(self.record.config),
                earlier_trials=earlier,
            )
        )
        supervision = Supervision(
            is_running=lambda: not self.core.done.is_set(),
            has_registered=self.core.has_registered,
            fail=lambda message: self.core.fail(RuntimeError(message)),
            worker_info=self.core.worker_info,
            has_left=self.core.has_left,
            worker_output=lambda worker_id, lines: self.core.events.put(
                ev.WorkerOutput(self.record.experiment_id, worker_id, lines)
            ),
        )
        self.runner.start(
            self._driver.address,
            secret,
            self.packed_fn,
            self.record.config["hb_interval"],
            num_workers,
            supervision,
        )

    def _status(self) -> ExperimentStatus:
        """The status of an experiment that ended on its own (or by the user's stop request).

        FAILED when the engine failed, or when every trial that ended failed (ERROR or LOST:
        ``maggy.core.failure.all_failed``); a stop requested by the user is STOPPED even if the
        trials that ended had all failed (the user chose to end it).
        """
        if self.core.failure is not None:
            return ExperimentStatus.FAILED
        if self.core.stop_requested_at is not None:
            return ExperimentStatus.STOPPED
        if all_failed(self.core.snapshot_trials()) is not None:
            return ExperimentStatus.FAILED
        return ExperimentStatus.FINISHED

    def _ensure_registered(self) -> None:
        """Register the experiment if ``_start`` ended before it did (a Ctrl-C as lagom began), so
        that the result's experiment id is in the store with its final status. A resume that
        did not get to set its experiment RUNNING leaves it as it was (another kernel may have
        resumed it in the meantime)."""
        if self._registered or self.resuming:
            return
        try:
            self.store.get_experiment(self.record.experiment_id)
        except ExperimentNotFound:
            try:
                self.store.create_experiment(self.record)
            except Exception:  # the error that ended _start is the one to report
                log.debug("maggy: could not register the experiment at its end", exc_info=True)
                return
        self._registered = True

    def _interrupted_status(self) -> ExperimentStatus:
        """Ctrl-C: end now. An experiment that had already ended keeps its own status."""
        if self.core.done.is_set():
            return self._status()
        self.core.abort("interrupted by the user")
        return ExperimentStatus.STOPPED

    def _failure_text(self, status: ExperimentStatus) -> str | None:
        """``result["failure"]`` for a FAILED experiment: the engine's error, else which trials failed."""
        if status is not ExperimentStatus.FAILED:
            return None
        if self.core.failure is not None:
            return f"the experiment failed: {self.core.failure!r}"
        return all_failed(self.core.snapshot_trials()) or "the experiment failed before it ran"

    def _finish(self, status: ExperimentStatus, failure: str | None = None) -> dict[str, Any]:
        try:
            self.runner.shutdown(graceful=status is ExperimentStatus.FINISHED)
            if self._driver is not None:
                self._driver.close()
            result = build_result(
                self.record.experiment_id,
                self.core.snapshot_trials(),
                self.record.direction,
                time.time() - self._started,
                status.value,
                self.record.experiment_type,
                failure,
            )
            self._store_end(status, result)
            self.bus.publish(ev.ExperimentFinished(self.record.experiment_id, status.value, result))
            return result
        finally:
            self._on_close()

    def _store_end(self, status: ExperimentStatus, result: dict[str, Any]) -> None:
        """Write what the store still lacks and the experiment's end; never raises. Writes nothing
        for an experiment the store never registered (a store full from the start: ``_start``
        raised the error that says so, and no worker ran).

        Trial writes that failed (a full disk) are tried once more here (``StoreWriter.flush``).
        Whatever the store still lacks is named in ``result["store_errors"]`` (absent when
        nothing was lost) and in a :class:`~maggy.store.StoreWarning`: the result dict itself is
        whole, built from the driver's own trials.
        """
        if not self._registered:  # not in the store at all: the error that ended the start says why
            return
        errors = []
        unsaved = self.store_writer.flush()
        if unsaved:
            ids = sorted(unsaved)
            reasons = sorted(set(unsaved.values()))
            errors.append(
                f"trial{'s' if len(ids) > 1 else ''} {', '.join(map(str, ids))} "
                f"{'were' if len(ids) > 1 else 'was'} not saved to the store ({self.store}): {'; '.join(reasons)}"
            )
            result["unsaved_trials"] = ids
        if errors:
            result["store_errors"] = list(errors)
        for pause in (*RETRY_BACKOFF, None):
            try:
                self.store.finish_experiment(self.record.experiment_id, status.value, time.time(), result)
                break
            except Exception as exc:
                if pause is not None:
                    time.sleep(pause)
                    continue
                errors.append(
                    f"the experiment's end ({status.value}) was not saved to the store ({self.store}): "
                    f"{type(exc).__name__}: {exc}; it shows as RUNNING until maggy closes it as FAILED"
                )
                result["store_errors"] = list(errors)
        if errors:
            message = f"maggy: experiment {self.record.experiment_id}: " + "; ".join(errors)
            warnings.warn(message + " (the returned result has every trial)", StoreWarning, stacklevel=2)

    def _result_or_raise(self, result: dict[str, Any]) -> dict[str, Any]:
        if self.core.failure is not None:
            raise RuntimeError(f"the experiment failed: {self.core.failure!r}") from self.core.failure
        return result


def _echo_worker_output(event: ev.Event) -> None:
    """Print what worker processes wrote outside trials to stderr, each line marked with its
    worker: for a terminal, or a frontend that does not show ``WorkerOutput`` itself."""
    if isinstance(event, ev.WorkerOutput):
        sys.stderr.write("".join(f"[{event.worker_id}] {line}\n" for line in event.lines))
        sys.stderr.flush()


class _InterruptGuard:
    """Ctrl-C during ``lagom``: raised once as KeyboardInterrupt, then held while the end is written.

    Stands in for Python's default SIGINT handler (and only for it: a handler someone else
    installed, such as ipykernel's for top-level await or asyncio's, is left alone). Until
    :meth:`hold`, the first SIGINT raises KeyboardInterrupt as the default handler would; from
    the moment it has raised once, or :meth:`hold` was called, SIGINTs are only counted in
    ``held``, so that nothing interrupts stopping the workers and writing the final status.
    Python runs signal handlers on the main thread only; elsewhere the guard does nothing.
    """

    def __init__(self, holding: bool = False) -> None:
        self.holding = holding
        self.held = 0
        self._installed = False

    def __enter__(self) -> _InterruptGuard:
        if threading.current_thread() is threading.main_thread():
            try:
                if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                    signal.signal(signal.SIGINT, self._on_sigint)
                    self._installed = True
            except ValueError:  # not the main interpreter
                pass
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            self._installed = False

    def hold(self) -> None:
        """From now on, count SIGINTs instead of raising."""
        self.holding = True

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        if self.holding:
            self.held += 1
            return
        self.holding = True  # before raising: a second Ctrl-C must not cut the clean-up short
        raise KeyboardInterrupt
