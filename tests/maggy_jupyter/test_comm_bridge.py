"""The `maggy` comm bridge without a kernel: coalescing with a fake clock, requests and replies
through a recording comm. The real-kernel path is in test_comm_bridge_kernel.py."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from maggy.core import events as ev
from maggy.core.events import EventBus
from maggy.frontend import ExperimentHandle
from maggy.store import ExperimentRecord, open_store
from maggy.trial import Trial, TrialState
from maggy_jupyter.comm_bridge import Bridge

EXP = "20260101-000000-abcdef"


class RecordingComm:
    """Stands in for a kernel comm: records what the bridge sends (as strict JSON, as the kernel
    would encode it) and lets the test deliver frontend messages."""

    def __init__(self, target_name: str = "maggy", data: Any = None, **_: Any) -> None:
        self.target_name = target_name
        self.open_data = _strict(data) if data is not None else None
        self.sent: list[dict[str, Any]] = []
        self.closed = False
        self._on_msg: Callable[[Any], None] | None = None
        self._on_close: Callable[[Any], None] | None = None

    def send(self, data: Any) -> None:
        self.sent.append(_strict(data))

    def on_msg(self, callback: Callable[[Any], None]) -> None:
        self._on_msg = callback

    def on_close(self, callback: Callable[[Any], None]) -> None:
        self._on_close = callback

    def close(self) -> None:
        self.closed = True

    def deliver(self, data: Any) -> dict[str, Any]:
        """Send ``data`` as the frontend would; returns the bridge's reply."""
        before = len(self.sent)
        assert self._on_msg is not None
        self._on_msg({"content": {"comm_id": "c", "data": data}})
        assert len(self.sent) == before + 1, self.sent[before:]
        return self.sent[-1]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["type"] == kind]


def _strict(data: Any) -> Any:
    return json.loads(json.dumps(data, allow_nan=False))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Harness:
    """A bridge with a fake clock, one attached experiment and the comms it opened."""

    def __init__(
        self, tmp_path: Any, threaded: bool = False, clock: Callable[[], float] | None = None
    ) -> None:
        self.clock = FakeClock()
        self.comms: list[RecordingComm] = []
        self.store_path = tmp_path / "experiments.db"
        self.stopped: list[int] = []
        self.experiment_stopped = False
        self.bridge = Bridge(
            self._factory,
            clock=clock or self.clock,
            threaded=threaded,
            store_opener=lambda: open_store(self.store_path),
        )
        self.bus = EventBus()
        self.handle = ExperimentHandle(
            experiment_id=EXP,
            name="unit",
            num_trials=4,
            direction="max",
            searchspace={},
            _bus=self.bus,
            _stop_trial=self._stop_trial,
            _stop_experiment=self._stop_experiment,
            _snapshot=lambda: [],
        )
        self.bridge.attach(self.handle)
        self.own = self.comms[0]

    def _factory(self, **kwargs: Any) -> RecordingComm:
        comm = RecordingComm(**kwargs)
        self.comms.append(comm)
        return comm

    def _stop_trial(self, trial_id: int) -> bool:
        self.stopped.append(trial_id)
        return trial_id == 1

    def _stop_experiment(self) -> None:
        self.experiment_stopped = True

    def frontend_comm(self) -> RecordingComm:
        comm = RecordingComm()
        self.bridge.on_comm_open(comm, {"content": {"data": {"v": 1, "type": "hello"}}})
        assert comm.sent[-1]["type"] == "hello"
        return comm

    def publish(self, event: ev.Event) -> None:
        self.bus.publish(event)

    def start_trial(self, trial_id: int, **params: Any) -> None:
        trial = Trial(trial_id=trial_id, params=params or {"lr": 0.1}, state=TrialState.RUNNING, start=1.0)
        self.publish(ev.TrialStarted(EXP, trial))

    def finish_trial(self, trial_id: int, metric: float, state: TrialState = TrialState.FINISHED) -> None:
        trial = Trial(trial_id=trial_id, params={"lr": 0.1}, state=state, metric=metric, start=1.0, end=2.0)
        self.publish(ev.TrialFinished(EXP, trial))


def _points_of(batches: list[dict[str, Any]], trial_id: int) -> list[list[float]]:
    return [p for b in batches for p in b.get("points", {}).get(str(trial_id), [])]


# ---- coalescing ------------------------------------------------------------------------------


def test_attach_opens_a_comm_whose_open_data_is_a_seq_0_snapshot(tmp_path):
    h = Harness(tmp_path)
    opened = h.own.open_data
    assert opened["v"] == 1 and opened["type"] == "experiment" and opened["seq"] == 0
    assert opened["experiment"]["experiment_id"] == EXP and opened["experiment"]["live"] is True
    assert opened["experiment"]["status"] == "RUNNING" and opened["trials"] == []
    h.bridge.attach(h.handle)  # a second attach of the same experiment is a no-op
    assert len(h.comms) == 1


