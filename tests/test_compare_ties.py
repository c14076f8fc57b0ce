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

STRATEGIES = ("random_search", "regularized_evolution", "local_search")


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
    for frame, tol in ((loose.summary, loose.tolerance), (exact.summary, 0.0)):
        found = frame.set_index("strategy")["found_best"]
        for name in STRATEGIES:
            assert found[name] == pytest.approx(np.mean(regret[name] <= tol))
    assert loose.tolerance > 0 and exact.tolerance == 0
    assert (loose.summary["found_best"] >= exact.summary["found_best"]).all()
    setup = json.loads((tmp_path / "loose" / "setup.json").read_text())
    assert setup["tolerance"] == pytest.approx(loose.tolerance)
    report = (tmp_path / "loose" / "report.md").read_text()
    assert "| ties | final regrets within" in report
    rebuilt = rebuild(tmp_path / "loose")
    assert rebuilt.tolerance == pytest.approx(loose.tolerance)
    assert rebuilt.summary.equals(loose.summary)
