"""One row of the builder: name, type, bounds or values, log scale, remove button, error line."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from maggy.searchspace import DOUBLE, INTEGER, TYPES, Parameter
from maggy_jupyter.builder.preview import PLACEHOLDERS, row_value, values_text

_ERROR_STYLE = "color: var(--jp-error-color1, #d32f2f); font-size: 0.9em; margin-left: 4px"


class ParameterRow:
    """The widgets of one hyperparameter; ``box`` is what the builder shows.

    Plain object holding stock widgets (the builder observes their ``value`` traits); tests and
    users may set ``name.value``, ``kind.value``, ``values.value`` and ``log.value`` directly.
    """

    def __init__(self, name: str = "", kind: str = DOUBLE, values: str = "", log: bool = False) -> None:
        self.name = widgets.Text(value=name, placeholder="name", layout=widgets.Layout(width="140px"))
        self.kind = widgets.Dropdown(options=list(TYPES), value=kind, layout=widgets.Layout(width="130px"))
        self.values = widgets.Text(value=values, layout=widgets.Layout(width="260px"))
        self.log = widgets.Checkbox(
            value=log, description="log", indent=False, layout=widgets.Layout(width="60px")
        )
        self.remove_button = widgets.Button(
            icon="trash", tooltip="remove this parameter", layout=widgets.Layout(width="36px")
        )
        self.error = widgets.HTML()
        self._message = ""
        self.box = widgets.VBox(
            [widgets.HBox([self.name, self.kind, self.values, self.log, self.remove_button]), self.error]
        )
        self._sync_kind()
        self.kind.observe(lambda _change: self._sync_kind(), names="value")

    @classmethod
    def from_parameter(cls, param: Parameter) -> ParameterRow:
        """A row showing ``param`` (its region in the ``%%searchspace`` value syntax)."""
        return cls(param.name, param.type, values_text(param), param.scale == "log")

    def _sync_kind(self) -> None:
        # The log checkbox means something for bounded types only; the placeholder shows the form.
        with self.values.hold_sync():
            self.values.placeholder = PLACEHOLDERS[self.kind.value]
        self.log.disabled = self.kind.value not in (DOUBLE, INTEGER)

    def observe(self, callback: Callable[[ParameterRow], None]) -> None:
        """Call ``callback(self)`` whenever the user changes an input of this row."""
        for widget in (self.name, self.kind, self.values, self.log):
            widget.observe(lambda _change: callback(self), names="value")

    @property
    def is_blank(self) -> bool:
        """Nothing typed yet: the builder skips such a row rather than flag it."""
        return not self.name.value.strip() and not self.values.value.strip()

    def spec(self) -> tuple[str, tuple[Any, ...]]:
        """``(name, value)`` for ``Searchspace.add``; raises ValueError if the values do not parse."""
        name = self.name.value.strip()
        try:
            value = row_value(self.kind.value, self.values.value, self.log.value)
        except ValueError as exc:
            raise ValueError(f"Searchspace parameter {name!r}: {exc}") from None
        return name, value

    def show_error(self, message: str) -> None:
        """Show ``message`` under the row ('' hides it)."""
        self._message = message
        text = f'<span style="{_ERROR_STYLE}">{html.escape(message)}</span>' if message else ""
        if self.error.value != text:
            self.error.value = text

    @property
    def error_text(self) -> str:
        """The message shown under the row, as plain text ('' when the row is valid)."""
        return self._message
