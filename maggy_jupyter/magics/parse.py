"""``%%lagom`` / ``%lagom`` arguments -> the keyword arguments of ``experiment.lagom``.

Pure: no shell, no execution. The magic parses its line with :func:`parse_lagom_line` (or
``parse_argstring`` on itself, the same arguments), runs the cell body, then calls
:func:`lagom_config` with the user namespace; everything a user can get wrong in the line (an
unknown searchspace name, a function that is not there or not callable, a cell without a function)
fails here with an IPython ``UsageError`` (shown without a traceback) that says how to fix it.

A flag left out is left out of the kwargs too, so ``lagom``'s own defaults apply; the exceptions
are ``name``, which defaults to the training function's name so that ``%maggy list`` tells
experiments apart, and ``ablator``, which is ``'loco'`` whenever ``--ablation`` is given.
``--ablation NAME`` (an AblationStudy, e.g. from ``%%ablation``) replaces ``--searchspace``: it
sets ``experiment_type='ablation'`` and ``ablation_study``; the two flags exclude each other, and
``--optimizer`` belongs to ``--searchspace`` only. ``progress`` and ``listeners`` have no flag, the
notebook frontend decides those.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import keyword
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, argument_group, magic_arguments, parse_argstring

from maggy.ablation import AblationStudy
from maggy.searchspace import Searchspace

__all__ = [
    "DEFAULT_OUT",
    "LagomConfig",
    "defined_functions",
    "lagom_arguments",
    "lagom_config",
    "parse_lagom_line",
    "unquote",
]

DEFAULT_OUT = "_lagom"

F = TypeVar("F", bound=Callable[..., Any])

# In the order `%lagom?` shows them. dest names equal lagom()'s keyword names where they map 1:1.
_ARGUMENTS = [
    argument("func", nargs="?", metavar="FUNC", help="line form: the training function, already defined"),
    argument_group("experiment"),
    argument("--fn", metavar="NAME", help="the training function (default: the last one the cell defines)"),
    argument("--name", help="experiment name (default: the function's name)"),
    argument(
        "--searchspace", metavar="NAME", help="variable holding the Searchspace (required, unless --ablation)"
    ),
    argument(
        "--ablation", metavar="NAME", help="variable holding an AblationStudy (%%%%ablation): run an ablation"
    ),
    argument("--ablator", help="with --ablation: 'loco' (default) or a variable holding an ablator"),
    argument(
        "--optimizer",
        help="'randomsearch' (default), 'gridsearch', 'tpe', 'gp', 'asha', 'hyperband', or a variable holding an optimizer",
    ),
    argument("--num-trials", dest="num_trials", type=int, metavar="N", help="trials to run (default 1)"),
    argument("--direction", choices=("max", "min"), help="maximise (default) or minimise the metric"),
    argument("--description", help="a longer description, kept in the experiment store"),
    argument("--seed", type=int, help="random seed of the optimizer: same seed, same suggestions"),
    argument_group("early stopping"),
    argument(
        "--es-policy",
        dest="es_policy",
        help="'median' (default), 'percentile', 'none', or a variable holding a policy",
    ),
    argument(
        "--es-interval", dest="es_interval", type=float, metavar="SECONDS", help="check every SECONDS (300)"
    ),
    argument("--es-min", dest="es_min", type=int, metavar="N", help="finished trials before checking (10)"),
    argument_group("workers"),
    argument("--hb-interval", dest="hb_interval", type=float, metavar="SECONDS", help="heartbeat period (1)"),
    argument("--num-workers", dest="num_workers", type=int, metavar="N", help="workers (min(trials, CPUs))"),
    argument(
        "--trial-timeout", dest="trial_timeout", type=float, metavar="SECONDS", help="kill slower trials"
    ),
    argument("--max-retries", dest="max_retries", type=int, metavar="N", help="re-runs of a LOST trial (1)"),
    argument("--backend", help="'local' (default) or a variable holding a backend"),
    argument("--store", metavar="PATH", help="experiment store file (default $MAGGY_HOME/experiments.db)"),
    argument_group("notebook"),
    argument(
        "--out", default=DEFAULT_OUT, metavar="VAR", help=f"variable for the result dict ({DEFAULT_OUT})"
    ),
    argument(
        "--async",
        dest="background",
        action="store_true",
        help="run in the background (lagom_async); VAR is set when it ends, the magic returns an awaitable",
    ),
]

# Flags copied into lagom()'s kwargs unchanged when given.
_PLAIN: tuple[str, ...] = ("num_trials", "direction", "description", "seed", "es_interval", "es_min")
_PLAIN += ("hb_interval", "num_workers", "trial_timeout", "max_retries", "store")


def lagom_arguments(func: F) -> F:
    """Decorate a magic with every ``%%lagom`` argument (put ``@magic_arguments()`` above it)."""
    for decorator in reversed(_ARGUMENTS):  # construct_parser reverses again: source order
        func = decorator(func)
    return func


def _lagom(line: str) -> None:
    """Parser holder for :func:`parse_lagom_line`; the magic itself carries the user-facing help."""


_lagom.__name__ = "lagom"
_PARSER_HOLDER = magic_arguments()(lagom_arguments(_lagom))


def parse_lagom_line(line: str) -> argparse.Namespace:
    """Parse a ``%%lagom`` line (shell-like quoting); raises UsageError for bad flags or values."""
    return parse_argstring(_PARSER_HOLDER, line)


@dataclass(frozen=True)
class LagomConfig:
    """What the magic runs: ``experiment.lagom(**kwargs)``, result bound to ``out``."""

    kwargs: dict[str, Any]
    out: str
    background: bool
    fn_name: str


def defined_functions(source: str | ast.Module) -> list[str]:
    """Names of the functions defined at the top level of ``source`` (``def`` statements), in order.

    Raises SyntaxError for source that does not parse.
    """
    tree = ast.parse(source) if isinstance(source, str) else source
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]


def lagom_config(
    args: argparse.Namespace | str,
    namespace: Mapping[str, Any],
    cell_functions: Sequence[str] | None = None,
) -> LagomConfig:
    """Translate parsed arguments (or a line) into lagom kwargs, resolving names in ``namespace``.

    ``cell_functions`` is what :func:`defined_functions` found in the cell, after the cell ran;
    None for the line form, which needs FUNC (or ``--fn``). Raises UsageError for anything the
    user has to fix; ``namespace`` is only read.
    """
    if isinstance(args, str):
        args = parse_lagom_line(args)
    # IPython splits magic lines the non-POSIX way: quotes stay on the value ('two words' -> "'two words'").
    args = argparse.Namespace(**{k: unquote(v) for k, v in vars(args).items()})
    fn_name = _function_name(args, cell_functions)
    map_fun = _lookup_function(fn_name, namespace)
    kwargs: dict[str, Any] = {
        "map_fun": map_fun,
        "name": args.name if args.name is not None else getattr(map_fun, "__name__", fn_name),
    }
    if args.ablation is not None:
        kwargs.update(_ablation_kwargs(args, namespace))
    else:
        if args.ablator is not None:
            raise UsageError("--ablator applies to ablation studies: give --ablation NAME too")
        kwargs["searchspace"] = _lookup_searchspace(args.searchspace, namespace)
    kwargs.update({key: getattr(args, key) for key in _PLAIN if getattr(args, key) is not None})
    if args.optimizer is not None:
        kwargs["optimizer"] = _builtin_or_variable("--optimizer", args.optimizer, namespace, _check_optimizer)
    if args.es_policy is not None:
        kwargs["es_policy"] = _builtin_or_variable("--es-policy", args.es_policy, namespace, _check_policy)
    if args.backend is not None:
        kwargs["backend"] = _builtin_or_variable("--backend", args.backend, namespace, _check_backend)
    if not args.out.isidentifier() or keyword.iskeyword(args.out):
        raise UsageError(f"--out {args.out!r} is not a valid variable name")
    return LagomConfig(kwargs=kwargs, out=args.out, background=args.background, fn_name=fn_name)


def unquote(value: Any) -> Any:
    """A flag's value without the quotes IPython leaves on it (``'two words'``); other values as is."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _function_name(args: argparse.Namespace, cell_functions: Sequence[str] | None) -> str:
    if args.func and args.fn and args.func != args.fn:
        raise UsageError(f"two training functions given, {args.func!r} and --fn {args.fn!r}; give one")
    if args.func or args.fn:
        return args.func or args.fn
    if cell_functions is None:
        raise UsageError("name the training function: %lagom FUNC --searchspace NAME [flags]")
    if not cell_functions:
        raise UsageError(
            "the cell defines no function: define the training function in the cell "
            "(def train(lr, reporter): ...), or name one defined earlier with --fn NAME"
        )
    return cell_functions[-1]


