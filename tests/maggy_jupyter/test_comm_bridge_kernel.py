"""The `maggy` comm bridge through a real kernel: jupyter_client plays the JupyterLab panel
(comm_open to target `maggy`, requests as comm_msg on the shell channel, replies and batches read
on IOPub) while a notebook cell runs an experiment, with `await lagom_async` and with the plain
blocking `lagom` (whose wait serves comm messages, see maggy_jupyter.kernel_pump)."""

from __future__ import annotations

import contextlib
import queue
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from maggy.store import open_store
from maggy.trial import TrialState

pytestmark = [pytest.mark.integration, pytest.mark.kernel]

# ---- a real kernel, with jupyter_client as the frontend -------------------------------------

# What the panel's auto-connect does: importing the bridge registers the `maggy` comm target.
KERNEL_SETUP = """
import maggy_jupyter.comm_bridge

from maggy import Searchspace, experiment

def train(x, reporter):
    import time
    for step in range(1200):  # a minute at most: the test stops it long before
        reporter.broadcast(x + step / 1200, step=step)
        time.sleep(0.05)
    return x

sp = Searchspace(x=("DOUBLE", [0.0, 1.0]))
"""

RUN = {
    "async": "result = await experiment.lagom_async(train, name='kernel-test', num_trials=2, num_workers=2,"
    " searchspace=sp, hb_interval=0.1, es_policy='none', seed=0)",
    "blocking": "result = experiment.lagom(train, name='kernel-test', num_trials=2, num_workers=2,"
    " searchspace=sp, hb_interval=0.1, es_policy='none', seed=0)",
}


