"""The local backend's warm start: workers forked from a pre-imported server process.

One :class:`ForkServer` per kernel (``python -m maggy.worker.forkserver``, see that module and
docs/protocol.md for the messages) is started in the background once the first experiment's
workers registered (or it ended). Once it is ready, later workers are forked from it and reach the
driver about 10 ms after they are asked for, instead of about 60 ms for starting an interpreter
and importing cloudpickle and maggy. Anything it cannot serve falls back to a fresh process, so a
missing or dead server only costs that time back:

- it is used only while the ``PYTHON*`` environment variables, the interpreter and maggy's
  location are those it started with (they shape an interpreter at start, which a fork inherits);
  otherwise it is replaced;
- each forked worker gets the environment, working directory, stdout and stderr of the backend's
  process at the time of the spawn, as a fresh process would;
- a :class:`ForkedWorker` offers what the backend uses of ``subprocess.Popen`` (``pid``,
  ``returncode``, ``poll``, ``wait``, ``terminate``, ``kill``); exit codes come from the server,
  which alone reaps (and signals) its children, so a recycled pid is never signalled;
- each forked worker leads a session of its own; the server signals the worker's whole process
  group, and kills what is left of it when the worker exits (see ``maggy.worker.forkserver``).
  Once the server is gone, a worker is signalled through a pidfd, and its group while it runs;
  when it exits, what is left of its group is killed by group id (its parent, init, reaps it:
  the group id is then ours only while a member lives, the best that can be done).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from typing import Any

log = logging.getLogger("maggy")

#: Seconds a spawn waits for the server's reply before falling back to a fresh process.
_SPAWN_TIMEOUT = 5.0


class ForkedWorker:
    """A worker process forked by the server; the subset of ``subprocess.Popen`` the backend uses."""

    def __init__(self, server: ForkServer, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._server = server
        self._exited = threading.Event()
        self._pidfd: int | None = None  # set once the server is gone: signals go through it
        self._pidfd_lock = threading.Lock()  # a signal never uses the pidfd as it is closed

    def _set_exit(self, code: int) -> None:
        self.returncode = code
        self._exited.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._exited.wait(timeout):
            raise subprocess.TimeoutExpired(f"maggy worker {self.pid}", timeout or 0.0)
        assert self.returncode is not None
        return self.returncode

    def terminate(self) -> None:
        self._server.signal(self, signal.SIGTERM)

    def kill(self) -> None:
        self._server.signal(self, signal.SIGKILL)


def _fingerprint() -> dict[str, Any]:
    """What a forked worker inherits from the server's start and cannot be changed after it."""
    import maggy

    return {
        "python": sys.executable,
        "maggy": os.path.dirname(os.path.abspath(maggy.__file__)),
        "env": {k: v for k, v in os.environ.items() if k.startswith("PYTHON")},
    }


