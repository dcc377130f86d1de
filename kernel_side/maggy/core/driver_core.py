"""The driver's decisions, free of sockets and threads of its own.

``DriverCore`` owns every trial of one experiment. The RPC server feeds it worker messages
through :meth:`DriverCore.handle` (one call per message, from the connection's thread); the
driver's dispatcher thread calls :meth:`tick` a few times a second for time-based decisions
(lost workers, trial timeouts, early stopping). Tests drive it with plain dicts.

Handing out ahead: when the optimizer's suggestions ignore results (``uses_results = False``),
a worker's last trial took under :data:`AHEAD_MAX_SECONDS` and more trials remain than workers,
the reply to its FINAL also carries its next trial but one (``next``, left PENDING here). The
worker starts that one the moment it has sent the running trial's FINAL, and the reply to that
FINAL (NEXT) brings the one after; so short trials follow each other without waiting a round
trip. A queued trial whose worker dies goes back to the front of the queue. The queues and their
rules (this one, and retries of LOST trials) are :class:`~maggy.core.dispatch_queue.DispatchQueue`.

Thread-safety: all state sits behind one condition variable. ``handle`` may block (push
dispatch: a free worker waits inside its REG/FINAL request until a trial is available), which
releases the lock while waiting. Events go to ``self.events`` (a queue); the dispatcher
publishes them outside the lock, so slow listeners never delay a worker.
"""

from __future__ import annotations

import collections
import itertools
import logging
import math
import numbers
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from maggy.core import events as ev
from maggy.core.dispatch_queue import AHEAD_MAX_SECONDS as AHEAD_MAX_SECONDS  # re-exported
from maggy.core.dispatch_queue import DispatchQueue
from maggy.earlystop import EarlyStopPolicy, check_due
from maggy.optimizer.base import FINISHED, WAIT, AbstractOptimizer, params_and_budget, wire_problem
from maggy.rpc import messages
from maggy.trial import CUT_SHORT, Trial, TrialState, extend_bounded, extend_log_tail, transition

if TYPE_CHECKING:
    from maggy.core.continuation import Earlier

log = logging.getLogger("maggy")

#: How long a blocked REG/FINAL waits between re-checks (stop flags are also notified).
_WAIT_SLICE = 0.5

#: Most metric points waiting in the event queue before workers' messages with more wait (about
#: 12 MB as decoded JSON; see DriverCore.wait_for_room).
QUEUED_POINTS_LIMIT = 100_000


@dataclass
class DriverConfig:
    """Knobs of one experiment's driver (validated by ``maggy.experiment`` before use)."""

    experiment_id: str
    direction: str
    hb_interval: float = 1.0
    es_policy: EarlyStopPolicy | None = None
    es_interval: float = 300.0
    es_min: int = 10
    max_retries: int = 1
    trial_timeout: float | None = None
    lost_grace: float | None = None  # silence before a running trial is LOST; default max(10 s, 5 beats)

    @property
    def stop_grace(self) -> float:
        """Seconds a trial gets to stop by itself after the user stops the experiment."""
        return max(2.0, 3 * self.hb_interval)

    @property
    def effective_lost_grace(self) -> float:
        return self.lost_grace if self.lost_grace is not None else max(10.0, 5 * self.hb_interval)


#: Registration tokens, unique within the process: a connection's ``conn_state["registration"]``.
_registrations = itertools.count(1)


@dataclass
class _Worker:
    """One registration of a worker: a REG and the control connection it came on.

    A worker id outlives its process (a backend restarts a dead worker under the same id), so the
    driver tells registrations apart by ``registration``, the token also kept in the control
    connection's state; a connection only ever speaks for the registration it carried.
    """

    worker_id: str
    host: str
    pid: int
    last_seen: float
    attempt: int = 0
    registration: int = 0
    trial_id: int | None = None
    info: dict[str, Any] = field(default_factory=dict)  # REG's info: where the worker runs (host, GPUs)


