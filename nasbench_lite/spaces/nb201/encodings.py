"""Feature encodings of NB-201 cells for predictors: one-hot and the BANANAS path encoding.

The path encoding follows BANANAS (White et al., AAAI 2021) and NASLib's NB-201 version:
the cell has four input-to-output paths, 0->3, 0->1->3, 0->2->3 and 0->1->2->3, and each
path's op sequence (ops in path order, `none` included) switches on one binary feature.
There is one feature per op sequence of length 1, 2 and 3 over the 5 ops:
5 + 25 + 125 = 155 features. As in BANANAS, a feature is 1 when at least one path has that
sequence (0->1->3 and 0->2->3 with equal ops give a single 1). Op ids are ours (see OPS).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasbench_lite.spaces.nb201.cells import NUM_EDGES, NUM_OPS, cells_of

# Edge ids along each input-to-output path (edge order 0->1, 0->2, 1->2, 0->3, 1->3, 2->3).
PATHS: tuple[tuple[int, ...], ...] = ((3,), (0, 4), (1, 5), (0, 2, 5))
MAX_PATH_LENGTH = 3
NUM_PATH_FEATURES = sum(NUM_OPS**k for k in range(1, MAX_PATH_LENGTH + 1))  # 155
# First feature of each path length: length 1 at 0, length 2 at 5, length 3 at 30.
_LENGTH_OFFSET = {k: sum(NUM_OPS**i for i in range(1, k)) for k in range(1, MAX_PATH_LENGTH + 1)}


def onehot(raws: Any) -> np.ndarray:
    """One-hot ops, edge-major and op-minor: int (n,) raw indices -> float32 (n, 30).

    Column 5 * e + k is 1 when edge e has op k.
    """
    cells = cells_of(np.atleast_1d(raws))
    if cells.ndim != 2:
        raise ValueError(f"raw indices have shape {np.shape(raws)}, expected (n,)")
    out = np.zeros((len(cells), NUM_EDGES * NUM_OPS), dtype=np.float32)
    rows = np.arange(len(cells))[:, None]
    out[rows, np.arange(NUM_EDGES) * NUM_OPS + cells] = 1.0
    return out


def path_indices(cells: np.ndarray) -> np.ndarray:
    """Feature index of each path's op sequence: int (n, 6) cells -> int64 (n, 4).

    A sequence (o_1, ..., o_k) maps to offset(k) + sum_j o_j * 5**(j - 1): the first edge
    of the path is the least significant digit, as in BANANAS.
    """
    columns = []
    for path in PATHS:
        index = np.full(len(cells), _LENGTH_OFFSET[len(path)], dtype=np.int64)
        for j, edge in enumerate(path):
            index += cells[:, edge] * NUM_OPS**j
        columns.append(index)
    return np.stack(columns, axis=1)


def path_encoding(raws: Any) -> np.ndarray:
    """BANANAS path encoding: int (n,) raw indices -> float32 (n, 155) of 0/1."""
    cells = cells_of(np.atleast_1d(raws))
    if cells.ndim != 2:
        raise ValueError(f"raw indices have shape {np.shape(raws)}, expected (n,)")
    out = np.zeros((len(cells), NUM_PATH_FEATURES), dtype=np.float32)
    out[np.arange(len(cells))[:, None], path_indices(cells)] = 1.0
    return out
