"""Text formatting shared by the live view's parts: numbers, durations, params, colours.

Every function returns HTML-safe text (user-chosen parameter names and values are escaped).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

from maggy.trial import TrialState

#: One colour per trial, the same in the cell and in the JupyterLab panel: this mirrors
#: ``PALETTE`` and ``colorFor`` in labextension/src/views/chartRender.ts (Tableau 10, indexed by
#: trial id modulo its length); a test reads that file and fails if the two differ.
PALETTE: tuple[str, ...] = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
#: A resumed experiment's trials from its earlier runs: grey, whatever their state (as the panel's
#: ``EARLIER_COLOR``).
EARLIER_COLOR = "#a0a0a0"

#: The state badge's colour in the table (a trial's line keeps its own colour; its style shows the
#: state): matplotlib's "tab10", which reads on light and dark themes.
STATE_COLORS: dict[TrialState, str] = {
    TrialState.PENDING: "#c7c7c7",
    TrialState.RUNNING: "#1f77b4",
    TrialState.FINISHED: "#2ca02c",
    TrialState.EARLY_STOPPED: "#ff7f0e",
    TrialState.STOPPED: "#7f7f7f",
    TrialState.ERROR: "#d62728",
    TrialState.LOST: "#9467bd",
}

#: Keys of ``Trial.info`` that name the GPUs a trial ran on, in order of preference.
GPU_KEYS = ("gpus", "gpu", "CUDA_VISIBLE_DEVICES", "cuda_visible_devices")


def trial_color(trial_id: int) -> str:
    """The trial's colour everywhere it is drawn (the panel's ``colorFor``)."""
    return PALETTE[trial_id % len(PALETTE)]


def swatch(color: str, title: str = "") -> str:
    """A small colour bar, as the panel's table shows beside a trial's id."""
    tip = f' title="{esc(title)}"' if title else ""
    return (
        f'<span{tip} style="display:inline-block;width:10px;height:10px;border-radius:2px;'
        f'background:{color};vertical-align:middle;margin-right:5px"></span>'
    )


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def number(value: float | None) -> str:
    """A metric or parameter value, short: 4 significant digits; "–" for none."""
    if value is None:
        return "–"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return f"{value:.4g}" if isinstance(value, float) else esc(value)


def duration(seconds: float | None) -> str:
    """``7.2s``, ``3m 05s``, ``2h 04m``; "–" for none."""
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def params(values: Mapping[str, Any] | None) -> str:
    if not values:
        return "–"
    return ", ".join(f"{esc(k)}={number(v) if isinstance(v, float) else esc(v)}" for k, v in values.items())


def gpu(info: Mapping[str, Any]) -> str | None:
    """The GPUs a trial ran on, as the worker reported them in ``Trial.info`` (None if none)."""
    for key in GPU_KEYS:
        value = info.get(key)
        if value not in (None, "", []):
            return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    return None


def badge(state: TrialState) -> str:
    return f'<span style="color:{STATE_COLORS[state]};font-weight:600">{state.value}</span>'
