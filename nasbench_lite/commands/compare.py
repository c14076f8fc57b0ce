"""`nasbench-lite compare`: strategies x seeds on one budget, a ranking and a report."""

from __future__ import annotations

import argparse
import sys

from nasbench_lite.text import plural


def cmd_compare(args: argparse.Namespace) -> int:
    """Run, print the ranking and where the report is. Ctrl-C stops the worker processes at
    once and keeps the finished runs in results.csv (exit code 130)."""
    from nasbench_lite.compare import CompareConfig, compare
    from nasbench_lite.errors import Interrupted

    config = CompareConfig(
        table=args.table,
        backend=args.backend,
        strategies=tuple(args.strategies) if args.strategies else None,
        seeds=args.seeds,
        budget=args.budget,
        workers=args.workers,
        jobs=args.jobs,
        out=args.out,
        preset=args.preset,
        dataset=args.dataset,
        charge_overhead=args.charge_overhead,
        progress=not args.no_progress,
        force=args.force,
    )
    try:
        result = compare(config)
    except Interrupted as stop:
        kept = (
            f"kept the finished ones in {stop.saved} (no report or plots)"
            if stop.saved
            else "nothing was written"
        )
        print(
            f"nasbench-lite compare: interrupted after {stop.done:,} of "
            f"{plural(stop.total, 'run')}; {kept}",
            file=sys.stderr,
        )
        return 130
    shown = result.summary.sort_values("avg_rank", kind="stable")
    if result.restriction:
        print(result.restriction)
    runs = f"{plural(len(result.strategies), 'strategy')} x {plural(len(result.seeds), 'seed')}"
    print(f"budget: {result.budget} ({result.budget_rule}); {runs}")
    print(f"{'strategy':<24} {'final regret (pp)':>20} {'avg rank':>9}")
    for row in shown.itertuples(index=False):
        regret = f"{100 * row.regret_mean:.3f} ± {100 * row.regret_sem:.3f}"
        print(f"{row.strategy:<24} {regret:>20} {row.avg_rank:>9.2f}")
    print(f"report: {result.report}")
    return 0
