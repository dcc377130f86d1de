"""%%lagom arguments -> lagom() keyword arguments: the pure translation, no shell, no workers."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from maggy import Searchspace
from maggy.ablation import LOCO, AblationStudy
from maggy.optimizer import GridSearch
from maggy.options import LagomOptions
from maggy_jupyter.magics.parse import DEFAULT_OUT, FLAGS, defined_functions, lagom_config, parse_lagom_line

SP = Searchspace(x=("DOUBLE", [0, 1]))


def train(x):
    return x


def other(x):
    return -x


def ns(**extra):
    return {"sp": SP, "train": train, "other": other, **extra}


def test_minimal_cell_form_uses_the_last_function_and_lagom_defaults():
    config = lagom_config("--searchspace sp", ns(), cell_functions=["other", "train"])
    assert config.options == LagomOptions(map_fun=train, name="train", searchspace=SP)
    assert (config.out, config.background, config.fn_name) == (DEFAULT_OUT, False, "train")


def test_every_flag_reaches_its_lagom_keyword():
    line = (
        "--searchspace sp --name exp1 --optimizer gridsearch --num-trials 12 --direction min"
        " --description 'two words' --seed 7 --es-policy none --es-interval 0.5 --es-min 3"
        " --hb-interval 0.25 --num-workers 2 --trial-timeout 30 --max-retries 0 --backend local"
        " --store /tmp/s.db --out res --async"
    )
    config = lagom_config(line, ns(), cell_functions=["train"])
    assert config.options == LagomOptions(
        map_fun=train,
        searchspace=SP,
        name="exp1",
        optimizer="gridsearch",
        num_trials=12,
        direction="min",
        description="two words",
        seed=7,
        es_policy="none",
        es_interval=0.5,
        es_min=3,
        hb_interval=0.25,
        num_workers=2,
        trial_timeout=30.0,
        max_retries=0,
        backend="local",
        store="/tmp/s.db",
    )
    assert config.out == "res" and config.background is True


def test_line_form_takes_the_function_by_name_and_accepts_a_parsed_namespace():
    args = parse_lagom_line("other --searchspace sp")
    config = lagom_config(args, ns())
    assert config.options.map_fun is other and config.options.name == "other"
    assert lagom_config("--fn other --searchspace sp", ns()).options.map_fun is other


def test_fn_flag_overrides_the_cells_last_function():
    config = lagom_config("--fn other --searchspace sp", ns(), cell_functions=["train", "other", "train"])
    assert config.fn_name == "other" and config.options.map_fun is other


def test_variables_can_stand_for_optimizer_policy_and_backend_objects():
    grid, backend = GridSearch(), object()
    config = lagom_config(
        "--searchspace sp --optimizer my_opt --es-policy randomsearch_not --backend my_backend",
        ns(my_opt=grid, randomsearch_not=None, my_backend=backend),
        cell_functions=["train"],
    )
    assert config.options.optimizer is grid and config.options.backend is backend
    assert config.options.es_policy is None


@pytest.mark.parametrize(
    ("line", "namespace", "cell", "fragment"),
    [
        (
            "--searchspace nope",
            ns(),
            ["train"],
            "no searchspace named 'nope'; Searchspace variables in the notebook: sp",
        ),
        (
            "--searchspace nope",
            ns(sp2=SP, _hidden=SP),
            ["train"],
            "Searchspace variables in the notebook: sp, sp2",
        ),
        (
            "--searchspace nope",
            {"train": train},
            ["train"],
            "there is no Searchspace in the notebook yet; declare one with %%searchspace NAME",
        ),
        (
            "--num-trials 3",
            ns(),
            ["train"],
            "--searchspace NAME is required; Searchspace variables in the notebook: sp",
        ),
        ("--searchspace train", ns(), ["train"], "--searchspace 'train' is a function, not a Searchspace"),
        ("--searchspace sp", ns(), [], "the cell defines no function"),
        ("--searchspace sp", ns(), None, "name the training function: %lagom FUNC"),
        ("--fn n --searchspace sp", ns(n=3), [], "'n' is a int, not a function"),
        (
            "trian --searchspace sp",
            ns(),
            None,
            "no function named 'trian' in the notebook; did you mean train?",
        ),
        ("zzz --searchspace sp", ns(), None, "no function named 'zzz' in the notebook; define it first"),
        ("train --fn other --searchspace sp", ns(), None, "two training functions given"),
        (
            "train --searchspace sp --optimizer bayes",
            ns(),
            None,
            "--optimizer 'bayes': unknown optimizer 'bayes'",
        ),
        (
            "train --searchspace sp --es-policy asha",
            ns(),
            None,
            "--es-policy 'asha': unknown es_policy 'asha'",
        ),
        (
            "train --searchspace sp --backend yarn",
            ns(),
            None,
            "--backend 'yarn': use 'local' or 'spark', or the name of a variable",
        ),
        ("train --searchspace sp --out 1x", ns(), None, "--out '1x' is not a valid variable name"),
        ("train --searchspace sp --direction up", ns(), None, "argument --direction: invalid choice: 'up'"),
        (
            "train --searchspace sp --num-trials many",
            ns(),
            None,
            "argument --num-trials: invalid int value: 'many'",
        ),
        ("train --searchspace sp --bogus 1", ns(), None, "unrecognized argument --bogus; %%lagom? lists"),
    ],
)
def test_user_mistakes_raise_usage_errors_that_say_what_to_do(line, namespace, cell, fragment):
    with pytest.raises(UsageError) as info:
        lagom_config(line, namespace, cell_functions=cell)
    assert fragment in str(info.value)


def test_namespace_is_only_read():
    namespace = ns()
    before = dict(namespace)
    lagom_config("--searchspace sp --out r", namespace, cell_functions=["train"])
    assert namespace == before


@pytest.mark.parametrize(
    ("source", "names"),
    [
        ("def a(): pass\ndef b(x): return x\n", ["a", "b"]),
        ("import math\nx = 1\n@staticmethod\ndef deco(): pass\n", ["deco"]),
        ("def outer():\n    def inner(): pass\n    return inner\n", ["outer"]),
        ("class C:\n    def m(self): pass\nf = lambda: 0\n", []),
        ("async def co(): pass\n", []),
        ("", []),
    ],
)
def test_defined_functions_lists_top_level_defs_in_order(source, names):
    assert defined_functions(source) == names


# --ablation NAME [--ablator A]: an AblationStudy instead of a Searchspace.

STUDY = AblationStudy("d", 1, "y")


def ablation_train(dataset_function, model_function, reporter):
    return 0.0


def test_ablation_flag_sets_the_ablation_keywords_with_loco_by_default():
    config = lagom_config(
        "--ablation st --num-workers 2",
        ns(st=STUDY, ablation_train=ablation_train),
        cell_functions=["ablation_train"],
    )
    assert config.options == LagomOptions(
        map_fun=ablation_train,
        name="ablation_train",
        experiment_type="ablation",
        ablation_study=STUDY,
        ablator="loco",
        num_workers=2,
    )


def test_ablator_flag_takes_a_builtin_name_or_a_variable():
    namespace = ns(st=STUDY, mine=LOCO())
    assert lagom_config("train --ablation st --ablator LOCO", namespace).options.ablator == "LOCO"
    assert lagom_config("train --ablation st --ablator mine", namespace).options.ablator is namespace["mine"]


@pytest.mark.parametrize(
    ("line", "namespace", "fragment"),
    [
        (
            "train --ablation st --searchspace sp",
            ns(st=STUDY),
            "give --searchspace NAME (hyperparameter optimization) or --ablation NAME (ablation study), not both",
        ),
        ("train --ablation st --optimizer gridsearch", ns(st=STUDY), "--optimizer is for --searchspace"),
        ("train --searchspace sp --ablator loco", ns(), "--ablator applies to ablation studies"),
        (
            "train --ablation nope",
            ns(st=STUDY, _hidden=STUDY),
            "no ablation study named 'nope'; AblationStudy variables in the notebook: st",
        ),
        (
            "train --ablation nope",
            ns(),
            "there is no AblationStudy in the notebook yet; declare one with %%ablation NAME --dataset D --label L",
        ),
        ("train --ablation sp", ns(), "--ablation 'sp' is a Searchspace, not an AblationStudy"),
        ("train --ablation st --ablator shap", ns(st=STUDY), "--ablator 'shap': unknown ablator 'shap'"),
        ("train --num-trials 2", ns(), "(for an ablation study: --ablation NAME instead)"),
    ],
)
def test_ablation_mistakes_raise_usage_errors(line, namespace, fragment):
    with pytest.raises(UsageError) as info:
        lagom_config(line, namespace)
    assert fragment in str(info.value)


def test_an_ablation_result_summarises_each_components_change():
    from maggy_jupyter.magics.results import LagomResult

    result = LagomResult(
        {
            "experiment_id": "e1",
            "status": "FINISHED",
            "num_trials": 3,
            "duration": 2.0,
            "best_val": 0.9,
            "best_id": 0,
            "best_config": {"ablated": "base"},
            "base_id": 0,
            "base_val": 0.9,
            "deltas": {"feature:a": -0.2, "layer:x": 0.01},
            "most_important": "feature:a",
        },
        out="_lagom",
    )
    text = result.summary()
    assert "base 0.9 (trial 0)" in text and "feature:a -0.2" in text and "layer:x +0.01" in text
    assert "most important: feature:a" in text and "ablated=base" not in text


def test_summary_of_a_failed_experiment_says_why():
    from maggy_jupyter.magics.results import LagomResult

    failure = "all 3 trials failed; first error (trial 0): ValueError: bad"
    result = LagomResult(
        {"experiment_id": "e2", "status": "FAILED", "num_trials": 3, "errors": 3, "failure": failure},
        out="_lagom",
    )
    text = result.summary()
    assert text.startswith("experiment e2: FAILED, 3 trials") and f"failed: {failure}" in text


# ---- the flags are generated from LagomOptions: every option has one, and %%lagom? lists it ----


def test_every_option_has_a_flag_that_lagom_help_lists():
    import dataclasses

    from maggy_jupyter.magics.cells import MaggyMagics

    assert set(FLAGS) == {field.name for field in dataclasses.fields(LagomOptions)}
    parser_flags = {s for action in MaggyMagics.lagom.parser._actions for s in action.option_strings}
    help_text = MaggyMagics.lagom.__doc__
    for name, flag in FLAGS.items():
        assert flag in parser_flags and flag in help_text, (name, flag)


def test_progress_and_listeners_have_flags():
    def listener(event):
        pass

    namespace = ns(mine=[listener])
    config = lagom_config(
        "--searchspace sp --no-progress --listeners mine", namespace, cell_functions=["train"]
    )
    assert config.options.progress is False and config.options.listeners == (listener,)
    assert (
        lagom_config("--searchspace sp --progress", ns(), cell_functions=["train"]).options.progress is True
    )
    with pytest.raises(UsageError, match="--listeners 'nope': no variable named 'nope' in the notebook"):
        lagom_config("--searchspace sp --listeners nope", ns(), cell_functions=["train"])


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        ("--num-trials 0", "num_trials must be a positive int, got 0"),
        ("--hb-interval inf", "hb_interval must be a finite number of seconds, got inf"),
        ("--es-min -1", "es_min must be an int >= 0, got -1"),
        ("--listeners train", "listeners must be a list of callables, each receiving every event"),
    ],
)
def test_bad_option_values_are_usage_errors_before_the_experiment_starts(flags, fragment):
    # Before: these reached lagom() and ended the cell with a ValueError traceback.
    with pytest.raises(UsageError) as info:
        lagom_config(f"--searchspace sp {flags}", ns(), cell_functions=["train"])
    assert fragment in str(info.value)


def test_an_async_training_function_is_a_usage_error():
    async def atrain(x):
        return x

    with pytest.raises(UsageError, match=r"map_fun atrain\(\) is an async function"):
        lagom_config("--searchspace sp", ns(atrain=atrain), cell_functions=["atrain"])


def test_backend_flag_takes_spark_as_lagom_does():
    # Before: the magic refused --backend spark, which lagom(backend='spark') accepts.
    assert lagom_config("train --searchspace sp --backend spark", ns()).options.backend == "spark"


# ---- continuing: --resume ID, --warm-start ID[,ID...], --initial-configs NAME ----


def test_resume_needs_no_searchspace_and_keeps_the_stored_name():
    # Before: "--searchspace NAME is required"; a resume uses the experiment's stored space.
    config = lagom_config("--resume 20261205-1015 --num-trials 20", ns(), cell_functions=["train"])
    assert config.options == LagomOptions(map_fun=train, resume="20261205-1015", num_trials=20)
    # No name: lagom keeps the one the experiment has (the function's name would rename it).
    assert config.options.name == LagomOptions(map_fun=train).name


def test_resume_takes_a_changed_space_optimizer_and_name_when_given():
    config = lagom_config(
        "train --resume abc --searchspace sp --optimizer tpe --name again", ns(), cell_functions=None
    )
    assert config.options.resume == "abc" and config.options.searchspace is SP
    assert (config.options.optimizer, config.options.name) == ("tpe", "again")


@pytest.mark.parametrize(
    "flags",
    [
        "--warm-start a,b,c",
        "--warm-start 'a, b c'",
        '--warm-start "a b" --warm-start c',
        "--warm-start a --warm-start b,c",
    ],
)
def test_warm_start_takes_ids_separated_by_commas_blanks_or_repeated_flags(flags):
    config = lagom_config(f"--searchspace sp {flags}", ns(), cell_functions=["train"])
    assert config.options.warm_start == ("a", "b", "c")


def test_initial_configs_is_a_notebook_variable_holding_params_dicts():
    configs = [{"x": 0.25}, {"x": 0.75}]
    config = lagom_config(
        "--searchspace sp --initial-configs first", ns(first=configs), cell_functions=["train"]
    )
    assert config.options.initial_configs == ({"x": 0.25}, {"x": 0.75})


@pytest.mark.parametrize(
    ("flags", "namespace", "fragment"),
    [
        (
            "--initial-configs nope",
            ns(),
            "--initial-configs 'nope': no variable named 'nope' in the notebook",
        ),
        ("--initial-configs one", ns(one={"x": 0.5}), "initial_configs must be a list of dicts"),
        (
            "--initial-configs bad",
            ns(bad=[0.5]),
            "initial_configs[0] must be a dict of hyperparameter values",
        ),
        ("--resume ''", ns(), "resume must be an experiment id"),
    ],
)
def test_continuing_mistakes_are_usage_errors(flags, namespace, fragment):
    with pytest.raises(UsageError) as info:
        lagom_config(f"--searchspace sp {flags}", namespace, cell_functions=["train"])
    assert fragment in str(info.value)


def test_continuing_flags_are_listed_under_their_heading():
    from maggy_jupyter.magics.cells import MaggyMagics

    help_text = MaggyMagics.lagom.__doc__
    heading = help_text.index("continuing:")
    section = help_text[heading : help_text.index("workers:", heading)]
    for flag in ("--resume ID", "--warm-start <ID[,ID...]>", "--initial-configs NAME"):
        assert flag in section, flag
    assert "required, unless --ablation or --resume, which uses the stored one" in " ".join(help_text.split())


def test_without_searchspace_the_error_mentions_resume():
    with pytest.raises(UsageError, match="--resume ID continues a stored experiment with its own"):
        lagom_config("--num-trials 3", ns(), cell_functions=["train"])


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "--searchspace sp --trials 20",
            "unrecognized argument --trials: did you mean --num-trials?; %%lagom? lists every flag",
        ),
        (
            "--searchspace sp --num_trials=20",
            "unrecognized argument --num_trials: did you mean --num-trials?",
        ),
        (
            "--searchspace sp --trials 20 --searchpsace sp --zzzzzzzz",
            "unrecognized arguments --trials (did you mean --num-trials?), --searchpsace (did you mean "
            "--searchspace?), --zzzzzzzz; %%lagom? lists every flag",
        ),
    ],
)
def test_unknown_flags_get_a_close_match_in_one_line(line, message):
    with pytest.raises(UsageError) as info:
        parse_lagom_line(line)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_what_argparse_accepts_is_not_taken_for_an_unknown_flag():
    args = parse_lagom_line("train --searchspace sp --num-tr 5 --seed -3")
    assert (args.num_trials, args.seed) == (5, -3)  # an unambiguous abbreviation; negative numbers
    args = parse_lagom_line("--searchspace sp --description='--x' -- -train")
    assert (args.description, args.func) == ("'--x'", "-train")  # after --: values only
