"""`nasbench-lite compare`: strategies x seeds on one budget, a ranking and a report."""

from __future__ import annotations

import argparse
import shlex
import sys

from nasbench_lite.text import plural


def resume_command(argv: list[str], out: str) -> str:
    """The command that continues the comparison `argv` started in `out`: the same options,
    with `--resume OUT` in place of `--out OUT` (and of `--force`)."""
    words, given = [], iter(argv)
    for word in given:
        if word in ("--out", "--resume"):
            next(given, None)
        elif not word.startswith(("--out=", "--resume=")) and word != "--force":
            words.append(word)
    return shlex.join(["nasbench-lite", *words, "--resume", out])


def interrupted_line(stop: KeyboardInterrupt, argv: list[str], out: str) -> str:
    """The one line a Ctrl-C prints: what was kept, and the command that continues."""
    from nasbench_lite.errors import Interrupted

    if isinstance(stop, Interrupted) and stop.task is not None:
        finished = f"tasks {', '.join(stop.tasks_done)} finished; " if stop.tasks_done else ""
        kept = f"{stop.done:,} of its {plural(stop.total, 'run')} finished"
        what = f"interrupted in task {stop.task} ({kept}); {finished}kept in {out}"
    elif isinstance(stop, Interrupted):
        kept = (
            f"kept the finished ones in {out} (no report or plots yet)"
            if stop.done
            else "none had finished"
        )
        what = f"interrupted after {stop.done:,} of {plural(stop.total, 'run')}; {kept}"
    else:  # before the first run started, or while the report was written
        what = f"interrupted; any runs that had finished are kept in {out}"
    return f"nasbench-lite compare: {what}; resume with: {resume_command(argv, out)}"


def cmd_compare(args: argparse.Namespace) -> int:
    """Run (or, with --report-only DIR, rebuild the report of an earlier run), print the
    ranking and where the report is. Ctrl-C stops the worker processes at once and keeps
    the finished runs (exit code 130); --resume DIR continues."""
    from nasbench_lite.compare.run import ranking_lines, rebuild
    from nasbench_lite.errors import RunFailed, WriteFailedError

    if args.report_only:
        _check_report_only(args.argv)
        result = rebuild(args.report_only)
    else:
        out = args.resume or args.out
        if args.tasks:
            return cmd_compare_tasks(args, out)
        try:
            result = _compare(args, out)
        except KeyboardInterrupt as stop:
            print(interrupted_line(stop, args.argv, out), file=sys.stderr)
            return 130
        except (WriteFailedError, RunFailed) as err:  # the finished runs are kept
            resume = resume_command(args.argv, out) if out else None
            more = f"; the finished runs are kept, resume with: {resume}" if resume else ""
            print(f"nasbench-lite compare: error: {err}{more}", file=sys.stderr)
            return 2
    print("\n".join(ranking_lines(result)))
    print(f"report: {result.report}")
    return 0


def _check_report_only(argv: list[str]) -> None:
    """--report-only rebuilds a report as its run made it: any option that would shape a run
    (and would be ignored) is refused, naming it."""
    from nasbench_lite.errors import InputError

    words = argv[argv.index("compare") + 1 :] if "compare" in argv else argv
    given = {word.split("=", 1)[0] for word in words if word.startswith("-")}
    ignored = sorted(given - {"--report-only", "--no-progress", "-v", "--verbose"})
    if ignored:
        raise InputError(
            f"{', '.join(ignored)}: --report-only rebuilds the report from the folder's "
            "results.csv and setup.json as the run made them; it takes no run options"
        )


def cmd_compare_tasks(args: argparse.Namespace, out: str) -> int:
    """`compare --tasks`: the same comparison on every task (each into OUT/TASK), per-task
    and aggregate ranks."""
    from nasbench_lite.compare.suite import compare_tasks, suite_lines
    from nasbench_lite.errors import InputError

    if args.table is not None:
        raise InputError("--table and --tasks exclude each other: name the tables as --tasks")
    try:
        result = compare_tasks(_config(args, out), args.tasks)
    except KeyboardInterrupt as stop:
        print(interrupted_line(stop, args.argv, out), file=sys.stderr)
        return 130
    print("\n".join(suite_lines(result)))
    if result.report is not None:
        print(f"report: {result.report}")
    return 0


def _compare(args: argparse.Namespace, out: str):
    from nasbench_lite.compare.run import compare

    return compare(_config(args, out))


def _config(args: argparse.Namespace, out: str):
    from nasbench_lite.compare.config import CompareConfig

    return CompareConfig(
        table=args.table,
        backend=args.backend,
        strategies=tuple(args.strategies) if args.strategies else None,
        seeds=args.seeds,
        budget=args.budget,
        workers=args.workers,
        jobs=args.jobs,
        out=out,
        preset=args.preset,
        dataset=args.dataset,
        model=args.model,
        data_dir=args.data_dir,
        charge_overhead=args.charge_overhead,
        progress=not args.no_progress,
        force=args.force,
        tolerance=args.tolerance,
        resume=bool(args.resume),
        objectives=tuple(args.objectives) if args.objectives else None,
        constraints=tuple(args.constraint),
        sources=tuple(args.sources) if args.sources else None,
    )
