"""The conformance suite of the :class:`~maggy.store.ExperimentStore` contract, for any backend.

maggy runs it against its own SQLite store; a third-party store runs it by importing it into a
test module and providing one fixture, ``store_factory``: a zero-argument callable that opens
(a new object on) the same fresh, empty store each time it is called. It must be picklable (a
``functools.partial`` of a module-level class or function), since two tests call it in spawned
processes to check the contract's multi-process promises::

    import functools

    import pytest

    from maggy.testing.store_conformance import *  # noqa: F403 -- the suite's tests and fixtures


    @pytest.fixture
    def store_factory(tmp_path):
        return functools.partial(MyStore, tmp_path / "experiments")

A backend is done when every test passes. Imports pytest (and numpy, a maggy dependency): import
this module from tests only.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from maggy.store import (
    ExperimentNotFound,
    ExperimentRecord,
    ExperimentStatus,
    ExperimentStore,
    StoreError,
    new_experiment_id,
)
from maggy.trial import Trial, TrialState

#: What the ``store_factory`` fixture returns: opens the test's store (see the module docstring).
StoreFactory = Callable[[], ExperimentStore]


@pytest.fixture
def store(store_factory: StoreFactory) -> Iterator[ExperimentStore]:
    """The test's store, open; closed after the test."""
    s = store_factory()
    yield s
    s.close()


def make_record(experiment_id: str | None = None, *, start: float = 1000.0, **kw: Any) -> ExperimentRecord:
    fields: dict[str, Any] = {
        "experiment_id": experiment_id or new_experiment_id(),
        "name": "mnist",
        "description": "a test experiment",
        "experiment_type": "optimization",
        "searchspace": {"lr": ["DOUBLE", [0.001, 0.1]], "units": ["DISCRETE", [32, 64]]},
        "optimizer": "randomsearch",
        "direction": "max",
        "num_trials": 4,
        "config": {"hb_interval": 1, "es_policy": "median", "nested": {"a": [1, 2.5, None]}},
        "status": ExperimentStatus.RUNNING.value,
        "start": start,
    }
    fields.update(kw)
    return ExperimentRecord.from_dict(fields)


def full_trial(trial_id: int = 3) -> Trial:
    """A trial with every field set away from its default."""
    return Trial(
        trial_id=trial_id,
        params={"lr": 0.01, "units": 64, "act": "relu", "bn": True, "drop": False, "zero": 0},
        state=TrialState.ERROR,
        metric=0.875,
        history=[[0, 0.5], [1, 0.75], [2.5, 0.875]],
        logs=["epoch 0", "epoch 1 done"],
        error='Traceback (most recent call last):\n  File "x.py", line 1\nValueError: boom\n',
        worker="worker-1@host",
        start=1000.25,
        end=1010.5,
        retry_of=1,
        budget=9.0,
        info={"gpu": [0, 1], "note": "retried"},
    )


# -- experiments -----------------------------------------------------------------------------


def test_create_and_get_round_trips_every_field(store: ExperimentStore) -> None:
    rec = make_record(result={"best": 1.0})
    rec.end = 1234.5
    store.create_experiment(rec)
    assert store.get_experiment(rec.experiment_id) == rec
    assert all(getattr(rec, f.name) != f.default for f in dataclasses.fields(rec))  # nothing left default


def test_searchspace_and_result_may_be_none(store: ExperimentStore) -> None:
    rec = make_record(searchspace=None, experiment_type="ablation")
    store.create_experiment(rec)
    got = store.get_experiment(rec.experiment_id)
    assert got.searchspace is None and got.result is None and got.end is None


def test_create_duplicate_id_raises(store: ExperimentStore) -> None:
    rec = make_record()
    store.create_experiment(rec)
    with pytest.raises(ValueError, match="already exists"):
        store.create_experiment(make_record(rec.experiment_id, name="other"))
    assert store.get_experiment(rec.experiment_id).name == "mnist"


