"""The magics: ``%%searchspace``, ``%%ablation``, ``%%lagom`` / ``%lagom``, ``%maggy``, ``%searchspace_builder``.

Registered by ``%load_ext maggy_jupyter``. Each magic's docstring is its ``?`` help (with the
argument list appended by ``magic_arguments``). The work is in pure modules (``searchspace_syntax``,
``ablation_syntax``, ``parse``, ``experiments``); this class reads the shell (user namespace,
compiler, event loop).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import keyword
import sys
from collections.abc import Iterator
from typing import Any, cast

from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, cell_magic, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from maggy.searchspace import Searchspace
from maggy_jupyter.magics import experiments
from maggy_jupyter.magics.ablation_syntax import AblationSyntaxError, build_study
from maggy_jupyter.magics.arguments import parse_magic_line
from maggy_jupyter.magics.parse import (
    LagomConfig,
    defined_functions,
    lagom_arguments,
    lagom_config,
    unquote,
)
from maggy_jupyter.magics.results import BackgroundExperiment, LagomResult
from maggy_jupyter.magics.searchspace_syntax import SearchspaceSyntaxError, parse_searchspace


def _dataset_version(text: str) -> int | None:
    """``--version``: an int >= 1, or ``latest`` (None: the catalog's newest version)."""
    if text.strip().lower() == "latest":
        return None
    try:
        version = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a version: give 1, 2, ... or 'latest'") from None
    if version < 1:
        raise argparse.ArgumentTypeError(f"{version} is not a version: versions start at 1")
    return version


def _check_variable(name: str) -> str:
    if not name.isidentifier() or keyword.iskeyword(name):
        raise UsageError(f"{name!r} is not a valid variable name")
    return name


@contextlib.contextmanager
def _preparation_errors() -> Iterator[None]:
    """Errors of lagom's preparation (before any worker starts) as one-line UsageErrors.

    Preparation raises ValueError/TypeError for options that do not fit together (a training
    function that lacks a searchspace parameter, the resume of a running experiment, nothing left
    to run, ...), ExperimentNotFound for an unknown --resume / --warm-start id and RuntimeError
    (StoreError included) when this process already runs an experiment or the store cannot be
    written. Each message says what to change; maggy's frames would only hide it.
    """
    from maggy.store import ExperimentNotFound

    try:
        yield
    except ExperimentNotFound as exc:  # a mistake in the line
        raise UsageError(f"{exc} (here: %maggy list)") from None
    except (ValueError, TypeError, RuntimeError) as exc:
        raise UsageError(_one_line(str(exc)) or type(exc).__name__) from None


def _one_line(message: str) -> str:
    """A message on one line: a heading with a list of problems under it ('- a', '- b') as
    'heading: a; b'; other line breaks as '; '."""
    head, *items = [line.strip() for line in message.splitlines() if line.strip()] or [""]
    items = [item.lstrip("-* ").strip() for item in items]
    if not items:
        return head
    return head + (" " if head.endswith(":") else "; ") + "; ".join(items)


@magics_class
class MaggyMagics(Magics):
    """maggy's IPython magics; see each magic's ``?``."""

    @property
    def _shell(self) -> InteractiveShell:
        # Magics registered through %load_ext always have their shell; this tells type checkers so.
        assert self.shell is not None
        return self.shell

    @magic_arguments()
    @argument("name", metavar="NAME", help="variable to bind the Searchspace to")
    @cell_magic
    def searchspace(self, line: str, cell: str) -> None:
        """Declare a maggy Searchspace, one hyperparameter per line, and bind it to NAME.

        Each line is ``name: TYPE [values] [log]``:

            %%searchspace sp
            kernel:  INTEGER [2, 8]
            dropout: DOUBLE [0.01, 0.99]
            lr:      DOUBLE [1e-5, 1e-1] log      # log: sample uniformly in log space
            batch:   DISCRETE [16, 32, 64]
            act:     CATEGORICAL [relu, tanh, "leaky relu"]

        TYPE is DOUBLE or INTEGER (two bounds [lower, upper]; optional scale 'log' or 'linear'),
        DISCRETE (numbers) or CATEGORICAL (any values); any case. Values: numbers are numbers,
        True/False/None are Python's, quoted text is a string, other bare words are strings.
        '#' starts a comment; blank lines are ignored. Every bad line is reported with its number.
        """
        args = parse_magic_line(self.searchspace, line, help_magic="%%searchspace")
        name = _check_variable(args.name)
        try:
            space = parse_searchspace(cell)
        except SearchspaceSyntaxError as exc:
            raise UsageError(f"%%searchspace {name}:\n{exc}") from None
        self._shell.user_ns[name] = space

    @magic_arguments()
    @argument("name", metavar="NAME", help="variable to bind the AblationStudy to")
    @argument("--dataset", required=True, metavar="D", help="training dataset name (maggy.datasets)")
    @argument(
        "--version",
        type=_dataset_version,
        metavar="V",
        help="dataset version, 1, 2, ... (default: latest)",
    )
    @argument("--label", required=True, metavar="L", help="the label column of the dataset")
    @cell_magic
    def ablation(self, line: str, cell: str) -> None:
        """Declare a maggy AblationStudy, one declaration per line, and bind it to NAME.

            %%ablation study --dataset titanic_train_dataset --version 1 --label survived
            features:     pclass, fare
            layers:       my_dense_two, my_dense_three
            group:        my_dense_two, my_dense_four     # removed together, in one trial
            group prefix: my_dense                        # every layer named my_dense*
            base model:   base_model_generator            # a function of the notebook
            custom model: small = small_model             # one trial with small_model()

        then run it with %%lagom --ablation study (one trial per component left out, LOCO).

        Keys: features, layers, group, group prefix, base model, custom model (ID = fn, or just fn:
        the identifier is fn's name), dataset generator (fn(ablated_feature, epochs, batch_size)
        instead of the dataset catalog). Names are separated by commas; quote names that contain
        a comma or '#'. Functions are looked up by name in the notebook when this cell runs, so
        define them in an earlier cell. '#' starts a comment; every bad line is reported with its
        number. Whether the features and layers exist is checked when %%lagom starts.
        """
        args = parse_magic_line(self.ablation, line, help_magic="%%ablation")
        name = _check_variable(args.name)
        try:
            study = build_study(
                cell,
                self._shell.user_ns,
                training_dataset_name=unquote(args.dataset),
                training_dataset_version=args.version,
                label_name=unquote(args.label),
            )
        except AblationSyntaxError as exc:
            raise UsageError(f"%%ablation {name}:\n{exc}") from None
        except (ValueError, TypeError) as exc:  # AblationStudy's checks of --dataset / --label
            raise UsageError(f"%%ablation {name}: {exc}") from None
        self._shell.user_ns[name] = study

    @magic_arguments()
    @lagom_arguments
    @line_cell_magic
    def lagom(self, line: str, cell: str | None = None) -> LagomResult | BackgroundExperiment:
        """Run a maggy experiment (experiment.lagom) on the training function of the cell.

            %%lagom --searchspace sp --num-trials 20 --direction max
            def train(lr, dropout, reporter):
                ...
                return accuracy

        The cell runs in the notebook namespace first; the training function is the last function
        it defines, or --fn NAME. The line form runs a function defined earlier:

            %lagom train --searchspace sp --num-trials 20

        Every lagom() option has a flag (listed below); a flag left out keeps lagom()'s default,
        and the experiment name defaults to the function's name. The result dict goes to --out VAR (default _lagom) and the magic shows
        a short summary. Interrupting the kernel stops the experiment cleanly: VAR gets what it
        ran so far and the cell ends with one line saying so. Values may use {expressions} from the namespace: --num-trials {n}.
        With --async the experiment runs on the kernel's event loop while the notebook stays
        usable; the magic returns an awaitable and VAR is set when the experiment ends.

        For an ablation study (declared with %%ablation NAME), give --ablation NAME instead of
        --searchspace; the training function then takes (dataset_function, model_function,
        reporter), and --ablator picks the ablator ('loco', the default, leaves one component out
        per trial):

            %%lagom --ablation study --num-workers 2
            def train(dataset_function, model_function, reporter):
                ...

        To continue a stored experiment (its kernel died, it was stopped, or it needs more
        trials), give --resume ID (or a unique prefix): it keeps its id, name and trials, runs its
        LOST ones again and goes on to --num-trials; --searchspace and --optimizer default to its
        own. --warm-start ID1,ID2 teaches the optimizer other experiments' results first, and
        --initial-configs VAR (a list of params dicts) runs those configurations first:

            %%lagom --resume 20261205-1015 --num-trials 40
            def train(lr, dropout, reporter):
                ...
        """
        args = parse_magic_line(self.lagom, line, help_magic="%%lagom")
        functions = None if cell is None else self._run_body(cell)
        config = lagom_config(args, self._shell.user_ns, functions)
        if config.background:
            return self._start_background(config)
        from maggy import experiment
        from maggy.exceptions import ExperimentInterrupted

        with _preparation_errors():
            # lagom(**options) is _prepare(options)().execute(); split so that the checks and the
            # taking of this process's experiment slot, which come before any worker, say what
            # to change in one line, while an error of the running experiment keeps its traceback.
            run = experiment._prepare(config.options)()
        try:
            result = LagomResult(run.execute(), out=config.out)
        except ExperimentInterrupted as exc:
            # The interrupt still ends the cell as an error (so that a "run all" stops here),
            # shown as its one line, and the experiment's result is in VAR as after a normal end.
            exc.result = self._shell.user_ns[config.out] = LagomResult(exc.result, out=config.out)
            exc.where = f"the result dict is in {config.out}"
            raise
        self._shell.user_ns[config.out] = result
        return result

    def _run_body(self, cell: str) -> list[str]:
        """Run the cell body in the user namespace; the names of the functions it defines, in order.

        Compiled through the shell's caching compiler so that tracebacks and ``inspect.getsource``
        show the cell's lines.
        """
        source = self._shell.transform_cell(cell)
        compiler = self._shell.compile
        filename = compiler.cache(source, self._shell.execution_count, raw_code=cell)
        tree = cast(ast.Module, compiler.ast_parse(source, filename=filename))
        code = compiler(tree, filename, "exec")  # type: ignore[arg-type]  # compile() takes an AST too
        exec(code, self._shell.user_global_ns, self._shell.user_ns)
        return defined_functions(tree)

    def _start_background(self, config: LagomConfig) -> BackgroundExperiment:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise UsageError(
                "--async needs a running event loop, as in a Jupyter kernel; run without --async here"
            ) from None
        from maggy import experiment
        from maggy.exceptions import ExperimentInterrupted

        user_ns = self._shell.user_ns
        name = config.options.name
        with _preparation_errors():
            execute = experiment.run_async(config.options)  # checks now, runs when awaited

        async def run() -> LagomResult:
            return LagomResult(await execute, out=config.out)

        def finished(task: asyncio.Task[LagomResult]) -> None:
            if task.cancelled():
                print(f"maggy: experiment {name!r} cancelled; its trials: %maggy list", file=sys.stderr)
                return
            error = task.exception()  # also marks it retrieved: no "never retrieved" warning
            if error is None:
                user_ns[config.out] = task.result()
            elif isinstance(error, ExperimentInterrupted):
                user_ns[config.out] = LagomResult(error.result, out=config.out)
                print(f"{error.summary()}; the result dict is in {config.out}", file=sys.stderr)
            else:
                print(f"maggy: experiment {name!r} failed: {error!r}", file=sys.stderr)

        task = loop.create_task(run())
        task.add_done_callback(finished)
        return BackgroundExperiment(task, name, config.out)

    @magic_arguments()
    @argument("command", nargs="?", default="list", choices=("list", "show", "stop"), help="default: list")
    @argument("id", nargs="?", metavar="ID", help="experiment id, or a unique prefix of it")
    @argument("--limit", type=int, default=20, metavar="N", help="list: the newest N (default 20; 0: all)")
    @line_magic
    def maggy(self, line: str) -> None:
        """List, show and stop maggy experiments.

            %maggy list        experiments of the store, newest first; * marks this kernel's
            %maggy show ID     one experiment and its trials (ID: any unique prefix)
            %maggy stop [ID]   stop a running experiment of this kernel (ID optional if only one runs)

        The store is $MAGGY_HOME/experiments.db, else ~/.maggy/experiments.db; the `maggy` command
        line tool reads the same one (maggy experiments list/show/export).
        """
        args = parse_magic_line(self.maggy, line, help_magic="%maggy")
        if args.command == "show":
            if args.id is None:
                raise UsageError("%maggy show ID: which experiment? (see %maggy list)")
            print(experiments.show_experiment(args.id))
        elif args.command == "stop":
            print(experiments.stop_experiment(args.id))
        else:
            print(experiments.list_experiments(args.limit))

    @magic_arguments()
    @argument("name", metavar="NAME", help="variable to bind the Searchspace to (and to start from)")
    @line_magic
    def searchspace_builder(self, line: str) -> Any:
        """Show an interactive Searchspace builder bound to NAME.

        Rows of name, type, bounds or values and log scale, checked as you type; a preview of the
        Python code and of each parameter's sample distribution. NAME holds the Searchspace after
        every valid change; if NAME already holds one, the builder starts from it.
        """
        from maggy_jupyter.builder import SearchspaceBuilder

        args = parse_magic_line(self.searchspace_builder, line, help_magic="%searchspace_builder")
        name = _check_variable(args.name)
        existing = self._shell.user_ns.get(name)
        start = existing if isinstance(existing, Searchspace) else None
        return SearchspaceBuilder(start, name=name, namespace=self._shell.user_ns)
