"""A real ``lagom`` run (local worker processes) drawn by a LiveView built on the real handle."""

from __future__ import annotations

import pytest

from maggy import Searchspace, experiment
from maggy.core import run as run_module
from maggy.frontend import ExperimentHandle
from maggy.store import open_store
from maggy.trial import TrialState
from maggy_jupyter.live_view import LiveView
from maggy_jupyter.live_view.chart import line_style
from maggy_jupyter.live_view.testing import recording_comms

pytestmark = pytest.mark.integration


def train(x, reporter):
    import time

    for step in range(6):
        reporter.broadcast(x * step, step=step)
        time.sleep(0.02)
    print(f"trained with x={x}")
    if x == 3:
        raise ValueError("x=3 is cursed")
    return x * 10.0


class LiveViewFrontend:
    """What ``maggy_jupyter.frontend`` does with ``live_view.show``, minus ``display``."""

    def __init__(self) -> None:
        self.view: LiveView | None = None

    def active(self) -> bool:
        return True

    def attach(self, handle: ExperimentHandle) -> None:
        self.view = LiveView(handle, interval=0.05).attach()


def test_the_final_view_matches_the_result_dict(tmp_path, monkeypatch):
    frontend = LiveViewFrontend()
    monkeypatch.setattr(run_module, "discover", lambda: [frontend])
    store = str(tmp_path / "s.db")
    space = Searchspace(x=("DISCRETE", [1, 2, 3, 4]))
    with recording_comms():
        result = experiment.lagom(
            train,
            searchspace=space,
            optimizer="gridsearch",
            num_trials=4,
            store=store,
            num_workers=2,
            hb_interval=0.1,
        )
        view = frontend.view
        assert view is not None and view.throttle.closed  # the final redraw happened at ExperimentFinished
        trials = open_store(store).get_trials(result["experiment_id"])
        summary = view.state.summary(now=0.0)

        assert summary.status == result["status"] == "FINISHED"
        assert (summary.done, summary.errors, summary.early_stopped) == (
            result["num_trials"],
            result["errors"],
            result["early_stopped"],
        )
        assert (summary.best_id, summary.best_metric, summary.best_params) == (
            result["best_id"],
            result["best_val"],
            result["best_config"],
        )
        assert f"<b>{result['best_val']:.4g}</b> in trial {result['best_id']}" in view.header.best.value
        assert "4/4</b> done · 0 running" in view.header.progress.value

        assert sorted(view.chart.lines) == [t.trial_id for t in trials]
        for t in trials:
            line = view.chart.lines[t.trial_id]
            expected = line_style(t.trial_id, t.state, t.trial_id == result["best_id"])
            assert (line.colors, line.line_style) == (expected["colors"], expected["line_style"])
            assert line.y.tolist() == pytest.approx([v for _, v in t.history])
        assert view.table.shown == [t.trial_id for t in trials]

        (failed,) = [t for t in trials if t.state is TrialState.ERROR]
        view.logs.picker.value = failed.trial_id  # after the end, choosing redraws at once
        assert "trained with x=3" in view.logs.text.value and "cursed" in view.logs.text.value
        assert view.controls.slots == [] and all(view.table.row_widget(t.trial_id) for t in trials)
        assert view.controls.experiment_button.layout.display == "none"
        assert "Experiment finished" in view.controls.end_line.value