def test_finish_experiment(store: ExperimentStore) -> None:
    rec = make_record()
    store.create_experiment(rec)
    store.finish_experiment(
        rec.experiment_id, ExperimentStatus.STOPPED, 2000.0, {"best_val": 0.9, "best_hp": {"lr": 0.1}}
    )
    got = store.get_experiment(rec.experiment_id)
    assert (got.status, got.end, got.result) == ("STOPPED", 2000.0, {"best_val": 0.9, "best_hp": {"lr": 0.1}})
    store.finish_experiment(rec.experiment_id, "FAILED", 2001.0, None)  # plain strings work too
    assert store.get_experiment(rec.experiment_id).status == ExperimentStatus.FAILED


def test_finish_experiment_rejects_unknown_id_and_non_final_status(store: ExperimentStore) -> None:
    rec = make_record()
    store.create_experiment(rec)
    with pytest.raises(KeyError):
        store.finish_experiment("nope", ExperimentStatus.FINISHED, 1.0, None)
    with pytest.raises(ValueError):
        store.finish_experiment(rec.experiment_id, ExperimentStatus.RUNNING, 1.0, None)
    with pytest.raises(ValueError):
        store.finish_experiment(rec.experiment_id, "DONE", 1.0, None)
    assert store.get_experiment(rec.experiment_id).status == "RUNNING"


def test_resume_experiment_sets_it_running_with_the_new_plan(store: ExperimentStore) -> None:
    rec = make_record()
    store.create_experiment(rec)
    store.save_trial(rec.experiment_id, full_trial(0))
    store.finish_experiment(rec.experiment_id, ExperimentStatus.FAILED, 2000.0, {"best_val": 0.9})
    again = make_record(
        rec.experiment_id,
        start=rec.start,
        name="mnist, wider",
        searchspace={"lr": ["DOUBLE", [0.0001, 0.5]]},
        optimizer="TPE",
        num_trials=10,
        config={"hb_interval": 2},
    )
    store.resume_experiment(again)
    got = store.get_experiment(rec.experiment_id)
    assert (got.status, got.end, got.result) == ("RUNNING", None, None)
    assert (got.name, got.searchspace, got.optimizer, got.num_trials, got.config) == (
        "mnist, wider",
        {"lr": ["DOUBLE", [0.0001, 0.5]]},
        "TPE",
        10,
        {"hb_interval": 2},
    )
    assert got.start == rec.start
    assert [t.trial_id for t in store.get_trials(rec.experiment_id)] == [0]  # trials are kept


def test_resume_experiment_refuses_a_running_or_unknown_one(store: ExperimentStore) -> None:
    rec = make_record()
    store.create_experiment(rec)  # RUNNING
    with pytest.raises(ValueError, match="running"):
        store.resume_experiment(make_record(rec.experiment_id, name="other"))
    assert store.get_experiment(rec.experiment_id).name == rec.name  # unchanged
    with pytest.raises(KeyError):
        store.resume_experiment(make_record("nope"))


def test_get_histories_bounded_in_order_without_logs(store: ExperimentStore) -> None:
    rec = make_record()
    store.create_experiment(rec)
    eid = rec.experiment_id
    store.save_trial(eid, Trial(0, {}, history=[[0, 0.0], [1, 1.0]]))
    store.save_trial_progress(eid, Trial(0, {}), [[s, float(s)] for s in range(2, 5000)], ["a log line"])
    store.save_trial(eid, Trial(1, {}, history=[[0, 7.0]]))
    store.save_trial(eid, Trial(2, {}))  # no points: left out
    histories = store.get_histories(eid, limit=100)
    assert sorted(histories) == [0, 1]
    assert histories[1] == [[0, 7.0]]
    long = histories[0]
    assert len(long) <= 100 and long[0] == [0, 0.0] and long[-1] == [4999, 4999.0]
    steps = [p[0] for p in long]
    assert (
        steps == sorted(steps) and max(b - a for a, b in zip(steps, steps[1:], strict=False)) < 400
    )  # spread
    with pytest.raises(KeyError):
        store.get_histories("nope")


