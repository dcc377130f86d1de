"""Serve comm messages while the notebook cell that called ``lagom()`` blocks the kernel.

Why: ipykernel runs shell messages one at a time on the main thread. While a cell blocks in
``lagom()``, a click on a widget's stop button (a ``comm_msg``) waits behind the cell, i.e. until
the experiment is over. ``serve_comms_until(done)`` is the wait loop ``JupyterFrontend.wait`` runs
instead: every ``POLL_INTERVAL`` (10 ms) it takes the main shell's pending messages off the
kernel's own queue, runs at once the comm messages meant for comms (or comm targets) that exist
now, and gives every other message straight back to the kernel, in arrival order and ahead of
anything the kernel has not read yet. The kernel runs those after the cell, as it would have
anyway: a cell queued behind the ``lagom()`` cell still runs afterwards, with its own output.

Which kernel internals this relies on, per version (read from ipykernel's source; the versions
this module accepts are in ``_SUPPORTED_MAJORS``, anything else gets the plain wait):

ipykernel 7.x (checked on 7.4.0)
    The shell channel thread reads the shell socket and forwards each main-shell message, as raw
    frames, over an inproc PAIR socket to the main thread, where a ``zmq.eventloop.ZMQStream``
    (``kernel.shell_channel_thread.manager.get_shell_channel_to_subshell_pair(None).to_stream``)
    hands it to ``_async_in_context(partial(kernel.shell_main, None))`` on the main asyncio loop.
    While the cell blocks that loop, new messages stay in the PAIR socket. We take them with the
    stream's public ``on_recv`` + ``flush(zmq.POLLIN)`` (a collecting callback swapped in for the
    flush; the kernel's callback, read from the stream's ``_recv_callback``/``_recv_copy``, is
    restored right after; ``flush`` keeps the stream's edge-triggered poll state right). A
    message given back is passed to that callback and its coroutine scheduled as a task, as
    ZMQStream itself does; tasks start in creation order once the cell returns, and
    ``shell_main`` serialises requests on an ``asyncio.Lock`` whose waiters are FIFO, so given-
    back messages run after those the loop read before the cell blocked and before those it
    reads after the cell. Without a shell channel thread (no subshell support) the same is done
    on ``kernel.shell_stream``.
ipykernel 6.x (checked on 6.31.0)
    ``kernel.shell_stream`` (a ZMQStream on the shell ROUTER socket, main loop) calls
    ``kernel.schedule_dispatch(kernel.dispatch_shell, frames)``, which puts
    ``(index, dispatch, args)`` on ``kernel.msg_queue`` (a ``tornado.queues.Queue``) that
    ``dispatch_queue``/``process_one`` consume one at a time. We do what ``do_one_iteration``
    does (``shell_stream.flush(zmq.POLLIN)`` moves socket messages onto the queue), take every
    item with ``get_nowait`` and ``put_nowait`` the others back in order: the queue is empty in
    between and nothing else reads it, since ``process_one`` is inside our cell.
Both
    Messages are peeked with ``session.deserialize(content=False)`` (checks the signature but, as
    the kernel itself does when peeking, does not record it); only a message we run is
    deserialized in full, once, and one given back is deserialized by the kernel alone (Session
    rejects a signature seen twice). A comm message runs through ``kernel.shell_handlers[type]``
    (the comm manager's ``comm_open``/``comm_msg``/``comm_close``) with the shell parent set to
    it, as ``dispatch_shell`` does, and the cell's parent restored afterwards so the cell's own
    output stays in the cell. A ``comm_msg``/``comm_close`` for a comm not open yet, or a
    ``comm_open`` for a target not registered yet (say, one a queued cell will create), is given
    back like any other message, so it is not lost.

Fallback: not the main thread (a subshell, a user thread), no IPython kernel, a kernel other than
ipykernel (or its in-process kernel), an unknown major version, or internals not shaped as above
-> a plain wait. A failure inside the pump is logged and the wait goes on plainly: the pump
never breaks ``lagom``.

Interrupts: KeyboardInterrupt (the kernel's interrupt button sends SIGINT) propagates out of
``serve_comms_until``. The few lines that move messages between the kernel and our lists defer
SIGINT until they are done, so an interrupt cannot drop a message half-way; nothing is held
between two steps; comm handlers (user code) stay interruptible.

``await lagom_async(...)`` uses ``serve_comms_until_async``: ipykernel 7.4's ``shell_main``
itself dispatches comm messages while a top-level-await cell waits, so it only waits there; on
ipykernel 6 (checked on 6.31) a comm message would wait until that cell ends, so it pumps between
two sleeps (7.0-7.3 have no such dispatch in their ``shell_main`` either, by this project's
toolchain notes, and are not pumped: not checked here).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

log = logging.getLogger("maggy")

#: Seconds between two looks at the kernel's queue: the latency of a stop button is 10-20 ms.
POLL_INTERVAL = 0.01
#: Seconds between two checks of the asynchronous wait (the event loop runs in between).
ASYNC_POLL_INTERVAL = 0.02

#: ipykernel major versions whose internals this module knows (see the module docstring).
_SUPPORTED_MAJORS = (6, 7)

COMM_TYPES = frozenset({"comm_open", "comm_msg", "comm_close"})

_active_lock = threading.Lock()
_active = 0  # pumps serving right now (0 or 1: lagom runs one experiment per process)


def is_pumping() -> bool:
    """True while ``serve_comms_until`` is taking messages off the kernel's queue."""
    return _active > 0


