"""Benchmark backends: tabular lookups against the Table API, brute force over every cell;
live training on tiny data; backend construction errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import multi_trial_strategies, partial_table, synthetic_table

from nasbench_lite.backends.base import Evaluation
from nasbench_lite.backends.live import LiveBenchmark
from nasbench_lite.backends.registry import make_benchmark
from nasbench_lite.backends.tabular import TabularBenchmark
from nasbench_lite.search.registry import get_strategy
from nasbench_lite.search.runner import run_search
from nasbench_lite.spaces import get_space
from nasbench_lite.spaces.subspace import SubSpace
from nasbench_lite.table.reader import Table

DATA_DIR = Path(__file__).resolve().parents[1] / "data"


def test_every_lookup_is_one_seeds_final_epoch(table, bench):
    # Brute force over all 15,625 raw cells: valid, test and cost all come from one seed.
    raws = np.arange(table.raw_to_row.size)
    rows = table.raw_to_row[raws]
    rng = np.random.default_rng(1)
    results = np.array([bench.evaluate(int(raw), rng)[:3] for raw in raws])  # (n, 3)
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
    table.write(path)
    bench = make_benchmark("tabular", table=str(path))
    raws = np.arange(0, 15625, 7)
    np.testing.assert_array_equal(
        bench.mean_test_acc(raws), TabularBenchmark(table).mean_test_acc(raws)
    )
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    assert bench.evaluate_many(raws, rng_a) == TabularBenchmark(table).evaluate_many(raws, rng_b)


def test_nonpositive_train_seconds_are_refused():
    table = synthetic_table()
    seconds = table.metric("train_seconds").copy()
    seconds[5, 1] = 0.0
    with pytest.raises(ValueError, match="train_seconds"):
        TabularBenchmark(Table({**table.arrays, "metrics/train_seconds": seconds}, table.attrs))


def test_make_benchmark_errors():
    with pytest.raises(ValueError, match="unknown benchmark backend 'oracle'.*tabular, live"):
        make_benchmark("oracle")


def test_shipped_tables_answer_a_search():
    files = sorted(DATA_DIR.glob("*.h5"))
    if not files:
        pytest.skip("no table file in data/")
    for path in files:
        table = Table.open(path)  # a partial one too: the search stays in its classes
        if not table.done.any():
            continue  # generation has not finished its first chunk yet
        bench = make_benchmark("tabular", table=table)
        trajectory = run_search("random_search", bench, "50evals", seed=0, workers=2)
        assert len(trajectory) == 50
        rows = table.raw_to_row[trajectory.raw]
        assert (rows >= 0).all() and table.done[rows].all()  # only cells of done classes
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
    from nasbench_lite.search.runner import run_search

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


# -- partial tables: only some classes trained -----------------------------------------------


def available_mask(table: Table) -> np.ndarray:
    """bool (15625,): raw cells whose class has a row that is done, cell by cell."""
    rows, done = table.raw_to_row.tolist(), table.done.tolist()
    return np.array([row >= 0 and done[row] for row in rows])


@pytest.fixture(scope="module")
def partial() -> Table:
    return partial_table(0.3)


@pytest.fixture(scope="module")
def partial_bench(partial) -> TabularBenchmark:
    return TabularBenchmark(partial)


@pytest.mark.parametrize("sampled", [False, True], ids=["pending_rows", "sampled_rows"])
def test_partial_table_restricts_the_space_and_the_regret_reference(sampled):
    table = partial_table(0.3, seed=1, sampled=sampled)
    bench = TabularBenchmark(table)
    space = get_space("nb201")
    allowed = available_mask(table)
    assert isinstance(bench.space, SubSpace) and bench.space.base is space
    np.testing.assert_array_equal(bench.space.allowed, allowed)
    classes = len({space.canonical(raw) for raw in np.flatnonzero(allowed).tolist()})
    assert classes == round(0.3 * space.num_unique)
    cov = bench.coverage
    assert (cov.classes, cov.total_classes, cov.cells, cov.total_cells) == (
        classes, 5044, int(allowed.sum()), 15625
    )  # fmt: skip
    assert not cov.complete and cov.class_fraction == pytest.approx(0.3, abs=1e-3)
    assert cov.cell_fraction == allowed.mean()
    assert cov.describe() == (
        f"search restricted to {classes:,} of 5,044 classes ({allowed.sum():,} of 15,625 raw "
        f"cells) available in this table; regret is relative to the best available cell"
    )
    means = bench.mean_test_acc(np.arange(15625))
    np.testing.assert_array_equal(np.isnan(means), ~allowed)
    expected = table.values("test_acc", np.flatnonzero(allowed)).astype(np.float64)
    np.testing.assert_allclose(means[allowed], expected, atol=1e-6)
    assert bench.best_test_acc == pytest.approx(expected.max(), abs=1e-6)
    # Every available cell answers from its own row; every missing one raises.
    rng = np.random.default_rng(0)
    for raw in range(15625):
        if allowed[raw]:
            valid = bench.evaluate(raw, rng).valid_acc
            assert valid in table.metric("valid_acc")[table.raw_to_row[raw], :, -1]
        elif raw % 7 == 0:  # a sample of the missing ones (each raise costs a traceback)
            with pytest.raises(ValueError, match=f"raw cell {raw} is not available in table"):
                bench.evaluate(raw, rng)


def test_complete_table_keeps_the_full_space(bench):
    assert bench.space is get_space("nb201")
    assert bench.coverage.complete and bench.coverage.class_fraction == 1.0


def test_table_without_a_trained_class_is_refused():
    table = synthetic_table(done=np.zeros(5044, bool))
    with pytest.raises(ValueError, match="has no trained class yet"):
        TabularBenchmark(table)


class Checked:
    """A benchmark that passes calls on and asserts that every cell asked is available."""

    def __init__(self, inner):
        self.inner, self.space, self.best_test_acc = inner, inner.space, inner.best_test_acc
        self.epochs = inner.epochs
        self.asked = []

    def evaluate(self, raw, rng):
        return self.evaluate_many([raw], rng)[0]

    def evaluate_many(self, raws, rng):
        assert self.space.allowed[raws].all(), raws
        self.asked.extend(raws)
        return self.inner.evaluate_many(raws, rng)

    def evaluate_requests(self, requests, rng):
        raws = [r.raw for r in requests]
        assert self.space.allowed[raws].all(), raws
        self.asked.extend(raws)
        return self.inner.evaluate_requests(requests, rng)

    def mean_test_acc(self, raws):
        return self.inner.mean_test_acc(raws)


@pytest.mark.parametrize("name", multi_trial_strategies())
@pytest.mark.parametrize("workers", [1, 3])
def test_every_strategy_searches_only_available_cells(name, workers, partial, partial_bench):
    allowed = available_mask(partial)
    checked = Checked(partial_bench)
    a = run_search(name, checked, "3000", seed=5, workers=workers)
    assert checked.asked and allowed[checked.asked].all()
    assert len(a) and a.sim_seconds.max() <= 3000
    assert a.end_seconds == 3000 or a.strategy_done
    b = run_search(name, partial_bench, "3000", seed=5, workers=workers)
    for field in ("sim_seconds", "raw", "valid_acc", "test_acc", "incumbent", "regret"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    c = run_search(name, partial_bench, "3000", seed=6, workers=workers)
    assert a.raw.tolist() != c.raw.tolist()
    # Regret within the sub-space: from the best available cell, never negative.
    means = partial_bench.mean_test_acc(a.incumbent)
    np.testing.assert_allclose(a.regret, partial_bench.best_test_acc - means, atol=1e-12)
    assert (a.regret >= 0).all()
    counted = run_search(name, checked, "150evals", seed=5, workers=workers)
    assert len(counted) == 150 or counted.strategy_done
    assert allowed[counted.raw].all()


def test_a_strategy_built_for_the_full_space_is_refused(partial_bench):
    strategy = get_strategy("random_search")(get_space("nb201"))
    with pytest.raises(ValueError, match="built for NB201Space.*answers only SubSpace"):
        run_search(strategy, partial_bench, "10evals", seed=0)
    built = get_strategy("random_search")(partial_bench.space)  # built for its space: fine
    assert len(run_search(built, partial_bench, "10evals", seed=0)) == 10


def test_tabular_search_never_imports_jax():
    code = (
        "import sys\n"
        "from nasbench_lite.backends import make_benchmark\n"
        "from nasbench_lite.search.runner import run_search\n"
        "from nasbench_lite.search import available_strategies, get_strategy\n"
        "from nasbench_lite.table import Table, default_table_path\n"
        "# The shipped table holds zero-cost proxies, which some strategies need.\n"
        "from nasbench_lite.search.sources import SourceTasks\n"
        "from nasbench_lite.table.shipped import task_tables\n"
        "table = Table.open(default_table_path())\n"
        "bench = make_benchmark('tabular', table=table)\n"
        "# Transfer strategies read the suite's other tasks (never the target's own table).\n"
        "others = [t for t in task_tables(['all']) if t[1] != default_table_path()]\n"
        "sources = SourceTasks.build(others, table, default_table_path())\n"
        "for name in available_strategies():\n"
        "    # Weight-sharing strategies train a supernet in JAX; looking them up does not.\n"
        "    if not getattr(get_strategy(name), 'weight_sharing', False):\n"
        "        run_search(name, bench, '30evals', seed=0, workers=2, sources=sources)\n"
        "heavy = [m for m in ('jax', 'flax', 'optax', 'xgboost') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path])}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


def test_an_incumbent_without_a_mean_is_scored_by_its_own_run():
    """A live run with a partial reference: an incumbent the reference lacks reports its own
    measured test accuracy (regret from it), the others the reference's mean."""
    from types import SimpleNamespace

    from nasbench_lite.search.trajectory import trajectory_from_rows

    means = {3: 0.9, 5: np.nan}  # raw 5: a class the partial reference lacks
    bench = SimpleNamespace(
        mean_test_acc=lambda raws: np.array([means[int(r)] for r in raws]),
        best_test_acc=0.95,
        space=SimpleNamespace(format=str),
    )
    # (sim_seconds, raw, valid_acc, test_acc, overhead, epoch, epochs trained)
    rows = [(1.0, 3, 0.80, 0.97, 0.0, 1, 1), (2.0, 5, 0.90, 0.93, 0.0, 1, 1)]
    run = {"strategy": "s", "seed": 0, "workers": 1, "budget": None, "charge_overhead": False,
           "end_seconds": 2.0, "strategy_done": False}  # fmt: skip
    t = trajectory_from_rows(rows, bench, run)
    np.testing.assert_array_equal(t.incumbent, [3, 5])
    np.testing.assert_allclose(t.incumbent_test, [0.9, 0.93])
    np.testing.assert_allclose(t.regret, [0.05, 0.02])