def test_list_experiments_newest_first_with_limit(store: ExperimentStore) -> None:
    assert store.list_experiments() == []
    starts = [30.0, 10.0, 50.0, 20.0, 40.0]
    for s in starts:
        store.create_experiment(make_record(start=s))
    assert [r.start for r in store.list_experiments()] == sorted(starts, reverse=True)
    assert [r.start for r in store.list_experiments(limit=2)] == [50.0, 40.0]
    assert store.list_experiments(limit=0) == []
    assert len(store.list_experiments(limit=100)) == 5


# -- id lookup -------------------------------------------------------------------------------


def test_get_experiment_by_unique_prefix(store: ExperimentStore) -> None:
    store.create_experiment(make_record("20260101-000000-aaaa11"))
    store.create_experiment(make_record("20260101-000000-aabb22"))
    store.create_experiment(make_record("20260102-000000-cccc33"))
    assert store.get_experiment("20260102").experiment_id == "20260102-000000-cccc33"
    assert store.get_experiment("20260101-000000-aab").experiment_id == "20260101-000000-aabb22"
    assert store.get_experiment(" 20260102 ").experiment_id == "20260102-000000-cccc33"  # pasted whitespace


def test_exact_id_wins_over_prefix(store: ExperimentStore) -> None:
    store.create_experiment(make_record("abc"))
    store.create_experiment(make_record("abcd"))
    assert store.get_experiment("abc").experiment_id == "abc"


def test_ambiguous_prefix_lists_candidates(store: ExperimentStore) -> None:
    store.create_experiment(make_record("20260101-000000-aaaa11"))
    store.create_experiment(make_record("20260101-000000-aabb22"))
    with pytest.raises(KeyError) as info:
        store.get_experiment("20260101")
    message = str(info.value)
    assert "20260101-000000-aaaa11" in message and "20260101-000000-aabb22" in message
    assert "several" in message and not message.startswith("'")


def test_unknown_id_says_what_to_do(store: ExperimentStore) -> None:
    store.create_experiment(make_record("20260101-000000-aaaa11", name="mnist"))
    with pytest.raises(ExperimentNotFound, match="maggy experiments list"):
        store.get_experiment("zzz")
    with pytest.raises(KeyError, match="did you mean 20260101-000000-aaaa11"):
        store.get_experiment("20260101-000000-aaaa12")  # a typo
    with pytest.raises(KeyError, match="experiments named 'mnist': 20260101-000000-aaaa11"):
        store.get_experiment("mnist")  # a name, not an id
    with pytest.raises(KeyError):
        store.get_experiment("")


# -- trials ----------------------------------------------------------------------------------


def test_trial_round_trips_every_field(store: ExperimentStore) -> None:
    rec = make_record()
    store.create_experiment(rec)
    trial = full_trial()
    default = Trial(trial_id=0, params={})
    # Guards the test itself: a new Trial field must be given a non-default value above.
    assert all(getattr(trial, f.name) != getattr(default, f.name) for f in dataclasses.fields(Trial))
    store.save_trial(rec.experiment_id, trial)
    (got,) = store.get_trials(rec.experiment_id)
    assert got == trial
    assert got.to_dict() == trial.to_dict()
    assert isinstance(got.state, TrialState)


def test_param_types_are_preserved(store: ExperimentStore) -> None:
    rec = make_record()
    store.create_experiment(rec)
    store.save_trial(rec.experiment_id, full_trial())
    params = store.get_trials(rec.experiment_id)[0].params
    assert [type(params[k]) for k in ("lr", "units", "act", "bn", "drop", "zero")] == [
        float,
        int,
        str,
        bool,
        bool,
        int,
    ]