def serve_comms_until(done: threading.Event, poll: float = POLL_INTERVAL) -> None:
    """Block until ``done`` is set, running comm messages that arrive meanwhile (see module doc).

    Called on the thread that runs the cell (``JupyterFrontend.wait``). Falls back to a plain
    wait where the pump is not possible. Raises KeyboardInterrupt on an interrupt (every message
    it took but did not run is back with the kernel by then).
    """
    global _active
    pump = open_pump()
    if pump is None:
        _plain_wait(done, poll)
        return
    with _active_lock:
        _active += 1
    try:
        while not done.wait(poll):
            try:
                pump.step()
            except Exception:
                log.exception("maggy: serving comm messages while the cell runs failed; waiting plainly")
                break
        _plain_wait(done, poll)  # returns at once unless the pump gave up
    finally:
        with _active_lock:
            _active -= 1


async def serve_comms_until_async(done: threading.Event, poll: float = ASYNC_POLL_INTERVAL) -> None:
    """Await until ``done`` is set, from a top-level-await cell (``await lagom_async(...)``),
    running comm messages that arrive meanwhile where the kernel itself would not.

    ipykernel 7.4 runs comm messages while a top-level-await cell waits: nothing to do but wait.
    ipykernel 6 runs shell messages strictly one after another (its ``process_one`` is awaiting
    this very cell), so there the pump takes comm messages off ``msg_queue`` between two sleeps,
    exactly as the blocking wait does. Elsewhere, or if the pump fails, a plain asynchronous wait.
    """
    global _active
    pump = open_pump() if _ipykernel_major() == 6 else None
    if pump is not None:
        with _active_lock:
            _active += 1
    try:
        while not done.is_set():
            if pump is not None:
                try:
                    pump.step()
                except Exception:
                    log.exception(
                        "maggy: serving comm messages while the cell awaits failed; waiting plainly"
                    )
                    pump = None
            await asyncio.sleep(poll)
    finally:
        if pump is not None:
            with _active_lock:
                _active -= 1


def _ipykernel_major() -> int | None:
    module = sys.modules.get("ipykernel")
    version = getattr(module, "version_info", None)
    return version[0] if version else None


def _plain_wait(done: threading.Event, poll: float) -> None:
    # maggy.frontend.plain_wait, inlined: this module must not need the engine to be importable.
    while not done.wait(poll):
        pass


# ---- sources: where a kernel version keeps the main shell's pending messages ------------------


class Source(Protocol):
    """The kernel's queue of pending main-shell messages, behind the three moves the pump needs."""

    #: Passed as ``stream`` to the comm handlers (what ``dispatch_shell`` would pass).
    reply_stream: Any

    def take(self) -> list[Any]:
        """Remove and return every pending item, in arrival order (the kernel will not see them)."""

    def frames(self, item: Any) -> Sequence[Any] | None:
        """The raw wire frames of a shell message item; None for anything else (given back as is)."""

    def replay(self, items: list[Any]) -> None:
        """Give ``items`` back, in this order, ahead of everything the kernel has not read yet."""


