"""Syne Tune's MOASHA against our multi-objective strategies, on one table and objective pair.

    python benchmarks/moasha_compare.py [--table FILE] [--objectives OBJ ...] [--seeds N]
        [--jobs N] [--out DIR]

Syne Tune's MOASHA (`adapters.synetune_moasha.moasha`: Syne Tune's defaults, reduction factor
3, grace period 1, one bracket, non-dominated sorting with an epsilon-net) runs through the
Syne Tune adapter's simulator (`adapters.synetune.simulate`, one worker, seeds 0..N-1) to
the simulated-seconds budget a default `nasbench-lite compare --objectives ...` uses
(`compare.config.default_budget`: 100 x the table's median train_seconds). Our
random_search and mo_regularized_evolution run through `compare` with the same objectives,
seeds and budget. MOASHA's rows come from `synetune_moasha.to_mo_results`: a cell counts
(joins the attained front, is one evaluation) only when a trial of it reached the table's
final epoch, at its seed-mean objective values, as our full-fidelity runs' cells do.
synetune_moasha is Syne Tune's MOASHA as it ships; synetune_moasha_ranked ranks each result
at a rung by its own place in the non-dominated order (`moasha(..., ranked=True)`: Syne Tune
0.16's priority ranks a new result by the index of the result sorted last).

Prints one row per strategy: final HV regret mean +- standard error over seeds, median, mean
final HV, average rank over seeds, mean evaluations; writes DIR/results.csv if --out.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasbench_lite.adapters import synetune  # noqa: E402
from nasbench_lite.adapters import synetune_moasha as sm  # noqa: E402
from nasbench_lite.compare import CompareConfig, compare  # noqa: E402
from nasbench_lite.compare import statistics as stats  # noqa: E402
from nasbench_lite.compare.config import default_budget  # noqa: E402
from nasbench_lite.compare.objectives import resolve_objectives  # noqa: E402
from nasbench_lite.table.reader import Table  # noqa: E402

OURS = ("random_search", "mo_regularized_evolution")
THEIRS = {"synetune_moasha": False, "synetune_moasha_ranked": True}  # label: ranked


def theirs(table, objectives, seeds: int, budget: float) -> pd.DataFrame:
    """Syne Tune's MOASHA, as it ships and ranked (`synetune_moasha.moasha`), over `seeds` runs
    to `budget` simulated seconds, as our rows."""
    blackbox = synetune.to_blackbox(table)
    plan = resolve_objectives(objectives, (), table)
    rows = []
    for label, ranked in THEIRS.items():
        for seed in range(seeds):
            scheduler = sm.moasha(blackbox, objectives, seed=seed, ranked=ranked)
            frame = synetune.simulate(blackbox, scheduler, budget, seed=seed)
            rows.append(sm.to_mo_results(frame, table, objectives, label, seed, budget, plan))
    return pd.concat(rows, ignore_index=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", default=str(ROOT / "data" / "nb201_mnist1d_cpu.h5"))
    parser.add_argument("--objectives", nargs="+", default=["valid_acc:max", "params:min"])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=1, help="processes for our runs")
    parser.add_argument("--out", default=None, help="folder for results.csv")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    table = Table.open(args.table)
    objectives = tuple(args.objectives)
    budget, rule = default_budget(table)
    moasha = theirs(table, objectives, args.seeds, budget.seconds)
    result = compare(CompareConfig(table=args.table, strategies=OURS, seeds=args.seeds,
                                   jobs=args.jobs, out=None, objectives=objectives))  # fmt: skip
    assert result.budget is not None and result.budget.seconds == budget.seconds
    ours = result.results
    results = pd.concat([ours[[c for c in moasha.columns if c in ours]], moasha],
                        ignore_index=True)  # fmt: skip
    order = [*OURS, *THEIRS]
    summary = stats.summarise(results, order, 0.0, column="hv_regret").set_index("strategy")
    last = stats.final_rows(results).set_index(["strategy", "seed"])
    wall = time.perf_counter() - started

    print(f"table {args.table}, objectives {' '.join(objectives)}, {args.seeds} seeds, "
          f"budget {budget.seconds:g} simulated seconds ({rule})")  # fmt: skip
    print(f"{'strategy':26} {'final HV regret':>20} {'median':>8} {'final HV':>9} "
          f"{'avg rank':>9} {'evals':>7}")  # fmt: skip
    for name in order:
        row, runs = summary.loc[name], last.loc[name]
        print(f"{name:26} {row.regret_mean:11.4f} +- {row.regret_sem:6.4f} "
              f"{row.regret_median:8.4f} {float(np.mean(runs['hv'])):9.4f} "
              f"{row.avg_rank:9.2f} {row.evals_mean:7.1f}")  # fmt: skip
    print(f"wall {wall:.1f} s")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        results.to_csv(out / "results.csv", index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
