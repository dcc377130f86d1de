"""The live view's widgets through a recording dummy comm (no browser, no kernel)."""

from __future__ import annotations

import re
import sys
import time
from dataclasses import replace

import pytest
from live_view_helpers import (
    FakeHandle,
    experiment_finished,
    experiment_started,
    points,
    trial_finished,
    trial_started,
)

from maggy.core import events as ev
from maggy.trial import TrialState
from maggy_jupyter import live_view
from maggy_jupyter.live_view._format import EARLIER_COLOR, PALETTE, trial_color
from maggy_jupyter.live_view.testing import recording_comms

EXP = "exp-test"


@pytest.fixture
def recorder():
    with recording_comms() as rec:
        yield rec


@pytest.fixture
def view(recorder):
    """A view whose redraws happen only when the test calls ``flush`` (no thread)."""
    handle = FakeHandle(num_trials=6)
    v = live_view.LiveView(handle, threaded=False, page_size=3).attach()
    yield v
    v.close()


def click(recorder, button) -> None:
    """Send the message a browser sends when the button is clicked."""
    recorder.comms[button.model_id].receive({"method": "custom", "content": {"event": "click"}})


def table_ids(view) -> list[int]:
    return list(view.table.shown)


def table_html(view) -> str:
    return view.table.html_text()


def row_button(view, trial_id: int):
    """The stop button in ``trial_id``'s own table row (None if its row has none)."""
    row = view.table.row_widget(trial_id)
    assert row is not None, f"trial {trial_id} is not on the table's page"
    return next((w for w in row.children if w.__class__.__name__ == "Button"), None)


def run_all_states(handle: FakeHandle) -> list[ev.TrialStarted]:
    s = [trial_started(i, params={"lr": 0.1 * (i + 1), "act": "relu"}) for i in range(6)]
    handle.publish(experiment_started(num_trials=6), *s)
    for i in range(6):
        handle.publish(points(i, [0.1 * i, 0.2 * i, 0.3 * i]))
    handle.publish(
        trial_finished(s[0], TrialState.FINISHED, 0.5),
        trial_finished(s[1], TrialState.FINISHED, 0.9),
        trial_finished(s[2], TrialState.EARLY_STOPPED, 0.3),
        trial_finished(s[3], TrialState.STOPPED, 0.2),
        trial_finished(s[4], TrialState.ERROR, None, error="Traceback ...\nValueError: <bad>"),
    )
    return s


def test_each_trial_keeps_one_colour_as_in_the_panel_and_its_state_shows_in_the_line_style(view):
    run_all_states(view.handle)
    never_ran = replace(trial_started(6, retry_of=5).trial, state=TrialState.STOPPED, start=None)
    view.handle.publish(ev.TrialFinished(EXP, never_ran))  # a queued retry, stopped before it ran
    view.flush()
    lines = view.chart.lines
    # the panel's rule: the palette colour at the trial id, whatever the state (best included)
    assert {tid: line.colors[0] for tid, line in lines.items()} == {tid: PALETTE[tid] for tid in range(7)}
    assert lines[5].line_style == "solid" and lines[5].opacities == [1.0]  # running: solid, opaque
    assert lines[0].line_style == "solid" and lines[0].opacities[0] < 1.0  # finished: recedes
    assert lines[0].stroke_width < lines[5].stroke_width
    assert lines[2].line_style == "dashed"  # early-stopped
    assert lines[3].line_style == "dotted"  # stopped by the user
    assert lines[4].line_style == "dash_dotted"  # failed...
    ends = view.chart.ends  # ...and its last point marked with a cross in its own colour
    assert ends.marker == "cross" and list(ends.x) == [2.0] and list(ends.y) == pytest.approx([1.2])
    assert ends.colors == [PALETTE[4]]
    assert lines[1].stroke_width > lines[0].stroke_width and lines[1].opacities == [1.0]  # the best
    assert view.chart.figure.marks[-2] is lines[1]  # the best is drawn on top of the other lines
    legend = view.chart.legend.value  # styles, not colours: the colour is the trial's
    assert "stroke-dasharray" in legend and "early-stopped" in legend and "error / lost" in legend
    # the table shows each trial's colour beside its id, as the panel's table does
    view.table.next.click()  # page 2 of 3 rows: trials 3 to 5
    view.flush()
    assert f"background:{PALETTE[4]}" in view.table.row_html(4)
    assert lines[5].y.tolist() == pytest.approx([0.5, 1.0, 1.5])
    assert "<b>0.9</b> in trial 1" in view.header.best.value and "lr=0.2" in view.header.best.value
    assert (
        "6/7</b> done · 1 running" in view.header.progress.value
        and "2 stopped · 1 error" in view.header.progress.value
    )


