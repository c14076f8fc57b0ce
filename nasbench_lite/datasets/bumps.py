"""Two task families of Gaussian bumps in iid noise, where the label is *where* or *how
many*, not which shape.

* `position`: one bump per sequence; the label is which of ten equal bins of the sequence
  holds its centre. The network ends in a global average pool, so a cell can tell bins
  apart only through what its convolutions see of the sequence's ends (their zero
  padding): the task asks for position, which MNIST-1D's translated templates make
  irrelevant.
* `count`: the label is the number of bumps, 0 to 9, at random positions at least
  `3 * width` apart (rounded up to whole samples: far enough that every bump is its own
  local maximum in the noiseless sequence). A global average pool sums what a cell detects,
  so a detector plus the pool can count.

Every bump is amplitude * exp(-(t - centre)^2 / (2 width^2)), amplitude uniform in
[0.5, 1.5], on t = 0 .. final_seq_length - 1, plus iid Gaussian noise of scale `noise`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

NUM_CLASSES = 10
BUMP_DEFAULTS: dict[str, Any] = {"final_seq_length": 40, "noise": 0.5, "width": 1.0}
BUMP_ARGS = {"final_seq_length": int, "noise": float, "width": float}


def _labels(rng: np.random.Generator, total: int) -> np.ndarray:
    """Balanced labels (the first total % 10 classes get one more), in a seeded order."""
    counts = np.full(NUM_CLASSES, total // NUM_CLASSES)
    counts[: total % NUM_CLASSES] += 1
    return rng.permutation(np.repeat(np.arange(NUM_CLASSES), counts)).astype(np.int64)


def _check(args: dict[str, Any]) -> tuple[int, float, float]:
    length, noise, width = int(args["final_seq_length"]), float(args["noise"]), float(args["width"])
    if length < NUM_CLASSES:
        raise ValueError(f"final_seq_length {length} is shorter than {NUM_CLASSES} bins")
    if width <= 0:
        raise ValueError(f"width must be > 0, got {width}")
    return length, noise, width


def _bumps(t: np.ndarray, centres: np.ndarray, amplitudes: np.ndarray, width: float):
    """Sum over the last axis of amplitude * Gaussian(t - centre); (n, L)."""
    d = t[None, :, None] - centres[:, None, :]
    return (amplitudes[:, None, :] * np.exp(-(d**2) / (2 * width**2))).sum(-1)


def draw_position(args: dict[str, Any], total: int, seed: int) -> dict[str, np.ndarray]:
    """`total` sequences of one bump each: x (total, L) float64, y (total,) int64, the bin
    (of ten equal ones over [0, L)) that holds the bump's centre."""
    length, noise, width = _check(args)
    rng = np.random.default_rng(seed)
    y = _labels(rng, total)
    bin_width = length / NUM_CLASSES
    centres = (y + rng.random(total)) * bin_width - 0.5  # sample k sits at t = k
    amplitudes = rng.uniform(0.5, 1.5, total)
    t = np.arange(length, dtype=np.float64)
    x = _bumps(t, centres[:, None], amplitudes[:, None], width)
    x += noise * rng.standard_normal(x.shape)
    return {"x": x, "y": y}


def draw_count(args: dict[str, Any], total: int, seed: int) -> dict[str, np.ndarray]:
    """`total` sequences of 0-9 bumps: x (total, L) float64, y (total,) int64 the count.

    Centres are whole samples, uniform over the placements at least `ceil(3 * width)` apart
    (k sorted draws without replacement from L - (k - 1)(gap - 1) places, the i-th moved
    right by i (gap - 1)); ValueError when nine bumps cannot fit.
    """
    length, noise, width = _check(args)
    gap = max(1, int(np.ceil(3 * width)))
    if (NUM_CLASSES - 2) * gap >= length:
        raise ValueError(f"nine bumps {gap} samples apart do not fit in {length} samples")
    rng = np.random.default_rng(seed)
    y = _labels(rng, total)
    centres = np.zeros((total, NUM_CLASSES - 1))
    amplitudes = np.zeros((total, NUM_CLASSES - 1))  # unused slots stay at amplitude 0
    for i, k in enumerate(y):
        places = np.sort(rng.choice(length - (k - 1) * (gap - 1) if k else length, k, False))
        centres[i, :k] = places + np.arange(k) * (gap - 1)
        amplitudes[i, :k] = rng.uniform(0.5, 1.5, k)
    t = np.arange(length, dtype=np.float64)
    x = _bumps(t, centres, amplitudes, width)
    x += noise * rng.standard_normal(x.shape)
    return {"x": x, "y": y}
