"""The live view in a real ipykernel: its own stop button, clicked as a browser would, mid-lagom.

The kernel shows the view when ``lagom`` runs (the ``jupyter`` frontend calls ``live_view.show``);
this test reads the widget messages the kernel sends, finds the stop button of the long trial,
sends the click a browser would send while the cell still blocks, and checks that the trial
ends STOPPED long before it would have finished.
"""

from __future__ import annotations

import json
import os
import time

import pytest

jupyter_client = pytest.importorskip("jupyter_client")

pytestmark = [pytest.mark.kernel, pytest.mark.integration, pytest.mark.timeout(180)]

CELL = """
import json, time
from maggy import Searchspace, experiment

def train(steps, reporter):
    import time
    for step in range(steps):
        reporter.broadcast(float(step), step=step)
        time.sleep(0.05)
    return float(steps)

began = time.monotonic()
result = experiment.lagom(train, searchspace=Searchspace(steps=("DISCRETE", [400, 30])), optimizer="gridsearch",
                          num_trials=2, num_workers=2, hb_interval=0.1)
print("RESULT", json.dumps({"stopped": result["stopped"], "status": result["status"],
                            "seconds": time.monotonic() - began}))
"""


def test_the_live_views_stop_button_stops_its_trial_while_the_cell_blocks(tmp_path):
    from jupyter_client.manager import start_new_kernel

    env = {**os.environ, "MAGGY_HOME": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(tmp_path))
    try:
        cell = kc.execute(CELL)
        buttons: dict[str, str] = {}  # comm id -> latest description, for every Button widget
        texts: dict[str, str] = {}  # comm id -> latest value, for every HTML widget
        clicked: str | None = None
        shown: set[str] = set()  # comm ids of widgets some box shows (a button a user can click)
        stdout, deadline = "", time.monotonic() + 120
        while time.monotonic() < deadline:
            msg = kc.get_iopub_msg(timeout=60)
            kind, content = msg["msg_type"], msg["content"]
            model = (
                content.get("data", {}).get("state", {}).get("_model_name") if kind == "comm_open" else None
            )
            if kind in ("comm_open", "comm_msg"):  # which widgets are placed in a box (on screen)
                children = content["data"].get("state", {}).get("children")
                if isinstance(children, list):
                    shown.update(str(c).removeprefix("IPY_MODEL_") for c in children)
            if model == "ButtonModel":
                buttons[content["comm_id"]] = content["data"]["state"].get("description", "")
            elif model == "HTMLModel":
                texts[content["comm_id"]] = content["data"]["state"].get("value", "")
            elif kind == "comm_msg" and content["comm_id"] in texts:
                texts[content["comm_id"]] = (
                    content["data"].get("state", {}).get("value", texts[content["comm_id"]])
                )
            elif kind == "comm_msg" and content["comm_id"] in buttons:
                state = content["data"].get("state", {})
                buttons[content["comm_id"]] = state.get("description", buttons[content["comm_id"]])
            elif kind == "stream":
                stdout += content["text"]
            elif kind == "error":
                pytest.fail("\n".join(content["traceback"]))
            elif (
                kind == "status"
                and content["execution_state"] == "idle"
                and msg["parent_header"].get("msg_id") == cell
            ):
                break
            if clicked is None:
                # Only once its row shows it, as for a user: the button's comm opens as it is built,
                # a moment before the view binds its click (a click in that moment does nothing).
                clicked = next((cid for cid, d in buttons.items() if d == "■ 0" and cid in shown), None)
                if clicked is not None:  # what the browser sends for a click on that button
                    click = {"comm_id": clicked, "data": {"method": "custom", "content": {"event": "click"}}}
                    kc.shell_channel.send(kc.session.msg("comm_msg", click))
        assert clicked is not None, f"no stop button for trial 0 among {sorted(buttons.values())}"
        result = json.loads(stdout.split("RESULT", 1)[1].splitlines()[0])
        assert result["stopped"] == 1 and result["status"] == "FINISHED"
        assert result["seconds"] < 12  # trial 0 alone would have run 400 x 50 ms = 20 s
        # the final redraw reached the browser: the stop button became the "finished" line
        assert any("Experiment finished" in text for text in texts.values())
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


NOISY_CELL = """
import os
from maggy import Searchspace, experiment

def train(x):
    os.write(2, b"I0000 cpu_feature_guard.cc:182] this TensorFlow binary is optimized\\n")  # as TF's C++ logs
    return x

result = experiment.lagom(train, searchspace=Searchspace(x=("DOUBLE", [0, 1])), num_trials=2, num_workers=1)
print("STATUS", result["status"])
"""


def test_worker_output_lands_in_the_views_folded_pane_not_as_a_stderr_block(tmp_path):
    from jupyter_client.manager import start_new_kernel

    env = {**os.environ, "MAGGY_HOME": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(tmp_path))
    try:
        cell = kc.execute(NOISY_CELL)
        streams: list[tuple[str, str]] = []
        widgets: dict[str, dict] = {}  # comm id -> latest state
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            msg = kc.get_iopub_msg(timeout=60)
            kind, content = msg["msg_type"], msg["content"]
            if kind == "comm_open":
                widgets[content["comm_id"]] = dict(content["data"].get("state", {}))
            elif kind == "comm_msg" and content["comm_id"] in widgets:
                widgets[content["comm_id"]].update(content["data"].get("state", {}))
            elif kind == "stream":
                streams.append((content["name"], content["text"]))
            elif kind == "error":
                pytest.fail("\n".join(content["traceback"]))
            elif (
                kind == "status"
                and content["execution_state"] == "idle"
                and msg["parent_header"].get("msg_id") == cell
            ):
                break
        out = "".join(text for name, text in streams if name == "stdout")
        err = "".join(text for name, text in streams if name == "stderr")
        assert "STATUS FINISHED" in out
        assert "cpu_feature_guard" not in err  # no pink block under the view
        panes = [s for s in widgets.values() if s.get("_model_name") == "AccordionModel"]
        assert [p.get("titles") for p in panes] == [["worker output: local-0 (2 lines)"]]
        assert any(
            s.get("_model_name") == "HTMLModel" and "cpu_feature_guard" in s.get("value", "")
            for s in widgets.values()
        )
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
