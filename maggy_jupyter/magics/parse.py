"""``%%lagom`` / ``%lagom`` arguments -> the :class:`~maggy.options.LagomOptions` of the experiment.

Pure: no shell, no execution. The magic parses its line with :func:`parse_lagom_line` (or
``parse_magic_line`` on itself, the same arguments), runs the cell body, then calls
:func:`lagom_config` with the user namespace; everything a user can get wrong in the line (an
unknown searchspace name, a function that is not there or not callable, a cell without a function,
an option's value that lagom would refuse) fails here with an IPython ``UsageError`` (shown
without a traceback) that says how to fix it.

The flags are generated from the fields of LagomOptions (``--num-trials`` for ``num_trials``, typed
and described by the field's :class:`~maggy.options.Option`), so every option has one and
``%%lagom?`` lists it. A flag left out leaves the option at lagom's own default; the exceptions are
``name``, which defaults to the training function's name so that ``%maggy list`` tells
experiments apart, and ``ablator``, which is ``'loco'`` whenever ``--ablation`` is given.
``--ablation NAME`` (an AblationStudy, e.g. from ``%%ablation``) replaces ``--searchspace``: it
sets ``experiment_type='ablation'`` and ``ablation_study``; the two flags exclude each other, and
``--optimizer`` belongs to ``--searchspace`` only. An option that takes an object (``--optimizer``,
``--es-policy``, ``--backend``, ``--listeners``, ``--initial-configs``) takes a built-in name or a
notebook variable. An option holding several ids (``--warm-start``) takes them separated by commas
(or blanks, quoted), and its flag may be repeated.

``--resume ID`` continues a stored experiment: ``--searchspace`` is then optional (lagom uses the
stored space and optimizer), and the name is left to lagom, which keeps the experiment's own
unless ``--name`` is given.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
import keyword
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, argument_group, magic_arguments

from maggy.ablation import AblationStudy
from maggy.options import GROUPS, LagomOptions, default_text, option_info
from maggy.searchspace import Searchspace
from maggy_jupyter.magics.arguments import parse_magic_line

__all__ = [
    "DEFAULT_OUT",
    "FLAGS",
    "LagomConfig",
    "defined_functions",
    "lagom_arguments",
    "lagom_config",
    "parse_lagom_line",
    "unquote",
]

DEFAULT_OUT = "_lagom"

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = dataclasses.fields(LagomOptions)

#: The flag of each LagomOptions field: ``--field-name``, except the three the magic reads itself.
#: ``--ablation NAME`` sets both ablation_study and experiment_type='ablation'.
FLAGS: dict[str, str] = {f.name: "--" + f.name.replace("_", "-") for f in _OPTIONS} | {
    "map_fun": "--fn",
    "ablation_study": "--ablation",
    "experiment_type": "--ablation",
}

# The flags whose meaning in the magic differs from the option's help (read by lagom_config itself).
_OWN_FLAGS = {
    "map_fun": argument(
        "--fn", metavar="NAME", help="the training function (default: the last one the cell defines)"
    ),
    "name": argument(
        "--name", help="experiment name (default: the function's name; with --resume the experiment's own)"
    ),
    "searchspace": argument(
        "--searchspace",
        metavar="NAME",
        help="variable holding the Searchspace (required, unless --ablation or --resume, which uses the "
        "stored one)",
    ),
    "ablation_study": argument(
        "--ablation",
        dest="ablation_study",
        metavar="NAME",
        help="variable holding an AblationStudy (%%%%ablation): run an ablation (experiment_type='ablation')",
    ),
    "ablator": argument(
        "--ablator", help="with --ablation: 'loco' (default) or a variable holding an ablator"
    ),
}


def _check_optimizer(value: str) -> None:
    from maggy.optimizer import get_optimizer

    get_optimizer(value)


def _check_policy(value: str) -> None:
    from maggy.earlystop import get_policy

    get_policy(value)


def _check_backend(value: str) -> None:
    if value not in ("local", "spark"):
        raise ValueError("use 'local' or 'spark'")


# Options whose flag takes a built-in name (checked by the function) or else a notebook variable.
_BUILTIN_NAMES: dict[str, Callable[[str], None]] = {
    "optimizer": _check_optimizer,
    "es_policy": _check_policy,
    "backend": _check_backend,
}


def _option_argument(f: dataclasses.Field[Any]) -> argument:
    """The flag of option ``f``, generated from its :class:`~maggy.options.Option`."""
    info = option_info(f)
    kwargs: dict[str, Any] = {"dest": f.name, "help": info.help.replace("%", "%%") + default_text(f)}
    if info.text is bool:
        kwargs["action"] = argparse.BooleanOptionalAction
    elif info.text is str and isinstance(f.default, tuple):  # several values: the flag may repeat
        kwargs.update(action="append", metavar=info.metavar)
        kwargs["help"] += "; the flag may be repeated"
    elif info.text is not None:
        kwargs["type"] = info.text
        kwargs.update({k: v for k, v in (("metavar", info.metavar), ("choices", info.choices)) if v})
    else:  # an object: a built-in name, or a variable of the notebook holding one
        kwargs["metavar"] = "NAME"
        kwargs["help"] += (
            "; NAME: " + ("one of these names, or " if f.name in _BUILTIN_NAMES else "") + "a variable"
        )
    return argument(FLAGS[f.name], **kwargs)


def _arguments() -> list[argument | argument_group]:
    """Every argument, in the order ``%%lagom?`` shows them: FUNC, the options by group, the notebook's."""
    arguments: list[argument | argument_group] = [
        argument("func", nargs="?", metavar="FUNC", help="line form: the training function, already defined")
    ]
    for group in GROUPS:
        arguments.append(argument_group(group))
        for f in _OPTIONS:
            if option_info(f).group == group and f.name != "experiment_type":  # --ablation sets that
                arguments.append(_OWN_FLAGS[f.name] if f.name in _OWN_FLAGS else _option_argument(f))
    return [
        *arguments,
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


_ARGUMENTS = _arguments()


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
    """Parse a ``%%lagom`` line (shell-like quoting); raises UsageError for bad flags or values
    (an unknown flag with the closest known one: ``--trials``, did you mean ``--num-trials``)."""
    return parse_magic_line(_PARSER_HOLDER, line, help_magic="%%lagom")


@dataclass(frozen=True)
class LagomConfig:
    """What the magic runs: ``experiment.run(options)``, result bound to ``out``."""

    options: LagomOptions
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
    """Translate parsed arguments (or a line) into the experiment's options, resolving names in ``namespace``.

    ``cell_functions`` is what :func:`defined_functions` found in the cell, after the cell ran;
    None for the line form, which needs FUNC (or ``--fn``). Raises UsageError for anything the
    user has to fix; ``namespace`` is only read.
    """
    if isinstance(args, str):
        args = parse_lagom_line(args)
    # IPython splits magic lines the non-POSIX way: quotes stay on the value ('two words' -> "'two words'").
    args = argparse.Namespace(
        **{k: [unquote(x) for x in v] if isinstance(v, list) else unquote(v) for k, v in vars(args).items()}
    )
    fn_name = _function_name(args, cell_functions)
    map_fun = _lookup_function(fn_name, namespace)
    kwargs: dict[str, Any] = {"map_fun": map_fun}
    if args.name is not None:
        kwargs["name"] = args.name
    elif args.resume is None:  # a resume keeps the experiment's name (lagom's default name says so)
        kwargs["name"] = getattr(map_fun, "__name__", fn_name)
    if args.ablation_study is not None:
        kwargs.update(_ablation_kwargs(args, namespace))
    else:
        if args.ablator is not None:
            raise UsageError("--ablator applies to ablation studies: give --ablation NAME too")
        if args.searchspace is not None or args.resume is None:
            kwargs["searchspace"] = _lookup_searchspace(args.searchspace, namespace)
    for f in _OPTIONS:
        value = getattr(args, f.name, None)
        if f.name not in kwargs and f.name not in _OWN_FLAGS and value is not None:
            kwargs[f.name] = _option_value(f, value, namespace)
    if not args.out.isidentifier() or keyword.iskeyword(args.out):
        raise UsageError(f"--out {args.out!r} is not a valid variable name")
    try:
        options = LagomOptions(**kwargs)
    except (ValueError, TypeError) as exc:  # each option's own check (maggy.options)
        raise UsageError(str(exc)) from None
    return LagomConfig(options=options, out=args.out, background=args.background, fn_name=fn_name)


def _option_value(f: dataclasses.Field[Any], value: Any, namespace: Mapping[str, Any]) -> Any:
    """The value of option ``f`` for the text its flag was given (already converted, if it has a type)."""
    if isinstance(value, list):  # a repeated flag (--warm-start a --warm-start b,c): one list of ids
        return " ".join(value)
    if option_info(f).text is not None:
        return value
    if f.name in _BUILTIN_NAMES:
        return _builtin_or_variable(FLAGS[f.name], value, namespace, _BUILTIN_NAMES[f.name])
    if value not in namespace:
        raise UsageError(f"{FLAGS[f.name]} {value!r}: no variable named {value!r} in the notebook")
    return namespace[value]


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
    available = _available(namespace, Searchspace, "%%searchspace NAME")
    if name is None:
        raise UsageError(
            f"--searchspace NAME is required; {available} (for an ablation study: --ablation NAME instead); "
            "--resume ID continues a stored experiment with its own"
        )
    space: Searchspace = _instance("--searchspace", "searchspace", name, namespace, Searchspace, available)
    return space


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
    study = _lookup_ablation(args.ablation_study, namespace)
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
    available = _available(namespace, AblationStudy, "%%ablation NAME --dataset D --label L")
    study: AblationStudy = _instance(
        "--ablation", "ablation study", name, namespace, AblationStudy, available
    )
    return study


def _available(namespace: Mapping[str, Any], cls: type, declare: str) -> str:
    """Which public variables of the notebook hold a ``cls``, for an error message."""
    names = sorted(k for k, v in namespace.items() if isinstance(v, cls) and not k.startswith("_"))
    if not names:
        return f"there is no {cls.__name__} in the notebook yet; declare one with {declare}"
    return f"{cls.__name__} variables in the notebook: {', '.join(names)}"


def _instance(
    flag: str, noun: str, name: str, namespace: Mapping[str, Any], cls: type, available: str
) -> Any:
    """The ``cls`` that notebook variable ``name`` holds, else a UsageError ending in ``available``."""
    if name not in namespace:
        raise UsageError(f"no {noun} named {name!r}; {available}")
    value = namespace[name]
    if not isinstance(value, cls):
        article = "an" if cls.__name__[0] in "AEIOU" else "a"
        raise UsageError(
            f"{flag} {name!r} is a {type(value).__name__}, not {article} {cls.__name__}; {available}"
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


def _did_you_mean(name: str, namespace: Mapping[str, Any]) -> str:
    callables = [k for k, v in namespace.items() if callable(v) and not k.startswith("_")]
    close = difflib.get_close_matches(name, callables, n=3)
    return f"; did you mean {', '.join(close)}?" if close else "; define it first, or check the spelling"
