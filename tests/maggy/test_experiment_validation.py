"""lagom() refuses bad arguments before any worker starts, saying what to change."""

from __future__ import annotations

import pytest

from maggy import Searchspace, experiment

SP = Searchspace(x=("DOUBLE", [0.0, 1.0]))


def train(x, reporter):
    return x


CASES = [
    (dict(map_fun=42), TypeError, "map_fun must be a function"),
    (dict(experiment_type="tuning"), ValueError, "experiment_type must be one of"),
    (dict(num_trials=0), ValueError, "num_trials must be a positive int"),
    (dict(num_trials=2.5), ValueError, "num_trials must be a positive int"),
    (dict(num_trials=True), ValueError, "num_trials must be a positive int"),
    (dict(direction="maximize"), ValueError, "direction must be 'max' or 'min'"),
    (dict(hb_interval=0), ValueError, "hb_interval must be a positive number"),
    (dict(hb_interval="1"), ValueError, "hb_interval must be a positive number"),
    (dict(es_interval=-1), ValueError, "es_interval must be a positive number"),
    (dict(es_min=-1), ValueError, "es_min must be an int >= 0"),
    (dict(es_policy="mean"), ValueError, "unknown es_policy 'mean'"),
    (dict(optimizer="bayes"), ValueError, "randomsearch"),
    (dict(searchspace=None), ValueError, "needs a searchspace"),
    (dict(searchspace=[1, 2]), ValueError, "searchspace must be a maggy.Searchspace"),
    (dict(searchspace=Searchspace()), ValueError, "the searchspace is empty"),
    (dict(map_fun=lambda x, y: x), ValueError, "needs parameter(s) ['y'] that the searchspace does not have"),
    (
        dict(map_fun=lambda: 1),
        ValueError,
        "the searchspace has parameter(s) ['x'] that <lambda>() does not take",
    ),
    (dict(name=3), ValueError, "name must be a string"),
    (dict(trial_timeout=0), ValueError, "trial_timeout must be a positive number"),
    (dict(max_retries=-1), ValueError, "max_retries must be an int >= 0"),
    (dict(num_workers=0), ValueError, "num_workers must be a positive int"),
    (dict(backend="yarn"), ValueError, "backend must be 'local'"),
]


@pytest.mark.parametrize("overrides,exc,fragment", CASES, ids=[c[2][:40] for c in CASES])
def test_bad_arguments_are_refused_with_a_clear_message(overrides, exc, fragment, monkeypatch):
    started = []
    monkeypatch.setattr("maggy.backends.local.LocalBackend.start", lambda *a, **k: started.append(a))
    kwargs = dict(map_fun=train, num_trials=2, searchspace=SP)
    kwargs.update(overrides)
    with pytest.raises(exc) as info:
        experiment.lagom(**kwargs)
    assert fragment in str(info.value)
    assert started == []


def test_an_ablation_needs_an_ablation_training_function_and_study():
    # The full ablation checks live in tests/maggy/ablation/.
    with pytest.raises(
        ValueError, match=r"train\(\) must take \(dataset_function, model_function, reporter\)"
    ):
        experiment.lagom(train, experiment_type="ablation")
    with pytest.raises(ValueError, match="needs ablation_study=AblationStudy"):
        experiment.lagom(lambda dataset_function, model_function: 0.0, experiment_type="ablation")


def test_searchspace_given_as_a_dict_is_accepted_and_defaults_fill_missing_parameters(tmp_path):
    result = experiment.lagom(
        lambda x, unused=3: x,
        num_trials=1,
        searchspace=SP.to_dict(),
        store=str(tmp_path / "s.db"),
        progress=False,
    )
    assert result["num_trials"] == 1 and 0.0 <= result["best_val"] <= 1.0


def test_asha_replaces_the_default_median_rule_and_keeps_an_explicit_other_policy(monkeypatch, caplog):
    from maggy import experiment as exp_module
    from maggy.earlystop import NoStopping, PercentileStoppingRule
    from maggy.optimizer import Asha, RandomSearch

    assert isinstance(exp_module._policy_for(Asha(), exp_module.get_policy("median"), "median"), NoStopping)
    kept = exp_module._policy_for(Asha(), PercentileStoppingRule(), "percentile")
    assert isinstance(kept, PercentileStoppingRule) and "does its own early stopping" in caplog.text
    median = exp_module.get_policy("median")
    assert exp_module._policy_for(RandomSearch(), median, "median") is median


