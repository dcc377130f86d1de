"""Searchspace: the Maggy API as written, validation messages, sampling, seeding."""

from __future__ import annotations

import copy
import json
import pickle
import random
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from maggy import Searchspace
from maggy._rng import as_generator
from maggy.searchspace import Parameter

# -- the spec's sample usage ---------------------------------------------------------------------


def test_spec_sample_usage() -> None:
    sp = Searchspace(kernel=("INTEGER", [2, 8]), pool=("INTEGER", [2, 8]))
    sp.add("dropout", ("DOUBLE", [0.01, 0.99]))
    assert sp.kernel == [2, 8]
    assert sp.dropout == [0.01, 0.99]
    assert sp.names() == {"kernel": "INTEGER", "pool": "INTEGER", "dropout": "DOUBLE"}
    sp_dict = sp.to_dict()
    assert sp_dict == {
        "kernel": ("INTEGER", [2, 8]),
        "pool": ("INTEGER", [2, 8]),
        "dropout": ("DOUBLE", [0.01, 0.99]),
    }
    sp_new = Searchspace(**sp_dict)
    assert sp_new == sp
    assert list(sp_new) == ["kernel", "pool", "dropout"]


def test_type_names_are_case_insensitive_and_stored_upper() -> None:
    sp = Searchspace(
        a=("double", [0, 1]), b=(" Integer ", [1, 3]), c=("Discrete", [1, 2]), d=("categorical", ["x"])
    )
    assert sp.names() == {"a": "DOUBLE", "b": "INTEGER", "c": "DISCRETE", "d": "CATEGORICAL"}
    assert Searchspace.DOUBLE == "DOUBLE" and Searchspace.CATEGORICAL == "CATEGORICAL"


def test_get_len_contains_iter() -> None:
    sp = Searchspace(lr=("DOUBLE", [0.001, 0.1]), act=("CATEGORICAL", ["relu", "tanh"]))
    assert sp.get("lr") == [0.001, 0.1]
    assert sp.get("missing") is None
    assert sp.get("missing", "dflt") == "dflt"
    assert len(sp) == 2
    assert "act" in sp and "missing" not in sp
    assert [name for name in sp] == ["lr", "act"]
    assert len(Searchspace()) == 0


def test_returned_regions_are_copies() -> None:
    sp = Searchspace(units=("DISCRETE", [32, 64]))
    sp.units.append(128)
    sp.get("units").append(256)
    sp.to_dict()["units"][1].append(512)
    assert sp.units == [32, 64]


def test_repr_evals_back() -> None:
    sp = Searchspace(
        kernel=("INTEGER", [2, 8]), act=("CATEGORICAL", ["relu", None, True]), lr=("DOUBLE", [1e-4, 0.1])
    )
    assert repr(sp) == (
        "Searchspace(kernel=('INTEGER', [2, 8]), act=('CATEGORICAL', ['relu', None, True]), lr=('DOUBLE', [0.0001, 0.1]))"
    )
    assert eval(repr(sp), {"Searchspace": Searchspace}) == sp


def test_equality_ignores_order_but_not_content() -> None:
    a = Searchspace(x=("DOUBLE", [0, 1]), y=("INTEGER", [1, 2]))
    assert a == Searchspace(y=("INTEGER", [1, 2]), x=("DOUBLE", [0.0, 1.0]))
    assert a != Searchspace(x=("DOUBLE", [0, 2]), y=("INTEGER", [1, 2]))
    assert a != Searchspace(x=("DOUBLE", [0, 1]))
    assert a != {"x": ("DOUBLE", [0, 1])}


def test_round_trip_through_json_and_pickle() -> None:
    sp = Searchspace(
        x=("DOUBLE", [0.5, 1.5]), n=("INTEGER", [1, 9]), c=("CATEGORICAL", ["a", 1, 2.5, False, None])
    )
    from_json = Searchspace(**json.loads(json.dumps(sp.to_dict())))  # tuples come back as lists
    assert from_json == sp
    assert pickle.loads(pickle.dumps(sp)) == sp
    clone = copy.deepcopy(sp)
    assert clone == sp and clone.x == [0.5, 1.5]


