"""The NB-201 search space (Dong & Yang, NAS-Bench-201, ICLR 2020) behind the Space protocol.

A 4-node cell with an edge i->j for every i < j, each edge one of 5 ops: 15,625 raw cells.
Conversions live in `cells`, the canonical identity in `canonical`, the predictor features
in `encodings`, the cell's network in `network` (Flax, imported only when asked for), its
analytical cost in `cost` and its form as a configuration (edge name -> op name, for
ConfigSpace and optuna) in `configs`; this module ties them into one object and adds sampling. The
class tables are computed on first use (about 0.1 s) and cached.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np

from nasbench_lite.errors import InputError
from nasbench_lite.spaces.checks import check_count, check_rng
from nasbench_lite.spaces.nb201 import canonical as nb201_canonical
from nasbench_lite.spaces.nb201 import cells as nb201_cells
from nasbench_lite.spaces.nb201 import configs as nb201_configs
from nasbench_lite.spaces.nb201 import cost as nb201_cost
from nasbench_lite.spaces.nb201 import encodings as nb201_encodings
from nasbench_lite.spaces.subspace import SubSpace

_NUM_NEIGHBOURS = nb201_cells.NUM_EDGES * (nb201_cells.NUM_OPS - 1)  # 24


class NB201Space:
    """NB-201 cells: conversions, canonical classes, sampling and encodings (numpy only).

    Methods that take one cell accept a raw index (int or numpy integer), a (6,) op-id
    array, an NB-201 string or a configuration (a mapping edge name -> op name); bad input
    raises ValueError naming it. Random methods take an explicit `np.random.Generator`.
    """

    name = "nb201"
    ops = nb201_cells.OPS
    edges = nb201_cells.EDGES
    edge_names = nb201_configs.EDGE_NAMES  # "j<-i", NB-201's key for the edge i->j
    num_ops = nb201_cells.NUM_OPS
    num_edges = nb201_cells.NUM_EDGES
    num_cells = nb201_cells.NUM_CELLS
    num_path_features = nb201_encodings.NUM_PATH_FEATURES

    # ---- conversions -------------------------------------------------------------------

    def cell(self, raw: Any) -> np.ndarray:
        """Op ids of one cell: raw index (or string or cell) -> int64 (6,)."""
        return nb201_cells.cells_of(self.to_raw(raw))

    def cells(self, raws: Any) -> np.ndarray:
        """Op ids of many cells: int (n,) raw indices -> int64 (n, 6)."""
        return nb201_cells.cells_of(raws)

    def index(self, cell: Any) -> int:
        """Raw index of one (6,) cell."""
        return int(nb201_cells.check_cell(cell) @ nb201_cells.PLACE)

    def indices(self, cells: Any) -> np.ndarray:
        """Raw indices of many cells: int (n, 6) -> int64 (n,)."""
        return nb201_cells.indices_of(cells)

    def parse(self, text: str) -> np.ndarray:
        """NB-201 string -> int64 (6,) cell."""
        return nb201_cells.parse_cell(text)

    def format(self, cell_or_raw: Any) -> str:
        """NB-201 string of a cell or raw index."""
        return nb201_cells.format_cell(self.cell(cell_or_raw))

    def to_raw(self, value: Any) -> int:
        """Raw index of a raw index, a (6,) cell, an NB-201 string, a decimal string or a
        configuration (mapping edge name -> op name, see `config_to_raw`)."""
        if isinstance(value, Mapping):
            return nb201_configs.config_to_raw(value)
        return nb201_cells.to_raw_index(value)

    # ---- configurations (ConfigSpace, optuna) ------------------------------------------

    def configspace(self, seed: int | None = None):
        """A `ConfigSpace.ConfigurationSpace` with one categorical hyperparameter per edge,
        named by `edge_names` ("1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"), choices the
        op names. Imports ConfigSpace (MissingExtra naming the `adapters` extra without it).
        """
        return nb201_configs.configspace(seed)

    def config_to_raw(self, config: Any) -> int:
        """Raw index of a configuration: a dict or ConfigSpace Configuration mapping each
        edge name to an op name. InputError names an unknown edge or op, or a missing edge."""
        return nb201_configs.config_to_raw(config)

    def raw_to_config(self, raw: Any, configspace: Any = None):
        """The configuration of one cell (raw index, cell or string): a dict edge name -> op
        name, or a `ConfigSpace.Configuration` of `configspace` when one is given."""
        config = nb201_configs.raw_to_config(self.to_raw(raw))
        if configspace is None:
            return config
        import ConfigSpace

        return ConfigSpace.Configuration(configspace, values=config)

    # ---- canonical classes -------------------------------------------------------------

    @functools.cached_property
    def canonical_forms(self) -> tuple[str, ...]:
        """Symbolic output expression of every raw cell (15,625 strings, raw order)."""
        return tuple(nb201_canonical.canonical_forms())

    @functools.cached_property
    def canonical_ids(self) -> np.ndarray:
        """Class id of every raw cell: int64 (15625,), read-only, dense 0..num_unique-1."""
        ids = nb201_canonical.number_classes(self.canonical_forms)
        ids.setflags(write=False)
        return ids

    @functools.cached_property
    def representatives(self) -> np.ndarray:
        """Raw index of each class's trained cell: int64 (num_unique,), read-only."""
        all_cells = self.cells(np.arange(self.num_cells))
        reps = nb201_canonical.choose_representatives(self.canonical_ids, all_cells)
        reps.setflags(write=False)
        return reps

    @property
    def num_unique(self) -> int:
        """Number of canonical classes (5,044)."""
        return len(self.representatives)

    @functools.cached_property
    def num_unique_nb201(self) -> int:
        """Number of classes by NAS-Bench-201's `to_unique_str` convention (6,466)."""
        all_cells = self.cells(np.arange(self.num_cells))
        return len({nb201_canonical.nb201_unique_str(c) for c in all_cells})

    def canonical(self, raw: Any) -> int:
        """Class id of one cell (raw index, cell or string)."""
        return int(self.canonical_ids[self.to_raw(raw)])

    def canonical_form(self, raw: Any) -> str:
        """Symbolic output expression of one cell, e.g. 'conv3x3(x) + x'."""
        return self.canonical_forms[self.to_raw(raw)]

    def class_members(self, class_id: Any) -> np.ndarray:
        """Raw indices (int64, ascending) of every cell in class `class_id`."""
        cid = self._check_class_id(class_id)
        return np.flatnonzero(self.canonical_ids == cid).astype(np.int64)

    def live_edges(self, cells: Any) -> np.ndarray:
        """Edges whose op changes the output: int (..., 6) cells -> bool (..., 6)."""
        return nb201_canonical.live_edges(cells)

    @functools.cached_property
    def _conv_counts(self) -> np.ndarray:
        counts = nb201_canonical.conv_counts(self.cells(np.arange(self.num_cells)))
        counts.setflags(write=False)
        return counts

    def conv_counts(self, raws: Any) -> np.ndarray:
        """Built conv layers per cell: int (n,) raw indices -> int64 (n, 2).

        Columns count the `nor_conv_1x1` and `nor_conv_3x3` edges whose input node is not
        identically zero, as the trainer's cost model does; a conv whose output never
        reaches the output node counts too. Read from a table over all cells (cached).
        """
        arr = nb201_cells.check_raws(raws)
        if arr.ndim > 1:
            raise InputError(f"raw indices have shape {arr.shape}, expected (n,)")
        return self._conv_counts[np.atleast_1d(arr)]

    def _check_class_id(self, class_id: Any) -> int:
        if isinstance(class_id, (bool, np.bool_)) or not isinstance(class_id, (int, np.integer)):
            raise InputError(f"class id {class_id!r} is not an integer")
        if not 0 <= class_id < self.num_unique:
            raise InputError(f"class id {class_id} is out of range 0..{self.num_unique - 1}")
        return int(class_id)

    # ---- sampling ----------------------------------------------------------------------

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` raw indices drawn uniformly (with replacement) over raw cells: int64 (n,)."""
        check_rng(rng)
        return rng.integers(0, self.num_cells, size=check_count(n), dtype=np.int64)

    def sample_classes(self, rng: np.random.Generator, n: int, replace: bool = False) -> np.ndarray:
        """`n` class ids drawn uniformly over classes: int64 (n,), distinct unless `replace`."""
        check_rng(rng)
        n = check_count(n)
        if not replace and n > self.num_unique:
            raise InputError(f"cannot draw {n} distinct classes: the space has {self.num_unique}")
        return rng.choice(self.num_unique, size=n, replace=replace).astype(np.int64)

    def mutate(self, rng: np.random.Generator, raw: Any) -> int:
        """Raw index of a copy of `raw` with one uniformly chosen edge set to another op."""
        check_rng(rng)
        cell = self.cell(raw)
        edge = int(rng.integers(self.num_edges))
        # Adding 1..4 modulo 5 picks uniformly among the four other ops.
        cell[edge] = (cell[edge] + rng.integers(1, self.num_ops)) % self.num_ops
        return self.index(cell)

    def neighbours(self, raw: Any) -> np.ndarray:
        """Every one-edge edit of `raw`: int64 (24,), edge-major, ops ascending."""
        cell = self.cell(raw)
        edits = np.repeat(cell[None, :], _NUM_NEIGHBOURS, axis=0)
        edges = np.repeat(np.arange(self.num_edges), self.num_ops - 1)
        others = np.array([[op for op in range(self.num_ops) if op != c] for c in cell])
        edits[np.arange(_NUM_NEIGHBOURS), edges] = others.reshape(-1)
        return self.indices(edits)

    @functools.cached_property
    def neighbour_table(self) -> np.ndarray:
        """`neighbours` of every raw cell at once: int64 (15625, 24), read-only, row = raw.

        Vectorised (a few milliseconds), for callers that need every neighbourhood, such as
        a restricted view of the space (`restrict`).
        """
        cells = self.cells(np.arange(self.num_cells))[:, :, None]  # (N, 6, 1)
        # The k-th other op of an edge holding op c is k below c and k + 1 from c on, so
        # the edits come out edge-major, ops ascending, exactly as in `neighbours`.
        k = np.arange(self.num_ops - 1)
        delta = (k + (k >= cells) - cells) * nb201_cells.PLACE[:, None]  # (N, 6, 4)
        table = (np.arange(self.num_cells)[:, None, None] + delta).reshape(self.num_cells, -1)
        table.setflags(write=False)
        return table

    def restrict(self, allowed: Any) -> SubSpace:
        """A view of this space that proposes only `allowed` cells (a bool mask over raw
        cells or int raw indices); see `nasbench_lite.spaces.subspace.SubSpace`."""
        return SubSpace(self, allowed)

    # ---- encodings ---------------------------------------------------------------------

    def onehot(self, raws: Any) -> np.ndarray:
        """Edge-major one-hot ops: int (n,) raw indices -> float32 (n, 30)."""
        return nb201_encodings.onehot(raws)

    def path_encoding(self, raws: Any) -> np.ndarray:
        """BANANAS path encoding: int (n,) raw indices -> float32 (n, 155)."""
        return nb201_encodings.path_encoding(raws)

    # ---- the network --------------------------------------------------------------------

    def network_cell(self, channels: int, *, branch: bool = True, name: str | None = None):
        """The masked Flax cell (``spaces.nb201.network.MaskedCell``); imports Flax."""
        from nasbench_lite.spaces.nb201.network import MaskedCell

        return MaskedCell(channels, branch, name=name)

    def reference_cell(self, cell: Any, channels: int, *, name: str | None = None):
        """A plain Flax cell of only ``cell``'s active ops (``network.ReferenceCell``)."""
        from nasbench_lite.spaces.nb201.network import ReferenceCell

        return ReferenceCell(channels, tuple(int(op) for op in self.cell(cell)), name=name)

    def cell_cost(self, cell: Any, channels: int, spatial: tuple[int, ...]) -> tuple[int, int]:
        """(params, forward FLOPs per example) of one cell (``spaces.nb201.cost``)."""
        return nb201_cost.cell_cost(nb201_cells.check_cell(cell), channels, spatial)

    # ---- description -------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """Facts about the space, in display order, for `nasbench-lite space`."""
        return {
            "cells": self.num_cells,
            "classes": self.num_unique,
            "classes (NB-201 convention)": self.num_unique_nb201,
            "ops": ", ".join(f"{i} {op}" for i, op in enumerate(self.ops)),
            "edges": ", ".join(f"{e} {i}->{j}" for e, (i, j) in enumerate(self.edges)),
        }

    def __repr__(self) -> str:
        return f"NB201Space(num_cells={self.num_cells})"
