"""The trial table: one HTML widget holding a sorted page of rows, plus sort and page controls.

Rows are rendered as one HTML string rather than a widget per cell, so 200 (or 20,000) trials
cost one widget and a page of text. The sort and page controls' callbacks (main thread) only
record the choice and ask for a redraw; the rows are rendered in the redraw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ipywidgets import HTML, Button, Dropdown, HBox, Layout, ToggleButton, VBox

from . import _format as fmt
from .state import Row

#: Fixed sort keys; each parameter adds ``param:<name>``.
SORT_KEYS = ("trial", "state", "metric", "duration", "worker")

_STATE_ORDER = {
    "RUNNING": 0,
    "PENDING": 1,
    "FINISHED": 2,
    "EARLY_STOPPED": 3,
    "STOPPED": 4,
    "LOST": 5,
    "ERROR": 6,
}


def sort_key_value(row: Row, key: str) -> Any:
    if key == "trial":
        return row.trial_id
    if key == "state":
        return _STATE_ORDER.get(row.state.value, 9)
    if key == "metric":
        return row.metric
    if key == "duration":
        return row.duration
    if key == "worker":
        return row.worker
    if key.startswith("param:"):
        return row.params.get(key[len("param:") :])
    raise ValueError(f"unknown sort key {key!r}")


def sort_rows(rows: Sequence[Row], key: str, descending: bool = False) -> list[Row]:
    """Rows ordered by ``key``; ties by trial id; rows without a value last, in the given order.

    Mixed types (a categorical parameter of strings and numbers) sort numbers first, then text.
    """
    numbers: list[tuple[float, Row]] = []
    texts: list[tuple[str, Row]] = []
    missing: list[Row] = []
    for row in rows:
        value = sort_key_value(row, key)
        if value is None:
            missing.append(row)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            numbers.append((float(value), row))
        else:
            texts.append((str(value), row))
    sign = -1 if descending else 1
    numbers.sort(key=lambda vr: (sign * vr[0], vr[1].trial_id))
    texts.sort(key=lambda vr: vr[1].trial_id)
    texts.sort(key=lambda vr: vr[0], reverse=descending)  # stable: ties keep id order
    return [r for _, r in numbers] + [r for _, r in texts] + missing


def render_rows(rows: Sequence[Row], param_names: Sequence[str], best_id: int | None) -> str:
    """An HTML table of ``rows`` (already sorted and paged); the best trial's row is bold, a
    resumed experiment's earlier trials' rows greyed and marked "earlier run"."""
    head = ["trial", *param_names, "state", "metric", "duration", "worker"]
    out = [
        '<table style="border-collapse:collapse;font-size:0.9em;width:100%">',
        "<thead><tr>"
        + "".join(f'<th style="text-align:left;padding:2px 8px">{fmt.esc(h)}</th>' for h in head)
        + "</tr></thead><tbody>",
    ]
    for row in rows:
        worker = fmt.esc(row.worker) if row.worker else "–"
        gpu = fmt.gpu(row.info)
        if gpu is not None:
            worker += f" · GPU {fmt.esc(gpu)}"
        label = str(row.trial_id) + (f" ↻{row.retry_of}" if row.retry_of is not None else "")
        if row.earlier:
            label += ' <small title="from an earlier run of this experiment">earlier run</small>'
        cells = [
            label,
            *(_param(row.params.get(name)) for name in param_names),
            fmt.badge(row.state),
            fmt.number(row.metric),
            fmt.duration(row.duration),
            worker,
        ]
        style = "font-weight:700;" if row.trial_id == best_id else ""
        if row.earlier:  # a resumed experiment's trial from before: greyed
            style += "opacity:0.55;"
        out.append(
            f'<tr style="{style}border-top:1px solid #ddd">'
            + "".join(f'<td style="padding:2px 8px">{c}</td>' for c in cells)
            + "</tr>"
        )
    out.append("</tbody></table>")
    return "".join(out)


def _param(value: Any) -> str:
    return (
        fmt.number(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool)
        else fmt.esc(value)
    )


class TrialTable:
    """Sort controls, page controls and the table; ``update`` only from ``LiveView``'s redraw."""

    def __init__(self, on_change: Callable[[], None], page_size: int = 50) -> None:
        self.page_size = page_size
        self.page = 0
        self._on_change = on_change
        self._param_names: list[str] = []
        self.sort = Dropdown(
            options=list(SORT_KEYS), value="trial", description="Sort by", layout=Layout(width="220px")
        )
        self.descending = ToggleButton(value=False, description="descending", icon="sort-amount-desc")
        self.prev = Button(description="◀", tooltip="previous page", layout=Layout(width="40px"))
        self.next = Button(description="▶", tooltip="next page", layout=Layout(width="40px"))
        self.page_label = HTML()
        self.html = HTML(layout=Layout(max_height="360px", overflow="auto"))
        controls = HBox([self.sort, self.descending, self.prev, self.page_label, self.next])
        self.widget = VBox([controls, self.html])
        self._quiet = False  # set while the redraw itself changes the sort options
        self.sort.observe(self._changed, names="value")
        self.descending.observe(self._changed, names="value")
        self.prev.on_click(lambda _: self._turn(-1))
        self.next.on_click(lambda _: self._turn(+1))

    def _changed(self, _change: object = None) -> None:
        if self._quiet:
            return
        self.page = 0
        self._on_change()

    def _turn(self, delta: int) -> None:
        self.page = max(0, self.page + delta)  # clamped to the last page at the next render
        self._on_change()

    def update(self, rows: Sequence[Row], param_names: Sequence[str], best_id: int | None) -> None:
        names = list(param_names)
        if names != self._param_names:
            self._param_names = names
            options = [*SORT_KEYS, *(f"param:{n}" for n in names)]
            chosen = self.sort.value
            self._quiet = True
            try:
                with self.sort.hold_sync():
                    self.sort.options = options  # ipywidgets 8 selects the first option here...
                    self.sort.value = chosen if chosen in options else "trial"  # ...so restore
            finally:
                self._quiet = False
        ordered = sort_rows(rows, self.sort.value or "trial", self.descending.value)
        pages = max(1, -(-len(ordered) // self.page_size))
        self.page = min(self.page, pages - 1)
        start = self.page * self.page_size
        shown = ordered[start : start + self.page_size]
        with self.page_label.hold_sync():
            self.page_label.value = f"{start + 1 if shown else 0}–{start + len(shown)} of {len(ordered)}"
        with self.html.hold_sync():
            self.html.value = render_rows(shown, names, best_id)
        self.prev.disabled = self.page == 0
        self.next.disabled = self.page >= pages - 1
