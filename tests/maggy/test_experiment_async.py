"""lagom_async: the same experiment without blocking the event loop; cancelling stops it cleanly."""

from __future__ import annotations

import asyncio
import time

import pytest

from maggy import Searchspace, experiment
from maggy.store import open_store
from maggy.trial import TrialState

pytestmark = pytest.mark.integration


def sleepy(seconds):
    import time

    time.sleep(seconds)
    return float(seconds)


def test_lagom_async_runs_while_the_event_loop_stays_responsive(tmp_path):
    ticks = []

    async def main():
        async def ticker():
            while True:
                ticks.append(time.time())
                await asyncio.sleep(0.05)

        t = asyncio.create_task(ticker())
        result = await experiment.lagom_async(
            sleepy,
            num_trials=4,
            searchspace=Searchspace(seconds=("DISCRETE", [0.3, 0.4, 0.5, 0.6])),
            optimizer="gridsearch",
            num_workers=2,
            store=str(tmp_path / "s.db"),
            progress=False,
        )
        t.cancel()
        return result

    result = asyncio.run(main())
    assert result["num_trials"] == 4 and result["best_val"] == 0.6 and result["status"] == "FINISHED"
    assert len(ticks) >= 10  # the loop ran the whole time (~1 s)
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    assert max(gaps) < 0.5


def test_cancelling_the_task_stops_the_experiment_and_keeps_finished_trials(tmp_path):
    store = str(tmp_path / "s.db")

    async def main():
        task = asyncio.create_task(
            experiment.lagom_async(
                sleepy,
                num_trials=3,
                searchspace=Searchspace(seconds=("DISCRETE", [0.1, 30, 31])),
                optimizer="gridsearch",
                num_workers=2,
                store=store,
                progress=False,
            )
        )
        await asyncio.sleep(2.0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    started = time.time()
    asyncio.run(main())
    assert time.time() - started < 15
    exp = open_store(store).list_experiments()[0]
    trials = open_store(store).get_trials(exp.experiment_id)
    assert exp.status == "STOPPED"
    assert trials[0].state is TrialState.FINISHED and trials[1].state is TrialState.STOPPED


def test_lagom_async_validates_at_the_call_and_an_unawaited_call_holds_nothing(tmp_path):
    with pytest.raises(ValueError, match="num_trials must be a positive int"):
        experiment.lagom_async(sleepy, num_trials=0, searchspace=Searchspace(seconds=("DISCRETE", [0.1])))
    pending = experiment.lagom_async(sleepy, searchspace=Searchspace(seconds=("DISCRETE", [0.1])))
    pending.close()  # never awaited: the process's experiment slot must still be free
    result = experiment.lagom(
        sleepy,
        searchspace=Searchspace(seconds=("DISCRETE", [0.1])),
        store=str(tmp_path / "s.db"),
        progress=False,
    )
    assert result["best_val"] == 0.1
