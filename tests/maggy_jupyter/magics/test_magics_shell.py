"""The magics in a real (in-process) IPython shell: %load_ext, %%searchspace, %%lagom, %maggy.

IPython.testing.globalipapp runs magics in-process in milliseconds. Tests that start worker
processes are marked integration; MAGGY_HOME is a fresh directory per test (tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest
from IPython.core.error import UsageError
from IPython.lib.pretty import pretty
from IPython.testing import globalipapp

from maggy import Searchspace
from maggy.store import ExperimentRecord, open_store
from maggy.trial import Trial, TrialState
from maggy_jupyter.builder import SearchspaceBuilder
from maggy_jupyter.magics.results import BackgroundExperiment, LagomResult

TOY = "def toy(x, y):\n    return -((x - 3) ** 2) - (y - 1) ** 2\n"


@pytest.fixture
def ip():
    shell = globalipapp.get_ipython()  # the module attribute: start_ipython() rebinds it after the first call
    shell.run_line_magic("load_ext", "maggy_jupyter")
    before = set(shell.user_ns)
    yield shell
    for name in set(shell.user_ns) - before:
        del shell.user_ns[name]


@pytest.fixture
def kernel_registry():
    """This kernel's real experiment registry, emptied before and after the test."""
    from maggy_jupyter import registry

    registry.clear()
    yield registry
    registry.clear()


class FakeHandle:
    """The part of an ExperimentHandle that the registry and %maggy stop use; counts stop calls."""

    def __init__(self, experiment_id, name):
        self.experiment_id, self.name, self.stops = experiment_id, name, 0

    def subscribe(self, listener):
        return lambda: None

    def stop_experiment(self):
        self.stops += 1


def test_importing_the_package_stays_light():
    code = "import sys, maggy_jupyter; assert not {'IPython', 'ipywidgets', 'bqplot'} & set(sys.modules), sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_load_ext_registers_the_magics_with_their_help(ip):
    magics = ip.magics_manager.magics
    assert {"searchspace", "lagom"} <= set(magics["cell"])
    assert {"lagom", "maggy", "searchspace_builder"} <= set(magics["line"])
    lagom_help = ip.find_cell_magic("lagom").__doc__
    assert "the last function" in lagom_help and "--num-trials N" in lagom_help and "--async" in lagom_help
    assert "name: TYPE [values] [log]" in ip.find_cell_magic("searchspace").__doc__
    assert "%maggy stop [ID]" in ip.find_line_magic("maggy").__doc__


def test_searchspace_cell_binds_the_declared_space(ip):
    assert (
        ip.run_cell_magic(
            "searchspace", "space1", "lr: DOUBLE [1e-4, 1e-1] log\nact: CATEGORICAL [relu, tanh]"
        )
        is None
    )
    assert ip.user_ns["space1"] == Searchspace(
        lr=("DOUBLE", [1e-4, 0.1], "log"), act=("CATEGORICAL", ["relu", "tanh"])
    )


def test_searchspace_cell_errors_name_the_line_and_bind_nothing(ip):
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("searchspace", "space2", "a: DOUBLE [0, 1]\n\nb: INTEGER [5, 1]\n")
    assert "line 3: 'b: INTEGER [5, 1]': Searchspace parameter 'b': lower bound 5" in str(info.value)
    assert "space2" not in ip.user_ns
    with pytest.raises(UsageError, match="'1sp' is not a valid variable name"):
        ip.run_cell_magic("searchspace", "1sp", "a: DOUBLE [0, 1]")
    with pytest.raises(UsageError, match="the following arguments are required: NAME"):
        ip.run_cell_magic("searchspace", "", "a: DOUBLE [0, 1]")


def test_lagom_cell_without_a_function_runs_the_body_then_says_so(ip):
    ip.run_cell_magic("searchspace", "sp", "x: DOUBLE [0, 1]")
    with pytest.raises(UsageError, match="the cell defines no function"):
        ip.run_cell_magic("lagom", "--searchspace sp", "side_effect = 41 + 1\n")
    assert ip.user_ns["side_effect"] == 42


