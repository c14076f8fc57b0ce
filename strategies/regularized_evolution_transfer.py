"""Regularized evolution warm-started from the source tasks: the initial population is the
source tasks' best cells instead of uniform ones, then plain regularized evolution (Real et
al., AAAI 2019; NAS-Bench-101's population 50 and tournament 10).

The population's `population_size` cells are the best classes of the source tasks taken in
turn (the best of each task, then the second best of each, ...; a class already taken is
skipped), one raw cell per class, ranked by seed-mean final validation accuracy on each
source. They are evaluated on the target like any initial population: the target's answers,
not the sources', fill the population, so a cell that transfers badly is soon selected
against and, by ageing, leaves. The non-transfer counterpart is `regularized_evolution`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from nasbench_lite.checks import check_int
from nasbench_lite.search.protocol import Result

from . import _transfer as tl
from .regularized_evolution import EvolutionState, RegularizedEvolution


class TransferEvolution:
    """Regularized evolution whose initial population is the source tasks' best cells."""

    name = "regularized_evolution_transfer"
    uses_sources: ClassVar[bool] = True
    counterpart: ClassVar[str] = "regularized_evolution"

    def __init__(self, space: Any, population_size: int = 50, tournament_size: int = 10,
                 sources: Any = None) -> None:  # fmt: skip
        check_int("population_size", population_size)
        self.space, self.sources = space, tl.check_sources(self.name, sources)
        self.evolution = RegularizedEvolution(space, population_size, tournament_size)
        self.population_size, self.tournament_size = population_size, tournament_size
        key = (self.name, tl.space_key(space), population_size)
        self.warm = tl.memo(self.sources, key, self._build)

    def _build(self) -> tuple[int, ...]:
        cells = tl.candidates(self.space)
        return tuple(self.sources.best_cells(cells, self.population_size))

    def init(self, rng: np.random.Generator) -> EvolutionState:
        # The evolution's own warm start (the zero-cost variant's) takes the source cells;
        # fewer known cells than the population: the rest are uniform, as usual.
        return EvolutionState((), (), 0, self.warm, 0.0)

    def ask(self, state: EvolutionState, rng: np.random.Generator) -> tuple[EvolutionState, Any]:
        return self.evolution.ask(state, rng)

    def tell(self, state: EvolutionState, raw: Any, result: Result) -> EvolutionState:
        return self.evolution.tell(state, raw, result)
