"""Bounding-box search: search only the ops the source tasks' best cells use; Perrone, Shen,
Seeger, Archambeau & Jenatton, "Learning search spaces for Bayesian optimization: Another view
of hyperparameter transfer learning" (NeurIPS 2019), as Syne Tune's BoundingBox implements it.

The box: for every edge, the set of ops that the `top` best classes of each source task (by
seed-mean final validation accuracy) use on it; Syne Tune's default and the paper's is the
best configuration of each task (`top` = 1). For a categorical hyperparameter, such as an
edge's op, the box is the set of values seen (Syne Tune's rule); the space searched is every
cell whose edges all use ops in the box. Inside it:

- inner="random_search" (default): the box's classes in a random order, each once, then
  uniform cells of the whole space once every class in the box has been evaluated (so a
  box of a few dozen cells does not end a run early);
- inner="regularized_evolution": regularized evolution (NAS-Bench-101's population 50,
  tournament 10) restricted to the box for the whole run, mutations included; in a box
  smaller than the budget it re-evaluates cells, each time with a new training seed.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import numpy as np

from nasbench_lite.checks import check_int
from nasbench_lite.errors import InputError
from nasbench_lite.search.protocol import Result
from nasbench_lite.spaces.subspace import SubSpace

from . import _transfer as tl
from .regularized_evolution import RegularizedEvolution

INNER = ("random_search", "regularized_evolution")


class BoxState(NamedTuple):
    order: tuple[int, ...]  # the box's classes (one raw cell each), shuffled, not yet asked
    block: tuple[int, ...] = ()  # uniform cells of the whole space, once the box is spent
    pos: int = 0
    inner: Any = None  # the inner evolution's state (inner="regularized_evolution")


class BoundingBox:
    """Random search or regularized evolution among the cells using the sources' best ops."""

    name = "bounding_box"
    uses_sources: ClassVar[bool] = True
    counterpart: ClassVar[str] = "random_search"

    def __init__(
        self, space: Any, top: int = 1, inner: str = "random_search", sources: Any = None
    ) -> None:
        check_int("top", top, 1)
        if inner not in INNER:
            raise InputError(f"inner must be one of {', '.join(INNER)}, got {inner!r}")
        self.space, self.top, self.inner = space, top, inner
        self.sources = tl.check_sources(self.name, sources)
        key = (self.name, tl.space_key(space), top)
        self.allowed_ops, self.box, self.inside = tl.memo(self.sources, key, self._build)
        self.evolution = None
        if inner == "regularized_evolution":  # every raw cell of the box, as the space has
            self.evolution = RegularizedEvolution(SubSpace(space, self.inside))

    def _build(self) -> tuple[np.ndarray, tuple[int, ...], tuple[int, ...]]:
        """(bool (edges, ops) ops in the box, one raw cell per class in the box, every raw
        cell in the box)."""
        cells = tl.candidates(self.space)
        best = [raw for task in self.sources for raw in task.ranking(cells)[: self.top].tolist()]
        if not best:
            raise InputError(
                f"strategy {self.name!r}: the source tasks ({', '.join(self.sources.names)}) "
                "hold no class of the searched space"
            )
        ops = self.space.cells(np.asarray(best, dtype=np.int64))  # (k, edges)
        allowed = np.zeros((self.space.num_edges, self.space.num_ops), dtype=bool)
        allowed[np.arange(ops.shape[1])[None, :].repeat(len(ops), 0), ops] = True
        allowed.setflags(write=False)
        pool = (
            self.space.allowed_raws
            if isinstance(self.space, SubSpace)
            else np.arange(self.space.num_cells)
        )
        inside = tl.box_cells(self.space, allowed, np.asarray(pool, dtype=np.int64))
        classes = np.asarray(self.space.canonical_ids)[inside]
        _, first = np.unique(classes, return_index=True)  # the first member of each class
        return allowed, tuple(np.sort(inside[first]).tolist()), tuple(np.sort(inside).tolist())

    def init(self, rng: np.random.Generator) -> BoxState:
        if self.evolution is not None:
            return BoxState((), inner=self.evolution.init(rng))
        return BoxState(tuple(rng.permutation(np.asarray(self.box)).tolist()))

    def ask(self, state: BoxState, rng: np.random.Generator) -> tuple[BoxState, int]:
        if self.evolution is not None:
            inner, raw = self.evolution.ask(state.inner, rng)
            return state._replace(inner=inner), raw
        if state.order:
            return state._replace(order=state.order[1:]), state.order[0]
        block, pos = state.block, state.pos
        if pos == len(block):
            block, pos = tuple(self.space.sample(rng, 256).tolist()), 0
        return state._replace(block=block, pos=pos + 1), block[pos]

    def tell(self, state: BoxState, raw: int, result: Result) -> BoxState:
        if self.evolution is not None:
            return state._replace(inner=self.evolution.tell(state.inner, raw, result))
        return state
