"""Trials that fork, kill their own worker, exit it quietly or leave children behind, on real processes.

Each case runs lagom in a child Python process (so a hang is bounded by a timeout, and each owns
its fork server) and prints what it saw as one JSON line. ``forked`` cases first run a small
experiment and wait for the fork server, so that the workers under test are forked by it rather
than started fresh: both paths must behave the same.

- A child that keeps a dead worker's control socket open (multiprocessing, or a child that left
  the worker's process group) must not cost the worker's replacement its trial when it closes it.
- A worker that exits with code 0 mid-trial is replaced like any other that dies.
- A trial's grandchild (``subprocess``) is gone after trial_timeout, a stop, an interrupt, and
  the end of lagom: the worker's process group goes with it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from maggy.backends.base import Supervision
from maggy.backends.local import LocalBackend

pytestmark = pytest.mark.integration

PRELUDE = textwrap.dedent(
    """
    import json, os, signal, sys, threading, time
    from maggy import Searchspace, experiment
    from maggy.backends import forkserver
    from maggy.store import open_store

    STORE, FORKED, SCRATCH = sys.argv[1], sys.argv[2] == "forked", sys.argv[3]

    def warm_up():
        # A first experiment starts the fork server; the next ones' workers are forked from it.
        if not FORKED:
            return
        experiment.lagom(lambda i: float(i), num_trials=2, searchspace=Searchspace(i=("INTEGER", [0, 9])),
                         num_workers=2, store=STORE, progress=False)
        deadline = time.time() + 30
        while forkserver.shared_server() is None:
            assert time.time() < deadline, "the fork server never became ready"
            time.sleep(0.05)

    def grid(fn, values, **kw):
        kw.setdefault("num_workers", 1)
        kw.setdefault("hb_interval", 0.2)
        started = time.time()
        try:
            result = experiment.lagom(fn, searchspace=Searchspace(i=("DISCRETE", values)),
                                      optimizer="gridsearch", store=STORE, progress=False, **kw)
            outcome = result["status"] if "status" in result else "returned"
        except BaseException as exc:  # an interrupt ends lagom with a KeyboardInterrupt
            outcome = type(exc).__name__
        seconds = time.time() - started
        exp = open_store(STORE).list_experiments()[0]
        trials = open_store(STORE).get_trials(exp.experiment_id)
        return outcome, seconds, trials

    def states(trials):
        return [(t.params["i"], t.state.value, t.retry_of is not None) for t in trials]

    def out(**kw):
        print("RESULT " + json.dumps(kw), flush=True)

    def start_grandchild(tag):
        # A process the trial starts and never waits for, in the worker's process group.
        import subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", tag])
        with open(os.path.join(SCRATCH, tag + ".pid"), "w") as f:
            f.write(str(child.pid))
    """
)


def run_script(parts: list[str], tmp_path: Path, forked: bool, timeout: float = 90) -> dict:
    """Run PRELUDE and ``parts`` (each dedented) in a fresh Python; its RESULT line as a dict
    (fails on a hang)."""
    code = PRELUDE + "".join(textwrap.dedent(part) for part in parts)
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                code,
                str(tmp_path / "store.db"),
                "forked" if forked else "fresh",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=tmp_path,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"lagom did not end within {timeout} s (a hang); its output:\n{exc.stderr}")
    assert proc.returncode == 0, proc.stderr
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert line is not None, proc.stdout + proc.stderr
    return json.loads(line[len("RESULT ") :])


def _running(pid: int, tag: str) -> bool:
    """Whether ``pid`` is still the (live, not zombie) grandchild tagged ``tag``."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return tag.encode() in cmdline and state != "Z"


def _grandchildren(tmp_path: Path) -> dict[int, str]:
    return {int(p.read_text()): p.stem for p in tmp_path.glob("*.pid")}


@pytest.fixture
def reap_grandchildren(tmp_path):
    """After the test, kill any grandchild a failing case left behind."""
    yield
    for pid, tag in _grandchildren(tmp_path).items():
        if _running(pid, tag):
            os.kill(pid, 9)


# ---- a dead worker's socket held open by its child (item 1) ----------------------------------

