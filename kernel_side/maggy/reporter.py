"""The reporter a training function receives to stream metrics and log lines to the driver.

Thread-safety: ``broadcast``, ``log`` and ``add_line`` are called by the training function (any
thread, e.g. a Keras callback, or print() through the worker's output capture); ``drain_frame``,
``seal`` and ``request_stop_for`` by the worker loop and its heartbeat thread. One lock guards the
buffers, so no point or line is lost or reordered between two heartbeats.

Output limits (so that no frame ever exceeds the wire's 8 MiB and a runaway trial cannot fill the
worker's or the driver's memory), each visible where it applies:

- A line longer than :data:`MAX_LINE_CHARS` keeps its head and ends with ``... [9.0 MB cut]``.
- A trial keeps its first :data:`MAX_TRIAL_OUTPUT_CHARS` and its last :data:`OUTPUT_TAIL_CHARS` of
  output; in between, one line says how many lines and bytes were cut. Lines past the first part
  reach the driver when the trial ends (only then is it known which are the last).
- :meth:`drain_frame` takes at most :data:`FRAME_BUDGET` encoded bytes of points and lines; the
  worker sends what remains in further heartbeats (never reordered), before the trial's FINAL.
"""

from __future__ import annotations

import json
import math
import numbers
import threading
from collections import deque

from maggy.exceptions import EarlyStopException

__all__ = [
    "FRAME_BUDGET",
    "LINE_OVERHEAD",
    "MAX_LINE_CHARS",
    "MAX_POINTS_PER_FRAME",
    "MAX_TRIAL_OUTPUT_CHARS",
    "OUTPUT_TAIL_CHARS",
    "Reporter",
    "clip_text",
    "human_size",
    "json_size",
    "split_output",
]

MAX_LINE_CHARS = 256 * 1024
"""Characters kept of one log line (JSON-encoded at most 6 bytes each: 1.5 MiB)."""
MAX_TRIAL_OUTPUT_CHARS = 32 * 1024 * 1024
"""Characters (plus LINE_OVERHEAD per line) of a trial's output kept from its start."""
OUTPUT_TAIL_CHARS = 1024 * 1024
"""Characters (plus LINE_OVERHEAD per line) kept of a trial's last output once it passed MAX_TRIAL_OUTPUT_CHARS."""
LINE_OVERHEAD = 32
"""What a line costs beyond its characters, in the two limits above: a flood of empty lines costs
memory (a str object and a list slot each, here and at the driver) though it has no characters."""
FRAME_BUDGET = 5 * 1024 * 1024
"""Encoded bytes of points, lines (and a FINAL's error) per frame: with one line over budget (at
most 1.5 MiB) and the message around them, a frame stays well under the 8 MiB limit."""
MAX_POINTS_PER_FRAME = 20_000
"""Points per frame; a point is at most _POINT_BYTES encoded."""
_POINT_BYTES = 52  # "[" + 24-char float + "," + 24-char float + "]" + ","


def human_size(n: int) -> str:
    """``n`` bytes in decimal units, as cut markers show it: '512 bytes', '3.4 kB', '9.1 MB'."""
    if n < 1000:
        return f"{n} bytes"
    for unit, scale in (("kB", 1e3), ("MB", 1e6), ("GB", 1e9)):
        if n < scale * 1000 or unit == "GB":
            return f"{n / scale:.1f} {unit}"
    raise AssertionError("unreachable")


def _utf8_len(s: str) -> int:
    return len(s) if s.isascii() else len(s.encode("utf-8", "surrogatepass"))


def json_size(s: str) -> int:
    """Exact size of ``s`` as a JSON string on the wire (quotes and escapes included, UTF-8)."""
    if s.isascii() and s.isprintable():  # the common case, without building the JSON text
        return len(s) + 2 + s.count('"') + s.count("\\")
    return len(json.dumps(s, ensure_ascii=False).encode("utf-8", "surrogatepass"))


def _encodable(s: str) -> str:
    # A lone surrogate (e.g. bytes decoded with surrogateescape) cannot be UTF-8 on the wire.
    if s.isascii():
        return s
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return s.encode("utf-8", "backslashreplace").decode("utf-8")
    return s


