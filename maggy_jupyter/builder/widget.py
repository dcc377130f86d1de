"""``SearchspaceBuilder``: build a maggy Searchspace interactively, checked as you type.

Composed of stock ipywidgets and one bqplot bar chart. Every change of a row re-validates the
whole space by adding the rows, in order, to a fresh ``Searchspace``: each row shows the very
``ValueError`` message ``Searchspace.add`` gives for it (bad bounds, a duplicate name, ...), the code
preview and the distribution follow, and when every row is valid the Searchspace is bound to
``namespace[name]``. Blank rows (no name, no values) are skipped, not flagged, and a builder with
nothing typed yet shows a hint, not an error.

Thread-safety: like every widget, use it from the kernel's main thread only.
"""

from __future__ import annotations

import html
from collections.abc import MutableMapping
from typing import Any

import bqplot
import ipywidgets as widgets

from maggy.searchspace import DOUBLE, Searchspace
from maggy_jupyter.builder.preview import PLOT_WIDTH, SAMPLES, sample_counts, searchspace_code, tick_values
from maggy_jupyter.builder.rows import ParameterRow

_OK_STYLE = "color: var(--jp-success-color1, #388e3c)"
_BAD_STYLE = "color: var(--jp-error-color1, #d32f2f)"
_HINT_STYLE = "color: var(--jp-ui-font-color2, #616161)"


