"""The builder's pure helpers: row inputs -> Searchspace value, code preview, sample histogram."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from maggy import Searchspace
from maggy_jupyter.builder.preview import (
    PLOT_WIDTH,
    SAMPLES,
    TICK_CHAR_PX,
    TICK_GAP_PX,
    row_value,
    sample_counts,
    searchspace_code,
    tick_values,
    values_text,
)


@pytest.mark.parametrize(
    ("kind", "text", "log", "value"),
    [
        ("DOUBLE", "0, 1", False, ("DOUBLE", [0, 1])),
        ("DOUBLE", "[1e-5, 0.1]", True, ("DOUBLE", [1e-5, 0.1], "log")),
        ("INTEGER", "8, 512", True, ("INTEGER", [8, 512], "log")),
        ("CATEGORICAL", "relu, 'leaky relu'", True, ("CATEGORICAL", ["relu", "leaky relu"])),  # log ignored
        ("DISCRETE", "", False, ("DISCRETE", [])),
    ],
)
def test_row_value(kind, text, log, value):
    assert row_value(kind, text, log) == value


def test_row_value_rejects_text_that_does_not_parse():
    with pytest.raises(ValueError, match="unclosed quote"):
        row_value("CATEGORICAL", "'a, b", False)


def test_values_text_reads_back_to_the_same_region():
    space = Searchspace(c=("CATEGORICAL", ["a b", "x,y", 3, "3", None]), d=("DOUBLE", [1e-5, 0.5]))
    for param in space.parameters():
        assert row_value(param.type, values_text(param), False)[1] == param.region


def test_searchspace_code_is_python_that_rebuilds_the_space():
    space = Searchspace(
        x=("DOUBLE", [0.0, 1.0]), lr=("DOUBLE", [1e-5, 0.1], "log"), act=("CATEGORICAL", ["relu", "tanh"])
    )
    code = searchspace_code(space)
    assert code == (
        "Searchspace(\n"
        "    x=('DOUBLE', [0.0, 1.0]),\n"
        "    lr=('DOUBLE', [1e-05, 0.1], 'log'),\n"
        "    act=('CATEGORICAL', ['relu', 'tanh']),\n"
        ")"
    )
    assert eval(code, {"Searchspace": Searchspace}) == space
    assert searchspace_code(space, "sp").startswith("sp = Searchspace(\n")
    assert searchspace_code(Searchspace(), "sp") == "sp = Searchspace()"


def test_sample_counts_of_a_double_are_equal_bins_summing_to_the_samples():
    (param,) = Searchspace(x=("DOUBLE", [0, 1])).parameters()
    labels, counts = sample_counts(param)
    assert len(labels) == len(counts) == 12 and sum(counts) == SAMPLES
    assert [float(v) for v in labels] == sorted(float(v) for v in labels)
    assert min(counts) > 0  # uniform: no empty bin among 12 with 200 samples (seeded)
    assert sample_counts(param) == (labels, counts)  # fixed seed: the picture does not flicker


def test_sample_counts_of_a_log_double_are_flat_in_log_space():
    (param,) = Searchspace(lr=("DOUBLE", [1e-5, 1e-1], "log")).parameters()
    labels, counts = sample_counts(param)
    steps = np.diff(np.log10([float(v) for v in labels]))
    assert steps == pytest.approx(np.full(11, 4 / 12), rel=0.01)  # equal bins in log space
    assert sum(counts) == SAMPLES and max(counts) < 3 * min(counts)


def test_sample_counts_of_finite_parameters_have_a_bar_per_value():
    (small,) = Searchspace(k=("INTEGER", [2, 5])).parameters()
    labels, counts = sample_counts(small)
    assert labels == ["2", "3", "4", "5"] and sum(counts) == SAMPLES
    (cat,) = Searchspace(c=("CATEGORICAL", [True, 1, "1"])).parameters()
    labels, counts = sample_counts(cat, n=300)
    assert labels == ["True", "1", "'1'"] and sum(counts) == 300 and all(c > 50 for c in counts)
    (wide,) = Searchspace(n=("INTEGER", [1, 1000])).parameters()
    assert len(sample_counts(wide)[0]) == 12


def test_number_labels_are_compact():
    (param,) = Searchspace(lr=("DOUBLE", [1e-5, 1e-1], "log")).parameters()
    labels, _ = sample_counts(param)
    assert labels[0] == "1.47e-5" and not any("e-0" in label or "e+" in label for label in labels)
    (big,) = Searchspace(n=("DOUBLE", [0, 1e6])).parameters()
    assert sample_counts(big)[0][:2] == ["4.17e4", "1.25e5"]


def _overlaps(labels, shown, width=PLOT_WIDTH):
    """Pairs of neighbouring shown labels whose text (centred on its bar) would touch."""
    slot = width / len(labels)
    at = [labels.index(label) for label in shown]
    return [
        (labels[a], labels[b])
        for a, b in itertools.pairwise(at)
        if (b - a) * slot < (len(labels[a]) + len(labels[b])) / 2 * TICK_CHAR_PX + TICK_GAP_PX
    ]


SPACES = [
    Searchspace(x=("DOUBLE", [0, 1])),
    Searchspace(x=("DOUBLE", [1e-5, 1e-1], "log")),
    Searchspace(x=("DOUBLE", [-1234.5, 98765.4])),
    Searchspace(x=("INTEGER", [1, 24])),
    Searchspace(x=("DISCRETE", [16, 32, 64, 128, 256, 512, 1024, 2048])),
    Searchspace(x=("CATEGORICAL", ["relu", "leaky relu", "gelu", "sigmoid", "tanh", "swish", "elu"])),
    Searchspace(x=("CATEGORICAL", ["a", "b"])),
]


@pytest.mark.parametrize("space", SPACES, ids=repr)
def test_tick_labels_never_overlap_and_are_as_many_as_fit(space):
    # Before: every bar labelled, rotated -30 degrees: '1.47e-05', '2.15e-05', ... ran into each other.
    (param,) = space.parameters()
    labels, _ = sample_counts(param)
    shown = tick_values(labels)
    assert shown[0] == labels[0] and set(shown) <= set(labels)
    assert _overlaps(labels, shown) == []
    step = labels.index(shown[1]) if len(shown) > 1 else len(labels)
    assert shown == labels[::step]  # evenly spaced
    if step > 1:  # one step less would overlap: as many labels as fit
        assert _overlaps(labels, labels[:: step - 1]) != []


def test_tick_values_of_few_short_labels_are_all_of_them():
    assert tick_values(["2", "3", "4", "5"]) == ["2", "3", "4", "5"]
    assert tick_values([]) == []
