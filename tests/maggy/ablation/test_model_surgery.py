"""Removing layers from real Keras models: Sequential and functional, what works and what is refused."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from maggy.ablation.model_surgery import (  # noqa: E402 - after the importorskip
    AblationError,
    flat_input_width,
    layer_names,
    nested_owner,
    remove_layers,
)

pytestmark = pytest.mark.tf


def sequential(with_input: bool = True) -> keras.Model:
    layers = [
        keras.layers.Dense(8, activation="relu", name="d1"),
        keras.layers.Dense(6, activation="relu", name="d2"),
        keras.layers.Dense(4, activation="relu", name="d3"),
        keras.layers.Dense(1, name="out"),
    ]
    return keras.Sequential(([keras.Input((5,))] if with_input else []) + layers, name="seq")


def branched() -> keras.Model:
    x = keras.Input((5,), name="features")
    h = keras.layers.Dense(4, name="d1")(x)
    left = keras.layers.Dense(4, name="left")(h)
    right = keras.layers.Dense(4, name="right")(h)
    merged = keras.layers.Add(name="add")([left, right])
    return keras.Model(x, keras.layers.Dense(1, name="out")(merged), name="branched")


def test_sequential_layer_and_group_removal_keeps_names_input_and_compile_settings():
    base = sequential()
    base.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    one = remove_layers(base, ["d2"])
    assert layer_names(one) == ["d1", "d3", "out"] and one.name == "seq"
    assert tuple(one.inputs[0].shape) == (None, 5) and one.compiled
    assert one.get_compile_config()["loss"] == "mse"
    group = remove_layers(base, ["d1", "d3"])
    assert layer_names(group) == ["d2", "out"]
    assert group.predict(np.zeros((2, 5), np.float32), verbose=0).shape == (2, 1)
    assert layer_names(base) == ["d1", "d2", "d3", "out"]  # the base model is untouched


def test_removed_model_is_fresh_not_sharing_weights():
    base = sequential()
    rebuilt = remove_layers(base, ["d2"])
    assert rebuilt.get_layer("d1") is not base.get_layer("d1")
    assert not np.allclose(rebuilt.get_layer("d1").kernel.numpy(), base.get_layer("d1").kernel.numpy())


def test_sequential_without_input_layer_is_rebuilt_lazily():
    rebuilt = remove_layers(sequential(with_input=False), ["d1"])
    assert layer_names(rebuilt) == ["d2", "d3", "out"] and not rebuilt.built
    assert rebuilt(np.zeros((3, 7), np.float32)).shape == (3, 1)  # any width: Dense adapts


def test_input_width_is_narrowed_for_an_ablated_feature():
    assert flat_input_width(sequential()) == 5 and flat_input_width(sequential(with_input=False)) is None
    assert flat_input_width(remove_layers(sequential(), [], input_width=4)) == 4
    assert flat_input_width(remove_layers(branched(), [], input_width=4)) == 4


def test_functional_chain_and_branch_removal():
    x = keras.Input((5,), name="features")
    chain = keras.Model(x, keras.layers.Dense(1, name="out")(keras.layers.Dense(3, name="h")(x)))
    assert layer_names(remove_layers(chain, ["h"])) == ["out"]
    rebuilt = remove_layers(branched(), ["left"])
    assert layer_names(rebuilt) == ["d1", "right", "add", "out"]
    assert [t.name for t in rebuilt.inputs] == ["features"]
    assert rebuilt.predict(np.ones((2, 5), np.float32), verbose=0).shape == (2, 1)


def test_shape_misfit_names_the_layer_the_shape_and_the_rule():
    x = keras.Input((5,))
    merged = keras.layers.Add(name="add")(
        [keras.layers.Dense(4, name="p")(x), keras.layers.Dense(4, name="q")(x)]
    )
    with pytest.raises(
        AblationError, match=r"'add' \(Add\) receives input of shape \[\(None, 5\), \(None, 4\)\]"
    ):
        remove_layers(keras.Model(x, merged), ["p"])
    base = keras.Sequential(
        [
            keras.Input((12,)),
            keras.layers.Reshape((3, 4), name="reshape"),
            keras.layers.Conv1D(2, 2, name="conv"),
            keras.layers.Flatten(name="flat"),
            keras.layers.Dense(1, name="out"),
        ]
    )
    with pytest.raises(
        AblationError, match=r"layer 'conv' \(Conv1D\) receives input of shape \(None, 12\)"
    ) as info:
        remove_layers(base, ["reshape"])
    assert "include_groups" in str(info.value) and "next layer accepts" in str(info.value)
    assert layer_names(remove_layers(base, ["reshape", "conv", "flat"])) == ["out"]  # as a group it works


def test_multi_input_layers_unknown_layers_and_subclassed_models_are_refused():
    with pytest.raises(AblationError, match="'add' .*takes several inputs.*add_custom_model_generator"):
        remove_layers(branched(), ["add"])
    with pytest.raises(AblationError, match=r"has no layer\(s\) \['nope'\]; its layers: \['d1'"):
        remove_layers(sequential(), ["nope"])

    class Sub(keras.Model):
        def __init__(self) -> None:
            super().__init__()
            self.dense = keras.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

    with pytest.raises(AblationError, match="subclassed Sub.*keras.Sequential or the functional API"):
        remove_layers(Sub(), [])
    with pytest.raises(AblationError, match="not a Keras model"):
        remove_layers(object(), [])


def test_nested_models_are_found_for_error_messages():
    inner = keras.Sequential([keras.layers.Dense(3, name="deep")], name="inner")
    x = keras.Input((4,))
    outer = keras.Model(x, keras.layers.Dense(1, name="out")(inner(x)))
    assert layer_names(outer) == ["inner", "out"] and nested_owner(outer, "deep") == "inner"
    assert nested_owner(outer, "absent") is None
