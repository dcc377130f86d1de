"""The driver keeps a bounded, evenly thinned history and a bounded log tail per trial; every point
and log line still goes out."""

from __future__ import annotations

import copy
import pickle

import numpy as np

from maggy.core import events as ev
from maggy.core.driver_core import DriverConfig, DriverCore
from maggy.earlystop import MedianStoppingRule
from maggy.optimizer import RandomSearch
from maggy.rpc import messages
from maggy.searchspace import Searchspace
from maggy.trial import (
    HISTORY_LIMIT,
    LOG_TAIL_CHARS,
    LOG_TAIL_LINES,
    ElidedLines,
    Trial,
    TrialState,
    extend_bounded,
    extend_log_tail,
    thin_points,
)


def make_core(num_trials: int = 1) -> DriverCore:
    opt = RandomSearch()
    opt.setup(Searchspace(x=("DOUBLE", [0.0, 1.0])), num_trials, "max", np.random.default_rng(0))
    return DriverCore(DriverConfig(experiment_id="exp", direction="max"), opt, clock=lambda: 1000.0)


def test_a_long_curve_keeps_a_bounded_history_and_publishes_every_point() -> None:
    core = make_core()
    state: dict = {}
    core.handle(messages.reg("w0", "host", 1), state)
    n, beat = 200_000, 1000
    for start in range(0, n, beat):
        core.handle(messages.hb("w0", 0, [[s, s / n] for s in range(start, start + beat)], []), {})
    trial = core.trials[0]
    assert HISTORY_LIMIT // 4 <= len(trial.history) <= HISTORY_LIMIT
    assert trial.history[0] == [0, 0.0] and trial.history[-1] == [n - 1, (n - 1) / n]
    gaps = np.diff([p[0] for p in trial.history])
    assert gaps.max() <= 4 * n / (HISTORY_LIMIT // 2)  # spread evenly over the steps, no hole
    published: list[list[float]] = []
    while not core.events.empty():
        event = core.events.get()
        if isinstance(event, ev.MetricPoints):
            published.extend(event.points)
    assert len(published) == n and published[-1] == [n - 1, (n - 1) / n]


def test_thinning_is_even_over_steps_and_keeps_the_ends() -> None:
    points = [[float(s), float(s)] for s in range(10_000)]
    kept = thin_points(points, 100)
    assert kept[0] == points[0] and kept[-1] == points[-1] and len(kept) <= 102
    assert max(np.diff([p[0] for p in kept])) <= 2 * 128  # slices of 128 (2**7 >= 10_000 / 100)
    same_step = [[1.0, float(i)] for i in range(10_000)]  # steps that do not spread: by position
    kept = thin_points(same_step, 100)
    assert 90 <= len(kept) <= 102 and kept[-1] == same_step[-1]
    history: list[list[float]] = []
    for s in range(50_000):
        extend_bounded(history, [[s, 1.0]], limit=64)
        assert len(history) < 64
    assert history[-1] == [49_999, 1.0]


def test_the_median_rule_decides_alike_on_thinned_histories() -> None:
    # Curves 20x longer than the driver keeps: the decision at each step must match the one on
    # the whole curves (the thinning costs at most a 1/1024 slice of the step range).
    rng = np.random.default_rng(1)
    n = 20 * HISTORY_LIMIT
    steps = np.arange(n, dtype=float)

    def curve(rate: float) -> list[list[float]]:
        values = 1 - np.exp(-steps / (rate * n)) + rng.normal(0, 0.002, n)
        return [[float(s), float(v)] for s, v in zip(steps, values, strict=True)]

    def bounded(points: list[list[float]]) -> list[list[float]]:
        history: list[list[float]] = []
        for i in range(0, len(points), 997):
            extend_bounded(history, points[i : i + 997])
        return history

    whole = [curve(r) for r in (0.1, 0.2, 0.3, 0.4, 0.5)]
    finished = [Trial(i, {}, TrialState.FINISHED, 1.0, c) for i, c in enumerate(whole)]
    thinned = [Trial(i, {}, TrialState.FINISHED, 1.0, bounded(c)) for i, c in enumerate(whole)]
    rule = MedianStoppingRule()
    for rate in (0.15, 0.25, 0.35, 0.45):  # not 0.3: a tie with the median, decided by noise
        running = curve(rate)
        for upto in (n // 10, n // 3, n - 1):
            full = Trial(9, {}, TrialState.RUNNING, history=running[:upto])
            short = Trial(9, {}, TrialState.RUNNING, history=bounded(running[:upto]))
            assert rule.should_stop(short, thinned, "max") == rule.should_stop(full, finished, "max")


def test_workers_wait_while_the_dispatcher_is_many_points_behind(monkeypatch) -> None:
    import threading
    import time

    from maggy.core import driver_core

    monkeypatch.setattr(driver_core, "QUEUED_POINTS_LIMIT", 1000)
    core = make_core()
    core.handle(messages.reg("w0", "host", 1), {})
    core.handle(messages.hb("w0", 0, [[s, 0.0] for s in range(1500)], []), {})  # the listeners lag
    waited = threading.Event()

    def worker_thread() -> None:
        core.wait_for_room(timeout=10)
        waited.set()

    threading.Thread(target=worker_thread, daemon=True).start()
    assert not waited.wait(0.3)  # held back: 1500 points queued > 1000
    while not core.events.empty():
        core.event_delivered(core.events.get())  # the dispatcher catches up
    assert waited.wait(5)
    started = time.monotonic()
    core.wait_for_room(timeout=10)  # room now: no wait
    assert time.monotonic() - started < 0.1
    core.handle(messages.hb("w0", 0, [[s, 0.0] for s in range(2000, 3500)], []), {})
    started = time.monotonic()
    core.wait_for_room(timeout=0.3)  # bounded: a stuck listener cannot hold workers for ever
    assert 0.25 < time.monotonic() - started < 2


def test_a_long_log_keeps_a_bounded_tail_and_publishes_every_line() -> None:
    core = make_core()
    core.handle(messages.reg("w0", "host", 1), {})
    n, beat = 50_000, 700
    for start in range(0, n, beat):
        core.handle(messages.hb("w0", 0, [], [f"line {i}" for i in range(start, min(n, start + beat))]), {})
    logs = core.trials[0].logs
    assert len(logs) == LOG_TAIL_LINES + 1 and logs[1:] == [f"line {i}" for i in range(n - LOG_TAIL_LINES, n)]
    assert isinstance(logs[0], ElidedLines) and logs[0].elided == n - LOG_TAIL_LINES
    assert f"{n - LOG_TAIL_LINES:,} earlier lines" in logs[0] and "store" in logs[0]
    (snapshot,) = core.snapshot_trials()
    assert snapshot.logs == logs and isinstance(snapshot.logs[0], ElidedLines)
    published: list[str] = []
    while not core.events.empty():
        event = core.events.get()
        if isinstance(event, ev.TrialLog):
            published.extend(event.lines)
    assert published == [f"line {i}" for i in range(n)]


def test_the_log_tail_is_bounded_in_characters_too() -> None:
    logs: list[str] = []
    extend_log_tail(logs, ["short"] * 3)
    assert logs == ["short"] * 3  # nothing dropped: no marker line
    big = "x" * (LOG_TAIL_CHARS // 4)
    extend_log_tail(logs, [big] * 10)
    assert sum(map(len, logs[1:])) <= LOG_TAIL_CHARS and logs[-1] == big
    assert len(logs) == 5 and logs[0].elided == 9  # 4 lines of a quarter each fill the tail
    extend_log_tail(logs, ["y" * (3 * LOG_TAIL_CHARS)])  # one line longer than the whole tail
    assert len(logs) == 2 and logs[0].elided == 13  # that line alone is kept, cut to its end
    assert len(logs[-1]) <= LOG_TAIL_CHARS + 100 and logs[-1].endswith("y" * 1000)
    assert "characters" in logs[-1]
    # The marker line survives copies, pickling and JSON as the line it reads.
    copies = [
        copy.deepcopy(logs[0]),
        pickle.loads(pickle.dumps(logs[0])),
        Trial(0, {}, logs=logs).copy().logs[0],
    ]
    for again in copies:
        assert isinstance(again, ElidedLines) and again.elided == logs[0].elided and again == logs[0]
    assert Trial(0, {}, logs=logs).to_dict()["logs"][0] == logs[0]