def test_at_most_ten_batches_a_second_and_every_point_arrives_in_order(tmp_path):
    h = Harness(tmp_path)
    for tid in range(5):
        h.start_trial(tid)
    sent_at: list[float] = []
    expected: dict[int, list[list[float]]] = {tid: [] for tid in range(5)}
    for ms in range(3000):  # 3 simulated seconds, one heartbeat per millisecond
        h.clock.now = 1000.0 + ms / 1000
        tid = ms % 5
        point = [float(ms), ms / 3000]
        expected[tid].append(point)
        h.publish(ev.MetricPoints(EXP, tid, [point]))
        before = len(h.own.sent)
        h.bridge.flush_due()
        sent_at += [h.clock.now] * (len(h.own.sent) - before)
    h.clock.now += 1
    h.bridge.flush_due()
    batches = h.own.of_type("batch")
    assert [b["seq"] for b in batches] == list(range(1, len(batches) + 1))
    for second in range(3):
        in_window = [t for t in sent_at if 1000 + second <= t < 1001 + second]
        assert 9 <= len(in_window) <= 10, (second, in_window)
    for tid in range(5):
        assert _points_of(batches, tid) == expected[tid]


def test_a_batch_folds_a_whole_trial_lifecycle_in_applicable_order(tmp_path):
    h = Harness(tmp_path)
    h.publish(ev.ExperimentStarted(EXP, "unit", 4, 2, ("127.0.0.1", 1)))
    h.start_trial(0, lr=0.5)
    h.publish(ev.MetricPoints(EXP, 0, [[0, 0.1], [1, float("nan")]]))
    h.publish(ev.TrialLog(EXP, 0, ["epoch 1"]))
    h.finish_trial(0, 0.7)
    h.bridge.flush_due()
    (batch,) = h.own.of_type("batch")
    assert batch["seq"] == 1 and batch["experiment_id"] == EXP
    assert batch["experiment_started"] == {"name": "unit", "num_trials": 4, "num_workers": 2}
    assert batch["started"][0]["params"] == {"lr": 0.5} and batch["started"][0]["state"] == "RUNNING"
    assert batch["points"] == {"0": [[0, 0.1], [1, None]]}  # NaN travels as null, never breaks JSON
    assert batch["logs"] == {"0": ["epoch 1"]}
    assert batch["finished"][0]["state"] == "FINISHED" and batch["finished"][0]["metric"] == 0.7
    assert list(batch) == [
        "v",
        "type",
        "experiment_id",
        "seq",
        "experiment_started",
        "started",
        "points",
        "logs",
        "finished",
        "summary",  # last: the summary after the whole batch
    ]
    assert batch["summary"]["done"] == 1 and batch["summary"]["best"] == {"trial_id": 0, "metric": 0.7}


def test_the_first_event_after_a_quiet_spell_goes_out_at_once(tmp_path):
    h = Harness(tmp_path)
    h.start_trial(0)
    assert h.bridge.flush_due() is None and len(h.own.of_type("batch")) == 1
    h.clock.now += 0.05
    h.publish(ev.MetricPoints(EXP, 0, [[1, 0.5]]))
    wait = h.bridge.flush_due()
    assert wait == pytest.approx(0.05) and len(h.own.of_type("batch")) == 1  # too soon: held back
    h.clock.now += 5
    h.publish(ev.MetricPoints(EXP, 0, [[2, 0.6]]))
    h.bridge.flush_due()
    assert len(h.own.of_type("batch")) == 2
    assert _points_of(h.own.of_type("batch"), 0) == [[1, 0.5], [2, 0.6]]


def test_experiment_finished_is_sent_at_once_and_closes_the_kernels_comm(tmp_path):
    h = Harness(tmp_path)
    fe = h.frontend_comm()
    fe.deliver({"v": 1, "type": "subscribe", "experiment_id": EXP, "request_id": "s"})
    h.start_trial(0)
    h.bridge.flush_due()
    h.finish_trial(0, 0.9)
    h.publish(ev.ExperimentFinished(EXP, "FINISHED", {"best_id": 0, "best_val": 0.9}))  # no flush_due call
    last = h.own.sent[-1]
    assert last["type"] == "batch" and last["experiment_finished"]["status"] == "FINISHED"
    assert last["finished"][0]["trial_id"] == 0 and fe.sent[-1] == last
    assert h.own.closed and not fe.closed
    assert EXP not in h.bridge.streams
    h.publish(ev.MetricPoints(EXP, 0, [[9, 9.0]]))  # after the end: ignored, nothing sent
    assert h.own.sent[-1] == last