class ForkServer:
    """A running fork server process and the thread that reads its messages."""

    def __init__(self, env: dict[str, str]) -> None:
        self.fingerprint = _fingerprint()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._sock = ours
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "maggy.worker.forkserver", str(theirs.fileno())],
                stdin=subprocess.DEVNULL,
                env=env,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
        finally:
            theirs.close()
        self.ready = threading.Event()
        self.closed = threading.Event()
        self._spawn_lock = threading.Lock()  # one spawn at a time: replies come in request order
        self._state_lock = threading.Lock()  # _workers and _replies, shared with the reader thread
        self._replies: list[ForkedWorker | str] = []  # a spawn's outcome: the worker, or why not
        self._reply = threading.Event()
        self._workers: dict[int, ForkedWorker] = {}  # forked, not yet reported as exited
        self._reader = threading.Thread(target=self._read, name="maggy-forkserver", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self._proc.pid

    def usable(self) -> bool:
        return self.ready.is_set() and not self.closed.is_set() and self.fingerprint == _fingerprint()

    def spawn(self, env: dict[str, str], output: int | None = None) -> tuple[ForkedWorker, int] | None:
        """Fork a worker with ``env``, this process's cwd, and ``output`` (a file descriptor, kept
        open: the worker gets copies) as its stdout and stderr, else this process's.

        Returns the worker and the write end of its stdin (the caller writes the bootstrap and
        closes it), or None if the server failed (the caller starts a fresh process instead).
        """
        stdin_r, stdin_w = os.pipe()
        fds = [
            stdin_r,
            _inheritable(1 if output is None else output),
            _inheritable(2 if output is None else output),
        ]
        try:
            outcome = self._request_spawn(env, fds)
        finally:
            for fd in fds:  # the server holds its own copies now
                os.close(fd)
        if isinstance(outcome, str):
            log.debug("maggy: fork server spawn failed (%s); starting a fresh worker process", outcome)
            os.close(stdin_w)
            return None
        return outcome, stdin_w

    def _request_spawn(self, env: dict[str, str], fds: list[int]) -> ForkedWorker | str:
        request = json.dumps({"op": "spawn", "env": env, "cwd": os.getcwd()}).encode()
        with self._spawn_lock:
            self._reply.clear()
            try:
                socket.send_fds(self._sock, [request], fds)
            except OSError as exc:
                self._close()
                return f"cannot reach the fork server ({exc})"
            if not self._reply.wait(_SPAWN_TIMEOUT):
                self._close()  # a late reply would be taken for the next request's
                return "the fork server did not answer"
            with self._state_lock:
                return self._replies.pop(0) if self._replies else "the fork server ended"

    def signal(self, worker: ForkedWorker, signum: int) -> None:
        """Have the server signal ``worker`` (it does so only while the child is unreaped); once the
        server is gone, signal it through the pidfd taken then (never a recycled pid either)."""
        if worker.returncode is not None:
            return
        with worker._pidfd_lock, contextlib.suppress(OSError):
            pidfd = worker._pidfd
            if pidfd is not None:
                if not _has_ended(pidfd):  # while it runs, its group id is its own
                    with contextlib.suppress(OSError):
                        os.killpg(worker.pid, signum)
                signal.pidfd_send_signal(pidfd, signum)
            elif not self.closed.is_set():
                self._sock.send(
                    json.dumps({"op": "signal", "pid": worker.pid, "signal": int(signum)}).encode()
                )

    def close(self) -> None:
        """End the server (forked workers are not affected); idempotent."""
        self._close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=5)

    def _close(self) -> None:
        self.closed.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)

    def _read(self) -> None:
        while True:
            try:
                data = self._sock.recv(1 << 16)
            except OSError:
                data = b""
            if not data:
                break
            message = json.loads(data)
            op = message["op"]
            with self._state_lock:
                if op == "ready":
                    self.ready.set()
                elif op == "exit":
                    exited = self._workers.pop(message["pid"], None)
                    if exited is not None:
                        exited._set_exit(message["code"])
                elif op == "spawned":
                    worker = self._workers[message["pid"]] = ForkedWorker(self, message["pid"])
                    self._replies.append(worker)
                    self._reply.set()
                else:
                    self._replies.append(str(message.get("reason", "the fork server refused")))
                    self._reply.set()
        self.closed.set()
        self._reply.set()
        with contextlib.suppress(OSError):
            self._sock.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=5)  # reap it: it has ended, or ends now that its socket closed
        # The server is gone and reports no more exits: watch its children's pids instead.
        with self._state_lock:
            orphans = list(self._workers.values())
            self._workers.clear()
        for orphan in orphans:
            threading.Thread(target=_watch_orphan, args=(orphan,), daemon=True).start()


def _watch_orphan(worker: ForkedWorker) -> None:
    """Mark ``worker`` ended (exit status unknown: 1) once it has exited; until then, signal it
    through a pidfd (its parent, the server, is gone and reaps it no more)."""
    try:
        fd = os.pidfd_open(worker.pid)
    except OSError:  # already gone
        worker._set_exit(1)
        return
    import select

    worker._pidfd = fd
    try:
        select.select([fd], [], [])
    finally:
        with worker._pidfd_lock:
            worker._pidfd = None
            os.close(fd)
    # What its trials left running; the worker is gone, so its group id is only held by them.
    with contextlib.suppress(OSError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker._set_exit(1)


def _has_ended(pidfd: int) -> bool:
    """Whether the process behind ``pidfd`` has exited (its pidfd reads ready)."""
    import select

    return bool(select.select([pidfd], [], [], 0)[0])


def _inheritable(fd: int) -> int:
    """A duplicate of ``fd`` to hand to a worker, or of /dev/null if ``fd`` is closed."""
    try:
        return os.dup(fd)
    except OSError:
        return os.open(os.devnull, os.O_RDWR)


_shared: ForkServer | None = None
_shared_lock = threading.Lock()


def shared_server() -> ForkServer | None:
    """This process's fork server if it is ready and still fits (see the module docstring)."""
    with _shared_lock:
        server = _shared
    return server if server is not None and server.usable() else None


def enabled() -> bool:
    """Whether workers may be forked here: Linux, and not turned off with ``MAGGY_FORKSERVER=0``."""
    return sys.platform.startswith("linux") and os.environ.get("MAGGY_FORKSERVER", "1") != "0"


def warm_up(env: dict[str, str]) -> None:
    """Start this process's fork server in the background unless a fitting one runs."""
    global _shared
    if not enabled():
        return
    with _shared_lock:
        old = _shared
        if old is not None and not old.closed.is_set() and old.fingerprint == _fingerprint():
            return
        try:
            _shared = ForkServer(env)
        except OSError as exc:
            log.debug("maggy: no fork server (%s)", exc)
            _shared = None
    if old is not None:
        old.close()


@atexit.register
def _close_shared() -> None:
    with _shared_lock:
        server = _shared
    if server is not None:
        server.close()