class SearchspaceBuilder(widgets.VBox):
    """An editable table of hyperparameters producing a ``maggy.Searchspace``.

    ``SearchspaceBuilder(sp)`` (or ``SearchspaceBuilder.from_searchspace(sp)``) starts from the rows
    of ``sp``; with neither, from one blank row. With ``name`` and ``namespace`` (``%searchspace_builder
    NAME`` passes the notebook's), every valid state is bound to ``namespace[name]``.
    """

    def __init__(
        self,
        searchspace: Searchspace | None = None,
        *,
        name: str | None = None,
        namespace: MutableMapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.var_name = name
        self.namespace = namespace
        self.rows: list[ParameterRow] = []
        self._space: Searchspace | None = None
        self._problems: list[str] = []
        self._preview_code = ""
        self._plotted = Searchspace()  # the valid rows, even while others have errors
        self._choosing = False
        self.add_button = widgets.Button(description="add parameter", icon="plus")
        self.add_button.on_click(lambda _button: self.add_row())
        self.status = widgets.HTML()
        self.code = widgets.HTML()
        self.plot_choice = widgets.Dropdown(description="samples of", options=[])
        self.plot_choice.observe(self._on_choice, names="value")
        self.bars, self.figure = _histogram_figure()
        self._rows_box = widgets.VBox()
        preview = widgets.HBox([self.code, widgets.VBox([self.plot_choice, self.figure])])
        title = "Searchspace" + (f" &rarr; <code>{html.escape(name)}</code>" if name else "")
        super().__init__(
            [widgets.HTML(f"<b>{title}</b>"), self._rows_box, self.add_button, self.status, preview], **kwargs
        )
        for param in searchspace.parameters() if searchspace is not None else []:
            self._append(ParameterRow.from_parameter(param))
        if not self.rows:
            self._append(ParameterRow())
        self.refresh()

    @classmethod
    def from_searchspace(cls, searchspace: Searchspace, **kwargs: Any) -> SearchspaceBuilder:
        """A builder whose rows are the parameters of ``searchspace`` (same as ``cls(searchspace)``)."""
        return cls(searchspace, **kwargs)

    # -- rows -------------------------------------------------------------------------------------

    def add_row(
        self, name: str = "", kind: str = DOUBLE, values: str = "", log: bool = False
    ) -> ParameterRow:
        """Append a row (blank by default) and return it."""
        row = self._append(ParameterRow(name, kind, values, log))
        self.refresh(row)
        return row

    def remove_row(self, row: ParameterRow) -> None:
        """Remove ``row`` (its remove button does this)."""
        self.rows.remove(row)
        self._rows_box.children = [r.box for r in self.rows]
        self.refresh()

    def _append(self, row: ParameterRow) -> ParameterRow:
        row.observe(self.refresh)
        row.remove_button.on_click(lambda _button: self.remove_row(row))
        self.rows.append(row)
        self._rows_box.children = [r.box for r in self.rows]
        return row

    # -- state ------------------------------------------------------------------------------------

    @property
    def searchspace(self) -> Searchspace:
        """A new Searchspace of the rows; ValueError (listing each row's problem) if any row is invalid."""
        if self._space is None:
            raise ValueError("\n".join(self._problems))
        return Searchspace(**self._space.to_dict())

    @property
    def is_valid(self) -> bool:
        return self._space is not None

    @property
    def preview_code(self) -> str:
        """The Python code shown in the preview."""
        return self._preview_code

    def refresh(self, changed: ParameterRow | None = None) -> None:
        """Re-validate every row and update errors, status, code, distribution and the binding.

        Called on every change of a row; ``changed`` (the row just edited) becomes the row whose
        distribution is shown, if it is valid.
        """
        space = Searchspace()
        problems = []
        for index, row in enumerate(self.rows, start=1):
            message = ""
            if not row.is_blank:
                try:
                    space.add(*row.spec())
                except ValueError as exc:
                    message = str(exc)
                    problems.append(f"row {index}: {message}")
            row.show_error(message)
        if not problems and len(space) == 0:
            problems.append("no parameters yet: fill in a row (name, type, values)")
        self._space = None if problems else space
        self._problems = problems
        self._show_status(space)
        self._show_code(space, len(problems))
        self._plotted = space
        names = list(space)
        keep = self.plot_choice.value if self.plot_choice.value in names else None
        pick = changed.name.value.strip() if changed is not None else None
        self._choosing = True  # options and value change together: draw once, below
        try:
            with self.plot_choice.hold_sync():
                self.plot_choice.options = names
                self.plot_choice.value = pick if pick in names else keep or (names[0] if names else None)
        finally:
            self._choosing = False
        self._draw_histogram()
        if self._space is not None and self.var_name and self.namespace is not None:
            self.namespace[self.var_name] = self.searchspace

    def _show_status(self, space: Searchspace) -> None:
        if self._space is not None:
            bound = (
                f", bound to <code>{html.escape(self.var_name)}</code>"
                if self.var_name and self.namespace is not None
                else ""
            )
            text = f'<span style="{_OK_STYLE}">&#10003; {len(space)} parameter{"s" * (len(space) != 1)}{bound}</span>'
        else:
            bad = [p for p in self._problems if p.startswith("row ")]
            if not bad:  # nothing typed yet (or every row removed): a hint, not an error
                text = f'<span style="{_HINT_STYLE}">{html.escape(self._problems[0])}</span>'
            else:
                text = (
                    f'<span style="{_BAD_STYLE}">&#10007; {len(bad)} row{"s" * (len(bad) != 1)} to fix</span>'
                )
        self.status.value = text

    def _show_code(self, space: Searchspace, problems: int) -> None:
        code = "from maggy import Searchspace\n\n" + searchspace_code(space, self.var_name or "sp")
        if problems and len(space) < len([r for r in self.rows if not r.is_blank]):
            code += "\n# rows with errors are left out"
        self._preview_code = code
        self.code.value = f"<pre>{html.escape(code)}</pre>"

    def _on_choice(self, _change: Any) -> None:
        if not self._choosing:
            self._draw_histogram()

    def _draw_histogram(self) -> None:
        choice = self.plot_choice.value
        params = {p.name: p for p in self._plotted.parameters()}
        labels, counts = sample_counts(params[choice]) if choice in params else ([], [])
        with self.bars.hold_sync():  # one message for both arrays: the frontend never sees them mismatched
            self.bars.x = labels
            self.bars.y = counts
        axis = self.figure.axes[0]
        with axis.hold_sync():
            axis.tick_values = tick_values(labels) if labels else None
            axis.label = f"{choice} ({SAMPLES} samples)" if choice in params else ""


def _histogram_figure() -> tuple[bqplot.Bars, bqplot.Figure]:
    x_scale, y_scale = bqplot.OrdinalScale(), bqplot.LinearScale(min=0)
    # Horizontal tick labels, as many as fit without overlapping (preview.tick_values picks them);
    # the tooltip names the bars left without one.
    tooltip = bqplot.Tooltip(fields=["x", "y"], labels=["value", "samples"])
    bars = bqplot.Bars(x=[], y=[], scales={"x": x_scale, "y": y_scale}, padding=0.1, tooltip=tooltip)
    axes = [
        bqplot.Axis(scale=x_scale, label="", tick_rotate=0),
        bqplot.Axis(scale=y_scale, side="left", label="count", tick_format="d"),
    ]
    margin = {"top": 10, "bottom": 45, "left": 50, "right": 20}  # right: half of the last label
    figure = bqplot.Figure(
        marks=[bars],
        axes=axes,
        fig_margin=margin,
        layout=widgets.Layout(width=f"{PLOT_WIDTH + margin['left'] + margin['right']}px", height="240px"),
    )
    return bars, figure