def test_real_flusher_thread_keeps_the_rate_and_delivers_everything(tmp_path):
    h = Harness(tmp_path, threaded=True, clock=time.monotonic)
    h.start_trial(0)
    stop_at = time.monotonic() + 1.0
    sent = 0
    while time.monotonic() < stop_at:  # a heartbeat-storm from another thread, ~1 s long
        h.publish(ev.MetricPoints(EXP, 0, [[sent, 0.0]]))
        sent += 1
        time.sleep(0.002)
    _wait_for(lambda: len(_points_of(h.own.of_type("batch"), 0)) == sent, timeout=10)
    batches = h.own.of_type("batch")
    assert [p[0] for p in _points_of(batches, 0)] == list(range(sent))
    assert len(batches) <= 13  # ~1 s of traffic plus the last flush: at most ten a second
    h.publish(ev.ExperimentFinished(EXP, "FINISHED", {}))
    _wait_for(lambda: h.bridge._flusher is None, timeout=10)  # the thread ends with the last stream


# ---- requests --------------------------------------------------------------------------------


def test_subscribing_late_gives_a_snapshot_that_joins_the_batches_exactly(tmp_path):
    h = Harness(tmp_path)
    h.start_trial(0)
    h.publish(ev.MetricPoints(EXP, 0, [[0, 0.1]]))
    h.bridge.flush_due()
    h.clock.now += 0.01
    h.publish(ev.MetricPoints(EXP, 0, [[1, 0.2]]))  # pending, not yet due
    h.publish(ev.TrialLog(EXP, 0, ["hello"]))
    fe = h.frontend_comm()
    snap = fe.deliver({"v": 1, "type": "subscribe", "experiment_id": EXP[:10], "request_id": 7})
    assert snap["type"] == "experiment" and snap["request_id"] == 7 and snap["seq"] == 2
    (trial,) = snap["trials"]
    assert trial["history"] == [[0, 0.1], [1, 0.2]] and trial["num_logs"] == 1 and "logs" not in trial
    assert h.own.sent[-1]["seq"] == 2  # the pending batch went to the old subscriber first
    h.clock.now += 1
    h.publish(ev.MetricPoints(EXP, 0, [[2, 0.3]]))
    h.bridge.flush_due()
    assert fe.sent[-1]["seq"] == 3 and fe.sent[-1]["points"] == {"0": [[2, 0.3]]}
    fe.deliver({"v": 1, "type": "unsubscribe", "experiment_id": EXP})
    h.clock.now += 1
    h.publish(ev.MetricPoints(EXP, 0, [[3, 0.4]]))
    h.bridge.flush_due()
    assert fe.sent[-1]["type"] == "ack" and h.own.sent[-1]["seq"] == 4


def test_get_trial_returns_history_and_logs_at_a_seq(tmp_path):
    h = Harness(tmp_path)
    h.start_trial(0)
    h.publish(ev.MetricPoints(EXP, 0, [[0, 0.1]]))
    h.publish(ev.TrialLog(EXP, 0, ["a", "b"]))
    fe = h.frontend_comm()
    reply = fe.deliver({"v": 1, "type": "get_trial", "experiment_id": EXP, "trial_id": 0, "request_id": "t"})
    assert reply["type"] == "trial" and reply["seq"] == 1 and reply["request_id"] == "t"
    assert reply["trial"]["logs"] == ["a", "b"] and reply["trial"]["history"] == [[0, 0.1]]
    missing = fe.deliver({"v": 1, "type": "get_trial", "experiment_id": EXP, "trial_id": 5})
    assert missing["type"] == "error" and "no trial 5" in missing["reason"]


def test_stop_requests_only_call_the_handle(tmp_path):
    h = Harness(tmp_path)
    fe = h.frontend_comm()
    ok = fe.deliver({"v": 1, "type": "stop_trial", "experiment_id": EXP, "trial_id": 1, "request_id": "a"})
    assert ok == {"v": 1, "type": "ack", "ok": True, "detail": "stop requested", "request_id": "a"}
    not_running = fe.deliver({"v": 1, "type": "stop_trial", "experiment_id": EXP, "trial_id": 2})
    assert not_running["ok"] is False and "not running" in not_running["detail"]
    assert h.stopped == [1, 2]
    ack = fe.deliver({"v": 1, "type": "stop_experiment", "experiment_id": EXP, "request_id": "b"})
    assert ack["ok"] is True and h.experiment_stopped
    gone = fe.deliver({"v": 1, "type": "stop_trial", "experiment_id": "19990101", "trial_id": 1})
    assert gone["type"] == "error" and "not running in this kernel" in gone["reason"]


def test_list_gives_running_experiments_then_the_stored_history(tmp_path):
    h = Harness(tmp_path)
    with open_store(h.store_path) as store:
        store.create_experiment(_record("20250101-000000-000001", "old"))
        store.finish_experiment("20250101-000000-000001", "FINISHED", 20.0, {"best_id": 3, "best_val": 0.8})
        store.create_experiment(_record(EXP, "unit"))  # the live one is in the store too: listed once
    h.start_trial(0)
    h.finish_trial(0, 0.5, TrialState.STOPPED)
    h.start_trial(1)
    fe = h.frontend_comm()
    reply = fe.deliver({"v": 1, "type": "list", "request_id": "l"})
    assert reply["type"] == "experiments" and reply["request_id"] == "l"
    live, old = reply["experiments"]
    assert live["experiment_id"] == EXP and live["live"] is True
    assert (live["done"], live["running"], live["best"]) == (1, 1, {"trial_id": 0, "metric": 0.5})
    assert old["name"] == "old" and old["live"] is False and old["status"] == "FINISHED"
    assert old["best"] == {"trial_id": 3, "metric": 0.8}
    assert (live["kernel"], old["kernel"]) == (True, False)  # which ran in this kernel


