"""Bayesian optimisation with a Gaussian process over a distance between cells, after NASBOT
(Kandasamy et al., "Neural Architecture Search with Bayesian Optimisation and Optimal
Transport", NeurIPS 2018) and the GP baselines of BANANAS's code (naszilla), which run a GP
on a distance between encodings.

The kernel is ``exp(-d / length)`` with d the Hamming distance between the cells' path
encodings (`space.path_encoding`): the number of input-to-output op sequences one cell has
and the other lacks. For 0/1 encodings that is the squared Euclidean distance, so this is an
RBF kernel on the path encoding (`_predictors.DistanceGP`); its length and noise
are chosen per fit from small grids by the marginal likelihood. NASBOT's OTMANN distance
compares layer masses by optimal transport; on NB-201's fixed cell graph the ops on each path
are what differ, which the path encoding captures.

After `num_init` uniformly drawn cells, each fit ranks candidates by expected improvement
over the best validation accuracy told (diverged results left out) and proposes the
`batch_size` best. Candidates: `num_random` uniform cells plus `per_parent` one-edge mutants
of each of the `parents` best cells, without repeats and without cells isomorphic to one
already asked. Defaults: 10 initial cells (as BANANAS's GP baseline), a fit every 5
evaluations, 100 random cells and 10 mutants of each of the 5 best; a 100-evaluation run
spends ~0.1 s in the strategy.

Asynchronous workers: as `bananas`, proposals are handed out from the last fit's batch and a
new fit uses whatever results are back.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtr

from nasbench_lite.checks import check_int
from nasbench_lite.search.protocol import Result
from nasbench_lite.strategies._predictors import DistanceGP

from . import _model_based as mb


class GPBayesOpt:
    """GP-based Bayesian optimisation on the path-encoding distance, expected improvement."""

    name = "gp_bo"

    def __init__(
        self,
        space: Any,
        num_init: int = 10,
        batch_size: int = 5,
        num_random: int = 100,
        parents: int = 5,
        per_parent: int = 10,
    ) -> None:
        for key, value, low in (("num_init", num_init, 0), ("batch_size", batch_size, 1),
                                ("num_random", num_random, 0), ("parents", parents, 1),
                                ("per_parent", per_parent, 0)):  # fmt: skip
            check_int(key, value, low)
        self.space = space
        self.num_init, self.batch_size, self.num_random = num_init, batch_size, num_random
        self.parents, self.per_parent = parents, per_parent

    def init(self, rng: np.random.Generator) -> mb.ModelState:
        return mb.initial_state()

    def ask(self, state: mb.ModelState, rng: np.random.Generator) -> tuple[mb.ModelState, int]:
        return mb.ask(self.space, state, rng, self.num_init, self._propose)

    def tell(self, state: mb.ModelState, raw: int, result: Result) -> mb.ModelState:
        valid_acc = result.valid_acc
        return mb.tell(state, raw, valid_acc)

    def _propose(self, state: mb.ModelState, rng: np.random.Generator) -> tuple[int, ...]:
        pool = self.space.sample(rng, self.num_random).tolist()
        pool += mb.mutants(self.space, state, rng, self.parents, self.per_parent)
        candidates = mb.fresh(self.space, state, pool)
        if not candidates.size:
            return ()
        raws, scores = mb.finite(state)
        model = DistanceGP().fit(self.space.path_encoding(raws), scores, rng)
        mean, std = model.predict(self.space.path_encoding(candidates))
        gain = expected_improvement(mean, std, scores.max())
        best = np.argsort(-near_ties(gain), kind="stable")[: self.batch_size]
        return tuple(candidates[best].tolist())


def near_ties(values: np.ndarray, digits: int = 9) -> np.ndarray:
    """`values` rounded to `digits` significant digits of their largest magnitude, so that
    candidates whose scores differ only by floating-point rounding (which depends on the
    CPU's BLAS kernels) tie and keep their candidate order on every machine."""
    scale = float(np.max(np.abs(values))) if values.size else 0.0
    if not np.isfinite(scale) or scale == 0.0:
        return values
    return np.round(values / scale, digits) * scale


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """E[max(f - best, 0)] for f ~ N(mean, std^2), elementwise: (n,) float64."""
    z = (mean - best) / std
    return (mean - best) * ndtr(z) + std * np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi)
