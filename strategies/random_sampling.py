"""Random sampling: evaluate ONE uniformly drawn cell and stop.

The baseline from Lindauer & Hutter's NAS best-practice checklist ("Best Practices for
Scientific Research on Neural Architecture Search", JMLR 2020): what a practitioner gets by
picking an architecture from the space at random. Its incumbent is that one cell for the whole
budget; comparing a strategy against it shows how much the search itself contributes.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from nasbench_lite.search.protocol import Result


class RandomSamplingState(NamedTuple):
    raw: int  # the drawn cell; -1 before the draw


class RandomSampling:
    """One uniform draw over raw cells; afterwards `ask` returns None (finished)."""

    name = "random_sampling"

    def __init__(self, space: Any) -> None:
        self.space = space

    def init(self, rng: np.random.Generator) -> RandomSamplingState:
        return RandomSamplingState(raw=-1)

    def ask(
        self, state: RandomSamplingState, rng: np.random.Generator
    ) -> tuple[RandomSamplingState, int | None]:
        if state.raw >= 0:
            return state, None  # nothing more to propose: the runner ends the run
        raw = int(self.space.sample(rng, 1)[0])
        return RandomSamplingState(raw=raw), raw

    def tell(self, state: RandomSamplingState, raw: int, result: Result) -> RandomSamplingState:
        return state
