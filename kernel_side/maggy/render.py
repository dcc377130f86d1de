"""Experiments as text: the one renderer behind ``maggy experiments list|show`` and ``%maggy list|show``.

Pure functions of store records and trials (no store access, no printing), so the command line
and the notebook show an experiment the same way. Light to import (no store, no SQLite): the
``maggy`` command imports it before it knows whether it will read anything.

Colour: statuses are coloured (ANSI SGR) only when the caller asks, which the command line does
when stdout is a terminal (:func:`wants_colour`); column widths ignore the colour codes.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from maggy.store import ExperimentRecord, TrialSummary
    from maggy.trial import Trial

#: Terminal colours of experiment statuses (SGR codes): a FAILED run must not read as done.
_STATUS_COLOURS = {"FAILED": "31", "STOPPED": "33", "FINISHED": "32"}

_ANSI = re.compile(r"\x1b\[[0-9;]*m")

#: The columns :func:`listing_row` knows, in the command line's order.
LIST_COLUMNS = ("ID", "NAME", "TYPE", "STATUS", "TRIALS", "BEST", "STARTED")

#: Widest experiment name shown in a listing.
NAME_WIDTH = 24


# -- values ----------------------------------------------------------------------------------


def fmt_time(ts: float | None) -> str:
    """Local time to the second; '-' for None."""
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def fmt_duration(seconds: float | None) -> str:
    """'4.2s', '3m05s' or '2h07m'; '-' for None."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    s = int(seconds)
    return f"{s // 60}m{s % 60:02d}s" if s < 3600 else f"{s // 3600}h{s % 3600 // 60:02d}m"


def fmt_num(value: float | None) -> str:
    """Six significant digits; '-' for None."""
    return "-" if value is None else f"{value:.6g}"


def fmt_params(params: dict[str, Any], width: int | None = 70) -> str:
    """'lr=0.01, units=64', clipped to ``width`` characters (None: whole)."""
    text = ", ".join(f"{k}={fmt_num(v) if isinstance(v, float) else v}" for k, v in params.items())
    return clip(text, width)


def clip(text: str, width: int | None) -> str:
    """``text`` cut to ``width`` characters with '...' (None: whole)."""
    return text if width is None or len(text) <= width else text[: width - 3] + "..."


def progress_text(record: ExperimentRecord, done: int, total: int) -> str:
    """'done/planned' for a listing: trials in a terminal state out of the planned (or stored) ones."""
    return f"{done}/{max(record.num_trials, total)}"


def wants_colour(stream: TextIO | None = None) -> bool:
    """Whether to colour text for ``stream`` (default stdout): a terminal, and NO_COLOR unset."""
    stream = sys.stdout if stream is None else stream
    return "NO_COLOR" not in os.environ and stream.isatty()


def status_text(status: str, colour: bool = False) -> str:
    """``status``, coloured when ``colour`` is true and the status has a colour."""
    code = _STATUS_COLOURS.get(status)
    return status if code is None or not colour else f"\x1b[{code}m{status}\x1b[0m"


# -- layout ----------------------------------------------------------------------------------


