"""keep_busy in a REAL ipykernel 7: comm traffic on a subshell no longer turns the status idle.

JupyterLab >= 4.4 sends comm messages over subshells; ipykernel publishes busy/idle for each,
and JupyterLab's kernel status shows the latest. The test plays JupyterLab's part with
jupyter_client: it creates a subshell (a control request) while a cell blocks inside keep_busy,
sends a comm_open and a comm_msg on it, and reads every status message on IOPub.
"""

from __future__ import annotations

import queue
import time
import types

import pytest

from maggy_jupyter.busy_status import keep_busy

CELL = """
import time
from comm import get_comm_manager
from maggy_jupyter.busy_status import keep_busy
from maggy_jupyter.kernel_pump import current_kernel

def _target(comm, msg):
    comm.on_msg(lambda m: comm.send({"echo": m["content"]["data"]}))

get_comm_manager().register_target("probe", _target)
with keep_busy(current_kernel()):
    print("INSIDE", flush=True)
    time.sleep(3)
"""


@pytest.mark.kernel
@pytest.mark.integration
@pytest.mark.timeout(120)
def test_the_status_stays_busy_while_the_cell_blocks_and_ends_idle() -> None:
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        cell = kc.execute(CELL)
        statuses = []  # (state, parent msg_type, parent is the cell) in arrival order
        sent = False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                m = kc.get_iopub_msg(timeout=0.5)
            except queue.Empty:
                continue
            if m["msg_type"] == "stream" and "INSIDE" in m["content"]["text"] and not sent:
                sent = True  # the cell is inside keep_busy: play JupyterLab now
                kc.control_channel.send(kc.session.msg("create_subshell_request", {}))
                subshell = kc.get_control_msg(timeout=10)["content"]["subshell_id"]
                for msg_type, content in (
                    ("comm_open", {"comm_id": "c1", "target_name": "probe", "data": {}}),
                    ("comm_msg", {"comm_id": "c1", "data": {"x": 1}}),
                ):
                    msg = kc.session.msg(msg_type, content)
                    msg["header"]["subshell_id"] = subshell
                    kc.shell_channel.send(msg)
            if m["msg_type"] == "status":
                parent = m["parent_header"]
                statuses.append(
                    (m["content"]["execution_state"], parent.get("msg_type"), parent.get("msg_id") == cell)
                )
                if statuses[-1] == ("idle", "execute_request", True):
                    break
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

    assert sent, statuses
    others = [i for i, (state, _, is_cell) in enumerate(statuses) if state == "idle" and not is_cell]
    # the subshell's creation (control) and both comm messages (subshell) each went idle ...
    assert {statuses[i][1] for i in others} >= {"create_subshell_request", "comm_open", "comm_msg"}
    # ... and each such idle was followed at once by the cell's busy again
    assert all(statuses[i + 1] == ("busy", "execute_request", True) for i in others), statuses
    assert statuses[-1] == ("idle", "execute_request", True)  # the cell's own idle comes last


def test_without_a_kernel_or_subshells_nothing_changes() -> None:
    with keep_busy(None):
        pass
    published: list[tuple[str, str]] = []
    old_kernel = types.SimpleNamespace(
        _supports_kernel_subshells=False, _publish_status=lambda s, c, p=None: published.append((s, c))
    )
    with keep_busy(old_kernel):
        old_kernel._publish_status("idle", "shell")
    assert published == [("idle", "shell")]  # no extra busy: ipykernel 6 runs comms on the main thread