HELD_SOCKET = """
    MARK = os.path.join(SCRATCH, "died")

    def train(i, reporter):
        import multiprocessing, os, signal, time
        reporter.broadcast(0.0, step=0)
        if i == 0 and not os.path.exists(MARK):
            open(MARK, "w").close()
            if CHILD == "multiprocessing":
                # E.g. a fork-based DataLoader worker: it goes with its worker's process group.
                multiprocessing.get_context("fork").Process(target=time.sleep, args=(1.5,)).start()
            else:
                # A child that left the worker's process group: it outlives the worker, holding its
                # control socket, and closes it while the worker's replacement runs a trial.
                ready_r, ready_w = os.pipe()
                if os.fork() == 0:
                    os.setsid()
                    os.write(ready_w, b"x")
                    time.sleep(1.5)
                    os._exit(0)
                os.read(ready_r, 1)  # it has left the group: killing the group spares it
            os.kill(os.getpid(), signal.SIGKILL)  # the worker dies; the child holds its sockets
        time.sleep(3 if i == 0 else 0.1)  # the replacement still runs this when the child exits
        return float(i)

    warm_up()
    outcome, seconds, trials = grid(train, [0, 1])
    out(outcome=outcome, seconds=seconds, states=states(trials), errors=[t.error for t in trials])
"""


@pytest.mark.timeout(150)
@pytest.mark.parametrize("child", ["multiprocessing", "setsid"])
@pytest.mark.parametrize("forked", [False, True], ids=["fresh", "forked"])
def test_a_child_holding_a_dead_workers_socket_does_not_cost_its_replacement_the_trial(
    tmp_path, child, forked
):
    result = run_script([f"CHILD = {child!r}\n", HELD_SOCKET], tmp_path, forked)
    # Trial 0's first run is LOST with its worker; its retry, on the replacement, FINISHES even
    # though the child closes the dead worker's socket while the retry runs.
    assert result["states"] == [[0, "LOST", False], [0, "FINISHED", True], [1, "FINISHED", False]], result
    assert result["seconds"] < 30


@pytest.mark.timeout(120)
def test_a_worker_that_exits_with_code_0_mid_trial_is_replaced(tmp_path):
    result = run_script(
        [
            """
        MARK = os.path.join(SCRATCH, "exited")

        def train(i):
            import os
            if i == 0 and not os.path.exists(MARK):
                open(MARK, "w").close()
                os._exit(0)  # e.g. a library calling os._exit(0) in the worker
            return float(i)

        outcome, seconds, trials = grid(train, [0, 1, 2])
        out(outcome=outcome, seconds=seconds, states=states(trials))
        """
        ],
        tmp_path,
        forked=False,
    )
    assert result["states"] == [
        [0, "LOST", False],
        [0, "FINISHED", True],
        [1, "FINISHED", False],
        [2, "FINISHED", False],
    ], result
    assert result["seconds"] < 30


@pytest.mark.timeout(60)
def test_the_local_backend_fails_the_experiment_when_no_worker_is_left():
    # The safety net under the rules above: should every worker have left while the driver still
    # wants one, the experiment ends with an error instead of waiting forever.
    failures: list[str] = []
    backend = LocalBackend(num_workers=1)
    with socket.socket() as probe:  # a port nobody listens on: the worker exits at once
        probe.bind(("127.0.0.1", 0))
        address = probe.getsockname()
    supervision = Supervision(
        is_running=lambda: not failures,
        has_registered=lambda worker_id, attempt: True,
        fail=failures.append,
        has_left=lambda worker_id, attempt: True,  # as if answered DONE: not to be replaced
    )
    backend.start(address, os.urandom(32), backend.pack(lambda x: x), 1.0, 1, supervision)
    try:
        deadline = time.monotonic() + 20
        while not failures and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        backend.shutdown(graceful=False)
    assert failures and "every worker process has left" in failures[0]


# ---- a trial's children go with its worker (item 9) ------------------------------------------

HANGS_WITH_A_GRANDCHILD = """
    def train(i, reporter):
        import time
        reporter.broadcast(0.0, step=0)
        if i == 0:
            start_grandchild("maggy-grandchild-" + str(os.getpid()))
            time.sleep(60)  # hangs; never calls broadcast again
        return float(i)
"""