def test_list_marks_an_ended_experiment_of_this_kernel(tmp_path):
    from maggy_jupyter import registry

    h = Harness(tmp_path)
    with open_store(h.store_path) as store:
        store.create_experiment(_record(EXP, "unit"))
        store.finish_experiment(EXP, "FINISHED", 20.0, {"best_id": 0, "best_val": 0.5})
        store.create_experiment(_record("20250101-000000-000001", "elsewhere"))
    registry.clear()
    registry.register(h.handle)
    try:
        registry.mark_finished(EXP, "FINISHED")
        h.bridge.streams.clear()  # as after the experiment ended and the page reloaded
        reply = h.frontend_comm().deliver({"v": 1, "type": "list", "request_id": "l"})
        kernel = {s["experiment_id"]: s["kernel"] for s in reply["experiments"]}
        assert kernel == {EXP: True, "20250101-000000-000001": False}
    finally:
        registry.clear()


def test_a_stored_experiment_can_be_opened_and_its_trial_fetched(tmp_path):
    h = Harness(tmp_path)
    old = "20250101-000000-000001"
    with open_store(h.store_path) as store:
        store.create_experiment(_record(old, "old"))
        trial = Trial(trial_id=0, params={"lr": 1}, state=TrialState.RUNNING, history=[[0, 0.5]], logs=["x"])
        trial.state = TrialState.STOPPED
        store.save_trial(old, trial)
    fe = h.frontend_comm()
    snap = fe.deliver({"v": 1, "type": "subscribe", "experiment_id": "20250101"})
    assert snap["experiment"]["live"] is False and snap["seq"] == 0
    assert snap["trials"][0]["state"] == "STOPPED" and snap["trials"][0]["history"] == [[0, 0.5]]
    got = fe.deliver({"v": 1, "type": "get_trial", "experiment_id": old, "trial_id": 0})
    assert got["trial"]["logs"] == ["x"]


def test_an_experiment_left_running_by_a_killed_kernel_is_listed_and_opened_as_failed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    h = Harness(tmp_path)
    orphan, orphan_too = "20250101-000000-000002", "20250101-000000-000003"
    with open_store(h.store_path) as store:
        for eid in (orphan, orphan_too):
            rec = _record(eid, "killed")
            rec.config = {"driver": {"host": socket.gethostname(), "pid": dead.pid}}
            store.create_experiment(rec)
            store.save_trial(eid, Trial(0, {"lr": 1}, TrialState.RUNNING, history=[[0, 0.5]], start=11.0))
    fe = h.frontend_comm()
    listed = fe.deliver({"v": 1, "type": "list", "request_id": "l", "limit": 1})
    (shown,) = [e for e in listed["experiments"] if not e["live"]]
    assert shown["experiment_id"] == orphan_too and shown["status"] == "FAILED"
    snap = fe.deliver({"v": 1, "type": "subscribe", "experiment_id": orphan})  # not in that list
    assert snap["experiment"]["status"] == "FAILED"
    assert snap["trials"][0]["state"] == "LOST" and snap["trials"][0]["history"] == [[0, 0.5]]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("list", "JSON object"),
        ({"type": "list"}, "version"),
        ({"v": 2, "type": "list"}, "version"),
        ({"v": True, "type": "list"}, "version"),
        ({"v": 1}, "'type'"),
        ({"v": 1, "type": "frobnicate", "request_id": "x"}, "unknown request type 'frobnicate'"),
        ({"v": 1, "type": "stop_trial", "experiment_id": EXP}, "'trial_id' of type int"),
        ({"v": 1, "type": "stop_trial", "experiment_id": EXP, "trial_id": True}, "'trial_id' of type int"),
        ({"v": 1, "type": "stop_trial", "experiment_id": 5, "trial_id": 1}, "'experiment_id' of type str"),
        ({"v": 1, "type": "list", "limit": -1}, "'limit'"),
        ({"v": 1, "type": "subscribe", "experiment_id": "nope"}, "nope"),
    ],
)
def test_malformed_or_unknown_requests_get_an_error_reply(tmp_path, data, reason):
    h = Harness(tmp_path)
    fe = h.frontend_comm()
    reply = fe.deliver(data)
    assert reply["v"] == 1 and reply["type"] == "error" and reason in reply["reason"], reply
    if isinstance(data, dict) and "request_id" in data:
        assert reply["request_id"] == data["request_id"]


