"""Pure helpers of the builder: a row's inputs -> a Searchspace value, the code preview, the histogram
and its tick labels.

No widgets here, so everything the builder shows is testable as plain data.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from maggy.searchspace import CATEGORICAL, DISCRETE, DOUBLE, INTEGER, Parameter, Searchspace
from maggy_jupyter.magics.searchspace_syntax import format_value, parse_values

#: Samples drawn for the distribution preview, and its seed (fixed: the picture must not flicker).
SAMPLES = 200
SEED = 0
BINS = 12

#: The histogram's plot area (px: the figure's width less its side margins, set in ``widget``) and
#: what a tick label takes: bqplot draws them in 12px sans-serif, whose digits are about 7px wide
#: and letters up to 8 on average; a gap keeps neighbours from touching.
PLOT_WIDTH = 310
TICK_CHAR_PX = 8
TICK_GAP_PX = 8

PLACEHOLDERS = {
    DOUBLE: "lower, upper   e.g. 0.001, 0.1",
    INTEGER: "lower, upper   e.g. 2, 8",
    DISCRETE: "numbers   e.g. 16, 32, 64",
    CATEGORICAL: "values   e.g. relu, tanh",
}


def row_value(kind: str, text: str, log: bool) -> tuple[Any, ...]:
    """The ``(type, values[, 'log'])`` tuple for ``Searchspace.add`` from a row's inputs.

    ``text`` is a comma-separated list in the ``%%searchspace`` value syntax (brackets optional).
    ``log`` applies to DOUBLE and INTEGER only and is ignored otherwise. Raises ValueError when the
    text does not parse; the region itself is checked by ``Searchspace.add``.
    """
    values = parse_values(text)
    if log and kind in (DOUBLE, INTEGER):
        return (kind, values, "log")
    return (kind, values)


def values_text(param: Parameter) -> str:
    """A parameter's region as a row's values text: ``row_value`` reads it back to the same region."""
    return ", ".join(format_value(v) for v in param.region)


def searchspace_code(space: Searchspace, var: str | None = None) -> str:
    """Python code that builds ``space``: ``Searchspace(x=('DOUBLE', [0.0, 1.0]), ...)``.

    One parameter per line; prefixed with ``var = `` when given. ``eval`` of the expression (with
    ``Searchspace`` in scope) gives a space equal to ``space``.
    """
    items = [f"    {name}={value!r}," for name, value in space.to_dict().items()]
    call = "Searchspace(\n" + "\n".join(items) + "\n)" if items else "Searchspace()"
    return f"{var} = {call}" if var else call


def sample_counts(param: Parameter, n: int = SAMPLES, seed: int = SEED) -> tuple[list[str], list[int]]:
    """Bar labels and counts of ``n`` samples of ``param`` (what the optimizer's sampler draws).

    Finite parameters (DISCRETE, CATEGORICAL, and INTEGER with at most 2 * BINS values) get a bar
    per value; the others ``BINS`` equal bins, in log space for scale 'log', labelled by centre.
    """
    rng = np.random.default_rng(seed)
    samples = [param.sample(rng) for _ in range(n)]
    if param.type in (DISCRETE, CATEGORICAL) or (
        param.type == INTEGER and (param.cardinality or 0) <= 2 * BINS
    ):
        # Keyed by type too: as CATEGORICAL choices True, 1 and 1.0 are different values.
        counts = Counter((type(v), v) for v in samples)
        choices = param.choices()
        return [format_value(c) for c in choices], [counts[(type(c), c)] for c in choices]
    lo, hi = (float(x) for x in param.values)
    log = param.scale == "log"
    data = np.log10(samples) if log else np.asarray(samples, dtype=float)
    edges = np.linspace(np.log10(lo), np.log10(hi), BINS + 1) if log else np.linspace(lo, hi, BINS + 1)
    hist, _ = np.histogram(data, bins=edges)
    centres = (edges[:-1] + edges[1:]) / 2
    return _unique_labels(10**centres if log else centres), [int(c) for c in hist]


def _unique_labels(values: np.ndarray) -> list[str]:
    """Shortest ``%g`` labels (3 to 12 digits) that tell every bin apart (the x scale is ordinal),
    with a compact exponent (``1.47e-5``, not ``1.47e-05``); ``float()`` reads each back."""
    for digits in range(3, 13):
        labels = [_compact(f"{v:.{digits}g}") for v in values]
        if len(set(labels)) == len(labels):
            return labels
    return [repr(float(v)) for v in values]


def _compact(number: str) -> str:
    return re.sub(r"e([+-])0*(\d)", lambda m: "e" + m.group(1).replace("+", "") + m.group(2), number)


def tick_values(labels: Sequence[str], width: float = PLOT_WIDTH) -> list[str]:
    """The bar labels to write under the axis: every k-th from the first, k as small as it can be
    without two of them overlapping.

    Labels are horizontal, each centred on its bar; bars share ``width`` evenly (an ordinal
    scale). Neighbours ``k`` bars apart are ``k * width / n`` apart, so ``k`` is the longest
    label's width (plus a gap) in bars, rounded up. A bar without a label still shows it on hover.
    """
    if not labels:
        return []
    slot = width / len(labels)
    longest = max(len(label) for label in labels) * TICK_CHAR_PX + TICK_GAP_PX
    return list(labels[:: max(1, math.ceil(longest / slot))])
