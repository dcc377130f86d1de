"""Parsing a magic's line: ``parse_argstring``, with a close match for each flag it does not know.

argparse answers ``%%lagom --trials 20`` with "unrecognized arguments: --trials 20" and, if a
required flag is missing too, with that instead. :func:`parse_magic_line` looks at the flags first
and names, in one line, each unknown one with the closest known flag (``difflib``), then parses
as ``parse_argstring`` does. Every magic built with ``@magic_arguments()`` parses through it.
"""

from __future__ import annotations

import argparse
import difflib
import re
from collections.abc import Callable, Iterable
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import parse_argstring
from IPython.utils.process import arg_split

__all__ = ["parse_magic_line", "unknown_flags"]

# What argparse takes for a negative number (a value), not a flag: its own _negative_number_matcher.
_NEGATIVE_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")


def parse_magic_line(magic: Callable[..., Any], line: str, *, help_magic: str) -> argparse.Namespace:
    """``parse_argstring(magic, line)``; UsageError, first, for flags the magic does not have.

    ``help_magic`` is how the user asks for the magic's help, without the ``?`` (``'%%lagom'``);
    the message ends by pointing there. A line whose quotes do not close is a UsageError too.
    """
    try:
        tokens = arg_split(line, strict=True)
    except ValueError as exc:  # shlex: "No closing quotation"
        raise UsageError(f"{help_magic} {line.strip()}: {str(exc).lower()}") from None
    parser: argparse.ArgumentParser = magic.parser  # type: ignore[attr-defined]  # set by @magic_arguments()
    unknown = unknown_flags(tokens, _option_strings(parser), parser.allow_abbrev)
    if unknown:
        raise UsageError(_unknown_message(unknown, _option_strings(parser), help_magic))
    return parse_argstring(magic, line)


def unknown_flags(tokens: Iterable[str], known: Iterable[str], allow_abbrev: bool = True) -> list[str]:
    """The flags among ``tokens`` (a split line) that are none of ``known``, in order, each once.

    As argparse reads them: ``--flag=value`` is the flag ``--flag``, a negative number is a value,
    everything after ``--`` is a value, and (``allow_abbrev``) a prefix of a known long flag is
    that flag. An ambiguous prefix is left to argparse, which names the candidates.
    """
    known = list(known)
    found: list[str] = []
    for token in tokens:
        if token == "--":
            break
        if not token.startswith("-") or token == "-" or _NEGATIVE_NUMBER.match(token):
            continue
        flag = token.split("=", 1)[0]
        if flag in known or flag in found:
            continue
        if allow_abbrev and flag.startswith("--") and any(k.startswith(flag) for k in known):
            continue
        found.append(flag)
    return found


def _option_strings(parser: argparse.ArgumentParser) -> list[str]:
    return [option for action in parser._actions for option in action.option_strings]


def _unknown_message(unknown: list[str], known: list[str], help_magic: str) -> str:
    """'unrecognized argument --trials: did you mean --num-trials?; %%lagom? lists every flag'."""
    longs = [k for k in known if k.startswith("--")]

    def closest(flag: str) -> str | None:
        # Compare without the dashes, and with '_' read as '-' (--num_trials is --num-trials).
        names = {k.lstrip("-"): k for k in longs}
        match = difflib.get_close_matches(flag.lstrip("-").replace("_", "-"), names, n=1, cutoff=0.6)
        return names[match[0]] if match else None

    hint = f"; {help_magic}? lists every flag"
    if len(unknown) == 1:
        match = closest(unknown[0])
        return f"unrecognized argument {unknown[0]}" + (f": did you mean {match}?" if match else "") + hint
    parts = [flag + (f" (did you mean {m}?)" if (m := closest(flag)) else "") for flag in unknown]
    return "unrecognized arguments " + ", ".join(parts) + hint