def test_a_failing_handler_is_an_error_reply_not_an_exception(tmp_path):
    h = Harness(tmp_path)

    def broken() -> Any:
        raise OSError("disk on fire")

    h.bridge.store_opener = broken
    fe = h.frontend_comm()
    reply = fe.deliver({"v": 1, "type": "subscribe", "experiment_id": "x", "request_id": 1})
    assert reply["type"] == "error" and "disk on fire" in reply["reason"] and reply["request_id"] == 1
    listed = fe.deliver({"v": 1, "type": "list"})  # the running ones are listed even so
    assert [e["experiment_id"] for e in listed["experiments"]] == [EXP] and "disk on fire" in listed[
        "store_error"
    ]


def test_a_comm_that_fails_to_send_is_dropped_and_others_keep_streaming(tmp_path):
    h = Harness(tmp_path)
    fe = h.frontend_comm()
    fe.deliver({"v": 1, "type": "subscribe", "experiment_id": EXP})

    def dead(data: Any) -> None:
        raise RuntimeError("socket closed")

    fe.send = dead  # type: ignore[method-assign]
    h.start_trial(0)
    h.bridge.flush_due()
    h.clock.now += 1
    h.publish(ev.MetricPoints(EXP, 0, [[0, 1.0]]))
    h.bridge.flush_due()
    assert [b["seq"] for b in h.own.of_type("batch")] == [1, 2]


def _record(experiment_id: str, name: str) -> ExperimentRecord:
    return ExperimentRecord(
        experiment_id=experiment_id,
        name=name,
        description="",
        experiment_type="optimization",
        searchspace={},
        optimizer="randomsearch",
        direction="max",
        num_trials=4,
        config={},
        status="RUNNING",
        start=10.0,
    )


