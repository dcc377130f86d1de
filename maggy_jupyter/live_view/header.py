"""The view's header: title, progress bar, progress figures with ETA, the best trial so far, and
why the experiment failed (with the first error's last traceback lines, shown without a click)."""

from __future__ import annotations

from ipywidgets import HTML, HBox, IntProgress, Layout, VBox

from . import _format as fmt
from .state import Summary

_BAR_STYLE = {
    "RUNNING": "info",
    "WAITING": "info",
    "FINISHED": "success",
    "STOPPED": "warning",
    "FAILED": "danger",
}


def progress_html(s: Summary) -> str:
    """``12/40 done · 4 running · 3 early-stopped · 1 error · elapsed 2m 10s · ETA 5m 02s``;
    a resumed experiment's adds ``resumed: 8 earlier`` (its earlier trials, counted in ``done``)."""
    parts = [f"<b>{s.done}/{s.total}</b> done", f"{s.running} running"]
    for count, label in (
        (s.early_stopped, "early-stopped"),
        (s.stopped, "stopped"),
        (s.errors, "error" if s.errors == 1 else "errors"),
        (s.lost, "lost"),
    ):
        if count:
            parts.append(f"{count} {label}")
    if s.earlier:
        parts.append(f"resumed: {s.earlier} earlier")
    parts.append(f"elapsed {fmt.duration(s.elapsed)}")
    if s.eta is not None:
        parts.append(f"ETA {fmt.duration(s.eta)}")
    return " · ".join(parts)


def best_html(s: Summary) -> str:
    if s.best_id is None:
        return "<i>best so far: none yet</i>"
    return (
        f"best so far ({s.direction}): <b>{fmt.number(s.best_metric)}</b> "
        f"in trial {s.best_id} · {fmt.params(s.best_params)}"
    )


#: The failure box: the theme's error colour (JupyterLab's variable, a plain red elsewhere).
_ERROR_STYLE = "color: var(--jp-error-color1, #d32f2f)"


def failure_html(s: Summary) -> str:
    """Empty unless ``s.failure`` or ``s.warning``: then it, and the first error's last traceback lines."""
    if s.failure:
        head, reason = "failed", s.failure
    elif s.warning:
        head, reason = "warning", s.warning
    else:
        return ""
    text = f'<div style="{_ERROR_STYLE}"><b>{head}:</b> {fmt.esc(reason)}'
    if s.first_error:
        text += (
            '<pre style="margin: 2px 0; white-space: pre-wrap; font-size: 90%">'
            f"{fmt.esc(s.first_error)}</pre>"
        )
    return text + "</div>"


def title_html(s: Summary, experiment_id: str) -> str:
    status = fmt.esc(s.status.lower())
    return f"<b>maggy · {fmt.esc(s.name)}</b> <small>{fmt.esc(experiment_id)} · {status}</small>"


class Header:
    """Title, progress and best; ``update`` only from ``LiveView``'s redraw."""

    def __init__(self, experiment_id: str) -> None:
        self.experiment_id = experiment_id
        self.title = HTML()
        self.bar = IntProgress(value=0, min=0, max=1, layout=Layout(width="240px"))
        self.progress = HTML()
        self.best = HTML()
        self.failure = HTML()
        self.widget = VBox([self.title, HBox([self.bar, self.progress]), self.best, self.failure])

    def update(self, s: Summary) -> None:
        self.title.value = title_html(s, self.experiment_id)
        with self.bar.hold_sync():
            self.bar.max = max(1, s.total)
            self.bar.value = min(s.done, self.bar.max)
            self.bar.bar_style = _BAR_STYLE.get(s.status, "")
        self.progress.value = progress_html(s)
        self.best.value = best_html(s)
        self.failure.value = failure_html(s)
