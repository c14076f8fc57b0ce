"""NB-201 cells as op-id arrays, raw indices and strings (Dong & Yang, NAS-Bench-201, 2020).

A cell is an int array of shape (6,) holding one op id per edge, edges in the NB-201 string
order 0->1, 0->2, 1->2, 0->3, 1->3, 2->3. Its raw index is the base-5 number of those op ids
with edge 0 as the most significant digit, so raw 0 is all `none` and raw 15624 is all
`avg_pool_3x3`. Every function here validates its input and raises ValueError naming the
input and the problem.
"""

from __future__ import annotations

import operator
import re
from typing import Any

import numpy as np

OPS: tuple[str, ...] = (
    "none",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
)
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
NUM_OPS = len(OPS)
NUM_EDGES = len(EDGES)
NUM_NODES = 4
NUM_CELLS = NUM_OPS**NUM_EDGES  # 15,625

# Place value of each edge's digit: edge 0 is the most significant.
PLACE = NUM_OPS ** np.arange(NUM_EDGES - 1, -1, -1, dtype=np.int64)

_OP_ID = {name: i for i, name in enumerate(OPS)}
_RAW_TEXT = re.compile(r"[+-]?[0-9]+")


def check_raw(raw: Any) -> int:
    """Return `raw` as a Python int after checking it is an integer in 0..15624."""
    if isinstance(raw, np.ndarray) and raw.ndim == 0:
        raw = raw[()]  # a 0-d array behaves as its scalar
    # bool is an int subclass; True as a cell index is almost surely a mistake.
    if isinstance(raw, (bool, np.bool_)):
        raise ValueError(
            f"raw index {_short(raw)} is a bool, expected an integer in 0..{NUM_CELLS - 1}"
        )
    try:
        value = operator.index(raw)
    except TypeError:
        raise ValueError(
            f"raw index {_short(raw)} is a {type(raw).__name__}, expected an integer "
            f"in 0..{NUM_CELLS - 1}"
        ) from None
    if not 0 <= value < NUM_CELLS:
        raise ValueError(f"raw index {value} is out of range 0..{NUM_CELLS - 1}")
    return value


def check_raws(raws: Any) -> np.ndarray:
    """Return `raws` as an int64 array (any shape) after checking every entry is in range."""
    arr = _as_array(raws, "raw indices")
    if arr.dtype.kind not in "iu":
        raise ValueError(
            f"raw indices {_short(raws)} have dtype {arr.dtype}, expected an integer dtype"
        )
    bad = (arr < 0) | (arr >= NUM_CELLS)
    if bad.any():
        raise ValueError(
            f"raw indices {_short(raws)}: {int(bad.sum())} out of range 0..{NUM_CELLS - 1}, "
            f"first is {arr[bad].flat[0].item()}"
        )
    return arr.astype(np.int64)


def check_cells(cells: Any) -> np.ndarray:
    """Return `cells` as an int64 array of shape (..., 6) with every op id in 0..4."""
    arr = _as_array(cells, "cell")
    if arr.ndim == 0 or arr.shape[-1] != NUM_EDGES:
        raise ValueError(
            f"cell {_short(cells)} has shape {arr.shape}, expected (6,) or (n, 6): "
            "one op id per edge"
        )
    if arr.dtype.kind not in "iu":
        raise ValueError(
            f"cell {_short(cells)} has dtype {arr.dtype}, expected integer op ids 0..4"
        )
    bad = (arr < 0) | (arr >= NUM_OPS)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"cell {_short(cells)} has op id {arr[where].item()} at position {where}, "
            f"expected 0..{NUM_OPS - 1} ({', '.join(OPS)})"
        )
    return arr.astype(np.int64)


def check_cell(cell: Any) -> np.ndarray:
    """Return one cell as an int64 array of shape (6,) with every op id in 0..4."""
    arr = check_cells(cell)
    if arr.shape != (NUM_EDGES,):
        raise ValueError(f"cell {_short(cell)} has shape {arr.shape}, expected one cell (6,)")
    return arr


def _as_array(values: Any, what: str) -> np.ndarray:
    if isinstance(values, str):
        raise ValueError(f"{what} {_short(values)} is a string, expected integers")
    try:
        return np.asarray(values)
    except (ValueError, TypeError) as err:
        raise ValueError(f"{what} {_short(values)} is not a rectangular array: {err}") from None


