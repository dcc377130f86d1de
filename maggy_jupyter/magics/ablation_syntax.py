"""The ``%%ablation`` cell syntax: one declaration per line, applied to a ``maggy.ablation.AblationStudy``.

Syntax (one ``KEY: VALUE`` declaration per line)::

    # comments and blank lines are ignored; a comment may also end a line
    features:          pclass, fare                   # one trial per feature left out
    layers:            my_dense_two, my_dense_three   # one trial per layer left out
    group:             my_dense_two, my_dense_four    # one trial without these layers together
    group prefix:      my_dense                       # one trial without every layer named my_dense*
    base model:        base_model_generator           # a function of the notebook, by name
    custom model:      small = small_model            # one trial with small_model(), labelled model:small
    custom model:      wide_model                     # the identifier defaults to the function's name
    dataset generator: make_dataset                   # instead of the dataset catalog

Each line is one call of the AblationStudy API (``study`` below):

- ``features: A, B`` (or ``feature:``): ``study.features.include('A', 'B')``
- ``layers: A, B`` (or ``layer:``): ``study.model.layers.include('A', 'B')``
- ``group: A, B``: ``study.model.layers.include_groups(['A', 'B'])``, two or more layers
- ``group prefix: P`` (or ``prefix:``): ``study.model.layers.include_groups(prefix='P')``
- ``base model: fn``: ``study.model.set_base_model_generator(fn)``, at most once
- ``custom model: I = fn``: ``study.model.add_custom_model_generator(fn, 'I')``; ``I =`` optional
- ``dataset generator: fn``: ``study.set_dataset_generator(fn)``, at most once

Keys are case-insensitive, and ``_`` or ``-`` may stand for the space (``base_model:``). A key may
repeat (``features:`` on two lines includes both lists), except the two that set one function.

Names (features, layers, prefixes, custom model identifiers) are separated by commas, in optional
brackets (``[a, b]``); a bare name is the text as written, surrounding spaces stripped, and quoted
text (``'a, b'``) is taken literally: quote names that contain a comma, ``#``, ``=``, a bracket or
a quote. Functions are Python names, dotted for attributes (``models.base``), looked up in the
namespace when the study is built, so define them in an earlier cell.

Pure functions, no IPython: :func:`parse_lines` (text -> declarations, syntax only),
:func:`apply_lines` (declarations -> calls on a study) and :func:`build_study` (both, on a new
AblationStudy). Every bad line is reported at once, by number, with AblationStudy's own messages
for what it rejects (a feature equal to the label, a group of one layer, a duplicate identifier).
What needs the data or the model (do the features and layers exist?) is checked by ``lagom``.
"""

from __future__ import annotations

import ast
import difflib
import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from maggy.ablation import AblationStudy
from maggy_jupyter.magics._lines import scan_lines, split_list, unquoted

__all__ = [
    "BASE_MODEL",
    "CUSTOM_MODEL",
    "DATASET_GENERATOR",
    "FEATURES",
    "GROUP",
    "GROUP_PREFIX",
    "KEYS",
    "LAYERS",
    "AblationLine",
    "AblationSyntaxError",
    "apply_lines",
    "build_study",
    "parse_lines",
    "parse_names",
    "resolve_reference",
]

# Canonical keys, in the order the docstring (and every "use one of" message) lists them.
FEATURES = "features"
LAYERS = "layers"
GROUP = "group"
GROUP_PREFIX = "group prefix"
BASE_MODEL = "base model"
CUSTOM_MODEL = "custom model"
DATASET_GENERATOR = "dataset generator"
KEYS = (FEATURES, LAYERS, GROUP, GROUP_PREFIX, BASE_MODEL, CUSTOM_MODEL, DATASET_GENERATOR)

# Spellings users reach for (singular, the API's "..._generator" names) -> canonical key.
_ALIASES: dict[str, str] = {
    **{key: key for key in KEYS},
    "feature": FEATURES,
    "layer": LAYERS,
    "prefix": GROUP_PREFIX,
    "base model generator": BASE_MODEL,
    "custom model generator": CUSTOM_MODEL,
}
# Keys whose value is a list of names; the others name exactly one thing.
_LISTS = (FEATURES, LAYERS, GROUP)
# Keys that set a single function on the study: a second line would silently replace the first.
_ONCE = (BASE_MODEL, DATASET_GENERATOR)
_EXAMPLE = "write 'key: value', e.g. 'features: pclass, fare' or 'base model: base_model_generator'"


