"""How the worker calls the training function and judges its return value."""

from __future__ import annotations

import math

import numpy as np
import pytest

from maggy.worker.invoke import call_training_function, metric_from_result


def test_params_by_name_and_reporter_only_when_declared():
    seen = {}

    def with_reporter(a, b, reporter):
        seen.update(a=a, b=b, reporter=reporter)
        return 1

    def without(a, b):
        return a + b

    assert call_training_function(with_reporter, {"a": 1, "b": 2}, "R") == 1
    assert seen == {"a": 1, "b": 2, "reporter": "R"}
    assert call_training_function(without, {"a": 1, "b": 2}, "R") == 3


def test_kwargs_function_receives_every_param_but_reporter_only_by_name():
    assert call_training_function(lambda **kw: sorted(kw), {"a": 1}, "R") == ["a"]


@pytest.mark.parametrize(
    "result,expected",
    [(3, 3.0), (2.5, 2.5), (np.float32(1.5), 1.5), (np.int64(4), 4.0), ({"metric": 0.25, "loss": 3}, 0.25)],
)
def test_usable_results(result, expected):
    assert metric_from_result(result) == (expected, None)


@pytest.mark.parametrize(
    "result,fragment",
    [
        (float("nan"), "nan"),
        (math.inf, "inf"),
        ("0.9", "'0.9' (str)"),
        (None, "None (NoneType)"),
        (True, "True (bool)"),
        ({"loss": 1.0}, "without the key 'metric'"),
        ([1.0], "(list)"),
    ],
)
def test_unusable_results_say_what_came_back(result, fragment):
    metric, message = metric_from_result(result)
    assert metric is None
    assert fragment in message