def test_lagom_unknown_searchspace_lists_the_existing_ones(ip):
    ip.run_cell_magic("searchspace", "my_space", "x: DOUBLE [0, 1]")
    with pytest.raises(
        UsageError, match="no searchspace named 'sp'; Searchspace variables in the notebook: my_space"
    ):
        ip.run_cell_magic("lagom", "--searchspace sp", "def f(x):\n    return x\n")


def test_lagom_async_outside_an_event_loop_is_a_usage_error(ip):
    ip.run_cell_magic("searchspace", "sp", "x: DOUBLE [0, 1]")
    with pytest.raises(UsageError, match="--async needs a running event loop"):
        ip.run_cell_magic("lagom", "--searchspace sp --async", "def f(x):\n    return x\n")


@pytest.mark.integration
def test_lagom_cell_runs_the_experiment_and_maggy_list_and_show_see_it(ip, capsys):
    ip.run_cell_magic("searchspace", "sp", "x: DOUBLE [0, 6]\ny: INTEGER [-2, 4]")
    result = ip.run_cell_magic("lagom", "--searchspace sp --num-trials 6 --num-workers 2 --seed 3", TOY)
    assert isinstance(result, LagomResult) and ip.user_ns["_lagom"] is result
    assert result["num_trials"] == 6 and result["status"] == "FINISHED" and result["errors"] == 0
    assert result["best_val"] == max(result["metric_list"]) and -18 <= result["best_val"] <= 0
    assert callable(ip.user_ns["toy"])  # the body ran in the notebook namespace
    summary = pretty(result)
    assert f"experiment {result['experiment_id']}: FINISHED, 6 trials" in summary
    assert "the result dict is in _lagom" in summary and len(summary.splitlines()) == 3
    with open_store() as store:
        assert store.get_experiment(result["experiment_id"]).name == "toy"  # defaults to the function name

    capsys.readouterr()
    ip.run_line_magic("maggy", "list")
    listing = capsys.readouterr().out
    assert result["experiment_id"] in listing and "toy" in listing and "6/6" in listing
    ip.run_line_magic("maggy", f"show {result['experiment_id'][:17]}")
    shown = capsys.readouterr().out
    assert f"experiment  {result['experiment_id']}" in shown and shown.count("FINISHED") == 7


@pytest.mark.integration
def test_lagom_line_form_runs_a_defined_function_into_out(ip):
    ip.run_cell(TOY)
    ip.run_cell_magic("searchspace", "sp", "x: DOUBLE [0, 6]\ny: INTEGER [-2, 4]")
    n = 3
    ip.user_ns["n"] = n
    result = ip.run_line_magic("lagom", "toy --searchspace sp --num-trials {n} --name 'line form' --out r2")
    assert ip.user_ns["r2"] is result and "_lagom" not in ip.user_ns
    assert result["num_trials"] == 3
    with open_store() as store:
        assert store.get_experiment(result["experiment_id"]).name == "line form"


@pytest.mark.integration
def test_lagom_async_returns_an_awaitable_and_binds_the_result_when_done(ip):
    ip.run_cell_magic("searchspace", "sp", "x: DOUBLE [0, 6]\ny: INTEGER [-2, 4]")

    async def notebook():
        background = ip.run_cell_magic(
            "lagom", "--searchspace sp --num-trials 3 --num-workers 2 --async --out bg", TOY
        )
        assert isinstance(background, BackgroundExperiment) and not background.done()
        assert "running in the background" in pretty(background)
        result = await background
        await asyncio.sleep(0)  # the done-callback that binds --out runs on the next loop turn
        return background, result

    background, result = asyncio.run(notebook())
    assert ip.user_ns["bg"] is result and result["num_trials"] == 3
    assert pretty(background) == result.summary()


def _store_experiment(name, status="FINISHED", trials=()):
    """Put an experiment (and trials) straight into the test's store; no workers involved."""
    from maggy.store import new_experiment_id

    exp_id = new_experiment_id()
    with open_store() as store:
        store.create_experiment(
            ExperimentRecord(
                exp_id,
                name,
                "",
                "optimization",
                {"x": ("DOUBLE", [0, 1])},
                "RandomSearch",
                "max",
                2,
                {},
                status,
                time.time(),
            )
        )
        for trial in trials:
            store.save_trial(exp_id, trial)
    return exp_id


