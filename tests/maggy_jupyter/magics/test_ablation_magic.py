"""%%ablation and %%lagom --ablation in a real (in-process) IPython shell.

IPython.testing.globalipapp runs magics in-process in milliseconds; the one test that runs a real
LOCO ablation (worker processes, TensorFlow) is marked integration and tf. MAGGY_HOME, and with it
the dataset catalog and the experiment store, is a fresh directory per test (tests/conftest.py).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.testing import globalipapp

from maggy import datasets
from maggy.ablation import AblationStudy
from maggy.store import open_store
from maggy_jupyter.magics.results import LagomResult

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quiet TensorFlow in the workers this test starts

# Defined in the notebook namespace (ip.run_cell) like a user's cell; the workers get them pickled.
MODEL_CELL = """
def tiny_model():
    import keras

    return keras.Sequential(
        [
            keras.layers.Dense(8, activation="relu", name="hidden_1"),
            keras.layers.Dense(8, activation="relu", name="hidden_2"),
            keras.layers.Dense(1, activation="sigmoid", name="out"),
        ]
    )

def linear_model():
    import keras

    return keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
"""

TRAIN = """
def train(dataset_function, model_function, reporter):
    import keras

    model = model_function()
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(dataset_function(1, 32), epochs=6, verbose=0)
    return float(history.history["accuracy"][-1])
"""

STUDY_BODY = """
features: signal          # the label is the sign of 'signal'
layers:   hidden_2
base model: tiny_model
"""


@pytest.fixture
def ip():
    shell = globalipapp.get_ipython()  # the module attribute: start_ipython() rebinds it after the first call
    shell.run_line_magic("load_ext", "maggy_jupyter")
    before = set(shell.user_ns)
    yield shell
    for name in set(shell.user_ns) - before:
        del shell.user_ns[name]


@pytest.fixture
def models(ip):
    """tiny_model and linear_model defined in the notebook namespace, as a user's cell would."""
    assert ip.run_cell(MODEL_CELL).success
    return ip


def test_load_ext_registers_ablation_with_its_help(ip):
    assert "ablation" in ip.magics_manager.magics["cell"]
    doc = ip.find_cell_magic("ablation").__doc__
    assert "--dataset D [--version V] --label L NAME" in doc  # the usage magic_arguments appends
    assert "group prefix: my_dense" in doc and "%%lagom --ablation study" in doc
    lagom_doc = ip.find_cell_magic("lagom").__doc__
    assert "--ablation NAME" in lagom_doc and "--ablator ABLATOR" in lagom_doc
    assert "variable holding an AblationStudy (%%ablation)" in lagom_doc  # argparse's '%' escaping


def test_ablation_cell_binds_the_declared_study(models):
    ip = models
    ip.user_ns["ds"] = "titanic"
    body = (
        "features: pclass, fare\n"
        "layers: my_dense_two, my_dense_three\n"
        "group: my_dense_two, my_dense_four\n"
        "group prefix: my_dense\n"
        "base model: tiny_model\n"
        "custom model: linear = linear_model\n"
    )
    assert ip.run_cell_magic("ablation", "study --dataset {ds} --version 2 --label 'survived'", body) is None
    study = ip.user_ns["study"]
    assert isinstance(study, AblationStudy)
    assert study.to_dict() == {
        "training_dataset_name": "titanic",
        "training_dataset_version": 2,
        "label_name": "survived",
        "included_features": ["pclass", "fare"],
        "included_layers": ["my_dense_two", "my_dense_three"],
        "included_groups": [["my_dense_two", "my_dense_four"], "my_dense*"],
        "custom_models": ["linear"],
        "base_model_generator": "tiny_model",
        "custom_dataset_generator": False,
    }
    assert study.model.base_model_generator is ip.user_ns["tiny_model"]


@pytest.mark.parametrize(("flag", "version"), [("", None), ("--version latest", None), ("--version 3", 3)])
def test_ablation_version_defaults_to_the_latest(ip, flag, version):
    ip.run_cell_magic("ablation", f"st --dataset d --label y {flag}", "# declared later, in Python")
    assert ip.user_ns["st"].training_dataset_version == version


