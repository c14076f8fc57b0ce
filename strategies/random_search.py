"""Random search: evaluate uniformly drawn raw cells until the budget is spent.

The baseline of every NAS benchmark study (Li & Talwalkar 2019; NAS-Bench-101 found TPE no
better than it). Cells are drawn independently, so a cell may come up twice; in a space of
15,625 cells a repeat is rare at benchmark budgets and just costs another noisy evaluation,
as it would in real training.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from nasbench_lite.search.protocol import Result

# Cells are drawn from the generator in blocks: one numpy call per block instead of one per
# ask keeps the runner fast. The draws are still a pure function of the run's generator.
BLOCK = 256


class RandomSearchState(NamedTuple):
    block: tuple[int, ...]  # pre-drawn raw cells
    pos: int  # index of the next unused cell in `block`


class RandomSearch:
    """Uniform raw cells, independent of every result."""

    name = "random_search"

    def __init__(self, space: Any) -> None:
        self.space = space

    def init(self, rng: np.random.Generator) -> RandomSearchState:
        return RandomSearchState(block=(), pos=0)

    def ask(
        self, state: RandomSearchState, rng: np.random.Generator
    ) -> tuple[RandomSearchState, int]:
        block, pos = state
        if pos == len(block):
            block, pos = tuple(self.space.sample(rng, BLOCK).tolist()), 0
        return RandomSearchState(block, pos + 1), block[pos]

    def tell(self, state: RandomSearchState, raw: int, result: Result) -> RandomSearchState:
        return state
