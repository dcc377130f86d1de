"""A pre-imported parent of local workers: ``python -m maggy.worker.forkserver <socket fd>``.

Starting a worker interpreter and importing what it needs (cloudpickle, maggy's worker loop) takes
about 60 ms of CPU, once per worker and experiment. This process pays it once per kernel: it
imports those modules, then forks a worker for each request from the local backend.
A forked worker never shares user code with another: the server itself never runs any.

Requests and replies are JSON objects, one per message on a ``SOCK_SEQPACKET`` Unix socket
inherited from the backend (``maggy.backends.forkserver``):

- ``{"op": "spawn", "env": {...}, "cwd": str}`` with three file descriptors attached (the new
  worker's stdin, stdout and stderr). The child starts a session of its own, takes those as fds
  0-2, the given environment and working directory, and runs ``maggy.worker``'s main (which reads
  its bootstrap from stdin). Reply ``{"op": "spawned", "pid": int}`` or ``{"op": "error",
  "reason": str}``.
- ``{"op": "signal", "pid": int, "signal": int}``: signal a child not yet reaped, and its process
  group (never a recycled pid or group). No reply.
- Sent by the server when a child ends: ``{"op": "exit", "pid": int, "code": int}`` (``code`` as
  ``subprocess.Popen.returncode``: the exit status, or minus the signal number). Before reaping
  the child the server kills what is left of its process group (what its trials started).
- Sent once its imports are done: ``{"op": "ready"}``.

End of file on the socket (the backend's process ended or closed it) ends the server; running
workers are not affected (they leave when their driver goes).
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import socket
import sys
from typing import Any

#: Largest message the server reads (an environment is a few kB).
MAX_MESSAGE = 1 << 20


def main() -> int:
    # Ctrl-C in a terminal belongs to the driver; this process has its own session anyway.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import cloudpickle  # noqa: F401 - the point of this process: imported once, inherited by every fork

    import maggy.worker.__main__ as worker_main
    import maggy.worker.loop  # noqa: F401

    started_in = os.getcwd()  # `-m` put it first on sys.path, as it puts a fresh worker's cwd
    sock = socket.socket(fileno=int(sys.argv[1]))
    spawn = _serve(sock)
    if spawn is None:  # the backend went away
        return 0
    if sys.path and sys.path[0] == started_in:
        sys.path[0] = spawn["cwd"]
    return _become_worker(spawn, worker_main.main)


def _serve(sock: socket.socket) -> dict[str, Any] | None:
    """Serve requests until end of file (returns None); in a forked child, return its request."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so that the wakeup fd is written
    children: set[int] = set()
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    _send(sock, {"op": "ready"})
    while True:
        for key, _ in selector.select():
            if key.fileobj == wake_r:
                os.read(wake_r, 4096)
                _reap(sock, children)
                continue
            try:
                data, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 3)
            except OSError:
                data, fds = b"", []
            if not data:
                return None
            request = json.loads(data)
            if request["op"] == "signal":
                if request["pid"] in children:
                    _signal_child(request["pid"], request["signal"])
                continue
            pid = _fork(request, fds)
            if pid == 0:
                selector.close()
                sock.close()
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                os.close(wake_r)
                os.close(wake_w)
                return request
            if pid > 0:
                children.add(pid)
                _send(sock, {"op": "spawned", "pid": pid})
            else:
                _send(sock, {"op": "error", "reason": f"fork failed (errno {-pid})"})


def _fork(request: dict[str, Any], fds: list[int]) -> int:
    """Fork a child for ``request`` (0 in the child); the parent closes the passed fds."""
    try:
        pid = os.fork()
    except OSError as exc:
        pid = -(exc.errno or 1)
    if pid == 0:
        os.setsid()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        return 0
    for fd in fds:
        os.close(fd)
    return pid


def _signal_child(pid: int, signum: int) -> None:
    """Signal unreaped child ``pid`` and its process group (its session, once it ran ``setsid``;
    the child itself is signalled by pid too in case it has not yet)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def _reap(sock: socket.socket, children: set[int]) -> None:
    while children:
        try:
            # Look without reaping: while the child is a zombie its group id is still its own.
            exited = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if exited is None:
            return
        pid = exited.si_pid
        if pid in children:
            _signal_child(pid, signal.SIGKILL)  # what its trials left running: orphans now
        _, status = os.waitpid(pid, 0)
        children.discard(pid)
        _send(sock, {"op": "exit", "pid": pid, "code": os.waitstatus_to_exitcode(status)})


def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    # OSError: the backend is gone; end of file on the next read ends the server.
    with contextlib.suppress(OSError):
        sock.send(json.dumps(message).encode())


def _become_worker(request: dict[str, Any], worker_main: Any) -> int:
    """In the forked child: take the request's environment and directory, run the worker."""
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    return int(worker_main())


if __name__ == "__main__":
    sys.exit(main())
