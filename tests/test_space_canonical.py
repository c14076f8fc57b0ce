"""Canonical classes of nb201, checked over all 15,625 cells by independent methods."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy.spatial import cKDTree

from nasbench_lite.spaces import get_space
from nasbench_lite.spaces.nb201 import canonical as nb201_canonical
from nasbench_lite.spaces.nb201 import cost
from nasbench_lite.spaces.nb201.canonical import canonical_form
from nasbench_lite.spaces.nb201.cells import EDGES

ALL = np.arange(15625)


def evaluate_all_cells(dim: int = 8, seed: int = 0, separate_shared: bool = True) -> np.ndarray:
    """Output of every cell on one random input with stand-in ops: float64 (15625, dim).

    Each op type is one fixed random function shared by every edge that uses it:
    conv1x1 and conv3x3 are two different nonlinear maps that send 0 to 0 and are not
    linear or scale-invariant (f(2v) is neither f(v) nor 2 f(v)); pool is a fixed random
    linear map; skip is the identity and none is zero. The one exception: the conv on edge
    0->1, when its output is used two or more times, gets its own random map per kind
    (unless `separate_shared` is False).

    Why this stands in for "same function family up to renaming parameters": with
    independent per-edge weights, a cell's family is its output expression in which every
    conv instance is a function symbol of its own, and two cells are the same family iff
    their expressions match after renaming symbols of the same kind. Every conv instance
    except the one on 0->1 feeds a single consumer, so it occurs exactly once in the
    expression and its name carries nothing beyond its kind and position: giving all such
    instances of a kind one shared random map loses no information. The conv on 0->1 can
    occur twice (through 1->3 and through 1->2->3), and that repetition is part of the
    family (2 f(x) is not f(x) + g(x)), so when it occurs twice it gets a map of its own,
    which makes its occurrences equal to each other and different from every single-use
    conv. A cell has at most one such instance, so one extra map per kind suffices. Equal
    expressions then give equal outputs, and different ones differ with probability one.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=dim)
    w1, w3, s1, s3, pool = (rng.normal(size=(dim, dim)) / np.sqrt(dim) for _ in range(5))

    def nonlinear(v: np.ndarray, w: np.ndarray) -> np.ndarray:
        h = np.tanh(v @ w)
        return h + 0.5 * h**2

    def all_ops(v: np.ndarray, c1: np.ndarray, c3: np.ndarray) -> np.ndarray:
        # (n, dim) -> (5, n, dim), by op id
        return np.stack([np.zeros_like(v), v, nonlinear(v, c1), nonlinear(v, c3), v @ pool])

    cells = np.array([[(r // 5 ** (5 - e)) % 5 for e in range(6)] for r in ALL])
    rows = np.arange(len(cells))
    shared = np.isin(cells[:, 0], (2, 3)) & (node1_uses(cells) >= 2) & separate_shared
    nodes = [np.tile(x, (len(cells), 1)), None, None, None]
    for j in (1, 2, 3):
        nodes[j] = 0.0
        for e, (i, target) in enumerate(EDGES):
            if target != j:
                continue
            out = all_ops(nodes[i], w1, w3)[cells[:, e], rows]
            if e == 0:
                own = all_ops(nodes[i], s1, s3)[cells[:, e], rows]
                out = np.where(shared[:, None], own, out)
            nodes[j] = nodes[j] + out
    return nodes[3]


def node1_uses(cells: np.ndarray) -> np.ndarray:
    """Paths from node 1 to node 3 through non-none edges (1->3; 1->2->3): int (n,)."""
    return (cells[:, 4] != 0).astype(int) + ((cells[:, 2] != 0) & (cells[:, 5] != 0))


def instance_expression(cell: list[int]) -> str:
    """Node 3 of a cell written with every conv named by its edge, e.g. 'c0[x]+p[c0[x]]'.

    Nothing is sorted or merged: it is the plain expression tree, so the number of times
    'c<e>[' occurs is the number of times the conv on edge e is used in the output.
    """
    nodes: list[list[str]] = [["x"], [], [], []]
    for e, (i, j) in enumerate(EDGES):  # edges are in an order where sources come first
        op, source = cell[e], nodes[i]
        if op == 0 or not source:
            continue
        if op == 1:
            nodes[j] += source
        elif op == 4:
            nodes[j] += [f"p[{t}]" for t in source]
        else:
            nodes[j].append(f"c{e}[{'+'.join(source)}]")
    return "+".join(nodes[3])


def live_conv_counts(cells: np.ndarray) -> np.ndarray:
    """Per kind, conv edges whose source is not identically zero and whose output reaches
    node 3 (the conv layers a cell needs once dead edges are left out): int (n, 2)."""
    out = np.zeros((len(cells), 2), dtype=int)
    for row, cell in enumerate(cells.tolist()):
        nonzero = [True, False, False, False]
        for e, (i, j) in enumerate(EDGES):
            nonzero[j] |= cell[e] != 0 and nonzero[i]
        reaches = [False, False, False, True]
        for e, (i, j) in reversed(list(enumerate(EDGES))):
            reaches[i] |= cell[e] != 0 and reaches[j]
        for e, (i, j) in enumerate(EDGES):
            if cell[e] in (2, 3) and nonzero[i] and reaches[j]:
                out[row, cell[e] - 2] += 1
    return out


def test_canonical_classes_match_numerical_evaluation(space):
    out = evaluate_all_cells()
    ids = space.canonical_ids
    counts = np.bincount(ids)
    means = np.stack([np.bincount(ids, out[:, d]) for d in range(out.shape[1])], 1)
    means /= counts[:, None]
    # Same class -> same output (up to float rounding from the order of summation).
    assert np.abs(out - means[ids]).max() < 1e-9
    # Different classes -> different outputs: no two class means are within 1e-6.
    distance, _ = cKDTree(means).query(means, k=2)
    assert distance[:, 1].min() > 1e-6
    # And the evaluation really tells cells apart, it does not give everything one value.
    assert len(np.unique(np.round(out, 6), axis=0)) == space.num_unique
    # One map per op type alone cannot see a shared conv: it merges 2 f(x) with f(x) + g(x).
    blind = evaluate_all_cells(separate_shared=False)
    assert len(np.unique(np.round(blind, 6), axis=0)) == 4660
    assert np.allclose(blind[677], blind[6381]) and not np.allclose(out[677], out[6381])


def test_class_count_is_documented_and_ids_are_dense_in_raw_order(space):
    ids = space.canonical_ids
    assert space.num_unique == 5044
    assert ids.shape == (15625,) and ids.dtype == np.int64
    classes, first = np.unique(ids, return_index=True)
    np.testing.assert_array_equal(classes, np.arange(space.num_unique))
    # Class k is the k-th class met when walking raw indices upwards.
    assert np.all(np.diff(first) > 0)
    assert ids[0] == 0 and not ids.flags.writeable
    # The class sizes and shares docs/space.md states.
    sizes = np.bincount(ids)
    assert (sizes == 1).sum() == 3843 and sorted(sizes)[-5:] == [341, 400, 460, 460, 460]
    largest = space.representatives[np.argsort(-sizes, kind="stable")[:5]]
    assert [space.canonical_form(r) for r in largest] == [
        "conv1x1(x)",
        "conv3x3(x)",
        "pool(x)",
        "x",
        "0",
    ]
    shared = np.array(["shared_" in form for form in space.canonical_forms])
    assert shared.sum() == 3200 and len(np.unique(ids[shared])) == 2516


def test_shared_conv_is_the_0_1_conv_used_twice_in_the_expression(space):
    cells = space.cells(ALL)
    uses = node1_uses(cells)
    np.testing.assert_array_equal(nb201_canonical.node1_uses(cells), uses)
    is_conv = np.isin(cells[:, 0], (2, 3))
    np.testing.assert_array_equal(nb201_canonical.shared_conv(cells), is_conv & (uses >= 2))
    for raw, cell in enumerate(cells.tolist()):
        expression = instance_expression(cell)
        # Only the conv on edge 0->1 can occur more than once.
        assert all(expression.count(f"c{e}[") <= 1 for e in range(1, 6))
        if is_conv[raw]:
            assert expression.count("c0[") == uses[raw]
        form = space.canonical_forms[raw]
        assert form.count("shared_") == (uses[raw] if is_conv[raw] and uses[raw] >= 2 else 0)


def test_classes_keep_conv_layers_and_sharing(space):
    """All members of a class need the same conv layers once dead edges are left out, and
    share their representative's sharing structure."""
    cells = space.cells(ALL)
    ids, reps = space.canonical_ids, space.representatives
    live = live_conv_counts(cells)
    np.testing.assert_array_equal(live, live[reps][ids])
    shared = np.isin(cells[:, 0], (2, 3)) & (node1_uses(cells) >= 2)
    np.testing.assert_array_equal(shared, shared[reps][ids])
    # A representative has no dead edges, so it builds exactly its live conv layers.
    np.testing.assert_array_equal(space.conv_counts(reps), live[reps])
    # The pair that merging shared and independent convs would confuse: 2 f(x) vs f(x) + g(x).
    assert space.canonical(677) != space.canonical(6381)
    assert live[677].tolist() == [2, 0] and live[6381].tolist() == [1, 0]
    # Classes that merge shared and independent convs (one map per op type, no own map for
    # a shared conv) would fail the first check above.
    blind = evaluate_all_cells(separate_shared=False)
    _, first, merged = np.unique(np.round(blind, 6), axis=0, return_index=True, return_inverse=True)
    assert len(first) == 4660 and merged[677] == merged[6381]
    assert (live != live[first][merged.ravel()]).any()


def test_conv_counts_match_the_cost_model(space):
    counts = space.conv_counts(ALL)
    assert counts.shape == (15625, 2) and counts.dtype == np.int64
    for raw, cell in enumerate(space.cells(ALL).tolist()):
        built = [op for op, live in zip(cell, cost.live_inputs(cell), strict=True) if live]
        assert counts[raw].tolist() == [built.count(2), built.count(3)]
    assert space.conv_counts(np.int64(677)).tolist() == [[2, 0]]
    assert space.conv_counts(np.zeros(0, dtype=int)).shape == (0, 2)
    with pytest.raises(ValueError, match=r"raw indices have shape \(2, 2\), expected \(n,\)"):
        space.conv_counts([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="raw indices .*: 1 out of range 0..15624"):
        space.conv_counts([0, 15625])


def test_canonical_ids_are_identical_in_another_process():
    """A fresh process with a different hash seed computes the same ids and representatives."""
    code = (
        "import sys, hashlib\n"
        "from nasbench_lite.spaces import get_space\n"
        "s = get_space('nb201'); ids = s.canonical_ids\n"
        "print(hashlib.sha256(ids.tobytes() + s.representatives.tobytes()).hexdigest())\n"
        "print('jax' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    digest, has_jax = result.stdout.split()
    space = get_space("nb201")
    local = hashlib.sha256(space.canonical_ids.tobytes() + space.representatives.tobytes())
    assert digest == local.hexdigest()
    assert has_jax == "False"


def test_canonical_form_examples(space):
    assert space.canonical_form(0) == "0"
    assert space.canonical_form("|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|") == "x"
    # pool(x + x) is written pool(x) + pool(x); conv keeps its input's multiset whole.
    pooled = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|"
    assert space.canonical_form(pooled) == "pool(x) + pool(x)"
    conv = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|none~0|none~1|nor_conv_1x1~2|"
    assert space.canonical_form(conv) == "conv1x1(x + x)"
    # The 0->1 conv used once is an ordinary term; used twice it is the shared atom wherever
    # it appears, here inside another conv's input and under a pool.
    once = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|avg_pool_3x3~1|none~2|"
    assert space.canonical_form(once) == "pool(conv3x3(x))"
    twice = "|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|skip_connect~2|"
    assert space.canonical_form(twice) == "conv1x1(shared_conv3x3(x)) + pool(shared_conv3x3(x))"
    forms = space.canonical_forms
    assert all(canonical_form(space.cell(r)) == forms[r] for r in range(0, 15625, 97))


def test_live_edges_are_exactly_the_edges_that_matter(space):
    """Setting a non-none edge to none keeps the class iff the edge is dead (all cells)."""
    cells = space.cells(ALL)
    live = space.live_edges(cells)
    assert not (live & (cells == 0)).any()
    for e in range(6):
        cut = cells.copy()
        cut[:, e] = 0
        same = space.canonical_ids[space.indices(cut)] == space.canonical_ids
        on = cells[:, e] != 0
        np.testing.assert_array_equal(live[on, e], ~same[on])


def test_representatives_are_the_lightest_members_without_dead_edges(space):
    reps = space.representatives
    ids = space.canonical_ids
    assert reps.shape == (space.num_unique,) and reps.dtype == np.int64
    np.testing.assert_array_equal(ids[reps], np.arange(space.num_unique))
    # Independent choice: a plain loop keeping the best (conv+pool ops, non-none ops, raw).
    best: dict[int, tuple[int, int, int]] = {}
    for raw, cell in enumerate(space.cells(ALL).tolist()):
        key = (sum(op >= 2 for op in cell), sum(op != 0 for op in cell), raw)
        cid = int(ids[raw])
        best[cid] = min(best.get(cid, key), key)
    np.testing.assert_array_equal(reps, [best[c][2] for c in range(space.num_unique)])
    # No dead edges: every non-none edge of a representative is live.
    rep_cells = space.cells(reps)
    np.testing.assert_array_equal(space.live_edges(rep_cells), rep_cells != 0)


def test_class_members_partition_the_space(space):
    sizes = [len(space.class_members(c)) for c in range(0, space.num_unique, 7)]
    np.testing.assert_array_equal(sizes, np.bincount(space.canonical_ids)[::7])
    members = space.class_members(np.int64(space.canonical(4215)))
    assert 4215 in members and np.all(np.diff(members) > 0)
    assert np.all(space.canonical_ids[members] == space.canonical(4215))
