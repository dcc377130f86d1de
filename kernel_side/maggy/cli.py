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
import datetime
import importlib
import json
import math
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from maggy import render

if TYPE_CHECKING:
    from maggy.experiments import Experiment
    from maggy.store import ExperimentRecord
    from maggy.trial import Trial

#: Experiments ``list`` shows when not given ``--limit`` (maggy.experiments.DEFAULT_LIST_LIMIT,
#: not imported from there so that ``--help`` loads no store).
DEFAULT_LIST_LIMIT = 20


class _UsageError(Exception):
    """A mistake on the command line; main() prints it on one line and returns 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would print the whole usage, then exit
        raise _UsageError(f"{message} (see '{self.prog} --help')")


# -- commands --------------------------------------------------------------------------------


def _get(args: argparse.Namespace, with_history: bool = True) -> Experiment:
    """The experiment ``args.id`` and its trials; no store is a usage error naming the fix."""
    from maggy.experiments import NoStore, get_experiment

    try:
        return get_experiment(args.id, args.store, with_history=with_history)
    except NoStore as e:
        raise _UsageError(f"{e} (pass --store PATH or set MAGGY_HOME)") from None


def _cmd_list(args: argparse.Namespace) -> int:
    from maggy.experiments import list_experiments

    limit = None if args.limit == 0 else args.limit
    listing = list_experiments(limit, args.store)
    if not listing.exists:
        print(f"no experiments yet (no store at {listing.path})")
        return 0
    if not listing.experiments:
        print(f"no experiments in {listing.path}")
        return 0
    colour = render.wants_colour()
    rows = [render.listing_row(e.record, e.summary, colour=colour) for e in listing.experiments]
    print(render.table(render.LIST_COLUMNS, rows))
    if listing.more:
        print(f"(newest {limit} shown; --limit 0 shows all)")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    # The listing needs no curves (the bulk of a store); one trial in full shows its own.
    found = _get(args, with_history=args.trial is not None)
    rec, trials = found.record, found.trials
    if args.trial is not None:
        match = [t for t in trials if t.trial_id == args.trial]
        if not match:
            ids = ", ".join(str(t.trial_id) for t in trials) or "none yet"
            raise _UsageError(f"experiment {rec.experiment_id} has no trial {args.trial} (trials: {ids})")
        print(render.trial_text(rec, match[0]))
        return 0
    print(render.experiment_text(rec, trials, colour=render.wants_colour()))
    return 0


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


def _iso_time(ts: float | None) -> str | None:
    """Unix seconds as ISO 8601 in UTC to the second (``2026-12-07T16:49:12Z``); None for None.

    What spreadsheets and ``pandas.read_csv(..., parse_dates=[...])`` read as a time, the same on
    every machine (local time would not be)."""
    if ts is None:
        return None
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_csv(out: TextIO, trials: Sequence[Trial]) -> None:
    """One row per trial; params as ``param_<name>`` columns in first-seen order; start and end as
    ISO 8601 UTC, duration in seconds (from the stored times, so finer than the two columns)."""
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
        writer.writerow(
            [t.trial_id, t.state.value, t.metric, _iso_time(t.start), _iso_time(t.end), duration, *params]
        )


def _cmd_export(args: argparse.Namespace) -> int:
    found = _get(args)
    rec, trials = found.record, found.trials
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


def _count(text: str) -> int:
    """argparse type of ``--limit``: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number, 0 or more, got {text!r}")
    return value


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
        type=_count,
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
        help="json: experiment and trials with histories; csv: one row per trial, params as param_<name> columns, start and end as ISO 8601 UTC times (default json)",
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
