"""What a local worker process writes to its stdout and stderr outside a trial's capture.

A trial's ``print()`` and logging are captured by the worker and travel as the trial's log
(:mod:`maggy.worker.capture`). What is left goes to the process's file descriptors 1 and 2: a
library's start-up chatter (TensorFlow's C++ logs when it is imported), warnings written at the C
level, a crash's last words. Before, that went to the kernel's own stderr, which a notebook shows
as one pink block under the live view, where it reads as an error. Now each worker writes into a
pipe of its own; :class:`OutputPipe` reads it on a thread and hands the lines, a batch at a time,
to ``sink(worker_id, lines)`` (the driver makes them ``WorkerOutput`` events: the notebook folds
them per worker, a terminal prints them as before).

Bounded: a line longer than :data:`MAX_LINE_CHARS` is cut (saying how many bytes), and after
:data:`MAX_LINES` lines from one worker the rest are counted, not passed on (one line says how
many at the end). The last :data:`TAIL_LINES` lines are kept (``tail()``) so that a worker that
dies before reaching the driver can be quoted in the error that ends the experiment.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import threading
from collections.abc import Callable

log = logging.getLogger("maggy")

#: Longest line passed on (characters); longer ones are cut.
MAX_LINE_CHARS = 10_000
#: Most lines passed on per worker process; later ones are only counted.
MAX_LINES = 10_000
#: Lines kept for :meth:`OutputPipe.tail`.
TAIL_LINES = 20

Sink = Callable[[str, list[str]], None]


class OutputPipe:
    """A pipe whose write end becomes a worker's stdout and stderr, read by a daemon thread.

    ``write_fd``: give it to the child (both fds 1 and 2), then call :meth:`started`, which
    closes this process's copy so that the reader sees end of file when the worker (and every
    process that inherited the fd) is gone. ``sink`` is called on the reader thread; an exception
    from it is logged and the reading goes on.
    """

    def __init__(self, worker_id: str, sink: Sink) -> None:
        self.worker_id = worker_id
        self._sink = sink
        read_fd, self.write_fd = os.pipe()
        self._reader = threading.Thread(
            target=self._read, args=(read_fd,), name=f"maggy-output-{worker_id}", daemon=True
        )
        self._tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._lock = threading.Lock()
        self._passed = 0
        self._dropped = 0
        self._reader.start()

    def started(self) -> None:
        """The child holds the write end now: close ours (idempotent)."""
        if self.write_fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.write_fd)
            self.write_fd = -1

    def tail(self) -> list[str]:
        """The last lines read (at most :data:`TAIL_LINES`)."""
        with self._lock:
            return list(self._tail)

    def join(self, timeout: float | None = None) -> None:
        """Wait until everything written so far has been read (end of file), at most ``timeout``."""
        self._reader.join(timeout)

    def _read(self, fd: int) -> None:
        head = b""  # the unfinished line so far (at most _HEAD_BYTES of it)
        extra = 0  # bytes of that line beyond head: only counted, whatever the chunking
        try:
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                *ended, rest = chunk.split(b"\n")
                lines = []
                for part in ended:  # each ends the unfinished line
                    head, extra = _keep(head, part, extra)
                    lines.append(_text(head, extra))
                    head, extra = b"", 0
                head, extra = _keep(head, rest, extra)
                if lines:
                    self._pass(lines)
            if head or extra:
                self._pass([_text(head, extra)])
            if self._dropped:
                self._deliver([f"... {self._dropped} more lines from worker {self.worker_id} were not kept"])
        finally:
            os.close(fd)

    def _pass(self, lines: list[str]) -> None:
        with self._lock:
            self._tail.extend(lines)
        room = MAX_LINES - self._passed
        if room < len(lines):
            self._dropped += len(lines) - max(room, 0)
            lines = lines[: max(room, 0)]
        if lines:
            self._passed += len(lines)
            self._deliver(lines)

    def _deliver(self, lines: list[str]) -> None:
        try:
            self._sink(self.worker_id, lines)
        except Exception:
            log.exception("maggy: passing on worker %s's output failed", self.worker_id)


#: Bytes of a line kept to make its text from (enough for MAX_LINE_CHARS characters of UTF-8).
_HEAD_BYTES = 4 * MAX_LINE_CHARS


def _keep(head: bytes, more: bytes, extra: int) -> tuple[bytes, int]:
    """``head`` grown by ``more`` up to :data:`_HEAD_BYTES`; the bytes beyond are counted in ``extra``."""
    room = max(0, _HEAD_BYTES - len(head))
    return head + more[:room], extra + max(0, len(more) - room)


def _text(raw: bytes, extra: int = 0) -> str:
    """A line's text, cut to :data:`MAX_LINE_CHARS` characters saying how many bytes were cut."""
    text = raw.decode("utf-8", errors="replace").rstrip("\r")
    if len(text) <= MAX_LINE_CHARS and not extra:
        return text
    kept = text[:MAX_LINE_CHARS]
    cut = extra + len(raw) - len(kept.encode("utf-8", errors="replace"))
    return f"{kept}... [{cut} bytes cut]"
