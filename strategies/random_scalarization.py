"""Random scalarization: ParEGO (Knowles, "ParEGO: a hybrid algorithm with on-line landscape
approximation for expensive multiobjective optimization problems", IEEE TEVC 2006) over our
single-objective GP Bayesian optimisation (`gp_bo`).

Before each model fit a weight vector is drawn uniformly from the simplex; every result told
so far is scalarised with ParEGO's augmented Tchebycheff function of the objectives scaled to
[0, 1] over the results, ``max_i w_i u_i + rho * sum_i w_i u_i`` with ParEGO's rho = 0.05,
and `gp_bo`'s fit and expected improvement propose the next batch on that one number. So
each fit aims at a different part of the front. ParEGO draws the weights from a fixed
uniform grid; a uniform draw from the simplex has the same distribution without the grid's
size as a parameter. The defaults of the model are `gp_bo`'s (10 random cells first, a fit
every 5 evaluations). Objectives are the comparison's (`compare --objectives`), else
validation accuracy alone, where this is `gp_bo`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from nasbench_lite.search.objectives import DEFAULT_OBJECTIVES, Objective, losses
from nasbench_lite.search.protocol import Result
from nasbench_lite.strategies import _model_based as mb
from nasbench_lite.strategies.gp_bo import GPBayesOpt

RHO = 0.05  # ParEGO's augmentation weight


class ScalarizationState(NamedTuple):
    model: mb.ModelState  # the cells told and proposals queued (its scores unused)
    losses: tuple[tuple[float, ...], ...]  # objective values of each told cell, to minimise


class RandomScalarization:
    """ParEGO-style random weights over `gp_bo`."""

    name = "random_scalarization"
    multi_objective = True
    in_default_comparison = False  # a duplicate of a single-objective one on accuracy alone

    def __init__(
        self, space: Any, objectives: tuple[Objective, ...] = DEFAULT_OBJECTIVES, **gp_params: Any
    ) -> None:
        self.space = space
        self.objectives = tuple(objectives)
        self.model = GPBayesOpt(space, **gp_params)

    def init(self, rng: np.random.Generator) -> ScalarizationState:
        return ScalarizationState(mb.initial_state(), ())

    def ask(self, state: ScalarizationState, rng: np.random.Generator) -> tuple[Any, int]:
        def propose(model: mb.ModelState, rng: np.random.Generator) -> tuple[int, ...]:
            scores = -scalarise(np.array(state.losses), rng)
            return self.model._propose(model._replace(scores=tuple(scores.tolist())), rng)

        model, raw = mb.ask(self.space, state.model, rng, self.model.num_init, propose)
        return state._replace(model=model), raw

    def tell(self, state: ScalarizationState, raw: int, result: Result) -> ScalarizationState:
        values = losses(result, self.objectives)
        diverged = not np.isfinite(values).all()  # left out of the fits, as gp_bo's
        model = mb.tell(state.model, raw, float("nan") if diverged else 0.0)
        return ScalarizationState(model, state.losses + (values,))


def scalarise(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n,) ParEGO's augmented Tchebycheff values (lower is better) of `values` (n, k) to
    minimise, under one weight vector drawn uniformly from the simplex; +inf where a value is
    not finite."""
    finite = np.isfinite(values).all(axis=1)
    weights = rng.dirichlet(np.ones(values.shape[1]))
    if not finite.any():
        return np.full(len(values), np.inf)
    low, high = values[finite].min(axis=0), values[finite].max(axis=0)
    scaled = (values - low) / np.where(high > low, high - low, 1.0)
    out = (weights * scaled).max(axis=1) + RHO * (weights * scaled).sum(axis=1)
    return np.where(finite, out, np.inf)