def test_colours_cycle_through_the_palette_by_trial_id_like_the_panel():
    assert [trial_color(i) for i in (0, 9, 10, 23)] == [PALETTE[0], PALETTE[9], PALETTE[0], PALETTE[3]]


def test_the_palette_is_the_panels_palette():
    """The cell and the JupyterLab panel must give a trial the same colour: the Python palette
    mirrors the panel's TypeScript one (read from its source, so the two cannot drift apart)."""
    from pathlib import Path

    src = Path(__file__).resolve().parents[3] / "labextension" / "src"
    if not src.is_dir():
        pytest.skip("no labextension sources in this checkout")
    found = {
        path: text
        for path in sorted(src.rglob("*.ts"))
        if "__tests__" not in path.parts and re.search(r"export const PALETTE\b", text := path.read_text())
    }
    assert len(found) == 1, f"expected the panel's PALETTE in one file under {src}, found {list(found)}"
    (text,) = found.values()
    body = re.search(r"export const PALETTE[^=]*=\s*\[(.*?)\]", text, re.S)
    assert body is not None
    assert tuple(re.findall(r"'(#[0-9a-fA-F]{6})'", body.group(1))) == PALETTE
    assert re.search(r"PALETTE\[\s*trialId\s*%\s*PALETTE\.length\s*\]", text)  # the same index rule
    earlier = re.search(r"export const EARLIER_COLOR\s*=\s*'(#[0-9a-fA-F]{6})'", text)
    assert earlier is not None and earlier.group(1) == EARLIER_COLOR


def test_before_the_first_trial_the_view_says_starting_workers_and_elapsed_ticks():
    clock = [1000.0]
    handle = FakeHandle(num_trials=4)
    with recording_comms():
        view = live_view.LiveView(handle, threaded=False, clock=lambda: clock[0]).attach()
        try:
            notice = view.chart.notice
            assert "starting workers" in notice.value and notice.layout.display != "none"
            clock[0] = 1002.5
            view.flush()  # a tick: no event came
            assert "elapsed 2.5s" in view.header.progress.value
            handle.publish(experiment_started(num_trials=4))
            clock[0] = 1004.0
            view.flush()
            assert "starting workers" in notice.value and "elapsed 1.5s" in view.header.progress.value
            s0 = trial_started(0, start=1004.0)
            handle.publish(s0)
            view.flush()
            assert "no metric points yet" in notice.value and "starting" not in notice.value
            handle.publish(points(0, [0.1, 0.2]))
            view.flush()
            assert notice.layout.display == "none"
        finally:
            view.close()


def test_the_view_redraws_its_clock_without_events():
    handle = FakeHandle(num_trials=4)
    with recording_comms():
        view = live_view.LiveView(handle, interval=0.01, tick=0.05).attach()
        try:
            before = view.redraws
            time.sleep(0.4)
            assert view.redraws >= before + 3
            handle.publish(experiment_finished("FINISHED"))
            after = view.redraws
            time.sleep(0.15)
            assert view.redraws == after  # over: the clock stops
        finally:
            view.close()


def test_only_changed_lines_are_resent_and_as_binary_buffers(view, recorder):
    run_all_states(view.handle)
    view.flush()
    recorder.clear()
    view.handle.publish(points(5, [2.0, 3.0], first_step=3))
    view.flush()
    line_ids = {line.model_id: tid for tid, line in view.chart.lines.items()}
    touched = {line_ids[s.comm_id] for s in recorder.sent if s.comm_id in line_ids}
    assert touched == {5}
    (update,) = recorder.updates(view.chart.lines[5].model_id)
    assert {"x", "y"} <= set(update)
    sent = next(s for s in recorder.sent if s.comm_id == view.chart.lines[5].model_id)
    assert sorted(p[0] for p in sent.data["buffer_paths"]) == ["x", "y"]
    assert [memoryview(b).nbytes for b in sent.buffers] == [5 * 4, 5 * 4]  # float32, 5 points each


