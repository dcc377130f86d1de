"""The local backend: N long-lived worker processes on this machine (no Spark, no Java).

Each worker is ``python -m maggy.worker`` in a new session (so a terminal's Ctrl-C reaches only
the driver, which then stops the workers itself), bootstrapped over its stdin. A monitor thread
restarts a worker that exits while the experiment still runs, whatever its exit code, unless it
left (was answered DONE); the driver marks its trial LOST through the closed control connection.
If no worker can be had (starts that die before registering, a start that fails, no worker left
while trials remain), the experiment ends FAILED with a message saying so, never waits forever.

A worker's session is its process group: whatever its trials started (multiprocessing, DataLoader
workers, ``subprocess``) is in it unless it left it (``setsid``, ``start_new_session``). Killing a
worker (trial_timeout, a lost worker, a stop, an interrupt, the end) signals the whole group, and
when a worker exits its group is killed before it is reaped, so no trial's child outlives it.
While a worker is unreaped its pid cannot be reused, so neither can its group id: a recycled
group is never signalled.

Warm start: once the first experiment's workers have registered (or it ended), a fork server (see
``maggy.backends.forkserver``) is started in the background; later workers are forked from it,
pre-imported, unless ``MAGGY_FORKSERVER=0``. Either way a worker runs the same code with the same
environment and working directory. Its stdout and stderr are a pipe of its own
(:mod:`maggy.backends.worker_output`): what it writes outside trials reaches the driver as
``Supervision.worker_output`` lines.

At a graceful end, ``lagom`` returns once every worker has exited or left (answered DONE, and
its control connection closed after it): such a worker talks to the driver no more, and its
interpreter's exit (about 10 ms) is awaited by a background reaper. Workers still starting are waited for, so that none finds the
driver gone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cloudpickle

import maggy
from maggy._threads import join_if_started
from maggy.backends import forkserver
from maggy.backends.base import DEFAULT_DRIVER_HOST, Supervision, pack_training_function
from maggy.backends.worker_output import OutputPipe

log = logging.getLogger("maggy")

#: Worker starts in a row that die before registering, after which the experiment fails.
_MAX_FAILED_STARTS = 3

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

#: Seconds a worker gets to exit after DONE or terminate() before it is killed.
_EXIT_GRACE = 3.0

#: Most seconds the end of an experiment waits for the workers' last output lines.
_OUTPUT_GRACE = 0.5

#: Seconds after a worker's exit with code 0 before it is taken to have left without DONE (and is
#: replaced): the driver may not have seen its connection close yet.
_LEAVE_GRACE = 0.5

#: Seconds the experiment may run with no worker process at all before it fails.
_NO_WORKER_GRACE = 2.0


class _FreshWorker:
    """A worker started as a fresh interpreter, leading a session (and process group) of its own.

    The subset of ``subprocess.Popen`` the backend uses. Signals go to the whole group; once the
    worker has exited, :meth:`poll` kills what is left of its group, then reaps it (until then its
    pid, hence its group id, cannot be recycled). One lock orders signals against the reap.
    """

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self._popen = popen
        self.pid = popen.pid
        self._lock = threading.Lock()

    @property
    def returncode(self) -> int | None:
        return self._popen.returncode

    def poll(self) -> int | None:
        with self._lock:
            if self._popen.returncode is None and _has_exited(self._popen):
                _signal_group(self.pid, signal.SIGKILL)  # the trials' leftovers: orphans now
                self._popen.wait()
            return self._popen.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"maggy worker {self.pid}", timeout or 0.0)
            time.sleep(0.005)
        return code

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def _signal(self, signum: int) -> None:
        with self._lock:
            if self._popen.returncode is None:
                _signal_group(self.pid, signum)


def _has_exited(popen: subprocess.Popen[bytes]) -> bool:
    """Whether ``popen`` has exited, without reaping it where the platform allows."""
    if not hasattr(os, "waitid"):  # no way to look without reaping: the group is signalled after
        return popen.poll() is not None
    try:
        return os.waitid(os.P_PID, popen.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:  # reaped already (by popen itself)
        return True


def _signal_group(pgid: int, signum: int) -> None:
    """Signal process group ``pgid`` (empty or gone: nothing to do)."""
    killpg = getattr(os, "killpg", None)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if killpg is not None:
            killpg(pgid, signum)
        else:
            os.kill(pgid, signum)


#: A worker process: started fresh, or forked by the fork server.
_Process = _FreshWorker | forkserver.ForkedWorker


@dataclass
class _Proc:
    popen: _Process
    attempt: int
    output: OutputPipe
    handled: bool = False
    exited_at: float | None = None  # monotonic time the monitor first saw it exited


class LocalBackend:
    """Runs the worker loop in local processes; see the module docstring."""

    name = "local"

    def __init__(self, num_workers: int | None = None) -> None:
        if num_workers is not None and (
            isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1
        ):
            raise ValueError(f"num_workers must be a positive int or None, got {num_workers!r}")
        self.requested_workers = num_workers
        self._procs: dict[str, _Proc] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._monitor: threading.Thread | None = None
        self._boot: dict[str, Any] = {}
        self._num_workers = 1
        self._restarts = 0
        self._warm_started = False

    def driver_host(self) -> str:
        """Loopback: local workers need nothing wider, and nothing else can reach the driver."""
        return DEFAULT_DRIVER_HOST

    def worker_count(self, num_trials: int) -> int:
        """How many workers to start: the number asked for, else min(num_trials, CPU count)."""
        wanted = self.requested_workers or (os.cpu_count() or 1)
        return max(1, min(wanted, num_trials))

    def pack(self, map_fun: Callable[..., Any]) -> bytes:
        """cloudpickle ``map_fun`` (functions and closures defined in a notebook work)."""
        return pack_training_function(map_fun, "worker processes")

    def start(
        self,
        address: tuple[str, int],
        secret: bytes,
        packed_fn: bytes,
        hb_interval: float,
        num_workers: int,
        supervision: Supervision,
    ) -> None:
        """Start ``num_workers`` processes serving the driver at ``address`` (see Backend.start)."""
        self._boot = {
            "address": list(address),
            "secret": secret,
            "map_fun": packed_fn,
            "hb_interval": hb_interval,
            "sys_path": [p for p in sys.path if p],
        }
        self._supervision = supervision
        self._num_workers = num_workers
        for i in range(num_workers):
            self._spawn(f"local-{i}")
        self._monitor = threading.Thread(target=self._watch, name="maggy-local-monitor", daemon=True)
        self._monitor.start()

    def _worker_env(self) -> dict[str, str]:
        env = dict(os.environ)
        # The worker must import this very maggy, installed or not.
        pkg_root = os.path.dirname(os.path.dirname(os.path.abspath(maggy.__file__)))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_root, env.get("PYTHONPATH", "")) if p)
        # N workers each running a BLAS with one thread per core would oversubscribe the CPUs;
        # share the cores out unless the user chose a thread count.
        threads = str(max(1, (os.cpu_count() or 1) // self._num_workers))
        for var in _THREAD_VARS:
            env.setdefault(var, threads)
        return env

    def _spawn(self, worker_id: str, attempt: int = 0) -> None:
        env = self._worker_env()
        boot = cloudpickle.dumps({**self._boot, "worker_id": worker_id, "attempt": attempt})
        output = OutputPipe(worker_id, self._supervision.worker_output)
        try:
            server = forkserver.shared_server()
            forked = server.spawn(env, output.write_fd) if server is not None else None
            proc: _Process
            if forked is not None:
                proc, stdin_fd = forked
                with os.fdopen(stdin_fd, "wb") as stdin:
                    stdin.write(boot)
            else:
                popen = subprocess.Popen(
                    [sys.executable, "-m", "maggy.worker"],
                    stdin=subprocess.PIPE,
                    stdout=output.write_fd,
                    stderr=output.write_fd,
                    env=env,
                    start_new_session=True,
                )
                assert popen.stdin is not None
                popen.stdin.write(boot)
                popen.stdin.close()
                proc = _FreshWorker(popen)
        finally:
            output.started()  # the worker has its copies (or none: the reader then ends at once)
        with self._lock:
            self._procs[worker_id] = _Proc(proc, attempt, output)

    def _watch(self) -> None:
        """Replace workers that exit while the experiment runs; fail it when none can be had."""
        failed_starts = 0
        alone_since: float | None = None  # since when no worker process is left
        supervision = self._supervision
        while not self._stopping.wait(0.05):
            self._warm_up_when_registered()
            now = time.monotonic()
            with self._lock:
                procs = [(wid, p) for wid, p in self._procs.items() if not p.handled]
            for worker_id, proc in procs:
                code = proc.popen.poll()
                if code is None:
                    continue
                if proc.exited_at is None:
                    proc.exited_at = now
                if (
                    self._stopping.is_set()
                    or not supervision.is_running()
                    or supervision.has_left(worker_id, proc.attempt)
                ):
                    proc.handled = True  # it left after DONE, or nothing wants a worker any more
                    continue
                if code == 0 and now - proc.exited_at < _LEAVE_GRACE:
                    continue  # its DONE may still be on the way to has_left
                proc.handled = True
                if supervision.has_registered(worker_id, proc.attempt):
                    failed_starts = 0
                else:
                    failed_starts += 1
                    if failed_starts >= _MAX_FAILED_STARTS:
                        proc.output.join(timeout=1.0)  # its last words, read to the end
                        tail = proc.output.tail()
                        said = "\n".join(tail) if tail else "(it wrote nothing)"
                        supervision.fail(
                            f"worker processes exit before reaching the driver (exit code {code}, "
                            f"{failed_starts} times in a row); the last one wrote:\n{said}"
                        )
                        return
                log.warning("maggy: worker %s exited with code %s; starting a replacement", worker_id, code)
                self._restarts += 1
                try:
                    self._spawn(worker_id, proc.attempt + 1)
                except OSError as exc:
                    supervision.fail(f"cannot start a replacement worker process ({exc})")
                    return
            if self._stopping.is_set() or not supervision.is_running() or self._any_worker():
                alone_since = None
            elif alone_since is None:
                alone_since = now
            elif now - alone_since >= _NO_WORKER_GRACE:
                supervision.fail(
                    "every worker process has left while trials remain, and none was replaced; "
                    "the experiment cannot go on (please report this as a maggy bug)"
                )
                return

    def _any_worker(self) -> bool:
        """Whether a worker process runs, or one that exited awaits the monitor's decision."""
        with self._lock:
            return any(not p.handled or p.popen.poll() is None for p in self._procs.values())

    def _warm_up_when_registered(self) -> None:
        """Start the fork server for later experiments once this one's workers run (not before:
        its imports would compete with theirs for the CPUs)."""
        if self._warm_started:
            return
        with self._lock:
            procs = list(self._procs.items())
        if all(self._supervision.has_registered(wid, p.attempt) for wid, p in procs):
            self._warm_started = True
            forkserver.warm_up(self._worker_env())

    def kill_worker(self, worker_id: str) -> None:
        """Kill one worker and its process group (hung or over its trial timeout); the monitor
        starts a replacement.

        Only a start that registered is killed: the driver speaks of registrations, and a start
        not yet registered is a replacement for the (dead) one it means.
        """
        with self._lock:
            proc = self._procs.get(worker_id)
        if proc is None or not self._supervision.has_registered(worker_id, proc.attempt):
            return
        if proc.popen.poll() is None:
            proc.popen.kill()

    @property
    def restarts(self) -> int:
        return self._restarts

    def shutdown(self, graceful: bool = True) -> None:
        """Stop every worker; with ``graceful`` let them leave on their own after DONE first.

        Graceful: returns once each worker has exited or left (see the module
        docstring); the rest get ``_EXIT_GRACE`` s, then are terminated (and killed if need be).
        """
        self._stopping.set()
        join_if_started(self._monitor, timeout=5)
        if not self._warm_started:  # an experiment too short for the monitor to see it run
            self._warm_started = True
            forkserver.warm_up(self._worker_env())
        with self._lock:
            procs = [(worker_id, p.popen, p.attempt) for worker_id, p in self._procs.items()]
        if not graceful:
            _end([popen for _, popen, _ in procs], grace=0.0)
            self._read_last_output()  # a crash's or a stopped trial's last words
            return
        # Typically the last worker's DONE is still on its way when the experiment ends: poll
        # briefly rather than wait for each exit.
        deadline = time.monotonic() + _EXIT_GRACE
        waiting = procs
        while True:
            waiting = [
                (worker_id, popen, attempt)
                for worker_id, popen, attempt in waiting
                if popen.poll() is None and not self._supervision.has_left(worker_id, attempt)
            ]
            if not waiting or time.monotonic() >= deadline:
                break
            time.sleep(0.001)
        late = [popen for _, popen, _ in waiting]
        gone = [popen for _, popen, _ in procs if popen not in late]
        if gone:
            threading.Thread(
                target=_end, args=(gone, _EXIT_GRACE), name="maggy-local-reaper", daemon=True
            ).start()
        _end(late, grace=0.0)
        self._read_last_output()

    def _read_last_output(self) -> None:
        """Let the output readers pass on what the workers wrote last (their pipes end when they
        exit, about 10 ms after DONE), so it is published before the driver closes; at most
        ``_OUTPUT_GRACE`` s in all (a trial's child that kept the pipe open holds it no longer)."""
        deadline = time.monotonic() + _OUTPUT_GRACE
        with self._lock:
            outputs = [p.output for p in self._procs.values()]
        for output in outputs:
            output.join(timeout=max(0.0, deadline - time.monotonic()))


def _end(procs: list[_Process], grace: float) -> None:
    """Give ``procs`` ``grace`` s to exit, then terminate them, then kill those that ignore it."""
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=_EXIT_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