# ---- issue 12, item 11: non-finite or absurd numbers, and map_funs that cannot run as trials ----


async def async_train(x):
    return x


def generator_train(x):
    yield x


async def async_generator_train(x):
    yield x


class ModelTrain:
    def __init__(self, x):
        self.x = x


class AsyncCallable:
    async def __call__(self, x):
        return x


HOSTILE = [
    (dict(hb_interval=float("inf")), ValueError, "hb_interval must be a finite number of seconds"),
    (dict(hb_interval=float("nan")), ValueError, "hb_interval must be a positive number"),
    (dict(hb_interval=1e10), ValueError, "hb_interval must be between 0.01 and 60 seconds"),
    (dict(hb_interval=61), ValueError, "hb_interval must be between 0.01 and 60 seconds"),
    (dict(hb_interval=1e-6), ValueError, "hb_interval must be between 0.01 and 60 seconds"),
    (dict(es_interval=float("inf")), ValueError, "es_interval must be a finite number.*es_policy='none'"),
    (dict(es_interval=float("nan")), ValueError, "es_interval must be a positive number"),
    (dict(trial_timeout=float("inf")), ValueError, "trial_timeout must be a finite.*trial_timeout=None"),
    (dict(trial_timeout=float("nan")), ValueError, "trial_timeout must be a positive number"),
    (dict(map_fun=async_train), TypeError, r"map_fun async_train\(\) is an async function.*plain def"),
    (dict(map_fun=async_generator_train), TypeError, r"async_generator_train\(\) is an async function"),
    (dict(map_fun=generator_train), TypeError, r"generator_train\(\) is a generator function.*yield"),
    (dict(map_fun=ModelTrain), TypeError, r"got the class ModelTrain: pass a def"),
    (dict(map_fun=AsyncCallable()), TypeError, r"is an async function"),
    (dict(map_fun=max), TypeError, r"signature of map_fun max\(\) cannot be read.*wrap it in a def"),
]


@pytest.mark.timeout(20)  # accepted by mistake, lagom would wait for workers that never start
@pytest.mark.parametrize(
    "overrides,exc,pattern",
    HOSTILE,
    ids=[
        f"{k}={getattr(v, '__name__', type(v).__name__) if k == 'map_fun' else v!r}"
        for d, _, _ in HOSTILE
        for k, v in d.items()
    ],
)
def test_hostile_numbers_and_functions_are_refused_before_any_worker(overrides, exc, pattern, monkeypatch):
    started = []
    monkeypatch.setattr("maggy.backends.local.LocalBackend.start", lambda *a, **k: started.append(a))
    kwargs = dict(map_fun=train, num_trials=2, searchspace=SP)
    kwargs.update(overrides)
    with pytest.raises(exc, match=pattern):
        experiment.lagom(**kwargs)
    assert started == []


def test_the_bounds_of_hb_interval_and_a_partial_of_a_plain_function_are_accepted(monkeypatch):
    import functools

    from maggy.core import validation

    assert validation.check_hb_interval(0.01) == 0.01 and validation.check_hb_interval(60) == 60.0
    validation.check_callable(functools.partial(lambda x, y: x, y=1))
    with pytest.raises(TypeError, match="async function"):
        validation.check_callable(functools.partial(async_train))


@pytest.mark.parametrize("optimizer", ["asha", "hyperband"])
def test_a_budget_hyperparameter_is_refused_with_an_optimizer_that_grants_budgets(optimizer):
    space = Searchspace(x=("DOUBLE", [0.0, 1.0]), budget=("INTEGER", [1, 5]))
    with pytest.raises(ValueError, match="hyperparameter named 'budget'.*passes its own 'budget'.*rename"):
        experiment.lagom(lambda x, budget: x, searchspace=space, optimizer=optimizer, num_trials=2)


def test_uses_budget_is_declared_on_the_base_class():
    from maggy.optimizer import AbstractOptimizer, Asha, RandomSearch

    assert AbstractOptimizer.uses_budget is False and RandomSearch.uses_budget is False
    assert Asha.uses_budget is True
