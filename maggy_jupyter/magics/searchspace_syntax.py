"""The ``%%searchspace`` cell syntax: one hyperparameter per line, parsed into a ``maggy.Searchspace``.

Syntax (one declaration per line)::

    # comments and blank lines are ignored; a comment may also end a line
    kernel:  INTEGER     [2, 8]
    dropout: DOUBLE      [0.01, 0.99]
    lr:      DOUBLE      [1e-5, 1e-1]  log
    batch:   DISCRETE    [16, 32, 64]
    act:     CATEGORICAL [relu, tanh, "leaky relu"]

``NAME: TYPE [VALUES] [SCALE]`` where TYPE is DOUBLE, INTEGER, DISCRETE or CATEGORICAL (any case)
and SCALE, for DOUBLE and INTEGER only, is ``log`` or ``linear`` (the default). In VALUES, numbers
are numbers (``8`` an int, ``8.0`` and ``1e-3`` floats), ``True``/``False``/``None`` are those
Python values, quoted text is a string (use quotes for commas, ``#``, brackets or a word that would
otherwise read as a number), and any other bare word is a string.

Pure functions, no IPython: :func:`parse_searchspace` (text -> Searchspace) and
:func:`format_searchspace` (Searchspace -> text, its inverse).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

from maggy.searchspace import Searchspace
from maggy_jupyter.magics._lines import scan_lines, split_list, unquoted

__all__ = [
    "ParamLine",
    "SearchspaceSyntaxError",
    "format_searchspace",
    "format_value",
    "parse_lines",
    "parse_searchspace",
    "parse_value",
    "parse_values",
]

_INT = re.compile(r"[+-]?\d+(?:_\d+)*")
_FLOAT = re.compile(r"[+-]?(?:\d+(?:_\d+)*\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_KEYWORDS: dict[str, Any] = {"True": True, "False": False, "None": None}
# NAME ':' TYPE '[' ... ']' SCALE? ; the name is checked by Searchspace itself (its messages say why).
_DECLARATION = re.compile(r"(?P<name>[^:\s]+)\s*:\s*(?P<type>[A-Za-z_]\w*)\s*(?P<rest>.*)")
_EXAMPLE = (
    "write 'name: TYPE [values]', e.g. 'lr: DOUBLE [1e-4, 1e-1] log' or 'act: CATEGORICAL [relu, tanh]'"
)


class SearchspaceSyntaxError(ValueError):
    """One or more lines of a ``%%searchspace`` body are wrong.

    ``problems`` lists ``(lineno, line, message)`` for every bad line, 1-based line numbers within
    the cell body (0 for a problem of the whole body). ``str()`` names each line, quotes it and says
    what is wrong.
    """

    def __init__(self, problems: list[tuple[int, str, str]]) -> None:
        self.problems = problems
        super().__init__(
            "\n".join(
                f"line {lineno}: {line.strip()!r}: {message}" if lineno else message
                for lineno, line, message in problems
            )
        )


@dataclass(frozen=True)
class ParamLine:
    """One declaration as written: where it is, and the ``(type, values[, scale])`` it declares."""

    lineno: int
    line: str
    name: str
    type: str
    values: list[Any]
    scale: str | None = None

    def to_tuple(self) -> tuple[Any, ...]:
        """The value for ``Searchspace.add``."""
        if self.scale is None:
            return (self.type, list(self.values))
        return (self.type, list(self.values), self.scale)


def parse_value(token: str) -> Any:
    """One list item: quoted -> str, int/float literal -> number, True/False/None, else the bare word.

    Raises ValueError for an empty item or a malformed quoted string.
    """
    token = token.strip()
    if not token:
        raise ValueError("empty value (two commas in a row, or a trailing comma?)")
    if token[0] in "'\"":
        try:
            value = ast.literal_eval(token)
        except (ValueError, SyntaxError):
            raise ValueError(f"malformed quoted string {token}") from None
        if not isinstance(value, str):  # e.g. 'a' 'b' concatenates; anything else is not one string
            raise ValueError(f"malformed quoted string {token}")
        return value
    if _INT.fullmatch(token):
        return int(token)
    if _FLOAT.fullmatch(token):
        return float(token)
    return _KEYWORDS.get(token, token)


def _find(text: str, char: str) -> int:
    """Index of the first ``char`` outside quotes in ``text``, or -1."""
    return next((i for i, ch in unquoted(text) if ch == char), -1)


def parse_values(text: str) -> list[Any]:
    """The items of a list such as ``[relu, 'a, b', 3]`` (the brackets are optional).

    Commas inside quotes do not split. Raises ValueError for unbalanced brackets or quotes and for
    empty items; ``[]`` and the empty string give ``[]``.
    """
    return [parse_value(item) for item in split_list(text, "[]", "value list")]


def _strip_comment(line: str) -> str:
    """The line without a trailing ``# comment`` (a ``#`` inside quotes is kept)."""
    try:
        cut = _find(line, "#")
    except ValueError:  # an unclosed quote: keep the line whole and let the parser say what is wrong
        return line
    return line if cut < 0 else line[:cut]


