"""From a study to LOCO trials: checks against the real dataset and Keras model, before any worker."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

keras = pytest.importorskip("keras")

from maggy import datasets, experiment  # noqa: E402
from maggy.ablation import LOCO, AblationError, AblationStudy, AbstractAblator  # noqa: E402
from maggy.ablation.prepare import prepare_ablation  # noqa: E402
from maggy.ablation.resolve import AblationTrial, resolve_study  # noqa: E402
from maggy.optimizer import FINISHED  # noqa: E402
from maggy.store import open_store  # noqa: E402
from maggy.trial import Trial, TrialState  # noqa: E402

pytestmark = pytest.mark.tf


@pytest.fixture(autouse=True)
def toy_dataset():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.random(50), "b": rng.random(50), "c": rng.integers(0, 3, 50)})
    df["y"] = (df.a > 0.5).astype(int)
    datasets.register("toy", df, version=1)
    datasets.register("toy", df.assign(text="x"), version=2)


def dense_chain():
    return keras.Sequential(
        [
            keras.layers.Dense(4, name="h1"),
            keras.layers.Dense(4, name="h2"),
            keras.layers.Dense(4, name="h3"),
            keras.layers.Dense(1, name="out"),
        ]
    )


def with_input():
    return keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(4, name="h1"), keras.layers.Dense(1, name="out")]
    )


def train(dataset_function, model_function, reporter):
    return 0.0


def full_study() -> AblationStudy:
    study = AblationStudy("toy", 1, "y")
    study.features.include("a", "b")
    study.model.layers.include("h2")
    study.model.layers.include_groups(["h1", "h3"], prefix="h")
    study.model.set_base_model_generator(dense_chain)
    study.model.add_custom_model_generator(with_input, "tiny")
    return study


def test_loco_plans_base_then_every_component_kind_in_order():
    resolved = resolve_study(full_study())
    assert resolved.feature_columns == ("a", "b", "c") and resolved.groups == (
        ("h1+h3", ("h1", "h3")),
        ("h*", ("h1", "h2", "h3")),
    )
    loco = LOCO()
    plan = loco.prepare(resolved)
    assert [t.label for t in plan] == [
        "base",
        "feature:a",
        "feature:b",
        "layer:h2",
        "group:h1+h3",
        "group:h*",
        "model:tiny",
    ]
    assert plan[4] == AblationTrial("group", "h1+h3", ("h1", "h3")) and plan[1].feature == "a"
    loco.setup(None, 1, "max", np.random.default_rng(0))
    assert loco.planned_trials() == loco.get_number_of_trials() == 7
    assert [loco.suggest() for _ in range(7)] == [{"ablated": t.label} for t in plan]
    assert loco.suggest() is FINISHED


def test_a_resumed_ablation_skips_the_components_it_ran():
    loco = LOCO()
    loco.prepare(resolve_study(full_study()))
    loco.setup(None, 1, "max", np.random.default_rng(0))
    ran = [
        Trial(0, {"ablated": "base"}, state=TrialState.FINISHED, metric=0.9),
        Trial(1, {"ablated": "feature:a"}, state=TrialState.LOST),  # run again by its rerun
        Trial(2, {"ablated": "layer:h2"}, state=TrialState.ERROR),
    ]
    loco.warm_start(ran)
    assert loco.planned_trials() == 7
    rest = [loco.suggest() for _ in range(4)]
    assert rest == [{"ablated": label} for label in ("feature:b", "group:h1+h3", "group:h*", "model:tiny")]
    assert loco.suggest() is FINISHED


def test_prepare_wraps_the_function_and_names_the_trials_in_the_searchspace():
    wrapped, space, ablator = prepare_ablation(train, full_study(), "LOCO", None, None)
    assert isinstance(ablator, LOCO) and ablator.ablation_study is not None
    assert space.names() == {"ablated": "CATEGORICAL"} and space.ablated[0] == "base"
    assert wrapped.__name__ == "train" and set(wrapped.trials) == set(space.ablated)


def test_every_problem_is_reported_at_once_with_what_to_change():
    study = AblationStudy("toy", 1, "y")
    study.features.include("a", "nope")
    study.model.layers.include("h2", "missing")
    study.model.layers.include_groups(prefix="zz")
    study.model.layers.include_groups(prefix="ou")
    study.model.set_base_model_generator(dense_chain)
    with pytest.raises(ValueError) as info:
        resolve_study(study)
    text = str(info.value)
    assert "feature(s) ['nope'] are not columns of dataset 'toy' v1; its features: ['a', 'b', 'c']" in text
    assert "the base model has no layer 'missing'; its layers: ['h1', 'h2', 'h3', 'out']" in text
    assert "prefix 'zz' matches no layer" in text
    assert "prefix 'ou' matches only layer 'out'" in text and "include('out')" in text


def five_wide():
    return keras.Sequential([keras.Input((5,)), keras.layers.Dense(1, name="out")])


@pytest.mark.parametrize(
    ("study_args", "base", "layer", "message"),
    [
        (("toy", 1, "y"), None, None, "no base model generator: set one with"),
        (("absent", 1, "y"), dense_chain, None, "no dataset 'absent'.*register it first"),
        (("toy", 7, "y"), dense_chain, None, r"has version\(s\) \[1, 2\], not 7"),
        (("toy", 1, "label"), dense_chain, None, "label_name 'label' is not a column"),
        (
            ("toy", None, "y"),
            dense_chain,
            None,
            r"column\(s\) \['text'\] of dataset 'toy' v2 are not numeric",
        ),
        (("toy", 1, "y"), five_wide, None, "input is 5 wide but dataset_function yields 3 features"),
        (("toy", 1, "y"), lambda: 42, "h1", "returned a int; layer ablation needs a Keras model"),
    ],
)
def test_bad_studies_are_refused_before_any_trial(study_args, base, layer, message):
    study = AblationStudy(*study_args)
    if base is not None:
        study.model.set_base_model_generator(base)
    if layer is not None:
        study.model.layers.include(layer)
    with pytest.raises(ValueError, match=message):
        resolve_study(study)


def test_a_removal_that_breaks_shapes_fails_in_the_driver():
    study = AblationStudy("toy", 1, "y")
    study.model.layers.include("reshape")
    study.model.set_base_model_generator(
        lambda: keras.Sequential(
            [
                keras.Input((3,)),
                keras.layers.Reshape((3, 1), name="reshape"),
                keras.layers.Conv1D(1, 2, name="conv"),
            ]
        )
    )
    with pytest.raises(AblationError, match="cannot ablate layer 'reshape'.*layer 'conv'"):
        resolve_study(study)


def test_flat_input_models_get_narrowed_for_feature_trials():
    study = AblationStudy("toy", 1, "y")
    study.features.include("a")
    study.model.set_base_model_generator(with_input)
    assert resolve_study(study).adjust_input
    study.model.set_base_model_generator(dense_chain)
    assert not resolve_study(study).adjust_input


def test_a_custom_dataset_generator_makes_the_catalog_optional():
    def gen(ablated_feature, epochs, batch_size):
        return None

    study = AblationStudy("not_registered", 1, "y", dataset_generator=gen)
    study.features.include("anything")
    study.model.set_base_model_generator(dense_chain)
    resolved = resolve_study(study)
    assert resolved.entry is None and resolved.features == ("anything",) and not resolved.adjust_input
    registered = AblationStudy("toy", 1, "y", dataset_generator=gen)
    registered.features.include("zzz")
    registered.model.set_base_model_generator(dense_chain)
    with pytest.raises(ValueError, match=r"feature\(s\) \['zzz'\]"):  # a known dataset is still checked
        resolve_study(registered)


def test_ablator_and_function_mistakes():
    study = full_study()
    with pytest.raises(ValueError, match="drop searchspace= and optimizer="):
        prepare_ablation(train, study, "loco", {"x": ("DOUBLE", [0, 1])}, None)
    with pytest.raises(
        ValueError,
        match=r"train_x\(\) must take \(dataset_function, model_function, reporter\).*\['model_function'\]",
    ):

        def train_x(dataset_function, reporter):
            return 0

        prepare_ablation(train_x, study, "loco", None, None)
    with pytest.raises(ValueError, match=r"also needs \['lr'\]"):
        prepare_ablation(lambda dataset_function, model_function, lr: 0, study, "loco", None, None)
    with pytest.raises(ValueError, match="unknown ablator 'shap'"):
        prepare_ablation(train, study, "shap", None, None)
    with pytest.raises(TypeError, match="ablator must be 'loco'"):
        prepare_ablation(train, study, 3, None, None)
    with pytest.raises(ValueError, match="needs ablation_study=AblationStudy"):
        prepare_ablation(train, None, "loco", None, None)

    class OnlyBase(AbstractAblator):
        def plan_trials(self, resolved):
            return [AblationTrial("base")]

    assert prepare_ablation(train, study, OnlyBase, None, None)[2].planned_trials() == 1


def test_lagom_refuses_a_bad_study_before_registering_or_starting_anything(tmp_path):
    study = AblationStudy("toy", 1, "y")
    study.model.layers.include("missing")
    study.model.set_base_model_generator(dense_chain)
    with pytest.raises(ValueError, match="the base model has no layer 'missing'"):
        experiment.lagom(
            train,
            experiment_type="ablation",
            ablation_study=study,
            ablator="loco",
            store=str(tmp_path / "s.db"),
        )
    assert open_store(str(tmp_path / "s.db")).list_experiments() == []


@pytest.mark.integration
def test_an_ablation_resumes_its_lost_component_and_refuses_a_changed_study(tmp_path):
    store = str(tmp_path / "s.db")
    args = {"experiment_type": "ablation", "ablator": "loco", "store": store, "progress": False}
    eid = experiment.lagom(train, ablation_study=full_study(), **args)["experiment_id"]
    with open_store(store) as s:  # a worker died on layer:h2 and the kernel with it
        trials = s.get_trials(eid)
        lost = next(t for t in trials if t.params["ablated"] == "layer:h2")
        lost.state = TrialState.LOST
        s.save_trial(eid, lost)
        s.finish_experiment(eid, "FAILED", lost.end or 0.0, None)
    changed = full_study()
    changed.features.include("c")
    with pytest.raises(ValueError, match="ablation study differs"):
        experiment.lagom(train, ablation_study=changed, resume=eid, **args)
    result = experiment.lagom(train, ablation_study=full_study(), resume=eid, **args)
    assert result["status"] == "FINISHED"
    with open_store(store) as s:
        after = s.get_trials(eid)
    assert (
        len(after) == 8 and after[7].retry_of == lost.trial_id and after[7].params == {"ablated": "layer:h2"}
    )
    finished = sorted(t.params["ablated"] for t in after if t.state is TrialState.FINISHED)
    assert finished == sorted({t.params["ablated"] for t in trials})  # each component once