def test_numpy_values_are_stored_as_python(store: ExperimentStore) -> None:
    npy: Any = np  # numpy scalars where the annotations say int/float: what optimizers really pass
    rec = make_record(num_trials=npy.int64(4))
    store.create_experiment(rec)
    trial = Trial(
        trial_id=npy.int64(0),
        params={"lr": npy.float32(0.5), "units": npy.int64(8), "flag": npy.bool_(True), "v": npy.arange(2)},
        metric=npy.float64(0.25),
        history=[[npy.int64(1), npy.float32(0.5)]],
    )
    store.save_trial(rec.experiment_id, trial)
    (got,) = store.get_trials(rec.experiment_id)
    assert got.params == {"lr": 0.5, "units": 8, "flag": True, "v": [0, 1]}
    assert type(got.params["units"]) is int and type(got.params["flag"]) is bool
    assert (got.trial_id, got.metric, got.history) == (0, 0.25, [[1, 0.5]])
    assert store.get_experiment(rec.experiment_id).num_trials == 4


def test_non_json_values_are_kept_as_repr(store: ExperimentStore) -> None:
    rec = make_record(config={"fn": object})
    store.create_experiment(rec)
    store.save_trial(rec.experiment_id, Trial(trial_id=0, params={}, info={"obj": object, "tags": {"b"}}))
    assert store.get_experiment(rec.experiment_id).config == {"fn": repr(object)}
    assert store.get_trials(rec.experiment_id)[0].info == {"obj": repr(object), "tags": ["b"]}


def test_non_finite_values(store: ExperimentStore) -> None:
    rec = make_record()
    store.create_experiment(rec)
    history = [[0, math.nan], [1, math.inf], [2, -math.inf]]
    store.save_trial(rec.experiment_id, Trial(trial_id=0, params={}, metric=math.nan, history=history))
    store.save_trial(rec.experiment_id, Trial(trial_id=1, params={}, metric=-math.inf))
    t0, t1 = store.get_trials(rec.experiment_id)
    assert math.isnan(t0.history[0][1]) and t0.history[1:] == [[1, math.inf], [2, -math.inf]]
    assert t0.metric is None  # the contract: a NaN metric means "no metric"
    assert t1.metric == -math.inf


def test_save_trial_replaces_the_whole_trial(store: ExperimentStore) -> None:
    rec = make_record()
    store.create_experiment(rec)
    running = Trial(trial_id=0, params={"lr": 0.1}, state=TrialState.RUNNING, start=5.0, logs=["a"])
    store.save_trial(rec.experiment_id, running)
    assert store.get_trials(rec.experiment_id) == [running]
    finished = Trial(
        trial_id=0, params={"lr": 0.1}, state=TrialState.FINISHED, metric=0.5, start=5.0, end=9.0
    )
    store.save_trial(rec.experiment_id, finished)
    assert store.get_trials(rec.experiment_id) == [finished]  # logs=["a"] gone: replace, not merge


def test_save_trial_progress_appends_points_and_replaces_the_rest(store: ExperimentStore) -> None:
    rec = make_record()
    store.create_experiment(rec)
    running = dataclasses.replace(full_trial(), state=TrialState.RUNNING, history=[[9, 9.0]], end=None)
    store.save_trial_progress(rec.experiment_id, running, [[0, 0.5], [1, math.nan]])  # creates it
    got = store.get_trials(rec.experiment_id)[0]
    assert got.history[0] == [0, 0.5] and math.isnan(got.history[1][1]) and len(got.history) == 2
    # The trial's own history and logs are ignored: a progress write appends what it is given.
    assert dataclasses.replace(got, history=[]) == dataclasses.replace(running, history=[], logs=[])
    store.save_trial_progress(rec.experiment_id, dataclasses.replace(running, logs=["more"]), [])
    store.save_trial_progress(rec.experiment_id, full_trial(), [[2, np.float64(0.75)], [3, 0.875]])
    got = store.get_trials(rec.experiment_id)[0]
    assert [p[0] for p in got.history] == [0, 1, 2, 3] and got.history[3] == [3, 0.875]
    assert dataclasses.replace(got, history=[]) == dataclasses.replace(full_trial(), history=[], logs=[])
    store.save_trial(rec.experiment_id, full_trial())  # a whole save replaces the history too
    assert store.get_trials(rec.experiment_id)[0] == full_trial()
    with pytest.raises(ExperimentNotFound):
        store.save_trial_progress("nope", full_trial(), [[0, 1.0]])
    store.save_trial_progress(rec.experiment_id, full_trial(), [[4, 1.0]])
    light = store.get_trials(rec.experiment_id, with_history=False)[0]
    assert light == dataclasses.replace(full_trial(), history=[], logs=[])  # everything but points and logs


