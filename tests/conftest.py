"""Shared test helpers: synthetic tables (complete, partial, as objects and files) and
installed-looking strategy packages. Test modules import the helpers with
`from conftest import ...` and get the fixtures by name."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from nasbench_lite.backends import TabularBenchmark
from nasbench_lite.devices import use_cpu_cores
from nasbench_lite.spaces import get_space
from nasbench_lite.table import Table
from nasbench_lite.tablefile import CURVE_METRICS, base_attrs, write_table

# As the command line does, fix the CPU devices before anything imports JAX (none of the
# imports above does): two, whatever the machine, so every batch is sharded and CLI
# subprocesses, which inherit XLA_FLAGS, see the same devices as the tests.
use_cpu_cores(2)


@pytest.fixture(scope="session")
def space():
    """The nb201 space (every test file that needs it shares this one)."""
    return get_space("nb201")


def synthetic_table(
    seed: int = 0,
    num_seeds: int = 3,
    epochs: int = 2,
    diverged: np.ndarray | None = None,
    classes: np.ndarray | None = None,
    done: np.ndarray | None = None,
) -> Table:
    """An in-memory nb201 table with random but structured numbers.

    Every validation accuracy lies in [0.05, 0.45] and every test accuracy is the same seed's
    validation accuracy + 0.5, so a test accuracy can never pass for a validation one. Each
    seed's numbers differ, so a lookup reveals which seed it drew. `diverged` (rows, seeds)
    bool marks pairs whose metrics are NaN. `classes`: class ids that have a row (default:
    all, a complete table), as in a table sampled with `generate --fraction`. `done` (rows,)
    bool: rows not done hold NaN metrics, as in a table still being generated.
    """
    space = get_space("nb201")
    rng = np.random.default_rng(seed)
    classes = np.arange(space.num_unique) if classes is None else np.sort(classes)
    rows = len(classes)
    quality = rng.uniform(0.1, 0.4, rows)
    valid = quality[:, None, None] + rng.uniform(-0.05, 0.05, (rows, num_seeds, epochs))
    valid = np.sort(valid, axis=2)  # curves improve over epochs
    div = np.zeros((rows, num_seeds), bool) if diverged is None else diverged
    valid[div] = np.nan
    seconds = rng.uniform(10.0, 100.0, (rows, num_seeds))
    if done is not None:
        valid[~done] = np.nan
        seconds[~done] = np.nan
    curves = {
        "valid_acc": valid,
        "test_acc": valid + 0.5,
        "train_acc": valid + 0.1,
        "train_loss": 2.0 - valid,
        "valid_loss": 2.1 - valid,
        "test_loss": 2.1 - valid,
    }
    class_to_row = np.full(space.num_unique, -1)
    class_to_row[classes] = np.arange(rows)
    return Table(
        raw_to_row=class_to_row[space.canonical_ids],
        row_raw=np.asarray(space.representatives)[classes],
        curves={name: values.astype(np.float32) for name, values in curves.items()},
        train_seconds=seconds.astype(np.float32),
        params=np.full(rows, 1000, np.int64),
        flops=np.full(rows, 10_000, np.int64),
        diverged=div,
        done=done,
        attrs=base_attrs(
            space="nb201", dataset="mnist1d", seeds=list(range(num_seeds)), epochs=epochs
        ),
    )


def partial_table(fraction: float = 0.3, seed: int = 0, sampled: bool = False) -> Table:
    """A synthetic table holding a uniform random `fraction` of the classes: the others are
    rows not done yet (default, a table being generated) or have no row (`sampled`, a table
    made with `generate --fraction`)."""
    space = get_space("nb201")
    rng = np.random.default_rng(1000 + seed)
    present = space.sample_classes(rng, round(fraction * space.num_unique))
    if sampled:
        return synthetic_table(seed, classes=present)
    return synthetic_table(seed, done=np.isin(np.arange(space.num_unique), present))


def replaced_table(table: Table, **changes) -> Table:
    """A copy of `table` with some constructor arrays replaced."""
    args = {
        "raw_to_row": table.raw_to_row,
        "row_raw": table.row_raw,
        "curves": {m: table.metric(m) for m in CURVE_METRICS},
        "train_seconds": table.metric("train_seconds"),
        "params": table.metric("params"),
        "flops": table.metric("flops"),
        "diverged": table.diverged,
        "attrs": table.attrs,
        "done": table.done,
    }  # fmt: skip
    args.update(changes)
    return Table(**args)


def write_synthetic_table(path: Path, done: np.ndarray | None = None) -> Path:
    """A nb201 table file: accuracy grows with the convolutions in a cell, training time too,
    plus per-seed noise (so strategies differ and costs vary). `done` (rows,) bool: rows not
    done hold NaN metrics, as a table still being generated (default: complete)."""
    space = get_space("nb201")
    rng = np.random.default_rng(0)
    rows, seeds, epochs = space.num_unique, 3, 2
    ops = space.cells(space.representatives)
    quality = 0.3 + np.array([0.0, 0.05, 0.08, 0.12, 0.03])[ops].sum(1)
    valid = quality[:, None, None] + rng.normal(0, 0.02, (rows, seeds, epochs))
    curves = {m: np.clip(valid + 0.01 * i, 0, 1) for i, m in enumerate(CURVE_METRICS)}
    convs = (ops == 3).sum(1) * 4 + (ops == 2).sum(1) * 2 + 5.0
    seconds = convs[:, None] * rng.uniform(0.9, 1.1, (rows, seeds))
    if done is not None:
        for values in (*curves.values(), seconds):
            values[~done] = np.nan
    write_table(
        path,
        row_raw=space.representatives,
        curves={m: c.astype(np.float32) for m, c in curves.items()},
        train_seconds=seconds.astype(np.float32),
        params=np.full(rows, 1000),
        flops=np.full(rows, 10_000),
        diverged=np.zeros((rows, seeds), bool),
        done=done,
        attrs=base_attrs(space="nb201", dataset="mnist1d", seeds=[0, 1, 2], epochs=epochs),
    )
    return path


def write_strategy_package(root: Path, dist: str, files: dict[str, str], entries: str) -> None:
    """An installed-looking distribution in `root` (put it on sys.path to install it):
    `files` (relative path -> Python source, dedented) and a `dist`-0.1.dist-info whose
    entry_points.txt registers `entries` ("name = module:Class" lines) under the group
    ``nasbench_lite.strategies``."""
    for name, source in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(source))
    info = root / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[nasbench_lite.strategies]\n{entries}\n")


@pytest.fixture(scope="session")
def table() -> Table:
    """The complete synthetic table (read-only arrays: safe to share)."""
    return synthetic_table()


@pytest.fixture(scope="session")
def bench(table) -> TabularBenchmark:
    """A tabular benchmark on the complete synthetic table (lookups are pure: shared)."""
    return TabularBenchmark(table)
