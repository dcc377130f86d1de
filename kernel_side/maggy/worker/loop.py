"""The worker loop shared by every backend.

A worker opens two connections to the driver: the control connection (REG, then one FINAL per
trial; each reply carries the next trial or DONE, see below) and the heartbeat connection (HB every
``hb_interval`` seconds with every point and log line buffered since the last beat; the reply may
order STOP). One lock (``_send_lock``) makes "drain the reporter and send" atomic on both paths,
so every point reaches the driver exactly once, and before the trial's FINAL.

No frame exceeds the wire's limit, whatever the trial prints (see ``maggy.reporter``): each HB
carries at most one frame's budget, and the heartbeat thread sends further HBs at once while more
is buffered; at a trial's end, what does not fit its FINAL goes ahead in HBs on the heartbeat
connection (each answered before the FINAL is sent, so nothing is reordered), and the FINAL's
error text is clipped visibly to its own budget. The FINAL (status, metric) always gets through.

A TRIAL may carry the trial to run after it (``next``). Then the worker sends that trial's FINAL
without waiting, starts the queued trial at once, and reads the FINAL's reply (NEXT: the trial
after that, or none) only when the queued trial has ended. Replies come in request order, so at
most one reply is ever outstanding.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from collections.abc import Callable
from typing import Any

from maggy.exceptions import EarlyStopException
from maggy.reporter import FRAME_BUDGET, Reporter, clip_text, json_size
from maggy.rpc import messages
from maggy.rpc.client import RpcClient
from maggy.worker.capture import captured_output
from maggy.worker.invoke import call_training_function, metric_from_result

log = logging.getLogger("maggy.worker")

#: Consecutive failed heartbeats after which the driver is taken to be gone.
_MAX_HB_FAILURES = 3
#: Encoded bytes a FINAL's error text (a traceback) may take; longer ones keep head and tail.
ERROR_BUDGET = 1536 * 1024


def run_worker(
    address: tuple[str, int],
    secret: bytes,
    map_fun: Callable[..., Any],
    worker_id: str,
    hb_interval: float,
    attempt: int = 0,
    info: dict[str, Any] | None = None,
    on_driver_lost: Callable[[], None] | None = None,
) -> int:
    """Serve trials from the driver at ``address`` until it answers DONE; returns trials run.

    ``on_driver_lost`` runs on the heartbeat thread when the driver stops answering (the local
    backend exits the process there, so no worker outlives its driver).
    """
    reporter = Reporter()
    send_lock = threading.Lock()
    control = RpcClient(address, secret)
    heartbeat = _Heartbeat(address, secret, worker_id, reporter, hb_interval, send_lock, on_driver_lost)
    count = 0
    try:
        reply = control.request(
            messages.reg(worker_id, socket.gethostname(), os.getpid(), attempt, dict(info or {}))
        )
        current, queued = _trials_in(reply, worker_id)
        if current is not None:  # after DONE the driver may be gone: no more connections to it
            heartbeat.start()
        awaiting_reply = False  # a FINAL went out without waiting; its reply is still to be read
        while current is not None:
            final = _run_trial(map_fun, current, reporter, worker_id, send_lock, heartbeat.carry)
            count += 1
            if awaiting_reply:
                awaiting_reply = False
                ahead = control.receive()
                if ahead["op"] != messages.NEXT:
                    # DONE: the experiment stopped and dropped this queued trial; nothing to send.
                    _trials_in(ahead, worker_id)  # (logs an ERR)
                    break
                queued = ahead["next"]
            if queued is not None:
                control.send(final)  # the driver starts the queued trial on receiving this
                current, queued, awaiting_reply = queued, None, True
            else:
                current, queued = _trials_in(control.request(final), worker_id)
    finally:
        heartbeat.stop()
        control.close()
    return count


def _trials_in(reply: dict[str, Any], worker_id: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the trial to run now, the one queued after it) from a REG/FINAL reply; (None, None) ends."""
    if reply["op"] == messages.TRIAL:
        return reply, reply["next"]
    if reply["op"] == messages.ERR:
        log.warning("maggy worker %s: the driver refused: %s", worker_id, reply.get("reason"))
    return None, None


