"""Calibrate a table's `train_seconds`: train a sample of its classes alone, one at a time,
and compare the solo times with the table's per-pair figures.

    python benchmarks/calibrate_seconds.py data/nb201_mnist1d_cpu.h5            # 40 classes
    python benchmarks/calibrate_seconds.py TABLE --classes 60 --write           # store it

A table's `train_seconds` is a batch's process CPU time apportioned to its pairs by FLOPs
(docs/table.md): a model of what each pair cost. This script measures what it models.
Each sampled class (seeded, uniform over the table's done rows) is trained for seed 0 by
itself: the single-cell program of the table's own config (`make_train`, the cell a traced
argument, only its chosen ops run) compiled once, then run for one class after another on
one device, each run timed in wall and process CPU seconds. It prints the Spearman rank
correlation and the median ratio (table / solo) for both, and with --write stores the
figures in the table file's `calibration` attribute, which `nasbench-lite card` reports.
Run it on an otherwise idle machine of the kind that made the table, after generation has
finished (a running generation rewrites the file and would drop the attribute).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

import numpy as np


def solo_times(config, space, cells: np.ndarray, data) -> tuple[np.ndarray, np.ndarray]:
    """(wall, cpu) seconds (n,) of training each cell alone for seed 0 on one device."""
    import jax

    from nasbench_lite.train.config import splits
    from nasbench_lite.train.trainer import make_train, pair_keys

    device = jax.local_devices()[0]
    arrays = tuple(jax.device_put(a, device) for a in splits(data, config))
    key = pair_keys(np.array([0]))[0]
    train = jax.jit(make_train(config, data.num_classes, space=space))
    compiled = train.lower(key, cells[0].astype(np.int32), np.float32(1), *arrays).compile()
    wall, cpu = np.zeros(len(cells)), np.zeros(len(cells))
    for i, cell in enumerate(cells.astype(np.int32)):
        start, cpu_start = time.perf_counter(), time.process_time()
        np.asarray(compiled(key, cell, np.float32(1), *arrays))
        wall[i], cpu[i] = time.perf_counter() - start, time.process_time() - cpu_start
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("table", help="HDF5 table")
    parser.add_argument("--classes", type=int, default=40, help="sampled classes (default 40)")
    parser.add_argument("--sample-seed", type=int, default=0)
    parser.add_argument("--write", action="store_true", help="store in the table's attributes")
    parser.add_argument(
        "--data-dir", default=None, help="directory with the table's dataset files, if any"
    )
    args = parser.parse_args(argv)
    from nasbench_lite.devices import use_cpu_cores

    use_cpu_cores()  # as generate did: the same XLA threading
    from scipy.stats import spearmanr

    from nasbench_lite.datasets import rebuild_dataset
    from nasbench_lite.table.reader import Table
    from nasbench_lite.train.config import TrainConfig

    table = Table.open(args.table)
    config = TrainConfig.from_dict(table.attrs["config"])
    done = np.flatnonzero(table.done)
    if len(done) < max(args.classes, 3):
        parser.error(f"{args.table}: {len(done)} done rows, need at least {args.classes}")
    rows = np.sort(np.random.default_rng(args.sample_seed).choice(done, args.classes, False))
    cells = np.asarray(table.arrays["cells/ops"])[rows]
    data = rebuild_dataset(table.dataset_identity, args.data_dir, f"calibrating {args.table}")
    print(f"{args.table}: {args.classes} classes trained alone (seed 0), config {config}")
    wall, cpu = solo_times(config, table.space, cells, data)
    listed = table.metric("train_seconds")[rows, 0]
    result = {
        "classes": int(args.classes), "sample_seed": args.sample_seed,
        "rows": rows.tolist(), "table_seconds": listed.tolist(),
        "solo_wall_seconds": wall.tolist(), "solo_cpu_seconds": cpu.tolist(),
        "spearman_cpu": float(spearmanr(listed, cpu).statistic),
        "spearman_wall": float(spearmanr(listed, wall).statistic),
        "median_ratio_cpu": float(np.median(listed / cpu)),
        "median_ratio_wall": float(np.median(listed / wall)),
        "machine": platform.platform(), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join(["python", "benchmarks/calibrate_seconds.py", *sys.argv[1:]]),
    }  # fmt: skip
    for kind in ("cpu", "wall"):
        print(f"table train_seconds vs solo {kind} seconds: Spearman "
              f"{result[f'spearman_{kind}']:.3f}, median ratio table/solo "
              f"{result[f'median_ratio_{kind}']:.3f}")  # fmt: skip
    print(f"solo: median {np.median(cpu):.3f} CPU s, {np.median(wall):.3f} wall s per pair")
    if args.write:  # as every writer: under the writer lock, the whole file rewritten atomically
        from nasbench_lite.generate.lock import writer_lock
        from nasbench_lite.table.storage import read_arrays, write_arrays

        with writer_lock(args.table):
            arrays, attrs = read_arrays(args.table)
            attrs["calibration"] = result
            write_arrays(args.table, arrays, attrs)
        print(f"wrote the calibration attribute of {args.table}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
