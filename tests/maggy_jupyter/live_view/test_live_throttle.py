"""The redraw rate limiter: decisions on a fake clock, then its thread on a real one (briefly)."""

from __future__ import annotations

import logging
import time

from maggy_jupyter.live_view.throttle import Throttle


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_requests_coalesce_into_at_most_one_flush_per_interval():
    clock, flushed = FakeClock(), []
    throttle = Throttle(lambda: flushed.append(clock.now), interval=0.1, clock=clock, threaded=False)
    assert not throttle.poll()  # nothing asked for
    # 5,000 requests over one second, a poll after each (as fast as a busy dispatcher could)
    for i in range(5000):
        clock.now = i * 0.0002
        throttle.request()
        throttle.poll()
    assert len(flushed) == 10
    assert all(b - a >= 0.1 - 1e-9 for a, b in zip(flushed, flushed[1:], strict=False))
    assert throttle.pending  # the last requests wait for the next slot...
    clock.now = 1.05
    assert throttle.poll() and not throttle.pending  # ...and are flushed once it comes
    assert not throttle.poll()


def test_flush_now_ignores_the_interval_and_clears_the_request():
    clock, flushed = FakeClock(), []
    throttle = Throttle(lambda: flushed.append(clock.now), interval=0.1, clock=clock, threaded=False)
    throttle.request()
    assert throttle.poll()
    throttle.request()
    clock.now = 0.01
    assert not throttle.poll()
    throttle.flush_now()
    assert flushed == [0.0, 0.01] and not throttle.pending
    clock.now = 0.5
    assert not throttle.poll()


def test_a_failing_flush_is_logged_and_the_next_one_still_runs(caplog):
    clock, calls = FakeClock(), []

    def flush() -> None:
        calls.append(clock.now)
        if len(calls) == 1:
            raise RuntimeError("widget trouble")

    throttle = Throttle(flush, interval=0.1, clock=clock, threaded=False)
    with caplog.at_level(logging.ERROR, logger="maggy"):
        throttle.request()
        throttle.poll()
    assert "live view redraw failed" in caplog.text
    clock.now = 0.2
    throttle.request()
    assert throttle.poll() and len(calls) == 2


def test_the_thread_bounds_the_rate_and_always_draws_the_last_request():
    seen: list[int] = []
    latest = [0]
    throttle = Throttle(lambda: seen.append(latest[0]), interval=0.02)
    started = time.monotonic()
    for i in range(1, 20_001):
        latest[0] = i
        throttle.request()
        if i % 1000 == 0:
            time.sleep(0.005)  # events arrive in bursts over ~0.1 s
    elapsed = time.monotonic() - started
    deadline = time.monotonic() + 2
    while (not seen or seen[-1] != 20_000) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert seen[-1] == 20_000  # the trailing state is drawn without any further event
    assert len(seen) <= (elapsed + 0.05) / 0.02 + 2
    throttle.close()
    throttle.request()  # ignored once closed
    time.sleep(0.05)
    assert seen[-1] == 20_000 and throttle.closed
    assert throttle._thread is not None and not throttle._thread.is_alive()


def test_with_a_tick_an_idle_throttle_still_flushes_every_tick():
    """The header's clock (elapsed, durations) moves without events: a tick redraws it."""
    clock, flushed = FakeClock(), []
    throttle = Throttle(
        lambda: flushed.append(clock.now), interval=0.1, tick=1.0, clock=clock, threaded=False
    )
    throttle.flush_now()  # the view's first draw
    clock.now = 0.5
    assert not throttle.poll()  # nothing asked for, and no tick due yet
    clock.now = 1.0
    assert throttle.poll() and flushed == [0.0, 1.0]
    clock.now = 1.5
    assert not throttle.poll()
    throttle.close()
    clock.now = 5.0
    assert not throttle.poll()  # closed: the experiment is over, the clock stops


def test_the_ticking_thread_flushes_without_requests():
    flushed: list[float] = []
    throttle = Throttle(lambda: flushed.append(time.monotonic()), interval=0.01, tick=0.05)
    try:
        throttle.request()  # starts the thread
        time.sleep(0.4)
        assert len(flushed) >= 4
    finally:
        throttle.close()
    count = len(flushed)
    time.sleep(0.15)
    assert len(flushed) == count
