"""The %%ablation body syntax: table-driven, pure (no IPython shell, no TensorFlow)."""

from __future__ import annotations

import types

import pytest

from maggy.ablation import AblationStudy
from maggy_jupyter.magics.ablation_syntax import (
    BASE_MODEL,
    CUSTOM_MODEL,
    FEATURES,
    GROUP,
    GROUP_PREFIX,
    AblationLine,
    AblationSyntaxError,
    apply_lines,
    build_study,
    parse_lines,
    parse_names,
    resolve_reference,
)


def base_model_generator():
    return "base"


def small_model():
    return "small"


def make_dataset(ablated_feature, epochs, batch_size):
    return None


MODELS = types.SimpleNamespace(wide=small_model)
NS = {
    "base_model_generator": base_model_generator,
    "small_model": small_model,
    "make_dataset": make_dataset,
    "models": MODELS,
    "n": 3,
}


def study_of(body: str) -> dict:
    """The declared parts of the study ``body`` builds (dataset 'd', label 'survived')."""
    study = build_study(body, NS, "d", 1, "survived")
    d = study.to_dict()
    return {
        "features": d["included_features"],
        "layers": d["included_layers"],
        "groups": d["included_groups"],
        "custom": {k: v.__name__ for k, v in study.model.custom_model_generators.items()},
        "base": d["base_model_generator"],
        "dataset_generator": getattr(study.custom_dataset_generator, "__name__", None),
    }


EMPTY = {"features": [], "layers": [], "groups": [], "custom": {}, "base": None, "dataset_generator": None}

VALID = [
    # (body, the parts of the study that differ from EMPTY)
    ("features: pclass, fare", {"features": ["pclass", "fare"]}),
    ("feature: pclass", {"features": ["pclass"]}),
    ("features: pclass\nfeatures: fare, pclass", {"features": ["pclass", "fare"]}),
    ("layers: my_dense_two, my_dense_three", {"layers": ["my_dense_two", "my_dense_three"]}),
    ("layer: [my_dense_two]", {"layers": ["my_dense_two"]}),
    ("group: my_dense_two, my_dense_four", {"groups": [["my_dense_two", "my_dense_four"]]}),
    ("group: a, b\ngroup: b, a", {"groups": [["a", "b"]]}),  # same layers, any order: one group
    ("group prefix: my_dense", {"groups": ["my_dense*"]}),
    ("prefix: my_dense", {"groups": ["my_dense*"]}),
    ("group: a, b\ngroup prefix: c", {"groups": [["a", "b"], "c*"]}),
    ("base model: base_model_generator", {"base": "base_model_generator"}),
    ("Base_Model: base_model_generator", {"base": "base_model_generator"}),
    ("base-model-generator: base_model_generator", {"base": "base_model_generator"}),
    ("custom model: small = small_model", {"custom": {"small": "small_model"}}),
    ("custom model: 'a = b' = small_model", {"custom": {"a = b": "small_model"}}),
    ("custom model: small_model", {"custom": {"small_model": "small_model"}}),
    ("custom model: models.wide", {"custom": {"wide": "small_model"}}),
    ("custom model: w = models . wide", {"custom": {"w": "small_model"}}),
    ("dataset generator: make_dataset", {"dataset_generator": "make_dataset"}),
    ("features: 'a, b', \"c#d\", e f", {"features": ["a, b", "c#d", "e f"]}),
    ("features: 1e3, True", {"features": ["1e3", "True"]}),  # names stay text, never numbers
    ("features: pclass  # the rest is a comment, fare", {"features": ["pclass"]}),
    ("# only\n\n   # indented comment\nlayers: x\n", {"layers": ["x"]}),
    ("", {}),  # the bare study: the Python API can still fill it, lagom checks the base model
    (
        "features: pclass, fare\n"
        "layers: my_dense_two, my_dense_three\n"
        "group: my_dense_two, my_dense_four\n"
        "group prefix: my_dense\n"
        "base model: base_model_generator\n",
        {
            "features": ["pclass", "fare"],
            "layers": ["my_dense_two", "my_dense_three"],
            "groups": [["my_dense_two", "my_dense_four"], "my_dense*"],
            "base": "base_model_generator",
        },
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), VALID, ids=[b.strip().replace("\n", " | ") or "empty" for b, _ in VALID]
)
def test_valid_body_builds_the_study(body, expected):
    assert study_of(body) == {**EMPTY, **expected}


