"""The %%searchspace body syntax: table-driven, pure (no IPython shell)."""

from __future__ import annotations

import pytest

from maggy import Searchspace
from maggy_jupyter.magics.searchspace_syntax import (
    SearchspaceSyntaxError,
    format_searchspace,
    parse_lines,
    parse_searchspace,
    parse_value,
    parse_values,
)

VALID = [
    ("kernel: INTEGER [2, 8]", {"kernel": ("INTEGER", [2, 8])}),
    ("dropout: DOUBLE [0.01, 0.99]", {"dropout": ("DOUBLE", [0.01, 0.99])}),
    ("lr: DOUBLE [1e-5, 1e-1] log", {"lr": ("DOUBLE", [1e-5, 0.1], "log")}),
    ("units: INTEGER [8, 512] LOG", {"units": ("INTEGER", [8, 512], "log")}),
    ("lr: DOUBLE [0, 1] linear", {"lr": ("DOUBLE", [0.0, 1.0])}),
    ("act: CATEGORICAL [relu, tanh]", {"act": ("CATEGORICAL", ["relu", "tanh"])}),
    ("act: categorical [relu, tanh]", {"act": ("CATEGORICAL", ["relu", "tanh"])}),
    ("batch: Discrete [16, 32, 64]", {"batch": ("DISCRETE", [16, 32, 64])}),
    ("  x :DOUBLE[-1.5,+2.5]  ", {"x": ("DOUBLE", [-1.5, 2.5])}),
    ("c: CATEGORICAL ['a, b', \"c#d\", 'x]']", {"c": ("CATEGORICAL", ["a, b", "c#d", "x]"])}),
    ("c: CATEGORICAL [True, False, None]", {"c": ("CATEGORICAL", [True, False, None])}),
    ("c: CATEGORICAL ['True', '3', 3, 3.0]", {"c": ("CATEGORICAL", ["True", "3", 3, 3.0])}),
    ("c: CATEGORICAL [leaky relu, inf]", {"c": ("CATEGORICAL", ["leaky relu", "inf"])}),
    ("x: DOUBLE [0, 1]  # the rest is a comment", {"x": ("DOUBLE", [0.0, 1.0])}),
    ("# only\n\nx: DOUBLE [0, 1]\n   # indented comment\n", {"x": ("DOUBLE", [0.0, 1.0])}),
    ("n: INTEGER [1_000, 2_000]", {"n": ("INTEGER", [1000, 2000])}),
]


@pytest.mark.parametrize(("body", "expected"), VALID, ids=[b.splitlines()[-1].strip() or b for b, _ in VALID])
def test_valid_body_builds_the_searchspace(body, expected):
    assert parse_searchspace(body) == Searchspace(**expected)


def test_order_is_kept_and_names_are_attributes():
    sp = parse_searchspace("b: DOUBLE [0, 1]\na: INTEGER [1, 3]\nc: CATEGORICAL [x]")
    assert list(sp) == ["b", "a", "c"]
    assert sp.a == [1, 3] and sp.names() == {"b": "DOUBLE", "a": "INTEGER", "c": "CATEGORICAL"}


def test_numbers_keep_their_python_type():
    (line,) = parse_lines("d: DISCRETE [1, 2.0, 1e3, -4, .5]")
    assert line.values == [1, 2.0, 1000.0, -4, 0.5]
    assert [type(v) for v in line.values] == [int, float, float, int, float]