def test_table_lists_params_state_metric_worker_and_gpu_sorted_and_paged(view):
    handle = view.handle
    s = [trial_started(i, params={"lr": lr}, info={"gpus": [i]}) for i, lr in enumerate([0.3, 0.1, 0.2, 0.4])]
    handle.publish(
        *s, trial_finished(s[0], TrialState.FINISHED, 0.7), trial_finished(s[1], TrialState.ERROR, None)
    )
    handle.publish(points(2, [0.1, 0.75]))
    view.flush()
    html = table_html(view)
    assert ">lr<" in html and "local-0 · GPU 0" in html and "FINISHED" in html and "0.75" in html
    assert table_ids(view) == [0, 1, 2] and view.table.page_label.value == "1–3 of 4"  # page size 3
    view.table.next.click()
    view.flush()
    assert table_ids(view) == [3] and view.table.next.disabled and not view.table.prev.disabled
    view.table.sort.value = "metric"  # back to the first page, best metric last (ascending)
    view.flush()
    assert table_ids(view) == [0, 2, 1]  # 0.7, 0.75 (live), then trials without a metric
    view.table.descending.value = True
    view.flush()
    assert table_ids(view) == [2, 0, 1]
    view.table.sort.value = "param:lr"
    view.flush()
    assert table_ids(view) == [3, 0, 2]
    handle.publish(trial_started(4, params={"lr": 0.35, "units": 8}))  # a new column: new sort options
    view.flush()
    assert view.table.sort.value == "param:lr" and "param:units" in view.table.sort.options
    assert table_ids(view) == [3, 4, 0] and ">units<" in table_html(view)


def test_each_running_trial_has_its_stop_button_in_its_own_table_row(view, recorder):
    handle = view.handle
    s = [trial_started(i) for i in range(3)]
    handle.publish(*s)
    view.flush()
    for tid in range(3):
        assert row_button(view, tid) is view.controls.button_for(tid) is not None
    click(recorder, row_button(view, 1))  # as the browser would
    row_button(view, 2).click()  # as ipywidgets' own API does
    assert handle.stopped == [1, 2]
    view.flush()
    button = row_button(view, 1)
    assert button.disabled and button.description.startswith("stopping")
    handle.publish(trial_finished(s[1], TrialState.STOPPED, 0.1))
    handle.publish(trial_finished(s[0], TrialState.FINISHED, 0.5))
    view.flush()
    assert view.controls.button_for(1) is None and row_button(view, 1) is None
    assert row_button(view, 0) is None


def test_a_click_on_an_ended_trials_button_stops_no_other_trial(view, recorder):
    """The bug: buttons were reused, so a click meant for a trial that just ended stopped the
    trial that took its button. Each button is bound to its trial's id for good."""
    handle = view.handle
    s0, s1 = trial_started(0), trial_started(1)
    handle.publish(s0, s1)
    view.flush()
    old = row_button(view, 0)
    old_comm = recorder.comms[old.model_id]
    handle.publish(trial_finished(s0, TrialState.FINISHED, 0.5), trial_started(2))
    view.flush()
    assert old.disabled  # gone from the row, and dead
    assert row_button(view, 2) is not old and row_button(view, 2) is not None
    old_comm.receive({"method": "custom", "content": {"event": "click"}})  # a late click from the browser...
    old.click()  # ...or any click that reaches it stops nothing
    assert handle.stopped == []
    # the rows move when the sort changes; each row's button still stops its own trial
    view.table.descending.value = True
    view.flush()
    assert table_ids(view)[:2] == [2, 1]
    click(recorder, row_button(view, 2))
    assert handle.stopped == [2]


def test_logs_and_traceback_of_the_chosen_trial(view):
    s0 = trial_started(0)
    view.handle.publish(s0, ev.TrialLog(EXP, 0, ["epoch 1 <ok>"]))
    view.flush()
    assert "choose a trial" in view.logs.text.value
    view.logs.picker.value = 0
    view.flush()
    assert "epoch 1 &lt;ok&gt;" in view.logs.text.value  # escaped: log lines are not HTML
    view.handle.publish(trial_finished(s0, TrialState.ERROR, None, error="Traceback\nKeyError: 'k'"))
    view.flush()
    assert "--- ERROR: ---" in view.logs.text.value and "KeyError" in view.logs.text.value
    assert ("trial 0 · ERROR", 0) in view.logs.picker.options


