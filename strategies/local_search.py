"""Local search, White, Nolen & Savani, "Local Search is State of the Art for Neural
Architecture Search Benchmarks" (2020; UAI 2021 as "Exploring the Loss Landscape in NAS").

A climb starts from a uniformly drawn cell and evaluates its whole neighbourhood (every
one-edge edit, `space.neighbours`) in random order. If the best neighbour beats the current
cell's validation accuracy the climb moves there and evaluates the new neighbourhood;
otherwise the current cell is a local optimum and the search restarts from a new random cell.
Cells already asked in the current climb are not asked again (their first result stands), so
the neighbourhood of a new centre holds at most 23 new cells.

Asynchronous workers: the start cell and its neighbours are all known up front, so up to 25
asks are answered before any result is needed. Once a neighbourhood is fully asked, a further
ask returns None and that worker waits (the runner asks again after the next result); the move
is decided when the last result of the step is told. Results only ever belong to the current
step, because the search moves on only after all of them are in.

Zero-cost warm-up (`warmup` > 0; registered as `local_search_zc`): climbs start from the
cells of a pool of `warmup` uniform cells ranked by a zero-cost proxy (synflow), best first,
instead of uniform cells, until the ranking is used up, after Abdelfattah et al.'s warm-up
("Zero-Cost Proxies for Lightweight NAS", ICLR 2021, Section 5); the scoring's measured cost
is charged to the clock with the first ask (`_zero_cost`).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, NamedTuple

import numpy as np

from nasbench_lite.search.protocol import Result, fitness

from . import _zero_cost as zc


class LocalSearchState(NamedTuple):
    centre: int  # cell whose neighbourhood is being evaluated; -1: start a new climb
    centre_score: float  # its validation accuracy (-inf until told)
    todo: tuple[int, ...]  # neighbours of the centre still to ask, in random order
    pending: int  # cells of this step asked but not yet told
    best: int  # best neighbour told in this step (-1: none yet)
    best_score: float
    visited: frozenset[int]  # cells asked in this climb
    warm: tuple[int, ...] = ()  # proxy-ranked start cells still unused, best first
    unpaid: float = 0.0  # seconds of proxy scoring not yet charged to the clock


class LocalSearch:
    """Best-improvement hill climbing over one-edge edits, with random restarts."""

    name = "local_search"

    def __init__(self, space: Any, warmup: int = 0, proxy: str = zc.PROXY,
                 proxies: Any = None) -> None:  # fmt: skip
        zc.check(self.name, warmup, proxy, proxies)
        self.space = space
        self.warmup, self.proxy, self.proxies = warmup, proxy, proxies

    def init(self, rng: np.random.Generator) -> LocalSearchState:
        warm = zc.ranked_pool(self.space, self.proxies, self.proxy, self.warmup, rng)
        return LocalSearchState(-1, -math.inf, (), 0, -1, -math.inf, frozenset(), *warm)

    def ask(
        self, state: LocalSearchState, rng: np.random.Generator
    ) -> tuple[LocalSearchState, int | None]:
        if state.centre < 0:
            return self._start(state, rng)
        if not state.todo and state.pending == 0:  # the step is complete: move or restart
            if state.best_score <= state.centre_score:
                return self._start(state, rng)  # local optimum
            state = self._move(state, rng)
            if not state.todo:  # every neighbour of the new centre was already asked
                return self._start(state, rng)
        if not state.todo:
            return state, None  # the whole neighbourhood is in flight: wait for a result
        raw = state.todo[0]
        return state._replace(
            todo=state.todo[1:], pending=state.pending + 1, visited=state.visited | {raw}
        ), raw

    def tell(self, state: LocalSearchState, raw: int, result: Result) -> LocalSearchState:
        raw = zc.raw_of(raw)
        valid_acc = result.valid_acc
        score = fitness(valid_acc)
        pending = state.pending - 1
        if raw == state.centre:  # the climb's start cell
            return state._replace(pending=pending, centre_score=score)
        if score > state.best_score:
            return state._replace(pending=pending, best=raw, best_score=score)
        return state._replace(pending=pending)

    def _start(self, state: LocalSearchState, rng: np.random.Generator) -> tuple[Any, Any]:
        """A new climb from the next proxy-ranked cell, else from a uniform one."""
        if state.warm:
            raw, warm = state.warm[0], state.warm[1:]
        else:
            raw, warm = int(self.space.sample(rng, 1)[0]), ()
        todo = self._shuffled(self.space.neighbours(raw), rng)
        new = LocalSearchState(raw, -math.inf, todo, 1, -1, -math.inf, frozenset({raw}), warm)
        return new, zc.charged(raw, state.unpaid)

    def _move(self, state: LocalSearchState, rng: np.random.Generator) -> LocalSearchState:
        fresh = [r for r in self.space.neighbours(state.best).tolist() if r not in state.visited]
        todo = self._shuffled(np.asarray(fresh, dtype=np.int64), rng)
        return state._replace(centre=state.best, centre_score=state.best_score, todo=todo,
                              pending=0, best=-1, best_score=-math.inf)  # fmt: skip

    @staticmethod
    def _shuffled(raws: np.ndarray, rng: np.random.Generator) -> tuple[int, ...]:
        return tuple(rng.permutation(raws).tolist())


class WarmStartedLocalSearch(LocalSearch):
    """Local search whose climbs start from the best proxy-scored cells of a random pool."""

    name = "local_search_zc"
    needs_proxies: ClassVar[bool] = True  # searches only a table that holds proxies
    in_default_comparison: ClassVar[bool] = False

    def __init__(self, space: Any, warmup: int = zc.WARM_POOL, proxy: str = zc.PROXY,
                 proxies: Any = None) -> None:  # fmt: skip
        super().__init__(space, warmup, proxy, proxies)
