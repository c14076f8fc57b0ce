"""A dataset's fingerprint: a few numbers that tell whether rebuilt examples are the ones a
table was trained on.

A dataset identity (identity.py) records how the examples are made, not the examples: a
different release of a generator (the `mnist1d` package) or different files of the same size
would pass it. `generate` therefore also records, in the root attribute
`dataset_fingerprint`, per split the sha256 of the labels in order and four sums of the
inputs taken in float64: the mean, the standard deviation, and two weighted means whose
weights depend on the example's position in the split and on the value's position inside
the example (so a reordering or a shift shows). Labels must match exactly; the sums within
a relative 1e-5 (a last-bit difference of float32 arithmetic between NumPy builds moves
them by about 1e-7; other examples move them by orders of magnitude more).
NumPy only.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from nasbench_lite.datasets.dataset import SPLIT_NAMES
from nasbench_lite.errors import InputError

RTOL = 1e-5
ATOL = 1e-6  # standardised inputs: the training mean is 0 up to rounding
BLOCK = 4096  # examples summed at a time (a float64 copy of one block, not of the split)
STATS = ("mean", "std", "example_weighted", "position_weighted")


def _weights(n: int) -> np.ndarray:
    """Fixed weights in [-0.5, 0.5) for positions 0..n-1: Knuth's multiplicative hash of the
    position, so no weight repeats with a period a dataset could have (a reordering or a
    shift changes the weighted sums)."""
    return ((np.arange(n, dtype=np.int64) * 2654435761) % 2**32) / 2**32 - 0.5


def split_fingerprint(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """{"labels": sha256 hex of y as little-endian int32, "inputs": the four STATS}."""
    flat = x.reshape(len(x), int(np.prod(x.shape[1:], dtype=np.int64)))
    example_w, position_w = _weights(len(flat)), _weights(flat.shape[1])
    total = squares = by_example = by_position = 0.0
    for start in range(0, len(flat), BLOCK):
        block = flat[start : start + BLOCK].astype(np.float64)
        total += block.sum()
        squares += np.square(block).sum()
        by_example += block.mean(axis=1) @ example_w[start : start + BLOCK]
        by_position += (block @ position_w).sum()
    count = max(flat.size, 1)
    mean = total / count
    std = float(np.sqrt(max(squares / count - mean * mean, 0.0)))
    labels = hashlib.sha256(np.ascontiguousarray(y, dtype="<i4").tobytes()).hexdigest()
    stats = [mean, std, by_example / max(len(flat), 1), by_position / count]
    return {"labels": labels, "inputs": [float(v) for v in stats]}


def data_fingerprint(data: Any) -> dict[str, dict[str, Any]]:
    """The fingerprint of a loaded `Dataset`: split name -> `split_fingerprint`."""
    return {
        split: split_fingerprint(getattr(data, f"x_{split}"), getattr(data, f"y_{split}"))
        for split in SPLIT_NAMES
    }


def _malformed(record: Any) -> str | None:
    """What is wrong with a recorded split fingerprint, or None."""
    if not isinstance(record, dict) or not isinstance(record.get("labels"), str):
        return "not a {labels, inputs} record"
    inputs = record.get("inputs")
    if not isinstance(inputs, list) or len(inputs) != len(STATS):
        return f"inputs {inputs!r}, not {len(STATS)} sums"
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in inputs):
        return f"inputs {inputs!r}, not numbers"
    return None


def differences(recorded: Any, current: dict) -> list[str]:
    """What differs between a recorded fingerprint and a computed one, in words ([] when
    they match); a malformed record is a difference, named."""
    if not isinstance(recorded, dict):
        return [f"the record is {type(recorded).__name__}, not a dict of splits"]
    if not isinstance(current, dict):  # a record read from a file, as `merge` passes
        return [f"the other record is {type(current).__name__}, not a dict of splits"]
    found = []
    for split in SPLIT_NAMES:
        want, got = recorded.get(split), current.get(split)
        if want is None or got is None:
            found.append(f"{split}: not recorded")
            continue
        if problem := _malformed(want) or _malformed(got):
            found.append(f"{split}: recorded {problem}")
            continue
        if want["labels"] != got["labels"]:
            found.append(f"{split} labels (sha256 {got['labels'][:12]}, recorded "
                         f"{want['labels'][:12]})")  # fmt: skip
        close = np.isclose(got["inputs"], want["inputs"], rtol=RTOL, atol=ATOL)
        for name, a, b, ok in zip(STATS, got["inputs"], want["inputs"], close, strict=True):
            if not ok:
                found.append(f"{split} inputs' {name} ({a:.6g}, recorded {b:.6g})")
    return found


def check_same(recorded: Any, current: dict, what: str) -> None:
    """InputError "`what` (the differences)" unless two fingerprints match."""
    if found := differences(recorded, current):
        raise InputError(f"{what} ({'; '.join(found[:3])})")


def check_fingerprint(recorded: dict | None, data: Any, needed_by: str) -> None:
    """InputError (one line, starting with `needed_by`) unless `data` has the `recorded`
    fingerprint; nothing to check when none was recorded (a table written before it was)."""
    if recorded is None:
        return
    check_same(recorded, data_fingerprint(data), f"{needed_by}: the rebuilt {data.name!r} examples "
               "are not the ones the table was trained on (another release of its generator "
               "or other files)")  # fmt: skip
