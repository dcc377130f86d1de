"""The Jupyter frontend in a REAL ipykernel, driven through jupyter_client as a notebook would.

The kernel tests (marked ``kernel`` and ``integration``) start a kernel, run ``lagom()`` in a
cell and, while that cell blocks, act as the browser: they send a ``comm_msg`` (a stop button's
click) to a comm the kernel opened, and check that the trial stops at once, that cells queued
behind the experiment still run afterwards with their own output, that the interrupt button ends
the experiment cleanly, and that ``await lagom_async(...)`` serves the click too (ipykernel 7 by
itself, ipykernel 6 through the pump in lagom_async's wait).

Test (a) runs against ipykernel 7 (the dev venv) and ipykernel 6 (``.venv-ipykernel6``, made by
``bash scripts/setup-ipykernel6``; skipped with that advice when missing). Each kernel gets its
own MAGGY_HOME in a temporary directory, so the user's store is never touched.

The unit tests at the end need no kernel: the registry, the text progress line and ``attach``.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kernel_helpers import (
    SETUP_IPYKERNEL6,
    Kernel,
    ipykernel6_python,
    marked_workers,
    running_kernel,
    store_trials,
)

from maggy.core import events as ev
from maggy.frontend import ExperimentHandle
from maggy.trial import Trial, TrialState
from maggy_jupyter import frontend, registry
from maggy_jupyter.frontend import JupyterFrontend, ProgressState, TextProgress

#: Kernel-side code shared by every kernel test: a comm standing in for the live view's stop
#: button (it stops the first running trial of this kernel's experiment, found through the
#: registry, and answers with what it did), a training function that broadcasts every 50 ms for
#: ``STEPS`` steps, and a summary of the trials' states.
SETUP = textwrap.dedent(
    """
    import json
    import comm, ipykernel
    from maggy import Searchspace, experiment
    from maggy_jupyter import kernel_pump, registry

    def _on_test_msg(msg):
        reply = {"pumping": kernel_pump.is_pumping(), "stopped": None}
        entries = registry.running()
        if entries:
            handle = entries[0].handle
            running = [t.trial_id for t in handle.trials() if t.state.value == "RUNNING"]
            if running and handle.stop_trial(running[0]):
                reply.update(stopped=running[0], experiment_id=handle.experiment_id)
        test_comm.send(reply)

    test_comm = comm.create_comm(target_name="maggy-test")
    test_comm.on_msg(_on_test_msg)

    def train(x, reporter):
        import time
        for step in range(STEPS):
            reporter.broadcast(metric=x + step / 1000, step=step)
            time.sleep(0.05)
        return x

    def states():
        return {t.trial_id: t.state.value for t in registry.recent()[0].handle.trials()}

    print("IPYKERNEL", ipykernel.__version__)
    """
)

EXPERIMENT = """
experiment.{fn}(train, name="busy-kernel", num_trials={trials}, num_workers={trials}, hb_interval=0.1,
                searchspace=Searchspace(x=("DOUBLE", [0.0, 1.0])), optimizer="randomsearch")