def test_numpy_inputs_are_normalised_to_python_types() -> None:
    sp = Searchspace(
        u=("DISCRETE", np.array([1, 2, 4])),
        v=("INTEGER", [np.int64(1), np.int32(5)]),
        w=("DOUBLE", [np.float32(0.5), 2]),
        f=("DISCRETE", [Fraction(1, 2), 3]),
    )
    assert sp.u == [1, 2, 4] and all(type(x) is int for x in sp.u)
    assert sp.v == [1, 5] and all(type(x) is int for x in sp.v)
    assert sp.w == [0.5, 2.0] and all(type(x) is float for x in sp.w)
    assert sp.f == [0.5, 3]
    json.dumps(sp.to_dict())


def test_attributes_cannot_be_assigned() -> None:
    sp = Searchspace(x=("DOUBLE", [0, 1]))
    with pytest.raises(AttributeError, match=r"sp.add\('x'"):
        sp.x = [0, 2]
    with pytest.raises(AttributeError, match="no parameter or attribute 'y'"):
        _ = sp.y
    assert sp.x == [0.0, 1.0]
    assert "x" in dir(sp)


def test_items_and_parameters_for_optimizers() -> None:
    sp = Searchspace(x=("DOUBLE", [0.1, 1], "LOG"), c=("CATEGORICAL", ["a"]))
    assert sp.items() == [
        {"name": "x", "type": "DOUBLE", "values": [0.1, 1.0], "scale": "log"},
        {"name": "c", "type": "CATEGORICAL", "values": ["a"], "scale": "linear"},
    ]
    assert sp.parameters() == [
        Parameter("x", "DOUBLE", (0.1, 1.0), "log"),
        Parameter("c", "CATEGORICAL", ("a",)),
    ]


# -- validation: every bad input names the parameter and the fix ----------------------------------

