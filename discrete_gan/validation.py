"""Argument checks shared by every public constructor and function of the library.

One rule per kind of value, one wording for every message, in the Keras style:
"Invalid value for `temperature`. Expected a float > 0. Received: temperature=0". Each check
returns the value in its canonical type (an `int` for numpy integers, a `float` for ints where
a float is asked for) so callers store what they checked.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "check_bool",
    "check_choice",
    "check_float",
    "check_int",
    "check_optional_int",
    "check_temperature",
    "check_units",
]


def _fail(name: str, expected: str, value: Any) -> ValueError:
    return ValueError(
        f"Invalid value for `{name}`. Expected {expected}. Received: {name}={value!r}"
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def check_int(name: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> int:
    """An int (not a bool) within `[minimum, maximum]`; returns it as a Python int."""
    ok = _is_int(value)
    ok = ok and (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
    if not ok:
        if minimum is not None and maximum is not None:
            expected = f"an int in [{minimum}, {maximum}]"
        elif minimum is not None:
            expected = f"an int >= {minimum}"
        elif maximum is not None:
            expected = f"an int <= {maximum}"
        else:
            expected = "an int"
        raise _fail(name, expected, value)
    return int(value)


def check_optional_int(name: str, value: Any, minimum: int | None = None) -> int | None:
    """None, or an int >= `minimum`."""
    if value is None:
        return None
    try:
        return check_int(name, value, minimum)
    except ValueError:
        bound = "" if minimum is None else f" >= {minimum}"
        raise _fail(name, f"None or an int{bound}", value) from None


def check_float(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite real number (not a bool) within the interval; returns it as a Python float.

    The interval is `[low, high]`, open at an end when `low_open` / `high_open` is set; None
    leaves that end unbounded.
    """
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )
    ok = ok and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        if low is not None and high is not None:
            expected = (
                f"a float in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
            )
        elif low is not None:
            expected = f"a float {'>' if low_open else '>='} {low}"
        elif high is not None:
            expected = f"a float {'<' if high_open else '<='} {high}"
        else:
            expected = "a finite float"
        raise _fail(name, expected, value)
    return float(value)


def check_temperature(value: Any, name: str = "temperature") -> float:
    """A Gumbel-Softmax temperature: a finite float > 0."""
    return check_float(name, value, 0.0, low_open=True)


def check_bool(name: str, value: Any) -> bool:
    """A real bool (not 0/1, not a string)."""
    if not isinstance(value, bool | np.bool_):
        raise _fail(name, "a bool", value)
    return bool(value)


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """One of `choices`."""
    choices = tuple(choices)
    if value not in choices:
        raise _fail(name, f"one of {choices}", value)
    return value


def check_units(name: str, value: Any) -> tuple[int, ...]:
    """Layer widths: a list or tuple of ints >= 1 (may be empty); returned as a tuple."""
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise _fail(name, "a list of ints >= 1", value)
    if not all(_is_int(u) and u >= 1 for u in value):
        raise _fail(name, "a list of ints >= 1", value)
    return tuple(int(u) for u in value)
