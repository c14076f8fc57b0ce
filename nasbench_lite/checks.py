"""Checks of numeric arguments, shared by the library and the strategies: each raises the
package's `InputError` naming the argument, what it must be and what it got."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nasbench_lite.errors import InputError


def check_int(name: str, value: Any, minimum: int = 1, maximum: int | None = None) -> int:
    """`value` as an int; InputError unless it is an int (not a bool) >= minimum (and <=
    maximum, where given)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        rule = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum:,}"
        raise InputError(f"{name} must be an int {rule}, got {value!r}")
    if maximum is not None and value > maximum:
        raise InputError(f"{name} must be an int in {minimum}..{maximum:,}, got {value!r}")
    return int(value)


def check_number(
    name: str, value: Any, *, above: float | None = None, below: float | None = None,
    at_least: float | None = None,
) -> float:  # fmt: skip
    """`value` as a finite float; InputError unless it is a real number (not a bool) with
    value > above, value < below and value >= at_least (each where given)."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    ok = ok and math.isfinite(value)
    ok = ok and (above is None or value > above) and (below is None or value < below)
    ok = ok and (at_least is None or value >= at_least)
    if not ok:
        raise InputError(f"{name} must be a number {_rule(above, below, at_least)}, got {value!r}")
    return float(value)


def _rule(above: float | None, below: float | None, at_least: float | None) -> str:
    low = f"[{at_least:g}" if at_least is not None else f"({above:g}" if above is not None else None
    if low is not None and below is not None:
        return f"in {low}, {below:g})"
    if below is not None:
        return f"< {below:g}"
    return f"{'>=' if at_least is not None else '>'} {low[1:]}" if low else "(finite)"
