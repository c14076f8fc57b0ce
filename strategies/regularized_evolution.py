"""Regularized (ageing) evolution, Real et al., "Regularized Evolution for Image Classifier
Architecture Search" (AAAI 2019), as run on NAS-Bench-101 (Ying et al. 2019).

The population starts with `population_size` uniformly drawn cells. Each later proposal is a
tournament: `tournament_size` members are drawn without replacement, the one with the best
validation accuracy is the parent, and the child is the parent with one edge changed to a
different op (`space.mutate`). Every told result joins the population and the oldest member
leaves, so a lucky noisy evaluation cannot stay forever. Defaults are NAS-Bench-101's:
population 50, tournament 10.

Asynchronous workers: the population is the last `population_size` results in the order they
were told. Once the initial random cells have all been asked, tournaments run on whatever part
of the population has been told so far; if none has (more workers than the population), one
more random cell is asked.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from nasbench_lite.checks import check_int
from nasbench_lite.search.protocol import Result, fitness


class EvolutionState(NamedTuple):
    raws: tuple[int, ...]  # population, oldest first
    scores: tuple[float, ...]  # their validation accuracies (diverged: -inf)
    num_random: int  # random cells asked so far (the initial population)


class RegularizedEvolution:
    """Ageing evolution with tournament selection and one-edge mutation."""

    name = "regularized_evolution"

    def __init__(self, space: Any, population_size: int = 50, tournament_size: int = 10) -> None:
        check_int("population_size", population_size)
        check_int("tournament_size", tournament_size, 1, population_size)
        self.space = space
        self.population_size = population_size
        self.tournament_size = tournament_size

    def init(self, rng: np.random.Generator) -> EvolutionState:
        return EvolutionState(raws=(), scores=(), num_random=0)

    def ask(self, state: EvolutionState, rng: np.random.Generator) -> tuple[EvolutionState, int]:
        if state.num_random < self.population_size or not state.raws:
            raw = int(self.space.sample(rng, 1)[0])
            return state._replace(num_random=state.num_random + 1), raw
        size = min(self.tournament_size, len(state.raws))
        # The first `size` of a random permutation: distinct entrants in random order (so a
        # tie goes to a random one of the best); faster than rng.choice(replace=False).
        entrants = rng.permutation(len(state.raws))[:size].tolist()
        parent = max(entrants, key=state.scores.__getitem__)
        return state, int(self.space.mutate(rng, state.raws[parent]))

    def tell(self, state: EvolutionState, raw: int, result: Result) -> EvolutionState:
        valid_acc = result.valid_acc
        raws = state.raws + (raw,)
        scores = state.scores + (fitness(valid_acc),)
        if len(raws) > self.population_size:  # ageing: the oldest member dies
            raws, scores = raws[1:], scores[1:]
        return EvolutionState(raws, scores, state.num_random)
