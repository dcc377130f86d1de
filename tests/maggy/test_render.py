"""``maggy.render``: experiments as text, the same for the command line and the notebook."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from maggy import render
from maggy.store import ExperimentRecord, TrialSummary
from maggy.trial import Trial, TrialState


def _record(**kw: object) -> ExperimentRecord:
    fields = dict(
        experiment_id="20260101-000000-aaaaaa",
        name="a-rather-long-experiment-name-indeed",
        description="",
        experiment_type="optimization",
        searchspace={"lr": ["DOUBLE", [0.001, 0.1]]},
        optimizer="asha",
        direction="max",
        num_trials=4,
        config={"hb_interval": 1},
        status="FINISHED",
        start=1_700_000_000.0,
        end=1_700_000_100.0,
        result={"best_val": 0.9},
    )
    fields.update(kw)
    return ExperimentRecord(**fields)  # type: ignore[arg-type]


TRIALS = [
    Trial(0, {"lr": 0.01}, TrialState.FINISHED, 0.8, start=1.0, end=2.0, budget=1.0),
    Trial(1, {"lr": 0.02}, TrialState.EARLY_STOPPED, 0.9, start=1.0, end=3.5),
    Trial(2, {"lr": 0.03}, TrialState.RUNNING, start=1.0),
]


@pytest.mark.parametrize(("seconds", "text"), [(None, "-"), (4.25, "4.2s"), (185, "3m05s"), (7620, "2h07m")])
def test_durations(seconds: float | None, text: str) -> None:
    assert render.fmt_duration(seconds) == text


def test_table_aligns_by_visible_width_and_colour_is_asked_for() -> None:
    red = render.status_text("FAILED", colour=True)
    assert red == "\x1b[31mFAILED\x1b[0m" and render.status_text("FAILED") == "FAILED"
    assert render.status_text("RUNNING", colour=True) == "RUNNING"  # no colour of its own
    lines = render.table(["A", "STATUS", "B"], [["1", red, "x"], ["22", "OK", "y"]]).splitlines()
    assert lines[1].replace("\x1b[31m", "").replace("\x1b[0m", "").index("x") == lines[0].index("B")
    assert not render.wants_colour(io.StringIO())


def test_listing_row_picks_columns_and_names_unknown_ones() -> None:
    summary = TrialSummary(total=3, done=2, best_id=1, best_metric=0.123456789)
    row = render.listing_row(_record(), summary, ["NAME", "TRIALS", "BEST"])
    assert row == ["a-rather-long-experim...", "2/4", "0.123457 (max)"]
    assert len(render.listing_row(_record(), summary)) == len(render.LIST_COLUMNS)
    with pytest.raises(ValueError, match=r"unknown listing columns \['WORKER'\]; known: ID, NAME"):
        render.listing_row(_record(), summary, ["ID", "WORKER"])


def test_experiment_text_names_the_best_by_maggys_rule_and_full_adds_the_sections() -> None:
    from maggy.core.result import best_trial

    best = best_trial(TRIALS, "max")
    assert best is not None
    text = render.experiment_text(_record(), TRIALS)
    assert f"\nbest        {render.fmt_num(best.metric)} (trial {best.trial_id}: " in text
    assert "\ntrials      2/4 done (1 finished, 1 early stopped, 1 running)" in text
    assert "\nresult\n  best_val  0.9\n" in text and "duration    1m40s" in text
    short = render.experiment_text(_record(), TRIALS, full=False)
    assert "result" not in short and "searchspace" not in short and "config" not in short
    assert short.split("\n\n")[-1] == text.split("\n\n")[-1]  # the same trials table
    assert short.split("\n\n")[0] in text  # the same fields
    assert short.split("\n\n")[1].splitlines()[0].split() == [
        "TRIAL",
        "STATE",
        "METRIC",
        "DURATION",
        "PARAMS",
    ]
    assert "TRIAL" not in render.experiment_text(_record(), [])  # no trials, no table


def test_full_text_shows_searchspace_config_and_result_as_aligned_lines_not_json() -> None:
    # Before: 'searchspace  {"lr": ["DOUBLE", [0.001, 0.1], "log"], ...}' and two more such blobs.
    record = _record(
        searchspace={
            "lr": ["DOUBLE", [0.001, 0.1], "log"],
            "units": ["INTEGER", [8, 64]],
            "act": ["CATEGORICAL", ["relu", "leaky relu", "3", None]],
        },
        config={
            "hb_interval": 1,
            "es_policy": "median",
            "driver": {"host": "h1", "pid": 7},
            "warm_start": [],
        },
        result={
            "best_val": 0.912345678,
            "best_config": {"lr": 0.01, "units": 64},
            "metric_list": [round(0.01 * i, 2) for i in range(40)],
            "failure": None,
            "status": "FINISHED",
            "duration": 185.2,
        },
    )
    blocks = render.experiment_text(record, TRIALS).split("\n\n")
    assert [b.splitlines()[0] for b in blocks[1:]] == [
        "searchspace",
        "config",
        "result",
        blocks[4].splitlines()[0],
    ]
    assert blocks[1] == (
        "searchspace\n"
        "  lr     DOUBLE [0.001, 0.1] log\n"
        "  units  INTEGER [8, 64]\n"
        "  act    CATEGORICAL [relu, 'leaky relu', '3', None]"
    )  # the %%searchspace syntax
    assert blocks[2] == "config\n  hb_interval  1\n  es_policy    median\n  driver       pid 7 on h1"
    result = blocks[3].splitlines()
    assert result[:3] == ["result", "  best_val     0.912346", "  best_config  lr=0.01, units=64"]
    assert result[3].startswith("  metric_list  0, 0.01, 0.02,") and result[3].endswith(", ... (40 values)")
    assert len(result[3]) <= 2 + 13 + 70 and result[4:] == ["  status       FINISHED", "  duration     3m05s"]
    assert blocks[4].splitlines()[0].split()[0] == "TRIAL"
    assert not any(c in "".join(blocks[1:4]) for c in '{}"')


def test_trial_text_in_full() -> None:
    trial = Trial(
        3,
        {"lr": 0.5},
        TrialState.ERROR,
        None,
        [[0, 1.0], [1, float("nan")], [2, 0.5]],
        ["line one"],
        "Traceback\nValueError: x\n",
        "w1",
        1.0,
        2.0,
        retry_of=1,
    )
    text = render.trial_text(_record(), trial)
    assert "history   3 points, steps 0..2; last 0.5, min 0.5 (step 2), max 1 (step 0)" in text
    assert "retry of  trial 1" in text and "logs (1 lines):\n  line one" in text
    assert text.endswith("error:\n  Traceback\n  ValueError: x")


def test_import_is_light() -> None:
    code = "import sys, maggy.render; print(sorted({'maggy.store', 'sqlite3', 'numpy'} & set(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stderr
