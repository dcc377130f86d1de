"""Trials made but not running yet: retries waiting for a worker, and trials handed out ahead.

:class:`~maggy.core.driver_core.DriverCore` decides what happens to trials; this class keeps the
two queues between "made" and "running" and the rules that fill them:

* **Retries.** A LOST trial is rerun as a new trial (``retry_of`` its id) until its chain has used
  ``max_retries``; reruns wait here, first in first out, for the next free worker. A trial handed
  out ahead whose worker died goes back to the *front*: it was due before any waiting retry.
* **Handing out ahead.** When suggestions ignore results (``ahead``), a worker whose last trial
  was quick (under :data:`AHEAD_MAX_SECONDS`) gets its next trial but one with the reply to its
  FINAL, queued on that worker, which starts it the moment it has sent the running trial's
  FINAL. Only while more trials remain than workers, so that no worker idles at the end while a
  trial waits queued behind another. At most one trial is queued per worker registration.

Trials handed out ahead are keyed by the worker's *registration* (a token unique to one REG of
one worker process), not its id: a worker id outlives its process.

Not thread-safe: the driver calls every method with its lock held. Pure bookkeeping (no clock,
no events), so it is tested on its own (tests/maggy/core/test_dispatch_queue.py).
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Mapping

from maggy.trial import Trial, TrialState

#: A worker whose last trial took less (seconds) gets its next trial but one ahead, when allowed.
#: Such trials gain from skipping the round trip (about 1 ms); longer ones gain nothing, and a
#: queued trial could wait behind a long one while another worker idles at the end.
AHEAD_MAX_SECONDS = 1.0


class DispatchQueue:
    """Retries waiting for a worker and trials queued on a worker (see the module docstring).

    ``ahead``: whether trials may be handed out ahead at all (the optimizer's suggestions ignore
    results); ``max_retries``: reruns allowed per LOST trial's chain; ``expected_workers``: how
    many workers the backend starts (set once it is known).
    """

    def __init__(self, ahead: bool, max_retries: int, expected_workers: int = 1) -> None:
        self.ahead = ahead
        self.max_retries = max_retries
        self.expected_workers = expected_workers
        self._retries: collections.deque[Trial] = collections.deque()
        self._queued: dict[int, int] = {}  # worker registration -> trial id handed out ahead
        #: Queued trials dropped unstarted when the experiment stopped (their workers may run them).
        self._dropped: set[int] = set()

    # ---- retries -----------------------------------------------------------------------------

    def __len__(self) -> int:
        """Retries waiting for a worker (trials queued on a worker are not counted)."""
        return len(self._retries)

    def next_retry(self) -> Trial | None:
        """The retry to hand out next (removed from the queue), or None."""
        return self._retries.popleft() if self._retries else None

    def retry(self, lost: Trial, trials: Mapping[int, Trial], new_id: Callable[[], int]) -> Trial | None:
        """Queue a rerun of the LOST trial ``lost`` as trial ``new_id()``; None (and no id taken)
        when its chain (``lost``, the trial it retried, ... in ``trials``) has used its retries."""
        attempts, origin = 0, lost
        while origin.retry_of is not None:
            attempts += 1
            origin = trials[origin.retry_of]
        if attempts >= self.max_retries:
            return None
        rerun = Trial(trial_id=new_id(), params=dict(lost.params), budget=lost.budget, retry_of=lost.trial_id)
        self._retries.append(rerun)
        return rerun

    def add_retry(self, rerun: Trial) -> None:
        """Queue ``rerun`` (PENDING, ``retry_of`` set) as is: a resumed experiment's re-run of an
        earlier trial, which gets its run whatever retries that trial had used."""
        self._retries.append(rerun)

    def drain_retries(self) -> list[Trial]:
        """Every waiting retry, oldest first; the queue is empty afterwards (the experiment stops)."""
        drained = list(self._retries)
        self._retries.clear()
        return drained

    # ---- handing out ahead -------------------------------------------------------------------

    @staticmethod
    def was_quick(trial: Trial) -> bool:
        """Whether ``trial`` (just ended) ran for less than :data:`AHEAD_MAX_SECONDS`."""
        return trial.end is not None and trial.end - (trial.start or 0.0) < AHEAD_MAX_SECONDS

    def may_hand_out_ahead(self, registration: int, remaining: int, registered: int) -> bool:
        """Whether the worker of ``registration`` may get a trial queued now.

        ``remaining``: trials still to come (not yet suggested, plus waiting retries; 0 once the
        optimizer is exhausted); ``registered``: workers registered now. Allowed when handing out
        ahead is, nothing is queued on that worker yet, and more trials remain than workers.
        """
        if not self.ahead or registration in self._queued:
            return False
        return remaining > max(self.expected_workers, registered)

    def hand_out(self, registration: int, trial_id: int) -> None:
        """Trial ``trial_id`` (PENDING) is queued on the worker of ``registration``."""
        if registration in self._queued:
            raise ValueError(
                f"registration {registration} already has trial {self._queued[registration]} queued"
            )
        self._queued[registration] = trial_id

    def queued(self, registration: int) -> int | None:
        """The trial id queued on the worker of ``registration``, if any."""
        return self._queued.get(registration)

    def take(self, registration: int) -> int | None:
        """The trial id queued on that worker, no longer queued (it starts, or its worker is gone)."""
        return self._queued.pop(registration, None)

    def give_back(self, trial: Trial) -> None:
        """``trial`` was queued on a worker that died unstarted: first in line for the next worker."""
        trial.worker = None
        self._retries.appendleft(trial)

    def drop_queued(self, trials: dict[int, Trial]) -> None:
        """Stopping: forget the trials queued on workers that are still PENDING, removing them
        from ``trials`` (handed out ahead only, they leave no record). Their workers may start them
        anyway before they hear of the stop; :meth:`was_dropped` tells the driver to stop those."""
        for trial_id in self._queued.values():
            queued = trials.get(trial_id)
            if queued is not None and queued.state is TrialState.PENDING:
                del trials[trial_id]
                self._dropped.add(trial_id)

    def was_dropped(self, trial_id: int | None) -> bool:
        """Whether ``trial_id`` was queued on a worker and dropped when the experiment stopped."""
        return trial_id in self._dropped