def test_ten_thousand_metric_events_cost_a_bounded_number_of_redraws(recorder):
    handle = FakeHandle(num_trials=10)
    view = live_view.LiveView(handle, interval=0.1).attach()
    s = [trial_started(i) for i in range(10)]
    handle.publish(experiment_started(num_trials=10), *s)
    started = time.monotonic()
    for step in range(1000):
        for i in range(10):
            handle.publish(points(i, [step * (i + 1) * 0.001], first_step=step))
        if step % 100 == 0:
            time.sleep(0.02)  # arrive over a little time, so the thread gets to redraw meanwhile
    elapsed = time.monotonic() - started
    before_final = view.redraws
    handle.publish(*(trial_finished(t, TrialState.FINISHED, (t.trial.trial_id + 1) * 0.999) for t in s))
    handle.publish(experiment_finished("FINISHED"))
    assert 1 <= before_final <= elapsed / 0.1 + 3  # the build's redraw, then at most one per 100 ms
    assert view.throttle.closed and view.redraws >= before_final + 1
    # The final redraw shows the final state.
    assert view.chart.lines[9].y[-1] == pytest.approx(9.99) and len(view.chart.lines[9].y) == 1000
    assert "10/10</b> done" in view.header.progress.value and "0 running" in view.header.progress.value
    assert "Experiment finished" in view.controls.end_line.value
    assert view.chart.lines[9].colors == [PALETTE[9]] and view.chart.figure.marks[-2] is view.chart.lines[9]
    view.table.sort.value = "metric"  # still browsable after the end: redraws on the spot
    assert table_ids(view)[0] == 0


def test_show_displays_a_subscribed_view(recorder, monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    handle = FakeHandle()
    view = live_view.show(handle, threaded=False)
    assert isinstance(view, live_view.LiveView) and shown == [view.widget]
    handle.publish(trial_started(0))
    view.flush()
    assert 0 in view.chart.lines
    view.close()
    handle.publish(trial_started(1))
    assert 1 not in view.state.trials  # unsubscribed


def test_show_returns_none_without_bqplot(monkeypatch):
    monkeypatch.setitem(sys.modules, "bqplot", None)  # makes `import bqplot` raise ImportError
    assert live_view.show(FakeHandle()) is None


WORKER_TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/x/maggy/worker/invoke.py", line 45, in call_training_function\n'
    "    return fn(**kwargs)\n"
    '  File "<ipython-input-2>", line 3, in train\n'
    "    raise ValueError('bad <lr>')\n"
    "ValueError: bad <lr>"
)


def test_an_experiment_whose_trials_all_fail_is_red_and_shows_the_first_error(view):
    s = [trial_started(i) for i in range(3)]
    view.handle.publish(experiment_started(num_trials=3), *s)
    view.handle.publish(trial_finished(s[1], TrialState.ERROR, None, end=105.0, error=WORKER_TRACEBACK))
    view.flush()
    # while it runs: a warning as soon as every trial that ended failed, the error without a click
    assert "every trial so far failed (1)" in view.header.failure.value
    assert "trial 1:" in view.header.failure.value and "bad &lt;lr&gt;" in view.header.failure.value
    view.handle.publish(
        trial_finished(s[0], TrialState.ERROR, None, end=106.0, error=WORKER_TRACEBACK),
        trial_finished(s[2], TrialState.ERROR, None, end=107.0, error=WORKER_TRACEBACK),
    )
    failure = "all 3 trials failed; first error (trial 1): ValueError: bad <lr>"
    view.handle.publish(experiment_finished("FAILED", {"status": "FAILED", "failure": failure}))
    assert view.header.bar.bar_style == "danger" and view.header.bar.value == 3
    assert "failed" in view.header.title.value
    html = view.header.failure.value
    assert "<b>failed:</b> all 3 trials failed; first error (trial 1): ValueError: bad &lt;lr&gt;" in html
    assert (
        "  File &quot;&lt;ipython-input-2&gt;&quot;, line 3, in train" in html and "maggy/worker" not in html
    )


def test_an_experiment_stopped_before_any_trial_succeeded_shows_no_failure(view):
    s = [trial_started(i) for i in range(2)]
    view.handle.publish(experiment_started(num_trials=2), *s)
    view.handle.publish(
        trial_finished(s[0], TrialState.ERROR, None, error=WORKER_TRACEBACK),
        trial_finished(s[1], TrialState.STOPPED, None),
        experiment_finished("STOPPED", {"status": "STOPPED", "failure": None}),
    )
    assert view.header.bar.bar_style == "warning" and view.header.failure.value == ""


