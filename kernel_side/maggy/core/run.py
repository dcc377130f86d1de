"""One experiment's lifecycle after validation: start, wait, finish.

``ExperimentRun`` is built by ``maggy.experiment`` from validated arguments. ``execute`` blocks
(``lagom``), ``execute_async`` awaits (``lagom_async``). Either way ``finish`` always runs: the
workers are stopped, the driver closed, and the experiment's final status and result written to
the store, so nothing that finished is lost when a trial, a worker or the user interrupts.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from maggy.backends.base import DEFAULT_DRIVER_HOST, Backend, Supervision
from maggy.core import events as ev
from maggy.core.driver import Driver
from maggy.core.driver_core import DriverCore
from maggy.core.recovery import close_abandoned
from maggy.core.result import build_result
from maggy.core.store_writer import StoreWriter
from maggy.frontend import ExperimentHandle, discover, plain_wait, plain_wait_async
from maggy.rpc.framing import new_secret
from maggy.store import ExperimentRecord, ExperimentStatus, ExperimentStore

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
    ) -> None:
        self.packed_fn = packed_fn
        self.core = core
        self.record = record
        self.store = store
        self.runner = runner
        self._on_close = on_close
        self.bus = ev.EventBus()
        self.bus.subscribe(StoreWriter(store, record.experiment_id))
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
        self.waiter: Callable[[threading.Event], None] = plain_wait
        self.async_waiter: Callable[[threading.Event], Awaitable[None]] = plain_wait_async
        self._progress = progress
        self._listeners = list(listeners)
        self._driver: Driver | None = None
        self._started = time.time()

    # ---- the two ways to run -----------------------------------------------------------------

    def execute(self) -> dict[str, Any]:
        """Run to the end, blocking; KeyboardInterrupt stops everything cleanly and propagates."""
        status = ExperimentStatus.FAILED
        try:
            self._start(attach_frontends=True)
            self.waiter(self.core.done)
            status = self._status()
        except KeyboardInterrupt:
            status = ExperimentStatus.STOPPED
            self.core.abort("interrupted by the user")
            raise
        finally:
            result = self._finish(status)
        return self._result_or_raise(result)

    async def execute_async(self) -> dict[str, Any]:
        """Run to the end without blocking the event loop (top-level ``await`` in a notebook)."""
        status = ExperimentStatus.FAILED
        try:
            self._start(attach_frontends=True)
            await self.async_waiter(self.core.done)
            status = self._status()
        except (KeyboardInterrupt, asyncio.CancelledError):
            status = ExperimentStatus.STOPPED
            self.core.abort("interrupted by the user")
            raise
        finally:
            result = self._finish(status)
        return self._result_or_raise(result)

    # ---- lifecycle ---------------------------------------------------------------------------

    def _start(self, attach_frontends: bool) -> None:
        frontends = discover() if attach_frontends else []
        for frontend in frontends:
            try:
                frontend.attach(self.handle)
            except Exception:
                log.exception("maggy: frontend %r failed to attach; continuing without it", frontend)
                continue
            if self.waiter is plain_wait and callable(getattr(frontend, "wait", None)):
                self.waiter = frontend.wait
            if self.async_waiter is plain_wait_async and callable(getattr(frontend, "wait_async", None)):
                self.async_waiter = frontend.wait_async
        if self._progress if self._progress is not None else not frontends:
            from maggy.progress import ConsoleProgress

            self.bus.subscribe(ConsoleProgress(self.record.direction, self.record.num_trials))
        for listener in self._listeners:
            self.bus.subscribe(listener)
        # Experiments left RUNNING by a driver that died (killed kernel) are closed as FAILED.
        close_abandoned(self.store, self.store.list_experiments())
        self.store.create_experiment(self.record)
        num_workers = self.runner.worker_count(self.record.num_trials)
        self.core.expected_workers = num_workers
        secret = new_secret()  # fresh per experiment; reaches workers only through the backend's channel
        # The backend knows which interface its workers reach (loopback locally, Spark's driver
        # host on a cluster); a user backend object without driver_host keeps the loopback default.
        driver_host = getattr(self.runner, "driver_host", lambda: DEFAULT_DRIVER_HOST)()
        self._driver = Driver(
            self.core, secret, self.bus, host=driver_host, kill_worker=self.runner.kill_worker
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
            )
        )
        supervision = Supervision(
            is_running=lambda: not self.core.done.is_set(),
            has_registered=self.core.has_registered,
            fail=lambda message: self.core.fail(RuntimeError(message)),
            worker_info=self.core.worker_info,
            has_left=self.core.has_left,
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
        if self.core.failure is not None:
            return ExperimentStatus.FAILED
        if self.core.stop_requested_at is not None:
            return ExperimentStatus.STOPPED
        return ExperimentStatus.FINISHED

    def _finish(self, status: ExperimentStatus) -> dict[str, Any]:
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
            )
            self.store.finish_experiment(self.record.experiment_id, status.value, time.time(), result)
            self.bus.publish(ev.ExperimentFinished(self.record.experiment_id, status.value, result))
            return result
        finally:
            self._on_close()

    def _result_or_raise(self, result: dict[str, Any]) -> dict[str, Any]:
        if self.core.failure is not None:
            raise RuntimeError(f"the experiment failed: {self.core.failure!r}") from self.core.failure
        return result