def _lookup_function(name: str, namespace: Mapping[str, Any]) -> Callable[..., Any]:
    if name not in namespace:
        raise UsageError(f"no function named {name!r} in the notebook{_did_you_mean(name, namespace)}")
    fn = namespace[name]
    if not callable(fn):
        raise UsageError(
            f"{name!r} is a {type(fn).__name__}, not a function; "
            "pass the name of the training function (def train(...): ...)"
        )
    return fn


def _lookup_searchspace(name: str | None, namespace: Mapping[str, Any]) -> Searchspace:
    spaces = sorted(k for k, v in namespace.items() if isinstance(v, Searchspace) and not k.startswith("_"))
    available = (
        f"Searchspace variables in the notebook: {', '.join(spaces)}"
        if spaces
        else "there is no Searchspace in the notebook yet; declare one with %%searchspace NAME"
    )
    if name is None:
        raise UsageError(
            f"--searchspace NAME is required; {available} (for an ablation study: --ablation NAME instead)"
        )
    if name not in namespace:
        raise UsageError(f"no searchspace named {name!r}; {available}")
    value = namespace[name]
    if not isinstance(value, Searchspace):
        raise UsageError(
            f"--searchspace {name!r} is a {type(value).__name__}, not a Searchspace; {available}"
        )
    return value


