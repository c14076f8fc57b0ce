"""Benchmark backends: tabular lookups against the Table API, brute force over every cell;
live training on tiny data; backend construction errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nasbench_lite.backends import Evaluation, LiveBenchmark, TabularBenchmark, make_benchmark
from nasbench_lite.spaces import get_space
from nasbench_lite.table import Table
from nasbench_lite.tablefile import CURVE_METRICS, base_attrs, write_table

DATA_DIR = Path(__file__).resolve().parents[1] / "data"


def synthetic_table(
    seed: int = 0, num_seeds: int = 3, epochs: int = 2, diverged: np.ndarray | None = None
) -> Table:
    """A complete in-memory nb201 table with random but structured numbers.

    Every validation accuracy lies in [0.05, 0.45] and every test accuracy is the same seed's
    validation accuracy + 0.5, so a test accuracy can never pass for a validation one. Each
    seed's numbers differ, so a lookup reveals which seed it drew. `diverged` (rows, seeds)
    bool marks pairs whose metrics are NaN.
    """
    space = get_space("nb201")
    rng = np.random.default_rng(seed)
    rows = space.num_unique
    quality = rng.uniform(0.1, 0.4, rows)
    valid = quality[:, None, None] + rng.uniform(-0.05, 0.05, (rows, num_seeds, epochs))
    valid = np.sort(valid, axis=2)  # curves improve over epochs
    div = np.zeros((rows, num_seeds), bool) if diverged is None else diverged
    valid[div] = np.nan
    curves = {
        "valid_acc": valid,
        "test_acc": valid + 0.5,
        "train_acc": valid + 0.1,
        "train_loss": 2.0 - valid,
        "valid_loss": 2.1 - valid,
        "test_loss": 2.1 - valid,
    }
    return Table(
        raw_to_row=space.canonical_ids,
        row_raw=space.representatives,
        curves={name: values.astype(np.float32) for name, values in curves.items()},
        train_seconds=rng.uniform(10.0, 100.0, (rows, num_seeds)).astype(np.float32),
        params=np.full(rows, 1000, np.int64),
        flops=np.full(rows, 10_000, np.int64),
        diverged=div,
        attrs=base_attrs(
            space="nb201", dataset="mnist1d", seeds=list(range(num_seeds)), epochs=epochs
        ),
    )


@pytest.fixture(scope="module")
def table() -> Table:
    return synthetic_table()


@pytest.fixture(scope="module")
def bench(table) -> TabularBenchmark:
    return TabularBenchmark(table)


def test_every_lookup_is_one_seeds_final_epoch(table, bench):
    # Brute force over all 15,625 raw cells: valid, test and cost all come from one seed.
    raws = np.arange(table.raw_to_row.size)
    rows = table.raw_to_row[raws]
    rng = np.random.default_rng(1)
    results = np.array([bench.evaluate(int(raw), rng) for raw in raws])  # (n, 3)
    valid = table.metric("valid_acc")[rows, :, -1]  # (n, seeds)
    match = results[:, :1] == valid
    assert (match.sum(axis=1) == 1).all()  # exactly one seed gives this valid_acc
    seed = match.argmax(axis=1)
    np.testing.assert_array_equal(results[:, 1], table.metric("test_acc")[rows, seed, -1])
    np.testing.assert_array_equal(results[:, 2], table.metric("train_seconds")[rows, seed])
    # Seeds are drawn uniformly: each of 3 seeds within 2 points of a third of the draws.
    shares = np.bincount(seed, minlength=table.num_seeds) / len(seed)
    assert np.all(np.abs(shares - 1 / 3) < 0.02), shares


def test_lookups_are_pure_and_batch_equals_sequential(bench):
    raws = list(range(0, 15625, 97))
    first = bench.evaluate_many(raws, np.random.default_rng(5))
    again = bench.evaluate_many(raws, np.random.default_rng(5))
    one_by_one_rng = np.random.default_rng(5)
    one_by_one = [bench.evaluate(raw, one_by_one_rng) for raw in raws]
    assert first == again == one_by_one
    assert all(isinstance(e, Evaluation) and isinstance(e.valid_acc, float) for e in first)
    other = bench.evaluate_many(raws, np.random.default_rng(6))
    assert first != other  # the generator decides the seed drawn: training noise
    means = bench.mean_test_acc(np.arange(5))
    means[:] = 0.0  # a caller's copy: the benchmark's means cannot be changed through it
    assert (bench.mean_test_acc(np.arange(5)) > 0.5).all()


def test_means_and_best_agree_with_the_table(table, bench):
    raws = np.arange(15625)
    expected = table.values("test_acc", raws)  # the Table's own seed mean
    np.testing.assert_allclose(bench.mean_test_acc(raws), expected, rtol=0, atol=1e-6)
    assert bench.best_test_acc == pytest.approx(float(expected.max()), abs=1e-6)
    assert bench.space.num_cells == 15625


def test_diverged_seeds_are_nan_and_left_out_of_means():
    space = get_space("nb201")
    diverged = np.zeros((space.num_unique, 3), bool)
    diverged[0, :] = True  # row 0: every seed diverged
    diverged[1, 0] = True  # row 1: one seed diverged
    table = synthetic_table(diverged=diverged)
    bench = TabularBenchmark(table)
    raw0, raw1 = int(table.row_raw[0]), int(table.row_raw[1])
    rng = np.random.default_rng(0)
    assert all(np.isnan(bench.evaluate(raw0, rng).valid_acc) for _ in range(20))
    assert np.isnan(bench.mean_test_acc(np.array([raw0]))[0])
    kept = table.metric("test_acc")[1, 1:, -1].astype(np.float64).mean()
    assert bench.mean_test_acc(np.array([raw1]))[0] == pytest.approx(kept)
    means = bench.mean_test_acc(np.arange(15625))
    assert bench.best_test_acc == np.nanmax(means)


def test_table_path_is_opened(table, tmp_path):
    path = tmp_path / "synthetic.h5"
    write_table(
        path,
        row_raw=table.row_raw,
        curves={m: table.metric(m) for m in CURVE_METRICS},
        train_seconds=table.metric("train_seconds"),
        params=table.metric("params"),
        flops=table.metric("flops"),
        diverged=table.diverged,
        attrs=table.attrs,
    )
    bench = make_benchmark("tabular", table=str(path))
    raws = np.arange(0, 15625, 7)
    np.testing.assert_array_equal(
        bench.mean_test_acc(raws), TabularBenchmark(table).mean_test_acc(raws)
    )
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    assert bench.evaluate_many(raws, rng_a) == TabularBenchmark(table).evaluate_many(raws, rng_b)


def test_incomplete_table_is_refused(table):
    partial = synthetic_table()
    raw_to_row = partial.raw_to_row.copy()
    raw_to_row[7] = -1
    with pytest.raises(ValueError, match="incomplete"):
        TabularBenchmark(_replaced(partial, raw_to_row=raw_to_row))
    done = np.ones(partial.num_rows, bool)
    done[3] = False
    with pytest.raises(ValueError, match="incomplete"):
        TabularBenchmark(_replaced(partial, done=done))


def test_nonpositive_train_seconds_are_refused():
    table = synthetic_table()
    seconds = table.metric("train_seconds").copy()
    seconds[5, 1] = 0.0
    with pytest.raises(ValueError, match="train_seconds"):
        TabularBenchmark(_replaced(table, train_seconds=seconds))


def test_make_benchmark_errors():
    with pytest.raises(ValueError, match="not available yet"):
        make_benchmark("surrogate", table=None)
    with pytest.raises(ValueError, match="unknown benchmark backend 'oracle'.*tabular, live"):
        make_benchmark("oracle")


def test_shipped_tables_answer_a_search():
    from nasbench_lite.runner import run_search

    files = sorted(DATA_DIR.glob("*.h5"))
    if not files:
        pytest.skip("no table file in data/")
    for path in files:
        table = Table.open(path)
        if (table.raw_to_row < 0).any() or not table.done.all():
            continue  # a partial table is for the surrogate
        bench = make_benchmark("tabular", table=path)
        trajectory = run_search("random_search", bench, "50evals", seed=0, workers=2)
        assert len(trajectory) == 50
        assert np.all((trajectory.regret >= -1e-6) & (trajectory.regret <= 1))


def test_live_reference_must_match_the_dataset(table):
    from nasbench_lite.datasets import load_dataset

    data = load_dataset("digits")
    with pytest.raises(ValueError, match="trained on dataset 'mnist1d', not 'digits'"):
        LiveBenchmark("tiny", data, reference=table)


def test_live_without_reference_has_no_means():
    from nasbench_lite.datasets import load_dataset

    bench = LiveBenchmark("tiny", load_dataset("digits"))
    assert np.isnan(bench.best_test_acc)
    assert np.isnan(bench.mean_test_acc(np.arange(15625))).all()


@pytest.mark.slow
def test_live_backend_trains_cells_asked_together(table):
    from nasbench_lite.datasets import load_dataset
    from nasbench_lite.runner import run_search

    data = load_dataset("mnist1d").take(256, 128, 128)
    bench = make_benchmark("live", config="tiny", data=data, reference=table)
    trajectory = run_search("random_search", bench, "4evals", seed=0, workers=2)
    assert len(trajectory) == 4
    # Two batches of two, each trained together: a pair comes back at one measured time.
    t = trajectory.sim_seconds
    assert 0 < t[0] == t[1] < t[2] == t[3]
    assert np.all((trajectory.valid_acc >= 0) & (trajectory.valid_acc <= 1))
    assert np.all((trajectory.test_acc >= 0) & (trajectory.test_acc <= 1))
    expected = table.values("test_acc", trajectory.incumbent).astype(np.float64)
    np.testing.assert_allclose(trajectory.incumbent_test, expected, atol=1e-6)
    assert np.isfinite(trajectory.regret).all()


def _replaced(table: Table, **changes) -> Table:
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


def test_tabular_search_never_imports_jax():
    code = (
        "import sys\n"
        "from test_backends import synthetic_table\n"
        "from nasbench_lite.backends import make_benchmark\n"
        "from nasbench_lite.runner import run_search\n"
        "from nasbench_lite.strategy import available_strategies\n"
        "bench = make_benchmark('tabular', table=synthetic_table())\n"
        "for name in available_strategies():\n"
        "    run_search(name, bench, '30evals', seed=0, workers=2)\n"
        "heavy = [m for m in ('jax', 'flax', 'optax', 'xgboost') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path])}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)
