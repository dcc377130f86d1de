"""What worker processes wrote outside trials, folded per worker under the live view.

A library's start-up logs (TensorFlow's, when a trial imports it) used to land under the view as
one pink stderr block that read like an error. They arrive as ``WorkerOutput`` events
(:mod:`maggy.backends.worker_output`); :class:`WorkerOutputLog` keeps each worker's last lines
(pure, folded under the view's lock) and :class:`WorkerOutputPane` shows them in a collapsed
accordion, one section per worker, hidden until a worker has written something.
"""

from __future__ import annotations

import collections

from ipywidgets import HTML, Accordion, Layout

from . import _format as fmt

#: Lines kept and shown per worker (the latest).
LINES_PER_WORKER = 500


class WorkerOutputLog:
    """Each worker's last :data:`LINES_PER_WORKER` lines and its line count. Not thread-safe:
    the view calls it under its lock."""

    def __init__(self, lines_per_worker: int = LINES_PER_WORKER) -> None:
        self._lines: dict[str, collections.deque[str]] = {}
        self._counts: dict[str, int] = {}
        self._limit = lines_per_worker
        self._changed = False

    def add(self, worker_id: str, lines: list[str]) -> None:
        self._lines.setdefault(worker_id, collections.deque(maxlen=self._limit)).extend(lines)
        self._counts[worker_id] = self._counts.get(worker_id, 0) + len(lines)
        self._changed = True

    def take(self) -> list[tuple[str, int, list[str]]] | None:
        """``(worker_id, lines written, last lines)`` per worker, by worker id, if anything came
        since the last call; else None."""
        if not self._changed:
            return None
        self._changed = False
        return [(wid, self._counts[wid], list(self._lines[wid])) for wid in sorted(self._lines)]


class WorkerOutputPane:
    """The accordion; ``show`` is called only from the view's redraw."""

    def __init__(self) -> None:
        self.widget = Accordion(children=(), layout=Layout(display="none"))
        self._texts: dict[str, HTML] = {}

    def show(self, workers: list[tuple[str, int, list[str]]]) -> None:
        for worker_id, _, _ in workers:
            if worker_id not in self._texts:
                self._texts[worker_id] = HTML(layout=Layout(max_height="240px", overflow="auto"))
        with self.widget.hold_sync():
            if len(self.widget.children) != len(self._texts):
                self.widget.children = tuple(self._texts[wid] for wid, _, _ in workers)
            self.widget.titles = tuple(
                f"worker output: {wid} ({count} line{'s' if count != 1 else ''})" for wid, count, _ in workers
            )
            self.widget.layout.display = "" if workers else "none"
        for worker_id, count, lines in workers:
            shown = f"… {count - len(lines)} earlier lines not shown\n" if count > len(lines) else ""
            body = fmt.esc(shown + "\n".join(lines))
            self._texts[worker_id].value = (
                f'<pre style="margin:0;font-size:0.85em;white-space:pre-wrap;color:var(--jp-ui-font-color2)">'
                f"{body}</pre>"
            )