BAD_ADDS: list[tuple[str, Any, Any, str]] = [
    # (id, name, value, regex the message must match besides the name)
    ("reserved-method", "add", ("DOUBLE", [0, 1]), "reserved"),
    ("reserved-method-get", "get", ("DOUBLE", [0, 1]), "reserved"),
    ("reserved-method-names", "names", ("DOUBLE", [0, 1]), "reserved"),
    ("reserved-attribute", "DOUBLE", ("DOUBLE", [0, 1]), "reserved"),
    ("reserved-underscore", "_lr", ("DOUBLE", [0, 1]), "underscore"),
    ("reserved-dunder", "__class__", ("DOUBLE", [0, 1]), "underscore"),
    ("reserved-reporter", "reporter", ("DOUBLE", [0, 1]), "reserved"),
    ("not-identifier", "learning rate", ("DOUBLE", [0, 1]), "identifier"),
    ("not-identifier-digit", "1lr", ("DOUBLE", [0, 1]), "identifier"),
    ("keyword", "lambda", ("DOUBLE", [0, 1]), "keyword"),
    ("value-not-tuple", "lr", "DOUBLE", r"expected a tuple \(type, list\)"),
    ("value-too-short", "lr", ("DOUBLE",), r"expected a tuple \(type, list\)"),
    ("value-too-long", "lr", ("DOUBLE", [0, 1], "log", 3), r"expected a tuple \(type, list\)"),
    ("value-dict", "lr", {"DOUBLE": [0, 1]}, r"expected a tuple \(type, list\)"),
    ("unknown-type", "lr", ("FLOAT", [0, 1]), "unknown type 'FLOAT'.*DOUBLE, INTEGER, DISCRETE, CATEGORICAL"),
    ("type-not-str", "lr", (float, [0, 1]), "unknown type"),
    ("region-not-list", "lr", ("DOUBLE", "0-1"), "must be a list"),
    ("region-set", "lr", ("CATEGORICAL", {"a", "b"}), "must be a list"),
    ("double-one-bound", "lr", ("DOUBLE", [0.1]), "exactly two numbers"),
    ("double-three-bounds", "lr", ("DOUBLE", [0.1, 0.2, 0.3]), "exactly two numbers"),
    ("double-str-bound", "lr", ("DOUBLE", ["0", 1]), "exactly two numbers"),
    ("double-bool-bound", "lr", ("DOUBLE", [False, True]), "exactly two numbers"),
    ("double-none-bound", "lr", ("DOUBLE", [None, 1]), "exactly two numbers"),
    ("double-inf", "lr", ("DOUBLE", [0, float("inf")]), "finite"),
    (
        "double-width-overflows",
        "lr",
        ("DOUBLE", [-1e308, 1e308]),
        "too wide, upper - lower overflows a float",
    ),
    ("double-width-overflows-max", "lr", ("DOUBLE", [-1.7e308, 1.7e308]), "too wide"),
    ("double-lower-eq-upper", "lr", ("DOUBLE", [0.1, 0.1]), "less than upper bound"),
    ("double-lower-gt-upper", "lr", ("DOUBLE", [1, 0]), "less than upper bound.*swap"),
    ("integer-lower-gt-upper", "n", ("INTEGER", [8, 2]), "less than upper bound"),
    ("integer-float-bounds", "n", ("INTEGER", [2.0, 8]), "INTEGER bounds must be ints"),
    ("integer-one-bound", "n", ("INTEGER", [2]), "exactly two numbers"),
    ("integer-beyond-int64", "n", ("INTEGER", [0, 2**70]), r"within \+-2\*\*63"),
    ("discrete-empty", "units", ("DISCRETE", []), "at least one value"),
    ("categorical-empty", "act", ("CATEGORICAL", []), "at least one value"),
    ("discrete-duplicate", "units", ("DISCRETE", [32, 64, 32]), "more than once"),
    ("discrete-duplicate-int-float", "units", ("DISCRETE", [2, 2.0]), "more than once"),
    ("categorical-duplicate", "act", ("CATEGORICAL", ["relu", "tanh", "relu"]), "more than once"),
    ("discrete-str", "units", ("DISCRETE", [32, "64"]), "DISCRETE values must be numbers.*CATEGORICAL"),
    ("discrete-bool", "units", ("DISCRETE", [True, 2]), "DISCRETE values must be numbers"),
    ("discrete-nan", "units", ("DISCRETE", [1.0, float("nan")]), "finite"),
    ("categorical-object", "act", ("CATEGORICAL", ["relu", ["a"]]), "str, int, float, bool or None"),
    ("scale-unknown", "lr", ("DOUBLE", [0.1, 1], "ln"), "unknown scale 'ln'.*linear, log"),
    ("scale-on-categorical", "act", ("CATEGORICAL", ["a"], "log"), "only to DOUBLE and INTEGER"),
    ("scale-log-nonpositive", "lr", ("DOUBLE", [0, 1], "log"), r"log scale needs lower bound > 0"),
    ("scale-log-integer-zero", "n", ("INTEGER", [0, 8], "log"), r"log scale needs lower bound > 0"),
]


@pytest.mark.parametrize(
    ("name", "value", "pattern"), [c[1:] for c in BAD_ADDS], ids=[c[0] for c in BAD_ADDS]
)
def test_bad_input_raises_value_error_naming_the_parameter(name: str, value: Any, pattern: str) -> None:
    sp = Searchspace()
    with pytest.raises(ValueError, match=pattern) as info:
        sp.add(name, value)
    assert repr(name) in str(info.value)
    assert len(sp) == 0  # a failed add leaves the space unchanged
    with pytest.raises(ValueError, match=pattern):  # and the constructor reports the same
        Searchspace(**{name: value})


