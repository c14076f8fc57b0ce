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

Zero-cost warm-up (`warmup` > 0; registered as `regularized_evolution_zc`): the initial
population is the best `population_size` of `warmup` uniformly drawn cells ranked by a
zero-cost proxy (synflow) instead of uniform cells, Abdelfattah et al., "Zero-Cost Proxies
for Lightweight NAS" (ICLR 2021, Section 5); the scoring's measured cost is charged to the
clock with the first ask (`_zero_cost`).
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import numpy as np

from nasbench_lite.checks import check_int
from nasbench_lite.search.protocol import Result, fitness

from . import _zero_cost as zc


class EvolutionState(NamedTuple):
    raws: tuple[int, ...]  # population, oldest first
    scores: tuple[float, ...]  # their validation accuracies (diverged: -inf)
    num_random: int  # random cells asked so far (the initial population)
    warm: tuple[int, ...] = ()  # proxy-ranked cells that replace the random ones, best first
    unpaid: float = 0.0  # seconds of proxy scoring not yet charged to the clock


class RegularizedEvolution:
    """Ageing evolution with tournament selection and one-edge mutation."""

    name = "regularized_evolution"

    def __init__(self, space: Any, population_size: int = 50, tournament_size: int = 10,
                 warmup: int = 0, proxy: str = zc.PROXY, proxies: Any = None) -> None:  # fmt: skip
        check_int("population_size", population_size)
        check_int("tournament_size", tournament_size, 1, population_size)
        zc.check(self.name, warmup, proxy, proxies)
        self.space = space
        self.population_size = population_size
        self.tournament_size = tournament_size
        self.warmup, self.proxy, self.proxies = warmup, proxy, proxies

    def init(self, rng: np.random.Generator) -> EvolutionState:
        warm = zc.ranked_pool(self.space, self.proxies, self.proxy, self.warmup, rng)
        return EvolutionState((), (), 0, warm.cells[: self.population_size], warm.seconds)

    def ask(self, state: EvolutionState, rng: np.random.Generator) -> tuple[EvolutionState, int]:
        if state.num_random < self.population_size or not state.raws:
            if state.num_random < len(state.warm):
                raw = state.warm[state.num_random]
            else:
                raw = int(self.space.sample(rng, 1)[0])
            asked = zc.charged(raw, state.unpaid)
            return state._replace(num_random=state.num_random + 1, unpaid=0.0), asked
        size = min(self.tournament_size, len(state.raws))
        # The first `size` of a random permutation: distinct entrants in random order (so a
        # tie goes to a random one of the best); faster than rng.choice(replace=False).
        entrants = rng.permutation(len(state.raws))[:size].tolist()
        parent = max(entrants, key=state.scores.__getitem__)
        return state, int(self.space.mutate(rng, state.raws[parent]))

    def tell(self, state: EvolutionState, raw: int, result: Result) -> EvolutionState:
        valid_acc = result.valid_acc
        raws = state.raws + (zc.raw_of(raw),)
        scores = state.scores + (fitness(valid_acc),)
        if len(raws) > self.population_size:  # ageing: the oldest member dies
            raws, scores = raws[1:], scores[1:]
        return state._replace(raws=raws, scores=scores)


class WarmStartedEvolution(RegularizedEvolution):
    """Regularized evolution from the best proxy-scored cells of a random pool."""

    name = "regularized_evolution_zc"
    needs_proxies: ClassVar[bool] = True  # searches only a table that holds proxies
    in_default_comparison: ClassVar[bool] = False

    def __init__(self, space: Any, population_size: int = 50, tournament_size: int = 10,
                 warmup: int = zc.WARM_POOL, proxy: str = zc.PROXY,
                 proxies: Any = None) -> None:  # fmt: skip
        super().__init__(space, population_size, tournament_size, warmup, proxy, proxies)
