"""Hostile trial output and stray connections against real worker processes and a real driver.

Trial output over the 8 MiB frame limit must reach the driver (split across frames) or be cut
visibly, never silently, and never at the cost of the trial, its metric or its traceback.
Progress bars written with ``\\r`` cost linear time and collapse to their last state. A local
process that connects to the driver without the secret costs it bounded memory and threads.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from maggy import Searchspace, experiment
from maggy.store import open_store
from maggy.trial import TrialState

BURST_LINES = 120_000  # ~12 MB in one print(): more than one 8 MiB frame
HUGE = 9_000_000  # one line / one exception message bigger than a frame
PROGRESS_UPDATES = 20_000


def hostile_output(case: str) -> float:
    import sys
    import time

    if case == "burst":
        print("\n".join(f"{i:06d} " + "b" * 93 for i in range(120_000)))
        return 1.0
    if case == "line":
        print("before")
        print("L" * 9_000_000)
        print("after")
        return 2.0
    if case == "raise":
        raise ValueError("E" * 9_000_000)
    # tqdm-style progress: every update rewrites the line with \r, no newline until the end.
    started = time.perf_counter()
    for i in range(1, 20_001):
        sys.stdout.write(f"\rprogress {i}/20000 [{'#' * (i * 40 // 20_000):<40}]")
    sys.stdout.write("\n")
    print("epoch done\r")  # "\r\n" is a plain newline
    return time.perf_counter() - started


def run_cases(tmp_path: Path) -> tuple[dict, list]:
    store_path = str(tmp_path / "store.db")
    result = experiment.lagom(
        hostile_output,
        store=store_path,
        num_trials=4,
        num_workers=2,
        searchspace=Searchspace(case=("CATEGORICAL", ["burst", "line", "raise", "progress"])),
        optimizer="gridsearch",
        progress=False,
        hb_interval=0.5,
    )
    return result, open_store(store_path).get_trials(result["experiment_id"])


@pytest.mark.timeout(120)
def test_output_over_the_frame_limit_is_delivered_or_cut_visibly_and_no_trial_is_lost(tmp_path: Path) -> None:
    result, trials = run_cases(tmp_path)
    # Exactly the four trials: none LOST and retried because a frame was too big for the wire.
    assert len(trials) == 4 and result["num_trials"] == 4
    by_case = {t.params["case"]: t for t in trials}

    burst = by_case["burst"]
    assert burst.state is TrialState.FINISHED and burst.metric == 1.0
    assert len(burst.logs) == BURST_LINES  # every line, in order, none cut
    assert [int(line[:6]) for line in burst.logs] == list(range(BURST_LINES))

    line = by_case["line"]
    assert line.state is TrialState.FINISHED and line.metric == 2.0
    assert line.logs[0] == "before" and line.logs[-1] == "after" and len(line.logs) == 3
    huge = line.logs[1]
    assert huge.startswith("LLLL") and len(huge) < 1_100_000
    assert "MB cut" in huge  # visibly truncated, saying how much

    raised = by_case["raise"]
    assert raised.state is TrialState.ERROR
    assert raised.error.startswith("Traceback") and "ValueError: EEEE" in raised.error
    assert "MB cut" in raised.error and len(raised.error) < 2_100_000

    progress = by_case["progress"]
    assert progress.state is TrialState.FINISHED
    assert progress.logs == [f"progress 20000/20000 [{'#' * 40}]", "epoch done"]
    # 20k updates cost 14.5 s when every write re-copied the whole unfinished line.
    assert progress.metric < 2.0, f"{PROGRESS_UPDATES} progress updates took {progress.metric:.1f} s"


# --- stray local connections -----------------------------------------------------------------------

_DRIVER = textwrap.dedent(
    """
    import sys
    from maggy.rpc import RpcServer, messages, new_secret

    server = RpcServer(new_secret(), lambda msg, conn: messages.ok())
    server.start()
    print(server.address[1], flush=True)
    sys.stdin.read()  # until the test closes our stdin
    """
)


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def _stray_connections(port: int, count: int, announced: int, sent: int) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        socks.append(sock)
        # OSError: the driver refused this connection or this frame, which is what we want.
        with contextlib.suppress(OSError):
            sock.sendall(struct.pack(">I", announced) + b"x" * sent)
    return socks


@pytest.mark.timeout(60)
def test_unauthenticated_connections_cost_the_driver_bounded_memory_and_threads() -> None:
    driver = subprocess.Popen(
        [sys.executable, "-c", _DRIVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    socks: list[socket.socket] = []
    try:
        assert driver.stdout is not None
        port = int(driver.stdout.readline())
        time.sleep(0.3)
        rss_before, threads_before = _rss_mib(driver.pid), _threads(driver.pid)

        # 40 connections announce 8 MiB frames, send nearly all of them and stall.
        socks += _stray_connections(port, 40, 8 * 1024 * 1024, 8 * 1024 * 1024 - 1024)
        time.sleep(1.0)
        grown = _rss_mib(driver.pid) - rss_before
        # Before: every connection kept its bytes (40 x 8 MiB = 320 MiB) and a thread of its own.
        assert grown < 48, f"the driver grew by {grown:.0f} MiB"

        # 40 connections start a small frame and stall: a thread each at most up to the cap (32) ...
        socks += _stray_connections(port, 40, 200 * 1024, 1024)
        time.sleep(1.0)
        threads = _threads(driver.pid) - threads_before
        assert threads <= 32, f"{threads} threads for stray connections"
        grown = _rss_mib(driver.pid) - rss_before
        assert grown < 48, f"the driver grew by {grown:.0f} MiB"
        # ... and only for a few seconds: a first frame that does not arrive in time ends its connection.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _threads(driver.pid) > threads_before:
            time.sleep(0.2)
        assert _threads(driver.pid) == threads_before
    finally:
        for sock in socks:
            sock.close()
        driver.kill()
        driver.wait()