class KernelPanel:
    """jupyter_client in the role of the JupyterLab panel: opens `maggy` comms, sends requests as
    comm_msg on the shell channel and reads everything the kernel publishes on IOPub."""

    def __init__(self, kc: Any) -> None:
        self.kc = kc
        self.seen: list[dict[str, Any]] = []
        self._read = 0

    def execute(self, code: str) -> str:
        return self.kc.execute(code)

    def open_comm(self) -> str:
        comm_id = uuid.uuid4().hex
        data = {"v": 1, "type": "hello"}
        content = {"comm_id": comm_id, "target_name": "maggy", "data": data}
        self.kc.shell_channel.send(self.kc.session.msg("comm_open", content))
        return comm_id

    def send(self, comm_id: str, data: dict[str, Any]) -> None:
        self.kc.shell_channel.send(self.kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data}))

    def request(self, comm_id: str, data: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
        rid = uuid.uuid4().hex
        self.send(comm_id, {"v": 1, **data, "request_id": rid})
        msg = self.wait(lambda m: _comm_data(m).get("request_id") == rid, timeout)
        return _comm_data(msg)

    def wait(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 120) -> dict[str, Any]:
        """The first IOPub message (seen before or arriving now) for which ``predicate`` holds."""
        deadline = time.monotonic() + timeout
        while True:
            while self._read < len(self.seen):
                msg = self.seen[self._read]
                self._read += 1
                if predicate(msg):
                    return msg
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"timed out; last messages: {[m['msg_type'] for m in self.seen[-10:]]}"
            with contextlib.suppress(queue.Empty):
                self.seen.append(self.kc.get_iopub_msg(timeout=min(remaining, 1.0)))

    def rewind(self) -> None:
        """Let the next :meth:`wait` look at every message again."""
        self._read = 0

    def wait_idle(self, msg_id: str, timeout: float = 180) -> None:
        self.wait(
            lambda m: (
                m["msg_type"] == "status"
                and m["parent_header"].get("msg_id") == msg_id
                and m["content"]["execution_state"] == "idle"
            ),
            timeout,
        )

    def errors(self, msg_id: str) -> list[dict[str, Any]]:
        return [
            m for m in self.seen if m["msg_type"] == "error" and m["parent_header"].get("msg_id") == msg_id
        ]


def _comm_data(msg: dict[str, Any]) -> dict[str, Any]:
    if msg["msg_type"] not in ("comm_msg", "comm_open"):
        return {}
    return msg["content"].get("data") or {}


def _on(comm_id: str, kind: str, check: Callable[[dict[str, Any]], bool] = lambda d: True) -> Any:
    return lambda m: (
        m["msg_type"] == "comm_msg"
        and m["content"]["comm_id"] == comm_id
        and _comm_data(m).get("type") == kind
        and check(_comm_data(m))
    )


@pytest.fixture
def panel():
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", startup_timeout=120)  # inherits MAGGY_HOME
    try:
        yield KernelPanel(kc)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.mark.parametrize("mode", ["async", "blocking"])
def test_panel_lists_streams_and_stops_a_trial_while_the_cell_runs(panel, mode, tmp_path):
    from maggy_jupyter.frontend import JupyterFrontend

    if mode == "blocking" and not callable(getattr(JupyterFrontend, "wait", None)):
        pytest.skip("JupyterFrontend.wait (the pump serving comms while lagom blocks) has not landed yet")
    setup = panel.execute(KERNEL_SETUP)
    panel.wait_idle(setup)
    assert not panel.errors(setup), panel.errors(setup)
    session = panel.open_comm()
    hello = _comm_data(panel.wait(_on(session, "hello")))
    assert hello["protocol"] == 1

    run = panel.execute(RUN[mode])
    opened = panel.wait(lambda m: m["msg_type"] == "comm_open" and m["content"]["target_name"] == "maggy")
    own, snapshot = opened["content"]["comm_id"], _comm_data(opened)
    assert snapshot["type"] == "experiment" and snapshot["seq"] == 0
    experiment_id = snapshot["experiment"]["experiment_id"]
    panel.wait(_on(own, "batch", lambda d: {"0", "1"} <= set(d.get("points", {}))), timeout=120)

    listed = panel.request(session, {"type": "list"})["experiments"]
    assert listed[0]["experiment_id"] == experiment_id and listed[0]["live"] is True
    assert listed[0]["running"] == 2

    ack = panel.request(session, {"type": "stop_trial", "experiment_id": experiment_id, "trial_id": 0})
    assert ack == {
        "v": 1,
        "type": "ack",
        "ok": True,
        "detail": "stop requested",
        "request_id": ack["request_id"],
    }
    stopped = lambda d: any(t["trial_id"] == 0 and t["state"] == "STOPPED" for t in d.get("finished", []))  # noqa: E731
    panel.wait(_on(own, "batch", stopped), timeout=60)
    panel.rewind()
    assert not any(  # the cell is still running: trial 1 goes on
        m["msg_type"] == "status"
        and m["parent_header"].get("msg_id") == run
        and m["content"]["execution_state"] == "idle"
        for m in panel.seen
    )

    bad = panel.request(session, {"type": "frobnicate"})
    assert bad["type"] == "error" and "unknown request type" in bad["reason"]
    panel.send(session, ["not", "an", "object"])
    panel.wait(_on(session, "error", lambda d: "JSON object" in d["reason"]), timeout=60)

    ack = panel.request(session, {"type": "stop_experiment", "experiment_id": experiment_id})
    assert ack["ok"] is True
    panel.wait_idle(run)
    assert not panel.errors(run), panel.errors(run)
    panel.rewind()
    last = panel.wait(_on(own, "batch", lambda d: "experiment_finished" in d), timeout=60)
    assert _comm_data(last)["experiment_finished"]["status"] == "STOPPED"
    panel.wait(lambda m: m["msg_type"] == "comm_close" and m["content"]["comm_id"] == own, timeout=60)

    batches = [m for m in panel.seen if _on(own, "batch")(m)]
    assert [_comm_data(m)["seq"] for m in batches] == list(range(1, len(batches) + 1))
    span = (batches[-1]["header"]["date"] - batches[0]["header"]["date"]).total_seconds()
    assert len(batches) <= 10 * span + 3, (len(batches), span)  # about ten a second at most

    with open_store() as store:  # the kernel wrote MAGGY_HOME's store, the test reads it
        states = {t.trial_id: t.state for t in store.get_trials(experiment_id)}
    assert states[0] is TrialState.STOPPED

    after = panel.request(session, {"type": "list"})["experiments"]  # now it comes from the store
    assert after[0]["experiment_id"] == experiment_id and after[0]["live"] is False
    assert after[0]["status"] == "STOPPED"