def test_save_trial_progress_appends_log_lines(store: ExperimentStore) -> None:
    rec = make_record()
    store.create_experiment(rec)
    eid = rec.experiment_id
    running = dataclasses.replace(full_trial(), state=TrialState.RUNNING, end=None, logs=["a tail"])
    store.save_trial_progress(eid, running, [], ["line 0", "ligne 1 ✓"])  # creates it
    assert store.get_trials(eid)[0].logs == ["line 0", "ligne 1 ✓"]  # trial.logs is ignored
    store.save_trial_progress(eid, running, [[0, 1.0]])  # no new lines: the log stays
    more = [f"line {i}" for i in range(2, 3000)]
    for start in range(0, len(more), 700):
        store.save_trial_progress(eid, running, [], more[start : start + 700])
    got = store.get_trials(eid)[0]
    assert got.logs == ["line 0", "ligne 1 ✓", *more] and got.history == [[0, 1.0]]
    assert store.get_trials(eid, with_history=False)[0].logs == []  # a listing reads no logs
    store.save_trial(eid, full_trial())  # a whole save replaces the log too
    assert store.get_trials(eid)[0].logs == full_trial().logs
    store.save_trial_progress(eid, full_trial(), [], ["", "after the end"])
    assert store.get_trials(eid)[0].logs == [*full_trial().logs, "", "after the end"]
    with pytest.raises(ExperimentNotFound):
        store.save_trial_progress("nope", full_trial(), [], ["x"])


def test_get_trials_ordered_and_isolated_per_experiment(store: ExperimentStore) -> None:
    a, b = make_record(), make_record()
    store.create_experiment(a)
    store.create_experiment(b)
    assert store.get_trials(a.experiment_id) == []
    for tid in (10, 2, 7, 0):
        store.save_trial(a.experiment_id, Trial(trial_id=tid, params={"x": tid}))
    store.save_trial(b.experiment_id, Trial(trial_id=2, params={"x": "b"}))
    assert [t.trial_id for t in store.get_trials(a.experiment_id)] == [0, 2, 7, 10]
    assert [t.params for t in store.get_trials(b.experiment_id)] == [{"x": "b"}]


def test_unknown_experiment_for_trials_raises(store: ExperimentStore) -> None:
    with pytest.raises(KeyError):
        store.save_trial("nope", Trial(trial_id=0, params={}))
    with pytest.raises(KeyError):
        store.get_trials("nope")


