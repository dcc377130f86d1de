"""Capture a trial's print() output and logging records as reporter log lines.

Cost is linear in the output: the unfinished line is kept in a ``StringIO`` (a write without a
newline appends to it, it never re-copies what came before), and what goes beyond the reporter's
line limit is only counted. Lines follow :func:`maggy.reporter.split_output`: a line rewritten
with ``\\r`` (a tqdm-style progress bar) keeps only its final state, ``\\r\\n`` ends a line.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
from collections.abc import Callable, Iterator

from maggy.reporter import MAX_LINE_CHARS, Reporter

LineSink = Callable[[str, int], None]


class _LineWriter(io.TextIOBase):
    """A text stream that hands complete lines to ``sink(line, cut_bytes)``.

    An unfinished line waits for its newline, or for :meth:`finish` at the end of the trial;
    ``flush()`` does not end it (progress bars flush after every ``\\r`` update). Thread-safe:
    print() from several threads interleaves whole writes, never corrupts a line.
    """

    def __init__(self, sink: LineSink, prefix: str = "") -> None:
        self._sink = sink
        self._prefix = prefix
        self._limit = MAX_LINE_CHARS - len(prefix)
        # Re-entrant: a signal handler that prints runs on the thread that may be inside write().
        self._lock = threading.RLock()
        self._line = io.StringIO()
        self._chars = 0  # characters in _line
        self._cut = 0  # UTF-8 bytes of this line beyond _limit, dropped
        self._cr = False  # a \r was written: the next text starts the line over

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        with self._lock:
            start = 0
            while (end := s.find("\n", start)) >= 0:
                self._add(s, start, end)
                self._end_line()
                start = end + 1
            self._add(s, start, len(s))
        return len(s)

    def flush(self) -> None:
        """Nothing to do: complete lines are handed on as they come."""

    def finish(self) -> None:
        """Hand on the unfinished line, if any (the trial ended)."""
        with self._lock:
            if self._chars or self._cut:
                self._end_line()

    def _add(self, s: str, start: int, end: int) -> None:
        if start == end:
            return
        if s.find("\r", start, end) < 0:
            self._append(s[start:end])
            return
        for i, state in enumerate(s[start:end].split("\r")):
            if i:
                self._cr = True
            if state:
                self._append(state)

    def _append(self, text: str) -> None:
        if self._cr:
            self._cr = False
            self._line, self._chars, self._cut = io.StringIO(), 0, 0
        room = self._limit - self._chars
        if len(text) > room:
            rest = text[max(room, 0) :]
            self._cut += len(rest) if rest.isascii() else len(rest.encode("utf-8", "surrogatepass"))
            text = text[: max(room, 0)]
        if text:
            self._line.write(text)
            self._chars += len(text)

    def _end_line(self) -> None:
        line, cut = self._line.getvalue(), self._cut
        self._line, self._chars, self._cut, self._cr = io.StringIO(), 0, 0, False
        self._sink(self._prefix + line, cut)


class _ReporterHandler(logging.Handler):
    def __init__(self, reporter: Reporter) -> None:
        super().__init__(logging.NOTSET)
        self._reporter = reporter
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._reporter.log(self.format(record))
        except Exception:  # a broken record must not break the trial
            self.handleError(record)


@contextlib.contextmanager
def captured_output(reporter: Reporter) -> Iterator[None]:
    """Route sys.stdout, sys.stderr (prefixed ``[stderr]``) and root logging to ``reporter``'s lines."""
    out, err = _LineWriter(reporter.add_line), _LineWriter(reporter.add_line, "[stderr] ")
    handler = _ReporterHandler(reporter)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            yield
    finally:
        out.finish()
        err.finish()
        root.removeHandler(handler)