def test_maggy_list_marks_this_kernels_experiments_newest_first(ip, capsys, kernel_registry):
    ip.run_line_magic("maggy", "list")
    assert capsys.readouterr().out.startswith("no experiments yet")
    old = _store_experiment("from-elsewhere", trials=[Trial(0, {"x": 0.5}, TrialState.FINISHED, metric=0.75)])
    time.sleep(0.01)
    new = _store_experiment("mine", status="RUNNING")
    kernel_registry.register(FakeHandle(new, "mine"))
    ip.run_line_magic("maggy", "")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "STATUS", "TRIALS", "BEST", "STARTED"]
    assert lines[1].split()[:4] == ["*", new, "mine", "RUNNING"]
    assert lines[2].split()[:6] == [old, "from-elsewhere", "FINISHED", "1/2", "0.75", "(max)"]
    assert lines[3] == "* started in this kernel"
    ip.run_line_magic("maggy", "list --limit 1")
    assert "(newest 1 shown; %maggy list --limit 0 shows all)" in capsys.readouterr().out


def test_maggy_show_unknown_id_is_a_usage_error(ip):
    _store_experiment("a")
    with pytest.raises(UsageError, match="zzz"):
        ip.run_line_magic("maggy", "show zzz")
    with pytest.raises(UsageError, match="which experiment"):
        ip.run_line_magic("maggy", "show")


def test_maggy_stop_stops_a_running_handle_of_this_kernel(ip, capsys, kernel_registry):
    running, done = FakeHandle("20260101-000000-aaaaaa", "run1"), FakeHandle("20260101-000000-bbbbbb", "old")
    kernel_registry.register(done)
    kernel_registry.mark_finished(done.experiment_id, "FINISHED")
    kernel_registry.register(running)
    ip.run_line_magic("maggy", "stop 20260101-000000-a")
    assert (
        running.stops == 1 and "stopping experiment 20260101-000000-aaaaaa (run1)" in capsys.readouterr().out
    )
    ip.run_line_magic("maggy", "stop")  # the only running one
    assert running.stops == 2
    ip.run_line_magic("maggy", "stop 20260101-000000-b")
    assert done.stops == 0 and "is not running any more" in capsys.readouterr().out
    kernel_registry.mark_finished(running.experiment_id, "STOPPED")
    ip.run_line_magic("maggy", "stop")
    assert "no experiment is running in this kernel" in capsys.readouterr().out


def test_maggy_stop_explains_experiments_it_cannot_stop(ip, capsys, kernel_registry, monkeypatch):
    elsewhere = _store_experiment("other-kernel", status="RUNNING")
    ip.run_line_magic("maggy", f"stop {elsewhere}")
    assert "was not started in this kernel" in capsys.readouterr().out
    finished = _store_experiment("finished")
    ip.run_line_magic("maggy", f"stop {finished}")
    assert "is not running (status FINISHED)" in capsys.readouterr().out
    ip.run_line_magic("maggy", "stop nothing-like-this")
    assert "no experiment 'nothing-like-this' in this kernel; in the store: " in capsys.readouterr().out
    monkeypatch.setitem(sys.modules, "maggy_jupyter.registry", None)  # not installed: import fails
    ip.run_line_magic("maggy", "stop")
    assert "no experiment registry" in capsys.readouterr().out


def test_searchspace_builder_magic_starts_from_and_binds_to_name(ip):
    ip.run_cell_magic("searchspace", "sp", "lr: DOUBLE [1e-4, 1e-1] log")
    builder = ip.run_line_magic("searchspace_builder", "sp")
    assert isinstance(builder, SearchspaceBuilder) and builder.searchspace == ip.user_ns["sp"]
    builder.add_row("units", "INTEGER", "8, 64")
    assert ip.user_ns["sp"] == Searchspace(lr=("DOUBLE", [1e-4, 0.1], "log"), units=("INTEGER", [8, 64]))
    fresh = ip.run_line_magic("searchspace_builder", "new_space")
    assert len(fresh.rows) == 1 and "new_space" not in ip.user_ns


