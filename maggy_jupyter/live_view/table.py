"""The trial table: a sorted page of rows, each one HTML widget beside its trial's stop button,
plus sort and page controls.

A row is one HTML string (never a widget per cell), so 200 (or 20,000) trials cost one page of
row widgets, reused from page to page; only a running trial's row holds a button, and it is that
trial's own (``StopControls``). The whole page is shown: no inner scroll box hides rows the
range label counts. The sort and page controls' callbacks (main thread) only record the choice
and ask for a redraw; the rows are rendered in the redraw.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from typing import Any

from ipywidgets import HTML, Box, Button, Dropdown, HBox, Layout, ToggleButton, VBox, Widget

from . import _format as fmt
from .controls import BUTTON_WIDTH
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


#: Widest a column grows (in characters); longer text is cut with an ellipsis.
MAX_COLUMN_CH = 36

_CELL = "padding:2px 8px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap"
_TAGS = re.compile(r"<[^>]*>")


def _text_len(cell_html: str) -> int:
    return len(html.unescape(_TAGS.sub("", cell_html)))


def header_names(param_names: Sequence[str]) -> list[str]:
    return ["trial", *param_names, "state", "metric", "duration", "worker"]


def row_cells(row: Row, param_names: Sequence[str]) -> list[str]:
    """A row's cells as HTML: the trial's colour swatch and id (as the panel's table shows them),
    its parameters, state, metric, duration, and worker with GPUs."""
    worker = fmt.esc(row.worker) if row.worker else "–"
    gpu = fmt.gpu(row.info)
    if gpu is not None:
        worker += f" · GPU {fmt.esc(gpu)}"
    color = fmt.EARLIER_COLOR if row.earlier else fmt.trial_color(row.trial_id)
    label = fmt.swatch(color) + str(row.trial_id) + (f" ↻{row.retry_of}" if row.retry_of is not None else "")
    if row.earlier:
        label += ' <small title="from an earlier run of this experiment">earlier run</small>'
    return [
        label,
        *(_param(row.params.get(name)) for name in param_names),
        fmt.badge(row.state),
        fmt.number(row.metric),
        fmt.duration(row.duration),
        worker,
    ]


#: Width, in ch, given to one character of a cell (see _table).
_GLYPH_CH = 1.35


def column_widths(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[int]:
    """Characters per column: the longest text in it (header included), at most MAX_COLUMN_CH."""
    widths = [len(h) for h in head]
    for cells in rows:
        widths = [
            max(w, _text_len(c) + (2 if i == 0 else 0))
            for i, (w, c) in enumerate(zip(widths, cells, strict=True))
        ]
    return [min(MAX_COLUMN_CH, w) for w in widths]


def _table(widths: Sequence[int], inner: str) -> str:
    # Every row is its own table (each sits in a row widget beside its stop button); one fixed
    # layout with the same column widths lines their columns up.
    # 1ch is the width of "0": upper-case states (FINISHED) and the best row's bold are wider, so
    # a column gets _GLYPH_CH ch per character (at 1ch, "FINISHED" showed as "FINISH…").
    cols = "".join(f'<col style="width:calc({w * _GLYPH_CH:.1f}ch + 16px)">' for w in widths)
    total = f"calc({sum(widths) * _GLYPH_CH:.1f}ch + {16 * len(widths)}px)"
    return (
        f'<table style="border-collapse:collapse;table-layout:fixed;font-size:0.9em;width:{total}">'
        f"<colgroup>{cols}</colgroup>{inner}</table>"
    )


def render_head(param_names: Sequence[str], widths: Sequence[int]) -> str:
    cells = "".join(
        f'<th style="text-align:left;{_CELL}">{fmt.esc(h)}</th>' for h in header_names(param_names)
    )
    return _table(widths, f"<thead><tr>{cells}</tr></thead>")


def render_row(row: Row, cells: Sequence[str], widths: Sequence[int], best_id: int | None) -> str:
    """One row: the best trial's bold, a resumed experiment's earlier trials' greyed."""
    style = "font-weight:700;" if row.trial_id == best_id else ""
    if row.earlier:  # a resumed experiment's trial from before: greyed
        style += "opacity:0.55;"
    tds = "".join(f'<td style="{_CELL}">{c}</td>' for c in cells)
    return _table(widths, f'<tbody><tr style="{style}border-top:1px solid #ddd">{tds}</tr></tbody>')


def _param(value: Any) -> str:
    return (
        fmt.number(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool)
        else fmt.esc(value)
    )


#: Rows per page by default: a page fits on a screen without an inner scroll box.
PAGE_SIZE = 20


class TrialTable:
    """Sort controls, page controls and the rows; ``update`` only from ``LiveView``'s redraw."""

    def __init__(self, on_change: Callable[[], None], page_size: int = PAGE_SIZE) -> None:
        self.page_size = page_size
        self.page = 0
        self._on_change = on_change
        self._param_names: list[str] = []
        self.sort = Dropdown(
            options=list(SORT_KEYS), value="trial", description="Sort by", layout=Layout(width="220px")
        )
        self.descending = ToggleButton(
            value=False, description="ascending", icon="sort-amount-asc", tooltip="reverse the order"
        )
        self.prev = Button(description="◀", tooltip="previous page", layout=Layout(width="40px"))
        self.next = Button(description="▶", tooltip="next page", layout=Layout(width="40px"))
        self.page_label = HTML()
        self.head = HTML()
        # Holds a row's place where its trial has no stop button, so the columns line up.
        self._spacer = Box(layout=Layout(width=BUTTON_WIDTH, min_width=BUTTON_WIDTH))
        self.body = VBox([])
        controls = HBox([self.sort, self.descending, self.prev, self.page_label, self.next])
        self.widget = VBox([controls, HBox([self._spacer, self.head]), self.body])
        self._pool: list[tuple[HBox, HTML]] = []  # row widgets, by position on the page
        self.shown: list[int] = []  # the trial ids on the page, in order
        self._row_html: dict[int, str] = {}
        self._widths: list[int] = []  # only grow (until the columns change): rows do not jump
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

    # ---- reading (tests, screenshots) --------------------------------------------------------

    def row_widget(self, trial_id: int) -> HBox | None:
        """The row showing ``trial_id`` on this page (None if it is not on it)."""
        if trial_id not in self.shown:
            return None
        return self._pool[self.shown.index(trial_id)][0]

    def row_html(self, trial_id: int) -> str:
        return self._row_html.get(trial_id, "")

    def html_text(self) -> str:
        """The header and the page's rows, as the browser gets them."""
        return self.head.value + "".join(self._row_html[tid] for tid in self.shown)

    # ---- the redraw --------------------------------------------------------------------------

    def update(
        self,
        rows: Sequence[Row],
        param_names: Sequence[str],
        best_id: int | None,
        stop_button: Callable[[int], Widget | None] = lambda _tid: None,
    ) -> None:
        """Render the current page; ``stop_button(trial_id)`` is a running trial's own button."""
        names = list(param_names)
        if names != self._param_names:
            self._param_names = names
            self._widths = []
            options = [*SORT_KEYS, *(f"param:{n}" for n in names)]
            chosen = self.sort.value
            self._quiet = True
            try:
                with self.sort.hold_sync():
                    self.sort.options = options  # ipywidgets 8 selects the first option here...
                    self.sort.value = chosen if chosen in options else "trial"  # ...so restore
            finally:
                self._quiet = False
        descending = bool(self.descending.value)
        with self.descending.hold_sync():  # the label says the order shown
            self.descending.description = "descending" if descending else "ascending"
            self.descending.icon = "sort-amount-desc" if descending else "sort-amount-asc"
        ordered = sort_rows(rows, self.sort.value or "trial", descending)
        pages = max(1, -(-len(ordered) // self.page_size))
        self.page = min(self.page, pages - 1)
        start = self.page * self.page_size
        shown = ordered[start : start + self.page_size]
        cells = [row_cells(row, names) for row in shown]
        widths = column_widths(header_names(names), cells)
        self._widths = [max(a, b) for a, b in zip(widths, self._widths or widths, strict=True)]
        self.head.value = render_head(names, self._widths)
        while len(self._pool) < len(shown):
            text = HTML()
            self._pool.append((HBox([self._spacer, text], layout=Layout(align_items="center")), text))
        self._row_html = {}
        for (box, text), row, row_html in zip(self._pool, shown, cells, strict=False):
            value = render_row(row, row_html, self._widths, best_id)
            self._row_html[row.trial_id] = text.value = value  # unchanged text sends nothing
            button = stop_button(row.trial_id)
            children = (button if button is not None else self._spacer, text)
            if box.children != children:
                box.children = children
        for box, text in self._pool[len(shown) :]:  # off the page: let go of any trial's button
            if box.children[0] is not self._spacer:
                box.children = (self._spacer, text)
        self.shown = [row.trial_id for row in shown]
        if len(self.body.children) != len(shown):
            self.body.children = [box for box, _ in self._pool[: len(shown)]]
        self.page_label.value = f"{start + 1 if shown else 0}–{start + len(shown)} of {len(ordered)}"
        self.prev.disabled = self.page == 0
        self.next.disabled = self.page >= pages - 1