@pytest.mark.timeout(150)
@pytest.mark.parametrize("forked", [False, True], ids=["fresh", "forked"])
def test_a_grandchild_is_gone_after_trial_timeout(tmp_path, forked, reap_grandchildren):
    result = run_script(
        [
            HANGS_WITH_A_GRANDCHILD,
            """
        warm_up()
        outcome, seconds, trials = grid(train, [0, 1], trial_timeout=2)
        out(outcome=outcome, seconds=seconds, states=states(trials))
        """,
        ],
        tmp_path,
        forked,
    )
    assert result["states"] == [[0, "ERROR", False], [1, "FINISHED", False]], result
    _assert_grandchildren_gone(tmp_path, within=0.5)


@pytest.mark.timeout(120)
def test_a_grandchild_is_gone_after_the_user_stops_the_experiment(tmp_path, reap_grandchildren):
    result = run_script(
        [
            HANGS_WITH_A_GRANDCHILD,
            """
        import maggy.core.run as run_module

        class StopOnceStarted:
            def active(self):
                return True

            def attach(self, handle):
                def on_event(event):
                    if type(event).__name__ == "MetricPoints":
                        threading.Thread(target=handle.stop_experiment).start()
                handle.subscribe(on_event)

        run_module.discover = lambda: [StopOnceStarted()]
        outcome, seconds, trials = grid(train, [0, 1])
        out(outcome=outcome, seconds=seconds, states=states(trials))
        """,
        ],
        tmp_path,
        forked=False,
    )
    assert result["states"][0][:2] == [0, "STOPPED"], result
    _assert_grandchildren_gone(tmp_path, within=0.5)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("forked", [False, True], ids=["fresh", "forked"])
def test_a_grandchild_is_gone_after_an_interrupt(tmp_path, forked, reap_grandchildren):
    result = run_script(
        [
            HANGS_WITH_A_GRANDCHILD,
            """
        warm_up()

        def interrupt_once_the_grandchild_runs():
            while not [f for f in os.listdir(SCRATCH) if f.endswith(".pid")]:
                time.sleep(0.05)
            time.sleep(0.3)
            os.kill(os.getpid(), signal.SIGINT)

        threading.Thread(target=interrupt_once_the_grandchild_runs, daemon=True).start()
        outcome, seconds, trials = grid(train, [0, 1])
        out(outcome=outcome, seconds=seconds, states=states(trials))
        """,
        ],
        tmp_path,
        forked,
    )
    assert result["outcome"] in ("KeyboardInterrupt", "ExperimentInterrupted"), result
    _assert_grandchildren_gone(tmp_path, within=0.5)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("forked", [False, True], ids=["fresh", "forked"])
def test_a_grandchild_left_by_a_finished_trial_is_gone_at_the_end_of_lagom(
    tmp_path, forked, reap_grandchildren
):
    result = run_script(
        [
            """
        def train(i):
            start_grandchild("maggy-grandchild-" + str(i))
            return float(i)

        warm_up()
        outcome, seconds, trials = grid(train, [0, 1], num_workers=2)
        ended = time.time()
        pids = [int(open(os.path.join(SCRATCH, f)).read()) for f in os.listdir(SCRATCH) if f.endswith(".pid")]

        def alive(pid):  # still running (a zombie waits only for its reaper)
            try:
                return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
            except OSError:
                return False

        while any(alive(p) for p in pids) and time.time() - ended < 5:
            time.sleep(0.01)
        out(outcome=outcome, states=states(trials), left=[p for p in pids if alive(p)],
            gone_after=time.time() - ended)
        """
        ],
        tmp_path,
        forked,
    )
    # While this process (the kernel) still runs: the workers' groups went with them.
    assert [s[1] for s in result["states"]] == ["FINISHED", "FINISHED"], result
    assert result["left"] == [] and result["gone_after"] < 1.0, result


def _assert_grandchildren_gone(tmp_path: Path, within: float) -> None:
    children = _grandchildren(tmp_path)
    assert children, "the trial never started its grandchild"
    deadline = time.monotonic() + within
    while any(_running(pid, tag) for pid, tag in children.items()) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [pid for pid, tag in children.items() if _running(pid, tag)]
    assert left == [], f"grandchildren {left} outlived their worker"