def _wait_for(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_the_stream_mirror_keeps_a_bounded_history_per_trial() -> None:
    from types import SimpleNamespace

    from maggy_jupyter.comm_bridge.stream import HISTORY_LIMIT, ExperimentStream

    handle = SimpleNamespace(experiment_id="e", name="n", num_trials=1, direction="max")
    stream = ExperimentStream(handle, interval=0.1, now=0.0)
    stream.add(ev.TrialStarted("e", Trial(0, {}, TrialState.RUNNING, start=0.0)))
    sent = 0
    for start in range(0, 100_000, 1000):
        stream.add(ev.MetricPoints("e", 0, [[s, float(s)] for s in range(start, start + 1000)]))
        batch = stream.take(now=start + 1.0, force=True)
        sent += len(batch["points"]["0"])
    history = stream.snapshot()["trials"][0]["history"]
    assert sent == 100_000  # every point travels in a batch
    assert len(history) <= HISTORY_LIMIT and history[0] == [0, 0.0] and history[-1] == [99_999, 99_999.0]


def test_a_failed_experiment_says_why_in_its_summary_live_and_stored(tmp_path):
    failure = "all 1 trials failed; first error (trial 0): ValueError: boom"
    h = Harness(tmp_path)
    fe = h.frontend_comm()
    snap = fe.deliver({"v": 1, "type": "subscribe", "experiment_id": EXP, "request_id": "s"})
    assert snap["experiment"]["failure"] is None
    h.start_trial(0)
    h.finish_trial(0, 0.0, TrialState.ERROR)
    stream = h.bridge.streams[EXP]
    h.publish(ev.ExperimentFinished(EXP, "FAILED", {"status": "FAILED", "failure": failure}))
    assert h.own.sent[-1]["experiment_finished"]["result"]["failure"] == failure
    assert stream.summary()["failure"] == failure
    old = "20250101-000000-000002"
    with open_store(h.store_path) as store:
        store.create_experiment(_record(old, "old"))
        store.finish_experiment(old, "FAILED", 20.0, {"status": "FAILED", "failure": failure})
    listed = fe.deliver({"v": 1, "type": "list", "request_id": "l"})["experiments"]
    assert [e["failure"] for e in listed if e["experiment_id"] == old] == [failure]


TRACEBACK = """Traceback (most recent call last):
  File "/site-packages/maggy/worker/invoke.py", line 45, in call_training_function
    return fn(**kwargs)
  File "<dynamic-code>", line 4, in train
ValueError: boom"""
TAIL = 'Traceback (most recent call last):\n  File "<dynamic-code>", line 4, in train\nValueError: boom'


def test_the_summary_carries_the_engines_warning_and_first_error_live_and_stored(tmp_path):
    h = Harness(tmp_path)
    fe = h.frontend_comm()
    h.start_trial(0)
    trial = Trial(0, {"lr": 0.1}, state=TrialState.ERROR, start=1.0, end=2.0, error=TRACEBACK)
    h.publish(ev.TrialFinished(EXP, trial))
    h.start_trial(1)
    stream = h.bridge.streams[EXP]
    live = fe.deliver({"v": 1, "type": "list", "request_id": "l"})["experiments"][0]
    assert live["warning"] == "every trial so far failed (1)" and live["failure"] is None
    assert live["first_error"] == {"trial_id": 0, "text": TAIL}
    h.finish_trial(1, 0.5)  # one trial worked: no warning any more
    assert stream.summary()["warning"] is None and stream.summary()["first_error"] is None
    assert stream.summary()["best"] == {"trial_id": 1, "metric": 0.5}

    failure = "all 1 trials failed; first error (trial 0): ValueError: boom"
    old = "20250101-000000-000002"
    with open_store(h.store_path) as store:
        store.create_experiment(_record(old, "old"))
        store.save_trial(old, trial)
        store.finish_experiment(old, "FAILED", 20.0, {"status": "FAILED", "failure": failure})
    listed = fe.deliver({"v": 1, "type": "list", "request_id": "l"})["experiments"]
    (stored,) = [e for e in listed if e["experiment_id"] == old]
    assert (stored["failure"], stored["warning"]) == (failure, None)
    assert stored["first_error"] == {"trial_id": 0, "text": TAIL}
    snap = fe.deliver({"v": 1, "type": "subscribe", "experiment_id": old})
    assert snap["experiment"]["first_error"] == {"trial_id": 0, "text": TAIL}


def test_a_stored_experiments_long_histories_are_sent_downsampled(tmp_path):
    from maggy_jupyter.comm_bridge.stream import HISTORY_LIMIT

    h = Harness(tmp_path)
    old = "20250101-000000-000001"
    n = 100_000
    with open_store(h.store_path) as store:
        store.create_experiment(_record(old, "old"))
        long = Trial(
            0, {"lr": 1}, state=TrialState.FINISHED, metric=1.0, history=[[s, s / n] for s in range(n)]
        )
        store.save_trial(old, long)
        store.save_trial(old, Trial(1, {"lr": 2}, state=TrialState.FINISHED, metric=0.5, history=[[0, 0.1]]))
    fe = h.frontend_comm()
    snap = fe.deliver({"v": 1, "type": "subscribe", "experiment_id": old})
    first, short = snap["trials"][0]["history"], snap["trials"][1]["history"]
    assert len(first) <= HISTORY_LIMIT + 2 and first[0] == [0, 0.0] and first[-1] == [n - 1, (n - 1) / n]
    steps = [p[0] for p in first]
    gaps = [b - a for a, b in zip(steps, steps[1:], strict=False)]
    assert steps == sorted(steps) and max(gaps) <= 2 * n / HISTORY_LIMIT
    assert short == [[0, 0.1]]
    got = fe.deliver({"v": 1, "type": "get_trial", "experiment_id": old, "trial_id": 0})
    assert got["trial"]["history"] == first


def test_a_batch_that_starts_or_ends_something_carries_the_summary_after_it(tmp_path):
    h = Harness(tmp_path)
    h.start_trial(0)
    h.bridge.flush_due()
    first = h.own.of_type("batch")[-1]
    assert first["summary"]["running"] == 1 and first["summary"]["best"] is None
    h.clock.now += 1.0
    h.publish(ev.MetricPoints(EXP, 0, [[0, 0.1]]))
    h.bridge.flush_due()
    assert "summary" not in h.own.of_type("batch")[-1]  # points do not change the summary
    h.clock.now += 1.0
    h.finish_trial(0, 0.7)
    h.bridge.flush_due()
    after = h.own.of_type("batch")[-1]["summary"]
    assert (after["done"], after["running"], after["best"]) == (1, 0, {"trial_id": 0, "metric": 0.7})
    h.publish(ev.ExperimentFinished(EXP, "FINISHED", {"status": "FINISHED", "failure": None}))
    last = h.own.of_type("batch")[-1]
    assert last["summary"]["status"] == "FINISHED" and last["summary"]["live"] is False
    assert last["summary"]["end"] is not None


# ---- a resumed experiment --------------------------------------------------------------------


def _earlier_trials(n: int, points: int = 3) -> tuple[Trial, ...]:
    return tuple(
        Trial(
            trial_id=i,
            params={"lr": i / 10},
            state=TrialState.LOST if i == n - 1 else TrialState.FINISHED,
            metric=None if i == n - 1 else float(i),
            history=[[s, s / points] for s in range(points)],
            logs=[f"line {i}"],
            start=1.0,
            end=2.0,
        )
        for i in range(n)
    )


def test_a_resumed_experiments_earlier_trials_travel_in_experiment_started_and_count(tmp_path):
    h = Harness(tmp_path)
    earlier = _earlier_trials(3)
    h.publish(ev.ExperimentStarted(EXP, "unit", 4, 2, ("127.0.0.1", 1), earlier_trials=earlier))
    h.start_trial(3)  # this run's trials get higher ids
    h.bridge.flush_due()
    (batch,) = h.own.of_type("batch")
    started = batch["experiment_started"]
    assert [t["trial_id"] for t in started["earlier_trials"]] == [0, 1, 2]
    first = started["earlier_trials"][0]
    assert first["earlier"] is True and first["state"] == "FINISHED" and first["metric"] == 0.0
    assert first["history"] == [[0, 0.0], [1, 1 / 3], [2, 2 / 3]] and first["num_logs"] == 1
    assert "logs" not in first  # logs come with get_trial, as for every trial
    assert "earlier" not in batch["started"][0]  # this run's trials are not earlier ones
    summary = batch["summary"]
    assert summary["earlier"] == 3 and summary["done"] == 3 and summary["running"] == 1
    assert summary["best"] == {"trial_id": 1, "metric": 1.0}
    # A frontend that subscribes late gets them in its snapshot, marked, with their logs on request.
    fe = h.frontend_comm()
    snap = fe.deliver({"v": 1, "type": "subscribe", "experiment_id": EXP})
    marked = {t["trial_id"]: t.get("earlier", False) for t in snap["trials"]}
    assert marked == {0: True, 1: True, 2: True, 3: False}
    assert snap["trials"][2]["history"] == [[0, 0.0], [1, 1 / 3], [2, 2 / 3]]
    assert snap["experiment"]["earlier"] == 3
    reply = fe.deliver({"v": 1, "type": "get_trial", "experiment_id": EXP, "trial_id": 1})
    assert reply["trial"]["logs"] == ["line 1"] and reply["trial"]["earlier"] is True


def test_a_new_experiments_messages_stay_as_they_were(tmp_path):
    h = Harness(tmp_path)
    h.publish(ev.ExperimentStarted(EXP, "unit", 4, 2, ("127.0.0.1", 1)))
    h.bridge.flush_due()
    (batch,) = h.own.of_type("batch")
    assert batch["experiment_started"] == {"name": "unit", "num_trials": 4, "num_workers": 2}
    assert batch["summary"]["earlier"] == 0


def test_many_long_earlier_trials_make_a_bounded_experiment_started(tmp_path):
    from maggy_jupyter.comm_bridge.stream import EARLIER_POINTS_BUDGET, EARLIER_POINTS_PER_TRIAL

    h = Harness(tmp_path)
    earlier = _earlier_trials(400, points=2048)  # what the engine sends at most per trial
    h.publish(ev.ExperimentStarted(EXP, "unit", 400, 2, ("127.0.0.1", 1), earlier_trials=earlier))
    h.bridge.flush_due()
    (batch,) = h.own.of_type("batch")
    sent = batch["experiment_started"]["earlier_trials"]
    assert len(sent) == 400
    sizes = [len(t["history"]) for t in sent]
    assert max(sizes) <= EARLIER_POINTS_PER_TRIAL and sum(sizes) <= EARLIER_POINTS_BUDGET
    for t in sent:  # thinned evenly: the first and the last point kept
        assert t["history"][0] == [0, 0.0] and t["history"][-1] == [2047, 2047 / 2048]
    assert len(json.dumps(batch)) < 2_000_000


def test_a_snapshot_of_many_trials_thins_ended_curves_to_a_budget_but_not_running_ones(monkeypatch):
    from types import SimpleNamespace

    from maggy_jupyter.comm_bridge import stream as stream_module

    monkeypatch.setattr(stream_module, "SNAPSHOT_POINTS", 1000)  # 10 trials: 100 points each
    handle = SimpleNamespace(experiment_id="e", name="n", num_trials=10, direction="max")
    s = stream_module.ExperimentStream(handle, interval=0.1, now=0.0)
    s.add(ev.ExperimentStarted("e", "n", 10, 2, ("h", 1)), now=0.0)
    for tid in range(10):
        trial = Trial(tid, {"x": tid}, TrialState.RUNNING, start=1.0)
        s.add(ev.TrialStarted("e", trial), now=1.0)
        s.add(ev.MetricPoints("e", tid, [[step, float(step)] for step in range(1000)]), now=1.0)
        if tid < 9:  # trial 9 is still running
            s.add(
                ev.TrialFinished(
                    "e", Trial(tid, {"x": tid}, TrialState.FINISHED, metric=1.0, start=1.0, end=2.0)
                ),
                now=2.0,
            )
    s.take(10.0)
    trials = {t["trial_id"]: t for t in s.snapshot()["trials"]}
    for tid in range(9):
        history = trials[tid]["history"]
        assert len(history) <= 102 and history[0] == [0, 0.0] and history[-1] == [999, 999.0]
    assert len(trials[9]["history"]) == 1000  # a running curve goes whole
    assert len(s.trial_message(0)["trial"]["history"]) == 1000  # and get_trial gives one whole


# ---- analysis ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"v": 1, "type": "analysis"}, "'experiment_id' of type str"),
        ({"v": 1, "type": "analysis", "experiment_id": 7}, "'experiment_id' of type str"),
        ({"v": 1, "type": "analysis", "experiment_id": "19990101", "request_id": "a"}, "19990101"),
    ],
)
def test_a_malformed_or_unknown_analysis_request_gets_an_error_reply(tmp_path, data, reason):
    h = Harness(tmp_path)
    reply = h.frontend_comm().deliver(data)
    assert reply["type"] == "error" and reason in reply["reason"], reply
    assert reply["request_id"] == data.get("request_id")