def clip_text(text: str, max_bytes: int) -> str:
    """``text`` if its JSON encoding fits ``max_bytes``, else its head and tail around a visible
    ``... [9.1 MB cut] ...`` line (for tracebacks: the frames at the top, the message's end)."""
    text = _encodable(text)
    if json_size(text) <= max_bytes:
        return text
    keep = max(0, max_bytes - 200)
    while True:
        head, tail = keep * 3 // 4, keep // 4
        cut = _utf8_len(text[head : len(text) - tail])
        clipped = (
            f"{text[:head]}\n... [{human_size(cut)} cut] ...\n{text[len(text) - tail :] if tail else ''}"
        )
        if json_size(clipped) <= max_bytes or keep == 0:
            return clipped
        keep = keep * 4 // 5


def split_output(text: str) -> list[str]:
    """Split ``text`` into log lines as a terminal would show them.

    Lines end at ``\\n`` (``\\r\\n`` too); a line rewritten with ``\\r`` (a progress bar) keeps
    only its last non-empty state. A trailing newline does not start an empty line; ``""`` is one
    empty line.
    """
    lines = text.split("\n")
    if len(lines) > 1 and not lines[-1]:
        lines.pop()
    return [_collapse_cr(line) if "\r" in line else line for line in lines]


def _collapse_cr(line: str) -> str:
    states = [part for part in line.split("\r") if part]
    return states[-1] if states else ""


