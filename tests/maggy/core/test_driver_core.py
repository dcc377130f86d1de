"""DriverCore decisions driven with plain messages: no sockets, no threads of its own."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from maggy.core import events as ev
from maggy.core.continuation import Earlier
from maggy.core.driver_core import AHEAD_MAX_SECONDS, DriverConfig, DriverCore
from maggy.earlystop import get_policy
from maggy.optimizer import WAIT, AbstractOptimizer, RandomSearch
from maggy.rpc import messages
from maggy.searchspace import Searchspace
from maggy.testing.store_conformance import make_record
from maggy.trial import Trial, TrialState


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_core(num_trials=3, direction="max", optimizer=None, clock=None, ahead=False, **cfg) -> DriverCore:
    """A core over x in [0, 1]; ``ahead``: let it hand trials out ahead (RandomSearch allows it)."""
    opt = optimizer or RandomSearch()
    opt.setup(Searchspace(x=("DOUBLE", [0.0, 1.0])), num_trials, direction, np.random.default_rng(0))
    config = DriverConfig(experiment_id="exp", direction=direction, **cfg)
    core = DriverCore(config, opt, clock=clock or FakeClock())
    core.hand_out_ahead = core.hand_out_ahead and ahead
    return core


def register(core: DriverCore, worker_id: str):
    state: dict = {}
    reply = core.handle(messages.reg(worker_id, "host", 1), state)
    return reply, state


def final(core, state, worker_id, trial_id, status="ok", metric=1.0, error=None, points=()):
    return core.handle(messages.final(worker_id, trial_id, status, metric, error, list(points), []), state)


def drain(core: DriverCore) -> list[ev.Event]:
    out = []
    while not core.events.empty():
        out.append(core.events.get())
    return out


def test_register_gets_a_trial_and_final_gets_the_next_then_done():
    core = make_core(num_trials=2)
    reply, state = register(core, "w0")
    assert reply["op"] == "TRIAL" and reply["trial_id"] == 0 and set(reply["params"]) == {"x"}
    reply = final(core, state, "w0", 0, metric=0.5)
    assert reply["op"] == "TRIAL" and reply["trial_id"] == 1
    reply = final(core, state, "w0", 1, metric=0.7)
    assert reply["op"] == "DONE"
    assert core.done.is_set()
    assert [t.state for t in core.snapshot_trials()] == [TrialState.FINISHED, TrialState.FINISHED]
    kinds = [type(e).__name__ for e in drain(core)]
    assert kinds == ["TrialStarted", "TrialFinished", "TrialStarted", "TrialFinished"]


def test_a_worker_has_left_only_once_it_closed_the_connection_its_done_came_on():
    # The backend may stop waiting for a worker that left; the driver then closes its server.
    # Before the worker has read DONE and closed, that would cut the reply short.
    core = make_core(num_trials=1)
    _, state = register(core, "w0")
    assert final(core, state, "w0", 0)["op"] == "DONE"
    assert not core.has_left("w0", 0)  # the reply is not even sent yet
    core.on_disconnect(state, "EOF")
    assert core.has_left("w0", 0) and not core.has_left("w0", 1)


def test_heartbeat_points_are_kept_and_published_in_order():
    core = make_core(num_trials=1)
    _, state = register(core, "w0")
    hb_state: dict = {}
    assert core.handle(messages.hb("w0", 0, [[0, 0.1], [1, 0.2]], ["hello"]), hb_state)["op"] == "OK"
    final(core, state, "w0", 0, metric=0.3, points=[[2, 0.3]])
    trial = core.snapshot_trials()[0]
    assert trial.history == [[0, 0.1], [1, 0.2], [2, 0.3]]
    assert trial.logs == ["hello"]
    metric_events = [e for e in drain(core) if isinstance(e, ev.MetricPoints)]
    assert [p for e in metric_events for p in e.points] == [[0, 0.1], [1, 0.2], [2, 0.3]]


@pytest.mark.parametrize(
    "status,metric,error,expected",
    [
        ("ok", 2.5, None, TrialState.FINISHED),
        ("ok", None, None, TrialState.ERROR),
        ("error", None, "Traceback ... ValueError", TrialState.ERROR),
        ("early_stopped", None, None, TrialState.EARLY_STOPPED),
    ],
)
def test_final_status_decides_the_state(status, metric, error, expected):
    core = make_core(num_trials=1)
    _, state = register(core, "w0")
    final(core, state, "w0", 0, status=status, metric=metric, error=error, points=[[0, 1.5]])
    trial = core.snapshot_trials()[0]
    assert trial.state is expected
    if expected is TrialState.ERROR:
        assert trial.error
    if expected is TrialState.EARLY_STOPPED:
        assert trial.metric == 1.5  # the last broadcast value


def test_user_stop_is_ordered_through_the_heartbeat_and_ends_stopped():
    core = make_core(num_trials=2)
    _, state = register(core, "w0")
    assert core.stop_trial(0)
    assert not core.stop_trial(99)
    reply = core.handle(messages.hb("w0", 0, [[0, 0.4]], []), {})
    assert reply == messages.stop(0)
    final(core, state, "w0", 0, status="early_stopped", metric=None)
    assert core.snapshot_trials()[0].state is TrialState.STOPPED


@pytest.mark.parametrize("direction,good,bad", [("max", 1.0, 0.1), ("min", 0.1, 1.0)])
def test_median_rule_stops_a_bad_running_trial_in_both_directions(direction, good, bad):
    clock = FakeClock()
    core = make_core(
        num_trials=4,
        direction=direction,
        clock=clock,
        es_policy=get_policy("median"),
        es_interval=5,
        es_min=2,
    )
    _, s0 = register(core, "w0")
    _, s1 = register(core, "w1")
    assert final(core, s0, "w0", 0, metric=good, points=[[0, good], [1, good]])["trial_id"] == 2
    final(core, s0, "w0", 2, metric=good, points=[[0, good], [1, good]])  # es_min=2 trials now finished
    core.handle(messages.hb("w1", 1, [[0, bad], [1, bad]], []), {})
    clock.now += 10
    assert core.tick() == []
    assert core.handle(messages.hb("w1", 1, [], []), {})["op"] == "STOP"
    final(core, s1, "w1", 1, status="early_stopped", metric=None)
    assert core.snapshot_trials()[1].state is TrialState.EARLY_STOPPED


def test_early_stopping_waits_for_es_min_finished_trials():
    clock = FakeClock()
    core = make_core(num_trials=3, clock=clock, es_policy=get_policy("median"), es_interval=1, es_min=5)
    _, s0 = register(core, "w0")
    _, s1 = register(core, "w1")
    final(core, s0, "w0", 0, metric=1.0, points=[[0, 1.0]])
    core.handle(messages.hb("w1", 1, [[0, 0.0]], []), {})
    clock.now += 10
    core.tick()
    assert core.handle(messages.hb("w1", 1, [], []), {})["op"] == "OK"


def test_disconnect_mid_trial_marks_it_lost_and_retries_once():
    core = make_core(num_trials=1, max_retries=1)
    reply, state = register(core, "w0")
    params = reply["params"]
    core.on_disconnect(state, "EOF")
    reply, state = register(core, "w0b")
    assert reply["op"] == "TRIAL" and reply["params"] == params and reply["trial_id"] == 1
    core.on_disconnect(state, "EOF")  # the retry dies too: no second retry
    trials = core.snapshot_trials()
    assert [t.state for t in trials] == [TrialState.LOST, TrialState.LOST]
    assert trials[1].retry_of == 0
    assert core.done.is_set()


def test_reregistration_of_the_same_worker_loses_its_previous_trial():
    core = make_core(num_trials=2, max_retries=0)
    register(core, "w0")
    reply, _ = register(core, "w0")  # e.g. a Spark task retried after its python worker died
    assert core.snapshot_trials()[0].state is TrialState.LOST
    assert reply["trial_id"] == 1


def test_a_trial_records_where_it_ran_from_its_workers_registration():
    core = make_core(num_trials=2)
    state: dict = {}
    info = {"executor_id": "3", "host": "node-7", "gpus": ["1"], "task_attempt_id": 42}
    reply = core.handle(messages.reg("w0", "node-7", 1, 0, info), state)
    assert core.worker_info("w0") == info and core.worker_info("nobody") == {}
    final(core, state, "w0", reply["trial_id"])
    assert [t.info for t in core.snapshot_trials()] == [info, info]


def test_silent_worker_is_lost_and_killed_after_the_grace_period():
    clock = FakeClock()
    core = make_core(num_trials=1, clock=clock, hb_interval=1, lost_grace=3, max_retries=0)
    register(core, "w0")
    clock.now += 2
    assert core.tick() == []
    clock.now += 2
    assert core.tick() == ["w0"]
    assert core.snapshot_trials()[0].state is TrialState.LOST


def test_trial_timeout_ends_the_trial_as_error_and_kills_its_worker():
    clock = FakeClock()
    core = make_core(num_trials=1, clock=clock, trial_timeout=5, lost_grace=100)
    register(core, "w0")
    clock.now += 6
    assert core.tick() == ["w0"]
    trial = core.snapshot_trials()[0]
    assert trial.state is TrialState.ERROR and "trial_timeout" in trial.error


def test_late_final_of_a_timed_out_trial_is_ignored():
    clock = FakeClock()
    core = make_core(num_trials=2, clock=clock, trial_timeout=5, lost_grace=100)
    _, state = register(core, "w0")
    clock.now += 6
    core.tick()
    reply = final(core, state, "w0", 0, metric=9.0)
    assert core.snapshot_trials()[0].state is TrialState.ERROR
    assert reply["op"] == "TRIAL" and reply["trial_id"] == 1


def test_wait_blocks_a_free_worker_until_another_trial_finishes():
    class OneAtATime(AbstractOptimizer):
        def suggest(self):
            return WAIT if len(self.trials) < self._given else self._next()

        def initialize(self):
            self._given = 0

        def _next(self):
            self._given += 1
            return {"x": 0.5}

    core = make_core(num_trials=2, optimizer=OneAtATime())
    _, s0 = register(core, "w0")
    got: dict = {}
    t = threading.Thread(target=lambda: got.update(register(core, "w1")[0]))
    t.start()
    t.join(0.3)
    assert t.is_alive()  # w1 is held inside its REG: push, not poll
    assert final(core, s0, "w0", 0, metric=1.0)["trial_id"] == 1  # the freed worker takes the new trial
    assert t.is_alive()
    assert final(core, s0, "w0", 1, metric=1.0)["op"] == "DONE"
    t.join(5)
    assert got["op"] == "DONE"


def test_abort_marks_running_trials_stopped_with_their_last_value():
    core = make_core(num_trials=3)
    register(core, "w0")
    core.handle(messages.hb("w0", 0, [[0, 0.25]], []), {})
    core.abort("interrupted")
    trial = core.snapshot_trials()[0]
    assert trial.state is TrialState.STOPPED and trial.metric == 0.25
    assert core.done.is_set()
    assert register(core, "w1")[0]["op"] == "DONE"


def test_an_optimizer_that_raises_ends_the_experiment_with_the_failure_recorded():
    class Broken(AbstractOptimizer):
        def suggest(self):
            raise ZeroDivisionError("bug")

    core = make_core(num_trials=2, optimizer=Broken())
    reply, _ = register(core, "w0")
    assert reply["op"] == "DONE"
    assert isinstance(core.failure, ZeroDivisionError)
    assert core.done.is_set()


def test_unknown_worker_heartbeat_gets_an_error_reply():
    core = make_core()
    reply = core.handle(messages.hb("ghost", None, [], []), {})
    assert reply["op"] == "ERR" and "ghost" in reply["reason"]


# ---- handing trials out ahead (optimizers whose suggestions ignore results) -----------------


def start_with_a_queued_trial(core: DriverCore, worker_id: str = "w0"):
    """Register ``worker_id`` and finish its first trial quickly: the reply queues one ahead."""
    reply, state = register(core, worker_id)
    assert reply["next"] is None  # nothing is known of the trials' length yet
    reply = final(core, state, worker_id, reply["trial_id"])
    assert reply["op"] == "TRIAL" and reply["next"] is not None
    return reply, state


def test_trials_are_handed_out_ahead_and_start_when_the_previous_final_arrives():
    core = make_core(num_trials=5, ahead=True)
    reply, state = start_with_a_queued_trial(core)
    assert (reply["trial_id"], reply["next"]["trial_id"]) == (1, 2)
    assert core.snapshot_trials()[2].state is TrialState.PENDING  # queued, not started
    drain(core)
    reply = final(core, state, "w0", 1, metric=0.5)
    # The worker runs trial 2 now; the reply to trial 1's FINAL only queues trial 3.
    assert reply["op"] == "NEXT" and reply["next"]["trial_id"] == 3
    assert [t.state for t in core.snapshot_trials()[1:3]] == [TrialState.FINISHED, TrialState.RUNNING]
    assert [(type(e).__name__, e.trial.trial_id) for e in drain(core)] == [
        ("TrialFinished", 1),
        ("TrialStarted", 2),
    ]
    reply = final(core, state, "w0", 2)
    assert reply["op"] == "NEXT" and reply["next"] is None  # one trial left, one worker: none ahead
    reply = final(core, state, "w0", 3)
    assert reply["op"] == "TRIAL" and reply["trial_id"] == 4 and reply["next"] is None
    assert final(core, state, "w0", 4)["op"] == "DONE"
    assert core.done.is_set()
    assert [t.state for t in core.snapshot_trials()] == [TrialState.FINISHED] * 5


def test_a_worker_whose_trials_take_long_gets_no_trial_ahead():
    clock = FakeClock()
    core = make_core(num_trials=5, clock=clock, ahead=True)
    reply, state = register(core, "w0")
    clock.now += AHEAD_MAX_SECONDS
    assert final(core, state, "w0", reply["trial_id"])["next"] is None


def test_optimizers_that_learn_from_results_get_no_trial_ahead():
    class Learner(AbstractOptimizer):  # uses_results stays True, the safe default
        def suggest(self):
            return {"x": 0.5}

    core = make_core(num_trials=5, optimizer=Learner(), ahead=True)
    reply, state = register(core, "w0")
    assert final(core, state, "w0", 0)["next"] is None


def test_no_trial_is_queued_when_no_more_remain_than_workers():
    # Trial 0 ran, trial 1 is handed out: is a third queued behind it?
    core = make_core(num_trials=5, ahead=True)
    core.expected_workers = 2
    reply, state = register(core, "w0")
    assert final(core, state, "w0", 0)["next"] is not None  # 3 left for 2 workers
    core = make_core(num_trials=4, ahead=True)
    core.expected_workers = 2
    reply, state = register(core, "w0")
    assert final(core, state, "w0", 0)["next"] is None  # 2 left for 2 workers: to whoever is free first


def test_a_heartbeat_that_overtakes_the_final_starts_the_queued_trial_and_keeps_its_points():
    core = make_core(num_trials=6, ahead=True)
    reply, state = start_with_a_queued_trial(core)
    queued = reply["next"]["trial_id"]
    assert core.handle(messages.hb("w0", queued, [[0, 0.25]], ["started"]), {})["op"] == "OK"
    trials = core.snapshot_trials()
    assert trials[queued].state is TrialState.RUNNING and trials[queued].history == [[0, 0.25]]
    reply = final(core, state, "w0", reply["trial_id"])
    assert reply["op"] == "NEXT"  # the worker is busy with the queued trial: do not wait for one
    assert core.snapshot_trials()[1].state is TrialState.FINISHED
    assert core.snapshot_trials()[queued].state is TrialState.RUNNING


def test_a_dead_workers_queued_trial_goes_to_the_next_worker_unchanged():
    core = make_core(num_trials=5, max_retries=0, ahead=True)
    reply, state = start_with_a_queued_trial(core)
    queued = reply["next"]
    core.on_disconnect(state, "EOF")
    trials = core.snapshot_trials()
    assert trials[reply["trial_id"]].state is TrialState.LOST
    assert (
        trials[queued["trial_id"]].state is TrialState.PENDING and trials[queued["trial_id"]].worker is None
    )
    reply, _ = register(core, "w1")
    assert (reply["trial_id"], reply["params"]) == (queued["trial_id"], queued["params"])
    assert core.snapshot_trials()[queued["trial_id"]].retry_of is None  # it never ran: no retry


def test_stopping_drops_unstarted_queued_trials_and_stops_them_if_their_worker_started_them():
    core = make_core(num_trials=6, ahead=True)
    reply, state = start_with_a_queued_trial(core)
    running, queued = reply["trial_id"], reply["next"]["trial_id"]
    core.stop_experiment()
    assert [t.trial_id for t in core.snapshot_trials()] == [0, running]  # the queued one leaves no record
    # The worker started it before hearing of the stop: its heartbeat is told to stop it ...
    assert core.handle(messages.hb("w0", queued, [[0, 1.0]], []), {}) == messages.stop(queued)
    # ... and the reply to the running trial's FINAL (read after the queued one) is DONE.
    assert final(core, state, "w0", running, status="stopped")["op"] == "DONE"
    assert core.done.is_set()
    assert [t.state for t in core.snapshot_trials()] == [TrialState.FINISHED, TrialState.STOPPED]


# ---- registrations: a connection speaks for the registration it carried ---------------------


def test_a_stale_connection_closing_does_not_touch_the_workers_replacement():
    # The worker forked a child (multiprocessing, a DataLoader) and died; the child still holds
    # the dead worker's control socket. Its replacement registers under the same worker id; when
    # the child finally closes the old socket, the replacement and its trial must be unaffected.
    core = make_core(num_trials=2, max_retries=1)
    old_state: dict = {}
    first = core.handle(messages.reg("w0", "host", 11, 0), old_state)
    new_state: dict = {}
    retry = core.handle(messages.reg("w0", "host", 12, 1), new_state)
    assert core.snapshot_trials()[first["trial_id"]].state is TrialState.LOST
    assert retry["op"] == "TRIAL" and core.snapshot_trials()[retry["trial_id"]].retry_of == first["trial_id"]
    core.on_disconnect(old_state, "EOF")  # the child exits
    assert core.snapshot_trials()[retry["trial_id"]].state is TrialState.RUNNING
    assert core.handle(messages.hb("w0", retry["trial_id"], [[0, 0.5]], []), {})["op"] == "OK"
    reply = final(core, new_state, "w0", retry["trial_id"], metric=0.5)
    assert reply["op"] == "TRIAL"  # its FINAL is accepted and it gets the next trial
    assert final(core, new_state, "w0", reply["trial_id"])["op"] == "DONE"
    assert [t.state for t in core.snapshot_trials()] == [
        TrialState.LOST,
        TrialState.FINISHED,
        TrialState.FINISHED,
    ]
    assert core.done.is_set()


def test_a_message_on_a_replaced_registrations_connection_is_refused():
    # A forked child that fell back into the worker loop would speak on the dead worker's socket:
    # it must not take over (or end) the replacement's trials.
    core = make_core(num_trials=3, max_retries=0)
    old_state: dict = {}
    first = core.handle(messages.reg("w0", "host", 11, 0), old_state)
    new_state: dict = {}
    current = core.handle(messages.reg("w0", "host", 12, 1), new_state)
    reply = final(core, old_state, "w0", first["trial_id"])
    assert reply["op"] == "ERR"
    assert core.snapshot_trials()[current["trial_id"]].state is TrialState.RUNNING
    assert final(core, new_state, "w0", current["trial_id"])["op"] == "TRIAL"


def test_the_current_registrations_connection_closing_still_loses_its_trial():
    core = make_core(num_trials=2, max_retries=0)
    old_state: dict = {}
    core.handle(messages.reg("w0", "host", 11, 0), old_state)
    new_state: dict = {}
    current = core.handle(messages.reg("w0", "host", 12, 1), new_state)
    core.on_disconnect(old_state, "EOF")
    core.on_disconnect(new_state, "EOF")
    assert core.snapshot_trials()[current["trial_id"]].state is TrialState.LOST
    assert core.has_registered("w0", 0) and core.has_registered("w0", 1)


def test_a_request_held_waiting_ends_when_its_worker_registers_again():
    # A worker blocked in REG/FINAL (no trial yet) died and was restarted: the dead start's request
    # must not take the next trial (it would be sent to a closed socket and never run).
    class OneAtATime(AbstractOptimizer):
        def suggest(self):
            return WAIT if len(self.trials) < self._given else self._next()

        def initialize(self):
            self._given = 0

        def _next(self):
            self._given += 1
            return {"x": 0.5}

    core = make_core(num_trials=2, optimizer=OneAtATime())
    _, s0 = register(core, "w0")
    stale: dict = {}
    t = threading.Thread(target=lambda: stale.update(core.handle(messages.reg("w1", "h", 7, 0), {})))
    t.start()
    t.join(0.2)
    assert t.is_alive()
    fresh: dict = {}
    t2 = threading.Thread(target=lambda: fresh.update(core.handle(messages.reg("w1", "h", 8, 1), {})))
    t2.start()
    t.join(3)
    assert not t.is_alive() and stale["op"] == "ERR"
    assert final(core, s0, "w0", 0)["trial_id"] == 1
    assert final(core, s0, "w0", 1)["op"] == "DONE"
    t2.join(3)
    assert fresh["op"] == "DONE"
    assert [t.state for t in core.snapshot_trials()] == [TrialState.FINISHED, TrialState.FINISHED]


def test_a_late_registration_of_an_earlier_attempt_is_refused():
    core = make_core(num_trials=2)
    current = core.handle(messages.reg("w0", "host", 12, 1), {})
    reply = core.handle(messages.reg("w0", "host", 11, 0), {})
    assert reply["op"] == "ERR" and "attempt 1" in reply["reason"]
    assert core.snapshot_trials()[current["trial_id"]].state is TrialState.RUNNING


# ---- suggestions the wire cannot carry, and budgets beside the params (issue 12, items 2 and 3) ----


class ScriptedOptimizer(AbstractOptimizer):
    """Suggests the given items in order (dicts, Suggestions), then FINISHED; records what it is told."""

    def __init__(self, items, uses_budget=False):
        self.items = list(items)
        self.uses_budget = uses_budget
        self.told = []

    def planned_trials(self):
        return len(self.items)

    def suggest(self):
        from maggy.optimizer import FINISHED

        return self.items.pop(0) if self.items else FINISHED

    def on_trial_finished(self, trial):
        super().on_trial_finished(trial)
        self.told.append(trial)


def encodable(reply) -> bool:
    from maggy.rpc.framing import encode_frame

    encode_frame(b"k" * 32, reply)  # raises if the wire cannot carry it
    return True


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        (float("nan"), "parameter 'x' is nan, not a finite number"),
        (float("-inf"), "parameter 'x' is -inf"),
        ([1.0, float("inf")], "parameter 'x' = [1.0, inf] cannot be sent"),
        (object(), "parameter 'x' = <object object"),
        ({"nested": {1, 2}}, "parameter 'x'"),
        ("y" * (2 << 20), "params take over"),
    ],
    ids=["nan", "-inf", "inf-in-list", "object", "set-inside", "3MB-string"],
)
def test_a_suggestion_the_wire_cannot_carry_is_that_trials_error_and_the_next_one_goes_out(bad, fragment):
    opt = ScriptedOptimizer([{"x": bad}, {"x": 0.5}])
    core = make_core(optimizer=opt)
    reply, state = register(core, "w0")
    assert reply["op"] == "TRIAL" and reply["trial_id"] == 1 and reply["params"] == {"x": 0.5}
    assert encodable(reply)
    first = core.snapshot_trials()[0]
    assert first.state is TrialState.ERROR and first.worker is None
    assert fragment in first.error and "cannot be sent to a worker" in first.error
    assert [(t.trial_id, t.state) for t in opt.told] == [(0, TrialState.ERROR)]  # the optimizer was told
    assert final(core, state, "w0", 1, metric=0.5)["op"] == "DONE" and core.done.is_set()
    kinds = [(type(e).__name__, e.trial.trial_id) for e in drain(core) if hasattr(e, "trial")]
    assert kinds[:2] == [("TrialStarted", 0), ("TrialFinished", 0)]  # listeners see the usual pair


def test_only_unsendable_suggestions_end_the_experiment_done_not_hanging():
    opt = ScriptedOptimizer([{"x": float("nan")}, {"x": float("nan")}])
    core = make_core(optimizer=opt)
    reply, _ = register(core, "w0")
    assert reply["op"] == "DONE" and core.done.is_set() and core.failure is None
    assert [t.state for t in core.snapshot_trials()] == [TrialState.ERROR, TrialState.ERROR]


def test_numpy_scalars_go_out_as_python_values_and_a_non_str_name_is_that_trials_error():
    opt = ScriptedOptimizer([{"x": np.int64(3), "y": np.float32(0.5)}, {1: 0.5}])
    core = make_core(optimizer=opt, num_trials=2)
    reply, state = register(core, "w0")
    assert reply["params"] == {"x": 3, "y": 0.5} and type(reply["params"]["x"]) is int and encodable(reply)
    assert final(core, state, "w0", 0)["op"] == "DONE"
    assert "parameter name 1 is a int, not a str" in core.snapshot_trials()[1].error


def test_a_hyperparameter_named_budget_in_a_dict_stays_a_param():
    opt = ScriptedOptimizer([{"budget": 5, "x": 0.1}])
    core = make_core(optimizer=opt)
    reply, _ = register(core, "w0")
    assert reply["params"] == {"budget": 5, "x": 0.1} and reply["budget"] is None
    trial = core.snapshot_trials()[0]
    assert trial.params == {"budget": 5, "x": 0.1} and trial.budget is None


def test_a_suggestions_budget_travels_beside_its_params():
    from maggy.optimizer import Suggestion

    opt = ScriptedOptimizer([Suggestion({"x": 0.1}, budget=np.int64(9))], uses_budget=True)
    core = make_core(optimizer=opt)
    reply, _ = register(core, "w0")
    assert reply["params"] == {"x": 0.1} and reply["budget"] == 9 and encodable(reply)
    trial = core.snapshot_trials()[0]
    assert trial.params == {"x": 0.1} and trial.budget == 9


@pytest.mark.parametrize(
    ("params", "budget", "fragment"),
    [
        ({"x": 0.1}, float("nan"), "its budget nan is not a finite number"),
        ({"x": 0.1, "budget": 3}, 9, "has a parameter named 'budget' and also a budget"),
    ],
    ids=["nan-budget", "budget-clash"],
)
def test_a_budget_the_wire_or_the_function_cannot_take_is_that_trials_error(params, budget, fragment):
    from maggy.optimizer import Suggestion

    opt = ScriptedOptimizer([Suggestion(params, budget=budget), Suggestion({"x": 0.2}, budget=1)], True)
    core = make_core(optimizer=opt)
    reply, _ = register(core, "w0")
    assert reply["trial_id"] == 1 and reply["budget"] == 1
    assert fragment in core.snapshot_trials()[0].error


def test_a_budget_optimizer_returning_budget_inside_a_dict_fails_the_experiment_saying_how_to_fix_it():
    opt = ScriptedOptimizer([{"x": 0.1, "budget": 3}], uses_budget=True)
    core = make_core(optimizer=opt)
    reply, _ = register(core, "w0")
    assert reply["op"] == "DONE" and isinstance(core.failure, TypeError)
    assert "return maggy.optimizer.Suggestion(params, budget=...)" in str(core.failure)


def test_a_parameter_named_reporter_is_that_trials_error_not_silently_replaced():
    opt = ScriptedOptimizer([{"x": 0.1, "reporter": "mine"}])
    core = make_core(optimizer=opt)
    assert register(core, "w0")[0]["op"] == "DONE"
    assert "parameter named 'reporter'" in core.snapshot_trials()[0].error


def test_a_budget_from_an_optimizer_that_does_not_declare_uses_budget_fails_the_experiment():
    from maggy.optimizer import Suggestion

    core = make_core(optimizer=ScriptedOptimizer([Suggestion({"x": 0.1}, budget=3)]))
    assert register(core, "w0")[0]["op"] == "DONE"
    assert "set the class attribute uses_budget = True" in str(core.failure)


def _earlier(trials: list[Trial], reruns: list[Trial] = ()) -> Earlier:
    record = make_record("exp", status="FAILED")
    return Earlier(record=record, trials=trials, reruns=list(reruns), counted=len(trials), target=len(trials))


def test_a_resumed_core_keeps_earlier_trials_runs_reruns_first_and_counts_them():
    lost = Trial(trial_id=1, params={"x": 0.25}, state=TrialState.LOST)
    earlier = _earlier(
        [Trial(trial_id=0, params={"x": 0.5}, state=TrialState.FINISHED, metric=0.5), lost],
        reruns=[Trial(trial_id=2, params={"x": 0.25}, retry_of=1)],
    )
    opt = RandomSearch()
    opt.setup(Searchspace(x=("DOUBLE", [0.0, 1.0])), 3, "max", np.random.default_rng(0))
    core = DriverCore(
        DriverConfig(experiment_id="exp", direction="max"), opt, clock=FakeClock(), earlier=earlier
    )
    reply, state = register(core, "w0")
    assert (reply["trial_id"], reply["params"]) == (2, {"x": 0.25})  # the re-run first
    reply = final(core, state, "w0", 2, metric=0.3)
    assert reply["trial_id"] == 3  # then one new suggestion: 2 earlier + 1 = num_trials 3
    assert final(core, state, "w0", 3, metric=0.1)["op"] == "DONE"
    trials = core.snapshot_trials()
    assert [(t.trial_id, t.state, t.retry_of) for t in trials] == [
        (0, TrialState.FINISHED, None),
        (1, TrialState.LOST, None),
        (2, TrialState.FINISHED, 1),
        (3, TrialState.FINISHED, None),
    ]
    started = [e.trial.trial_id for e in drain(core) if isinstance(e, ev.TrialStarted)]
    assert started == [2, 3]  # earlier trials are not started again (nor written again)


def test_early_stopping_compares_with_a_resumed_experiments_earlier_trials():
    clock = FakeClock()
    good = [
        Trial(
            trial_id=i,
            params={"x": i / 10},
            state=TrialState.FINISHED,
            metric=1.0,
            history=[[s, 1.0] for s in range(5)],
        )
        for i in range(3)
    ]
    opt = RandomSearch()
    opt.setup(Searchspace(x=("DOUBLE", [0.0, 1.0])), 5, "max", np.random.default_rng(0))
    config = DriverConfig(
        experiment_id="exp", direction="max", es_policy=get_policy("median"), es_interval=1, es_min=3
    )
    core = DriverCore(config, opt, clock=clock, earlier=_earlier(good))
    reply, state = register(core, "w0")
    core.handle(messages.hb("w0", reply["trial_id"], [[s, 0.0] for s in range(5)], []), state)
    clock.now += 10
    core.tick()  # no trial of this run has ended: the earlier ones are the reference
    assert core.handle(messages.hb("w0", reply["trial_id"], [], []), state)["op"] == "STOP"
