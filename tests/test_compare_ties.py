"""The comparison's tie tolerance: the table's noise floor by default, recorded for a rebuilt
report, and what it changes (found best, ranks) against exact comparisons."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nasbench_lite.compare import CompareConfig, compare
from nasbench_lite.compare.config import resolve_tolerance
from nasbench_lite.compare.run import rebuild
from nasbench_lite.table.noise import noise_floor
from nasbench_lite.table.synthetic import synthetic_table

# Evolution at a population below the budget (its default 50 would be random search here).
STRATEGIES = ("random_search", "regularized_evolution[population_size=8, tournament_size=3]",
              "local_search")  # fmt: skip


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("ties") / "t.h5"
    synthetic_table(path, epochs=2)
    return path


def run(table, out, tolerance=None):
    config = CompareConfig(table=str(table), strategies=STRATEGIES, seeds=6, budget="30evals",
                           jobs=1, out=out, tolerance=tolerance)  # fmt: skip
    return compare(config)


def test_default_tolerance_is_the_tables_resolution(table):
    from nasbench_lite.table import Table

    opened = Table.open(table)
    tolerance, rule = resolve_tolerance(None, opened)
    assert tolerance == pytest.approx(noise_floor(opened)["resolution"]) and tolerance > 0
    assert "noise floor" in rule
    assert resolve_tolerance(0.0, opened) == (0.0, "exact: no tolerance (given as 0)")
    one_seed = synthetic_table(seeds=1, epochs=2)
    assert resolve_tolerance(None, one_seed) == (
        0.0,
        "exact: the table cannot state a noise floor (1 seed: no seed-to-seed spread)",
    )
    few = synthetic_table(rows=40, done=3, epochs=2)  # 3 seeds, 3 classes trained
    assert "fewer than 4 classes" in resolve_tolerance(None, few)[1]
    for bad in (-0.01, 2.0, float("nan"), "1", True):
        with pytest.raises(ValueError, match="tolerance"):
            resolve_tolerance(bad, opened)


def test_found_best_and_ranks_follow_the_tolerance_and_survive_a_rebuild(table, tmp_path):
    loose = run(table, tmp_path / "loose")
    exact = run(table, tmp_path / "exact", tolerance=0.0)
    # The same runs (up to the measured strategy seconds): only the reading differs.
    measured = ["strategy_seconds", "source_seconds"]
    assert loose.results.drop(columns=measured).equals(exact.results.drop(columns=measured))
    regret = exact.results.groupby(["strategy", "seed"]).tail(1).pivot(
        index="seed", columns="strategy", values="regret")  # fmt: skip
    # A tolerance between the final regrets, so that it ties some and not others.
    tol = float(np.median(regret.to_numpy()))
    middle = run(table, tmp_path / "middle", tolerance=tol)
    for frame, t in ((loose.summary, loose.tolerance), (exact.summary, 0.0),
                     (middle.summary, tol)):  # fmt: skip
        by = frame.set_index("strategy")
        for name in STRATEGIES:
            assert by.loc[name, "found_best"] == pytest.approx(np.mean(regret[name] <= t))
        # Ranks pair by pair, by hand: 1 + the regrets more than t below + half the others
        # within t, averaged over seeds.
        values = regret[list(STRATEGIES)].to_numpy()
        ranks = [[1 + sum(v - w > t for w in row) + (sum(abs(v - w) <= t for w in row) - 1) / 2
                  for v in row] for row in values]  # fmt: skip
        assert by.loc[list(STRATEGIES), "avg_rank"].to_numpy() == pytest.approx(
            np.mean(ranks, axis=0)
        )
    assert 0 < middle.summary["found_best"].mean() < 1
    ordered = [f.set_index("strategy").loc[list(STRATEGIES), "avg_rank"].to_numpy()
               for f in (middle.summary, exact.summary)]  # fmt: skip
    assert not np.allclose(*ordered)  # the tolerance changed the ranks
    assert loose.tolerance > 0 and exact.tolerance == 0
    assert (loose.summary["found_best"] >= exact.summary["found_best"]).all()
    setup = json.loads((tmp_path / "loose" / "setup.json").read_text())
    assert setup["tolerance"] == pytest.approx(loose.tolerance)
    report = (tmp_path / "loose" / "report.md").read_text()
    assert "| ties | final regrets within" in report
    rebuilt = rebuild(tmp_path / "loose")
    assert rebuilt.tolerance == pytest.approx(loose.tolerance)
    assert rebuilt.summary.equals(loose.summary)