@pytest.mark.integration
def test_lagom_resume_continues_an_experiment_without_its_searchspace(ip):
    ip.run_cell_magic("searchspace", "sp", "x: DOUBLE [0, 6]\ny: INTEGER [-2, 4]")
    first = ip.run_cell_magic("lagom", "--searchspace sp --num-trials 3 --num-workers 2 --seed 3", TOY)
    eid = first["experiment_id"]
    del ip.user_ns["sp"]  # the stored space is used: the notebook need not have it any more
    again = ip.run_cell_magic(
        "lagom", f"--resume {eid[:17]} --num-trials 5 --num-workers 2 --seed 4 --out more", TOY
    )
    assert ip.user_ns["more"] is again and again["experiment_id"] == eid and again["status"] == "FINISHED"
    with open_store() as store:
        record, trials = store.get_experiment(eid), store.get_trials(eid)
    assert record.name == "toy" and record.status == "FINISHED"
    assert sorted(t.trial_id for t in trials) == [0, 1, 2, 3, 4]
    assert all(t.state is TrialState.FINISHED for t in trials)
    renamed = ip.run_line_magic("lagom", f"toy --resume {eid} --num-trials 6 --name renamed")
    assert renamed["experiment_id"] == eid
    with open_store() as store:
        assert store.get_experiment(eid).name == "renamed"


@pytest.mark.integration
def test_lagom_warm_start_and_initial_configs_from_the_notebook(ip):
    ip.run_cell_magic("searchspace", "sp", "x: DOUBLE [0, 6]\ny: INTEGER [-2, 4]")
    a = ip.run_cell_magic("lagom", "--searchspace sp --num-trials 2 --num-workers 1 --out a", TOY)
    b = ip.run_cell_magic("lagom", "--searchspace sp --num-trials 2 --num-workers 1 --out b", TOY)
    ip.user_ns["first"] = [{"x": 3.0, "y": 1}, {"x": 0.5, "y": -2}]
    ids = f"{a['experiment_id']},{b['experiment_id'][:-2]}"  # a prefix; [:17] could match both (same second)
    result = ip.run_cell_magic(
        "lagom",
        f"--searchspace sp --num-trials 3 --num-workers 1 --warm-start {ids} --initial-configs first",
        TOY,
    )
    eid, earlier = result["experiment_id"], [a["experiment_id"], b["experiment_id"]]
    assert result["status"] == "FINISHED" and eid not in earlier
    with open_store() as store:
        record, trials = store.get_experiment(eid), store.get_trials(eid)
    assert record.config["warm_start"] == earlier
    by_id = {t.trial_id: t for t in trials}
    assert (
        len(trials) == 3 and by_id[0].params == {"x": 3.0, "y": 1} and by_id[1].params == {"x": 0.5, "y": -2}
    )
    assert by_id[0].metric == 0  # the optimum, run first as given


@pytest.mark.parametrize("flags", ["--resume nope", "--searchspace sp --warm-start nope"])
def test_an_unknown_experiment_id_is_a_usage_error(ip, flags):
    # Before: a KeyError traceback from lagom; a wrong id is a mistake in the line.
    ip.run_cell_magic("searchspace", "sp", "x: DOUBLE [0, 1]")
    with pytest.raises(UsageError, match=r"no experiment with id 'nope'.*\(here: %maggy list\)"):
        ip.run_cell_magic("lagom", f"{flags} --no-progress", "def f(x):\n    return x\n")


