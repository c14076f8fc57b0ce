"""Plausibility of a table's values, checked on every open, and the file's sha256.

Checksums (Fletcher-32 on every array) catch a flipped bit in files written since they were
added; range checks also catch impossible values in older files and in tables built in
memory: accuracies lie in [0, 1], losses, times, parameter and FLOP counts are >= 0; NaN
(not trained, or diverged) is always allowed. Proxy scores and other added metrics have no
known range and are not checked.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import numpy as np

from nasbench_lite.errors import InputError

NON_NEGATIVE = ("train_seconds", "params", "flops")
CHUNK_TIMES = ("chunks/seconds", "chunks/cpu_seconds", "chunks/compile_seconds")


def value_range(name: str) -> tuple[float, float] | None:
    """(low, high) of metric `name`'s values, or None when the metric has no known range."""
    if name.endswith("_acc"):
        return (0.0, 1.0)
    if name.endswith("_loss") or name in NON_NEGATIVE:
        return (0.0, np.inf)
    return None


def check_ranges(arrays: dict[str, Any], source: str) -> None:
    """InputError naming `source`, the array and the first offending position unless every
    checked value is NaN or inside its range."""
    checked = {path: value_range(path.split("/", 1)[1]) for path in arrays
               if path.startswith("metrics/")}  # fmt: skip
    checked.update({path: (0.0, np.inf) for path in CHUNK_TIMES if path in arrays})
    for path, bounds in checked.items():
        if bounds is None:
            continue
        values = np.asarray(arrays[path])
        if values.dtype.kind not in "fiu" or values.size == 0:
            continue
        low, high = bounds
        with np.errstate(invalid="ignore"):
            bad = ~np.isnan(values) & ((values < low) | (values > high))
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            axes = ("row", "seed position", "epoch") if path.startswith("metrics/") else ("chunk",)
            shown = [i + 1 if axis == "epoch" else i for axis, i in zip(axes, where, strict=False)]
            position = ", ".join(f"{axis} {i}" for axis, i in zip(axes, shown, strict=False))
            span = f"[{low:g}, {high:g}]" if np.isfinite(high) else f">= {low:g}"
            raise InputError(
                f"{source}: /{path} at {position} holds {float(values[where]):.6g}, outside {span} "
                f"({int(bad.sum()):,} such values): the file is corrupt or was not written by "
                "nasbench-lite"
            )


def file_sha256(path: str | os.PathLike) -> str:
    """The hex sha256 of the file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
