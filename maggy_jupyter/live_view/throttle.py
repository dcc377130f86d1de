"""Rate-limited redraws: many cheap ``request()`` calls, at most one ``flush`` per interval.

Events arrive as fast as workers heartbeat (200 trials can mean thousands a second); the browser
needs a redraw only every ~100 ms. ``Throttle`` coalesces requests and runs the flush on its own
daemon thread, so the trailing state is always drawn even when no further event comes, and the
driver's dispatcher thread never waits on a redraw. With a ``tick`` it also flushes that often
when nothing asks (the view's clock, "elapsed" and running durations, moves without events).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from maggy._threads import join_if_started

log = logging.getLogger("maggy")

Clock = Callable[[], float]


class Throttle:
    """Call ``flush()`` soon after ``request()``, never twice within ``interval`` seconds.

    Spacing is measured start to start, so a flush that takes 30 ms still allows ~10 a second.
    ``poll()`` is the whole decision (testable with a fake clock and ``threaded=False``); the
    thread only sleeps until the next ``poll`` can succeed. Flushes never overlap: ``poll``,
    ``flush_now`` and the thread share one lock. A flush that raises is logged, never fatal.
    ``tick`` (seconds, None for none): flush also when that long passed since the last flush,
    requested or not, from the first ``request`` (which starts the thread) until ``close``.
    """

    def __init__(
        self,
        flush: Callable[[], None],
        interval: float = 0.1,
        clock: Clock = time.monotonic,
        threaded: bool = True,
        tick: float | None = None,
    ) -> None:
        self._flush = flush
        self.interval = interval
        self.tick = tick
        self._clock = clock
        self._threaded = threaded
        self._cond = threading.Condition()
        self._flush_lock = threading.Lock()
        self._pending = False
        self._closed = False
        self._last: float | None = None
        self._thread: threading.Thread | None = None
        self.flushes = 0

    @property
    def pending(self) -> bool:
        return self._pending

    @property
    def closed(self) -> bool:
        return self._closed

    def request(self) -> None:
        """Ask for a flush (cheap; any thread). Ignored after ``close``."""
        with self._cond:
            if self._closed or self._pending:
                return  # already pending: the thread is awake or sleeping out the interval
            self._pending = True
            if self._threaded and self._thread is None:
                self._thread = threading.Thread(target=self._run, name="maggy-live-view", daemon=True)
                self._thread.start()
            self._cond.notify()

    def due_in(self) -> float:
        """Seconds until a flush may run (0 when it may run now)."""
        if self._last is None:
            return 0.0
        return max(0.0, self._last + self.interval - self._clock())

    def tick_in(self) -> float | None:
        """Seconds until the next tick's flush (None without a tick or once closed)."""
        if self.tick is None or self._closed:
            return None
        if self._last is None:
            return 0.0
        return max(0.0, self._last + self.tick - self._clock())

    def poll(self) -> bool:
        """Flush if one is pending and the interval has passed, or a tick is due; returns whether
        it flushed."""
        with self._cond:
            if self._pending:
                if self.due_in() > 0:
                    return False
            elif self.tick_in() != 0.0:
                return False
            self._pending = False
        self._run_flush()
        return True

    def flush_now(self) -> None:
        """Flush at once, whatever the interval (the final redraw); clears any pending request."""
        with self._cond:
            self._pending = False
        self._run_flush()

    def close(self, timeout: float = 2.0) -> None:
        """Stop the thread (a flush in progress completes); later requests are ignored."""
        with self._cond:
            self._closed = True
            self._cond.notify()
            thread = self._thread
        if thread is not threading.current_thread():
            join_if_started(thread, timeout)

    def _run_flush(self) -> None:
        with self._flush_lock:
            self._last = self._clock()
            self.flushes += 1
            try:
                self._flush()
            except Exception:
                log.exception("maggy: live view redraw failed")

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    ticks = self.tick_in()
                    if ticks == 0.0:
                        break
                    self._cond.wait(ticks)  # None: until a request or close
                if self._closed:
                    return
                wait = self.due_in() if self._pending else 0.0
                if wait > 0:
                    self._cond.wait(wait)  # woken early only by close(); re-check either way
                    continue
            self.poll()
