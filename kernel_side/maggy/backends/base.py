"""What the driver needs from a backend (local processes, Spark executors).

A backend starts workers that run :func:`maggy.worker.run_worker` against the driver's address
with the experiment's secret, replaces workers that end while the experiment runs (whatever their
exit code, unless they left after DONE: see ``Supervision.has_left``), kills a worker on request,
and stops them all at the end. If it cannot keep a worker running it ends the experiment with
``Supervision.fail`` rather than let the driver wait for workers that will never come. It never
decides about trials: the driver does. It also says which interface the driver binds
(:meth:`Backend.driver_host`): the one its workers can reach, and no wider.

Registrations: a worker id outlives its processes (a replacement registers under it, with a
higher ``attempt``). The driver ties every control connection to the registration it carried,
so a dead start's connection (held open by a process it forked, or closed late) never affects
its replacement; a backend needs nothing for that but to count attempts up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast


@dataclass(frozen=True)
class Supervision:
    """Callbacks the driver gives a backend.

    ``is_running()``: whether the experiment still wants workers (a dead one is replaced);
    ``has_registered(worker_id, attempt)``: whether that worker start reached the driver;
    ``fail(message)``: end the experiment as FAILED (e.g. workers cannot even start);
    ``worker_info(worker_id)``: the ``info`` that worker's latest REG carried (empty if none),
    e.g. the Spark task attempt to kill;
    ``has_left(worker_id, attempt)``: whether that worker start was answered DONE and has closed
    its control connection (it exits without talking to the driver again);
    ``worker_output(worker_id, lines)``: lines a worker process wrote outside a trial's capture
    (see :mod:`maggy.backends.worker_output`), for a backend that collects them; any thread.
    """

    is_running: Callable[[], bool]
    has_registered: Callable[[str, int], bool]
    fail: Callable[[str], None]
    worker_info: Callable[[str], dict[str, Any]] = lambda worker_id: {}
    has_left: Callable[[str, int], bool] = lambda worker_id, attempt: False
    worker_output: Callable[[str, list[str]], None] = lambda worker_id, lines: None


#: Where the driver listens when a backend does not say: loopback, reachable from local workers only.
DEFAULT_DRIVER_HOST = "127.0.0.1"


class Backend(Protocol):
    """The backend contract. A user backend may subclass it (and inherits the defaults of the
    members that have one) or just have the members: ``lagom(backend=obj)`` uses it as is."""

    name: str

    def driver_host(self) -> str:
        """The address the driver binds: one its workers can reach, never a wildcard by default.

        Called once per experiment, before :meth:`start`, on the thread that runs ``lagom``.
        Default: :data:`DEFAULT_DRIVER_HOST` (loopback), which suits workers on this machine; a
        backend object that does not subclass Backend and lacks this method gets the same
        default, from :func:`driver_host_of`.
        """
        return DEFAULT_DRIVER_HOST

    def worker_count(self, num_trials: int) -> int:
        """How many workers to start for ``num_trials`` trials."""

    def pack(self, map_fun: Callable[..., Any]) -> bytes:
        """Serialise the training function for the workers; ValueError if it cannot be (checked
        before the experiment is registered, so a bad function costs nothing)."""

    def start(
        self,
        address: tuple[str, int],
        secret: bytes,
        packed_fn: bytes,
        hb_interval: float,
        num_workers: int,
        supervision: Supervision,
    ) -> None:
        """Start ``num_workers`` workers serving the driver at ``address``."""

    def kill_worker(self, worker_id: str) -> None:
        """Kill one worker now (hung, or over its trial timeout), with what its trials started
        where the backend can (the local backend: the worker's process group)."""

    def shutdown(self, graceful: bool = True) -> None:
        """Stop every worker; ``graceful`` first lets them leave on their own after DONE."""


def driver_host_of(backend: object) -> str:
    """Where the driver listens for ``backend``: its :meth:`Backend.driver_host`, or the default
    (:data:`DEFAULT_DRIVER_HOST`) for a backend object that does not define one."""
    # The one place the default is applied to objects that have the other members only.
    if hasattr(backend, "driver_host"):
        return cast(Backend, backend).driver_host()
    return DEFAULT_DRIVER_HOST


def pack_training_function(
    map_fun: Callable[..., Any], destination: str, dumps: Callable[[Any], bytes] | None = None
) -> bytes:
    """Pickle ``map_fun`` for ``destination`` (e.g. "worker processes") with ``dumps`` (default
    ``cloudpickle.dumps``): functions and closures defined in a notebook work. ValueError, saying
    what to change, if it cannot be."""
    if dumps is None:
        import cloudpickle

        dumps = cloudpickle.dumps
    try:
        return dumps(map_fun)
    except Exception as exc:
        raise ValueError(
            f"the training function cannot be sent to {destination} ({exc}); define it so that "
            "cloudpickle can serialise it (no SparkSession, open files, sockets or locks in its closure)"
        ) from exc
