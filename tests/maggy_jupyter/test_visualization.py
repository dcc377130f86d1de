"""The analysis plots: built from a stored experiment run by a real lagom, and live from its events."""

from __future__ import annotations

import numpy as np
import pytest

import maggy.visualization as mv
from maggy import Searchspace, experiment
from maggy.core import events as ev
from maggy.core import run as run_module
from maggy.experiments import Experiment, get_experiment
from maggy.store import ExperimentRecord
from maggy.trial import Trial, TrialState
from maggy_jupyter import registry
from maggy_jupyter import visualization as vis
from maggy_jupyter.live_view.testing import recording_comms

SPACE = Searchspace(x=("DOUBLE", [0.0, 1.0]), act=("CATEGORICAL", ["relu", "tanh"]))


def train(x, act, reporter):
    reporter.broadcast(x, step=0)
    return x + (1.0 if act == "tanh" else 0.0)


@pytest.fixture
def comms():
    with recording_comms() as recorder:
        yield recorder
    registry.clear()


@pytest.mark.integration
def test_every_plot_draws_a_stored_experiment_as_the_computations_say(tmp_path, comms):
    store = str(tmp_path / "s.db")
    result = experiment.lagom(
        train, searchspace=SPACE, optimizer="randomsearch", num_trials=8, store=store, num_workers=2, seed=3
    )
    trials = get_experiment(result["experiment_id"], path=store).trials
    want = mv.optimization_history(trials, "max")

    for given in (result["experiment_id"], result, result["experiment_id"][:8]):
        history = vis.plot_optimization_history(given, store=store)
        assert not history.live
        assert history.points.x.tolist() == list(range(1, 9))
        assert history.points.y.tolist() == want.values.tolist()
        assert history.best.y[-1] == result["best_val"]
        # hover: a trial's params
        first = trials[int(want.trial_ids[0])]
        assert history.points.names[0].startswith(f"trial {first.trial_id}")
        assert f"act={first.params['act']}" in history.points.names[0]

    parallel = vis.plot_parallel_coordinate(result, store=store)
    assert np.asarray(parallel.lines.y).shape == (8, 3)  # x, act, metric
    assert "x" in parallel.ticks.text and "relu" in parallel.ticks.text and "metric" in parallel.ticks.text

    importance = vis.plot_param_importances(result, store=store)
    assert importance.importances == mv.param_importances(trials, SPACE.to_dict())
    assert sorted(importance.bars.x) == ["act", "x"]

    sliced = vis.plot_slice(result, store=store)
    assert sorted(sliced.scatters) == ["act", "x"]
    assert sorted(set(sliced.scatters["act"].x)) <= ["relu", "tanh"]
    assert len(sliced.scatters["x"].y) == 8


def test_the_ablation_plot_shows_each_components_delta_against_the_base(comms):
    record = ExperimentRecord("abl-1", "titanic", "", "ablation", None, "loco", "max", 3, {}, "FINISHED", 0.0)
    trials = [
        Trial(0, {"ablated": "base"}, TrialState.FINISHED, metric=0.8, end=1.0),
        Trial(1, {"ablated": "feature:pclass"}, TrialState.FINISHED, metric=0.6, end=2.0),
        Trial(2, {"ablated": "layer:dense_1"}, TrialState.FINISHED, metric=0.85, end=3.0),
    ]
    plot = vis.plot_ablation(Experiment(record, trials))
    assert plot.bars.x.tolist() == ["layer:dense_1", "feature:pclass"]  # most harmful at the top
    assert np.allclose(plot.bars.y, [0.05, -0.2])
    assert plot.bars.colors == ["#2ca02c", "#d62728"]
    assert "most important: feature:pclass" in plot.note.value


class PlotFrontend:
    """Builds plots on the running experiment as a user's cell would, from its id in this kernel."""

    def __init__(self) -> None:
        self.plots: list[vis.Plot] = []
        self.live_at_start: list[bool] = []

    def active(self) -> bool:
        return True

    def attach(self, handle) -> None:
        registry.register(handle)
        self.plots = [
            vis.plot_optimization_history(handle.experiment_id, interval=0.05),
            vis.plot_param_importances(handle, interval=0.05),
            mv.plot_parallel_coordinate(handle, interval=0.05),  # the lazy re-export
        ]
        self.live_at_start = [p.live for p in self.plots]


@pytest.mark.integration
def test_plots_of_a_running_experiment_follow_it_to_the_end(tmp_path, monkeypatch, comms):
    frontend = PlotFrontend()
    monkeypatch.setattr(run_module, "discover", lambda: [frontend])
    result = experiment.lagom(
        train,
        searchspace=SPACE,
        optimizer="randomsearch",
        num_trials=6,
        store=str(tmp_path / "s.db"),
        num_workers=2,
    )
    history, importance, parallel = frontend.plots
    assert frontend.live_at_start == [True, True, True]
    assert [p.live for p in frontend.plots] == [False, False, False]  # unsubscribed at the end
    assert history.redraws >= 2  # the empty start, then at least the final redraw
    assert len(history.points.x) == 6 and history.best.y[-1] == result["best_val"]
    assert len(parallel.lines.y) == 6
    assert importance.importances.n_trials == 6