def _parse_line(lineno: int, raw: str, code: str) -> ParamLine:
    """Parse one non-empty, comment-free line; raises ValueError saying what is wrong."""
    match = _DECLARATION.fullmatch(code.strip())
    if match is None:
        if ":" not in code:
            raise ValueError(f"missing ':' after the parameter name; {_EXAMPLE}")
        raise ValueError(
            f"expected a type name after ':' (DOUBLE, INTEGER, DISCRETE or CATEGORICAL); {_EXAMPLE}"
        )
    rest = match["rest"].strip()
    if not rest.startswith("["):
        raise ValueError(f"expected '[values]' after the type {match['type']}; {_EXAMPLE}")
    close = _find(rest, "]")
    if close < 0:
        raise ValueError("missing ']' at the end of the value list")
    values = parse_values(rest[: close + 1])
    tail = rest[close + 1 :].split()
    if len(tail) > 1:
        raise ValueError(f"unexpected text after the scale: {' '.join(tail[1:])!r}")
    scale = tail[0] if tail else None
    return ParamLine(lineno, raw, match["name"], match["type"], values, scale)


def _scan(text: str) -> tuple[list[ParamLine], list[tuple[int, str, str]]]:
    """The declarations that parse, and ``(lineno, line, message)`` for those that do not."""
    return scan_lines(text, _strip_comment, _parse_line)


def parse_lines(text: str) -> list[ParamLine]:
    """Every declaration of ``text`` in order, checking syntax only (not the regions).

    Raises SearchspaceSyntaxError listing every bad line.
    """
    lines, problems = _scan(text)
    if problems:
        raise SearchspaceSyntaxError(problems)
    return lines


def parse_searchspace(text: str) -> Searchspace:
    """Build the Searchspace that ``text`` declares (see the module docstring for the syntax).

    Raises SearchspaceSyntaxError naming every bad line, in order: syntax mistakes, and
    Searchspace's own validation messages (bad bounds, duplicate names, ...) with the line they
    come from. Text with no declaration at all is an error too: an empty search space cannot run.
    """
    declarations, problems = _scan(text)
    space = Searchspace()
    for decl in declarations:
        try:
            space.add(decl.name, decl.to_tuple())
        except ValueError as exc:
            problems.append((decl.lineno, decl.line, str(exc)))
    if problems:
        raise SearchspaceSyntaxError(sorted(problems))
    if len(space) == 0:
        raise SearchspaceSyntaxError([(0, "", f"no parameters declared; {_EXAMPLE}")])
    return space


def format_value(value: Any) -> str:
    """One value in the syntax :func:`parse_value` reads back to the same value."""
    if isinstance(value, str):
        bare = value.strip() == value and not set(value) & set(",#[]'\"\\")
        if bare and value and parse_value(value) == value:
            return value
    return repr(value)


def format_searchspace(space: Searchspace) -> str:
    """The ``%%searchspace`` body declaring ``space``: ``parse_searchspace(format_searchspace(sp)) == sp``."""
    items = space.items()
    width = max((len(item["name"]) for item in items), default=0) + 1
    lines = []
    for item in items:
        values = ", ".join(format_value(v) for v in item["values"])
        scale = "" if item["scale"] == "linear" else f" {item['scale']}"
        lines.append(f"{(item['name'] + ':').ljust(width)} {item['type']} [{values}]{scale}")
    return "\n".join(lines)