def _run_trial(
    map_fun: Callable[..., Any],
    msg: dict[str, Any],
    reporter: Reporter,
    worker_id: str,
    send_lock: threading.Lock,
    carry: Callable[[int | None, list[Any], list[str]], None],
) -> dict[str, Any]:
    """Run one trial; return its FINAL. ``carry`` sends what does not fit the FINAL ahead of it."""
    trial_id = msg["trial_id"]
    params = dict(msg["params"])
    if msg.get("budget") is not None:
        params["budget"] = msg["budget"]
    reporter.reset(trial_id)
    status, metric, error = "ok", None, None
    with captured_output(reporter):
        try:
            result = call_training_function(map_fun, params, reporter)
            metric, error = metric_from_result(result)
            if error is not None:
                status = "error"
        except EarlyStopException:
            status, metric = "early_stopped", reporter.last_value
        except BaseException:  # noqa: BLE001 - a trial's failure, even SystemExit, is that trial's ERROR
            status, error = "error", traceback.format_exc()
    if error is not None:  # e.g. a 9 MB exception message, or the repr of a huge returned value
        error = clip_text(error, ERROR_BUDGET)
    with send_lock:
        reporter.seal()
        budget = FRAME_BUDGET - (json_size(error) if error is not None else 0)
        while True:
            _, points, logs, more = reporter.drain_frame(budget)
            if not more:
                break
            carry(trial_id, points, logs)
        reporter.reset(None)
    return messages.final(worker_id, trial_id, status, metric, error, points, logs)


class _Heartbeat:
    """Daemon thread sending HB frames on its own connection."""

    def __init__(
        self,
        address: tuple[str, int],
        secret: bytes,
        worker_id: str,
        reporter: Reporter,
        interval: float,
        send_lock: threading.Lock,
        on_driver_lost: Callable[[], None] | None,
    ) -> None:
        self._address, self._secret = address, secret
        self._worker_id = worker_id
        self._reporter = reporter
        self._interval = interval
        self._send_lock = send_lock
        self._on_driver_lost = on_driver_lost
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"maggy-hb-{worker_id}", daemon=True)
        self._client: RpcClient | None = None

    def start(self) -> None:
        self._client = RpcClient(self._address, self._secret)
        # An empty first beat at once: the driver drops a connection whose first frame is late or
        # large (it has not proven it holds the secret yet), and the first drain may be both.
        self._client.request(messages.hb(self._worker_id, None))
        self._thread.start()

    def carry(self, trial_id: int | None, points: list[Any], logs: list[str]) -> None:
        """Send ``points`` and ``logs`` of ``trial_id`` in one HB now (caller holds the send lock).

        Used at a trial's end for what does not fit its FINAL. If the driver cannot be reached
        they are dropped with a WARNING: the FINAL that follows fails the same way.
        """
        assert self._client is not None
        try:
            self._client.request(messages.hb(self._worker_id, trial_id, points, logs))
        except Exception as exc:  # the FINAL reports the lost driver; this is only its output
            log.warning(
                "maggy worker %s: %d points and %d log lines of trial %s not sent (%s)",
                self._worker_id,
                len(points),
                len(logs),
                trial_id,
                type(exc).__name__,
            )

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        if self._client is not None:
            self._client.close()

    def _run(self) -> None:
        assert self._client is not None
        failures = 0
        more = False
        # A beat every interval; at once again while the last one left output behind (over budget).
        while more or not self._stopped.wait(self._interval):
            try:
                with self._send_lock:
                    trial_id, points, logs, more = self._reporter.drain_frame()
                    reply = self._client.request(messages.hb(self._worker_id, trial_id, points, logs))
                failures = 0
            except Exception as exc:  # the driver went away or the link broke
                more = False
                failures += 1
                log.warning("maggy worker %s: heartbeat failed (%s)", self._worker_id, type(exc).__name__)
                if failures >= _MAX_HB_FAILURES or isinstance(exc, (ConnectionError, OSError, EOFError)):
                    if self._on_driver_lost is not None and not self._stopped.is_set():
                        self._on_driver_lost()
                    return
                continue
            if reply["op"] == "STOP":
                self._reporter.request_stop_for(reply["trial_id"])
