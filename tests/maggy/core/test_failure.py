"""When every trial failed, and the user's part of a trial's traceback."""

from __future__ import annotations

from maggy.core.failure import all_failed, error_tail, first_error, user_traceback
from maggy.trial import Trial, TrialState

#: A trial's error as the worker records it (the shape of today's worker/loop.py).
TRACEBACK = """Traceback (most recent call last):
  File "/site-packages/maggy/worker/loop.py", line 112, in _run_trial
    result = call_training_function(map_fun, params, reporter)
             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/site-packages/maggy/worker/invoke.py", line 45, in call_training_function
    return fn(**kwargs)
           ^^^^^^^^^^^^
  File "<ipython-input-3>", line 6, in train
    return helper(x)
  File "/home/me/lib/mymodel.py", line 4, in helper
    raise ValueError(f"bad x {x}")
ValueError: bad x 0.5"""


def test_user_traceback_drops_the_worker_frames_and_keeps_the_rest():
    assert user_traceback(TRACEBACK) == (
        "Traceback (most recent call last):\n"
        '  File "<ipython-input-3>", line 6, in train\n'
        "    return helper(x)\n"
        '  File "/home/me/lib/mymodel.py", line 4, in helper\n'
        '    raise ValueError(f"bad x {x}")\n'
        "ValueError: bad x 0.5"
    )


def test_user_traceback_keeps_other_maggy_frames_and_plain_text():
    # Only the worker's own frames are noise; a frame of maggy's reporter (called by the user)
    # or a message that is no traceback comes back as it was.
    text = '  File "/x/maggy/reporter.py", line 9, in broadcast\n    self._send(x)\nRuntimeError: boom'
    assert user_traceback(text) == text
    assert user_traceback("the trial returned nan; return a finite number") == (
        "the trial returned nan; return a finite number"
    )


def test_chained_tracebacks_lose_the_worker_frames_of_each_part():
    chained = (
        TRACEBACK + "\n\nDuring handling of the above exception, another exception occurred:\n\n" + TRACEBACK
    )
    shown = user_traceback(chained)
    assert "maggy/worker" not in shown and shown.count("ValueError: bad x 0.5") == 2
    assert "During handling of the above exception" in shown


def test_error_tail_is_the_last_lines_of_the_users_part():
    assert error_tail(TRACEBACK, lines=3) == (
        '  File "/home/me/lib/mymodel.py", line 4, in helper\n'
        '    raise ValueError(f"bad x {x}")\n'
        "ValueError: bad x 0.5"
    )


def t(i, state, end=None, error=None):
    return Trial(i, {"x": i}, state=state, end=end, error=error)


def test_all_failed_names_the_count_and_the_first_error_by_end_time():
    trials = [
        t(0, TrialState.ERROR, end=5.0, error="ValueError: later"),
        t(1, TrialState.LOST, end=2.0, error="worker w1 connection closed (EOF)"),
        t(2, TrialState.ERROR, end=3.0, error=TRACEBACK),
    ]
    assert first_error(trials) is trials[1]
    assert (
        all_failed(trials) == "all 3 trials failed; first error (trial 1): worker w1 connection closed (EOF)"
    )
    assert all_failed([trials[2]]) == "the only trial failed (trial 2): ValueError: bad x 0.5"


def test_one_trial_that_did_not_fail_or_none_ended_is_not_all_failed():
    failed = t(0, TrialState.ERROR, end=1.0, error="ValueError: x")
    for other in (TrialState.FINISHED, TrialState.EARLY_STOPPED, TrialState.STOPPED):
        assert all_failed([failed, t(1, other, end=2.0)]) is None
    assert all_failed([]) is None
    assert all_failed([t(0, TrialState.RUNNING)]) is None
    assert all_failed([t(0, TrialState.ERROR, end=1.0)]) == "the only trial failed (trial 0): ERROR"
