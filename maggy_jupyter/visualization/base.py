"""What every analysis plot shares: limits, colours, the live redraw loop (:class:`Plot`)."""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from bqplot import Axis, Figure
from ipywidgets import HTML, Layout, VBox

from maggy.core import events as ev
from maggy.trial import Trial, TrialState

from ..live_view.throttle import Throttle

if TYPE_CHECKING:
    from .source import Source

#: Trials drawn as parallel-coordinate lines at most (SVG slows past a few thousand paths): the
#: best trial and an even sample of the rest; every trial still counts in the other plots.
MAX_LINES = 1000

#: Dots per scatter (history, each slice) at most: the best trial and an even spread of the rest.
#: Each dot carries its params for the tooltip; 10,000 of them in six slices would be 7 MB a redraw.
MAX_POINTS = 2000

#: Least seconds between two redraws of a live plot (importance at 10,000 trials takes ~0.1 s).
INTERVAL = 1.0

#: A live plot spends at most about 1/BUSY of the time redrawing: after a redraw that took t
#: seconds, the next waits at least BUSY * t (a slow redraw at 10,000 trials spaces them out).
BUSY = 10

_MARGIN = {"top": 20, "bottom": 45, "left": 65, "right": 20}
_COLORS = ["#d62728", "#e6ac00", "#2ca02c"]  # worst -> best along the colour scale
_BEST = "#e6ac00"
#: A history dot's colour by the state its trial ended in (matplotlib's tab10, as the live view).
_STATE_COLORS = {
    TrialState.FINISHED: "#2ca02c",
    TrialState.EARLY_STOPPED: "#ff7f0e",
    TrialState.STOPPED: "#7f7f7f",
}


def _params_text(trial_id: int, params: dict[str, Any], metric: float | None = None) -> str:
    parts = [f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()]
    head = f"trial {trial_id}" + (f" ({metric:.4g})" if metric is not None else "")
    return head + ": " + ", ".join(parts)


class Plot:
    """One analysis figure of one experiment; subclasses implement :meth:`draw`.

    Built on a running experiment it subscribes to the events and redraws as trials end (at most
    once per ``interval`` seconds), and a last time at ``ExperimentFinished``, then unsubscribes.
    """

    title = ""

    def __init__(self, src: Source, *, interval: float = INTERVAL, threaded: bool = True) -> None:
        self.source = src
        self.heading = HTML(f"<b>{html.escape(self.title)}</b> · experiment {html.escape(src.experiment_id)}")
        self.note = HTML("")
        self.body: Any = None
        self._lock = threading.Lock()
        self.redraws = 0
        self._build()
        self.widget = VBox([self.heading, self.body, self.note])
        self._interval = interval
        self._throttle = Throttle(self.redraw, interval=interval, threaded=threaded)
        self._unsubscribe: Callable[[], None] | None = None
        if src.handle is not None:  # before the first draw: no trial can end unseen in between
            self._unsubscribe = src.handle.subscribe(self.on_event)
        try:
            self.redraw()
        except BaseException:
            self.close()
            raise

    @property
    def throttle(self) -> Throttle:
        return self._throttle

    @property
    def live(self) -> bool:
        return self._unsubscribe is not None

    def on_event(self, event: ev.Event) -> None:
        """Event listener (dispatcher thread): a trial ended -> redraw soon; the end -> redraw now."""
        if isinstance(event, ev.ExperimentFinished):
            self.close()
            self._throttle.flush_now()
        elif isinstance(event, ev.TrialFinished):
            self._throttle.request()

    def close(self) -> None:
        """Stop following the experiment; the figure stays as drawn."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._throttle.close()

    def redraw(self) -> None:
        """Recompute from the source's trials and update the marks (any thread; one at a time)."""
        with self._lock:
            started = time.monotonic()
            trials = self.source.trials()
            self.draw(trials)
            self.redraws += 1
            self._throttle.interval = max(self._interval, BUSY * (time.monotonic() - started))

    def _build(self) -> None:
        raise NotImplementedError

    def draw(self, trials: Sequence[Trial]) -> None:
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def _figure(marks: list[Any], axes: list[Axis], height: str = "320px", **kw: Any) -> Figure:
    return Figure(
        marks=marks,
        axes=axes,
        animation_duration=0,
        fig_margin=dict(_MARGIN),
        layout=Layout(width="100%", height=height),
        **kw,
    )


def _drawn(shown: int, total: int) -> str:
    return f"{shown:,} of {total:,}" if shown < total else f"{total:,}"
