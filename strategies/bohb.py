"""BOHB, Falkner, Klein & Hutter, "BOHB: Robust and Efficient Hyperparameter Optimization at
Scale" (ICML 2018): Hyperband whose new cells come from a TPE-like model instead of uniform
sampling. Defaults are HpBandSter's: top_n_percent 15, num_samples 64, random_fraction 1/3,
bandwidth_factor 3, min_bandwidth 1e-3, min_points_in_model = edges + 1.

The model, as in HpBandSter's config generator, per fidelity (epochs):

- the cells told at that fidelity are ordered by validation accuracy (a diverged run is a
  loss of +inf, the worst); the good set is the best ``max(min_points, 15% of n)``, the bad
  set the next ``max(min_points, 85% of n)`` (disjoint from the good one); a model exists
  once more than ``min_points + 1`` are told and both sets have more points than edges
  (on NB-201, 14 told at one fidelity);
- each set is a product kernel density over the edges' op ids (Aitchison-Aitken kernel for
  unordered categories, as statsmodels' KDEMultivariate with var_type 'u'), bandwidths by
  the normal reference rule ``1.06 * std * n ** (-1 / (4 + d))`` clipped below at
  min_bandwidth;
- a new cell uses the model of the highest fidelity that has one: ``num_samples``
  candidates, each a good point with every op kept with probability 1 - bandwidth (else a
  uniform op), and the candidate minimising bad density / good density wins (on a restricted
  space, among the candidates it allows). With probability random_fraction (and while no
  model exists) the cell is uniform.

Deviations: the kernel's number of categories is the space's op count (statsmodels counts
the distinct values in the data), so an op no good cell has yet keeps a non-zero density;
bandwidths are capped at 1 - 1/ops, where the kernel is uniform (the rule of thumb can exceed
it on op ids, and the kernel would turn negative).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasbench_lite.errors import InputError
from nasbench_lite.strategies.hyperband import Hyperband, HyperbandState


class BOHB(Hyperband):
    """Hyperband with BOHB's kernel density model proposing each bracket's new cells."""

    name = "bohb"

    def __init__(
        self,
        space: Any,
        max_epochs: int = 8,
        min_epochs: int = 1,
        eta: float = 3.0,
        top_n_percent: int = 15,
        num_samples: int = 64,
        random_fraction: float = 1 / 3,
        bandwidth_factor: float = 3.0,
        min_bandwidth: float = 1e-3,
        min_points_in_model: int | None = None,
    ) -> None:
        super().__init__(space, max_epochs=max_epochs, min_epochs=min_epochs, eta=eta)
        if not 0 < top_n_percent < 100:
            raise InputError(f"bohb: top_n_percent must be in (0, 100), got {top_n_percent!r}")
        if not 0 <= random_fraction <= 1:
            raise InputError(f"bohb: random_fraction must be in [0, 1], got {random_fraction!r}")
        if num_samples < 1 or min_bandwidth <= 0:
            raise InputError(
                f"bohb: num_samples must be >= 1 and min_bandwidth > 0, got {num_samples!r} "
                f"and {min_bandwidth!r}"
            )
        self.top_n_percent, self.num_samples = int(top_n_percent), int(num_samples)
        self.random_fraction, self.min_bandwidth = float(random_fraction), float(min_bandwidth)
        # Widens continuous kernels in HpBandSter; categorical ones (all of ours) ignore it.
        self.bandwidth_factor = float(bandwidth_factor)
        edges = space.num_edges
        self.min_points = edges + 1 if min_points_in_model is None else int(min_points_in_model)

    def sample(self, state: HyperbandState, rng: np.random.Generator) -> int:
        model = self.model(state)
        if model is None or rng.random() < self.random_fraction:
            return int(self.space.sample(rng, 1)[0])
        good, bad, good_bw, bad_bw = model
        ops = self.space.num_ops
        picks = rng.integers(0, len(good), size=self.num_samples)
        candidates = good[picks].copy()  # (num_samples, edges)
        resample = rng.random(candidates.shape) >= 1 - good_bw  # per edge, with prob. bw
        candidates[resample] = rng.integers(0, ops, size=int(resample.sum()))
        raws = np.asarray(self.space.indices(candidates), dtype=np.int64)
        allowed = getattr(self.space, "allowed", None)  # a restricted view: its cells only
        if allowed is not None:
            keep = np.asarray(allowed)[raws]
            if not keep.any():
                return int(self.space.sample(rng, 1)[0])
            candidates, raws = candidates[keep], raws[keep]
        ratio = np.maximum(density(candidates, bad, bad_bw, ops), 1e-8) / np.maximum(
            density(candidates, good, good_bw, ops), 1e-8
        )
        return int(raws[int(np.argmin(ratio))])

    def model(self, state: HyperbandState):
        """(good (g, edges), bad (b, edges) op ids, their bandwidths (edges,)) of the highest
        fidelity with enough results, or None. A bracket asks for many cells between two
        results: the model of the last results tuple seen is kept (the tuple is immutable,
        so the same object means the same results)."""
        cached = getattr(self, "_model_of", None)
        if cached is not None and cached[0] is state.results:
            return cached[1]
        model = self._fit(state)
        self._model_of = (state.results, model)
        return model

    def _fit(self, state: HyperbandState):
        for epochs in sorted({e for _, e, _ in state.results}, reverse=True):
            told = [(raw, score) for raw, e, score in state.results if e == epochs]
            if len(told) <= self.min_points + 1:
                continue
            raws = np.array([raw for raw, _ in told], dtype=np.int64)
            losses = -np.array([score for _, score in told])  # diverged: +inf
            order = np.argsort(losses, kind="stable")
            n = len(told)
            n_good = max(self.min_points, (self.top_n_percent * n) // 100)
            n_bad = max(self.min_points, ((100 - self.top_n_percent) * n) // 100)
            cells = np.asarray(self.space.cells(raws))
            # Disjoint sets, as HpBandSter's: the bad ones are the next n_bad after the good.
            good, bad = cells[order[:n_good]], cells[order[n_good : n_good + n_bad]]
            if len(good) <= good.shape[1] or len(bad) <= bad.shape[1]:
                continue
            return good, bad, self.bandwidth(good), self.bandwidth(bad)
        return None

    def bandwidth(self, data: np.ndarray) -> np.ndarray:
        """statsmodels' normal reference rule per edge, clipped to [min_bandwidth, 1 - 1/ops]
        (at the upper end the kernel is uniform; above it, it would turn negative)."""
        n, d = data.shape
        bw = 1.06 * data.std(axis=0) * n ** (-1.0 / (4 + d))
        return np.clip(bw, self.min_bandwidth, 1.0 - 1.0 / self.space.num_ops)


PATTERN_EDGES = 12  # up to 4,096 match patterns


def density(points: np.ndarray, data: np.ndarray, bw: np.ndarray, levels: int) -> np.ndarray:
    """(m,) product Aitchison-Aitken kernel density of `points` (m, d) under `data` (n, d):
    per edge 1 - bw where the op matches, bw / (levels - 1) elsewhere; mean over data.

    A pair's kernel depends only on which of the d edges match: the 2^d products are
    computed once (the same multiplications, in the same order, as over every pair) and
    each pair looks its pattern up, which keeps the values bit for bit and avoids an
    (m, n, d) float array (tests/test_strategies.py checks against the direct form). A space
    of more than `PATTERN_EDGES` edges (a plug-in) takes the direct form: 2^d patterns would
    outgrow the pairs."""
    d = points.shape[1]
    if d > PATTERN_EDGES:
        same = points[:, None, :] == data[None, :, :]  # (m, n, d)
        return np.where(same, 1.0 - bw, bw / (levels - 1)).prod(axis=2).mean(axis=1)
    matches = ((np.arange(1 << d)[:, None] >> np.arange(d)) & 1).astype(bool)  # (2^d, d)
    products = np.where(matches, 1.0 - bw, bw / (levels - 1)).prod(axis=1)
    pattern = np.zeros((len(points), len(data)), np.intp)
    for j in range(d):
        pattern |= (points[:, j, None] == data[None, :, j]).astype(np.intp) << j
    return products[pattern].mean(axis=1)