class StreamSource:
    """ipykernel 7.x: the main shell's ZMQStream (inproc PAIR from the shell channel thread)."""

    def __init__(self, stream: Any, loop: asyncio.AbstractEventLoop, reply_stream: Any) -> None:
        import zmq

        self._pollin = zmq.POLLIN
        self._stream = stream
        self._loop = loop
        self._callback: Callable[[Any], Any] = stream._recv_callback
        self._copy: bool = stream._recv_copy
        self.reply_stream = reply_stream

    def take(self) -> list[Any]:
        got: list[Any] = []
        self._stream.on_recv(got.append, copy=self._copy)
        try:
            self._stream.flush(self._pollin)
        finally:
            self._stream.on_recv(self._callback, copy=self._copy)
        return got

    def frames(self, item: Any) -> Sequence[Any]:
        return item

    def replay(self, items: list[Any]) -> None:
        # What ZMQStream._run_callback does with a coroutine callback; tasks start in creation order.
        for frames in items:
            task = self._loop.create_task(self._callback(frames))
            task.add_done_callback(_log_task_error)


class QueueSource:
    """ipykernel 6.x: ``kernel.msg_queue`` fed by ``kernel.shell_stream``."""

    def __init__(self, kernel: Any) -> None:
        import zmq

        self._pollin = zmq.POLLIN
        self._stream = kernel.shell_stream
        self._queue = kernel.msg_queue
        self._dispatch_shell = kernel.dispatch_shell
        self.reply_stream = kernel.shell_stream

    def take(self) -> list[Any]:
        self._stream.flush(self._pollin)  # socket -> msg_queue, as do_one_iteration does
        got: list[Any] = []
        while self._queue.qsize():
            got.append(self._queue.get_nowait())
        return got

    def frames(self, item: Any) -> Sequence[Any] | None:
        _index, dispatch, args = item
        if dispatch == self._dispatch_shell and len(args) == 1:
            return args[0]
        return None  # e.g. an event-loop advance (%gui): given back as is

    def replay(self, items: list[Any]) -> None:
        for item in items:
            self._queue.put_nowait(item)


