"""Plug-in contracts are declared with their defaults: Backend.driver_host, Frontend.wait/wait_async."""

from __future__ import annotations

import threading

import pytest

from maggy import Searchspace, experiment
from maggy.backends.base import DEFAULT_DRIVER_HOST, Backend, driver_host_of
from maggy.backends.local import LocalBackend
from maggy.core import events as ev
from maggy.frontend import Frontend, plain_wait, plain_wait_async, waiters


class Delegating(Backend):
    """A user backend that subclasses Backend and leaves driver_host to its default."""

    name = "delegating"

    def __init__(self) -> None:
        self.inner = LocalBackend(1)

    def worker_count(self, num_trials):
        return self.inner.worker_count(num_trials)

    def pack(self, map_fun):
        return self.inner.pack(map_fun)

    def start(self, *args):
        self.inner.start(*args)

    def kill_worker(self, worker_id):
        self.inner.kill_worker(worker_id)

    def shutdown(self, graceful=True):
        self.inner.shutdown(graceful)


class Structural:
    """A backend-shaped object that does not subclass Backend (and has no driver_host)."""

    name = "structural"


def test_driver_host_defaults_to_loopback_for_subclasses_and_other_backend_objects():
    assert Delegating().driver_host() == DEFAULT_DRIVER_HOST == "127.0.0.1"
    assert driver_host_of(Delegating()) == driver_host_of(Structural()) == DEFAULT_DRIVER_HOST
    assert driver_host_of(LocalBackend(1)) == LocalBackend(1).driver_host()


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_a_backend_subclass_without_driver_host_serves_on_loopback(tmp_path):
    # Before: Backend.driver_host() of the Protocol returned None, so the driver bound no host.
    addresses = []

    def listener(event):
        if isinstance(event, ev.ExperimentStarted):
            addresses.append(event.driver_address)

    result = experiment.lagom(
        lambda x: x,
        searchspace=Searchspace(x=("DOUBLE", [0.0, 1.0])),
        num_trials=2,
        backend=Delegating(),
        store=str(tmp_path / "s.db"),
        progress=False,
        listeners=[listener],
    )
    assert result["status"] == "FINISHED" and result["num_trials"] == 2
    assert addresses[0][0] == DEFAULT_DRIVER_HOST


class Waits(Frontend):
    def active(self) -> bool:
        return True

    def attach(self, handle) -> None:
        pass

    def wait(self, done: threading.Event) -> None:
        plain_wait(done)


class Quiet(Frontend):
    """Subclasses Frontend and leaves wait/wait_async to their default (None)."""

    def active(self) -> bool:
        return True

    def attach(self, handle) -> None:
        pass


class Bare:
    """A frontend that does not subclass Frontend (an entry point may name any class)."""

    def active(self) -> bool:
        return True

    def attach(self, handle) -> None:
        pass


def test_frontend_wait_and_wait_async_default_to_none():
    assert Frontend.wait is None and Frontend.wait_async is None
    assert Quiet().wait is None and Quiet().wait_async is None


def test_waiters_take_the_first_frontend_that_offers_one_else_the_plain_ones():
    assert waiters([]) == (plain_wait, plain_wait_async)
    assert waiters([Bare(), Quiet()]) == (plain_wait, plain_wait_async)
    first, second = Waits(), Waits()
    wait, wait_async = waiters([Bare(), Quiet(), first, second])
    assert wait == first.wait and wait_async is plain_wait_async