"""


def lagom_cell(steps: int, trials: int = 3, fn: str = "lagom", prefix: str = "") -> str:
    call = EXPERIMENT.format(fn=fn, trials=trials).strip()
    return f'STEPS = {steps}\nresult = {prefix}{call}\nprint("STATES", json.dumps(states()))\n'


def _venv_python(request: pytest.FixtureRequest) -> str:
    if request.param == 7:
        return sys.executable
    python = ipykernel6_python()
    if python is None:
        pytest.skip(f"no ipykernel-6 venv (.venv-ipykernel6); create it with `{SETUP_IPYKERNEL6}`")
    return str(python)


Started = tuple[Kernel, Path, str]  # the kernel, its MAGGY_HOME, the id of the test's comm


@pytest.fixture(params=[pytest.param(7, id="ipykernel7"), pytest.param(6, id="ipykernel6")])
def any_kernel(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Started]:
    """An ipykernel 7 and an ipykernel 6 kernel, SETUP run, its major version checked."""
    yield from _kernel(request.param, _venv_python(request), tmp_path)


@pytest.fixture
def kernel7(tmp_path: Path) -> Iterator[Started]:
    yield from _kernel(7, sys.executable, tmp_path)


def _kernel(major: int, python: str, tmp_path: Path) -> Iterator[Started]:
    home = tmp_path / "maggy_home"
    home.mkdir()
    with running_kernel(python, home) as k:
        setup = k.execute(SETUP)
        assert k.reply(setup, timeout=60)["status"] == "ok", k.errors(setup)
        version = k.stdout(setup).split("IPYKERNEL", 1)[1].split()[0]
        assert int(version.split(".")[0]) == major, f"{python} runs ipykernel {version}, expected {major}.x"
        comm_id = k.opened_comm(setup, "maggy-test")
        assert comm_id is not None, "the kernel did not open the test's comm"
        yield k, home, comm_id


def _trial_state(home: Path, experiment_id: str, trial_id: int) -> str | None:
    try:
        _, trials = store_trials(home, experiment_id)
    except sqlite3.OperationalError:  # the kernel is writing; the caller polls again
        return None
    return next((t.state.value for t in trials if t.trial_id == trial_id), None)


def _stop_a_running_trial(k: Kernel, comm_id: str, home: Path) -> tuple[dict[str, Any], float]:
    """Click 'stop' (comm_msg) until a trial was running to be stopped; (answer, send time).

    Also checks each answer came back promptly: the handler ran while the cell was still busy.
    """
    deadline = time.monotonic() + 90
    while True:
        sent = time.monotonic()
        msg_id = k.comm_msg(comm_id, {"action": "stop"})

        def answered(m: str = msg_id) -> list[dict[str, Any]]:
            return k.comm_replies(m)

        answer = k.wait_for("the comm handler's answer", answered, timeout=30)[0]
        if answer["stopped"] is not None:
            # Served within the pump's 10-20 ms, or by the kernel itself; 1 s is a loaded machine.
            assert time.monotonic() - sent < 1.0, f"the stop click took {time.monotonic() - sent:.2f} s"
            return answer, sent
        assert time.monotonic() < deadline, "no trial was ever running"
        k.receive(0.1)


def _assert_stopped_within_2s(k: Kernel, home: Path, answer: dict[str, Any], sent: float) -> None:
    trial_id, experiment_id = answer["stopped"], answer["experiment_id"]
    k.wait_for(
        f"trial {trial_id} STOPPED in the store",
        lambda: _trial_state(home, experiment_id, trial_id) in ("STOPPED", "EARLY_STOPPED"),
        timeout=max(0.0, sent + 2.0 - time.monotonic()),
    )


def _states(k: Kernel, msg_id: str) -> dict[int, str]:
    line = next(x for x in k.stdout(msg_id).splitlines() if x.startswith("STATES "))
    return {int(t): s for t, s in json.loads(line[len("STATES ") :]).items()}


# ---- (a) a stop click while lagom() blocks the cell, and cells queued behind it -------------


@pytest.mark.kernel
@pytest.mark.integration
@pytest.mark.timeout(240)
def test_stop_click_while_lagom_blocks_and_queued_cells_run_after(any_kernel: Started) -> None:
    k, home, comm_id = any_kernel

    cell = k.execute(lagom_cell(steps=160))  # 3 trials of ~8 s
    queued = [k.execute(f'print("QUEUED-{i}", registry.recent()[0].status)') for i in (1, 2)]

    answer, sent = _stop_a_running_trial(k, comm_id, home)
    assert answer["pumping"] is True  # served by the wait loop, not by the kernel
    _assert_stopped_within_2s(k, home, answer, sent)

    reply = k.reply(cell, timeout=120)
    assert reply["status"] == "ok", k.errors(cell)
    states = _states(k, cell)
    assert states.pop(answer["stopped"]) == "STOPPED"
    assert sorted(states.values()) == ["FINISHED", "FINISHED"]

    # The queued cells ran afterwards, in order, each with its own output.
    replies = [k.reply(q, timeout=30) for q in queued]
    assert [r["status"] for r in replies] == ["ok", "ok"]
    assert k.stdout(queued[0]) == "QUEUED-1 FINISHED\n"
    assert k.stdout(queued[1]) == "QUEUED-2 FINISHED\n"
    counts = [reply["execution_count"], *(r["execution_count"] for r in replies)]
    assert counts == sorted(counts) and len(set(counts)) == 3
    assert (
        k.position("iopub", "status", cell, state="idle")
        < k.position("iopub", "execute_input", queued[0])
        < k.position("iopub", "execute_input", queued[1])
    )
    # lagom returns once its workers exited or left (answered DONE); one that left exits a moment
    # later (about 10 ms, longer on a busy machine): none may stay.
    deadline = time.monotonic() + 10
    while marked_workers(k.marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marked_workers(k.marker) == []


# ---- (b) the interrupt button during lagom() ------------------------------------------------


@pytest.mark.kernel
@pytest.mark.integration
@pytest.mark.timeout(240)
def test_interrupt_ends_lagom_cleanly_and_the_kernel_stays_usable(any_kernel: Started) -> None:
    k, home, _ = any_kernel
    cell = k.execute(lagom_cell(steps=4000, trials=2))  # 200 s trials: only the interrupt ends them

    def running() -> bool:
        try:
            _, trials = store_trials(home)
        except sqlite3.OperationalError:
            return False
        return len(marked_workers(k.marker)) == 2 and sum(t.state is TrialState.RUNNING for t in trials) == 2

    k.wait_for("two running trials", running, timeout=90)
    interrupted = time.monotonic()
    k.km.interrupt_kernel()
    reply = k.reply(cell, timeout=60)
    took = time.monotonic() - interrupted

    # Still an error (a "run all" stops here), but one line instead of a traceback through
    # maggy's frames, and the result is not lost: it is the exception's .result.
    assert reply["status"] == "error" and reply["ename"] == "ExperimentInterrupted"
    [error] = k.errors(cell)
    record, trials = store_trials(home)
    assert error["traceback"] == [
        f"maggy: experiment {record.experiment_id} stopped by interrupt, 2/2 trials kept; "
        "the result dict is in sys.last_value.result"
    ]
    assert took < 20, f"the interrupted cell took {took:.1f} s to end"
    assert record.status == "STOPPED" and record.result is not None
    assert [t.state for t in trials] == [TrialState.STOPPED, TrialState.STOPPED]
    assert marked_workers(k.marker) == []  # finish() waited for them: nothing orphaned
    assert registry_status(k) == "STOPPED"
    assert k.run("print('ALIVE', 6 * 7)") == "ALIVE 42\n"
    last = k.run("import sys; print(sys.last_value.result['status'], sys.last_value.result['stopped'])")
    assert last == "STOPPED 2\n"


@pytest.mark.kernel
@pytest.mark.integration
@pytest.mark.timeout(240)
def test_an_interrupt_during_the_lagom_magic_binds_the_result_and_prints_one_line(kernel7: Started) -> None:
    k, home, _ = kernel7
    k.run("%load_ext maggy_jupyter\nsp = Searchspace(x=('DISCRETE', [0, 5, 6]))")
    cell = k.execute(
        "%%lagom --searchspace sp --optimizer gridsearch --num-trials 3 --num-workers 2 --hb-interval 0.1"
        " --out res\n"
        "def fast_then_slow(x):\n"
        "    import time\n"
        "    if x == 0:\n"  # one trial ends at once, the other two run until the interrupt
        "        return x\n"
        "    time.sleep(1000)\n"
    )

    def one_finished_one_running() -> bool:
        assert cell not in k.replies, (k.replies[cell]["content"], k.stdout(cell))  # ended too early
        try:
            _, trials = store_trials(home)
        except sqlite3.OperationalError:
            return False
        states = [t.state for t in trials]
        return TrialState.FINISHED in states and TrialState.RUNNING in states

    k.wait_for("a finished and a running trial", one_finished_one_running, timeout=90)
    k.km.interrupt_kernel()
    reply = k.reply(cell, timeout=60)
    record, trials = store_trials(home)

    assert reply["status"] == "error" and reply["ename"] == "ExperimentInterrupted"
    [error] = k.errors(cell)
    done = sum(t.state.is_terminal for t in trials)
    assert error["traceback"] == [
        f"maggy: experiment {record.experiment_id} stopped by interrupt, {done}/3 trials kept; "
        "the result dict is in res"
    ]
    assert record.status == "STOPPED"
    out = k.run("print(type(res).__name__, res['experiment_id'], res['status'], res['best_val'] is not None)")
    assert out == f"LagomResult {record.experiment_id} STOPPED True\n"
    assert marked_workers(k.marker) == []
    # lagom gave the interrupt back as it found it: a later cell is interrupted as usual
    sleeper = k.execute("import time; time.sleep(60)")
    k.wait_for(
        "the sleeping cell to start",
        lambda: any(m["msg_type"] == "execute_input" for m in k.iopub[sleeper]),
        timeout=30,
    )
    k.receive(0.3)
    k.km.interrupt_kernel()
    assert k.reply(sleeper, timeout=20)["ename"] == "KeyboardInterrupt"


def registry_status(k: Kernel) -> str:
    return k.run("print(registry.recent()[0].status)").strip()


# ---- (c) top-level await keeps the kernel responsive without the pump ----------------------


@pytest.mark.kernel
@pytest.mark.integration
@pytest.mark.timeout(240)
def test_lagom_async_serves_a_stop_click_while_the_cell_awaits(any_kernel: Started) -> None:
    # ipykernel 7.4 dispatches comm messages while a top-level-await cell waits; ipykernel 6 runs
    # shell messages strictly one after another, so there lagom_async's wait pumps them.
    k, home, comm_id = any_kernel
    major = int(k.run("print(ipykernel.version_info[0])"))
    cell = k.execute(lagom_cell(steps=160, fn="lagom_async", prefix="await "))

    answer, sent = _stop_a_running_trial(k, comm_id, home)
    assert answer["pumping"] is (major == 6)  # 7: the kernel's own event loop ran the handler
    _assert_stopped_within_2s(k, home, answer, sent)

    reply = k.reply(cell, timeout=120)
    assert reply["status"] == "ok", k.errors(cell)
    states = _states(k, cell)
    assert states.pop(answer["stopped"]) == "STOPPED"
    assert sorted(states.values()) == ["FINISHED", "FINISHED"]
    assert k.run("print(result['status'], result['num_trials'])") == "FINISHED 3\n"


@pytest.mark.kernel
@pytest.mark.integration
@pytest.mark.timeout(240)
def test_a_background_lagom_async_leaves_the_kernel_free_and_serves_stop_clicks(any_kernel: Started) -> None:
    # %%lagom --async: the experiment runs as a task on the kernel's loop and the cell ends at
    # once; other cells run meanwhile, and on ipykernel 6 the task's wait must not disturb them.
    k, home, comm_id = any_kernel
    call = EXPERIMENT.format(fn="lagom_async", trials=3).strip()
    started = k.execute(f"import asyncio\nSTEPS = 160\ntask = asyncio.ensure_future({call})")
    assert k.reply(started, timeout=30)["status"] == "ok", k.errors(started)
    assert k.run("print('FREE', 6 * 7)") == "FREE 42\n"  # the kernel is not blocked

    answer, sent = _stop_a_running_trial(k, comm_id, home)
    _assert_stopped_within_2s(k, home, answer, sent)
    assert k.run("print('STILL FREE')") == "STILL FREE\n"

    done = k.execute('result = await task\nprint("STATES", json.dumps(states()))')
    assert k.reply(done, timeout=120)["status"] == "ok", k.errors(done)
    states = _states(k, done)
    assert states.pop(answer["stopped"]) == "STOPPED"
    assert sorted(states.values()) == ["FINISHED", "FINISHED"]


# ---- the text line, where there is no live view ---------------------------------------------


@pytest.mark.kernel
@pytest.mark.integration
@pytest.mark.timeout(240)
def test_without_the_live_view_a_text_line_updates_in_place(kernel7: Started) -> None:
    k, _, _ = kernel7
    k.run("import maggy_jupyter.frontend as fe; fe._show_live_view = lambda handle: None")
    cell = k.execute(lagom_cell(steps=10, trials=2))
    assert k.reply(cell, timeout=120)["status"] == "ok", k.errors(cell)
    shown = [m for m in k.iopub[cell] if m["msg_type"] == "display_data"]
    updates = [m for m in k.iopub[cell] if m["msg_type"] == "update_display_data"]
    assert len(shown) == 1 and updates
    display_id = shown[0]["content"]["transient"]["display_id"]
    assert {u["content"]["transient"]["display_id"] for u in updates} == {display_id}
    last = updates[-1]["content"]["data"]["text/plain"]
    assert last.startswith("maggy busy-kernel [") and "FINISHED in" in last and "2/2 trials" in last


# ---- without a kernel: registry, text progress line, attach ---------------------------------


def _handle(
    experiment_id: str = "20260101-000000-abcdef", trials: list[Trial] | None = None
) -> ExperimentHandle:
    return ExperimentHandle(
        experiment_id=experiment_id,
        name="demo",
        num_trials=4,
        direction="max",
        searchspace={},
        _bus=ev.EventBus(),
        _stop_trial=lambda trial_id: True,
        _stop_experiment=lambda: None,
        _snapshot=lambda: list(trials or []),
    )


@pytest.fixture
def clean_registry() -> Iterator[None]:
    registry.clear()
    yield
    registry.clear()


def test_registry_follows_an_experiment_to_its_end(clean_registry: None) -> None:
    first, second = _handle("20260101-000000-aaaaaa"), _handle("20260101-000001-aaaabb")
    registry.register(first)
    registry.register(second)
    assert [e.experiment_id for e in registry.running()] == [first.experiment_id, second.experiment_id]
    assert registry.get("20260101-000001").handle is second
    assert registry.get(first.experiment_id).handle is first
    with pytest.raises(KeyError, match="several"):
        registry.get("20260101-00000")
    with pytest.raises(KeyError, match="no experiment"):
        registry.get("2025")

    first._bus.publish(ev.ExperimentFinished(first.experiment_id, "STOPPED", {}))
    assert [e.experiment_id for e in registry.running()] == [second.experiment_id]
    newest_first = registry.recent()
    assert [(e.experiment_id, e.status) for e in newest_first] == [
        (second.experiment_id, "RUNNING"),
        (first.experiment_id, "STOPPED"),
    ]
    assert newest_first[1].finished is not None and not newest_first[1].running


def test_registry_keeps_only_the_newest_finished_experiments(clean_registry: None) -> None:
    handles = [_handle(f"20260101-000000-{i:06d}") for i in range(registry.MAX_RECENT + 5)]
    for h in handles:
        registry.register(h)
    for h in handles[:-1]:  # all but the last finish
        registry.mark_finished(h.experiment_id, "FINISHED")
    kept = registry.recent()
    assert len(kept) == registry.MAX_RECENT + 1
    assert kept[0].experiment_id == handles[-1].experiment_id and kept[0].running
    assert kept[-1].experiment_id == handles[-registry.MAX_RECENT - 1].experiment_id


def _finished(trial_id: int, state: TrialState, metric: float | None) -> ev.TrialFinished:
    return ev.TrialFinished("e", Trial(trial_id, {}, state=state, metric=metric))


def test_progress_line_counts_states_best_and_eta() -> None:
    state = ProgressState("demo", "20260101-000000-abcdef", total=4, direction="min")
    for i in range(3):
        state.apply(ev.TrialStarted("e", Trial(i, {}, state=TrialState.RUNNING)))
    state.apply(_finished(0, TrialState.FINISHED, 0.5))
    state.apply(_finished(1, TrialState.FINISHED, 0.25))
    state.apply(_finished(2, TrialState.EARLY_STOPPED, 0.1))  # not a candidate for best
    assert state.line(90.0) == (
        "maggy demo [20260101-000000-abcdef] 3/4 trials · 0 running · 1 early-stopped"
        " · best 0.25 (trial 1) · 1m30s elapsed, ETA ~30s"
    )
    state.apply(ev.ExperimentFinished("e", "STOPPED", {}))
    assert state.line(3725.0) == (
        "maggy demo [20260101-000000-abcdef] STOPPED in 1h02m: 3/4 trials · 1 early-stopped · best 0.25 (trial 1)"
    )


def test_progress_line_of_a_failed_experiment_says_why() -> None:
    state = ProgressState("demo", "20260101-000000-abcdef", total=1, direction="max")
    state.apply(ev.TrialStarted("e", Trial(0, {}, state=TrialState.RUNNING)))
    state.apply(_finished(0, TrialState.ERROR, None))
    failure = "the only trial failed (trial 0): ValueError: bad"
    state.apply(ev.ExperimentFinished("e", "FAILED", {"failure": failure}))
    assert state.line(2.0) == (
        f"maggy demo [20260101-000000-abcdef] FAILED in 2s: 1/1 trials · 1 errors\n{failure}"
    )


def test_progress_line_is_rate_limited_but_never_left_stale() -> None:
    drawn: list[str] = []
    now = [100.0]
    progress = TextProgress(_handle(), drawn.append, clock=lambda: now[0])
    progress(ev.TrialStarted("e", Trial(0, {}, state=TrialState.RUNNING)))  # first: drawn at once
    assert len(drawn) == 1
    for step in range(50):  # a burst inside one interval: nothing drawn now...
        progress(ev.MetricPoints("e", 0, [[step, 0.1]]))
    progress(_finished(0, TrialState.FINISHED, 0.9))
    assert len(drawn) == 1
    deadline = time.monotonic() + 5  # ...but the trailing timer draws the latest state
    while len(drawn) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(drawn) == 2 and "1/4 trials" in drawn[1] and "best 0.9 (trial 0)" in drawn[1]
    progress(ev.ExperimentFinished("e", "FINISHED", {}))  # the end is always drawn
    assert len(drawn) == 3 and "FINISHED in" in drawn[2]


class _FakeModule:
    def __init__(self, **attrs: Any) -> None:
        self.__dict__.update(attrs)


def test_attach_registers_shows_the_live_view_and_connects_the_bridge(
    clean_registry: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown, bridged = object(), list[ExperimentHandle]()
    modules = {
        "maggy_jupyter.live_view": _FakeModule(show=lambda handle: shown),
        "maggy_jupyter.comm_bridge": _FakeModule(attach=bridged.append),
    }
    monkeypatch.setattr(frontend, "_optional_module", modules.get)
    monkeypatch.setattr(frontend, "_widgets_usable", lambda: True)
    handle = _handle()
    fe = JupyterFrontend()
    fe.attach(handle)
    assert fe.view is shown and bridged == [handle]
    assert registry.get(handle.experiment_id).handle is handle


def test_attach_falls_back_to_the_text_line_and_survives_a_failing_bridge(
    clean_registry: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(handle: Any) -> None:
        raise RuntimeError("boom")

    modules = {
        "maggy_jupyter.live_view": _FakeModule(show=broken),
        "maggy_jupyter.comm_bridge": _FakeModule(attach=broken),
    }
    monkeypatch.setattr(frontend, "_optional_module", modules.get)
    monkeypatch.setattr(frontend, "_widgets_usable", lambda: True)
    text = object()
    monkeypatch.setattr(TextProgress, "show", classmethod(lambda cls, handle: text))
    fe = JupyterFrontend()
    fe.attach(_handle())
    assert fe.view is text
    assert "live view failed" in caplog.text and "comm bridge failed" in caplog.text


def test_outside_a_kernel_the_frontend_is_inactive_and_waits_plainly() -> None:
    fe = JupyterFrontend()
    assert fe.active() is False
    done = threading.Event()
    threading.Timer(0.1, done.set).start()
    started = time.monotonic()
    fe.wait(done)
    assert done.is_set() and time.monotonic() - started < 5


def test_progress_line_warns_while_every_trial_so_far_failed() -> None:
    state = ProgressState("demo", "20260101-000000-abcdef", total=3, direction="max")
    state.apply(ev.ExperimentStarted("e", "demo", 3, 2, ("h", 1)))
    for i in range(2):
        state.apply(ev.TrialStarted("e", Trial(i, {}, state=TrialState.RUNNING)))
    state.apply(_finished(0, TrialState.ERROR, None))
    assert state.line(4.0).endswith("· warning: every trial so far failed (1)")
    state.apply(_finished(1, TrialState.FINISHED, 0.5))
    assert "warning" not in state.line(5.0) and "best 0.5 (trial 1)" in state.line(5.0)
