"""Argument checks shared by the spaces' sampling methods."""

from __future__ import annotations

from typing import Any

import numpy as np

from nasbench_lite.errors import InputError


def check_rng(rng: Any) -> None:
    # An int seed here would be a seed silently ignored or a hidden global stream; refuse it.
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
            f"got {type(rng).__name__}"
        )


def check_count(n: Any) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 0:
        raise InputError(f"sample size {n!r} is not a non-negative integer")
    return int(n)