@pytest.mark.parametrize("direction", ["max", "min"])
def test_trial_summary_counts_and_picks_the_best_finished_trial(
    store: ExperimentStore, direction: str
) -> None:
    rec = make_record(direction=direction)
    store.create_experiment(rec)
    empty = store.trial_summary(rec.experiment_id, direction)
    assert (empty.total, empty.done, empty.best_id, empty.best_metric) == (0, 0, None, None)
    states_metrics = [
        (TrialState.FINISHED, 0.5),
        (TrialState.FINISHED, 0.9),  # best for max (ties with 5: the lower id wins)
        (TrialState.EARLY_STOPPED, 5.0),  # never the best: not FINISHED
        (TrialState.RUNNING, -5.0),
        (TrialState.FINISHED, None),  # no metric
        (TrialState.FINISHED, 0.9),
        (TrialState.FINISHED, 0.1),  # best for min
        (TrialState.ERROR, math.nan),
        (TrialState.PENDING, None),
    ]
    for tid, (state, metric) in enumerate(states_metrics):
        store.save_trial(rec.experiment_id, Trial(trial_id=tid, params={}, state=state, metric=metric))
    summary = store.trial_summary(rec.experiment_id, direction)
    assert (summary.total, summary.done) == (9, 7)
    assert (summary.best_id, summary.best_metric) == ((1, 0.9) if direction == "max" else (6, 0.1))
    # A backend's own query agrees with the reference that reads every trial.
    assert summary == ExperimentStore.trial_summary(store, rec.experiment_id, direction)
    with pytest.raises(ExperimentNotFound):
        store.trial_summary("nope", direction)


def test_returned_objects_are_copies(store: ExperimentStore) -> None:
    rec = make_record()
    store.create_experiment(rec)
    store.save_trial(rec.experiment_id, full_trial())
    store.get_trials(rec.experiment_id)[0].params["lr"] = 99
    store.get_experiment(rec.experiment_id).config["hb_interval"] = 99
    assert store.get_trials(rec.experiment_id)[0].params["lr"] == 0.01
    assert store.get_experiment(rec.experiment_id).config["hb_interval"] == 1


def test_unicode_everywhere(store: ExperimentStore) -> None:
    rec = make_record(name="résumé 実験 🚀", description="Ünïcødé\nmultiline")
    store.create_experiment(rec)
    trial = Trial(
        trial_id=0,
        params={"größe": "très grand", "层": 1},
        logs=["époque 1 ✓", "🔥"],
        error="ValueError: ñ",
        worker="wörker",
        info={"ключ": "значение"},
    )
    store.save_trial(rec.experiment_id, trial)
    assert store.get_experiment(rec.experiment_id) == rec
    assert store.get_trials(rec.experiment_id) == [trial]
    assert store.list_experiments()[0].name == "résumé 実験 🚀"


# -- lifecycle and durability ----------------------------------------------------------------


def test_writes_are_visible_to_another_store_at_once(store_factory: StoreFactory) -> None:
    writer, reader = store_factory(), store_factory()
    try:
        rec = make_record()
        writer.create_experiment(rec)
        writer.save_trial(rec.experiment_id, Trial(trial_id=0, params={}, state=TrialState.RUNNING))
        assert [t.state for t in reader.get_trials(rec.experiment_id)] == [TrialState.RUNNING]
        writer.save_trial(
            rec.experiment_id, Trial(trial_id=0, params={}, state=TrialState.FINISHED, metric=1.0)
        )
        assert reader.get_trials(rec.experiment_id)[0].metric == 1.0
    finally:
        writer.close()
        reader.close()


def test_data_survives_reopen(store_factory: StoreFactory) -> None:
    with store_factory() as s:
        rec = make_record()
        s.create_experiment(rec)
        s.save_trial(rec.experiment_id, full_trial())
    with store_factory() as s:
        assert s.get_experiment(rec.experiment_id) == rec
        assert s.get_trials(rec.experiment_id) == [full_trial()]


def test_close_is_idempotent_and_final(store_factory: StoreFactory) -> None:
    s = store_factory()
    s.close()
    s.close()
    with pytest.raises(StoreError):
        s.list_experiments()
    with pytest.raises(StoreError):
        s.create_experiment(make_record())


# -- concurrency -----------------------------------------------------------------------------


