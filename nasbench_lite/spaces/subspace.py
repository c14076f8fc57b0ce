"""A restricted view of a search space: the same raw indices, only some cells proposed.

A search on a table that holds only some classes (sampled with `generate --fraction/--cells`,
or still being generated) must never propose a cell the table cannot answer. `SubSpace` wraps
a space and answers the methods strategies draw cells from (`sample`, `sample_classes`,
`mutate`, `neighbours`) from the allowed cells only. Everything else (conversions, canonical
ids, encodings) is the full space's, so a raw index or a class id means the same cell in both
and `num_cells` / `num_unique` still give the ranges of raw indices and class ids.

The allowed one-edge edits of every raw cell are computed once, at construction, from the
space's neighbour table (15,625 x 24 for nb201, masked) and kept as flat Python lists: a
mutation is two list lookups and one `Generator.random()` call. Numpy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasbench_lite.errors import InputError
from nasbench_lite.spaces.checks import check_count, check_rng


class SubSpace:
    """The cells of `space` marked in `allowed`, behind the same methods as the space.

    space: any space (a `SubSpace` is restricted further: its allowed cells are intersected).
    allowed: bool (num_cells,) mask over raw cells, or int (n,) raw indices; at least one.

    Sampling methods see the allowed cells only:
      sample(rng, n)           uniform over allowed raw cells
      sample_classes(rng, n)   uniform over classes with at least one allowed cell
      neighbours(raw)          the allowed one-edge edits of `raw`, in the space's order
                               (variable length, possibly empty)
      mutate(rng, raw)         uniform over the allowed one-edge edits of `raw`; if it has
                               none, a uniform allowed cell other than `raw` (`raw` itself
                               only when it is the single allowed cell)
      class_members(class_id)  the allowed members of the class
    Every other attribute (cell, cells, index, format, to_raw, canonical, canonical_ids,
    representatives, onehot, ...) is the full space's.
    """

    def __init__(self, space: Any, allowed: Any) -> None:
        base = space.base if isinstance(space, SubSpace) else space
        mask = _allowed_mask(base, allowed)
        if isinstance(space, SubSpace):
            mask &= space.allowed
        if not mask.any():
            raise InputError(
                f"no allowed cell: a restricted view of space {base.name!r} needs at least one"
            )
        self.base = base
        self.name = base.name
        self.num_cells = int(base.num_cells)
        self.allowed = _frozen(mask)
        self.allowed_raws = _frozen(np.flatnonzero(mask).astype(np.int64))
        self.allowed_classes = _frozen(np.unique(np.asarray(base.canonical_ids)[mask]))
        table = _neighbour_table(base)  # (num_cells, max edits) int64
        keep = mask[table]
        counts = keep.sum(axis=1)
        self._edits = _frozen(table[keep])  # row-major: each cell's allowed edits, in order
        self._starts = _frozen(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
        # Python lists: one element of a list is read several times faster than of an array.
        self._edit_list = self._edits.tolist()
        self._start_list = self._starts.tolist()
        self._allowed_list = self.allowed_raws.tolist()
        position = np.full(self.num_cells, -1, dtype=np.int64)
        position[self.allowed_raws] = np.arange(len(self.allowed_raws))
        self._position_list = position.tolist()

    # ---- sizes -------------------------------------------------------------------------

    @property
    def num_unique(self) -> int:
        """Number of classes of the full space (class ids keep their meaning)."""
        return self.base.num_unique

    @property
    def num_allowed(self) -> int:
        """Number of allowed raw cells."""
        return len(self._allowed_list)

    @property
    def num_allowed_classes(self) -> int:
        """Number of classes with at least one allowed raw cell."""
        return len(self.allowed_classes)

    # ---- sampling ----------------------------------------------------------------------

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` raw indices drawn uniformly (with replacement) over allowed cells: int64 (n,)."""
        check_rng(rng)
        picks = rng.integers(0, self.num_allowed, size=check_count(n), dtype=np.int64)
        return self.allowed_raws[picks]

    def sample_classes(self, rng: np.random.Generator, n: int, replace: bool = False) -> np.ndarray:
        """`n` class ids drawn uniformly over classes with an allowed cell: int64 (n,),
        distinct unless `replace`."""
        check_rng(rng)
        n = check_count(n)
        if not replace and n > self.num_allowed_classes:
            raise InputError(
                f"cannot draw {n} distinct classes: the restricted space has "
                f"{self.num_allowed_classes}"
            )
        picks = rng.choice(self.num_allowed_classes, size=n, replace=replace)
        return self.allowed_classes[picks].astype(np.int64)

    def neighbours(self, raw: Any) -> np.ndarray:
        """The allowed one-edge edits of `raw`: int64 (k,), 0 <= k <= the space's count (24
        for nb201), in the space's order (nb201: edge-major, ops ascending)."""
        raw = self._raw(raw)
        return self._edits[self._start_list[raw] : self._start_list[raw + 1]].copy()

    def mutate(self, rng: np.random.Generator, raw: Any) -> int:
        """A uniformly chosen allowed one-edge edit of `raw` (a raw index); if `raw` has none,
        a uniformly chosen allowed cell other than `raw` (a restart rather than a repeat)."""
        check_rng(rng)
        raw = self._raw(raw)
        low = self._start_list[raw]
        count = self._start_list[raw + 1] - low
        # int(u * n) < n for u in [0, 1): uniform, and cheaper than rng.integers for one draw.
        if count:
            return self._edit_list[low + int(rng.random() * count)]
        others = self.num_allowed - (self._position_list[raw] >= 0)
        if others == 0:
            return raw  # the single allowed cell
        pick = int(rng.random() * others)
        if 0 <= self._position_list[raw] <= pick:
            pick += 1  # skip `raw` itself
        return self._allowed_list[pick]

    def class_members(self, class_id: Any) -> np.ndarray:
        """Allowed raw indices (int64, ascending) of class `class_id` (may be empty)."""
        members = self.base.class_members(class_id)
        return members[self.allowed[members]]

    # ---- views and description ---------------------------------------------------------

    def restrict(self, allowed: Any) -> SubSpace:
        """This view restricted further to `allowed` (the intersection of both)."""
        return SubSpace(self, allowed)

    def summary(self) -> dict[str, Any]:
        """The full space's facts plus the size of the restriction."""
        facts = dict(self.base.summary())
        facts["allowed cells"] = f"{self.num_allowed} of {self.num_cells}"
        facts["allowed classes"] = f"{self.num_allowed_classes} of {self.num_unique}"
        return facts

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes not found above: conversions, ids, encodings.
        if name.startswith("__") or name == "base":
            raise AttributeError(name)  # no recursion while unpickling, before __init__
        return getattr(self.base, name)

    def __repr__(self) -> str:
        return (
            f"SubSpace({self.base!r}, {self.num_allowed} of {self.num_cells} cells, "
            f"{self.num_allowed_classes} of {self.num_unique} classes)"
        )

    def _raw(self, raw: Any) -> int:
        if type(raw) is int and 0 <= raw < self.num_cells:
            return raw  # the common case, checked without a call
        return self.base.to_raw(raw)


