"""Drive a real ipykernel through jupyter_client, as a notebook frontend would.

``running_kernel(python, home)`` starts a kernel of the given interpreter (a throw-away
kernelspec, so the dev venv and the ipykernel-6 venv are driven the same way) with
``MAGGY_HOME`` pointing at ``home`` and a marker variable that its worker processes inherit,
and on exit shuts it down and kills any marked process left (the tests assert there are none
before that). ``Kernel`` sends execute requests and comm messages on the shell channel and
files every reply and IOPub message under the id of the request that caused it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from worker_processes import worker_pids

REPO = Path(__file__).resolve().parents[2]
MARKER_VAR = "MAGGY_TEST_KERNEL_MARKER"
IPYKERNEL6_VENV = REPO / ".venv-ipykernel6"
SETUP_IPYKERNEL6 = "bash scripts/setup-ipykernel6"


def ipykernel6_python() -> Path | None:
    """The interpreter of the ipykernel-6 venv ($MAGGY_IPYKERNEL6_PYTHON, else .venv-ipykernel6)."""
    configured = os.environ.get("MAGGY_IPYKERNEL6_PYTHON")
    candidate = Path(configured) if configured else IPYKERNEL6_VENV / "bin" / "python"
    return candidate if candidate.exists() else None


@dataclass
class Kernel:
    """A started kernel and a client; every message filed by its parent request's msg_id."""

    km: KernelManager
    kc: BlockingKernelClient
    marker: str
    iopub: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    replies: dict[str, dict[str, Any]] = field(default_factory=dict)
    arrival: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (channel, msg), in order

    # ---- sending ------------------------------------------------------------------------

    def execute(self, code: str) -> str:
        """Send an execute_request (not waiting); returns its msg_id."""
        return str(self.kc.execute(code, allow_stdin=False))

    def send_shell(self, msg_type: str, content: dict[str, Any]) -> str:
        """Send any shell message built by the client's session, as a frontend does."""
        msg = self.kc.session.msg(msg_type, content)
        self.kc.shell_channel.send(msg)
        return str(msg["header"]["msg_id"])

    def comm_msg(self, comm_id: str, data: dict[str, Any]) -> str:
        return self.send_shell("comm_msg", {"comm_id": comm_id, "data": data})

    # ---- receiving ----------------------------------------------------------------------

    def _pump(self, timeout: float) -> None:
        """File every message already received on iopub and shell; if none, wait up to ``timeout``.

        Drains both channels before waiting: a live view sends dozens of IOPub messages a second,
        and reading one per poll would let replies fall seconds behind.
        """
        got = False
        for name, channel in (("iopub", self.kc.iopub_channel), ("shell", self.kc.shell_channel)):
            while channel.msg_ready():
                self._file(name, channel.get_msg(timeout=1))
                got = True
        if not got:
            poller = zmq.Poller()
            poller.register(self.kc.iopub_channel.socket, zmq.POLLIN)
            poller.register(self.kc.shell_channel.socket, zmq.POLLIN)
            poller.poll(int(timeout * 1000))

    def _file(self, channel: str, msg: dict[str, Any]) -> None:
        parent = msg["parent_header"].get("msg_id", "")
        self.arrival.append((channel, msg))
        if channel == "iopub":
            self.iopub[parent].append(msg)
        else:
            self.replies[parent] = msg

    def wait_for(self, what: str, found: Callable[[], Any], timeout: float) -> Any:
        """Receive until ``found()`` returns something truthy; fail with ``what`` on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            result = found()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
            self._pump(0.02)

    def receive(self, seconds: float) -> None:
        """File whatever arrives during ``seconds`` (the pause between two polls of a condition)."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self._pump(min(left, 0.05))

    def reply(self, msg_id: str, timeout: float) -> dict[str, Any]:
        """The execute_reply content for ``msg_id``, and its outputs flushed (idle seen)."""
        self.wait_for(f"the reply to {msg_id}", lambda: msg_id in self.replies and self.idle(msg_id), timeout)
        return dict(self.replies[msg_id]["content"])

    def idle(self, msg_id: str) -> bool:
        return any(
            m["msg_type"] == "status" and m["content"]["execution_state"] == "idle"
            for m in self.iopub[msg_id]
        )

    def stdout(self, msg_id: str) -> str:
        return "".join(
            m["content"]["text"]
            for m in self.iopub[msg_id]
            if m["msg_type"] == "stream" and m["content"]["name"] == "stdout"
        )

    def errors(self, msg_id: str) -> list[dict[str, Any]]:
        return [m["content"] for m in self.iopub[msg_id] if m["msg_type"] == "error"]

    def comm_replies(self, msg_id: str) -> list[dict[str, Any]]:
        """Data of the comm messages the kernel sent while handling the request ``msg_id``."""
        return [m["content"]["data"] for m in self.iopub[msg_id] if m["msg_type"] == "comm_msg"]

    def opened_comm(self, msg_id: str, target: str) -> str | None:
        for m in self.iopub[msg_id]:
            if m["msg_type"] == "comm_open" and m["content"]["target_name"] == target:
                return str(m["content"]["comm_id"])
        return None

    def position(self, channel: str, msg_type: str, parent: str, state: str | None = None) -> int:
        """Arrival index of the first such message (``state``: a status's execution_state)."""
        for i, (ch, msg) in enumerate(self.arrival):
            if (ch, msg["msg_type"], msg["parent_header"].get("msg_id")) != (channel, msg_type, parent):
                continue
            if state is None or msg["content"].get("execution_state") == state:
                return i
        raise ValueError(f"no {channel} {msg_type} for {parent}")

    def run(self, code: str, timeout: float = 60) -> str:
        """Execute ``code``, assert it succeeded, return its stdout."""
        msg_id = self.execute(code)
        content = self.reply(msg_id, timeout)
        assert content["status"] == "ok", (content, self.errors(msg_id))
        return self.stdout(msg_id)


