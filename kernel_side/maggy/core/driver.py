"""The driver: a :class:`DriverCore` served over authenticated TCP, plus the event dispatcher.

Threads: the RPC server's accept and connection threads call into the core; one dispatcher
thread publishes the core's events to listeners in order and runs the core's time-based checks
a few times a second. The caller's thread (``lagom``) only waits on ``core.done``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from maggy._threads import join_if_started
from maggy.core.driver_core import DriverCore
from maggy.core.events import Event, EventBus
from maggy.rpc.server import RpcServer

log = logging.getLogger("maggy")

#: Queued by close() to wake the dispatcher; never published.
_WAKE = Event(experiment_id="")

#: Seconds between the core's time-based checks (lost workers, timeouts, early stopping).
TICK_INTERVAL = 0.1


class Driver:
    """Owns the RPC server and dispatcher thread for one experiment's :class:`DriverCore`."""

    def __init__(
        self,
        core: DriverCore,
        secret: bytes,
        bus: EventBus,
        host: str = "127.0.0.1",
        port: int = 0,
        kill_worker: Callable[[str], None] | None = None,
    ) -> None:
        self.core = core
        self.bus = bus
        self.kill_worker = kill_worker
        self._server = RpcServer(
            secret,
            self._handle,
            host=host,
            port=port,
            on_disconnect=self._on_disconnect,
            name=f"maggy-driver-{core.config.experiment_id}",
        )
        self._closing = threading.Event()
        self._dispatcher = threading.Thread(target=self._dispatch_loop, name="maggy-dispatcher", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        return self._server.address

    def start(self) -> None:
        self._server.start()
        self._dispatcher.start()

    def close(self) -> None:
        """Stop serving, publish every event still queued, and join the dispatcher."""
        self.core.abort("the driver closed")
        self._server.stop()
        self._closing.set()
        self.core.events.put(_WAKE)  # end the dispatcher's wait now rather than at its next tick
        join_if_started(self._dispatcher, timeout=10)
        self._drain_events()

    def _handle(self, msg: dict[str, Any], conn: Any) -> dict[str, Any] | None:
        if msg.get("points"):
            self.core.wait_for_room()  # backpressure: the listeners are many points behind
        return self.core.handle(msg, conn.state)

    def _on_disconnect(self, conn: Any, reason: str) -> None:
        self.core.on_disconnect(conn.state, reason)

    def _dispatch_loop(self) -> None:
        next_tick = time.monotonic()
        while not self._closing.is_set():
            if time.monotonic() >= next_tick:
                next_tick = time.monotonic() + TICK_INTERVAL
                try:
                    for worker_id in self.core.tick():
                        if self.kill_worker is not None:
                            self.kill_worker(worker_id)
                except Exception as exc:
                    self.core.fail(exc)
            try:
                event = self.core.events.get(timeout=max(0.0, next_tick - time.monotonic()))
            except queue.Empty:
                continue
            if event is not _WAKE:
                self.bus.publish(event)
                self.core.event_delivered(event)

    def _drain_events(self) -> None:
        while True:
            try:
                event = self.core.events.get_nowait()
            except queue.Empty:
                return
            if event is not _WAKE:
                self.bus.publish(event)
                self.core.event_delivered(event)