class DriverCore:
    """Trial bookkeeping and scheduling for one experiment (see module docstring)."""

    def __init__(
        self,
        config: DriverConfig,
        optimizer: AbstractOptimizer,
        clock: Callable[[], float] = time.time,
        earlier: Earlier | None = None,
        initial_configs: Sequence[dict[str, Any]] = (),
    ) -> None:
        """``earlier``: a resumed experiment's earlier trials (kept, counted towards the optimizer's
        ``planned_trials()``) and the re-runs to start with (:mod:`maggy.core.continuation`).
        ``initial_configs``: params to run, in order, before the optimizer's first suggestion
        (checked against the search space by lagom); each counts as one of the planned trials."""
        self.config = config
        self.optimizer = optimizer
        self.clock = clock
        self.planned = optimizer.planned_trials()
        self.trials: dict[int, Trial] = {}
        self.events: queue.SimpleQueue[ev.Event] = queue.SimpleQueue()
        self.done = threading.Event()
        self.failure: BaseException | None = None
        self._cond = threading.Condition()
        #: Retries waiting for a worker; trials handed out ahead (see dispatch_queue).
        self._queue = DispatchQueue(ahead=not optimizer.uses_results, max_retries=config.max_retries)
        self._ids = itertools.count()
        self._workers: dict[str, _Worker] = {}
        self._registered: set[tuple[str, int]] = set()
        self._left: set[tuple[str, int]] = set()  # worker starts answered DONE that closed after it
        self._stop_reasons: dict[int, TrialState] = {}
        self._with_experiment: set[int] = set()  # trials asked to stop because the experiment stops
        #: Points in MetricPoints events not yet delivered by the dispatcher (see wait_for_room).
        self._queued_points = 0
        self._suggested = 0
        self._initial = collections.deque(dict(c) for c in initial_configs)
        if earlier is not None:
            self.trials.update((t.trial_id, t.copy()) for t in earlier.trials)
            for rerun in earlier.reruns:
                self.trials[rerun.trial_id] = rerun.copy()
                self._queue.add_retry(self.trials[rerun.trial_id])
            self._ids = itertools.count(earlier.next_id)
            self._suggested = earlier.counted
        self._exhausted = self._suggested >= self.planned
        self._stopping = False
        self._last_es_check: float | None = None
        #: When the user asked to stop the whole experiment (None: not asked).
        self.stop_requested_at: float | None = None
        self._handlers: dict[str, Callable[[dict[str, Any], dict[str, Any]], dict[str, Any] | None]] = {
            "REG": self._on_register,
            "FINAL": self._on_final,
            "HB": self._on_heartbeat,
        }

    @property
    def hand_out_ahead(self) -> bool:
        """Whether trials may be handed out ahead (see module docstring); settable."""
        return self._queue.ahead

    @hand_out_ahead.setter
    def hand_out_ahead(self, value: bool) -> None:
        self._queue.ahead = value

    @property
    def expected_workers(self) -> int:
        """How many workers the backend starts (set by the experiment; 1 until then)."""
        return self._queue.expected_workers

    @expected_workers.setter
    def expected_workers(self, value: int) -> None:
        self._queue.expected_workers = value

    # ---- wire entry points -------------------------------------------------------------------

    def handle(self, msg: dict[str, Any], conn_state: dict[str, Any]) -> dict[str, Any] | None:
        """Route one validated worker message to its handler; returns the reply."""
        handler = self._handlers.get(msg["op"])
        if handler is None:
            return messages.err(f"the driver does not accept {msg['op']!r} from workers")
        reply = handler(msg, conn_state)
        if reply is not None and reply["op"] == messages.DONE:
            conn_state["answered_done"] = True  # it has left once it closes this connection
        return reply

    def on_disconnect(self, conn_state: dict[str, Any], reason: str) -> None:
        """A connection ended: a control connection with a running trial means its worker died.

        Only the registration that connection carried is affected: a connection of an earlier
        registration under the same worker id (held open by a process the dead worker forked, or
        closed late) ends nothing of the registration that replaced it.
        """
        worker_id = conn_state.get("worker_id")
        if worker_id is None:
            return
        with self._cond:
            if conn_state.get("answered_done"):
                # Only now: the DONE reply is out and the worker has closed the connection, so
                # the driver may close without cutting it short (see has_left).
                self._left.add((worker_id, conn_state["attempt"]))
            worker = self._current(worker_id, conn_state)
            if worker is not None:
                del self._workers[worker_id]
                self._lose_worker(worker, f"worker {worker_id} connection closed ({reason})")

    # ---- control requests from the user ------------------------------------------------------

    def stop_trial(self, trial_id: int) -> bool:
        """Ask a running trial to stop (it ends STOPPED); False if it is not running."""
        with self._cond:
            trial = self.trials.get(trial_id)
            if trial is None or trial.state is not TrialState.RUNNING:
                return False
            self._stop_reasons[trial_id] = TrialState.STOPPED
            return True

    def stop_experiment(self) -> None:
        """Hand out no more trials and ask every running trial to stop.

        Trials that do not stop within the grace period (they never call ``reporter.broadcast``)
        are ended STOPPED by :meth:`tick`, and the backend kills their workers.
        """
        with self._cond:
            if self.stop_requested_at is None:
                self.stop_requested_at = self.clock()
            self._stopping = True
            for trial in self.trials.values():
                if trial.state is TrialState.RUNNING:
                    self._stop_reasons[trial.trial_id] = TrialState.STOPPED
                    self._with_experiment.add(trial.trial_id)
            self._end_unstarted()
            self._cond.notify_all()
            self._check_done()

    def abort(self, reason: str) -> None:
        """End now (interrupt, shutdown): every running trial becomes STOPPED with what it sent."""
        with self._cond:
            self._stopping = True
            self._end_unstarted()
            for trial in list(self.trials.values()):
                if trial.state is TrialState.RUNNING:
                    trial.metric = trial.last_value()
                    trial.error = f"{CUT_SHORT} ({reason})"
                    self._finish(trial, TrialState.STOPPED)
            for worker in self._workers.values():
                worker.trial_id = None
            self._cond.notify_all()
            self.done.set()

    def fail(self, exc: BaseException) -> None:
        """Record an engine failure (e.g. the optimizer raised) and end the experiment."""
        log.error("maggy: experiment %s failed: %r", self.config.experiment_id, exc)
        self.failure = exc
        self.abort(f"experiment failed: {exc!r}")

    # ---- time-based decisions ----------------------------------------------------------------

    def tick(self) -> list[str]:
        """Run time-based checks; returns ids of workers the backend should kill (hung or late)."""
        now = self.clock()
        kill: list[str] = []
        with self._cond:
            grace = self.config.effective_lost_grace
            for worker in list(self._workers.values()):
                if worker.trial_id is None:
                    continue
                trial = self.trials[worker.trial_id]
                if now - worker.last_seen > grace:
                    self._lose_worker(worker, f"no heartbeat from worker {worker.worker_id} for {grace:g} s")
                    kill.append(worker.worker_id)
                elif (
                    self.config.trial_timeout is not None
                    and now - (trial.start or now) > self.config.trial_timeout
                ):
                    trial.metric = trial.last_value()
                    trial.error = (
                        f"trial exceeded trial_timeout={self.config.trial_timeout:g} s and was killed"
                    )
                    self._finish(trial, TrialState.ERROR)
                    worker.trial_id = None
                    kill.append(worker.worker_id)
            self._early_stop_check(now)
            if self.stop_requested_at is not None and now - self.stop_requested_at > self.config.stop_grace:
                kill.extend(w.worker_id for w in self._workers.values() if w.trial_id is not None)
                self.abort("stopped by the user; the trial did not stop within the grace period")
        return kill

    def _early_stop_check(self, now: float) -> None:
        policy = self.config.es_policy
        if policy is None:
            return
        finished = [
            t for t in self.trials.values() if t.state in (TrialState.FINISHED, TrialState.EARLY_STOPPED)
        ]
        if not check_due(
            now, self._last_es_check, self.config.es_interval, len(finished), self.config.es_min
        ):
            return
        self._last_es_check = now
        for trial in self.trials.values():
            if (
                trial.state is TrialState.RUNNING
                and trial.trial_id not in self._stop_reasons
                and policy.should_stop(trial, finished, self.config.direction)
            ):
                log.info("maggy: early-stopping trial %d", trial.trial_id)
                self._stop_reasons[trial.trial_id] = TrialState.EARLY_STOPPED

    # ---- message handlers (called with no lock held) -----------------------------------------

    def _on_register(self, msg: dict[str, Any], conn_state: dict[str, Any]) -> dict[str, Any]:
        worker_id, attempt = msg["worker_id"], msg["attempt"]
        with self._cond:
            old = self._workers.get(worker_id)
            if old is not None and old.attempt > attempt:
                # A start the backend already replaced (its REG arrived late): the later one stays.
                return messages.err(
                    f"worker {worker_id} attempt {old.attempt} has replaced attempt {attempt}"
                )
            if old is not None:
                self._lose_worker(old, f"worker {worker_id} registered again (its previous attempt died)")
            worker = self._workers[worker_id] = _Worker(
                worker_id,
                msg["host"],
                msg["pid"],
                self.clock(),
                attempt=attempt,
                registration=next(_registrations),
                info=dict(msg["info"]),
            )
            self._registered.add((worker_id, attempt))
            conn_state.update(worker_id=worker_id, attempt=attempt, registration=worker.registration)
            return self._assign(worker_id)

    def _on_final(self, msg: dict[str, Any], conn_state: dict[str, Any]) -> dict[str, Any]:
        worker_id = msg["worker_id"]
        with self._cond:
            worker = self._seen(worker_id, conn_state)
            if worker is None:
                return messages.err(f"unknown worker {worker_id!r}: register first")
            trial = self.trials.get(msg["trial_id"])
            quick = False  # whether this trial was quick enough to hand the next one out ahead
            # A trial already ended here (timeout, lost) may still report: its result is ignored.
            if trial is not None and trial.state is TrialState.RUNNING and trial.worker == worker_id:
                self._apply_progress(trial, msg["points"], msg["logs"])
                state, metric, error = self._judge_final(trial, msg)
                trial.metric, trial.error = metric, error
                self._finish(trial, state)
                quick = self._queue.was_quick(trial)
            if worker.trial_id == msg["trial_id"]:
                worker.trial_id = None
            had_queued = self._queue.queued(worker.registration) is not None
            # The worker started its queued trial as it sent this FINAL (unless a heartbeat about
            # that trial overtook the FINAL and started it here already).
            self._start_queued(worker)
            if worker.trial_id is not None:
                return messages.next_trial(self._hand_out_ahead(worker) if quick else None)
            if had_queued:  # the queued trial was dropped unstarted (the experiment is stopping)
                return messages.done()
            return self._assign(worker_id, ahead=quick)

    def _on_heartbeat(self, msg: dict[str, Any], conn_state: dict[str, Any]) -> dict[str, Any]:
        worker_id = msg["worker_id"]
        with self._cond:
            worker = self._seen(worker_id, conn_state)
            if worker is None:
                return messages.err(f"unknown worker {worker_id!r}: register first")
            trial_id = msg["trial_id"]
            if trial_id is not None and trial_id == self._queue.queued(worker.registration):
                self._start_queued(worker)  # its FINAL for the previous trial is still on the way
            if self._queue.was_dropped(trial_id):
                return messages.stop(trial_id)
            trial = self.trials.get(trial_id) if trial_id is not None else None
            if trial is None or trial.state is not TrialState.RUNNING or trial.worker != worker_id:
                return messages.ok()
            self._apply_progress(trial, msg["points"], msg["logs"])
            if trial_id in self._stop_reasons:
                return messages.stop(trial_id)
            return messages.ok()

    # ---- internals (lock held) ---------------------------------------------------------------

    def _seen(self, worker_id: str, conn_state: dict[str, Any] | None = None) -> _Worker | None:
        """The registered worker ``worker_id``, marked alive now; None if it never registered, or
        if ``conn_state`` is that of a connection whose registration was replaced since."""
        worker = self._current(worker_id, conn_state)
        if worker is not None:
            worker.last_seen = self.clock()
        return worker

    def _current(self, worker_id: str, conn_state: dict[str, Any] | None) -> _Worker | None:
        """``worker_id``'s current registration, if the connection of ``conn_state`` speaks for it.

        A control connection speaks for the registration it carried (``conn_state["registration"]``)
        and no other; a connection that carried none (a heartbeat connection) for the current one.
        """
        worker = self._workers.get(worker_id)
        registration = conn_state.get("registration") if conn_state is not None else None
        if worker is None or (registration is not None and registration != worker.registration):
            return None
        return worker

    def _assign(self, worker_id: str, ahead: bool = False) -> dict[str, Any]:
        """Block until a trial is available for ``worker_id`` (TRIAL) or none will come (DONE).

        ``ahead``: the TRIAL may also queue the one after it (see :meth:`_hand_out_ahead`).
        Ends with ERR once ``worker_id`` has registered again meanwhile (this request's worker died).
        """
        worker = self._workers[worker_id]
        while True:
            if self._stopping or self.done.is_set():
                return messages.done()
            if self._workers.get(worker_id) is not worker:
                return messages.err(f"worker {worker_id} has registered again; this start of it is over")
            trial = self._next_trial_or_fail()
            if self.done.is_set():
                return messages.done()
            if trial is not None:
                self._start(trial, worker)
                return messages.trial(
                    trial.trial_id,
                    trial.params,
                    trial.budget,
                    queued=self._hand_out_ahead(worker) if ahead else None,
                )
            if self._no_more_suggestions() and not self._queue:
                self._check_done()
                return messages.done()
            self._cond.wait(_WAIT_SLICE)

    def _start(self, trial: Trial, worker: _Worker) -> None:
        trial.worker = worker.worker_id
        # Where the trial ran (executor, host, GPUs) belongs to the trial's record.
        trial.info.update(worker.info)
        transition(trial, TrialState.RUNNING, now=self.clock())
        worker.trial_id = trial.trial_id
        self._emit(ev.TrialStarted(self.config.experiment_id, trial.copy()))

    def _hand_out_ahead(self, worker: _Worker) -> dict[str, Any] | None:
        """Queue ``worker``'s next trial now, if allowed (see module docstring); its wire form or None.

        Only while more trials remain than workers (``expected_workers``, or as many as have
        registered), so that no worker idles at the end while a trial waits queued behind another.
        """
        remaining = 0 if self._exhausted else self.planned - self._suggested + len(self._queue)
        if self._stopping or not self._queue.may_hand_out_ahead(
            worker.registration, remaining, len(self._workers)
        ):
            return None
        trial = self._next_trial_or_fail()
        if trial is None:
            return None
        trial.worker = worker.worker_id
        self._queue.hand_out(worker.registration, trial.trial_id)
        return messages.trial_spec(trial.trial_id, trial.params, trial.budget)

    def _start_queued(self, worker: _Worker) -> None:
        """The worker has started its queued trial: RUNNING here too (unless it ended while queued)."""
        trial_id = self._queue.take(worker.registration)
        if trial_id is None:
            return
        trial = self.trials.get(trial_id)  # None: dropped when the experiment stopped
        if trial is not None and trial.state is TrialState.PENDING:
            self._start(trial, worker)

    def _lose_worker(self, worker: _Worker, reason: str) -> None:
        """``worker`` is gone: its running trials are LOST, its queued one goes back to the queue."""
        for trial in list(self.trials.values()):
            if trial.state is TrialState.RUNNING and trial.worker == worker.worker_id:
                self._lose(trial.trial_id, reason)
        worker.trial_id = None
        queued_id = self._queue.take(worker.registration)
        queued = self.trials.get(queued_id) if queued_id is not None else None
        if queued is not None and queued.state is TrialState.PENDING:
            self._queue.give_back(queued)
            self._cond.notify_all()

    def _end_unstarted(self) -> None:
        """Stopping: retries not yet run end STOPPED; queued trials not yet started are dropped.

        A queued trial was only handed out ahead, so it leaves no record; its worker may start it
        anyway before it hears of the stop, and is told to stop it at its first heartbeat.
        """
        for retry in self._queue.drain_retries():
            retry.error = f"{CUT_SHORT} before this retry started"
            self._finish(retry, TrialState.STOPPED)
        self._queue.drop_queued(self.trials)

    def _next_trial_or_fail(self) -> Trial | None:
        """:meth:`_next_trial`; an optimizer that raises ends the experiment (None is returned)."""
        try:
            return self._next_trial()
        except Exception as exc:  # an optimizer bug must end the experiment, not hang it
            self.failure = exc
            self._stopping = True
            self._cond.notify_all()
            self.done.set()
            log.exception("maggy: the optimizer raised; ending the experiment")
            return None

    def _next_trial(self) -> Trial | None:
        """The next trial to hand out (PENDING, recorded): a queued retry first, else a new suggestion.

        None: nothing now (WAIT) or nothing more. A suggestion the wire cannot carry (NaN, a value
        JSON cannot encode, see ``wire_problem``) is never handed out: it is recorded as a trial
        that ends ERROR at once, on no worker, with a message naming the parameter (the optimizer
        hears of it in ``on_trial_finished``), and the optimizer is asked again. Before, it went
        out and every worker got ERR for it and exited, and lagom waited forever.
        """
        retry = self._queue.next_retry()
        if retry is not None:
            return retry
        while not self._exhausted:
            if self._suggested >= self.planned:
                self._exhausted = True
                break
            suggestion = self._initial.popleft() if self._initial else self.optimizer.suggest()
            if suggestion is WAIT:
                return None
            if suggestion is FINISHED:
                self._exhausted = True
                break
            params, budget = params_and_budget(self.optimizer, suggestion)
            self._suggested += 1
            trial = Trial(trial_id=next(self._ids), params=params, budget=budget)
            self.trials[trial.trial_id] = trial
            problem = wire_problem(params, budget)
            if problem is None:
                return trial
            trial.error = (
                f"{self.optimizer.name} suggested a trial that cannot be sent to a worker: {problem}"
            )
            log.error("maggy: trial %d: %s", trial.trial_id, trial.error)
            # Through RUNNING, so every listener sees the usual start/finish pair (for no time).
            transition(trial, TrialState.RUNNING, now=self.clock())
            self._emit(ev.TrialStarted(self.config.experiment_id, trial.copy()))
            self._finish(trial, TrialState.ERROR)
        return None

    def _no_more_suggestions(self) -> bool:
        return self._exhausted or self._suggested >= self.planned

    def _apply_progress(self, trial: Trial, points: list[list[float]], logs: list[str]) -> None:
        """Fold a beat's points and log lines into ``trial`` and publish them.

        The trial keeps a bounded, evenly thinned history (:func:`maggy.trial.extend_bounded`:
        what the early-stopping rules and the views need, whatever the curve's length) and the
        tail of its log (:func:`maggy.trial.extend_log_tail`: a trial may print tens of MB);
        every point and line goes out in the MetricPoints and TrialLog events, which the store
        writer appends to the store.
        """
        if points:
            extend_bounded(trial.history, points)
            self._queued_points += len(points)
            self._emit(ev.MetricPoints(self.config.experiment_id, trial.trial_id, list(points)))
        if logs:
            extend_log_tail(trial.logs, logs)
            self._emit(ev.TrialLog(self.config.experiment_id, trial.trial_id, list(logs)))

    def wait_for_room(self, timeout: float = 5.0) -> None:
        """Block (at most ``timeout`` seconds) while more than :data:`QUEUED_POINTS_LIMIT` points
        wait in the event queue for the dispatcher.

        Called by the RPC server's threads before they hand a message with points to
        :meth:`handle`, with no lock held: when workers send points faster than the listeners
        (store writer, views) take them, the workers wait for their replies (their points wait in
        their own processes) instead of the driver's memory growing with the backlog. Bounded in
        time, so that a stuck listener cannot make every worker look lost.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queued_points > QUEUED_POINTS_LIMIT and not self.done.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._cond.wait(left)

    def event_delivered(self, event: ev.Event) -> None:
        """The dispatcher has published ``event`` to every listener (see :meth:`wait_for_room`)."""
        if isinstance(event, ev.MetricPoints) and event.points:
            with self._cond:
                was_full = self._queued_points > QUEUED_POINTS_LIMIT
                self._queued_points -= len(event.points)
                if was_full and self._queued_points <= QUEUED_POINTS_LIMIT:
                    self._cond.notify_all()

    def _judge_final(self, trial: Trial, msg: dict[str, Any]) -> tuple[TrialState, float | None, str | None]:
        status, metric = msg["status"], msg["metric"]
        if status == "error":
            return TrialState.ERROR, trial.last_value(), msg["error"] or "the trial raised"
        if status in ("early_stopped", "stopped"):
            state = self._stop_reasons.get(trial.trial_id, TrialState.EARLY_STOPPED)
            note = f"{CUT_SHORT} (stopped by the user)" if trial.trial_id in self._with_experiment else None
            return state, _as_metric(metric) if _as_metric(metric) is not None else trial.last_value(), note
        value = _as_metric(metric)
        if value is None:
            return TrialState.ERROR, None, f"the trial returned {metric!r}; return a finite number"
        return TrialState.FINISHED, value, None

    def _finish(self, trial: Trial, state: TrialState) -> None:
        transition(trial, state, now=self.clock())
        self._stop_reasons.pop(trial.trial_id, None)
        snapshot = trial.copy()
        rerun = None
        if state is TrialState.LOST and not self._stopping:
            rerun = self._queue.retry(trial, self.trials, self._ids.__next__)
            if rerun is not None:
                self.trials[rerun.trial_id] = rerun  # PENDING: the experiment is not done before it
        retried = rerun is not None
        if not retried:
            try:
                self.optimizer.on_trial_finished(snapshot)
            except Exception:
                log.exception("maggy: %s.on_trial_finished raised", self.optimizer.name)
        self._emit(ev.TrialFinished(self.config.experiment_id, snapshot))
        self._cond.notify_all()
        self._check_done()

    def _lose(self, trial_id: int, reason: str) -> None:
        trial = self.trials[trial_id]
        if trial.state is not TrialState.RUNNING:
            return
        log.warning("maggy: trial %d LOST: %s", trial_id, reason)
        trial.metric = trial.last_value()
        trial.error = reason
        self._finish(trial, TrialState.LOST)

    def _check_done(self) -> None:
        running = any(t.state in (TrialState.RUNNING, TrialState.PENDING) for t in self.trials.values())
        if running:
            return
        if self._stopping or (self._no_more_suggestions() and not self._queue):
            self.done.set()
            self._cond.notify_all()

    def _emit(self, event: ev.Event) -> None:
        self.events.put(event)

    # ---- read access -------------------------------------------------------------------------

    def snapshot_trials(self) -> list[Trial]:
        """Copies of every trial, by id (safe to use outside the lock)."""
        with self._cond:
            return [t.copy() for t in sorted(self.trials.values(), key=lambda t: t.trial_id)]

    def has_registered(self, worker_id: str, attempt: int) -> bool:
        """Whether that start of that worker reached the driver (backends detect crash loops)."""
        with self._cond:
            return (worker_id, attempt) in self._registered

    def has_left(self, worker_id: str, attempt: int) -> bool:
        """Whether that start of that worker was answered DONE and closed its control connection
        (it exits without another word)."""
        with self._cond:
            return (worker_id, attempt) in self._left

    def worker_info(self, worker_id: str) -> dict[str, Any]:
        """A copy of the ``info`` the worker's latest REG carried (empty if unknown)."""
        with self._cond:
            worker = self._workers.get(worker_id)
            return dict(worker.info) if worker is not None else {}

    def running_count(self) -> int:
        with self._cond:
            return sum(1 for t in self.trials.values() if t.state is TrialState.RUNNING)


def _as_metric(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    value = float(value)
    return value if math.isfinite(value) else None
