"""The Jupyter frontend of an experiment (entry point ``maggy.frontends: jupyter``).

``maggy.frontend.discover`` instantiates ``JupyterFrontend`` for every ``lagom`` call; it is
active only inside a Jupyter kernel. ``attach(handle)`` runs on the cell's thread before the
workers start: it registers the experiment (``maggy_jupyter.registry``), shows the live view
(``maggy_jupyter.live_view.show``) or, where widgets are not available, one text line that
updates in place, and connects the comm bridge to the JupyterLab extension
(``maggy_jupyter.comm_bridge.attach``) when that is installed. ``wait(done)`` is how a blocking
``lagom()`` waits: it keeps serving comm messages (stop buttons) while the cell runs, see
``maggy_jupyter.kernel_pump``.

Importing this module must stay light (no IPython, widgets or comm at import time): it is loaded
in plain Python processes too, just to learn that it does not apply there.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import threading
import time
from types import ModuleType
from typing import Any

from maggy.core import events as ev
from maggy.core.summary import ExperimentSummary
from maggy.frontend import ExperimentHandle
from maggy.trial import TrialState

log = logging.getLogger("maggy")


def in_jupyter_kernel() -> bool:
    """True when running inside a Jupyter kernel (IPython is then already imported)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class JupyterFrontend:
    """Attaches the notebook's views to a running experiment and serves them while it runs."""

    def __init__(self) -> None:
        self.view: Any = None  # what live_view.show returned, else the TextProgress line

    def active(self) -> bool:
        return in_jupyter_kernel()

    @property
    def shows_worker_output(self) -> bool:
        """The live view folds what workers write outside trials (its ``worker_output`` pane);
        the text fallback does not."""
        return getattr(self.view, "worker_output", None) is not None

    def attach(self, handle: ExperimentHandle) -> None:
        """Register ``handle``, show its view, connect the comm bridge (each part optional).

        Called once per experiment on the cell's thread (so displays land in that cell's
        output). A part that fails is logged and skipped: the experiment runs regardless.
        """
        from maggy_jupyter import registry

        registry.register(handle)
        self.view = _show_live_view(handle)
        if self.view is None:
            self.view = TextProgress.show(handle)
        bridge = _optional_module("maggy_jupyter.comm_bridge")
        if bridge is not None:
            try:
                bridge.attach(handle)
            except Exception:
                log.exception("maggy: the comm bridge failed to attach; the JupyterLab panel will not update")

    def wait(self, done: threading.Event) -> None:
        """Block until ``done``, serving comm messages meanwhile; KeyboardInterrupt propagates."""
        from maggy_jupyter.busy_status import keep_busy
        from maggy_jupyter.kernel_pump import current_kernel, serve_comms_until

        with keep_busy(current_kernel()):
            serve_comms_until(done)

    async def wait_async(self, done: threading.Event) -> None:
        """Await until ``done`` (``lagom_async``), serving comm messages where the kernel does not."""
        from maggy_jupyter.kernel_pump import serve_comms_until_async

        await serve_comms_until_async(done)


def _optional_module(name: str) -> ModuleType | None:
    """Import ``name`` if it exists; None if it does not (or cannot be imported: logged).

    Any exception counts: a broken optional part must cost only itself, not the stop buttons.
    """
    try:
        if importlib.util.find_spec(name) is None:
            return None
        return importlib.import_module(name)
    except Exception:
        log.warning("maggy: %s is installed but cannot be imported", name, exc_info=True)
        return None


def _widgets_usable() -> bool:
    return importlib.util.find_spec("ipywidgets") is not None


def _show_live_view(handle: ExperimentHandle) -> Any:
    """``live_view.show(handle)`` when the live view and ipywidgets are there; else None."""
    if not _widgets_usable():
        return None
    live_view = _optional_module("maggy_jupyter.live_view")
    if live_view is None:
        return None
    try:
        return live_view.show(handle)
    except Exception:
        log.exception("maggy: the live view failed; showing a text progress line instead")
        return None


