"""Synthetic tables: valid schema-v1 tables with plausible made-up numbers, for tests,
benchmarks and trying the API without training anything.

Accuracy grows with the cell's operations (convolutions most, then skip connections and
pooling; a cell of `none` ops is at chance), rises over epochs towards its final value along
one saturating curve, and differs a little per seed; test accuracy is validation accuracy
plus noise. Cost grows with parameters; `train_seconds` with FLOPs. Nothing here is measured.
"""

from __future__ import annotations

import numpy as np

from nasbench_lite.errors import InputError
from nasbench_lite.table.reader import Table
from nasbench_lite.table.storage import base_attrs

# Accuracy gain per op name (unknown names: a skip connection's) and weights per channel^2.
GAIN = {"none": 0.0, "skip_connect": 0.05, "nor_conv_1x1": 0.08, "nor_conv_3x3": 0.12,
        "avg_pool_3x3": 0.03}  # fmt: skip
WEIGHTS = {"nor_conv_1x1": 1, "nor_conv_3x3": 9}
CHANNELS, LENGTH, CLASSES = 16, 40, 10  # a MNIST-1D-sized network


def synthetic_table(
    path=None,
    *,
    space: str = "nb201",
    rows: int | None = None,
    classes: np.ndarray | None = None,
    seeds: int = 3,
    epochs: int = 4,
    done: int | np.ndarray | None = None,
    diverged: np.ndarray | None = None,
    chunk: int = 4,
    rng: int | np.random.Generator = 0,
    attrs: dict | None = None,
) -> Table:
    """A complete or partial table of made-up numbers; written atomically to `path` if given.

    rows: how many classes, a uniform sample drawn with `rng` (None: every class); or
        `classes`, the class ids themselves (any order; stored sorted).
    done: (rows,) bool, or an int: the first `done` rows (None: every row). Rows not done
        hold the schema's fill values (NaN metrics), as in a table still being generated.
    diverged: (rows, seeds) bool pairs whose curves are NaN.
    chunk: classes per chunk record; done rows are grouped in row order and each chunk's
        `seconds` and `cpu_seconds` are the sum of its pairs' `train_seconds`.
    attrs: root attributes that replace the defaults (`base_attrs`, preset "synthetic").
    """
    from nasbench_lite.spaces import get_space

    space_obj = get_space(space)
    rng = np.random.default_rng(rng)
    if classes is None:
        count = space_obj.num_unique if rows is None else rows
        classes = np.arange(count) if rows is None else space_obj.sample_classes(rng, count)
    classes = np.sort(np.asarray(classes, dtype=np.int64))
    n = len(classes)
    if done is None or isinstance(done, (int, np.integer)):
        done = np.arange(n) < (n if done is None else done)
    done = np.asarray(done, dtype=bool)
    div = np.zeros((n, seeds), bool) if diverged is None else np.asarray(diverged, bool)
    for name, mask, shape in (("done", done, (n,)), ("diverged", div, (n, seeds))):
        if mask.shape != shape:
            raise InputError(f"{name} has shape {mask.shape}, expected {shape}")
    row_raw = np.asarray(space_obj.representatives)[classes]
    names = np.asarray(space_obj.ops)[space_obj.cells(row_raw)]  # (n, edges) op names
    gain = np.vectorize(lambda op: GAIN.get(op, GAIN["skip_connect"]))(names).sum(axis=1)
    params = (
        200
        + CHANNELS * CLASSES
        + CHANNELS**2 * np.vectorize(lambda op: WEIGHTS.get(op, 0))(names).sum(axis=1)
    )
    flops = 2 * LENGTH * params

    chance = 1.0 / CLASSES
    quality = chance + 0.85 * (1 - np.exp(-2.5 * gain)) + rng.normal(0, 0.02, n)
    final = np.clip(quality[:, None] + rng.normal(0, 0.04, (n, seeds)), 0.05, 0.98)
    progress = (1 - np.exp(-3 * np.arange(1, epochs + 1) / epochs)) / (1 - np.exp(-3))
    valid = chance + (final[:, :, None] - chance) * progress  # (n, seeds, epochs)
    valid = np.sort(valid + rng.normal(0, 0.004, valid.shape), axis=2)  # curves improve
    test = valid + rng.normal(0, 0.01, valid.shape)
    train = valid + 0.05 * progress
    accs = {"train": train, "valid": valid, "test": test}
    curves = {}
    for split, acc in accs.items():
        acc = np.clip(acc, 0.0, 1.0)
        curves[f"{split}_acc"], curves[f"{split}_loss"] = acc, -np.log(np.maximum(acc, 1e-3))
    seconds = (5 + 25 * flops / flops.max())[:, None] * rng.uniform(0.95, 1.05, (n, seeds))

    arrays = {f"metrics/{name}": np.where(div[:, :, None], np.nan, c) for name, c in curves.items()}
    arrays.update({
        "metrics/train_seconds": seconds, "metrics/params": params, "metrics/flops": flops,
        "cells/row_raw": row_raw, "status/done": done, "status/diverged": div & done[:, None],
    })  # fmt: skip
    for name, value in arrays.items():  # rows not done hold the schema's fill
        if name.startswith("metrics/"):
            value[~done] = np.nan if value.dtype.kind == "f" else 0
    trained = np.flatnonzero(done)
    groups = [trained[i : i + chunk] for i in range(0, len(trained), chunk)]
    row_chunk = np.full(n, -1)
    for c, group in enumerate(groups):
        row_chunk[group] = c
    cpu = np.array([seconds[group].sum() for group in groups])
    compile_seconds = rng.uniform(2.0, 6.0, len(groups))
    arrays.update({
        "status/chunk": row_chunk, "chunks/seconds": cpu, "chunks/cpu_seconds": cpu,
        "chunks/compile_seconds": compile_seconds,
        "chunks/pairs": np.array([len(g) * seeds for g in groups]),
    })  # fmt: skip
    table_attrs = base_attrs(
        space=space, dataset="mnist1d", seeds=list(range(seeds)), epochs=epochs,
        preset="synthetic", config={"epochs": epochs},
        splits={"train": 3000, "valid": 1000, "test": 1000}, command="synthetic table",
    )  # fmt: skip
    table_attrs["chunk_classes"] = chunk
    table_attrs["total_compute_seconds"] = float(cpu.sum() + compile_seconds.sum())
    table_attrs.update(attrs or {})
    table = Table(arrays, table_attrs, source=str(path) if path else "<synthetic table>")
    if path is not None:
        table.write(path)
    return table
