"""Zero-shot transfer: a portfolio of cells chosen greedily on the source tasks, evaluated in
order; Wistuba, Schilling & Schmidt-Thieme, "Sequential Model-Free Hyperparameter Tuning"
(ICDM 2015), as Syne Tune's ZeroShotTransfer implements it.

Each source task ranks the candidate classes by seed-mean final validation accuracy (rank 1
the best; ties share their average rank). The portfolio is built greedily: the next cell is
the one with the lowest rank averaged over the tasks, then every task's ranks are clipped at
that cell's rank (a cell can no longer improve on a task beyond what the portfolio already
holds there); when the clipped ranks are equal within every task, they are recomputed from
the remaining cells' accuracies. The portfolio uses no result of the target: the target's
answers are only recorded. Once it is exhausted the run goes on as random search.

Candidates: the classes every source task holds (Syne Tune's default, use_surrogates=False,
assumes each configuration is evaluated on every task); one raw cell per class.
`portfolio_size` caps the portfolio (None: every candidate).
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import numpy as np

from nasbench_lite.checks import check_int
from nasbench_lite.errors import InputError
from nasbench_lite.search.protocol import Result

from . import _transfer as tl


class PortfolioState(NamedTuple):
    position: int  # portfolio cells asked so far
    block: tuple[int, ...] = ()  # pre-drawn random cells, once the portfolio is spent
    pos: int = 0


def greedy_portfolio(scores: np.ndarray, size: int) -> list[int]:
    """Column indices of (tasks, n) scores (lower is better), in portfolio order."""
    remaining = np.arange(scores.shape[1])
    ranks = tl.average_ranks(scores)
    chosen: list[int] = []
    while len(chosen) < size and len(remaining):
        best = int(np.argmin(ranks.mean(axis=0)))  # the first of equal means, like idxmin
        ranks = np.minimum(ranks, ranks[:, best : best + 1])
        chosen.append(int(remaining[best]))
        keep = np.arange(len(remaining)) != best
        remaining, ranks = remaining[keep], ranks[:, keep]
        if len(remaining) and not ranks.std(axis=1).any():
            ranks = tl.average_ranks(scores[:, remaining])
    return chosen


class ZeroShotTransfer:
    """Evaluate the source tasks' greedy portfolio in order, then search at random."""

    name = "zero_shot_transfer"
    uses_sources: ClassVar[bool] = True
    counterpart: ClassVar[str] = "random_search"

    def __init__(self, space: Any, portfolio_size: int | None = None, sources: Any = None) -> None:
        if portfolio_size is not None:
            check_int("portfolio_size", portfolio_size, 1)
        self.space, self.sources = space, tl.check_sources(self.name, sources)
        self.portfolio_size = portfolio_size
        key = (self.name, tl.space_key(space), portfolio_size)
        self.portfolio = tl.memo(self.sources, key, self._build)

    def _build(self) -> tuple[int, ...]:
        cells = tl.candidates(self.space)
        known = np.array([task.known[cells] for task in self.sources]).all(axis=0)
        if not known.any():
            raise InputError(
                f"strategy {self.name!r}: the source tasks "
                f"({', '.join(t.name for t in self.sources)}) hold no class in common (and "
                "none the benchmark offers); its portfolio ranks classes on every task"
            )
        cells = cells[known]
        # (tasks, n): a diverged seed counts 0 (`SourceTask.ranking_score`).
        scores = -np.stack([task.ranking_score(cells) for task in self.sources])
        size = len(cells) if self.portfolio_size is None else self.portfolio_size
        return tuple(cells[greedy_portfolio(scores, size)].tolist())

    def init(self, rng: np.random.Generator) -> PortfolioState:
        return PortfolioState(0)

    def ask(self, state: PortfolioState, rng: np.random.Generator) -> tuple[PortfolioState, int]:
        if state.position < len(self.portfolio):
            return state._replace(position=state.position + 1), self.portfolio[state.position]
        block, pos = state.block, state.pos
        if pos == len(block):
            block, pos = tuple(self.space.sample(rng, 256).tolist()), 0
        return state._replace(block=block, pos=pos + 1), block[pos]

    def tell(self, state: PortfolioState, raw: int, result: Result) -> PortfolioState:
        return state