class AblationSyntaxError(ValueError):
    """One or more lines of an ``%%ablation`` body are wrong.

    ``problems`` lists ``(lineno, line, message)`` for every bad line, 1-based line numbers within
    the cell body, sorted by line. ``str()`` names each line, quotes it and says what is wrong (the
    same shape as ``SearchspaceSyntaxError``, so both magics read alike).
    """

    def __init__(self, problems: list[tuple[int, str, str]]) -> None:
        self.problems = sorted(problems)
        super().__init__(
            "\n".join(
                f"line {lineno}: {line.strip()!r}: {message}" for lineno, line, message in self.problems
            )
        )


@dataclass(frozen=True)
class AblationLine:
    """One declaration as written: where it is, its canonical ``key`` (one of KEYS) and its values.

    ``names`` are the features, layers or group members for the list keys, ``(prefix,)`` for
    ``group prefix``, and ``(function_name,)`` for the keys naming a function. ``identifier`` is
    the custom model's identifier (``custom model`` only, else None).
    """

    lineno: int
    line: str
    key: str
    names: tuple[str, ...]
    identifier: str | None = None


def _strip_comment(line: str) -> str:
    """The line without a trailing ``# comment`` (a ``#`` inside quotes is kept)."""
    try:
        cut = next((i for i, ch in unquoted(line) if ch == "#"), -1)
    except ValueError:  # an unclosed quote: keep the line whole, the value parser says what is wrong
        return line
    return line if cut < 0 else line[:cut]


def _name(token: str) -> str:
    """One name: quoted text literally, else the bare text stripped; ValueError when empty."""
    token = token.strip()
    if not token:
        raise ValueError("empty name (two commas in a row, or a trailing comma?)")
    if token[0] in "'\"":
        try:
            value = ast.literal_eval(token)
        except (ValueError, SyntaxError):
            raise ValueError(f"malformed quoted name {token}") from None
        if not isinstance(value, str) or not value:  # 'a' 'b' concatenates; '' names nothing
            raise ValueError(f"malformed quoted name {token}")
        return value
    return token


def parse_names(text: str) -> list[str]:
    """The names of a list such as ``pclass, 'a, b'`` or ``[pclass, fare]`` (brackets optional).

    Commas inside quotes do not split. ValueError for unbalanced brackets or quotes and for empty
    names; the empty string (or ``[]``) gives ``[]``.
    """
    return [_name(item) for item in split_list(text, "[]=", "list")]


_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)*")


def _reference(key: str, text: str) -> str:
    """A function's name as written after ``key``: a (dotted) Python name; ValueError otherwise."""
    text = text.strip()
    if not text:
        raise ValueError(f"{key} needs the name of a function defined in the notebook")
    if "," in text:
        raise ValueError(f"{key} takes one function name, got {text!r}")
    if not _DOTTED.fullmatch(text) or any(keyword.iskeyword(p.strip()) for p in text.split(".")):
        raise ValueError(
            f"{text!r} is not a Python name; write the name of a function defined in the notebook "
            "(def fn(): ...), not a call or an expression"
        )
    return re.sub(r"\s+", "", text)


def _normalise_key(raw: str) -> str:
    # Users write "base model", "base_model", "Base-Model": all the same key.
    return " ".join(re.sub(r"[_\-]", " ", raw).lower().split())


def _parse_line(lineno: int, raw: str, code: str) -> AblationLine:
    """Parse one non-empty, comment-free line; ValueError saying what is wrong."""
    raw_key, colon, value = code.partition(":")
    if not colon:
        raise ValueError(f"missing ':' after the key; {_EXAMPLE}")
    key = _ALIASES.get(_normalise_key(raw_key))
    if key is None:
        close = difflib.get_close_matches(_normalise_key(raw_key), list(_ALIASES), n=1)
        hint = f"did you mean {_ALIASES[close[0]]!r}? " if close else ""
        raise ValueError(f"unknown key {raw_key.strip()!r}; {hint}use one of {', '.join(KEYS)}")
    if key in _LISTS:
        names = parse_names(value)
        if not names:
            raise ValueError(f"{key} needs one or more names, separated by commas")
        return AblationLine(lineno, raw, key, tuple(names))
    if key == GROUP_PREFIX:
        names = parse_names(value)
        if len(names) != 1:
            raise ValueError(
                "group prefix takes one prefix"
                + (
                    "; write one 'group prefix:' line per prefix"
                    if names
                    else ", e.g. 'group prefix: my_dense'"
                )
            )
        return AblationLine(lineno, raw, key, (names[0],))
    if key == CUSTOM_MODEL:
        cut = next((i for i, ch in unquoted(value) if ch == "="), -1)
        if cut < 0:  # 'custom model: fn': the function's name is the identifier
            fn = _reference(key, value)
            return AblationLine(lineno, raw, key, (fn,), identifier=fn.rsplit(".", 1)[-1])
        ids = parse_names(value[:cut])
        if len(ids) != 1:
            raise ValueError(
                "custom model needs one identifier before '=', e.g. 'custom model: small = small_model'"
            )
        return AblationLine(lineno, raw, key, (_reference(key, value[cut + 1 :]),), identifier=ids[0])
    return AblationLine(lineno, raw, key, (_reference(key, value),))


