"""The restricted view of a space (`SubSpace`), brute force over all 15,625 cells: allowed
neighbourhoods, sampling, mutation, classes, delegation to the full space, and errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chisquare

from nasbench_lite.spaces import Space
from nasbench_lite.spaces.subspace import SubSpace

N = 15625


@pytest.fixture(scope="module")
def all_edits(space) -> list[list[int]]:
    """Every one-edge edit of every raw cell, written out in plain Python (edge-major, ops
    ascending), independent of both neighbour implementations."""
    edits = []
    for cell in space.cells(np.arange(N)).tolist():
        row = []
        for edge in range(6):
            for op in range(5):
                if op != cell[edge]:
                    changed = cell[:edge] + [op] + cell[edge + 1 :]
                    row.append(sum(o * 5 ** (5 - e) for e, o in enumerate(changed)))
        edits.append(row)
    return edits


def make_mask(space, kind: str) -> np.ndarray:
    rng = np.random.default_rng(11)
    if kind == "classes":  # whole classes, as a table holding 30% of them
        return np.isin(space.canonical_ids, space.sample_classes(rng, 1513))
    if kind == "cells":  # single raw cells, splitting classes
        return rng.random(N) < 0.3
    if kind == "sparse":  # 1%: most cells have no allowed neighbour
        return rng.random(N) < 0.01
    return np.ones(N, bool)


KINDS = ["classes", "cells", "sparse", "all"]


def test_neighbour_table_is_every_neighbourhood(space, all_edits):
    table = space.neighbour_table
    assert table.shape == (N, 24) and table.dtype == np.int64 and not table.flags.writeable
    np.testing.assert_array_equal(table, np.array(all_edits))
    for raw in range(0, N, 37):
        np.testing.assert_array_equal(space.neighbours(raw), table[raw])


@pytest.mark.parametrize("kind", KINDS)
def test_neighbours_are_the_full_ones_filtered(space, all_edits, kind):
    allowed = make_mask(space, kind)
    sub = space.restrict(allowed)
    for raw in range(N):
        got = sub.neighbours(raw)
        assert got.dtype == np.int64
        assert got.tolist() == [r for r in all_edits[raw] if allowed[r]], raw
    got = sub.neighbours(np.int64(5))  # any cell form the full space accepts
    assert got.tolist() == sub.neighbours(space.format(5)).tolist() == sub.neighbours(5).tolist()


@pytest.mark.parametrize("kind", KINDS)
def test_sample_is_uniform_over_allowed_cells_only(space, kind):
    allowed = make_mask(space, kind)
    sub = SubSpace(space, allowed)
    draws = sub.sample(np.random.default_rng(0), 40 * int(allowed.sum()))
    assert draws.dtype == np.int64 and allowed[draws].all()
    counts = np.bincount(draws, minlength=N)[allowed]
    assert (counts > 0).all()  # every allowed cell comes up
    assert chisquare(counts).pvalue > 1e-4
    assert sub.sample(np.random.default_rng(0), 0).shape == (0,)


@pytest.mark.parametrize("kind", KINDS)
def test_mutate_changes_one_edge_to_an_allowed_cell(space, all_edits, kind):
    allowed = make_mask(space, kind)
    sub = SubSpace(space, allowed)
    rng = np.random.default_rng(1)
    children = np.array([sub.mutate(rng, raw) for raw in range(N)])
    assert allowed[children].all()
    can = np.array([any(allowed[r] for r in row) for row in all_edits])
    diff = (space.cells(children) != space.cells(np.arange(N))).sum(axis=1)
    assert (diff[can] == 1).all()  # one edge changed whenever an allowed edit exists
    # Without one: a restart at another allowed cell, never the cell itself.
    assert (children[~can] != np.arange(N)[~can]).all()
    if kind == "sparse":
        assert (~can).sum() > 1000  # the fallback was exercised


def test_mutate_is_uniform_over_the_allowed_edits(space, all_edits):
    allowed = make_mask(space, "classes")
    sub = SubSpace(space, allowed)
    raw = next(r for r in range(N) if sum(allowed[all_edits[r]]) >= 5)
    edits = [r for r in all_edits[raw] if allowed[r]]
    rng = np.random.default_rng(2)
    children = [sub.mutate(rng, raw) for _ in range(400 * len(edits))]
    assert set(children) == set(edits)
    counts = np.array([children.count(r) for r in edits])
    assert chisquare(counts).pvalue > 1e-4


def test_isolated_cells_restart_elsewhere_and_a_single_cell_stays(space):
    a, b = 0, N - 1  # all `none` and all `avg_pool_3x3`: six edges apart
    sub = SubSpace(space, [a, b])
    rng = np.random.default_rng(3)
    assert sub.neighbours(a).size == 0
    assert {sub.mutate(rng, a) for _ in range(50)} == {b}
    assert {sub.mutate(rng, 7) for _ in range(200)} == {a, b}  # not allowed itself
    single = SubSpace(space, [a])
    assert single.mutate(rng, a) == a and set(single.sample(rng, 20).tolist()) == {a}


def test_classes_of_the_view(space):
    allowed = make_mask(space, "cells")  # splits classes: a class is in if one cell is
    sub = SubSpace(space, allowed)
    expected = np.unique(space.canonical_ids[allowed])
    np.testing.assert_array_equal(sub.allowed_classes, expected)
    assert sub.num_allowed_classes == len(expected) and sub.num_allowed == allowed.sum()
    drawn = sub.sample_classes(np.random.default_rng(0), len(expected))
    assert drawn.dtype == np.int64 and sorted(drawn.tolist()) == expected.tolist()
    many = sub.sample_classes(np.random.default_rng(0), 3 * len(expected), replace=True)
    assert np.isin(many, expected).all()
    with pytest.raises(ValueError, match=f"cannot draw {len(expected) + 1} distinct classes"):
        sub.sample_classes(np.random.default_rng(0), len(expected) + 1)
    for class_id in range(0, space.num_unique, 13):
        members = space.class_members(class_id)
        assert sub.class_members(class_id).tolist() == members[allowed[members]].tolist()


def test_everything_else_is_the_full_space(space):
    sub = space.restrict(make_mask(space, "classes"))
    assert isinstance(sub, Space) and sub.base is space
    assert (sub.name, sub.num_cells, sub.num_unique) == ("nb201", N, space.num_unique)
    assert sub.canonical_ids is space.canonical_ids and sub.representatives is space.representatives
    for raw in (0, 77, 15624):
        assert sub.format(raw) == space.format(raw) and sub.canonical(raw) == space.canonical(raw)
        np.testing.assert_array_equal(sub.cell(raw), space.cell(raw))
    np.testing.assert_array_equal(sub.onehot([1, 2]), space.onehot([1, 2]))
    facts = sub.summary()
    assert facts["allowed cells"] == f"{sub.num_allowed} of {N}"
    assert facts["allowed classes"] == f"{sub.num_allowed_classes} of {space.num_unique}"
    assert "SubSpace(NB201Space" in repr(sub) and f"{sub.num_allowed} of {N} cells" in repr(sub)
    with pytest.raises(AttributeError):
        _ = sub.no_such_attribute


def test_raw_indices_and_masks_agree_and_views_nest(space):
    mask = make_mask(space, "classes")
    by_raws = SubSpace(space, np.flatnonzero(mask))
    np.testing.assert_array_equal(by_raws.allowed, mask)
    other = make_mask(space, "cells")
    nested = by_raws.restrict(other)
    assert nested.base is space
    np.testing.assert_array_equal(nested.allowed, mask & other)
    assert not by_raws.allowed.flags.writeable and not by_raws.allowed_raws.flags.writeable


def test_a_space_without_a_neighbour_table_gives_the_same_view(space):
    class Plain:  # the full space's methods, but no vectorised neighbour table
        def __getattr__(self, name):
            if name == "neighbour_table":
                raise AttributeError(name)
            return getattr(space, name)

    mask = make_mask(space, "sparse")
    plain, fast = SubSpace(Plain(), mask), SubSpace(space, mask)
    for raw in range(0, N, 11):
        assert plain.neighbours(raw).tolist() == fast.neighbours(raw).tolist()


def test_errors_name_the_input(space):
    with pytest.raises(ValueError, match="no allowed cell: a restricted view of space 'nb201'"):
        SubSpace(space, np.zeros(N, bool))
    with pytest.raises(ValueError, match="no allowed cell"):
        SubSpace(space, [])
    with pytest.raises(ValueError, match="no allowed cell"):
        SubSpace(space, [5]).restrict([6])  # disjoint: the intersection is empty
    with pytest.raises(ValueError, match=r"allowed mask has shape \(10,\), expected \(15625,\)"):
        SubSpace(space, np.ones(10, bool))
    with pytest.raises(ValueError, match="bool mask .* or int raw indices .*got dtype float64"):
        SubSpace(space, [0.5, 1.0])
    with pytest.raises(ValueError, match=r"got dtype int64 shape \(1, 2\)"):
        SubSpace(space, np.array([[1, 2]]))
    with pytest.raises(ValueError, match="allowed raw index 15625 is outside 0..15624"):
        SubSpace(space, [3, 15625])
    sub = SubSpace(space, [3, 4])
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        sub.sample(0, 3)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        sub.mutate(0, 3)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        sub.sample_classes(0, 1)
    with pytest.raises(ValueError, match="sample size -1 is not a non-negative integer"):
        sub.sample(np.random.default_rng(0), -1)
    with pytest.raises(ValueError, match="15625"):
        sub.neighbours(15625)  # the full space's own check
    with pytest.raises(ValueError, match="15625"):
        sub.mutate(np.random.default_rng(0), 15625)
