"""The ``maggy`` command: look at past experiments, export them, run the demo.

    maggy [--store PATH] experiments list [--limit N]
    maggy [--store PATH] experiments show ID [--trial N]
    maggy [--store PATH] experiments export ID [--format json|csv] [-o FILE]
    maggy demo [ARGS...]

ID may be any unique prefix of an experiment id. The store is ``--store PATH``, else
``$MAGGY_HOME/experiments.db``, else ``~/.maggy/experiments.db`` (see :mod:`maggy.store`).
Errors a user can fix (unknown id, bad option, missing store) print one line to stderr and exit 2;
a traceback means a bug. The store is imported lazily so that ``maggy --help`` answers at once.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

if TYPE_CHECKING:
    from maggy.store import ExperimentRecord, ExperimentStore
    from maggy.trial import Trial

DEFAULT_LIST_LIMIT = 20


class _UsageError(Exception):
    """A mistake on the command line; main() prints it on one line and returns 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would print the whole usage, then exit
        raise _UsageError(f"{message} (see '{self.prog} --help')")


# -- formatting ------------------------------------------------------------------------------


def _fmt_time(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    s = int(seconds)
    return f"{s // 60}m{s % 60:02d}s" if s < 3600 else f"{s // 3600}h{s % 3600 // 60:02d}m"


def _fmt_num(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _fmt_params(params: dict[str, Any], width: int | None = 70) -> str:
    text = ", ".join(f"{k}={_fmt_num(v) if isinstance(v, float) else v}" for k, v in params.items())
    return _clip(text, width)


def _clip(text: str, width: int | None) -> str:
    return text if width is None or len(text) <= width else text[: width - 3] + "..."


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns aligned by the text's visible width (colour codes take no room)."""
    widths = [max(_width(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    lines = [
        "  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    ]
    return "\n".join(lines)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")

#: Terminal colours of experiment statuses (SGR codes): a FAILED run must not read as done.
_STATUS_COLOURS = {"FAILED": "31", "STOPPED": "33", "FINISHED": "32"}


def _width(text: str) -> int:
    return len(_ANSI.sub("", text))


def _status(status: str) -> str:
    """``status``, coloured when stdout is a terminal (and NO_COLOR is not set)."""
    code = _STATUS_COLOURS.get(status)
    if code is None or "NO_COLOR" in os.environ or not sys.stdout.isatty():
        return status
    return f"\x1b[{code}m{status}\x1b[0m"


def _best(trials: Sequence[Trial], direction: str) -> Trial | None:
    """The best FINISHED trial by metric: early-stopped and failed ones are not candidates."""
    from maggy.trial import TrialState

    done = [
        t
        for t in trials
        if t.state is TrialState.FINISHED and t.metric is not None and not math.isnan(t.metric)
    ]
    if not done:
        return None
    pick = min if direction == "min" else max
    return pick(done, key=lambda t: cast(float, t.metric))


def progress_text(record: ExperimentRecord, done: int, total: int) -> str:
    """'done/planned' for a listing: trials in a terminal state out of the planned (or stored) ones."""
    return f"{done}/{max(record.num_trials, total)}"


# -- commands --------------------------------------------------------------------------------


def _store_path(args: argparse.Namespace) -> Path:
    from maggy.store import default_store_path

    return Path(args.store).expanduser() if args.store else default_store_path()


def _open(args: argparse.Namespace) -> ExperimentStore | None:
    """The store opened read-only, or None when there is none yet: reading must not create an
    empty one, and must work on a read-only filesystem or a file the user may not write."""
    from maggy.store import open_store

    path = _store_path(args)
    return open_store(path, read_only=True) if path.exists() else None


def _open_required(args: argparse.Namespace) -> ExperimentStore:
    store = _open(args)
    if store is None:
        raise _UsageError(f"no experiment store at {_store_path(args)} (pass --store PATH or set MAGGY_HOME)")
    return store


def _close_abandoned(args: argparse.Namespace, records: Sequence[ExperimentRecord]) -> None:
    """Close experiments whose driver died (a killed kernel) before showing them: FAILED, with
    their running trials LOST (maggy.core.recovery). The only write of list/show/export, made
    through a second, writable store and only when there is such an experiment; where the store
    cannot be written (a read-only filesystem) they are shown as they are, with a note."""
    from maggy.core.recovery import close_abandoned, is_abandoned
    from maggy.store import StoreError, open_store

    abandoned = [r for r in records if is_abandoned(r)]
    if not abandoned:
        return
    path = _store_path(args)
    try:
        if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
            raise StoreError("the store is read-only here")
        with open_store(path) as writable:
            close_abandoned(writable, abandoned)
    except (StoreError, OSError) as e:
        ids = ", ".join(r.experiment_id for r in abandoned)
        print(
            f"maggy: note: {ids} left RUNNING by a driver that is gone; not closed as FAILED ({e})",
            file=sys.stderr,
        )


def _cmd_list(args: argparse.Namespace) -> int:
    store = _open(args)
    if store is None:
        print(f"no experiments yet (no store at {_store_path(args)})")
        return 0
    limit = None if args.limit == 0 else args.limit
    with store:
        # One more than shown, to know whether to say that there are more.
        records = store.list_experiments(None if limit is None else limit + 1)
        more = limit is not None and len(records) > limit
        _close_abandoned(args, records[:limit])
        rows = []
        for rec in records[:limit]:
            summary = store.trial_summary(rec.experiment_id, rec.direction)  # no histories read
            metric = (
                "-" if summary.best_metric is None else f"{_fmt_num(summary.best_metric)} ({rec.direction})"
            )
            progress = progress_text(rec, summary.done, summary.total)
            cells = (rec.name, rec.experiment_type, _status(rec.status), progress, metric)
            rows.append([rec.experiment_id, _clip(cells[0], 24), *cells[1:], _fmt_time(rec.start)])
    if not rows:
        print(f"no experiments in {_store_path(args)}")
        return 0
    print(_table(["ID", "NAME", "TYPE", "STATUS", "TRIALS", "BEST", "STARTED"], rows))
    if more:
        print(f"(newest {limit} shown; --limit 0 shows all)")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    with _open_required(args) as store:
        rec = store.get_experiment(args.id)
        _close_abandoned(args, [rec])
        # The listing needs no curves (the bulk of a store); one trial in full shows its own.
        trials = store.get_trials(rec.experiment_id, with_history=args.trial is not None)
    if args.trial is not None:
        match = [t for t in trials if t.trial_id == args.trial]
        if not match:
            ids = ", ".join(str(t.trial_id) for t in trials) or "none yet"
            raise _UsageError(f"experiment {rec.experiment_id} has no trial {args.trial} (trials: {ids})")
        print(_describe_trial(rec, match[0]))
        return 0
    print(_describe_experiment(rec, trials))
    if trials:
        print()
        rows = [
            [
                str(t.trial_id),
                t.state.value,
                _fmt_num(t.metric),
                _fmt_duration(t.duration),
                _fmt_params(t.params),
            ]
            for t in trials
        ]
        print(_table(["TRIAL", "STATE", "METRIC", "DURATION", "PARAMS"], rows))
    return 0


def _fields(pairs: Sequence[tuple[str, Any]]) -> str:
    """Aligned 'key  value' lines, skipping empty values."""
    pairs = [(k, v) for k, v in pairs if v not in (None, "", {}, [])]
    width = max(len(k) for k, _ in pairs)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in pairs)


def _json_line(obj: Any) -> str | None:
    return None if obj is None else json.dumps(obj, ensure_ascii=False, default=str)


def _describe_experiment(rec: ExperimentRecord, trials: Sequence[Trial]) -> str:
    states: dict[str, int] = {}
    for t in trials:
        states[t.state.value] = states.get(t.state.value, 0) + 1
    counts = ", ".join(f"{n} {s.lower().replace('_', ' ')}" for s, n in states.items())
    best = _best(trials, rec.direction)
    end = rec.end if rec.end is not None else (time.time() if rec.status == "RUNNING" else None)
    return _fields(
        [
            ("experiment", rec.experiment_id),
            ("name", rec.name),
            ("description", rec.description),
            ("type", rec.experiment_type),
            ("status", _status(rec.status)),
            ("failure", (rec.result or {}).get("failure")),
            ("first error", _first_error(trials)),
            ("optimizer", f"{rec.optimizer} ({rec.direction})"),
            (
                "trials",
                f"{progress_text(rec, sum(t.state.is_terminal for t in trials), len(trials))} done"
                + (f" ({counts})" if counts else ""),
            ),
            (
                "best",
                None
                if best is None
                else f"{_fmt_num(best.metric)} (trial {best.trial_id}: {_fmt_params(best.params, None)})",
            ),
            ("started", _fmt_time(rec.start)),
            ("ended", None if rec.end is None else _fmt_time(rec.end)),
            ("duration", None if end is None else _fmt_duration(end - rec.start)),
            ("searchspace", _json_line(rec.searchspace)),
            ("config", _json_line(rec.config or None)),
            ("result", _json_line(rec.result)),
        ]
    )


def _first_error(trials: Sequence[Trial]) -> str | None:
    """The first failed trial's last traceback lines, maggy's own frames left out, when no trial
    succeeded (then the error is the news; otherwise ``--trial N`` shows each one)."""
    from maggy.core.failure import all_failed, error_tail, first_error

    if all_failed(trials) is None:
        return None
    first = first_error(trials)
    if first is None or not first.error:
        return None
    return f"trial {first.trial_id}:\n" + "\n".join(f"    {x}" for x in error_tail(first.error).splitlines())


def _history_summary(history: Sequence[Sequence[float]]) -> str:
    if not history:
        return "no points"
    values = [(p[1], p[0]) for p in history if not math.isnan(p[1])]
    first, last = history[0], history[-1]
    text = f"{len(history)} point{'s' if len(history) != 1 else ''}, steps {_fmt_num(first[0])}..{_fmt_num(last[0])}"
    text += f"; last {_fmt_num(last[1])}"
    if values:
        (lo, lo_step), (hi, hi_step) = min(values), max(values)
        text += (
            f", min {_fmt_num(lo)} (step {_fmt_num(lo_step)}), max {_fmt_num(hi)} (step {_fmt_num(hi_step)})"
        )
    return text


def _describe_trial(rec: ExperimentRecord, trial: Trial) -> str:
    head = _fields(
        [
            ("trial", f"{trial.trial_id} of experiment {rec.experiment_id} ({rec.name})"),
            ("state", trial.state.value),
            ("metric", _fmt_num(trial.metric)),
            ("params", _fmt_params(trial.params, None) or "(none)"),
            ("worker", trial.worker),
            ("started", None if trial.start is None else _fmt_time(trial.start)),
            ("ended", None if trial.end is None else _fmt_time(trial.end)),
            ("duration", None if trial.start is None else _fmt_duration(trial.duration)),
            ("retry of", None if trial.retry_of is None else f"trial {trial.retry_of}"),
            ("budget", None if trial.budget is None else _fmt_num(trial.budget)),
            ("info", _json_line(trial.info or None)),
            ("history", _history_summary(trial.history)),
        ]
    )
    parts = [head, f"\nlogs ({len(trial.logs)} lines):" if trial.logs else "\nlogs: none"]
    parts += [f"  {line}" for line in trial.logs]
    if trial.error:
        parts += ["\nerror:", *(f"  {line}" for line in trial.error.rstrip("\n").splitlines())]
    return "\n".join(parts)


def _finite(obj: Any) -> Any:
    """A copy with NaN/inf replaced by None: strict JSON has no such numbers."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _write_json(out: TextIO, rec: ExperimentRecord, trials: Sequence[Trial]) -> None:
    """Strict JSON (NaN/inf become null); one trial per line so long histories stay scannable."""

    def dumps(obj: Any, indent: int | None = None) -> str:
        return json.dumps(_finite(obj), indent=indent, ensure_ascii=False, allow_nan=False)

    head = {"format": "maggy-experiment", "version": 1, "experiment": rec.to_dict()}
    body = ",\n".join(f"    {dumps(t.to_dict())}" for t in trials)
    # Splice the trial lines into the indented head, before its closing brace.
    out.write(
        dumps(head, indent=2)[:-2]
        + (f',\n  "trials": [\n{body}\n  ]\n}}\n' if body else ',\n  "trials": []\n}\n')
    )


def _write_csv(out: TextIO, trials: Sequence[Trial]) -> None:
    """One row per trial; params as ``param_<name>`` columns in first-seen order."""
    import csv

    names = list(dict.fromkeys(k for t in trials for k in t.params))
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["trial_id", "state", "metric", "start", "end", "duration", *(f"param_{n}" for n in names)]
    )
    for t in trials:
        duration = None if t.start is None or t.end is None else t.end - t.start
        # Lists/dicts as JSON so that a spreadsheet cell holds the whole value.
        params = [
            json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v
            for v in (t.params.get(n) for n in names)
        ]
        writer.writerow([t.trial_id, t.state.value, t.metric, t.start, t.end, duration, *params])


def _cmd_export(args: argparse.Namespace) -> int:
    with _open_required(args) as store:
        rec = store.get_experiment(args.id)
        _close_abandoned(args, [rec])
        trials = store.get_trials(rec.experiment_id)
    out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout  # noqa: SIM115
    try:
        if args.format == "json":
            _write_json(out, rec, trials)
        else:
            _write_csv(out, trials)
    finally:
        if out is not sys.stdout:
            out.close()
    if args.output:
        print(
            f"wrote experiment {rec.experiment_id} ({len(trials)} trials) to {args.output}", file=sys.stderr
        )
    return 0


def _run_demo(argv: list[str]) -> int:
    try:
        demo = importlib.import_module("maggy.demo")  # lazily: the demo pulls in the engine
    except ModuleNotFoundError as e:
        if e.name != "maggy.demo":
            raise
        raise _UsageError("the demo is not available in this installation") from None
    return int(demo.main(argv) or 0)


def _demo_args(argv: list[str]) -> list[str] | None:
    """The demo's own arguments when the command is ``maggy [--store P] demo ...``, else None.

    Handled before argparse, which cannot pass options such as ``--help`` through untouched.
    A global ``--store`` is forwarded to the demo.
    """
    i = 0
    while i < len(argv):
        if argv[i] == "--store" and i + 1 < len(argv):
            i += 2
        elif argv[i].startswith("--store="):
            i += 1
        else:
            break
    if i < len(argv) and argv[i] == "demo":
        return argv[:i] + argv[i + 1 :]
    return None


def _build_parser() -> _Parser:
    store_opt = _Parser(add_help=False)
    store_opt.add_argument("--store", metavar="PATH", default=argparse.SUPPRESS, help="experiment store file")
    parser = _Parser(prog="maggy", description="Look at maggy experiments recorded in the experiment store.")
    parser.add_argument(
        "--store",
        metavar="PATH",
        default=None,
        help="experiment store file (default: $MAGGY_HOME/experiments.db or ~/.maggy/experiments.db)",
    )
    parser.set_defaults(help_parser=parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("demo", help="run a small demo experiment (maggy demo --help)")
    experiments = commands.add_parser("experiments", help="list, show and export experiments")
    experiments.set_defaults(help_parser=experiments)  # `maggy experiments` alone prints its help
    actions = experiments.add_subparsers(dest="action", metavar="ACTION")

    p = actions.add_parser("list", parents=[store_opt], help="experiments, newest first")
    p.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIST_LIMIT,
        metavar="N",
        help=f"show the newest N (default {DEFAULT_LIST_LIMIT}; 0: all)",
    )
    p.set_defaults(func=_cmd_list)

    p = actions.add_parser("show", parents=[store_opt], help="one experiment and its trials")
    p.add_argument("id", metavar="ID", help="experiment id or a unique prefix of it")
    p.add_argument("--trial", type=int, metavar="N", help="show trial N in full: history, logs, traceback")
    p.set_defaults(func=_cmd_show)

    p = actions.add_parser("export", parents=[store_opt], help="write an experiment as JSON or CSV")
    p.add_argument("id", metavar="ID", help="experiment id or a unique prefix of it")
    p.add_argument(
        "--format",
        choices=("json", "csv"),
        default="json",
        help="json: experiment and trials with histories; csv: one row per trial, params as param_<name> columns, times as Unix seconds (default json)",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    p.set_defaults(func=_cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``maggy`` command with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        demo_args = _demo_args(args_list)
        if demo_args is not None:
            return _run_demo(demo_args)
        parser = _build_parser()
        try:
            args = parser.parse_args(args_list)
        except SystemExit as e:  # --help
            return int(e.code or 0)
        if not hasattr(args, "func"):  # a command group without its action
            args.help_parser.print_help(sys.stderr)
            return 2
        return int(args.func(args))
    except BrokenPipeError:  # e.g. `maggy experiments list | head`: the reader has had enough
        # Point stdout at devnull so that the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:
        if not _is_user_error(e):
            raise
        print(f"maggy: error: {e}", file=sys.stderr)
        return 2


def _is_user_error(e: Exception) -> bool:
    """Whether ``e`` is a mistake the user can fix (so: one line, no traceback)."""
    if isinstance(e, (_UsageError, OSError)):
        return True
    # Store errors can only come from an imported store; looking it up here keeps `--help` free of it.
    store = sys.modules.get("maggy.store")
    return store is not None and isinstance(e, (store.ExperimentNotFound, store.StoreError))


if __name__ == "__main__":
    sys.exit(main())