@pytest.mark.parametrize(
    ("magic", "line", "cell", "message"),
    [
        (
            "lagom",
            "--searchspace sp --trials 20",
            TOY,
            "unrecognized argument --trials: did you mean --num-trials?",
        ),
        (
            "ablation",
            "study --datset titanic --label survived",
            "features: a",
            # named although --dataset, which is required, is missing too
            "unrecognized argument --datset: did you mean --dataset?; %%ablation? lists every flag",
        ),
        (
            "searchspace",
            "sp --nmae x",
            "x: DOUBLE [0, 1]",
            "unrecognized argument --nmae; %%searchspace? lists",
        ),
        (
            "maggy",
            "list --limt 3",
            None,
            "unrecognized argument --limt: did you mean --limit?; %maggy? lists",
        ),
        ("searchspace_builder", "sp --x", None, "unrecognized argument --x; %searchspace_builder? lists"),
    ],
)
def test_every_magic_names_the_closest_flag_for_an_unknown_one(ip, magic, line, cell, message):
    with pytest.raises(UsageError) as info:
        if cell is None:
            ip.run_line_magic(magic, line)
        else:
            ip.run_cell_magic(magic, line, cell)
    assert message in str(info.value) and "\n" not in str(info.value)


def _experiments_in_store():
    from maggy.experiments import list_experiments

    return list_experiments(None).experiments


@pytest.mark.parametrize(
    ("space", "function", "message"),
    [
        (
            "x: DOUBLE [0, 6]\ny: INTEGER [-2, 4]",
            "def train(x):\n    return x\n",
            "the searchspace has parameter(s) ['y'] that train() does not take: add them to its signature",
        ),
        (
            "x: DOUBLE [0, 6]",
            "def train(x, units, reporter):\n    return x\n",
            "train() needs parameter(s) ['units'] that the searchspace does not have (it has ['x'])",
        ),
    ],
)
def test_a_function_that_does_not_fit_the_searchspace_is_one_line_before_any_worker(
    ip, capsys, space, function, message
):
    # Before: a 30-line traceback through maggy's frames (experiment._prepare, check_signature).
    ip.run_cell_magic("searchspace", "sp", space)
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("lagom", "--searchspace sp --num-trials 2", function)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert _experiments_in_store() == []  # nothing was registered, no worker started
    capsys.readouterr()
    # What the user sees in the notebook: the one line, no traceback.
    ip.run_cell(f"%%lagom --searchspace sp --num-trials 2\n{function}")
    shown = capsys.readouterr()
    text = shown.out + shown.err
    assert text.strip().splitlines() == [f"UsageError: {info.value}"], text


def test_lagom_line_form_preparation_errors_are_usage_errors_too(ip):
    ip.run_cell("def two(a, b):\n    return a + b\n")
    ip.run_cell_magic("searchspace", "sp", "a: DOUBLE [0, 1]")
    with pytest.raises(UsageError, match=r"two\(\) needs parameter\(s\) \['b'\]"):
        ip.run_line_magic("lagom", "two --searchspace sp")


def test_resuming_a_running_or_finished_experiment_says_what_to_change(ip):
    ip.run_cell_magic("searchspace", "sp", "x: DOUBLE [0, 1]")
    running = _store_experiment("busy", status="RUNNING")
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("lagom", f"--resume {running} --no-progress", "def f(x):\n    return x\n")
    assert f"experiment {running} is still running" in str(info.value) and "\n" not in str(info.value)
    done = _store_experiment(
        "done",
        trials=[
            Trial(0, {"x": 0.5}, TrialState.FINISHED, metric=0.5),
            Trial(1, {"x": 0.1}, TrialState.FINISHED, metric=0.1),
        ],
    )
    with pytest.raises(UsageError, match="none is left to run again; pass num_trials greater than 2"):
        ip.run_cell_magic("lagom", f"--resume {done} --num-trials 2", "def f(x):\n    return x\n")


def test_async_preparation_errors_are_raised_by_the_magic_not_the_task(ip):
    ip.run_cell_magic("searchspace", "sp", "x: DOUBLE [0, 1]\ny: DOUBLE [0, 1]")

    async def notebook():
        ip.run_cell_magic("lagom", "--searchspace sp --async", "def f(x):\n    return x\n")

    with pytest.raises(UsageError, match=r"parameter\(s\) \['y'\] that f\(\) does not take"):
        asyncio.run(notebook())
    assert _experiments_in_store() == []
