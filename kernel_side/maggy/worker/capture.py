"""Capture a trial's print() output and logging records as reporter log lines."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator
from typing import Any


class _LineWriter(io.TextIOBase):
    """A text stream that hands complete lines to ``sink`` (partial lines wait for a newline)."""

    def __init__(self, sink: Any, prefix: str = "") -> None:
        self._sink = sink
        self._prefix = prefix
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        text = self._partial + s
        *lines, self._partial = text.split("\n")
        for line in lines:
            self._sink(self._prefix + line)
        return len(s)

    def flush(self) -> None:
        if self._partial:
            self._sink(self._prefix + self._partial)
            self._partial = ""


class _ReporterHandler(logging.Handler):
    def __init__(self, sink: Any) -> None:
        super().__init__(logging.NOTSET)
        self._sink = sink
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._sink(self.format(record))
        except Exception:  # a broken record must not break the trial
            self.handleError(record)


@contextlib.contextmanager
def captured_output(sink: Any) -> Iterator[None]:
    """Route sys.stdout, sys.stderr (prefixed ``[stderr]``) and root logging to ``sink(line)``."""
    out, err = _LineWriter(sink), _LineWriter(sink, "[stderr] ")
    handler = _ReporterHandler(sink)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            yield
    finally:
        out.flush()
        err.flush()
        root.removeHandler(handler)
