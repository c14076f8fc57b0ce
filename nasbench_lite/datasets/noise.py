"""The noise-identification family of tasks: which of ten distributions drew a sequence.

Every sequence is `final_seq_length` independent draws from one of ten distributions of
mean 0 and variance 1 (the label), so classes differ only in the shape of the marginal
distribution (tails, skew, modes, discreteness), not in any temporal pattern. It is a 1-D
statistical-texture task: the opposite of MNIST-1D's shapes, where a template's position and
outline carry the label. `mix` blends every draw with a standard normal one
(sqrt(1 - mix) * x + sqrt(mix) * z), which brings every class toward the Gaussian and makes
the task harder.
"""

from __future__ import annotations

from typing import Any

import numpy as np

NOISE_DEFAULTS: dict[str, Any] = {"final_seq_length": 40, "mix": 0.0}
NOISE_ARGS = {"final_seq_length": int, "mix": float}
# Class k's distribution, each standardised to mean 0 and variance 1.
CLASSES = (
    "gaussian",
    "laplace",
    "uniform",
    "student_t5",
    "bimodal: +-0.9 plus gaussian 0.436",
    "exponential, right-skewed",
    "exponential, left-skewed",
    "gaussian 0.5 plus 5% spikes",
    "lognormal sigma 0.5",
    "rademacher (+-1)",
)


def class_draws(rng: np.random.Generator, k: int, shape: tuple[int, ...]) -> np.ndarray:
    """`shape` float64 draws of class `k`'s distribution (CLASSES[k])."""
    if k == 0:
        return rng.standard_normal(shape)
    if k == 1:
        return rng.laplace(size=shape) / np.sqrt(2)
    if k == 2:
        return rng.uniform(-np.sqrt(3), np.sqrt(3), shape)
    if k == 3:
        return rng.standard_t(5, shape) / np.sqrt(5 / 3)
    if k == 4:
        return 0.9 * rng.choice([-1.0, 1.0], shape) + np.sqrt(1 - 0.81) * rng.standard_normal(shape)
    if k == 5:
        return rng.exponential(size=shape) - 1
    if k == 6:
        return 1 - rng.exponential(size=shape)
    if k == 7:
        base = 0.5 * rng.standard_normal(shape)
        spikes = rng.random(shape) < 0.05
        signs = rng.choice([-1.0, 1.0], shape)
        return base + spikes * signs * np.sqrt(0.75 / 0.05)
    if k == 8:
        draws = rng.lognormal(0.0, 0.5, shape)
        return (draws - np.exp(0.125)) / np.sqrt((np.exp(0.25) - 1) * np.exp(0.25))
    if k == 9:
        return rng.choice([-1.0, 1.0], shape)
    raise ValueError(f"class {k} is not in 0..{len(CLASSES) - 1}")


def draw(args: dict[str, Any], total: int, seed: int) -> dict[str, np.ndarray]:
    """`total` sequences, classes balanced (the first total - 10 * (total // 10) classes get
    one more), in a seeded random order: x (total, final_seq_length) float64, y (total,)
    int64."""
    rng = np.random.default_rng(seed)
    length, mix = int(args["final_seq_length"]), float(args["mix"])
    counts = np.full(len(CLASSES), total // len(CLASSES))
    counts[: total % len(CLASSES)] += 1
    x = np.concatenate([class_draws(rng, k, (int(n), length)) for k, n in enumerate(counts)])
    y = np.repeat(np.arange(len(CLASSES)), counts)
    x = np.sqrt(1 - mix) * x + np.sqrt(mix) * rng.standard_normal(x.shape)
    order = rng.permutation(total)
    return {"x": x[order], "y": y[order].astype(np.int64)}