def test_analysis_of_a_running_experiment_reads_its_handles_trials(tmp_path):
    from maggy.visualization import analysis_payload

    h = Harness(tmp_path)
    space = {"x": {"type": "DOUBLE", "values": [0.0, 1.0]}}
    trials = [
        Trial(i, {"x": i / 10}, TrialState.FINISHED, metric=i / 10, start=float(i), end=float(i) + 0.5)
        for i in range(6)
    ] + [Trial(6, {"x": 0.9}, TrialState.RUNNING, start=7.0)]
    h.handle.searchspace = space
    h.handle._snapshot = lambda: [t for t in trials]
    h.start_trial(6, x=0.9)
    fe = h.frontend_comm()
    reply = fe.deliver({"v": 1, "type": "analysis", "experiment_id": EXP[:10], "request_id": "an"})
    assert reply["type"] == "analysis" and reply["request_id"] == "an", reply
    assert reply["experiment_id"] == EXP and reply["live"] is True and reply["status"] == "RUNNING"
    assert reply["analysis"] == _strict(analysis_payload(trials, "max", space))
    assert reply["analysis"]["history"]["total"] == 6 and reply["analysis"]["trials"] == 7
    assert fe.of_type("batch") == []  # asking for an analysis subscribes to nothing


@pytest.mark.integration
def test_analysis_of_a_stored_experiment_run_by_lagom(tmp_path):
    from maggy import Searchspace, experiment
    from maggy.experiments import get_experiment
    from maggy.visualization import analysis_payload
    from maggy_jupyter import registry
    from maggy_jupyter.live_view.testing import recording_comms

    space = Searchspace(x=("DOUBLE", [0.0, 1.0]), noise=("DOUBLE", [0.0, 1.0]))
    h = Harness(tmp_path)
    with recording_comms():
        result = experiment.lagom(
            _analysis_train,
            searchspace=space,
            optimizer="randomsearch",
            num_trials=10,
            store=str(h.store_path),
            num_workers=2,
            seed=5,
        )
    registry.clear()
    fe = h.frontend_comm()
    eid = result["experiment_id"]
    reply = fe.deliver({"v": 1, "type": "analysis", "experiment_id": eid[:15]})
    assert reply["type"] == "analysis" and reply["live"] is False and reply["status"] == "FINISHED", reply
    stored = get_experiment(eid, path=h.store_path, with_history=False)
    payload = reply["analysis"]
    assert payload == _strict(analysis_payload(stored.trials, "max", stored.record.searchspace))
    assert payload["history"]["total"] == 10 and payload["history"]["best_id"] == result["best_id"]
    assert len(payload["parallel"]["trial_ids"]) == 10
    assert sorted(s["name"] for s in payload["slices"]) == ["noise", "x"]
    ranked = sorted(payload["importance"]["importances"].items(), key=lambda kv: -kv[1])
    assert ranked[0][0] == "x"
    assert set(payload["params"]) >= {str(i) for i in payload["history"]["trial_ids"]}