INVALID = [
    # (body, line number, fragment of the message)
    ("x DOUBLE [0, 1]", 1, "missing ':' after the parameter name"),
    ("x: [0, 1]", 1, "expected a type name after ':'"),
    ("x: DOUBLE 0, 1", 1, "expected '[values]' after the type DOUBLE"),
    ("x: DOUBLE [0, 1", 1, "missing ']'"),
    ("x: DOUBLE [0, 1] log extra", 1, "unexpected text after the scale: 'extra'"),
    ("x: CATEGORICAL [a,,b]", 1, "empty value"),
    ("x: CATEGORICAL [a,]", 1, "empty value"),
    ('x: CATEGORICAL ["a, b]', 1, "unclosed quote"),
    ("x: CATEGORICAL [a, [b]]", 1, "unexpected '['"),
    # Searchspace's own validation, with the line it comes from:
    ("ok: DOUBLE [0, 1]\nx: FLOAT [0, 1]", 2, "unknown type 'FLOAT'; use one of DOUBLE, INTEGER"),
    ("x: DOUBLE [1, 0]", 1, "lower bound 1 must be less than upper bound 0"),
    ("x: INTEGER [0.5, 2]", 1, "INTEGER bounds must be ints"),
    ("x: DOUBLE [0, 1] log", 1, "a log scale needs lower bound > 0"),
    ("x: DOUBLE [0, 1] cubic", 1, "unknown scale 'cubic'"),
    ("x: CATEGORICAL [a, b] log", 1, "a scale applies only to DOUBLE and INTEGER"),
    ("x: DOUBLE [0, 1, 2]", 1, "needs exactly two numbers"),
    ("x: DISCRETE [1, a]", 1, "DISCRETE values must be numbers"),
    ("x: DOUBLE [0, 1]\n\nx: INTEGER [0, 2]", 3, "already in the search space"),
    ("2x: DOUBLE [0, 1]", 1, "not a valid Python identifier"),
    ("reporter: DOUBLE [0, 1]", 1, "the name is reserved"),
]


@pytest.mark.parametrize(("body", "lineno", "fragment"), INVALID, ids=[b for b, _, _ in INVALID])
def test_invalid_line_is_named_with_its_number_text_and_problem(body, lineno, fragment):
    with pytest.raises(SearchspaceSyntaxError) as info:
        parse_searchspace(body)
    [(got_lineno, line, message)] = info.value.problems
    assert got_lineno == lineno and line == body.splitlines()[lineno - 1]
    assert fragment in message
    assert str(info.value).startswith(f"line {lineno}: {line.strip()!r}: ")


def test_every_bad_line_is_reported_at_once():
    body = "a: DOUBLE [0, 1]\nb DOUBLE [0, 1]\nc: DOUBLE [1, 0]\nd: INTEGER [1, 5]"
    with pytest.raises(SearchspaceSyntaxError) as info:
        parse_searchspace(body)
    assert [p[0] for p in info.value.problems] == [2, 3]
    assert str(info.value).count("\n") == 1


@pytest.mark.parametrize("body", ["", "\n  \n", "# nothing here\n"])
def test_body_without_declarations_is_an_error(body):
    with pytest.raises(SearchspaceSyntaxError, match="no parameters declared"):
        parse_searchspace(body)


@pytest.mark.parametrize(
    ("token", "value"),
    [("3", 3), ("-3", -3), ("3.0", 3.0), ("1e-3", 1e-3), ("'3'", "3"), ('"a b"', "a b"), ("relu", "relu")]
    + [("True", True), ("None", None), ("true", "true"), (r"'it\'s'", "it's")],
)
def test_parse_value(token, value):
    got = parse_value(token)
    assert got == value and type(got) is type(value)


def test_parse_values_brackets_are_optional():
    assert parse_values("[a, 2]") == parse_values("a, 2") == ["a", 2]
    assert parse_values("[]") == parse_values("  ") == []
    with pytest.raises(ValueError, match="missing '\\['"):
        parse_values("a, b]")


ROUND_TRIP = [
    Searchspace(x=("DOUBLE", [0, 1])),
    Searchspace(lr=("DOUBLE", [1e-5, 0.1], "log"), k=("INTEGER", [2, 8]), n=("INTEGER", [1, 64], "log")),
    Searchspace(b=("DISCRETE", [16, 32.5, -1])),
    Searchspace(c=("CATEGORICAL", ["relu", "leaky relu", "a,b", "#", "3", 3, True, "None", None, "", " x"])),
]


@pytest.mark.parametrize("space", ROUND_TRIP, ids=repr)
def test_format_searchspace_round_trips(space):
    text = format_searchspace(space)
    assert parse_searchspace(text) == space
    assert len(text.splitlines()) == len(space)


def test_format_searchspace_reads_like_the_documented_syntax():
    space = Searchspace(
        kernel=("INTEGER", [2, 8]), lr=("DOUBLE", [1e-5, 0.1], "log"), act=("CATEGORICAL", ["relu", "tanh"])
    )
    assert format_searchspace(space) == (
        "kernel: INTEGER [2, 8]\nlr:     DOUBLE [1e-05, 0.1] log\nact:    CATEGORICAL [relu, tanh]"
    )
