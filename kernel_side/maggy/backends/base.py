"""What the driver needs from a backend (local processes now, Spark executors later).

A backend starts workers that run :func:`maggy.worker.run_worker` against the driver's address
with the experiment's secret, replaces workers that die while the experiment runs, kills a worker
on request, and stops them all at the end. It never decides about trials: the driver does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Supervision:
    """Callbacks the driver gives a backend.

    ``is_running()``: whether the experiment still wants workers (a dead one is replaced);
    ``has_registered(worker_id, attempt)``: whether that worker start reached the driver;
    ``fail(message)``: end the experiment as FAILED (e.g. workers cannot even start).
    """

    is_running: Callable[[], bool]
    has_registered: Callable[[str, int], bool]
    fail: Callable[[str], None]


class Backend(Protocol):
    name: str

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
        """Kill one worker now (hung, or over its trial timeout)."""

    def shutdown(self, graceful: bool = True) -> None:
        """Stop every worker; ``graceful`` first lets them leave on their own after DONE."""
