"""Thread helpers for the parts that must end cleanly whenever a Ctrl-C lands."""

from __future__ import annotations

import threading


def join_if_started(thread: threading.Thread | None, timeout: float | None = None) -> None:
    """Join ``thread`` for at most ``timeout`` seconds; nothing to do if it never started.

    A KeyboardInterrupt can land between creating a thread and starting it (or inside
    ``start()`` before the new thread says it runs). The shutdown that follows must still
    release everything else, so a thread that is not running is skipped instead of raising
    ``RuntimeError("cannot join thread before it is started")``. Every thread this is used for
    is a daemon that also watches a stop flag, so one that starts late ends on its own.
    """
    if thread is None:
        return
    try:
        thread.join(timeout)
    except RuntimeError:
        if thread is threading.current_thread():
            raise