class Reporter:
    """Collects ``[step, value]`` points and log lines for one trial at a time."""

    def __init__(self) -> None:
        # Re-entrant: a signal handler that prints runs on the thread that may hold it (print -> add_line).
        self._lock = threading.RLock()
        self._points: list[list[float]] = []
        self._logs: list[str] = []
        self._stop = False
        self._last_step: float | None = None
        self._last_value: float | None = None
        self.trial_id: int | None = None
        self._reset_output()

    def _reset_output(self) -> None:
        self._kept_chars = 0  # output kept from the trial's start (characters + 1 per line)
        self._tail: deque[str] = deque()  # the latest lines once over MAX_TRIAL_OUTPUT_CHARS
        self._tail_chars = 0
        self._cut_lines = 0
        self._cut_bytes = 0

    def reset(self, trial_id: int | None) -> None:
        """Start a new trial (worker loop only)."""
        with self._lock:
            self._points, self._logs = [], []
            self._stop = False
            self._last_step = None
            self._last_value = None
            self.trial_id = trial_id
            self._reset_output()

    def broadcast(self, metric: float, step: float | None = None) -> None:
        """Report ``metric`` at ``step`` (auto-incremented from the last step when omitted).

        Raises TypeError for a non-numeric metric, ValueError for NaN/inf or a step smaller than
        the previous one, and :class:`EarlyStopException` when the driver has ordered this trial
        to stop (the point is recorded first, so it becomes the trial's final metric).
        """
        if isinstance(metric, bool) or not isinstance(metric, numbers.Real):
            raise TypeError(
                f"reporter.broadcast: metric must be a number, got {metric!r} ({type(metric).__name__})"
            )
        value = float(metric)
        if not math.isfinite(value):
            raise ValueError(f"reporter.broadcast: metric must be finite, got {value}")
        with self._lock:
            if step is None:
                step_value = 0.0 if self._last_step is None else self._last_step + 1
            else:
                if (
                    isinstance(step, bool)
                    or not isinstance(step, numbers.Real)
                    or not math.isfinite(float(step))
                ):
                    raise TypeError(f"reporter.broadcast: step must be a finite number, got {step!r}")
                step_value = float(step)
                if self._last_step is not None and step_value < self._last_step:
                    raise ValueError(
                        f"reporter.broadcast: steps must not decrease (got {step_value} after {self._last_step})"
                    )
            self._last_step = step_value
            self._last_value = value
            self._points.append([_compact(step_value), value])
            stop = self._stop
        if stop:
            raise EarlyStopException(value)

    def log(self, msg: object) -> None:
        """Record ``str(msg)`` as log lines of this trial (split as :func:`split_output` says);
        they reach the driver with the next heartbeat."""
        lines = split_output(str(msg))
        with self._lock:
            for line in lines:
                self._add(line, 0)

    def add_line(self, line: str, cut_bytes: int = 0) -> None:
        """Record one complete line (no newline in it): the output capture's way in.

        ``cut_bytes``: how much the caller already cut off the line's end; it is shown in the marker.
        """
        with self._lock:
            self._add(line, cut_bytes)

    def _add(self, line: str, cut_bytes: int) -> None:  # lock held
        if len(line) > MAX_LINE_CHARS:
            cut_bytes += _utf8_len(line[MAX_LINE_CHARS:])
            line = line[:MAX_LINE_CHARS]
        line = _encodable(line)
        if cut_bytes:
            line += f" ... [{human_size(cut_bytes)} cut]"
        size = len(line) + LINE_OVERHEAD
        if not self._tail and self._kept_chars + size <= MAX_TRIAL_OUTPUT_CHARS:
            self._kept_chars += size
            self._logs.append(line)
            return
        self._tail.append(line)
        self._tail_chars += size
        while self._tail_chars > OUTPUT_TAIL_CHARS:
            old = self._tail.popleft()
            self._tail_chars -= len(old) + LINE_OVERHEAD
            self._cut_lines += 1
            self._cut_bytes += _utf8_len(old) + 1  # + 1: its newline

    @property
    def last_value(self) -> float | None:
        return self._last_value

    @property
    def stop_requested(self) -> bool:
        return self._stop

    def request_stop_for(self, trial_id: int) -> None:
        """Make the next ``broadcast`` raise EarlyStopException if ``trial_id`` is still running."""
        with self._lock:
            if self.trial_id == trial_id:
                self._stop = True

    def seal(self) -> None:
        """The trial's output is complete (worker loop, at its end): queue the kept tail of an output
        that went over MAX_TRIAL_OUTPUT_CHARS, after a line saying what was cut before it."""
        with self._lock:
            if self._cut_lines:
                self._logs.append(
                    f"[maggy] ... {self._cut_lines:,} lines ({human_size(self._cut_bytes)}) of output cut here:"
                    f" a trial keeps the first {MAX_TRIAL_OUTPUT_CHARS >> 20} MiB and the last"
                    f" {OUTPUT_TAIL_CHARS >> 20} MiB of its output"
                )
            self._logs.extend(self._tail)
            self._reset_output()

    def drain(self) -> tuple[int | None, list[list[float]], list[str]]:
        """Take the current trial id and every point and log line buffered since the last drain."""
        with self._lock:
            points, logs = self._points, self._logs
            self._points, self._logs = [], []
            return self.trial_id, points, logs

    def drain_frame(
        self, budget: int = FRAME_BUDGET
    ) -> tuple[int | None, list[list[float]], list[str], bool]:
        """Like :meth:`drain`, but take only what fits one frame: at most MAX_POINTS_PER_FRAME points
        and lines up to ``budget`` encoded bytes in all (at least one line, if any is waiting).
        Returns ``(trial_id, points, lines, more)``, ``more`` telling whether anything is left;
        repeated calls hand everything out once, in order."""
        with self._lock:
            count = min(len(self._points), MAX_POINTS_PER_FRAME, max(0, budget) // _POINT_BYTES)
            points = self._points[:count]
            del self._points[:count]
            room = budget - count * _POINT_BYTES
            taken = 0
            for line in self._logs:
                room -= json_size(line) + 1
                if room < 0 and taken:
                    break
                taken += 1
            logs = self._logs[:taken]
            del self._logs[:taken]
            return self.trial_id, points, logs, bool(self._points or self._logs)


def _compact(step: float) -> float:
    # Integral steps travel and display as ints (0, 1, 2), fractional ones as floats. Beyond 2**53 a
    # float is integral anyway, and as an int 1e300 would be a 301-digit number on the wire.
    return int(step) if step.is_integer() and abs(step) < 2**53 else step