def _scan(text: str) -> tuple[list[AblationLine], list[tuple[int, str, str]]]:
    """The declarations that parse, and ``(lineno, line, message)`` for those that do not."""
    return scan_lines(text, _strip_comment, _parse_line)


def parse_lines(text: str) -> list[AblationLine]:
    """Every declaration of ``text`` in order, checking syntax only (no namespace, no study).

    Raises AblationSyntaxError listing every bad line.
    """
    lines, problems = _scan(text)
    if problems:
        raise AblationSyntaxError(problems)
    return lines


def resolve_reference(name: str, namespace: Mapping[str, Any]) -> Any:
    """The object ``name`` (``fn`` or dotted ``module.fn``) refers to in ``namespace``.

    Only reads ``namespace`` (and attributes); LookupError saying what is missing, with close
    names of the namespace when the first part is not there. The object may be anything:
    AblationStudy checks that it is a function taking the right arguments.
    """
    first, *rest = name.split(".")
    if first not in namespace:
        public = [k for k in namespace if not k.startswith("_")]
        close = difflib.get_close_matches(first, public, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "define it in an earlier cell"
        raise LookupError(f"no {first!r} in the notebook; {hint}")
    value = namespace[first]
    for i, attr in enumerate(rest, start=1):
        try:
            value = getattr(value, attr)
        except AttributeError:
            owner = ".".join([first, *rest[: i - 1]])
            raise LookupError(f"{owner!r} has no attribute {attr!r}") from None
    return value


def _apply(line: AblationLine, study: AblationStudy, namespace: Mapping[str, Any]) -> None:
    """The AblationStudy call for ``line``; whatever it raises propagates."""
    if line.key == FEATURES:
        study.features.include(list(line.names))
    elif line.key == LAYERS:
        study.model.layers.include(list(line.names))
    elif line.key == GROUP:
        study.model.layers.include_groups(list(line.names))
    elif line.key == GROUP_PREFIX:
        study.model.layers.include_groups(prefix=line.names[0])
    else:
        fn = resolve_reference(line.names[0], namespace)
        if line.key == BASE_MODEL:
            study.model.set_base_model_generator(fn)
        elif line.key == CUSTOM_MODEL:
            assert line.identifier is not None  # _parse_line always sets it for custom model
            study.model.add_custom_model_generator(fn, line.identifier)
        else:
            study.set_dataset_generator(fn)


def apply_lines(
    lines: list[AblationLine], study: AblationStudy, namespace: Mapping[str, Any]
) -> list[tuple[int, str, str]]:
    """Apply ``lines`` in order to ``study`` (changed in place), looking functions up in ``namespace``.

    Returns ``(lineno, line, message)`` for every line that failed, empty when all applied: a
    name missing from the namespace, a second ``base model`` or ``dataset generator`` line, and
    AblationStudy's own ValueError/TypeError messages. Later lines still apply after a failed one
    (so that every problem is reported at once), and a failed list line may have included the
    names before the bad one: discard ``study`` when problems come back. ``namespace`` is only read.
    """
    problems: list[tuple[int, str, str]] = []
    first_line: dict[str, int] = {}
    for line in lines:
        if line.key in _ONCE and line.key in first_line:
            problems.append(
                (
                    line.lineno,
                    line.line,
                    f"{line.key} is already set on line {first_line[line.key]}; set it once",
                )
            )
            continue
        try:
            _apply(line, study, namespace)
        except (LookupError, ValueError, TypeError) as exc:
            problems.append((line.lineno, line.line, str(exc)))
            continue
        first_line.setdefault(line.key, line.lineno)
    return problems


def build_study(
    text: str,
    namespace: Mapping[str, Any],
    training_dataset_name: str,
    training_dataset_version: int | None = None,
    label_name: str | None = None,
) -> AblationStudy:
    """A new AblationStudy for the dataset, with every declaration of ``text`` applied.

    The three arguments are AblationStudy's, whose ValueError/TypeError for them propagate
    unchanged (they are not lines of ``text``). Raises AblationSyntaxError naming every bad line,
    syntax and study mistakes together, in line order. A body without declarations gives the
    bare study (the Python API can still fill it); ``lagom`` refuses one without a base model.
    """
    study = AblationStudy(training_dataset_name, training_dataset_version, label_name)
    lines, problems = _scan(text)
    problems += apply_lines(lines, study, namespace)
    if problems:
        raise AblationSyntaxError(problems)
    return study