@contextlib.contextmanager
def running_kernel(python: str | os.PathLike[str], home: Path) -> Iterator[Kernel]:
    """A kernel of ``python`` with MAGGY_HOME=home; shut down (and its marked processes killed)."""
    spec_dir = home / "kernelspecs" / "maggy-test"
    spec_dir.mkdir(parents=True, exist_ok=True)
    # abspath, not resolve: a venv's python is a symlink, and following it would leave the venv.
    argv = [os.path.abspath(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec_dir / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "maggy test", "language": "python"})
    )
    ksm = KernelSpecManager(kernel_dirs=[str(spec_dir.parent)])
    km = KernelManager(kernel_name="maggy-test", kernel_spec_manager=ksm)
    marker = uuid.uuid4().hex
    env = {**os.environ, "MAGGY_HOME": str(home), MARKER_VAR: marker, "PYTHONUNBUFFERED": "1"}
    km.start_kernel(env=env, cwd=str(home))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        yield Kernel(km, kc, marker)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        for pid in marked_workers(marker):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def marked_workers(marker: str) -> list[int]:
    """Pids of live maggy workers started under a kernel carrying ``marker``."""
    return worker_pids(f"{MARKER_VAR}={marker}".encode())


def store_trials(home: Path, experiment_id: str | None = None) -> tuple[Any, list[Any]]:
    """(experiment record, trials) from the kernel's store (the newest experiment by default).

    Reads while the kernel writes: SQLite may answer 'database is locked' for a moment, which
    the callers' polling absorbs (they retry until their deadline).
    """
    from maggy.store import open_store

    with open_store(home / "experiments.db") as store:
        if experiment_id is None:
            experiments = store.list_experiments(limit=1)
            if not experiments:
                return None, []
            experiment_id = experiments[0].experiment_id
        return store.get_experiment(experiment_id), store.get_trials(experiment_id)
