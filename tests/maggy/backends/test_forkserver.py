"""The local backend's fork server, end to end: each test runs a fresh Python process (so it owns
the process's one fork server) that runs real experiments and prints what its workers saw."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.integration

PRELUDE = textwrap.dedent(
    """
    import json, os, signal, sys, time
    from maggy import Searchspace, experiment
    from maggy.backends import forkserver
    from maggy.store import open_store

    STORE = sys.argv[1]

    def report(i, reporter):
        import os
        reporter.log(json.dumps({"ppid": os.getppid(), "cwd": os.getcwd(),
                                 "var": os.environ.get("MAGGY_TEST_VAR")}))
        os.write(1, b"worker wrote to fd 1\\n")
        return float(i)

    def run(fn=report, **kw):
        kw.setdefault("num_trials", 4)
        kw.setdefault("num_workers", 2)
        result = experiment.lagom(fn, searchspace=Searchspace(i=("INTEGER", [0, 10**6])),
                                  store=STORE, progress=False, **kw)
        trials = open_store(STORE).get_trials(result["experiment_id"])
        seen = [json.loads(t.logs[0]) for t in trials if t.logs]
        return result, trials, seen

    def run_grid(fn, values, **kw):
        result = experiment.lagom(fn, searchspace=Searchspace(i=("DISCRETE", values)), optimizer="gridsearch",
                                  num_workers=2, hb_interval=0.2, store=STORE, progress=False, **kw)
        return open_store(STORE).get_trials(result["experiment_id"])

    def wait_for_server():
        deadline = time.time() + 20
        while forkserver.shared_server() is None:
            assert time.time() < deadline, "the fork server never became ready"
            time.sleep(0.05)
        return forkserver.shared_server()

    def out(**kw):
        print("RESULT " + json.dumps(kw), flush=True)
    """
)


def run_script(body: str, tmp_path, env: dict[str, str] | None = None) -> tuple[dict, str]:
    code = PRELUDE + textwrap.dedent(body)
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "store.db")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :]), proc.stderr


def test_later_workers_are_forked_with_the_callers_environment_directory_and_output(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    result, stderr = run_script(
        """
        _, _, first = run()
        server = wait_for_server()
        os.environ["MAGGY_TEST_VAR"] = "set after the server started"
        os.chdir("elsewhere")
        res, trials, later = run()
        out(first=first, later=later, server=server.pid, me=os.getpid(),
            states=[t.state.value for t in trials])
        """,
        tmp_path,
    )
    assert {s["ppid"] for s in result["first"]} == {result["me"]}  # the first experiment: fresh processes
    assert {s["ppid"] for s in result["later"]} == {result["server"]}  # later ones: forked
    assert all(s["cwd"] == str(tmp_path / "elsewhere") for s in result["later"])
    assert all(s["var"] == "set after the server started" for s in result["later"])
    assert result["states"] == ["FINISHED"] * 4
    # Both experiments' workers write into their output pipes, forked ones too; with no frontend,
    # lagom prints those lines to stderr, marked with their worker.
    assert len(re.findall(r"\[local-\d\] worker wrote to fd 1", stderr)) == 8
    # The fork server ends with the process that started it (end of file on its socket).
    deadline = time.time() + 10
    while os.path.exists(f"/proc/{result['server']}") and time.time() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{result['server']}")


def test_a_changed_python_variable_or_a_dead_server_falls_back_to_fresh_processes(tmp_path):
    result, _ = run_script(
        """
        run()
        old = wait_for_server()
        os.environ["PYTHONWARNINGS"] = "ignore"  # shapes an interpreter at start: a fork would miss it
        assert forkserver.shared_server() is None
        _, _, changed = run()
        new = wait_for_server()  # a replacement that started with the new variable
        os.kill(new.pid, signal.SIGKILL)
        new.closed.wait(10)
        res, trials, killed = run()
        out(changed=changed, killed=killed, old=old.pid, new=new.pid, me=os.getpid(),
            states=[t.state.value for t in trials])
        """,
        tmp_path,
    )
    assert result["old"] != result["new"]
    assert {s["ppid"] for s in result["changed"]} == {result["me"]}
    assert {s["ppid"] for s in result["killed"]} == {result["me"]}
    assert result["states"] == ["FINISHED"] * 4


def test_forked_workers_that_die_or_hang_are_replaced_and_nothing_is_lost(tmp_path):
    result, _ = run_script(
        """
        run()
        server = wait_for_server()

        def flaky(i, reporter):
            import os, time
            reporter.broadcast(1.0, step=0)
            if i == 0:
                os._exit(3)  # the worker dies mid-trial
            if i == 1:
                time.sleep(60)  # hangs past trial_timeout: killed through the server
            return float(i)

        trials = run_grid(flaky, [0, 1, 2, 3], trial_timeout=3)
        out(states={str(t.params["i"]) + ("r" if t.retry_of is not None else ""): t.state.value
                    for t in trials},
            errors=[t.error for t in trials if t.state.value == "ERROR"],
            server_alive=forkserver.shared_server() is not None)
        """,
        tmp_path,
    )
    states = result["states"]
    assert states["0"] == "LOST" and states["0r"] == "LOST"  # died twice: retried once
    assert states["1"] == "ERROR" and "trial_timeout" in result["errors"][0]
    assert states["2"] == "FINISHED" and states["3"] == "FINISHED"
    assert result["server_alive"]


def test_workers_forked_by_a_server_that_died_are_still_killed_when_over_their_timeout(tmp_path):
    result, _ = run_script(
        """
        run()
        server = wait_for_server()

        def slow(i, reporter):
            import time
            reporter.broadcast(1.0, step=0)
            time.sleep(60 if i == 0 else 0.1)
            return float(i)

        def kill_server_once_running(event):
            if type(event).__name__ == "TrialStarted" and event.trial.params["i"] == 0:
                os.kill(server.pid, signal.SIGKILL)

        started = time.time()
        trials = run_grid(slow, [0, 1, 2], trial_timeout=2, listeners=[kill_server_once_running])
        out(seconds=time.time() - started, states=[t.state.value for t in trials],
            closed=server.closed.is_set())
        """,
        tmp_path,
    )
    assert result["closed"]
    assert result["states"] == ["ERROR", "FINISHED", "FINISHED"]  # trial 0 killed at its timeout
    assert result["seconds"] < 20


def test_a_trials_grandchild_goes_with_its_worker_even_when_the_server_died(tmp_path):
    # The worker is signalled through its pidfd then; its process group must go too.
    result, _ = run_script(
        """
        run()
        server = wait_for_server()

        def slow(i, reporter):
            import subprocess, sys, time
            reporter.broadcast(1.0, step=0)
            if i == 0:
                child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
                open("grandchild.pid", "w").write(str(child.pid))
                time.sleep(60)
            return float(i)

        def kill_server_once_running(event):
            if type(event).__name__ == "TrialStarted" and event.trial.params["i"] == 0:
                os.kill(server.pid, signal.SIGKILL)

        trials = run_grid(slow, [0, 1], trial_timeout=2, listeners=[kill_server_once_running])
        pid = int(open("grandchild.pid").read())

        def alive():
            try:
                return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
            except OSError:
                return False

        deadline = time.time() + 2
        while alive() and time.time() < deadline:
            time.sleep(0.02)
        gone = not alive()
        if not gone:
            os.kill(pid, signal.SIGKILL)
        out(states=[t.state.value for t in trials], closed=server.closed.is_set(), gone=gone)
        """,
        tmp_path,
    )
    assert result["closed"]
    assert result["states"] == ["ERROR", "FINISHED"]
    assert result["gone"]
