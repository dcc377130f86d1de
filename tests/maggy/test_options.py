"""LagomOptions: lagom's options are defined once; lagom, lagom_async and %%lagom all take them."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from maggy import Searchspace, experiment
from maggy.options import LagomOptions, option_info

SP = Searchspace(x=("DOUBLE", [0.0, 1.0]))

# The Maggy user API (shared/spec/maggy-user-api.txt): names, order and defaults.
SPEC = [
    ("map_fun", inspect.Parameter.empty),
    ("name", "no-name"),
    ("experiment_type", "optimization"),
    ("hb_interval", 1),
    ("num_trials", 1),
    ("searchspace", None),
    ("optimizer", None),
    ("direction", "max"),
    ("ablation_study", None),
    ("ablator", None),
    ("es_policy", "median"),
    ("es_interval", 300),
    ("es_min", 10),
    ("description", ""),
]
# The README's keyword-only extras, with their defaults.
EXTRAS = [
    ("resume", None),
    ("warm_start", ()),
    ("initial_configs", ()),
    ("num_workers", None),
    ("trial_timeout", None),
    ("max_retries", 1),
    ("seed", None),
    ("backend", None),
    ("store", None),
    ("progress", None),
    ("listeners", ()),
]


def train(x):
    return x


def test_lagom_takes_the_spec_arguments_then_the_keyword_only_extras():
    params = list(inspect.signature(experiment.lagom).parameters.values())
    assert [(p.name, p.default) for p in params[: len(SPEC)]] == SPEC
    assert {p.kind for p in params[: len(SPEC)]} == {inspect.Parameter.POSITIONAL_OR_KEYWORD}
    assert [(p.name, p.default) for p in params[len(SPEC) :]] == EXTRAS
    assert {p.kind for p in params[len(SPEC) :]} == {inspect.Parameter.KEYWORD_ONLY}


def test_lagom_lagom_async_and_the_options_object_have_the_same_arguments():
    lagom, lagom_async = inspect.signature(experiment.lagom), inspect.signature(experiment.lagom_async)
    assert lagom.parameters == lagom_async.parameters == inspect.signature(LagomOptions).parameters
    # Apart from what they return: the result dict, or a coroutine that yields it when awaited.
    assert str(lagom.return_annotation) == "dict[str, Any]"
    assert str(lagom_async.return_annotation) == "Coroutine[Any, Any, dict[str, Any]]"


def test_lagom_and_lagom_async_document_every_option():
    for fn in (experiment.lagom, experiment.lagom_async, LagomOptions):
        for field in dataclasses.fields(LagomOptions):
            assert f"``{field.name}``" in fn.__doc__, (fn, field.name)


def test_every_option_has_a_help_line_and_a_group():
    for field in dataclasses.fields(LagomOptions):
        info = option_info(field)
        assert info.help and info.group, field.name


def test_positional_arguments_follow_the_spec_order():
    options = LagomOptions(train, "exp", "optimization", 0.5, 3, SP, "gridsearch", "min")
    assert (options.name, options.hb_interval, options.num_trials, options.direction) == (
        "exp",
        0.5,
        3,
        "min",
    )
    assert options.optimizer == "gridsearch" and options.searchspace is SP
    with pytest.raises(TypeError):
        LagomOptions(train, *["x"] * 14)  # num_workers and the other extras are keyword-only


def test_each_option_is_checked_and_normalised_when_the_object_is_built():
    options = LagomOptions(train, direction="MIN", experiment_type="Optimization", listeners=[print])
    assert options.direction == "min" and options.experiment_type == "optimization"
    assert options.hb_interval == 1.0 and isinstance(options.hb_interval, float)
    assert options.listeners == (print,) and LagomOptions(train, listeners=None).listeners == ()
    with pytest.raises(ValueError, match="num_trials must be a positive int, got 0"):
        LagomOptions(train, num_trials=0)
    with pytest.raises(ValueError, match="es_interval must be a finite number of seconds.*es_policy='none'"):
        LagomOptions(train, es_interval=float("inf"))
    with pytest.raises(TypeError, match="map_fun must be a function"):
        LagomOptions(42)


def test_options_are_frozen_and_replace_checks_again():
    options = LagomOptions(train, num_trials=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.num_trials = 3  # type: ignore[misc]
    assert dataclasses.replace(options, num_trials=5).num_trials == 5
    with pytest.raises(ValueError, match="num_trials must be a positive int"):
        dataclasses.replace(options, num_trials=-1)


@pytest.mark.parametrize(
    ("listeners", "fragment"),
    [
        (print, "listeners must be a list of callables"),
        ("print", "listeners must be a list of callables"),
        ([print, 42], "listeners[1] is an int, not a callable"),
    ],
)
def test_listeners_that_cannot_receive_events_are_refused_before_any_worker(listeners, fragment, monkeypatch):
    # Before: print was refused with "object is not iterable" and [42] ran the experiment with a
    # listener that failed on every event.
    started = []
    monkeypatch.setattr("maggy.backends.local.LocalBackend.start", lambda *a, **k: started.append(a))
    with pytest.raises(TypeError) as info:
        experiment.lagom(train, searchspace=SP, listeners=listeners)
    assert fragment in str(info.value) and started == []


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_run_takes_a_built_options_object(tmp_path):
    options = LagomOptions(
        train, num_trials=2, searchspace=SP, seed=1, store=str(tmp_path / "s.db"), progress=False
    )
    result = experiment.run(options)
    assert result["num_trials"] == 2 and result["status"] == "FINISHED"


def test_a_call_that_does_not_fit_the_arguments_names_lagom_and_the_likely_argument():
    with pytest.raises(
        TypeError,
        match=r"^lagom\(\) got an unexpected keyword argument 'num_trial'; did you mean 'num_trials'\?$",
    ):
        experiment.lagom(train, num_trial=5)
    with pytest.raises(TypeError, match=r"^lagom_async\(\) missing a required argument: 'map_fun'$"):
        experiment.lagom_async()
    with pytest.raises(TypeError, match=r"^lagom\(\) too many positional arguments$"):
        experiment.lagom(train, *["x"] * 14)
