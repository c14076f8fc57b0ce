"""A second, tiny search space for the tests: a 3-node cell (edges 0->1, 0->2, 1->2), each
edge one of none, skip_connect, nor_conv_3x3: 27 raw cells.

It proves that a space owns everything about its cells: it implements the `Space`
protocol (cells, a canonical identity, sampling, encodings, its network cell, a plain
reference cell and the cell's cost) in this one module, and the trainer, `generate`, the
table and `compare` run it through their public functions. Its canonical identity: the
cells whose output is identically zero (0->2 is none, and 0->1 or 1->2 is none) form one
class; every other cell is a class of its own (23 classes).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nasbench_lite.spaces import register_space

OPS = ("none", "skip_connect", "nor_conv_3x3")
EDGES = ((0, 1), (0, 2), (1, 2))
PLACE = np.array([9, 3, 1])
NAME = "tiny3"


def _zero_output(cells: np.ndarray) -> np.ndarray:
    return (cells[:, 1] == 0) & ((cells[:, 0] == 0) | (cells[:, 2] == 0))


class TinySpace:
    name = NAME
    ops = OPS
    num_ops = len(OPS)
    num_edges = len(EDGES)
    num_cells = 27

    def __init__(self) -> None:
        all_cells = self.cells(np.arange(27))
        zero = _zero_output(all_cells)
        first_zero = int(np.flatnonzero(zero)[0])
        keys = np.where(zero, first_zero, np.arange(27))
        _, self.canonical_ids = np.unique(keys, return_inverse=True)
        self.representatives = np.array([np.flatnonzero(self.canonical_ids == c)[0]
                                         for c in range(self.num_unique)])  # fmt: skip

    @property
    def num_unique(self) -> int:
        return int(self.canonical_ids.max()) + 1

    def to_raw(self, value: Any) -> int:
        if isinstance(value, str):
            return self.index(self.parse(value))
        if isinstance(value, (int, np.integer)):
            if not 0 <= value < 27:
                raise ValueError(f"raw index {value} is out of range 0..26")
            return int(value)
        return self.index(value)

    def cell(self, raw: Any) -> np.ndarray:
        return self.cells([self.to_raw(raw)])[0]

    def cells(self, raws: Any) -> np.ndarray:
        raws = np.asarray(raws, dtype=np.int64)
        return (raws[..., None] // PLACE) % 3

    def index(self, cell: Any) -> int:
        return int(np.asarray(cell) @ PLACE)

    def indices(self, cells: Any) -> np.ndarray:
        return np.asarray(cells, dtype=np.int64) @ PLACE

    def parse(self, text: str) -> np.ndarray:
        return np.array([OPS.index(op) for op in text.split("/")])

    def format(self, cell_or_raw: Any) -> str:
        return "/".join(OPS[op] for op in self.cell(cell_or_raw))

    def canonical(self, raw: Any) -> int:
        return int(self.canonical_ids[self.to_raw(raw)])

    def class_members(self, class_id: Any) -> np.ndarray:
        return np.flatnonzero(self.canonical_ids == class_id)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.integers(0, 27, size=n)

    def sample_classes(self, rng: np.random.Generator, n: int, replace: bool = False):
        return rng.choice(self.num_unique, size=n, replace=replace).astype(np.int64)

    def mutate(self, rng: np.random.Generator, raw: Any) -> int:
        cell = self.cell(raw)
        edge = int(rng.integers(3))
        cell[edge] = (cell[edge] + rng.integers(1, 3)) % 3
        return self.index(cell)

    def neighbours(self, raw: Any) -> np.ndarray:
        cell, out = self.cell(raw), []
        for e in range(3):
            for op in range(3):
                if op != cell[e]:
                    out.append(self.index(np.where(np.arange(3) == e, op, cell)))
        return np.array(out)

    def onehot(self, raws: Any) -> np.ndarray:
        return np.eye(3, dtype=np.float32)[self.cells(raws)].reshape(len(raws), -1)

    def path_encoding(self, raws: Any) -> np.ndarray:
        return self.onehot(raws)

    def summary(self) -> dict[str, Any]:
        return {"cells": 27, "classes": self.num_unique}

    def network_cell(self, channels: int, *, branch: bool = True, name: str | None = None):
        return _network().TinyCell(channels, name=name)

    def reference_cell(self, cell: Any, channels: int, *, name: str | None = None):
        ops = tuple(int(op) for op in self.cell(cell))
        return _network().TinyReferenceCell(channels, ops, name=name)

    def cell_cost(self, cell: Any, channels: int, spatial: tuple[int, ...]) -> tuple[int, int]:
        cell = self.cell(cell)
        live = [True, cell[0] != 0, True]  # the source node of each edge can be non-zero
        convs = sum(1 for e in range(3) if cell[e] == 2 and live[EDGES[e][0]])
        weights = 3 ** len(spatial) * channels * channels
        return convs * weights, convs * 2 * weights * math.prod(spatial)


def _network():
    """The cell modules (Flax), built on first use like a real space's network module."""
    import flax.linen as nn
    import jax.numpy as jnp

    from nasbench_lite.spaces.network import Kernel, ReLUConvNorm, batch_norm, conv_same, flax_conv

    class TinyEdge(nn.Module):
        """none / skip / ReLU-conv-norm selected by the traced op id; parameters at
        ``edge_e/conv/kernel`` as in the reference cell's ReLUConvNorm."""

        channels: int

        @nn.compact
        def __call__(self, x, op, train):
            kernel = Kernel((*(3,) * (x.ndim - 2), x.shape[-1], self.channels), name="conv")()
            conv = batch_norm(train, name="norm")(conv_same(nn.relu(x), kernel))
            return jnp.select([op == 1, op == 2], [x, conv], jnp.zeros_like(x))

    class TinyCell(nn.Module):
        channels: int

        @nn.compact
        def __call__(self, x, cell, train):
            nodes = [x, None, None]
            for e, (source, target) in enumerate(EDGES):
                out = TinyEdge(self.channels, name=f"edge_{e}")(nodes[source], cell[e], train)
                nodes[target] = out if nodes[target] is None else nodes[target] + out
            return nodes[2]

    class TinyReferenceCell(nn.Module):
        channels: int
        ops: tuple

        @nn.compact
        def __call__(self, x, cell, train):
            nodes = [x, None, None]
            for e, (source, target) in enumerate(EDGES):
                inp, op = nodes[source], self.ops[e]
                if op == 0 or inp is None:
                    continue
                if op == 2:
                    conv = ReLUConvNorm(self.channels, 3, conv_type=flax_conv, name=f"edge_{e}")
                    inp = conv(inp, train)
                out = inp
                nodes[target] = out if nodes[target] is None else nodes[target] + out
            return jnp.zeros_like(x) if nodes[2] is None else nodes[2]

    return type("Network", (), {"TinyCell": TinyCell, "TinyReferenceCell": TinyReferenceCell})


def register() -> TinySpace:
    """Register the space under "tiny3" (once per process) and return it."""
    from nasbench_lite.spaces import available_spaces, get_space

    if NAME not in available_spaces():
        register_space(NAME, TinySpace)
    return get_space(NAME)