def _analysis_train(x: float, noise: float, reporter: Any) -> float:
    return x * 10 + noise * 0.01


def test_a_trials_error_reaches_the_panel_without_maggys_worker_frames():
    from maggy_jupyter.comm_bridge import wire

    error = (
        "Traceback (most recent call last):\n"
        '  File "/x/maggy/worker/loop.py", line 122, in _run_trial\n'
        "    result = call_training_function(map_fun, params, reporter)\n"
        '  File "<dynamic-code>", line 11, in train\n'
        "FloatingPointError: loss is NaN\n"
    )
    fields = wire.trial_fields(Trial(2, {"lr": 0.9}, TrialState.ERROR, error=error))
    assert "maggy/worker" not in fields["error"]
    assert 'File "<dynamic-code>", line 11, in train' in fields["error"]
    assert fields["error"].rstrip().endswith("FloatingPointError: loss is NaN")


def test_the_mirror_keeps_a_trials_log_tail_and_counts_the_rest():
    from types import SimpleNamespace

    from maggy.trial import LOG_TAIL_LINES
    from maggy_jupyter.comm_bridge.stream import ExperimentStream

    handle = SimpleNamespace(experiment_id="e", name="n", num_trials=1, direction="max")
    s = ExperimentStream(handle, interval=0.1, now=0.0)
    s.add(ev.ExperimentStarted("e", "n", 1, 1, ("h", 1)), now=0.0)
    s.add(ev.TrialStarted("e", Trial(0, {"x": 1}, TrialState.RUNNING, start=1.0)), now=1.0)
    for chunk in range(50):  # 50,000 lines, as a chatty trial prints them
        s.add(ev.TrialLog("e", 0, [f"line {chunk * 1000 + i}" for i in range(1000)]), now=1.0)
        s.take(1.0 + chunk)
    (trial,) = s.snapshot()["trials"]
    assert trial["num_logs"] == 50_000
    logs = s.trial_message(0)["trial"]["logs"]
    assert len(logs) == LOG_TAIL_LINES + 1 and logs[-1] == "line 49999"
    assert "49,000 earlier lines are in the experiment store" in logs[0]