def test_the_study_has_the_dataset_and_the_namespace_functions_themselves():
    study = build_study(
        "base model: base_model_generator\ndataset generator: make_dataset", NS, "titanic", None, "y"
    )
    assert isinstance(study, AblationStudy)
    assert (study.training_dataset_name, study.training_dataset_version, study.label_name) == (
        "titanic",
        None,
        "y",
    )
    assert study.model.base_model_generator is base_model_generator
    assert study.custom_dataset_generator is make_dataset


INVALID = [
    # (body, line number, fragment of the message)
    ("features pclass", 1, "missing ':' after the key"),
    ("layrs: a", 1, "unknown key 'layrs'; did you mean 'layers'? use one of features, layers, group"),
    ("colour: red", 1, "unknown key 'colour'; use one of features"),
    ("features:", 1, "features needs one or more names"),
    ("layers: []", 1, "layers needs one or more names"),
    ("features: a,,b", 1, "empty name"),
    ("features: a,", 1, "empty name"),
    ("features: [a, b", 1, "missing ']'"),
    ("features: a, b]", 1, "missing '['"),
    ("features: a, [b], c", 1, "unexpected '['"),
    ("features: 'a, b", 1, "unclosed quote"),
    ("features: ''", 1, "malformed quoted name"),
    ("features: a = b", 1, "unexpected '='"),
    ("group prefix:", 1, "group prefix takes one prefix, e.g."),
    ("group prefix: a, b", 1, "write one 'group prefix:' line per prefix"),
    ("base model:", 1, "base model needs the name of a function"),
    ("base model: a, b", 1, "base model takes one function name"),
    ("base model: base_model_generator()", 1, "is not a Python name; write the name of a function"),
    ("base model: lambda", 1, "'lambda' is not a Python name"),
    ("custom model: = small_model", 1, "custom model needs one identifier before '='"),
    ("custom model: a, b = small_model", 1, "custom model needs one identifier before '='"),
    ("custom model: small =", 1, "custom model needs the name of a function"),
    # the namespace:
    (
        "base model: base_model_generatr",
        1,
        "no 'base_model_generatr' in the notebook; did you mean base_model_generator?",
    ),
    ("base model: zzz", 1, "no 'zzz' in the notebook; define it in an earlier cell"),
    ("custom model: models.narrow", 1, "'models' has no attribute 'narrow'"),
    ("base model: base_model_generator\n\nbase_model: small_model", 3, "base model is already set on line 1"),
    (
        "dataset generator: make_dataset\ndataset generator: make_dataset",
        2,
        "dataset generator is already set on line 1",
    ),
    # AblationStudy's own validation, with the line it comes from:
    ("features: pclass, survived", 1, "'survived' is the label (label_name)"),
    ("group: my_dense_two", 1, "a layer group needs at least two different layers"),
    ("group: a, a", 1, "a layer group needs at least two different layers"),
    ("base model: n", 1, "the base model generator must be a function, got int"),
    (
        "custom model: s = small_model\ncustom model: s = base_model_generator",
        2,
        "a custom model named 's' is already added",
    ),
    (
        "dataset generator: small_model",
        1,
        "the dataset generator must take the arguments (ablated_feature, epochs, batch_size)",
    ),
    ("base model: make_dataset", 1, "the base model generator must take no arguments"),
]