def test_a_resumed_experiment_shows_its_earlier_trials_greyed_beside_the_new_ones(view):
    from maggy.trial import Trial

    earlier = (
        Trial(0, {"lr": 0.1}, TrialState.FINISHED, 0.4, history=[[0, 0.1], [1, 0.4]], start=1.0, end=5.0),
        Trial(1, {"lr": 0.2}, TrialState.FINISHED, 0.8, history=[[0, 0.2], [1, 0.8]], start=1.0, end=5.0),
        Trial(
            2, {"lr": 0.3}, TrialState.ERROR, None, error="Traceback ...\nValueError: x", start=1.0, end=2.0
        ),
    )
    handle = view.handle
    handle.publish(ev.ExperimentStarted(EXP, "toy", 6, 2, ("127.0.0.1", 1), earlier_trials=earlier))
    s = trial_started(3, params={"lr": 0.5})
    handle.publish(s, points(3, [0.3, 0.5]))
    view.flush()
    lines = view.chart.lines
    assert set(lines) == {0, 1, 2, 3}
    assert lines[0].y.tolist() == pytest.approx([0.1, 0.4])  # drawn from the earlier history
    assert lines[0].colors == [EARLIER_COLOR] and lines[0].line_style == "dashed"
    assert lines[0].opacities[0] < 0.6 and lines[2].colors == [EARLIER_COLOR]
    assert lines[1].colors == [PALETTE[1]] and lines[1].line_style == "dashed"  # best, from before
    assert lines[3].colors == [PALETTE[3]] and lines[3].line_style == "solid"
    assert "earlier run" in view.chart.legend.value
    progress = view.header.progress.value
    assert "3/6</b> done · 1 running" in progress and "resumed: 3 earlier" in progress
    assert "in trial 1" in view.header.best.value
    assert view.controls.button_for(3) is not None  # a stop button for this run's trials only
    assert all(view.controls.button_for(tid) is None for tid in range(3))
    view.table.page_size = 10
    view.flush()
    greyed = {tid for tid in table_ids(view) if "opacity" in view.table.row_html(tid)}
    assert greyed == {0, 1, 2} and "earlier run" in table_html(view)
    # A new trial beats them: the best moves to this run, the earlier line goes grey again.
    handle.publish(trial_finished(s, TrialState.FINISHED, 0.9))
    view.flush()
    assert lines[3].colors == [PALETTE[3]] and lines[3].stroke_width > lines[1].stroke_width
    assert lines[1].colors == [EARLIER_COLOR]
    assert "4/6</b> done" in view.header.progress.value


def test_worker_output_is_folded_per_worker_in_a_collapsed_pane_shown_only_once_there_is_some(view):
    pane = view.worker_output.widget
    view.handle.publish(experiment_started())
    view.flush()
    assert pane.layout.display == "none" and pane.children == ()
    view.handle.publish(
        ev.WorkerOutput(
            EXP, "local-1", ["I0000 tensorflow/core/platform/cpu_feature_guard.cc:182] AVX2 <b>"]
        ),
        ev.WorkerOutput(EXP, "local-0", ["a", "b"]),
        ev.WorkerOutput(EXP, "local-0", ["c"]),
    )
    view.flush()
    assert pane.layout.display == "" and pane.selected_index is None  # there, and collapsed
    assert pane.titles == ("worker output: local-0 (3 lines)", "worker output: local-1 (1 line)")
    assert "a\nb\nc" in pane.children[0].value
    assert "AVX2 &lt;b&gt;" in pane.children[1].value  # text, not markup


def test_worker_output_keeps_each_workers_latest_lines():
    from maggy_jupyter.live_view.worker_output import WorkerOutputLog

    log = WorkerOutputLog(lines_per_worker=3)
    log.add("local-0", [str(i) for i in range(10)])
    assert log.take() == [("local-0", 10, ["7", "8", "9"])]
    assert log.take() is None  # nothing new since


def test_beyond_max_curves_the_chart_keeps_the_running_trials_and_the_best(recorder):
    handle = FakeHandle(num_trials=8)
    v = live_view.LiveView(handle, threaded=False, max_curves=3).attach()
    try:
        handle.publish(experiment_started(8))
        for tid, metric in enumerate([0.1, 0.9, 0.3, 0.8, 0.2]):
            started = trial_started(tid)
            handle.publish(
                started, points(tid, [metric]), trial_finished(started, TrialState.FINISHED, metric)
            )
        handle.publish(trial_started(5), points(5, [0.05]))  # running: drawn whatever its metric
        v.flush()
        assert set(v.chart.lines) == {5, 1, 3}  # running, then the best ended ones
        assert v.chart.notice.layout.display is None
        assert "curves of 3 of 6 trials" in v.chart.notice.value
        assert len([m for m in v.chart.figure.marks if m is not v.chart.ends]) == 3
        started = trial_started(6)
        handle.publish(started, points(6, [0.95]), trial_finished(started, TrialState.FINISHED, 0.95))
        v.flush()
        assert set(v.chart.lines) == {5, 6, 1}  # the new best came in, the weakest went
    finally:
        v.close()
