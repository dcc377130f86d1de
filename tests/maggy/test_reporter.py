"""The reporter's contract: points in order, none lost, stop raises after recording."""

from __future__ import annotations

import threading

import pytest

from maggy.exceptions import EarlyStopException
from maggy.reporter import Reporter


def test_steps_auto_increment_and_drain_takes_everything_once():
    r = Reporter()
    r.reset(7)
    r.broadcast(0.5)
    r.broadcast(0.6)
    r.broadcast(0.7, step=10)
    r.broadcast(0.8)
    r.log("a\nb")
    assert r.drain() == (7, [[0, 0.5], [1, 0.6], [10, 0.7], [11, 0.8]], ["a", "b"])
    assert r.drain() == (7, [], [])


@pytest.mark.parametrize("bad", ["1", None, True, [1]])
def test_non_numeric_metric_is_a_type_error(bad):
    with pytest.raises(TypeError, match="must be a number"):
        Reporter().broadcast(bad)


def test_nan_metric_and_decreasing_step_are_value_errors():
    r = Reporter()
    with pytest.raises(ValueError, match="finite"):
        r.broadcast(float("nan"))
    r.broadcast(1.0, step=5)
    with pytest.raises(ValueError, match="must not decrease"):
        r.broadcast(1.0, step=4)


def test_stop_request_raises_on_the_next_broadcast_after_recording_the_point():
    r = Reporter()
    r.reset(3)
    r.request_stop_for(99)  # another trial: ignored
    r.broadcast(1.0)
    r.request_stop_for(3)
    with pytest.raises(EarlyStopException) as info:
        r.broadcast(2.0)
    assert info.value.metric == 2.0
    assert r.drain()[1] == [[0, 1.0], [1, 2.0]]


def test_concurrent_broadcast_and_drain_lose_no_point():
    r = Reporter()
    r.reset(1)
    collected: list = []
    stop = threading.Event()

    def drainer():
        while not stop.is_set():
            collected.extend(r.drain()[1])
        collected.extend(r.drain()[1])

    t = threading.Thread(target=drainer)
    t.start()
    for i in range(20000):
        r.broadcast(float(i))
    stop.set()
    t.join()
    assert [p[0] for p in collected] == list(range(20000))