def test_ablation_cell_errors_name_the_line_and_bind_nothing(models):
    ip = models
    body = "features: a\nlayrs: b\n\nbase model: tiny_modl\nfeatures: y"
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("ablation", "st --dataset d --label y", body)
    message = str(info.value)
    assert message.startswith(
        "%%ablation st:\nline 2: 'layrs: b': unknown key 'layrs'; did you mean 'layers'?"
    )
    assert (
        "\nline 4: 'base model: tiny_modl': no 'tiny_modl' in the notebook; did you mean tiny_model"
        in message
    )
    assert "\nline 5: 'features: y': 'y' is the label (label_name)" in message
    assert "st" not in ip.user_ns


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("st --label y", "the following arguments are required: --dataset"),
        ("st --dataset d", "the following arguments are required: --label"),
        ("--dataset d --label y", "the following arguments are required: NAME"),
        ("1st --dataset d --label y", "'1st' is not a valid variable name"),
        ("st --dataset d --label y --version 0", "0 is not a version: versions start at 1"),
        ("st --dataset d --label y --version new", "'new' is not a version: give 1, 2, ... or 'latest'"),
        ("st --dataset '' --label y", "%%ablation st: training_dataset_name must be a non-empty string"),
    ],
)
def test_ablation_line_mistakes_are_usage_errors(ip, line, fragment):
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("ablation", line, "features: a")
    assert fragment in str(info.value)
    assert "st" not in ip.user_ns


def test_lagom_ablation_flag_checks_the_study_before_running(ip):
    ip.run_cell_magic("searchspace", "sp", "x: DOUBLE [0, 1]")
    ip.run_cell_magic("ablation", "st --dataset d --label y", "features: a")
    train = "def train(dataset_function, model_function):\n    return 0.0\n"
    with pytest.raises(UsageError, match="--ablation 'sp' is a Searchspace, not an AblationStudy"):
        ip.run_cell_magic("lagom", "--ablation sp", train)
    with pytest.raises(UsageError, match="not both"):
        ip.run_cell_magic("lagom", "--ablation st --searchspace sp", train)
    # lagom's own check of the study (no base model), before any worker starts:
    # one line, as every mistake the magic reports (the study's problems joined by ';').
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("lagom", "--ablation st", train)
    message = str(info.value)
    assert (
        message.startswith("the ablation study cannot run: no dataset 'd' in the catalog")
        and "\n" not in message
    )
    assert "; no base model generator: set one with" in message
    assert "_lagom" not in ip.user_ns


@pytest.mark.tf
@pytest.mark.integration
@pytest.mark.timeout(300)
def test_ablation_cell_then_lagom_runs_a_real_loco_ablation(models):
    pytest.importorskip("tensorflow")
    ip = models
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"signal": rng.normal(size=256), "noise": rng.normal(size=256)})
    df["label"] = (df.signal > 0).astype(int)
    datasets.register("magic_toy", df, version=1)

    ip.run_cell_magic("ablation", "study --dataset magic_toy --version 1 --label label", STUDY_BODY)
    result = ip.run_cell_magic("lagom", "--ablation study --num-workers 2 --hb-interval 0.2 --out abl", TRAIN)

    assert isinstance(result, LagomResult) and ip.user_ns["abl"] is result
    assert callable(ip.user_ns["train"])  # the body ran in the notebook namespace
    assert result["status"] == "FINISHED" and result["num_trials"] == 3 and result["errors"] == 0
    assert [row["ablated"] for row in result["ablations"]] == ["base", "feature:signal", "layer:hidden_2"]
    assert set(result["deltas"]) == {"feature:signal", "layer:hidden_2"}
    assert result["base_val"] > 0.8  # the base model learns the sign of 'signal' ...
    assert result["deltas"]["feature:signal"] < -0.2  # ... and cannot without it
    assert result["most_important"] == "feature:signal"
    with open_store() as store:
        record = store.get_experiment(result["experiment_id"])
    assert record.experiment_type == "ablation" and record.optimizer == "LOCO" and record.name == "train"