class FakeHandle:
    experiment_id = "exp-live"
    direction = "min"
    searchspace = SPACE.to_dict()

    def __init__(self) -> None:
        self.bus = ev.EventBus()
        self.snapshot: list[Trial] = []

    def subscribe(self, listener):
        return self.bus.subscribe(listener)

    def trials(self):
        return list(self.snapshot)


def test_a_live_plot_redraws_when_trials_end_throttled_not_on_metrics(comms):
    handle = FakeHandle()
    plot = vis.HistoryPlot(vis.source(handle), interval=0.0, threaded=False)
    assert plot.live and plot.redraws == 1 and len(plot.points.x) == 0

    handle.bus.publish(ev.MetricPoints("exp-live", 0, [[0, 1.0]]))
    assert not plot.throttle.poll()  # a metric point changes no analysis plot
    for tid, metric in enumerate([3.0, 1.0, 2.0]):
        trial = Trial(
            tid, {"x": 0.1 * tid, "act": "relu"}, TrialState.FINISHED, metric=metric, end=float(tid)
        )
        handle.snapshot.append(trial)
        handle.bus.publish(ev.TrialFinished("exp-live", trial))
    assert plot.throttle.poll()  # three endings, one redraw
    assert plot.redraws == 2
    assert plot.points.y.tolist() == [3.0, 1.0, 2.0]
    assert plot.best.y.tolist() == [3.0, 1.0, 1.0]  # direction 'min'

    handle.bus.publish(ev.ExperimentFinished("exp-live", "FINISHED", {}))
    assert plot.redraws == 3 and not plot.live
    handle.bus.publish(ev.TrialFinished("exp-live", handle.snapshot[0]))
    assert not plot.throttle.poll()


def test_an_unknown_experiment_or_input_says_what_is_wrong(tmp_path, comms):
    with pytest.raises(TypeError, match="experiment_id"):
        vis.plot_slice({"best_val": 1.0})
    with pytest.raises(TypeError, match="experiment id"):
        vis.plot_slice(42)
    from maggy.experiments import NoStore

    with pytest.raises(NoStore):
        vis.plot_slice("nope", store=tmp_path / "none.db")


def stored(trials, direction="max", kind="optimization", space=None):
    record = ExperimentRecord(
        "e-1", "n", "", kind, space, "randomsearch", direction, len(trials), {}, "FINISHED", 0.0
    )
    return Experiment(record, trials)


def test_parallel_coordinates_draw_at_most_max_lines_keeping_the_best(comms):
    rng = np.random.default_rng(0)
    params = SPACE.get_random_parameter_values(vis.MAX_LINES + 500, rng=rng)
    trials = [
        Trial(i, p, TrialState.FINISHED, metric=float(rng.uniform()), end=float(i))
        for i, p in enumerate(params)
    ]
    plot = vis.plot_parallel_coordinate(stored(trials, space=SPACE.to_dict()))
    assert len(plot.lines.y) == vis.MAX_LINES
    best = max(trials, key=lambda t: t.metric)
    assert any(label.startswith(f"trial {best.trial_id} ") for label in plot.lines.labels)
    assert f"{vis.MAX_LINES:,} of {len(trials):,} trials drawn" in plot.note.value


def test_the_ablation_plot_refuses_a_hyperparameter_experiment(comms):
    trials = [Trial(0, {"x": 0.5, "act": "relu"}, TrialState.FINISHED, metric=1.0, end=1.0)]
    with pytest.raises(ValueError, match="not an ablation study"):
        vis.plot_ablation(stored(trials))


def test_history_at_scale_sends_a_sample_of_dots_and_only_the_steps_of_the_best_curve(comms):
    n = vis.MAX_POINTS * 3
    metrics = np.random.default_rng(1).uniform(size=n)
    trials = [
        Trial(i, {"x": float(m)}, TrialState.FINISHED, metric=float(m), end=float(i))
        for i, m in enumerate(metrics)
    ]
    plot = vis.plot_optimization_history(stored(trials, direction="min"))
    assert len(plot.points.x) == vis.MAX_POINTS
    assert plot.points.y.min() == metrics.min()  # the best dot is always drawn
    h = mv.optimization_history(trials, "min")
    # the step line: every change of the best so far and the last point, nothing in between
    assert len(plot.best.x) == len(set(h.best.tolist())) + 1
    assert plot.best.y[-1] == metrics.min() and plot.best.x[-1] == n
    for x, y in zip(plot.best.x, plot.best.y, strict=True):
        assert h.best[int(x) - 1] == y
