"""What ``%%lagom`` returns: the result dict shown as a short summary, or a background experiment.

``LagomResult`` is the plain dict ``lagom`` returned (a dict subclass, so ``result['best_val']``,
``json.dumps(result)`` and ``==`` behave as for the Python API); only its notebook display is short.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class LagomResult(dict[str, Any]):
    """``experiment.lagom``'s result dict; displays as a few lines instead of the whole dict.

    ``out`` is the notebook variable it was bound to (for the hint in the summary), or None.
    """

    def __init__(self, result: dict[str, Any], out: str | None = None) -> None:
        super().__init__(result)
        self.out = out

    def summary(self) -> str:
        """Status, trial counts, duration, the best metric with its config (for an ablation: the
        base metric, each component's change and the most important one), and where to look next."""
        r = self
        extras = [f"{r.get(k, 0)} {label}" for k, label in _COUNTS if r.get(k)]
        lines = [
            f"experiment {r.get('experiment_id')}: {r.get('status', 'FINISHED')}, {r.get('num_trials')} trials"
            f" in {float(r.get('duration') or 0.0):.1f} s" + (f" ({', '.join(extras)})" if extras else "")
        ]
        if "deltas" in r:  # an ablation: what each component is worth is the answer
            lines.append(
                f"base {_fmt(r.get('base_val'))} (trial {r.get('base_id')}); change when removed: "
                + (", ".join(f"{k} {v:+.4g}" for k, v in r["deltas"].items()) or "none measured")
            )
            if r.get("most_important"):
                lines.append(f"most important: {r['most_important']}")
        elif r.get("failure"):  # FAILED: why, rather than "no metric"
            lines.append(f"failed: {r['failure']}")
        elif r.get("best_val") is None:
            lines.append("no trial reported a metric")
        else:
            config = ", ".join(f"{k}={_fmt(v)}" for k, v in (r.get("best_config") or {}).items())
            lines.append(f"best {_fmt(r['best_val'])} (trial {r.get('best_id')}): {config}")
        where = f"the result dict is in {self.out}; " if self.out else ""
        lines.append(f"{where}trials: %maggy show {r.get('experiment_id')}")
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text("LagomResult(...)" if cycle else self.summary())


_COUNTS = (("early_stopped", "early-stopped"), ("stopped", "stopped"), ("errors", "errors"), ("lost", "lost"))


class BackgroundExperiment:
    """An experiment started with ``%%lagom --async``: ``await`` it for the :class:`LagomResult`.

    Wraps the asyncio task running ``experiment.lagom_async`` on the kernel's event loop; the
    magic binds the result to its ``--out`` variable when the task ends.
    """

    def __init__(self, task: asyncio.Task[LagomResult], name: str, out: str) -> None:
        self.task = task
        self.name = name
        self.out = out

    def __await__(self) -> Generator[Any, None, LagomResult]:
        return self.task.__await__()

    def done(self) -> bool:
        """True once the experiment has ended (finished, stopped or failed)."""
        return self.task.done()

    def result(self) -> LagomResult:
        """The result; raises ``asyncio.InvalidStateError`` while running, or what the run raised."""
        return self.task.result()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        if self.task.done() and not self.task.cancelled() and self.task.exception() is None:
            printer.text(self.task.result().summary())
            return
        state = "cancelled" if self.task.cancelled() else "ended with an error" if self.done() else "running"
        printer.text(
            f"experiment {self.name!r} {state} in the background; the result dict goes to {self.out} "
            "when it ends (or: await this); see %maggy list, stop it with %maggy stop"
        )
