"""Canonical identity of NB-201 cells: which raw cells compute the same function.

NAS-Bench-201 (Dong & Yang, 2020) counts 6,466 unique cells by its `to_unique_str`
convention; we use a symbolic form built from these rules, each made exact by the model
(bias-free ReLU-Conv-Norm convs with non-affine normalisation, parameter-free pooling):

1. `none` outputs zero.
2. `skip_connect` is the identity.
3. A node is the sum of its incoming edges. Sums commute and are associative, so a node's
   value is a multiset of terms; multiplicities count (x + x is not x).
4. Every op maps an all-zero input to zero: conv(0) = 0 exactly (no bias, no affine shift
   after normalisation) and pool(0) = 0. So an op on a zero node contributes nothing.
5. `avg_pool_3x3` has no parameters and is linear: pool(a + b) = pool(a) + pool(b), so
   pooling a node pools each of its terms.
6. Each conv edge is its own independently parameterised function; a conv instance whose
   output is used once is interchangeable with any other conv of the same kind on the same
   input, but a conv instance used on two or more paths is one shared function. So a conv
   used once is identified by its kind and the canonical multiset of its input, not by its
   edge, while a shared conv is an atom of its own: 2 f(x) (one conv on two paths) is not
   f(x) + g(x) (two convs). Only the conv on edge 0->1 can be used more than once (node 1
   feeds 1->2 and 1->3; every other edge feeds one consumer); its uses in the output are
   [1->3 is not none] + [1->2 and 2->3 are not none] (`node1_uses`).
7. Nodes that do not reach the output do not matter: only node 3's expression is compared.

Terms are strings: `x` (the cell input), `pool(T)`, `conv1x1(S)` and `conv3x3(S)`, where S
is a multiset written as its terms in sorted order joined by " + ", and the shared atoms
`shared_conv1x1(x)` and `shared_conv3x3(x)` for a conv on 0->1 used two or more times
(wherever that conv appears: directly, under a pool or inside another conv's input). A
cell's canonical form is the multiset of node 3 written the same way ("0" when it is zero).
Two cells are in one class iff their forms are equal. Class ids are numbered 0.. in order
of each class's smallest raw index, so they are the same on every machine. The rules give
5,044 classes. All members of a class build the same conv layers once dead edges are left
out: each conv term of a form is one conv edge, and a shared atom is one edge however
often it appears.

One consequence, by design of the rules (docs/space.md): conv(x + x) and conv(x) stay
apart although normalisation makes them differ only through its epsilon.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np

from nasbench_lite.spaces.nb201.cells import EDGES, NUM_OPS, OPS, check_cell, check_cells

NONE, SKIP, CONV1X1, CONV3X3, POOL = range(NUM_OPS)
Terms = tuple[str, ...]  # a node's value: its terms in sorted order; () is zero
_INPUT: Terms = ("x",)
_CONV_NAME = {CONV1X1: "conv1x1", CONV3X3: "conv3x3"}
# The conv on edge 0->1 when its output is used on two or more paths (rule 6).
_SHARED: dict[int, Terms] = {op: (f"shared_{name}(x)",) for op, name in _CONV_NAME.items()}


def _apply(op: int, terms: Terms) -> Terms:
    """Terms contributed by an edge with op `op` whose source node holds `terms`."""
    if op == NONE or not terms:  # rules 1 and 4
        return ()
    if op == SKIP:  # rule 2
        return terms
    if op == POOL:  # rule 5: pool distributes over the sum
        return tuple(f"pool({t})" for t in terms)
    return (f"{_CONV_NAME[op]}({' + '.join(terms)})",)  # rule 6


def _sum(*parts: Terms) -> Terms:
    return tuple(sorted(t for part in parts for t in part))  # rule 3


def _write(terms: Terms) -> str:
    return " + ".join(terms) if terms else "0"


def node1_uses(cells: np.ndarray) -> np.ndarray:
    """Paths on which node 1 reaches the output: int (..., 6) cells -> int64 (...,) in 0..2.

    One path through 1->3 and one through 1->2 then 2->3, each counted when its edges are
    not `none`. When edge 0->1 is a conv, this is how often that conv appears in the output.
    """
    c = check_cells(cells)
    return (c[..., 4] != NONE).astype(np.int64) + ((c[..., 2] != NONE) & (c[..., 5] != NONE))


def shared_conv(cells: np.ndarray) -> np.ndarray:
    """Whether edge 0->1 is a conv used two or more times: int (..., 6) -> bool (...,)."""
    c = check_cells(cells)
    return ((c[..., 0] == CONV1X1) | (c[..., 0] == CONV3X3)) & (node1_uses(c) >= 2)


def _node1(op: int, shared: bool) -> Terms:
    """Terms of node 1, with a shared atom in place of a conv used more than once."""
    return _SHARED[op] if shared and op in _SHARED else _apply(op, _INPUT)


def canonical_form(cell: Sequence[int] | np.ndarray) -> str:
    """Canonical form (the symbolic output expression) of one (6,) cell."""
    c = check_cell(cell)
    o = [int(v) for v in c]
    node1 = _node1(o[0], bool(shared_conv(c)))
    node2 = _sum(_apply(o[1], _INPUT), _apply(o[2], node1))
    return _write(_sum(_apply(o[3], _INPUT), _apply(o[4], node1), _apply(o[5], node2)))


def canonical_forms() -> list[str]:
    """Canonical forms of all 15,625 cells in raw-index order."""
    # Node 1 depends on edge 0, node 2 on edges 0-2, node 3 on all six; nesting the loops in
    # that order reuses each node's terms and visits cells in raw order (edge 0 outermost).
    # Whether the 0->1 conv is shared depends on edges 2, 4 and 5, so nodes 1 and 2 are
    # kept in both versions (index 0 ordinary, 1 shared) and node 3 picks one.
    apply: Callable[[int, Terms], Terms] = functools.lru_cache(maxsize=None)(_apply)
    ops = range(NUM_OPS)
    forms = []
    for o0 in ops:
        node1 = (_node1(o0, False), _node1(o0, True))
        for o1 in ops:
            for o2 in ops:
                node2 = [_sum(apply(o1, _INPUT), apply(o2, n1)) for n1 in node1]
                for o3 in ops:
                    for o4 in ops:
                        for o5 in ops:
                            shared = (o4 != NONE) + (o2 != NONE and o5 != NONE) >= 2
                            n1, n2 = node1[shared], node2[shared]
                            node3 = _sum(apply(o3, _INPUT), apply(o4, n1), apply(o5, n2))
                            forms.append(_write(node3))
    return forms


def number_classes(forms: Sequence[str]) -> np.ndarray:
    """Dense class ids (int64, same length as `forms`) in order of first appearance."""
    ids: dict[str, int] = {}
    return np.array([ids.setdefault(form, len(ids)) for form in forms], dtype=np.int64)


def _nonzero_nodes(c: np.ndarray) -> list[np.ndarray]:
    """Whether nodes 0, 1, 2 can be non-zero: checked int (..., 6) -> 3 bool (...,) arrays."""
    on = c != NONE
    node1 = on[..., 0]
    return [np.ones(c.shape[:-1], dtype=bool), node1, on[..., 1] | (on[..., 2] & node1)]


def live_edges(cells: np.ndarray) -> np.ndarray:
    """Edges whose op changes the cell's output: int (..., 6) -> bool (..., 6).

    An edge is live when its op is not `none`, its source node is non-zero and its target
    node reaches node 3 through non-`none` edges. Setting a dead edge to `none` keeps the
    class; setting a live one to `none` changes it (no term can cancel another).
    """
    c = check_cells(cells)
    on = c != NONE
    nonzero = _nonzero_nodes(c)
    reaches = {3: np.ones(c.shape[:-1], dtype=bool), 2: on[..., 5]}
    reaches[1] = on[..., 4] | (on[..., 2] & reaches[2])
    columns = [on[..., e] & nonzero[i] & reaches[j] for e, (i, j) in enumerate(EDGES)]
    return np.stack(columns, axis=-1)


def conv_counts(cells: np.ndarray) -> np.ndarray:
    """Conv layers a network builds per cell: int (..., 6) -> int64 (..., 2).

    Columns count `nor_conv_1x1` and `nor_conv_3x3` edges whose source node is not
    identically zero. A conv whose output never reaches node 3 still counts: a plain
    implementation builds it (the rule of `nasbench_lite.train.cost`).
    """
    c = check_cells(cells)
    nonzero = np.stack([_nonzero_nodes(c)[i] for i, _ in EDGES], axis=-1)
    return np.stack([((c == op) & nonzero).sum(axis=-1) for op in _CONV_NAME], axis=-1)


def choose_representatives(class_ids: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Raw index of each class's representative: (num_unique,) int64.

    The representative is the member with the fewest conv and pool ops, then the fewest
    non-`none` ops, then the smallest raw index. Such a member has no dead edges: setting a
    dead edge to `none` would give a member of the same class with fewer ops.
    """
    heavy = ((cells >= CONV1X1) & (cells <= POOL)).sum(axis=1)
    used = (cells != NONE).sum(axis=1)
    raws = np.arange(len(class_ids), dtype=np.int64)
    order = np.lexsort((raws, used, heavy, class_ids))  # last key sorts first
    first = np.ones(len(order), dtype=bool)
    first[1:] = class_ids[order][1:] != class_ids[order][:-1]
    return raws[order][first]


def nb201_unique_str(cell: Sequence[int] | np.ndarray) -> str:
    """NAS-Bench-201's `CellStructure.to_unique_str(consider_zero=True)` of one (6,) cell.

    Node strings: node 0 is "0"; each incoming edge gives "#" if its op is `none` or its
    source string is exactly "#", the source string for `skip_connect`, and otherwise
    "(" + source + ")@" + op; a node joins the parts in sorted order with "+". The result
    is node 3's string.
    """
    ops = [OPS[int(v)] for v in check_cell(cell)]
    nodes = {0: "0"}
    for node in (1, 2, 3):
        parts = []
        for (source, target), op in zip(EDGES, ops, strict=True):
            if target != node:
                continue
            if op == "none" or nodes[source] == "#":
                parts.append("#")
            elif op == "skip_connect":
                parts.append(nodes[source])
            else:
                parts.append(f"({nodes[source]})@{op}")
        nodes[node] = "+".join(sorted(parts))
    return nodes[3]
