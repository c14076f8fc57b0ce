"""What `bananas` and `gp_bo` share: their state, the ask loop that proposes cells in batches
from one model fit, and the candidate cells an acquisition function ranks.

Not a strategy (the leading underscore keeps it out of the registry). A model-based strategy
supplies `propose(state, rng) -> tuple of raw cells`, best first; `ask` then hands them out
one per call until they are used up, and only then fits again, so one fit serves a batch (as
in BANANAS's code, which proposes `k` cells per fit) and a model is never kept in the state.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from nasbench_lite.search.protocol import fitness

from . import _zero_cost as zc


class ModelState(NamedTuple):
    raws: tuple[int, ...]  # cells told, in completion order
    scores: tuple[float, ...]  # their validation accuracies (diverged: -inf)
    queue: tuple[int, ...]  # proposals of the last fit not yet asked, best first
    asked: frozenset[int]  # class ids (canonical) of every cell asked
    num_random: int  # initial random cells asked
    warm: tuple[int, ...] = ()  # proxy-ranked cells that replace the initial random ones
    unpaid: float = 0.0  # seconds of proxy scoring not yet charged to the clock


def initial_state(warm: zc.Warmup | None = None) -> ModelState:
    """The empty state; `warm`, a zero-cost warm-up, gives the initial cells, best first."""
    return ModelState((), (), (), frozenset(), 0, *(warm or zc.Warmup((), 0.0)))


def ask(
    space: Any,
    state: ModelState,
    rng: np.random.Generator,
    num_init: int,
    propose: Callable[[ModelState, np.random.Generator], tuple[int, ...]],
) -> tuple[ModelState, int]:
    """The next cell: one of `num_init` initial cells (the warm-up's, then random ones), else
    the next queued proposal, else a new batch from `propose` (a random cell while fewer
    than two results are finite). The first ask carries the warm-up's cost."""
    queue = state.queue
    if state.num_random >= num_init and not queue and finite(state)[0].size >= 2:
        queue = propose(state, rng)
    if state.num_random < len(state.warm) and state.num_random < num_init:
        raw = state.warm[state.num_random]
        state = state._replace(num_random=state.num_random + 1)
    elif state.num_random < num_init or not queue:
        raw = int(space.sample(rng, 1)[0])
        state = state._replace(num_random=state.num_random + (state.num_random < num_init))
    else:
        raw, queue = queue[0], queue[1:]
    asked = state.asked | {int(space.canonical_ids[raw])}
    return state._replace(queue=queue, asked=asked, unpaid=0.0), zc.charged(raw, state.unpaid)


def tell(state: ModelState, raw: Any, valid_acc: float) -> ModelState:
    raw = zc.raw_of(raw)
    return state._replace(raws=state.raws + (raw,), scores=state.scores + (fitness(valid_acc),))


def finite(state: ModelState) -> tuple[np.ndarray, np.ndarray]:
    """(raws int64 (n,), validation accuracies float64 (n,)) of the results that did not
    diverge: a model's training data."""
    raws, scores = np.array(state.raws, dtype=np.int64), np.array(state.scores)
    keep = scores > -math.inf
    return raws[keep], scores[keep]


def mutants(
    space: Any, state: ModelState, rng: np.random.Generator, parents: int, per_parent: int
) -> list[int]:
    """`per_parent` one-edge mutants (`space.mutate`) of each of the `parents` best cells."""
    raws, scores = finite(state)
    best = raws[np.argsort(-scores, kind="stable")[:parents]]
    return [int(space.mutate(rng, int(raw))) for raw in best for _ in range(per_parent)]


def fresh(space: Any, state: ModelState, raws: list[int]) -> np.ndarray:
    """`raws` without repeats and without cells of a class already asked: int64 (m,)."""
    raws = np.unique(np.asarray(raws, dtype=np.int64))
    classes = np.asarray(space.canonical_ids)[raws]
    keep = ~np.isin(classes, list(state.asked))
    raws, classes = raws[keep], classes[keep]
    return raws[np.unique(classes, return_index=True)[1]]  # one cell per class
