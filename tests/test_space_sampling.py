"""Sampling, mutation, neighbours and feature encodings of the nb201 space."""

from __future__ import annotations

import re

import numpy as np
import pytest

ALL = np.arange(15625)
VALID = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|"
    "+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
)


def test_neighbours_brute_force(space):
    cells = space.cells(ALL)
    for raw in range(15625):
        neighbours = space.neighbours(raw)
        assert neighbours.shape == (24,) and len(set(neighbours.tolist())) == 24
        diff = space.cells(neighbours) != cells[raw]
        assert np.all(diff.sum(axis=1) == 1)
        np.testing.assert_array_equal(diff.sum(axis=0), np.full(6, 4))


def test_mutate_changes_one_edge_and_reaches_every_neighbour(space):
    rng = np.random.default_rng(0)
    raw = space.to_raw(VALID)
    children = [space.mutate(rng, raw) for _ in range(2000)]
    assert set(children) == set(space.neighbours(raw).tolist())
    again = np.random.default_rng(0)
    assert [space.mutate(again, raw) for _ in range(50)] == children[:50]


def test_sample_is_uniform_and_seeded(space):
    raws = space.sample(np.random.default_rng(1), 156250)
    assert raws.dtype == np.int64 and raws.min() >= 0 and raws.max() <= 15624
    counts = np.bincount(raws, minlength=15625)
    assert 0.9 < counts.mean() / 10 < 1.1 and counts.std() < 5  # Poisson(10): std ~ 3.2
    np.testing.assert_array_equal(
        space.sample(np.random.default_rng(2), 9), space.sample(np.random.default_rng(2), 9)
    )
    assert len(space.sample(np.random.default_rng(0), 0)) == 0


def test_sample_classes(space):
    all_classes = space.sample_classes(np.random.default_rng(0), space.num_unique)
    np.testing.assert_array_equal(np.sort(all_classes), np.arange(space.num_unique))
    many = space.sample_classes(np.random.default_rng(0), 50440, replace=True)
    counts = np.bincount(many, minlength=space.num_unique)
    # Uniform over classes (Poisson(10) counts), not over raw cells (counts ~ class size).
    sizes = np.bincount(space.canonical_ids)
    assert counts.std() < 4 and abs(np.corrcoef(counts, sizes)[0, 1]) < 0.1
    with pytest.raises(ValueError, match="cannot draw 5045 distinct classes: the space has 5044"):
        space.sample_classes(np.random.default_rng(0), 5045)


def test_sampling_rejects_bad_arguments(space):
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        space.sample(0, 5)
    with pytest.raises(TypeError, match="got RandomState"):
        space.mutate(np.random.RandomState(0), 3)
    with pytest.raises(ValueError, match="sample size -1 is not a non-negative integer"):
        space.sample(np.random.default_rng(0), -1)
    with pytest.raises(ValueError, match="sample size 2.0 is not"):
        space.sample_classes(np.random.default_rng(0), 2.0)


# ---- encodings ------------------------------------------------------------------------------


def test_onehot_brute_force(space):
    enc = space.onehot(ALL)
    assert enc.shape == (15625, 30) and enc.dtype == np.float32
    cells = space.cells(ALL)
    for e in range(6):
        for k in range(5):
            np.testing.assert_array_equal(enc[:, 5 * e + k], cells[:, e] == k)
    with pytest.raises(ValueError, match=re.escape("raw indices have shape (2, 2), expected (n,)")):
        space.onehot(np.zeros((2, 2), dtype=int))


def test_path_encoding_brute_force(space):
    enc = space.path_encoding(ALL)
    assert enc.shape == (15625, 155) and enc.dtype == np.float32
    assert space.num_path_features == 155
    paths = [[3], [0, 4], [1, 5], [0, 2, 5]]  # 0->3, 0->1->3, 0->2->3, 0->1->2->3
    offset = {1: 0, 2: 5, 3: 30}
    for raw in range(0, 15625, 13):
        cell = space.cell(raw)
        expected = np.zeros(155)
        for path in paths:
            expected[offset[len(path)] + sum(cell[e] * 5**j for j, e in enumerate(path))] = 1
        np.testing.assert_array_equal(enc[raw], expected)
    assert set(enc.sum(axis=1)) == {3.0, 4.0}  # 0->1->3 and 0->2->3 may share a feature
    assert enc.any(axis=0).all()  # every feature is used by some cell
    with pytest.raises(ValueError, match="expected"):
        space.path_encoding(np.zeros((1, 1), dtype=int))
