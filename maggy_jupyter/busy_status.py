"""Keep the kernel's status "busy" for as long as a blocking ``lagom`` cell runs.

JupyterLab >= 4.4 sends comm messages over a kernel subshell where the kernel supports them
(ipykernel 7): the Experiments panel's requests, a widget's events. ipykernel runs each on the
subshell's thread and publishes ``busy`` then ``idle`` for it, and JupyterLab's kernel status
shows the latest status of any request, so it reads "Idle" while the lagom cell still runs and a
user may think the experiment is over; creating that subshell (a control request) does the same.
While the cell blocks in :func:`keep_busy`, each ``idle`` the kernel publishes off the main
thread (a subshell's or the control thread's) is followed by a ``busy`` whose parent is the cell's
request, and one such ``busy`` is sent on entry: the status shows what the main shell is doing.

Only the kernel's ``_publish_status`` method (ipykernel 6 and 7 name it so) is wrapped, on this
kernel object, for the duration of the block; where it is missing or subshells are not supported
(ipykernel 6: comm messages run on the main thread, through the pump, with no status at all)
nothing is changed. Not used for ``lagom_async``: a background task cannot tell whether the cell
that started it still runs.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

log = logging.getLogger("maggy")


@contextlib.contextmanager
def keep_busy(kernel: Any) -> Iterator[None]:
    """Within the block, re-assert ``busy`` after every idle published off the main thread.

    Call on the thread running the cell; ``kernel`` is the IPython kernel or None (no-op).
    """
    original = getattr(kernel, "_publish_status", None)
    if (
        original is None
        or not getattr(kernel, "_supports_kernel_subshells", False)
        or "_publish_status" in vars(kernel)  # already wrapped (by an outer block) or replaced
    ):
        yield
        return
    cell_parent = kernel.get_parent("shell")
    main = threading.current_thread()
    # Held while re-publishing and while leaving the block, so that no "busy" can follow the
    # block's end (and with it the cell's own final "idle").
    lock = threading.Lock()
    active = True

    def publish_status(status: str, channel: str, parent: Any = None) -> None:
        original(status, channel, parent)
        if status != "idle" or threading.current_thread() is main:
            return
        with lock:
            if not active:
                return
            try:
                original("busy", "shell", cell_parent)
            except Exception:  # never let the status fix break the kernel's message handling
                log.debug("maggy: could not re-publish the busy status", exc_info=True)

    kernel._publish_status = publish_status
    # An idle published before this block (e.g. for the subshell JupyterLab creates, on the
    # control thread, when lagom opens its comm) is overridden at once.
    original("busy", "shell", cell_parent)
    try:
        yield
    finally:
        with lock:
            active = False
        del kernel._publish_status  # the class's method again