def _ablation_kwargs(args: argparse.Namespace, namespace: Mapping[str, Any]) -> dict[str, Any]:
    """``experiment_type``, ``ablation_study`` and ``ablator`` for ``--ablation NAME [--ablator A]``."""
    # Both flags given is a mistake about what to run, not a choice lagom could make: say so here,
    # before the body's function is looked at, rather than lagom's "drop searchspace=" message.
    if args.searchspace is not None:
        raise UsageError(
            "give --searchspace NAME (hyperparameter optimization) or --ablation NAME (ablation study), not both"
        )
    if args.optimizer is not None:
        raise UsageError(
            "--optimizer is for --searchspace; an ablation's trials come from the study (choose --ablator)"
        )
    study = _lookup_ablation(args.ablation, namespace)
    ablator = "loco" if args.ablator is None else args.ablator

    def check_ablator(value: str) -> None:
        from maggy.ablation.ablator import get_ablator

        get_ablator(value, study)

    return {
        "experiment_type": "ablation",
        "ablation_study": study,
        "ablator": _builtin_or_variable("--ablator", ablator, namespace, check_ablator),
    }


def _lookup_ablation(name: str, namespace: Mapping[str, Any]) -> AblationStudy:
    studies = sorted(
        k for k, v in namespace.items() if isinstance(v, AblationStudy) and not k.startswith("_")
    )
    available = (
        f"AblationStudy variables in the notebook: {', '.join(studies)}"
        if studies
        else "there is no AblationStudy in the notebook yet; declare one with "
        "%%ablation NAME --dataset D --label L"
    )
    if name not in namespace:
        raise UsageError(f"no ablation study named {name!r}; {available}")
    value = namespace[name]
    if not isinstance(value, AblationStudy):
        raise UsageError(
            f"--ablation {name!r} is a {type(value).__name__}, not an AblationStudy; {available}"
        )
    return value


def _builtin_or_variable(
    flag: str, value: str, namespace: Mapping[str, Any], check: Callable[[str], None]
) -> Any:
    """A built-in name wins (passed on as the string); otherwise a notebook variable of that name."""
    try:
        check(value)
        return value
    except ValueError as exc:
        if value in namespace and not isinstance(namespace[value], str):
            return namespace[value]
        raise UsageError(f"{flag} {value!r}: {exc}, or the name of a variable holding one") from None


def _check_optimizer(value: str) -> None:
    from maggy.optimizer import get_optimizer

    get_optimizer(value)


def _check_policy(value: str) -> None:
    from maggy.earlystop import get_policy

    get_policy(value)


def _check_backend(value: str) -> None:
    if value != "local":
        raise ValueError("use 'local'")


def _did_you_mean(name: str, namespace: Mapping[str, Any]) -> str:
    callables = [k for k, v in namespace.items() if callable(v) and not k.startswith("_")]
    close = difflib.get_close_matches(name, callables, n=3)
    return f"; did you mean {', '.join(close)}?" if close else "; define it first, or check the spelling"