# ---- the text progress line ---------------------------------------------------------------


class TextProgress:
    """One line in the cell output, redrawn in place at most ``1 / MIN_INTERVAL`` times a second.

    An event listener (driver's dispatcher thread; ``ExperimentFinished`` on the cell's thread).
    The line is a display with a ``display_id``: updates replace it wherever it is shown, so they
    need not come from the cell's thread. An update skipped by the rate limit is drawn by a timer
    at the end of the interval, so the line never stays stale.
    """

    MIN_INTERVAL = 0.25

    def __init__(self, handle: ExperimentHandle, publish: Any, clock: Any = time.monotonic) -> None:
        """``publish(text)`` shows or replaces the line; ``clock`` is injectable for tests."""
        self._publish = publish
        self._clock = clock
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._last = float("-inf")
        self._started = clock()
        self.state = ProgressState(handle.name, handle.experiment_id, handle.num_trials, handle.direction)

    @classmethod
    def show(cls, handle: ExperimentHandle) -> TextProgress | None:
        """Display the line in the current cell and subscribe it to ``handle``; None if it cannot."""
        try:
            from IPython.display import Pretty, display

            shown = display(Pretty(""), display_id=True)

            def publish(text: str) -> None:
                shown.update(Pretty(text))

            progress = cls(handle, publish)
            progress.redraw()
            handle.subscribe(progress)
            return progress
        except Exception:
            log.exception("maggy: cannot show the progress line")
            return None

    def __call__(self, event: ev.Event) -> None:
        with self._lock:
            self.state.apply(event)
            if isinstance(event, ev.ExperimentFinished):
                self._draw_locked()  # always: the last word must be on screen
                return
            wait = self.MIN_INTERVAL - (self._clock() - self._last)
            if wait <= 0:
                self._draw_locked()
            elif self._timer is None:
                self._timer = threading.Timer(wait, self.redraw)
                self._timer.daemon = True
                self._timer.start()

    def redraw(self) -> None:
        """Draw the current state now."""
        with self._lock:
            self._draw_locked()

    def _draw_locked(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._last = self._clock()
        try:
            self._publish(self.state.line(self._clock() - self._started))
        except Exception:  # a closed kernel stream must not break the dispatcher
            log.debug("maggy: progress line not drawn", exc_info=True)


class ProgressState:
    """The text line of one experiment: its :class:`~maggy.core.summary.ExperimentSummary`,
    fed by events; ``line`` renders it."""

    def __init__(self, name: str, experiment_id: str, total: int, direction: str) -> None:
        self.summary = ExperimentSummary(experiment_id, name, total, direction)

    def apply(self, event: ev.Event) -> None:
        self.summary.apply(event, time.time())

    def line(self, elapsed: float) -> str:
        s = self.summary
        counts = s.counts()
        head = f"maggy {s.name} [{s.experiment_id}]"
        parts = [f"{s.done}/{s.total} trials"]
        if s.live:
            parts.append(f"{counts[TrialState.RUNNING]} running")
        labels = (
            (TrialState.EARLY_STOPPED, "early-stopped"),
            (TrialState.STOPPED, "stopped"),
            (TrialState.ERROR, "errors"),
            (TrialState.LOST, "lost"),
        )
        parts += [f"{counts[state]} {label}" for state, label in labels if counts[state]]
        best = s.best()
        if best is not None and best.metric is not None:
            parts.append(f"best {best.metric:.6g} (trial {best.trial_id})")
        if not s.live:
            ended = f"{head} {s.status} in {_duration(elapsed)}: " + " · ".join(parts)
            return f"{ended}\n{s.failure}" if s.failure else ended
        timing = f"{_duration(elapsed)} elapsed"
        eta = s.eta_after(elapsed)
        if eta is not None and s.done < s.total:
            timing += f", ETA ~{_duration(eta)}"
        if s.warning:
            timing += f" · warning: {s.warning}"
        return f"{head} " + " · ".join([*parts, timing])


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
