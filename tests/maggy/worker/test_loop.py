"""The worker loop against a real RpcServer: output over the frame limit reaches the driver in order,
split across heartbeats ahead of the FINAL, and the FINAL (status, metric, error) always gets through."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from maggy.reporter import LINE_OVERHEAD, MAX_TRIAL_OUTPUT_CHARS
from maggy.rpc import RpcServer, new_secret
from maggy.rpc import messages as m
from maggy.rpc.framing import DEFAULT_MAX_FRAME
from maggy.rpc.server import Connection
from maggy.worker.loop import run_worker

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


class Driver:
    """Hands out one trial per case, records every HB and FINAL in arrival order."""

    def __init__(self, cases: list[str]) -> None:
        self.cases = cases
        self.lock = threading.Lock()
        self.messages: list[dict[str, Any]] = []

    def handle(self, msg: dict[str, Any], conn: Connection) -> dict[str, Any] | None:
        with self.lock:
            self.messages.append(msg)
        if msg["op"] == m.HB:
            return m.ok()
        done = 0 if msg["op"] == m.REG else msg["trial_id"] + 1
        return m.trial(done, {"case": self.cases[done]}) if done < len(self.cases) else m.done()

    def trial(self, trial_id: int) -> tuple[list[str], dict[str, Any], int]:
        """(its log lines in arrival order, its FINAL, how many HBs carried something of it)."""
        lines, beats = [], 0
        for msg in self.messages:
            if msg.get("trial_id") == trial_id and msg["op"] in (m.HB, m.FINAL):
                lines += msg["logs"]
                if msg["op"] == m.FINAL:
                    return lines, msg, beats
                beats += bool(msg["logs"] or msg["points"])
        raise AssertionError(f"no FINAL for trial {trial_id}")


def trial_fn(case: str, reporter: Any) -> float:
    if case == "burst":  # 20 MB: three frames' worth, printed at once at the very end
        for i in range(10):
            reporter.broadcast(float(i))
        print("\n".join(f"{i:07d} " + "b" * 92 for i in range(200_000)))
        return 1.0
    if case == "runaway":  # more than a trial keeps
        chunk = "\n".join(f"{i:07d} " + "r" * 1016 for i in range(1000))
        for _ in range(MAX_TRIAL_OUTPUT_CHARS // 1024 // 1000 + 5):
            print(chunk)
        return 2.0
    if case == "raise":
        raise ValueError("E" * 9_000_000)
    return "R" * 9_000_000  # type: ignore[return-value]  # a useless result whose repr is huge


def run(cases: list[str]) -> Driver:
    driver = Driver(cases)
    secret = new_secret()
    with RpcServer(secret, driver.handle, max_frame=DEFAULT_MAX_FRAME) as server:
        assert run_worker(server.address, secret, trial_fn, "w-0", hb_interval=30.0) == len(cases)
    return driver


def test_output_over_the_frame_limit_goes_ahead_of_the_final_in_heartbeats_in_order() -> None:
    driver = run(["burst", "runaway"])
    first = driver.messages[1]
    assert first["op"] == m.HB and first["trial_id"] is None and first["logs"] == []  # the empty first beat

    lines, final, beats = driver.trial(0)
    assert final["status"] == "ok" and final["metric"] == 1.0
    assert beats >= 2  # hb_interval is 30 s: these were sent at the trial's end, ahead of its FINAL
    assert [int(x[:7]) for x in lines] == list(range(200_000))

    lines, final, _ = driver.trial(1)
    assert final["status"] == "ok" and final["metric"] == 2.0
    (marker,) = [x for x in lines if x.startswith("[maggy] ...")]
    head, tail = lines[: lines.index(marker)], lines[lines.index(marker) + 1 :]
    kept = sum(len(x) + LINE_OVERHEAD for x in head)
    assert kept <= MAX_TRIAL_OUTPUT_CHARS < kept + 1024 + LINE_OVERHEAD
    assert 900 <= len(tail) <= 1024 and tail[-1].startswith("0000999 ")


def test_a_huge_error_or_result_is_clipped_and_the_final_gets_through() -> None:
    driver = run(["raise", "result"])
    _, final, _ = driver.trial(0)
    assert final["status"] == "error" and final["error"].startswith("Traceback")
    assert "ValueError: EEE" in final["error"] and " MB cut] ..." in final["error"]
    _, final, _ = driver.trial(1)
    assert final["status"] == "error" and "'RRR" in final["error"] and " MB cut] ..." in final["error"]
    assert final["error"].endswith("(str); return a number, or a dict with the number under 'metric'")