def _write_experiment(store: ExperimentStore, tag: str, shared_id: str, n: int, offset: int) -> str:
    """One writer's work: its own experiment, plus its slice of trial ids in a shared experiment."""
    rec = make_record(f"{tag}-{new_experiment_id()}", name=tag)
    store.create_experiment(rec)
    for i in range(n):
        t = Trial(trial_id=i, params={"writer": tag, "i": i}, state=TrialState.RUNNING, history=[[0, i]])
        store.save_trial(rec.experiment_id, t)
        store.save_trial(shared_id, Trial(trial_id=offset + i, params={"writer": tag}))
        t.state, t.metric = TrialState.FINISHED, float(i)
        store.save_trial(rec.experiment_id, t)
    store.finish_experiment(rec.experiment_id, ExperimentStatus.FINISHED, 2000.0, {"n": n})
    return rec.experiment_id


def _assert_writers_done(store: ExperimentStore, ids: list[str], shared_id: str, n: int) -> None:
    for eid in ids:
        trials = store.get_trials(eid)
        assert [t.trial_id for t in trials] == list(range(n))
        assert all(t.state is TrialState.FINISHED and t.metric == float(t.trial_id) for t in trials)
        assert store.get_experiment(eid).status == "FINISHED"
    assert [t.trial_id for t in store.get_trials(shared_id)] == list(range(n * len(ids)))


def test_concurrent_threads_share_one_store(store: ExperimentStore) -> None:
    shared = make_record()
    store.create_experiment(shared)
    n, n_threads = 40, 8
    ids: list[str] = []
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            ids.append(_write_experiment(store, f"t{k}", shared.experiment_id, n, k * n))
        except BaseException as e:  # surfaced below; a thread's exception would otherwise vanish
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and len(ids) == n_threads
    _assert_writers_done(store, ids, shared.experiment_id, n)
    assert len(store.list_experiments()) == n_threads + 1


def _in_processes(target: Callable[..., None], argsets: list[tuple[Any, ...]]) -> list[tuple[str, Any]]:
    """Run ``target(*args, start_evt, out)`` in one spawned process per ``args``, all released at
    once; each puts one ``(status, value)`` on ``out``, returned in the order they came."""
    ctx = multiprocessing.get_context("spawn")  # no inherited connections; works the same on macOS
    start_evt, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, start_evt, out)) for args in argsets]
    for p in procs:
        p.start()
    start_evt.set()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return results


def _process_writer(
    store_factory: StoreFactory, tag: str, shared_id: str, n: int, offset: int, start_evt: Any, out: Any
) -> None:
    start_evt.wait(30)  # line both processes up so their writes really overlap
    store = store_factory()
    try:
        out.put(("ok", _write_experiment(store, tag, shared_id, n, offset)))
    except BaseException as e:
        out.put(("error", repr(e)))
    finally:
        store.close()


def test_concurrent_processes_write_one_store(store_factory: StoreFactory) -> None:
    with store_factory() as s:
        shared = make_record()
        s.create_experiment(shared)
    n = 60
    results = _in_processes(
        _process_writer, [(store_factory, f"p{k}", shared.experiment_id, n, k * n) for k in range(2)]
    )
    assert [status for status, _ in results] == ["ok", "ok"], results
    with store_factory() as s:
        _assert_writers_done(s, [eid for _, eid in results], shared.experiment_id, n)


def _open_and_create(store_factory: StoreFactory, start_evt: Any, out: Any) -> None:
    start_evt.wait(30)
    try:
        with store_factory() as store:
            rec = make_record()
            store.create_experiment(rec)
        out.put(("ok", rec.experiment_id))
    except BaseException as e:
        out.put(("error", repr(e)))


def test_processes_open_a_new_store_at_once(store_factory: StoreFactory) -> None:
    """The first open creates the store; several processes racing to do it must all succeed."""
    results = _in_processes(_open_and_create, [(store_factory,)] * 4)
    assert [status for status, _ in results] == ["ok"] * 4, results
    with store_factory() as s:
        assert {r.experiment_id for r in s.list_experiments()} == {eid for _, eid in results}
