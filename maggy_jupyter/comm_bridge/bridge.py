"""The kernel end of the `maggy` comm: streams experiments to the browser and answers its requests.

Threads (why there is one lock):

* the driver's dispatcher thread calls :meth:`Bridge._on_event` for every event;
* ``ExperimentFinished`` arrives on the thread that ran ``lagom`` (after the driver closed);
* one flusher thread sends the coalesced batches;
* comm handlers (requests, opens, closes) run on the kernel's main shell, on a subshell (JupyterLab
  4.4+ sends comm messages over one), or inside the blocking-cell pump of ``maggy_jupyter.frontend``.

Every send happens under ``self._lock`` so that the order of messages on IOPub is the order of
``seq``: a snapshot at seq S is never overtaken by batch S or followed by a repeat of it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from maggy.core import events as ev
from maggy_jupyter.comm_bridge import handlers, wire
from maggy_jupyter.comm_bridge.stream import ExperimentStream

log = logging.getLogger("maggy")

#: Seconds between two batches of one experiment: at most 10 messages a second each.
DEFAULT_INTERVAL = 0.1

CommFactory = Callable[..., Any]


class Bridge:
    """All `maggy` comms of this kernel and the experiments streamed over them.

    ``comm_factory`` is ``comm.create_comm`` in a kernel (tests pass a recording fake);
    ``clock`` is ``time.monotonic`` (tests pass a fake and call :meth:`flush_due` themselves,
    with ``threaded=False``).
    """

    def __init__(
        self,
        comm_factory: CommFactory,
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        threaded: bool = True,
        store_opener: Callable[[], Any] | None = None,
    ) -> None:
        self._comm_factory = comm_factory
        self.interval = interval
        self._clock = clock
        self._threaded = threaded
        self.store_opener = store_opener
        self._lock = threading.Condition()
        # experiment id -> its stream (which holds its handle); running experiments only
        self.streams: dict[str, ExperimentStream] = {}
        # comm -> ids of the experiments it receives batches for
        self._subscriptions: dict[Any, set[str]] = {}
        self._own_comms: dict[str, Any] = {}  # experiment id -> the comm the kernel opened for it
        self._unsubscribe: dict[str, Callable[[], None]] = {}
        self._flusher: threading.Thread | None = None

    # ---- experiments ---------------------------------------------------------------------------

    def attach(self, handle: Any) -> None:
        """Stream ``handle``'s experiment: open a comm to the frontend and subscribe to its events.

        Called before the workers start (no event is missed). Idempotent per experiment id, so
        both the Jupyter frontend and a caller of its own may attach the same handle.
        """
        with self._lock:
            if handle.experiment_id in self.streams:
                return
            stream = ExperimentStream(handle, self.interval, self._clock(), start=time.time())
            self.streams[handle.experiment_id] = stream
            try:
                comm = self._comm_factory(target_name=wire.TARGET, data=stream.snapshot())
            except Exception:
                log.exception("maggy: could not open the `maggy` comm; the Experiments panel will not update")
                comm = None
            if comm is not None:
                self._adopt(comm)
                self._subscriptions[comm].add(handle.experiment_id)
                self._own_comms[handle.experiment_id] = comm
            # the bus calls listeners without its own lock held, so subscribing under ours is safe
            self._unsubscribe[handle.experiment_id] = handle.subscribe(self._on_event)

    def _on_event(self, event: ev.Event) -> None:
        with self._lock:
            stream = self.streams.get(event.experiment_id)
            if stream is None:
                return
            was_idle = not stream.pending
            stream.add(event)
            if isinstance(event, ev.ExperimentFinished):
                self._finish(stream)
            elif was_idle:
                if self._threaded:
                    self._ensure_flusher()
                self._lock.notify_all()

    def _finish(self, stream: ExperimentStream) -> None:
        """Send the last batch now (not at the next tick) and let go of the experiment."""
        stream.end = time.time()
        self._send_batch(stream, force=True)
        experiment_id = stream.experiment_id
        del self.streams[experiment_id]
        for subscribed in self._subscriptions.values():
            subscribed.discard(experiment_id)
        comm = self._own_comms.pop(experiment_id, None)
        if comm is not None:
            self._forget(comm)
            _quietly(comm.close)
        unsubscribe = self._unsubscribe.pop(experiment_id, None)
        if unsubscribe is not None:
            # we are inside the bus's publish; its listener list is copy-on-write, so this is safe
            unsubscribe()

    # ---- batches -------------------------------------------------------------------------------

    def flush_due(self) -> float | None:
        """Send every batch that is due; returns seconds until the next one (None: none pending).
        The flusher thread's loop body; tests with a fake clock call it directly."""
        with self._lock:
            now = self._clock()
            waits = []
            for stream in list(self.streams.values()):
                self._send_batch(stream, now=now)
                wait = stream.wait_time(now)
                if wait is not None:
                    waits.append(wait)
            return min(waits) if waits else None

    def _send_batch(self, stream: ExperimentStream, now: float | None = None, force: bool = False) -> None:
        msg = stream.take(self._clock() if now is None else now, force=force)
        if msg is None:
            return
        for comm, subscribed in list(self._subscriptions.items()):
            if stream.experiment_id in subscribed:
                self._send(comm, msg)

    def _ensure_flusher(self) -> None:
        if self._flusher is None or not self._flusher.is_alive():
            self._flusher = threading.Thread(target=self._flush_loop, name="maggy-comm-flush", daemon=True)
            self._flusher.start()

    def _flush_loop(self) -> None:
        # Decide and wait under one hold of the lock, so an event's notify cannot slip in between.
        with self._lock:
            while self.streams:
                wait = self.flush_due()
                if wait is None:
                    self._lock.wait(timeout=1.0)  # woken by the first event after an idle spell
                elif wait > 0:
                    self._lock.wait(timeout=wait)
            self._flusher = None

    # ---- comms ---------------------------------------------------------------------------------

    def on_comm_open(self, comm: Any, msg: dict[str, Any]) -> None:
        """Comm target handler: a frontend opened a comm to ask about experiments."""
        data = msg.get("content", {}).get("data") if isinstance(msg, dict) else None
        with self._lock:
            self._adopt(comm)
            version = data.get("v") if isinstance(data, dict) else None
            if version not in (None, wire.PROTOCOL_VERSION):
                self._send(
                    comm, wire.error(f"unsupported protocol version {version!r}; this kernel speaks v1")
                )
            self._send(comm, wire.message("hello", protocol=wire.PROTOCOL_VERSION, maggy=_maggy_version()))

    def _adopt(self, comm: Any) -> None:
        self._subscriptions.setdefault(comm, set())
        comm.on_msg(lambda msg, comm=comm: self.on_comm_msg(comm, msg))
        comm.on_close(lambda msg, comm=comm: self._on_close(comm))

    def _on_close(self, comm: Any) -> None:
        with self._lock:
            self._forget(comm)
            for experiment_id, own in list(self._own_comms.items()):
                if own is comm:
                    del self._own_comms[experiment_id]

    def _forget(self, comm: Any) -> None:
        self._subscriptions.pop(comm, None)

    def on_comm_msg(self, comm: Any, msg: Any) -> None:
        """Answer one request. Never raises: whatever goes wrong is an ``error`` reply."""
        data = msg.get("content", {}).get("data") if isinstance(msg, dict) else None
        request_id = wire.request_id_of(data)
        try:
            kind, data = wire.parse_request(data)
            reply = handlers.HANDLERS[kind](self, comm, data)
        except wire.BadRequest as exc:
            reply = wire.error(str(exc), request_id)
        except Exception as exc:
            log.exception("maggy: the `maggy` comm request %r failed", data)
            reply = wire.error(f"the kernel failed to answer: {type(exc).__name__}: {exc}", request_id)
        if reply is not None:
            reply.setdefault("request_id", request_id)
            self.send(comm, reply)

    # ---- used by the request handlers (they hold no lock) --------------------------------------

    def locked(self) -> threading.Condition:
        return self._lock

    def subscribe(self, comm: Any, stream: ExperimentStream) -> None:
        """(lock held) Send ``comm`` the batches of ``stream`` from now on."""
        self._subscriptions.setdefault(comm, set()).add(stream.experiment_id)

    def unsubscribe(self, comm: Any, experiment_id: str) -> None:
        self._subscriptions.get(comm, set()).discard(experiment_id)

    def settle(self, stream: ExperimentStream) -> None:
        """(lock held) Send the pending batch now, so a snapshot can be taken at a clean ``seq``."""
        self._send_batch(stream, force=True)

    def send(self, comm: Any, msg: dict[str, Any]) -> None:
        """Send ``msg`` on ``comm`` under the lock (a handler holding it keeps its place in order)."""
        with self._lock:
            self._send(comm, msg)

    def _send(self, comm: Any, msg: dict[str, Any]) -> None:
        try:
            comm.send(msg)
        except Exception:
            # a comm whose frontend went away must not break the experiment or other comms
            log.warning("maggy: sending on the `maggy` comm failed; dropping that comm", exc_info=True)
            self._forget(comm)


def _quietly(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except Exception:
        log.debug("maggy: ignored failure closing a comm", exc_info=True)


def _maggy_version() -> str:
    import maggy

    return str(getattr(maggy, "__version__", "unknown"))