def _allowed_mask(space: Any, allowed: Any) -> np.ndarray:
    """bool (num_cells,) mask from a mask or from raw indices; ValueError naming the problem."""
    arr = np.asarray(allowed)
    num_cells = int(space.num_cells)
    if arr.dtype == np.bool_:
        if arr.shape != (num_cells,):
            raise InputError(
                f"allowed mask has shape {arr.shape}, expected ({num_cells},) for space "
                f"{space.name!r}"
            )
        return arr.copy()
    if arr.size == 0:
        return np.zeros(num_cells, dtype=bool)
    if arr.dtype.kind not in "iu" or arr.ndim != 1:
        raise InputError(
            f"allowed cells must be a bool mask of shape ({num_cells},) or int raw indices of "
            f"shape (n,), got dtype {arr.dtype} shape {arr.shape}"
        )
    outside = (arr < 0) | (arr >= num_cells)
    if outside.any():
        raise InputError(f"allowed raw index {int(arr[outside][0])} is outside 0..{num_cells - 1}")
    mask = np.zeros(num_cells, dtype=bool)
    mask[arr] = True
    return mask


def _neighbour_table(space: Any) -> np.ndarray:
    """int64 (num_cells, k): every cell's one-edge edits, the space's vectorised table if it
    has one, else its `neighbours` stacked (a space with fixed-size neighbourhoods)."""
    table = getattr(space, "neighbour_table", None)
    if table is None:
        table = np.stack([np.asarray(space.neighbours(raw)) for raw in range(space.num_cells)])
    return np.asarray(table, dtype=np.int64)


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array