def _short(values: Any, limit: int = 80) -> str:
    """repr of an input for an error message, cut to `limit` characters."""
    text = repr(values)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def cells_of(raws: Any) -> np.ndarray:
    """Op ids of raw indices: int array of any shape -> int64 (*shape, 6)."""
    arr = check_raws(raws)
    return (arr[..., None] // PLACE) % NUM_OPS


def indices_of(cells: Any) -> np.ndarray:
    """Raw indices of cells: int (..., 6) -> int64 (...,)."""
    return check_cells(cells) @ PLACE


def parse_cell(text: Any) -> np.ndarray:
    """Parse an NB-201 string `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|` into a (6,) int64 cell.

    Group j (1-based) lists the j edges into node j as `op~source`, sources 0..j-1 each
    once (in any order). Surrounding whitespace is ignored.
    """
    if not isinstance(text, str):
        raise ValueError(f"cell string {_short(text)} is a {type(text).__name__}, expected a str")
    groups = text.strip().split("+")
    if len(groups) != NUM_NODES - 1:
        raise ValueError(
            f"cell string {_short(text)} has {len(groups)} node groups separated by '+', "
            f"expected {NUM_NODES - 1}"
        )
    cell = np.zeros(NUM_EDGES, dtype=np.int64)
    for node, group in enumerate(groups, start=1):
        if len(group) < 2 or group[0] != "|" or group[-1] != "|":
            raise ValueError(
                f"cell string {_short(text)}: node {node} group {_short(group)} "
                "is not enclosed in '|'"
            )
        items = group[1:-1].split("|")
        if len(items) != node:
            raise ValueError(
                f"cell string {_short(text)}: node {node} has {len(items)} input edges, "
                f"expected {node}"
            )
        seen: set[int] = set()
        for item in items:
            source = _parse_edge(text, node, item, cell)
            if source in seen:
                raise ValueError(
                    f"cell string {_short(text)}: node {node} lists input node {source} twice"
                )
            seen.add(source)
    return cell


def _parse_edge(text: str, node: int, item: str, cell: np.ndarray) -> int:
    """Parse one `op~source` item into `cell` and return its source node."""
    op, sep, source_text = item.partition("~")
    if not sep:
        raise ValueError(
            f"cell string {_short(text)}: edge {_short(item)} of node {node} is not 'op~input'"
        )
    if op not in _OP_ID:
        raise ValueError(
            f"cell string {_short(text)}: unknown op {_short(op)} on node {node}, "
            f"expected one of {', '.join(OPS)}"
        )
    # isdigit alone accepts non-ASCII digits such as '²' that int() rejects.
    if not (source_text.isascii() and source_text.isdigit()):
        raise ValueError(
            f"cell string {_short(text)}: input {_short(source_text)} of node {node} "
            "is not a node index"
        )
    source = int(source_text)
    if source >= node:
        raise ValueError(
            f"cell string {_short(text)}: input node {source} of node {node} "
            f"is not in 0..{node - 1}"
        )
    cell[EDGES.index((source, node))] = _OP_ID[op]
    return source


def format_cell(cell: Any) -> str:
    """NB-201 string of a (6,) cell, e.g. `|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...|`."""
    arr = check_cell(cell)
    groups = []
    for node in range(1, NUM_NODES):
        items = [f"{OPS[arr[EDGES.index((src, node))]]}~{src}" for src in range(node)]
        groups.append("|" + "|".join(items) + "|")
    return "+".join(groups)


def to_raw_index(value: Any) -> int:
    """Raw index of a raw index (int or numpy integer), a (6,) cell, or a string.

    A string is either an NB-201 cell string or a decimal raw index such as "1234".
    """
    if isinstance(value, str):
        if _RAW_TEXT.fullmatch(value.strip()):
            # int() of a huge digit string is slow (and refused past 4,300 digits).
            if len(value.strip()) > 12:
                raise ValueError(f"raw index {_short(value)} is out of range 0..{NUM_CELLS - 1}")
            return check_raw(int(value))
        return int(parse_cell(value) @ PLACE)
    if isinstance(value, (bool, np.bool_, int, np.integer, float, np.floating)) or (
        isinstance(value, np.ndarray) and value.ndim == 0
    ):
        return check_raw(value)
    return int(check_cell(value) @ PLACE)