def test_duplicate_name_is_rejected() -> None:
    sp = Searchspace(lr=("DOUBLE", [0, 1]))
    with pytest.raises(ValueError, match="'lr': already in the search space") as info:
        sp.add("lr", ("DOUBLE", [0, 2]))
    assert "different name" in str(info.value)
    assert sp.lr == [0.0, 1.0]


def test_non_string_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="must be a str"):
        Searchspace().add(3, ("DOUBLE", [0, 1]))


@pytest.mark.parametrize("num", [1.0, "3", None, -1, True])
def test_num_must_be_a_non_negative_int(num: Any) -> None:
    with pytest.raises(ValueError, match="num must be a non-negative int"):
        Searchspace(x=("DOUBLE", [0, 1])).get_random_parameter_values(num)


def test_lists_are_accepted_as_values() -> None:
    sp = Searchspace(lr=["DOUBLE", (0.01, 0.1)])
    assert sp.to_dict() == {"lr": ("DOUBLE", [0.01, 0.1])}


# -- sampling ----------------------------------------------------------------------------------

ALL_TYPES = Searchspace(
    x=("DOUBLE", [-1.0, 1.0]),
    n=("INTEGER", [2, 4]),
    d=("DISCRETE", [0.5, 8]),
    c=("CATEGORICAL", ["relu", None, False]),
)


def test_samples_are_in_range_and_plain_python() -> None:
    samples = ALL_TYPES.get_random_parameter_values(500, rng=0)
    assert len(samples) == 500
    for s in samples:
        assert list(s) == ["x", "n", "d", "c"]
        assert type(s["x"]) is float and -1.0 <= s["x"] <= 1.0
        assert type(s["n"]) is int and 2 <= s["n"] <= 4
        assert s["d"] in (0.5, 8) and type(s["d"]) in (float, int)
        assert s["c"] in ("relu", None, False)
    json.dumps(samples)  # no numpy scalars
    # Uniform over the inclusive range and the choices: every value shows up.
    assert {s["n"] for s in samples} == {2, 3, 4}
    assert {s["d"] for s in samples} == {0.5, 8}
    assert [s["c"] for s in samples].count(False) > 100


def test_zero_samples_and_empty_space() -> None:
    assert ALL_TYPES.get_random_parameter_values(0) == []
    assert Searchspace().get_random_parameter_values(2, rng=1) == [{}, {}]


def test_same_seed_same_samples_for_every_rng_kind() -> None:
    assert ALL_TYPES.get_random_parameter_values(20, rng=7) == ALL_TYPES.get_random_parameter_values(
        20, rng=7
    )
    assert ALL_TYPES.get_random_parameter_values(20, rng=7) != ALL_TYPES.get_random_parameter_values(
        20, rng=8
    )
    assert ALL_TYPES.get_random_parameter_values(
        5, random.Random(3)
    ) == ALL_TYPES.get_random_parameter_values(5, random.Random(3))
    a = ALL_TYPES.get_random_parameter_values(5, np.random.default_rng(3))
    assert a == ALL_TYPES.get_random_parameter_values(5, np.random.default_rng(3))
    unseeded = ALL_TYPES.get_random_parameter_values(3)
    assert len(unseeded) == 3


def test_a_generator_is_advanced_not_copied() -> None:
    gen = np.random.default_rng(11)
    first = ALL_TYPES.get_random_parameter_values(3, gen)
    second = ALL_TYPES.get_random_parameter_values(3, gen)
    assert first != second
    assert ALL_TYPES.get_random_parameter_values(6, 11) == first + second


