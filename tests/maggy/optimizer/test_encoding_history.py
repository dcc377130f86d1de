"""The shared helpers of the model-based optimizers: Encoder, config_key, Pending, Observations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from maggy import Searchspace
from maggy.optimizer._encoding import Encoder, config_key
from maggy.optimizer._history import Observations, Pending, draw_new, space_size
from maggy.trial import Trial, TrialState

MIXED = Searchspace(
    lr=("DOUBLE", [1e-5, 1e-1], "log"),
    units=("INTEGER", [1, 1000], "log"),
    drop=("DOUBLE", [0.0, 0.5]),
    layers=("INTEGER", [1, 4]),
    batch=("DISCRETE", [128, 16, 64, 32]),
    act=("CATEGORICAL", ["relu", True, 1, "1", None]),
)


def test_round_trip_of_every_type() -> None:
    enc = Encoder(MIXED)
    configs = MIXED.get_random_parameter_values(200, rng=1)
    u, cats = enc.encode(configs)
    assert u.shape == (200, 5) and cats.shape == (200, 1)
    assert ((u >= 0) & (u <= 1)).all()
    for i, c in enumerate(configs):
        back = enc.decode(u[i], cats[i])
        assert list(back) == list(c)  # search-space order
        assert back["lr"] == pytest.approx(c["lr"], rel=1e-9) and type(back["lr"]) is float
        assert {k: back[k] for k in ("units", "layers", "batch")} == {
            k: c[k] for k in ("units", "layers", "batch")
        }
        assert type(back["units"]) is int
        assert type(back["act"]) is type(c["act"]) and back["act"] == c["act"]  # True, 1 and '1' stay apart


def test_log_scale_is_linear_in_log_space_and_discrete_is_by_rank() -> None:
    enc = Encoder(Searchspace(lr=("DOUBLE", [1e-4, 1.0], "log"), batch=("DISCRETE", [16, 32, 64, 128])))
    u, _ = enc.encode([{"lr": 1e-2, "batch": 32}, {"lr": 1e-4, "batch": 128}])
    assert u[0, 0] == pytest.approx(0.5) and u[1, 0] == pytest.approx(0.0)
    assert u[0, 1] == pytest.approx(1.5 / 4) and u[1, 1] == pytest.approx(3.5 / 4)
    assert enc.decode(np.array([1.0, 0.0]), np.array([], dtype=int)) == {"lr": 1.0, "batch": 16}


def test_decoding_snaps_any_point_to_a_valid_value() -> None:
    enc = Encoder(MIXED)
    rng = np.random.default_rng(0)
    for _ in range(200):
        c = enc.decode(rng.uniform(-0.2, 1.2, 5), np.array([rng.integers(5)]))
        assert 1e-5 <= c["lr"] <= 1e-1 and 1 <= c["units"] <= 1000 and 1 <= c["layers"] <= 4
        assert c["batch"] in (16, 32, 64, 128)


def test_integer_cells_have_equal_width() -> None:
    enc = Encoder(Searchspace(k=("INTEGER", [0, 3])))
    grid = np.linspace(0, 1, 4001)
    counts = np.bincount([enc.decode(np.array([g]), np.array([], dtype=int))["k"] for g in grid])
    assert counts.min() >= 990 and counts.max() <= 1010


def test_config_key_is_canonical_and_type_aware() -> None:
    assert config_key({"a": 1, "b": "x"}) == config_key({"b": "x", "a": 1})
    assert len({config_key({"a": v}) for v in (True, 1, "1", None)}) == 4


def test_pending_is_a_multiset_matched_by_value() -> None:
    pending = Pending()
    pending.add({"x": 1}, tag="first", extra=3)
    pending.add({"x": 1}, tag="second", extra=3)
    pending.add({"x": 1}, tag="other budget", extra=9)
    assert len(pending) == 3
    assert pending.pop({"x": 1}, extra=3) == "first"
    assert pending.pop({"x": 2}, extra=3) is None
    assert pending.configs() == [{"x": 1}, {"x": 1}]
    assert pending.pop({"x": 1}, extra=9) == "other budget"
    assert len(pending) == 1


def trial(tid: int, x: float, metric: float | None, state: TrialState = TrialState.FINISHED) -> Trial:
    return Trial(tid, {"x": x}, state=state, metric=metric)


def test_observations_keep_finished_floor_early_stopped_and_drop_the_rest() -> None:
    enc = Encoder(Searchspace(x=("DOUBLE", [0.0, 1.0])))
    obs = Observations(enc, "max")
    for t in [
        trial(0, 0.1, 1.0),
        trial(1, 0.2, 3.0),
        trial(2, 0.3, 9.0, TrialState.EARLY_STOPPED),  # partial 9 would be the best: floored to median
        trial(3, 0.4, 0.5, TrialState.EARLY_STOPPED),  # already worse than the median: as is
        trial(4, 0.5, 99.0, TrialState.STOPPED),
        trial(5, 0.6, None, TrialState.ERROR),
        trial(6, 0.7, math.nan),
        trial(7, 0.8, 5.0, TrialState.LOST),
        Trial(8, {"y": 1}, state=TrialState.FINISHED, metric=1.0),  # not this search space
    ]:
        obs.add(t)
    assert len(obs) == 4
    assert obs.losses().tolist() == [-1.0, -3.0, -2.0, -0.5]  # loss = -metric for 'max'
    u, cats = obs.rows([1, 2])
    assert u[:, 0].tolist() == pytest.approx([0.2, 0.3]) and cats.shape == (2, 0)


def test_observations_direction_min_and_only_early_stopped() -> None:
    obs = Observations(Encoder(Searchspace(x=("DOUBLE", [0.0, 1.0]))), "min")
    obs.add(trial(0, 0.1, 2.0, TrialState.EARLY_STOPPED))
    assert obs.losses().tolist() == [2.0]


def test_draw_new_avoids_seen_configurations_and_space_size() -> None:
    space = Searchspace(k=("DISCRETE", [1, 2, 3]), c=("CATEGORICAL", ["a", "b"]))
    assert space_size(space) == 6 and space_size(MIXED) is None
    rng = np.random.default_rng(0)
    seen: set[str] = set()
    for _ in range(6):
        seen.add(config_key(draw_new(space, rng, seen)))
    assert len(seen) == 6


def test_snap_is_decode_then_encode_and_cells_decode_to_one_value() -> None:
    enc = Encoder(MIXED)
    u = np.random.default_rng(3).random((300, 5))
    snapped = enc.snap(u)
    cats = np.zeros((300, 1), dtype=int)
    again = np.vstack([enc.encode([enc.decode(r, c)])[0] for r, c in zip(u, cats, strict=True)])
    assert np.abs(snapped - again).max() < 1e-12
    low, high = enc.cells(u)
    assert (low[:, [0, 2]] == high[:, [0, 2]]).all()  # DOUBLEs: a point
    assert (high[:, [1, 3, 4]] > low[:, [1, 3, 4]]).all()  # INTEGER, DISCRETE: a cell
    inside = low + 0.999 * (high - low)
    for i in range(0, 300, 30):
        assert enc.decode(inside[i], cats[i]) == enc.decode(snapped[i], cats[i])