def _width(text: str) -> int:
    return len(_ANSI.sub("", text))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns aligned by the text's visible width (colour codes take no room); no trailing blanks."""
    widths = [max(_width(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    lines = [
        "  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    ]
    return "\n".join(lines)


def fields(pairs: Sequence[tuple[str, Any]]) -> str:
    """Aligned 'key  value' lines, skipping empty values."""
    pairs = [(k, v) for k, v in pairs if v not in (None, "", {}, [])]
    width = max(len(k) for k, _ in pairs)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in pairs)


def _json_line(obj: Any) -> str | None:
    return None if obj is None else json.dumps(obj, ensure_ascii=False, default=str)


def section(title: str, pairs: Sequence[tuple[str, str | None]]) -> str | None:
    """``title``, then its aligned 'key  value' lines indented by two; None when no value is left."""
    pairs = [(k, v) for k, v in pairs if v not in (None, "", {}, [])]
    if not pairs:
        return None
    return title + "\n" + "\n".join(f"  {line}" for line in fields(pairs).splitlines())


def value_text(value: Any, width: int | None = 70) -> str:
    """A stored value (a JSON-like tree) as readable text, not JSON: numbers as :func:`fmt_num`,
    a dict as 'k=v, k=v', a list as 'a, b, c'; nested ones in parentheses. A list that does not
    fit in ``width`` characters keeps the items that do, then '... (N values)'."""
    if isinstance(value, dict):
        return clip(", ".join(f"{k}={_nested(v)}" for k, v in value.items()), width)
    if isinstance(value, (list, tuple)):
        items = [_nested(v) for v in value]
        text = ", ".join(items)
        if width is None or len(text) <= width:
            return text
        more = f", ... ({len(items)} values)"
        kept: list[str] = []
        for item in items:
            if len(", ".join([*kept, item])) + len(more) > width:
                break
            kept.append(item)
        return ", ".join(kept) + more if kept else clip(text, width)
    return _scalar(value)


def _readable(mapping: dict[str, Any] | None) -> list[tuple[str, str | None]]:
    """``(key, text)`` of each entry (:func:`value_text`, or the key's own form: a duration, the
    driver process); None (not set) stays None, so that it is left out."""
    pairs: list[tuple[str, str | None]] = []
    for key, value in (mapping or {}).items():
        own = _OWN_FORM.get(key)
        text = own(value) if own is not None and value is not None else None
        if text is None and value is not None:
            text = value_text(value)
        pairs.append((key, text))
    return pairs


def _driver_text(driver: Any) -> str | None:
    # config["driver"] (maggy.core.recovery.driver_identity): its "started" is in clock ticks, for
    # maggy's own liveness check only.
    if isinstance(driver, dict) and "pid" in driver:
        return f"pid {driver['pid']} on {driver.get('host', '?')}"
    return None


def _duration_text(seconds: Any) -> str | None:
    is_number = isinstance(seconds, (int, float)) and not isinstance(seconds, bool)
    return fmt_duration(float(seconds)) if is_number else None


#: Keys shown in a form of their own (None from the function: the generic form after all).
_OWN_FORM: dict[str, Callable[[Any], str | None]] = {"driver": _driver_text, "duration": _duration_text}


def _nested(value: Any) -> str:
    if isinstance(value, (dict, list, tuple)):
        return f"({value_text(value, None)})" if value else "()"
    return _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, float):
        return fmt_num(value)
    return str(value)


def _choice(value: Any) -> str:
    """A searchspace value as ``%%searchspace`` writes it: bare words bare, other text quoted."""
    if isinstance(value, str) and not (
        _BARE_WORD.fullmatch(value) and value not in ("True", "False", "None") and not _is_number(value)
    ):
        return repr(value)
    return repr(value) if isinstance(value, float) else str(value)


_BARE_WORD = re.compile(r"[A-Za-z_][\w.\-]*")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def searchspace_lines(searchspace: dict[str, Any] | None) -> list[tuple[str, str]]:
    """``(name, 'TYPE [values] [log]')`` for each parameter of a stored searchspace
    (``Searchspace.to_dict()``: ``{name: [type, values]}``, plus ``'log'`` for a log scale)."""
    lines = []
    for name, spec in (searchspace or {}).items():
        kind, values, *scale = spec
        text = f"{kind} [{', '.join(_choice(v) for v in values)}]"
        lines.append((name, " ".join([text, *map(str, scale)])))
    return lines


# -- experiments -----------------------------------------------------------------------------


def listing_row(
    record: ExperimentRecord,
    summary: TrialSummary,
    columns: Sequence[str] = LIST_COLUMNS,
    colour: bool = False,
) -> list[str]:
    """One experiment's cells for a listing, for ``columns`` (names from :data:`LIST_COLUMNS`)."""
    best = summary.best_metric
    cells = {
        "ID": record.experiment_id,
        "NAME": clip(record.name, NAME_WIDTH),
        "TYPE": record.experiment_type,
        "STATUS": status_text(record.status, colour),
        "TRIALS": progress_text(record, summary.done, summary.total),
        "BEST": "-" if best is None else f"{fmt_num(best)} ({record.direction})",
        "STARTED": fmt_time(record.start),
    }
    unknown = [c for c in columns if c not in cells]
    if unknown:
        raise ValueError(f"unknown listing columns {unknown}; known: {', '.join(LIST_COLUMNS)}")
    return [cells[c] for c in columns]


def experiment_text(
    record: ExperimentRecord, trials: Sequence[Trial], colour: bool = False, full: bool = True
) -> str:
    """One experiment: its fields, then a table of its trials (when it has any).

    The best trial is maggy's one rule (:func:`maggy.core.result.best_trial`). ``full`` adds the
    searchspace, config and result, each a section of aligned 'key  value' lines (the command
    line; the notebook has the result dict itself). Blocks are separated by blank lines, the
    trials table last. ``colour`` colours the status.
    """
    text = _experiment_fields(record, trials, colour, full)
    if trials:
        text += "\n\n" + trials_table(trials)
    return text


def _experiment_fields(rec: ExperimentRecord, trials: Sequence[Trial], colour: bool, full: bool) -> str:
    from maggy.core.result import best_trial

    best = best_trial(trials, rec.direction)
    states: dict[str, int] = {}
    for t in trials:
        states[t.state.value] = states.get(t.state.value, 0) + 1
    counts = ", ".join(f"{n} {s.lower().replace('_', ' ')}" for s, n in states.items())
    end = rec.end if rec.end is not None else (time.time() if rec.status == "RUNNING" else None)
    done = progress_text(rec, sum(t.state.is_terminal for t in trials), len(trials))
    pairs: list[tuple[str, Any]] = [
        ("experiment", rec.experiment_id),
        ("name", rec.name),
        ("description", rec.description),
        ("type", rec.experiment_type),
        ("status", status_text(rec.status, colour)),
        ("failure", (rec.result or {}).get("failure")),
        ("first error", _first_error(trials)),
        ("optimizer", f"{rec.optimizer} ({rec.direction})"),
        ("trials", f"{done} done" + (f" ({counts})" if counts else "")),
        (
            "best",
            None
            if best is None
            else f"{fmt_num(best.metric)} (trial {best.trial_id}: {fmt_params(best.params, None)})",
        ),
        ("started", fmt_time(rec.start)),
        ("ended", None if rec.end is None else fmt_time(rec.end)),
        ("duration", None if end is None else fmt_duration(end - rec.start)),
    ]
    text = fields(pairs)
    if full:  # readable sections; `maggy experiments export` has them as JSON
        sections = [
            section("searchspace", searchspace_lines(rec.searchspace)),
            section("config", _readable(rec.config)),
            section("result", _readable(rec.result)),
        ]
        text += "".join(f"\n\n{block}" for block in sections if block is not None)
    return text


def trials_table(trials: Sequence[Trial]) -> str:
    """A row per trial: id, state, metric, duration, params (clipped)."""
    rows = [
        [str(t.trial_id), t.state.value, fmt_num(t.metric), fmt_duration(t.duration), fmt_params(t.params)]
        for t in trials
    ]
    return table(["TRIAL", "STATE", "METRIC", "DURATION", "PARAMS"], rows)


def _first_error(trials: Sequence[Trial]) -> str | None:
    """The first failed trial's last traceback lines, maggy's own frames left out, when no trial
    succeeded (then the error is the news; otherwise each trial's own view shows it)."""
    from maggy.core.failure import all_failed, error_tail, first_error

    if all_failed(trials) is None:
        return None
    first = first_error(trials)
    if first is None or not first.error:
        return None
    return f"trial {first.trial_id}:\n" + "\n".join(f"    {x}" for x in error_tail(first.error).splitlines())


# -- one trial -------------------------------------------------------------------------------


def _history_summary(history: Sequence[Sequence[float]]) -> str:
    if not history:
        return "no points"
    values = [(p[1], p[0]) for p in history if not math.isnan(p[1])]
    first, last = history[0], history[-1]
    text = f"{len(history)} point{'s' if len(history) != 1 else ''}, steps {fmt_num(first[0])}..{fmt_num(last[0])}"
    text += f"; last {fmt_num(last[1])}"
    if values:
        (lo, lo_step), (hi, hi_step) = min(values), max(values)
        text += f", min {fmt_num(lo)} (step {fmt_num(lo_step)}), max {fmt_num(hi)} (step {fmt_num(hi_step)})"
    return text


def trial_text(record: ExperimentRecord, trial: Trial) -> str:
    """One trial in full: fields, a summary of its history, its logs and its traceback."""
    head = fields(
        [
            ("trial", f"{trial.trial_id} of experiment {record.experiment_id} ({record.name})"),
            ("state", trial.state.value),
            ("metric", fmt_num(trial.metric)),
            ("params", fmt_params(trial.params, None) or "(none)"),
            ("worker", trial.worker),
            ("started", None if trial.start is None else fmt_time(trial.start)),
            ("ended", None if trial.end is None else fmt_time(trial.end)),
            ("duration", None if trial.start is None else fmt_duration(trial.duration)),
            ("retry of", None if trial.retry_of is None else f"trial {trial.retry_of}"),
            ("budget", None if trial.budget is None else fmt_num(trial.budget)),
            ("info", _json_line(trial.info or None)),
            ("history", _history_summary(trial.history)),
        ]
    )
    parts = [head, f"\nlogs ({len(trial.logs)} lines):" if trial.logs else "\nlogs: none"]
    parts += [f"  {line}" for line in trial.logs]
    if trial.error:
        parts += ["\nerror:", *(f"  {line}" for line in trial.error.rstrip("\n").splitlines())]
    return "\n".join(parts)
