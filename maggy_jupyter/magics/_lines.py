"""Line-by-line scanning shared by the cell-body parsers (%%searchspace, %%ablation)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

Problem = tuple[int, str, str]


def scan_lines(
    text: str, strip_comment: Callable[[str], str], parse_line: Callable[[int, str, str], T]
) -> tuple[list[T], list[Problem]]:
    """Parse every non-blank, comment-free line of ``text`` with ``parse_line(lineno, raw, code)``.

    Returns the parsed lines and ``(lineno, line, message)`` for each line whose parser raised
    ValueError, so that a cell reports all of its mistakes at once.
    """
    lines: list[T] = []
    problems: list[Problem] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        code = strip_comment(raw)
        if not code.strip():
            continue
        try:
            lines.append(parse_line(lineno, raw, code))
        except ValueError as exc:
            problems.append((lineno, raw, str(exc)))
    return lines, problems


def unquoted(text: str) -> Iterator[tuple[int, str]]:
    """``(index, char)`` for every character outside quotes; ValueError for an unclosed quote."""
    quote = ""
    escaped = False
    for i, ch in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        else:
            yield i, ch
    if quote:
        raise ValueError(f"unclosed quote {quote}")


def split_list(text: str, forbidden: str, what: str) -> list[str]:
    """The raw items of ``[a, 'b, c', d]`` (brackets optional), split at commas outside quotes.

    ``forbidden`` characters outside quotes are refused; ``what`` names the list in messages.
    ValueError for unbalanced brackets or quotes; the empty string (or ``[]``) gives ``[]``.
    """
    text = text.strip()
    if text.startswith("["):
        if not text.endswith("]"):
            raise ValueError(f"missing ']' at the end of the {what}")
        text = text[1:-1]
    elif text.endswith("]"):
        raise ValueError(f"missing '[' at the start of the {what}")
    if not text.strip():
        return []
    cuts = [-1]
    for i, ch in unquoted(text):
        if ch == ",":
            cuts.append(i)
        elif ch in forbidden:
            raise ValueError(f"unexpected {ch!r} in the {what} (quote items that contain it)")
    cuts.append(len(text))
    return [text[a + 1 : b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
