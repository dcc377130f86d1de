"""One rule for "the best trial": a real ASHA run, and every view of it names the same trial.

ASHA runs configurations at several budgets; a metric after 1 epoch does not compare with one
after 9 (``maggy.core.result.best_trial`` compares only the largest budget reached). The training
function here makes every low-budget metric higher than any top-budget one, so a view that
compared all FINISHED trials would name a low-budget trial. The result dict, ``maggy experiments
show``, ``%maggy show``, the comm summary's ``best`` (live and stored), the live view, the
notebook's text line and the terminal bar must all name the result's ``best_id``.
"""

from __future__ import annotations

import io
import re
import time
from types import SimpleNamespace

import pytest
from IPython.testing import globalipapp

from maggy import Searchspace, experiment
from maggy.cli import main as cli_main
from maggy.core import events as ev
from maggy.progress import ConsoleProgress
from maggy.store import open_store
from maggy.trial import TrialState
from maggy_jupyter.comm_bridge.stream import ExperimentStream
from maggy_jupyter.frontend import ProgressState
from maggy_jupyter.live_view.state import ExperimentState


def asha_train(x, budget):
    # Low budgets score higher than any top-budget run: only the budget-aware rule picks well.
    return x + (10.0 if budget < 9 else 0.0)


class Views:
    """Every Python view of a running experiment, fed by the experiment's events."""

    def __init__(self) -> None:
        self.stream: ExperimentStream | None = None
        self.live: ExperimentState | None = None
        self.text: ProgressState | None = None
        self.bar = ConsoleProgress("max", 20, file=io.StringIO())

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.ExperimentStarted):
            handle = SimpleNamespace(
                experiment_id=event.experiment_id,
                name=event.name,
                num_trials=event.num_trials,
                direction="max",
            )
            self.stream = ExperimentStream(handle, interval=0.1, now=0.0)
            self.live = ExperimentState(event.experiment_id, event.name, event.num_trials, "max")
            self.text = ProgressState(event.name, event.experiment_id, event.num_trials, "max")
        assert self.stream is not None and self.live is not None and self.text is not None
        self.stream.add(event)
        self.live.apply(event, time.time())
        self.text.apply(event)
        self.bar(event)


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_an_asha_run_names_the_same_best_trial_everywhere(capsys):
    views = Views()
    space = Searchspace(x=("DOUBLE", [0.0, 1.0]))
    result = experiment.lagom(
        asha_train,
        name="same-best",
        num_trials=20,
        searchspace=space,
        optimizer="asha",
        es_policy="none",
        num_workers=2,
        seed=5,
        progress=False,
        listeners=[views],
    )
    eid, best_id = result["experiment_id"], result["best_id"]
    with open_store() as store:
        trials = store.get_trials(eid)
        listed = store.trial_summary(eid, "max")
    finished = [t for t in trials if t.state is TrialState.FINISHED]
    top = max(t.budget for t in finished)
    # The run is one that tells the rules apart: the best FINISHED metric is at a lower budget.
    naive = max(finished, key=lambda t: t.metric)
    assert naive.budget < top and naive.trial_id != best_id
    assert best_id is not None and next(t for t in trials if t.trial_id == best_id).budget == top

    capsys.readouterr()
    assert cli_main(["experiments", "show", eid]) == 0
    cli_out = capsys.readouterr().out
    assert re.search(r"^best\s+.*\(trial (\d+):", cli_out, re.M).group(1) == str(best_id), cli_out

    ip = globalipapp.get_ipython()
    ip.run_line_magic("load_ext", "maggy_jupyter")
    ip.run_line_magic("maggy", f"show {eid}")
    magic_out = capsys.readouterr().out
    assert re.search(r"^best\s+.*\(trial (\d+):", magic_out, re.M).group(1) == str(best_id), magic_out

    assert views.stream is not None and views.live is not None and views.text is not None
    assert views.stream.summary()["best"] == {"trial_id": best_id, "metric": result["best_val"]}
    assert views.live.summary(time.time()).best_id == best_id
    assert f"(trial {best_id})" in views.text.line(1.0)
    best = views.bar.summary.best()
    assert best is not None and best.trial_id == best_id
    assert listed.best_id == best_id  # `maggy experiments list` and `%maggy list` read this

    from maggy_jupyter.comm_bridge.handlers import _stored_summary

    with open_store() as store:
        record = store.get_experiment(eid)
    assert _stored_summary(record, trials)["best"] == {"trial_id": best_id, "metric": result["best_val"]}
