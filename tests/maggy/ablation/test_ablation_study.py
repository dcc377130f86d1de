"""Declaring an AblationStudy: the spec's calls, to_dict, and mistakes refused when declared."""

from __future__ import annotations

import pytest

from maggy.ablation import AblationStudy


def base_model_generator():
    raise AssertionError("never built here")


def test_the_spec_walkthrough_declares_as_written():
    study = AblationStudy("titanic_train_dataset", label_name="survived")
    study.features.include("pclass", "fare")
    study.model.layers.include("my_dense_two", "my_dense_three")
    study.model.layers.include_groups(["my_dense_two", "my_dense_four"])
    study.model.layers.include_groups(prefix="my_dense")
    study.model.set_base_model_generator(base_model_generator)
    assert study.to_dict() == {
        "training_dataset_name": "titanic_train_dataset",
        "training_dataset_version": None,
        "label_name": "survived",
        "included_features": ["pclass", "fare"],
        "included_layers": ["my_dense_two", "my_dense_three"],
        "included_groups": [["my_dense_two", "my_dense_four"], "my_dense*"],
        "custom_models": [],
        "base_model_generator": "base_model_generator",
        "custom_dataset_generator": False,
    }
    assert "included_features=['pclass', 'fare']" in repr(study)


def test_lists_and_repeats_and_exclude_counterparts():
    study = AblationStudy("d", 2, "y")
    study.features.include(["a", "b"], "c", "a")
    study.features.exclude("b")
    assert study.features.list_all() == ["a", "c"] == study.features.included_features
    layers = study.model.layers
    layers.include(["l1", "l2"], "l3")
    layers.exclude(["l1"])
    layers.include_groups(["l1", "l2"], ("l3", "l4"), prefix="p")
    layers.include_groups(["l2", "l1"], prefix="p")  # the same group again: once
    assert layers.list_all() == ["l2", "l3"]
    assert layers.list_all_groups() == [["l1", "l2"], ["l3", "l4"], "p*"]
    layers.exclude_groups(["l2", "l1"], prefix="p")
    assert layers.list_all_groups() == [["l3", "l4"]]
    study.model.add_custom_model_generator(base_model_generator, "small")
    study.model.add_custom_model_generator(lambda: None, "big")
    study.model.remove_custom_model_generator("small")
    assert study.to_dict()["custom_models"] == ["big"]
    assert study.to_dict()["training_dataset_version"] == 2


@pytest.mark.parametrize(
    ("declare", "message"),
    [
        (lambda s: s.features.include("survived"), "'survived' is the label"),
        (lambda s: s.features.include(3), "non-empty strings"),
        (lambda s: s.features.include(""), "non-empty strings"),
        (lambda s: s.features.exclude("never"), "feature 'never' is not included"),
        (lambda s: s.model.layers.exclude("never"), "layer 'never' is not included"),
        (lambda s: s.model.layers.include_groups(["only_one"]), "at least two different layers"),
        (lambda s: s.model.layers.include_groups(["same", "same"]), "at least two different layers"),
        (lambda s: s.model.layers.include_groups("a_string"), "a layer group is a list"),
        (lambda s: s.model.layers.include_groups(), "needs a list of layer names, or prefix"),
        (lambda s: s.model.layers.include_groups(prefix=""), "prefix must be a non-empty string"),
        (lambda s: s.model.layers.exclude_groups(["x", "y"]), "no included group"),
        (lambda s: s.model.layers.exclude_groups(prefix="x"), "prefix 'x' is not included"),
        (lambda s: s.model.set_base_model_generator("not callable"), "must be a function"),
        (lambda s: s.model.set_base_model_generator(lambda size: None), "must take no arguments"),
        (lambda s: s.model.add_custom_model_generator(lambda: None, ""), "model_identifier"),
        (lambda s: s.model.remove_custom_model_generator("x"), "no custom model 'x'"),
        (
            lambda s: s.set_dataset_generator(lambda epochs: None),
            "arguments \\(ablated_feature, epochs, batch_size\\)",
        ),
    ],
)
def test_mistakes_are_refused_when_declared(declare, message):
    study = AblationStudy("d", 1, "survived")
    with pytest.raises((ValueError, TypeError), match=message):
        declare(study)


def test_duplicate_custom_model_identifiers_and_bad_constructor_arguments():
    study = AblationStudy("d", label_name="y")
    study.model.add_custom_model_generator(lambda: None, "m")
    with pytest.raises(ValueError, match="'m' is already added"):
        study.model.add_custom_model_generator(lambda: None, "m")
    with pytest.raises(ValueError, match="label_name must name the label column"):
        AblationStudy("d", 1)
    with pytest.raises(ValueError, match="training_dataset_version must be an int >= 1"):
        AblationStudy("d", 0, "y")
    with pytest.raises(ValueError, match="training_dataset_name must be a non-empty string"):
        AblationStudy("", 1, "y")
    with pytest.raises(TypeError, match=r"unknown keyword argument\(s\) \['shuffle'\]"):
        AblationStudy("d", 1, "y", shuffle=True)


def test_a_custom_dataset_generator_is_taken_by_keyword_or_setter():
    def gen(ablated_feature, epochs, batch_size):
        return None

    study = AblationStudy("d", 1, "y", dataset_generator=gen)
    assert study.custom_dataset_generator is gen and study.to_dict()["custom_dataset_generator"]
    study.set_dataset_generator(None)
    assert study.custom_dataset_generator is None
