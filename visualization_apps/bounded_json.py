"""JSON request bodies within bounds: depth, integer size and text a database can hold.

`parse_bounded` reads a body as JSON and refuses, with `BodyError` naming the
place (``strategy.signals.up.params.fast``), what would otherwise fail deep inside
the app with a 500: nesting deeper than `MAX_DEPTH`, integers beyond SQLite's
signed 64 bits (`MAX_INTEGER`), ``NaN``/``Infinity`` (not JSON) and strings with
lone surrogates (``"\\ud800"``: not Unicode text, not encodable as UTF-8).
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 32
"""Arrays and objects nested inside one another, at most (a run configuration needs 8)."""
MAX_INTEGER = 2**63 - 1
"""The largest integer taken (in absolute value): SQLite's integers are 64-bit."""
MAX_ID = MAX_INTEGER
"""The largest id or cursor a route or a Socket.IO event takes (ids are SQLite integers)."""
_MAX_DIGITS = len(str(MAX_INTEGER))


class BodyError(ValueError):
    """A body that is not acceptable JSON; ``details``: one line naming the place."""

    def __init__(self, error: str, details: list[str]) -> None:
        super().__init__(error)
        self.error = error
        self.details = details


def _parse_int(text: str) -> int:
    digits = text.lstrip("-")
    if len(digits) > _MAX_DIGITS or abs(int(text)) > MAX_INTEGER:
        raise BodyError("number out of range", [f"an integer of {len(digits)} digits is out of range "
                                                f"(at most {MAX_INTEGER} in absolute value)"])  # fmt: skip
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise BodyError("number out of range", [f"{text[:40]} is beyond the range of a 64-bit float"])
    return value


def _parse_constant(text: str) -> Any:
    raise BodyError("the body is not valid JSON", [f"{text} is not a JSON number"])


def parse_bounded(data: bytes) -> Any:
    """The JSON value of ``data`` (UTF-8), or `BodyError` (see the module docstring)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError("the body is not valid JSON", [f"not UTF-8 at byte {exc.start}"]) from None
    try:
        value = json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
    except RecursionError:
        raise BodyError("the body is nested too deeply", [f"at most {MAX_DEPTH} levels of arrays and objects"]) from None
    except json.JSONDecodeError as exc:
        raise BodyError("the body is not valid JSON", [f"line {exc.lineno} column {exc.colno}: {exc.msg}"]) from None
    check_value(value)
    return value


def check_value(value: Any) -> None:
    """`BodyError` for the first thing in ``value`` beyond the bounds, with its path."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth >= MAX_DEPTH:
                raise BodyError("the body is nested too deeply",
                                [f"{path or 'body'}: more than {MAX_DEPTH} levels of arrays and objects"])  # fmt: skip
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str):
                    _check_text(key, f"{path}.{key}".lstrip(".") if path else key, "a key")
                stack.append((child, f"{path}.{key}" if path else str(key), depth + 1))
        elif isinstance(item, str):
            _check_text(item, path, "a string")
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_INTEGER:
            raise BodyError("number out of range", [f"{path or 'body'}: {len(str(abs(item)))}-digit integer is out "
                                                    f"of range (at most {MAX_INTEGER} in absolute value)"])  # fmt: skip


def _check_text(text: str, path: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        shown = path.encode("utf-8", "backslashreplace").decode() or "body"
        raise BodyError("invalid text", [f"{shown}: {what} with a lone surrogate (\\u{ord(text[exc.start]):04x}), "
                                         "which is not Unicode text"]) from None  # fmt: skip