@pytest.mark.parametrize(
    ("body", "lineno", "fragment"), INVALID, ids=[b.replace("\n", " | ") for b, _, _ in INVALID]
)
def test_invalid_line_is_named_with_its_number_text_and_problem(body, lineno, fragment):
    with pytest.raises(AblationSyntaxError) as info:
        build_study(body, NS, "d", 1, "survived")
    [(got_lineno, line, message)] = info.value.problems
    assert got_lineno == lineno and line == body.splitlines()[lineno - 1]
    assert fragment in message
    assert str(info.value).startswith(f"line {lineno}: {line.strip()!r}: ")


def test_every_bad_line_is_reported_at_once_in_line_order():
    body = "features: survived\nlayers: ok\nbase model zzz\ngroup: a\nbase model: nope\nfeatures: fine"
    with pytest.raises(AblationSyntaxError) as info:
        build_study(body, NS, "d", 1, "survived")
    assert [p[0] for p in info.value.problems] == [1, 3, 4, 5]  # syntax and study problems interleaved
    assert str(info.value).count("\n") == 3


@pytest.mark.parametrize(
    ("args", "error", "fragment"),
    [
        (("", 1, "y"), ValueError, "training_dataset_name must be a non-empty string"),
        (("d", 0, "y"), ValueError, "training_dataset_version must be an int >= 1"),
        (("d", 1, None), ValueError, "label_name must name the label column"),
    ],
)
def test_study_arguments_raise_ablationstudys_own_errors_unchanged(args, error, fragment):
    with pytest.raises(error, match=fragment) as info:
        build_study("features: a", NS, *args)
    assert not isinstance(info.value, AblationSyntaxError)  # not a line of the body


def test_parse_lines_checks_syntax_only_and_keeps_where_each_line_is():
    lines = parse_lines(
        "# study\nfeatures: a, b\ngroup prefix: p   # note\nbase model: not_defined_anywhere\ncustom model: m.f"
    )
    assert lines == [
        AblationLine(2, "features: a, b", FEATURES, ("a", "b")),
        AblationLine(3, "group prefix: p   # note", GROUP_PREFIX, ("p",)),
        AblationLine(4, "base model: not_defined_anywhere", BASE_MODEL, ("not_defined_anywhere",)),
        AblationLine(5, "custom model: m.f", CUSTOM_MODEL, ("m.f",), identifier="f"),
    ]
    with pytest.raises(AblationSyntaxError) as info:
        parse_lines("group: a, b\nfeatures a")
    assert [p[0] for p in info.value.problems] == [2]


def test_apply_lines_reports_problems_and_only_reads_the_namespace():
    study = AblationStudy("d", 1, "survived")
    namespace = dict(NS)
    problems = apply_lines(
        [
            AblationLine(1, "group: a, b", GROUP, ("a", "b")),
            AblationLine(2, "base model: q", BASE_MODEL, ("q",)),
        ],
        study,
        namespace,
    )
    assert problems == [(2, "base model: q", "no 'q' in the notebook; define it in an earlier cell")]
    assert study.model.layers.list_all_groups() == [["a", "b"]]  # the good line still applied
    assert namespace == NS


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("a, b", ["a", "b"]),
        ("[a, b]", ["a", "b"]),
        ("  ", []),
        ("[]", []),
        ("'x, y', z", ["x, y", "z"]),
        ("leaky relu", ["leaky relu"]),
        ("'it\\'s'", ["it's"]),
        ("3, 4.0", ["3", "4.0"]),
    ],
)
def test_parse_names(text, names):
    assert parse_names(text) == names


def test_resolve_reference_follows_dotted_attributes():
    assert resolve_reference("small_model", NS) is small_model
    assert resolve_reference("models.wide", NS) is small_model
    with pytest.raises(LookupError, match="no 'modls' in the notebook; did you mean models"):
        resolve_reference("modls.wide", NS)
    with pytest.raises(LookupError, match="'models.wide' has no attribute 'x'"):
        resolve_reference("models.wide.x", NS)
