"""The schema records and the synthetic-table builder: consistency, validity, plausibility."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from nasbench_lite.spaces import get_space
from nasbench_lite.table.reader import Table
from nasbench_lite.table.schema import (
    ATTRS,
    FIELDS,
    JSON_ATTRS,
    PER_CHUNK,
    PER_ROW,
    REQUIRED_ATTRS,
    SCHEMA,
    pending_arrays,
    sizes,
)
from nasbench_lite.table.storage import base_attrs, check_arrays, read_arrays
from nasbench_lite.table.synthetic import synthetic_table

SPACE = get_space("nb201")


def test_schema_records_are_consistent():
    assert len(FIELDS) == len(SCHEMA) and len({a.name for a in ATTRS}) == len(ATTRS)
    # Every dataset is per row, per chunk, or the per-raw-cell map merge derives.
    assert sorted([*PER_ROW, *PER_CHUNK, "cells/raw_to_row"]) == sorted(FIELDS)
    assert set(base_attrs(space="nb201", dataset="d", seeds=[0], epochs=1)) == set(REQUIRED_ATTRS)
    assert set(JSON_ATTRS) == {
        "dataset_identity",
        "dataset_fingerprint",
        "splits",
        "config",
        "versions",
        "hardware",
        "selection",
        "calibration",
        "proxies",
        "latency",
    }
    axes = {"rows": 5, "seeds": 2, "epochs": 3, "chunks": 0, "cells": 7, "edges": 6}
    pending = pending_arrays(axes)
    assert (
        pending["metrics/test_acc"].shape == (5, 2, 3)
        and np.isnan(pending["metrics/test_acc"]).all()
    )
    assert not pending["status/done"].any() and (pending["status/chunk"] == -1).all()
    assert (pending["cells/raw_to_row"] == -1).all() and pending["chunks/seconds"].shape == (0,)
    for field in SCHEMA:
        assert pending[field.path].dtype == np.dtype(field.dtype), field.path
    assert sizes(pending, {"seeds": [0, 1], "epochs": 3}) == axes


@pytest.fixture(scope="module")
def full() -> Table:
    return synthetic_table(epochs=6, rng=0)


def test_synthetic_table_is_valid_and_round_trips(full, tmp_path):
    check_arrays(full.to_arrays(), full.attrs, "synthetic")
    assert full.num_rows == SPACE.num_unique and full.done.all()
    written = synthetic_table(tmp_path / "t.h5", epochs=6, rng=0)
    arrays, attrs = read_arrays(tmp_path / "t.h5")
    assert sorted(arrays) == sorted(FIELDS)
    for name, value in arrays.items():
        np.testing.assert_array_equal(value, full.arrays[name], err_msg=name)
        np.testing.assert_array_equal(value, written.arrays[name], err_msg=name)
    assert attrs["seeds"] == [0, 1, 2] and attrs["epochs"] == 6
    other = synthetic_table(epochs=6, rng=1)
    assert not np.array_equal(other.metric("valid_acc"), full.metric("valid_acc"))


def test_synthetic_numbers_are_plausible(full):
    valid, test = full.metric("valid_acc"), full.metric("test_acc")
    assert ((valid >= 0) & (valid <= 1)).all() and ((test >= 0) & (test <= 1)).all()
    assert (np.diff(valid, axis=2) >= 0).all()  # curves improve over epochs
    assert (np.diff(full.metric("valid_loss"), axis=2) <= 0).all()
    final = full.values("valid_acc", full.row_raw)
    convs = (SPACE.cells(full.row_raw) == 3).sum(axis=1)  # nor_conv_3x3 edges
    assert stats.spearmanr(convs, final)[0] > 0.3
    assert full.lookup(0, "valid_acc") < 0.2  # every edge `none`: chance level
    assert 0.1 < np.mean([r for *_, r in _seed_rhos(valid[:, :, -1])]) < 0.95
    assert np.abs(test - valid).mean() < 0.02
    seconds = full.values("train_seconds", full.row_raw)
    assert stats.spearmanr(full.metric("flops"), seconds)[0] > 0.9 and (seconds > 0).all()


def _seed_rhos(final):
    return [(a, b, stats.spearmanr(final[:, a], final[:, b])[0]) for a, b in [(0, 1), (0, 2)]]


def test_partial_synthetic_table_keeps_pending_rows_at_fill_and_records_chunks():
    diverged = np.zeros((30, 2), bool)
    diverged[1, 0] = diverged[25, 1] = True  # row 25 is not done: no divergence recorded
    table = synthetic_table(rows=30, seeds=2, epochs=3, done=20, diverged=diverged, chunk=8)
    assert table.num_rows == 30 and table.done.tolist() == [True] * 20 + [False] * 10
    arrays = table.arrays
    for path in PER_ROW:
        field = FIELDS[path]
        if path.startswith(("metrics/", "status/")):
            expected = field.full({"rows": 10, "seeds": 2, "epochs": 3})
            np.testing.assert_array_equal(arrays[path][20:], expected, err_msg=path)
    assert np.isnan(table.metric("test_acc")[1, 0]).all() and table.diverged.sum() == 1
    np.testing.assert_array_equal(arrays["status/chunk"][:20], np.arange(20) // 8)
    np.testing.assert_array_equal(arrays["chunks/pairs"], [16, 16, 8])
    per_chunk = [table.metric("train_seconds")[arrays["status/chunk"] == c].sum() for c in range(3)]
    np.testing.assert_allclose(arrays["chunks/cpu_seconds"], per_chunk, rtol=1e-6)
    total = arrays["chunks/seconds"].sum() + arrays["chunks/compile_seconds"].sum()
    assert table.attrs["total_compute_seconds"] == pytest.approx(total)
    classes = np.array([9, 3, 400])
    assert synthetic_table(classes=classes, seeds=1, epochs=2).arrays[
        "cells/row_class"
    ].tolist() == [3, 9, 400]


def test_synthetic_table_rejects_inconsistent_masks():
    with pytest.raises(ValueError, match=r"done has shape \(4,\), expected \(5,\)"):
        synthetic_table(rows=5, done=np.ones(4, bool))
    with pytest.raises(ValueError, match=r"diverged has shape \(5, 2\), expected \(5, 3\)"):
        synthetic_table(rows=5, diverged=np.zeros((5, 2), bool))