def _log_task_error(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("maggy: a replayed shell message failed", exc_info=task.exception())


# ---- the pump ------------------------------------------------------------------------------


class CommPump:
    """Takes pending main-shell messages, runs comm messages now, gives the rest back in order.

    ``step`` on the kernel's main thread, as often as wanted. Nothing is held between two steps:
    within one step the messages that do not run are given back to the kernel, in arrival order,
    before anything else happens, so an exception or an interrupt can never strand them.
    """

    def __init__(self, kernel: Any, source: Source) -> None:
        self._kernel = kernel
        self._session = kernel.session
        self._source = source

    def step(self) -> int:
        """Run the comm messages pending now; returns how many ran."""
        with _DeferSigint() as interrupt:
            items = self._source.take()
            runnable, others = [], []
            for item in items:
                now = self._runnable(item)
                if now is None:
                    others.append(item)
                else:
                    runnable.append(now)
            if interrupt.pending:  # about to raise KeyboardInterrupt: run nothing, lose nothing
                self._source.replay(items)
                return 0
            self._source.replay(others)
        for idents, frames in runnable:
            self._run(idents, frames)  # outside the deferral: comm handlers are user code, interruptible
        return len(runnable)

    def _runnable(self, item: Any) -> tuple[list[bytes], list[Any]] | None:
        """(idents, frames) when ``item`` is a comm message to run now; None to give it back.

        Never raises: anything odd about an item means it goes back to the kernel untouched
        (which then reports what is wrong with it, as it would without us).
        """
        try:
            frames = self._source.frames(item)
            if frames is None:
                return None
            idents, rest = self._session.feed_identities(list(frames), copy=False)
            peek = self._session.deserialize(rest, content=False, copy=False)
            msg_type = peek["header"].get("msg_type")
            manager = getattr(self._kernel, "comm_manager", None)
            if msg_type not in COMM_TYPES or manager is None:
                return None
            content = self._session.unpack(peek["content"])
            if msg_type == "comm_open":
                ready = content.get("target_name") in manager.targets
            else:
                ready = content.get("comm_id") in manager.comms
        except Exception:
            return None
        return (idents, rest) if ready else None

    def _run(self, idents: list[bytes], frames: list[Any]) -> None:
        kernel = self._kernel
        try:
            msg = self._session.deserialize(frames, content=True, copy=False)  # the only full one
        except Exception:
            log.error("maggy: dropped an invalid comm message", exc_info=True)
            return
        handler = kernel.shell_handlers.get(msg["header"]["msg_type"])
        if handler is None:
            return
        saved_parent = kernel.get_parent("shell")
        saved_ident = kernel._parent_ident["shell"]
        kernel.set_parent(idents, msg, channel="shell")
        try:
            handler(self._source.reply_stream, idents, msg)
        except Exception:
            log.error("maggy: a comm handler failed while the cell runs", exc_info=True)
        finally:
            for stream in (sys.stdout, sys.stderr):
                if stream is not None:
                    stream.flush()  # the handler's output goes out under its own parent
            kernel.set_parent(saved_ident, saved_parent, channel="shell")


def open_pump(kernel: Any = None) -> CommPump | None:
    """A pump for this kernel's main shell, or None where it is not possible (see module doc).

    Must be called on the thread that would run it (the cell's thread). ``kernel`` defaults to
    the running IPython kernel.
    """
    if threading.current_thread() is not threading.main_thread() or is_pumping():
        return None
    if kernel is None:
        kernel = current_kernel()
        if kernel is None:
            return None
    try:
        source = _source_for(kernel)
    except Exception:
        log.debug("maggy: unexpected ipykernel internals; waiting plainly", exc_info=True)
        return None
    if source is None:
        return None
    return CommPump(kernel, source)


def current_kernel() -> Any:
    """The running IPython kernel object, or None outside a kernel."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    shell = ipython.get_ipython()
    return getattr(shell, "kernel", None)


def _source_for(kernel: Any) -> Source | None:
    """The version's source, or None when the kernel's internals are not the ones we know."""
    if not type(kernel).__module__.startswith("ipykernel.") or "inprocess" in type(kernel).__module__:
        return None
    import ipykernel
    from zmq.eventloop.zmqstream import ZMQStream

    major = ipykernel.version_info[0]
    if major not in _SUPPORTED_MAJORS:
        log.info("maggy: ipykernel %s is not known to the comm pump; waiting plainly", ipykernel.__version__)
        return None
    if not all(hasattr(kernel, a) for a in ("session", "shell_handlers", "set_parent", "get_parent")):
        return None
    if not set(kernel.shell_handlers) >= COMM_TYPES or "shell" not in kernel._parent_ident:
        return None
    if major == 6:
        queue, stream = getattr(kernel, "msg_queue", None), getattr(kernel, "shell_stream", None)
        ok = (
            isinstance(stream, ZMQStream)
            and all(hasattr(queue, a) for a in ("get_nowait", "put_nowait", "qsize"))
            and callable(getattr(kernel, "dispatch_shell", None))
        )
        return QueueSource(kernel) if ok else None
    channel_thread = getattr(kernel, "shell_channel_thread", None)
    if channel_thread is not None:
        manager = channel_thread.manager
        stream = manager.get_shell_channel_to_subshell_pair(None).to_stream
        reply_stream = manager.get_subshell_to_shell_channel_socket(None)
    else:
        stream = reply_stream = getattr(kernel, "shell_stream", None)
    if not isinstance(stream, ZMQStream):
        return None
    callback = getattr(stream, "_recv_callback", None)
    # A coroutine callback only schedules work; a plain one would run a replayed request right
    # here, inside the cell: never do that.
    if not inspect.iscoroutinefunction(callback) or not isinstance(getattr(stream, "_recv_copy", None), bool):
        return None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return StreamSource(stream, loop, reply_stream)


class _DeferSigint:
    """Hold SIGINT while messages move between the kernel and our lists; deliver it after.

    Main thread only (elsewhere, and when the handler is not a Python one, it does nothing).
    The held interrupt is re-delivered through the handler that was in place, so with
    ipykernel's ``default_int_handler`` it raises KeyboardInterrupt at the end of the block.
    """

    __slots__ = ("_previous", "pending")

    def __init__(self) -> None:
        self._previous: Any = None
        self.pending = False  #: a SIGINT arrived inside the block and will be delivered at its end

    def __enter__(self) -> _DeferSigint:
        if threading.current_thread() is not threading.main_thread():
            return self
        previous = signal.getsignal(signal.SIGINT)
        if previous is None:  # installed from C: cannot be restored, leave it alone
            return self
        self._previous = previous
        signal.signal(signal.SIGINT, self._hold)
        return self

    def _hold(self, signum: int, frame: Any) -> None:
        self.pending = True

    def __exit__(self, *exc: object) -> None:
        if self._previous is None:
            return
        previous, self._previous = self._previous, None
        signal.signal(signal.SIGINT, previous)
        if self.pending:
            self.pending = False
            if callable(previous):
                previous(signal.SIGINT, None)
            elif previous == signal.SIG_DFL:
                raise KeyboardInterrupt
