"""Zero-cost search: score `pool` uniformly drawn cells by a zero-cost proxy and train them
best first, the warm-up of Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS" (ICLR
2021, Section 5) used on its own: random search whose candidates are ordered by synflow.

The scores come from the benchmark's proxy lookup and nothing else (no accuracy is seen
before a cell is trained); their measured cost, the table's seconds per scored cell times
the cells scored, is charged to the simulated clock with the first ask. The run trains the
`top` best cells (None: down the ranking until the budget is spent) and then finishes.

Default pool: 1,000 cells, about 47 s of proxies on the `cpu` table, half its default budget,
leaving the rest for training the best of them (the paper scored thousands of NAS-Bench-201
cells, whose proxies cost a thousandth of a training, here a twentieth: `_zero_cost`).
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import numpy as np

from nasbench_lite.checks import check_int
from nasbench_lite.search.protocol import Result

from . import _zero_cost as zc


class ZeroCostState(NamedTuple):
    queue: tuple[int, ...]  # ranked cells not yet asked, best first
    unpaid: float  # seconds of scoring not yet charged to the clock


class ZeroCost:
    """Train the best cells of a proxy-ranked random pool, best first."""

    name = "zero_cost"
    needs_proxies: ClassVar[bool] = True  # searches only a table that holds proxies
    in_default_comparison: ClassVar[bool] = False

    def __init__(self, space: Any, pool: int = 1000, top: int | None = None,
                 proxy: str = zc.PROXY, proxies: Any = None) -> None:  # fmt: skip
        check_int("pool", pool, 1)
        if top is not None:
            check_int("top", top, 1)
        zc.check(self.name, pool, proxy, proxies)
        self.space, self.pool, self.top = space, pool, top
        self.proxy, self.proxies = proxy, proxies

    def init(self, rng: np.random.Generator) -> ZeroCostState:
        warm = zc.ranked_pool(self.space, self.proxies, self.proxy, self.pool, rng)
        return ZeroCostState(warm.cells[: self.top], warm.seconds)

    def ask(self, state: ZeroCostState, rng: np.random.Generator) -> tuple[ZeroCostState, Any]:
        if not state.queue:
            return state, None  # every chosen cell asked: the run ends when they are back
        return ZeroCostState(state.queue[1:], 0.0), zc.charged(state.queue[0], state.unpaid)

    def tell(self, state: ZeroCostState, raw: Any, result: Result) -> ZeroCostState:
        return state