def test_log_scale_sampling_stays_in_bounds_and_spreads_over_decades() -> None:
    sp = Searchspace(lr=("DOUBLE", [1e-5, 1e-1], "log"), n=("INTEGER", [1, 1000], "log"))
    samples = sp.get_random_parameter_values(2000, rng=0)
    lrs = [s["lr"] for s in samples]
    ns = [s["n"] for s in samples]
    assert all(1e-5 <= v <= 1e-1 for v in lrs) and all(type(v) is float for v in lrs)
    assert all(1 <= v <= 1000 for v in ns) and all(type(v) is int for v in ns)
    # Log-uniform: about a quarter of the draws fall in each decade of [1e-5, 1e-1].
    below_1e4 = sum(v < 1e-4 for v in lrs) / len(lrs)
    assert 0.2 < below_1e4 < 0.3
    assert sum(v <= 10 for v in ns) / len(ns) > 0.25  # linear would give ~1%
    assert sp.to_dict() == {"lr": ("DOUBLE", [1e-5, 1e-1], "log"), "n": ("INTEGER", [1, 1000], "log")}
    assert Searchspace(**sp.to_dict()) == sp
    assert sp != Searchspace(lr=("DOUBLE", [1e-5, 1e-1]), n=("INTEGER", [1, 1000], "log"))
    assert Searchspace(lr=("DOUBLE", [1e-5, 1e-1], "linear")).to_dict() == {"lr": ("DOUBLE", [1e-5, 1e-1])}


# -- as_generator -------------------------------------------------------------------------------


def test_as_generator_kinds() -> None:
    gen = np.random.default_rng(0)
    assert as_generator(gen) is gen
    assert as_generator(5).integers(1 << 30) == np.random.default_rng(5).integers(1 << 30)
    assert as_generator(np.int64(5)).integers(1 << 30) == np.random.default_rng(5).integers(1 << 30)
    assert as_generator(random.Random(1)).integers(1 << 30) == as_generator(random.Random(1)).integers(
        1 << 30
    )
    assert as_generator(np.random.SeedSequence(4)).integers(1 << 30) == np.random.default_rng(4).integers(
        1 << 30
    )
    assert isinstance(as_generator(None), np.random.Generator)


@pytest.mark.parametrize(
    ("seed", "exc"), [(True, TypeError), ("1", TypeError), (1.5, TypeError), (-1, ValueError)]
)
def test_as_generator_rejects_bad_seeds(seed: Any, exc: type[Exception]) -> None:
    with pytest.raises(exc, match="seed"):
        as_generator(seed)


def test_the_widest_ranges_accepted_sample_in_bounds_for_every_optimizer() -> None:
    """What Searchspace accepts, every built-in optimizer can sample: values in range, plain
    Python, finite (the wire carries them). Issue 12: a width overflowing a float gave NaN/inf."""
    import json

    from maggy.optimizer import FINISHED, WAIT, Suggestion, get_optimizer
    from maggy.trial import Trial, TrialState

    spaces = [
        Searchspace(n=("INTEGER", [-(2**63), 2**63 - 1])),
        Searchspace(n=("INTEGER", [1, 2**63 - 1], "log")),
        Searchspace(x=("DOUBLE", [-8e307, 8e307])),
        Searchspace(x=("DOUBLE", [5e-324, 1.7e308], "log")),
        Searchspace(x=("DOUBLE", [0.0, 5e-324])),
    ]
    for sp in spaces:
        (param,) = sp.parameters()
        lo, hi = param.values
        for name in ("randomsearch", "tpe", "gp", "asha", "hyperband"):
            opt = get_optimizer(name)
            opt.setup(sp, 15, "max", np.random.default_rng(0))
            for i in range(15):
                s = opt.suggest()
                if s is WAIT or s is FINISHED:
                    break
                params = s.params if isinstance(s, Suggestion) else s
                value = params[param.name]
                assert lo <= value <= hi and type(value) is (int if param.type == "INTEGER" else float)
                json.dumps(params, allow_nan=False)
                budget = s.budget if isinstance(s, Suggestion) else None
                opt.on_trial_finished(
                    Trial(i, params, state=TrialState.FINISHED, metric=float(i % 4), budget=budget)
                )
