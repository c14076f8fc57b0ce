"""Multi-objective regularized evolution: Real et al.'s ageing evolution (AAAI 2019) with the
tournament won by non-dominated sorting, as Syne Tune's `MultiObjectiveRegularizedEvolution`
(syne_tune.optimizer.schedulers.multiobjective), with its defaults: population 100, sample
10 (drawn with replacement), priority `NonDominatedPriority` (fronts, then an epsilon-net
inside each front: `_nondominated.priority`).

The first `population_size` cells are drawn uniformly. Each later proposal draws
`sample_size` members of the population, the one of highest priority (first front, then
spread along it) is the parent, and the child is the parent with one edge changed
(`space.mutate`). Every told result joins the population and the oldest leaves. Objectives
are the comparison's (`compare --objectives`), else validation accuracy alone, where this is
regularized evolution with a sample drawn with replacement.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from nasbench_lite.checks import check_int
from nasbench_lite.search.objectives import DEFAULT_OBJECTIVES, Objective, losses
from nasbench_lite.search.protocol import Result
from nasbench_lite.strategies._nondominated import priority


class MOEvolutionState(NamedTuple):
    raws: tuple[int, ...]  # population, oldest first
    losses: tuple[tuple[float, ...], ...]  # their objective values, each to minimise
    num_random: int  # random cells asked so far (the initial population)


class MORegularizedEvolution:
    """Ageing evolution whose tournaments are won by non-dominated rank."""

    name = "mo_regularized_evolution"
    multi_objective = True
    in_default_comparison = False  # a duplicate of a single-objective one on accuracy alone

    def __init__(
        self,
        space: Any,
        objectives: tuple[Objective, ...] = DEFAULT_OBJECTIVES,
        population_size: int = 100,
        sample_size: int = 10,
    ) -> None:
        check_int("population_size", population_size)
        check_int("sample_size", sample_size)
        self.space = space
        self.objectives = tuple(objectives)
        self.population_size, self.sample_size = population_size, sample_size

    def init(self, rng: np.random.Generator) -> MOEvolutionState:
        return MOEvolutionState(raws=(), losses=(), num_random=0)

    def ask(self, state: MOEvolutionState, rng: np.random.Generator) -> tuple[Any, int]:
        if state.num_random < self.population_size or not state.raws:
            raw = int(self.space.sample(rng, 1)[0])
            return state._replace(num_random=state.num_random + 1), raw
        entrants = rng.integers(len(state.raws), size=self.sample_size)
        ranks = priority(np.array(state.losses))
        parent = int(entrants[np.argmin(ranks[entrants])])
        return state, int(self.space.mutate(rng, state.raws[parent]))

    def tell(self, state: MOEvolutionState, raw: int, result: Result) -> MOEvolutionState:
        raws = state.raws + (raw,)
        told = state.losses + (losses(result, self.objectives),)
        if len(raws) > self.population_size:  # ageing: the oldest member dies
            raws, told = raws[1:], told[1:]
        return MOEvolutionState(raws, told, state.num_random)
