"""``LiveView``: the in-cell view of one running experiment (header, stop button, chart, table with
each running trial's stop button, logs, and what worker processes wrote outside trials, folded).

Threads (the contract every part relies on):
- Driver events arrive on the dispatcher thread: ``on_event`` folds them into the pure
  ``ExperimentState`` under ``_lock`` and asks the throttle for a redraw. Nothing else.
- Redraws run on the throttle's thread (or the caller's, for ``flush``) and are the only code
  that changes widgets. Each copies what changed out of the state under ``_lock``, then
  releases it and updates widgets (multi-trait changes inside ``hold_sync``), so the
  dispatcher thread never waits on the browser. The throttle also redraws every ``tick``
  while the experiment runs, so "elapsed" and running durations move between events (and
  before the first one).
- Widget callbacks (clicks, sort, log choice) run on the kernel's main thread: they call
  ``handle.stop_*`` or record a choice, then ask for a redraw. They change no widget.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

from ipywidgets import Tab, VBox

from maggy.core import events as ev
from maggy.core.summary import WAITING

from .chart import Chart
from .controls import StopControls
from .header import Header
from .logs import LogPane
from .state import ExperimentState
from .table import PAGE_SIZE, TrialTable
from .throttle import Throttle
from .worker_output import WorkerOutputLog, WorkerOutputPane

#: Marks created per redraw at most (~1.5 ms each): a burst of new trials spreads over a few
#: redraws instead of stalling one.
NEW_LINES_PER_REDRAW = 16

#: While only live metrics and durations move, the table re-renders at most this often (seconds):
#: a page of rows is the largest text the view sends, and nobody reads it at 10 Hz.
TABLE_REFRESH = 1.0

#: Seconds between redraws when no event comes: the clock ("elapsed") ticks on screen.
TICK = 1.0

#: Most trial curves on the chart: beyond, the running ones, the best, and the best ended ones
#: (10,000 curves took a 2.8 s redraw and 13.6 MB of widget messages, and nobody reads them).
MAX_CURVES = 200

_FINAL = ("FINISHED", "STOPPED", "FAILED")


class LiveView:
    """Live view of ``handle``'s experiment (an ``maggy.frontend.ExperimentHandle`` or look-alike).

    Build it, ``attach()`` it (or subscribe it yourself: a ``LiveView`` is an event listener),
    display it. ``interval`` is the least time between two redraws (seconds); ``tick`` the most
    while it runs, events or not; ``max_points`` bounds the points sent per line; ``clock`` is the
    wall clock trials are stamped with. "elapsed" counts from the view's creation until the
    experiment's own start is known. After ``ExperimentFinished`` the view draws the final state
    once and stops its thread.

    Built on a running experiment, the view starts from ``handle.trials()``; points published
    between that copy and ``attach()`` are missing from a line until the trial's
    ``TrialFinished`` snapshot (which carries its whole history) fills them in.
    """

    def __init__(
        self,
        handle: Any,
        *,
        interval: float = 0.1,
        tick: float | None = TICK,
        max_points: int = 1000,
        max_curves: int = MAX_CURVES,
        page_size: int = PAGE_SIZE,
        log_lines: int = 500,
        clock: Callable[[], float] = time.time,
        threaded: bool = True,
    ) -> None:
        self.handle = handle
        self.max_points = max_points
        self.max_curves = max_curves
        self.log_lines = log_lines
        self._clock = clock
        self._shown_at = clock()
        self._lock = threading.Lock()
        self.state = ExperimentState.from_handle(handle)
        self.worker_log = WorkerOutputLog()
        self._unsubscribe: Callable[[], None] | None = None
        self._table_at = float("-inf")
        self._force_table = self._force_log = True
        self._log_shown: int | None = None
        self._deferred: set[int] = set()  # new trials whose line waits for a later redraw
        self._drawing: int | None = None  # id of the thread inside _redraw, if any
        self._trial_seen = self._points_seen = False  # of this run (for the chart's notice)
        self.redraws = 0
        # Redraw cost, wall clock and this thread's CPU (the two differ when events keep the GIL busy).
        self.redraw_seconds_max = 0.0
        self.redraw_seconds_total = 0.0
        self.redraw_cpu_seconds_max = 0.0

        self.header = Header(handle.experiment_id)
        self.chart = Chart()
        self.controls = StopControls(self._stop_trial, self._stop_experiment)
        self.table = TrialTable(self._table_changed, page_size=page_size)
        self.logs = LogPane(self._log_changed)
        tabs = Tab([self.table.widget, self.logs.widget], titles=("Trials", "Logs"))
        self.worker_output = WorkerOutputPane()
        self.widget = VBox(
            [self.header.widget, self.controls.widget, self.chart.widget, tabs, self.worker_output.widget]
        )
        self._throttle = Throttle(self._redraw, interval=interval, threaded=threaded, tick=tick)
        self.flush()

    # ---- wiring ------------------------------------------------------------------------------

    def attach(self) -> LiveView:
        """Subscribe to the handle's events (idempotent) and start the clock's ticks; returns self."""
        if self._unsubscribe is None:
            self._unsubscribe = self.handle.subscribe(self.on_event)
            self._throttle.request()  # starts the thread, which then ticks until the end
        return self

    def close(self) -> None:
        """Unsubscribe and stop redrawing; the widgets stay as they are on screen."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._throttle.close()

    def on_event(self, event: ev.Event) -> None:
        """Event listener (dispatcher thread): fold, then ask for a redraw; final redraw at the end."""
        with self._lock:
            if isinstance(event, ev.WorkerOutput):
                self.worker_log.add(event.worker_id, event.lines)
            else:
                self.state.apply(event, self._clock())
        if isinstance(event, ev.ExperimentFinished):
            self._throttle.close()
            self._throttle.flush_now()
        else:
            self._throttle.request()

    __call__ = on_event

    def flush(self) -> None:
        """Redraw now, whatever the rate limit (waits for a redraw in progress)."""
        self._throttle.flush_now()

    @property
    def throttle(self) -> Throttle:
        return self._throttle

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # ---- widget callbacks (main thread): call the handle or record a choice, never a widget ----

    def _stop_trial(self, trial_id: int) -> None:
        if self.handle.stop_trial(trial_id):
            with self._lock:
                self.state.request_stop_trial(trial_id)
            self._throttle.request()

    def _stop_experiment(self) -> None:
        self.handle.stop_experiment()
        with self._lock:
            self.state.request_stop_experiment()
        self._throttle.request()

    def _table_changed(self) -> None:
        self._force_table = True
        self._request()

    def _log_changed(self) -> None:
        self._force_log = True
        self._request()

    def _request(self) -> None:
        if self._drawing == threading.get_ident():
            return  # fired by the redraw's own widget changes (new options): it draws once more
        if self._throttle.closed:
            # The experiment is over and its thread gone, but the table and logs stay browsable:
            # no event can race this redraw any more, so it runs here, on the main thread.
            self._throttle.flush_now()
        else:
            self._throttle.request()

    # ---- the redraw (throttle thread, or the final event's thread) ---------------------------

    def _notice(self, status: str) -> str | None:
        """What the chart says while it has nothing of this run to draw (under ``_lock``)."""
        if status in _FINAL:
            return None
        trials = self.state.trials.values()
        # Scans stop once true: with thousands of trials they run only until the first ones come.
        self._trial_seen = self._trial_seen or any(not r.earlier for r in trials)
        if not self._trial_seen:
            return "starting workers…"
        self._points_seen = self._points_seen or any(len(r.series) for r in trials if not r.earlier)
        return None if self._points_seen else "no metric points yet"

    def _redraw(self) -> None:
        self._drawing = threading.get_ident()
        try:
            self._redraw_once()
            if self._force_table or self._force_log:  # a control changed under this redraw
                self._redraw_once()
        finally:
            self._drawing = None

    def _redraw_once(self) -> None:
        started, cpu = time.perf_counter(), time.thread_time()
        now = self._clock()
        tick = time.monotonic()
        selected = self.logs.selected
        with self._lock:
            state = self.state
            changes = state.take_changes()
            summary = state.summary(now)
            notice = self._notice(summary.status)
            curves = state.curve_ids(self.max_curves, summary.best_id)
            drawn = set(self.chart.lines)
            dropped = drawn - curves
            wanted = (changes.lines | self._deferred | (curves - drawn)) & curves
            if notice is None and len(curves) < len(state.trials):
                notice = f"curves of {len(curves):,} of {len(state.trials):,} trials: the running ones and the best"
            new = sorted(tid for tid in wanted if tid not in self.chart.lines)
            # No budget once the throttle is closed: the final redraw must show every trial.
            self._deferred = set() if self._throttle.closed else set(new[NEW_LINES_PER_REDRAW:])
            lines = {tid: state.line(tid, self.max_points) for tid in wanted - self._deferred}
            running = state.running_ids()
            earlier = state.earlier_ids
            table_due = (
                self._force_table
                or changes.structure
                or ((changes.live or running) and tick - self._table_at >= TABLE_REFRESH)
            )
            rows = state.rows(now) if table_due else None
            names = state.param_names() if table_due else []
            picker = (
                [(tid, r.state) for tid, r in sorted(state.trials.items())] if changes.structure else None
            )
            log_due = self._force_log or selected != self._log_shown or selected in changes.logs
            log_text = state.log_text(selected, self.log_lines) if log_due and selected is not None else None
            workers = self.worker_log.take()
            self._force_table = self._force_log = False
        if summary.status == WAITING and not summary.elapsed:
            # Not started yet (workers starting): the user has been waiting since the view showed.
            summary = dataclasses.replace(summary, elapsed=max(0.0, now - self._shown_at))
        self.header.update(summary)
        self.chart.set_notice(notice)
        self.chart.update(lines, summary.best_id, earlier, removed=dropped)
        self.controls.update(running, summary)
        if rows is not None:
            self.table.update(rows, names, summary.best_id, self.controls.button_for)
            self.controls.close_retired()  # out of the rows now
            self._table_at = tick
        if picker is not None:
            self.logs.set_trials(picker)
        if log_due:
            self.logs.show(log_text)
            self._log_shown = selected
        if workers is not None:
            self.worker_output.show(workers)
        if self._deferred:
            self._throttle.request()
        elapsed = time.perf_counter() - started
        self.redraws += 1
        self.redraw_seconds_total += elapsed
        self.redraw_seconds_max = max(self.redraw_seconds_max, elapsed)
        self.redraw_cpu_seconds_max = max(self.redraw_cpu_seconds_max, time.thread_time() - cpu)
