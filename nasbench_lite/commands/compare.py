"""`nasbench-lite compare`: strategies x seeds on one budget, a ranking and a report."""

from __future__ import annotations

import argparse
import sys

from nasbench_lite.text import plural


def cmd_compare_tasks(config, args: argparse.Namespace) -> int:
    """`compare --tasks`: the same comparison on every task, per-task and aggregate ranks."""
    import dataclasses

    from nasbench_lite.compare.suite import compare_tasks, suite_lines
    from nasbench_lite.errors import InputError, Interrupted

    if args.table is not None:
        raise InputError("--table and --tasks exclude each other: name the tables as --tasks")
    try:
        result = compare_tasks(dataclasses.replace(config, table=None), args.tasks)
    except Interrupted as stop:
        print(f"nasbench-lite compare: interrupted after {stop.done:,} of "
              f"{plural(stop.total, 'run')} of one task", file=sys.stderr)  # fmt: skip
        return 130
    print("\n".join(suite_lines(result)))
    if result.report is not None:
        print(f"report: {result.report}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Run (or, with --report-only DIR, rebuild the report of an earlier run), print the
    ranking and where the report is. Ctrl-C stops the worker processes at once and keeps
    the finished runs in results.csv (exit code 130)."""
    from nasbench_lite.compare.config import CompareConfig
    from nasbench_lite.compare.run import compare, ranking_lines, rebuild
    from nasbench_lite.errors import Interrupted

    if args.report_only:
        result = rebuild(args.report_only)
    else:
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
            model=args.model,
            data_dir=args.data_dir,
            charge_overhead=args.charge_overhead,
            progress=not args.no_progress,
            force=args.force,
            tolerance=args.tolerance,
        )
        if args.tasks:
            return cmd_compare_tasks(config, args)
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
    if result.restriction:
        print(result.restriction)
    print("\n".join(ranking_lines(result)))
    print(f"report: {result.report}")
    return 0
