"""Strategy comparison: strategies x seeds on one backend and one budget, then statistics,
plots and a report (the protocol of NAS-Bench-101, Ying et al. 2019, and of Lindauer &
Hutter's NAS best-practice checklist).

Fair by construction: every (strategy, seed) run gets the same backend, the same budget, the
same number of simulated workers and the same seed list; seed s seeds the run's strategy and
benchmark-noise generators identically for every strategy. Runs execute in spawned worker
processes, each of which opens the table once and runs many runs; results do not depend on
the number of processes. Ctrl-C stops the processes at once and keeps the finished runs.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from nasbench_lite.compare.config import BASELINE, CompareConfig, Plan, resolve
from nasbench_lite.compare.objectives import check_backend, live_reference_note
from nasbench_lite.compare.results import TIMINGS_FILE, read_results, remove_outputs, write_results
from nasbench_lite.compare.workers import Worker, choose_jobs, run_tasks
from nasbench_lite.errors import InputError, Interrupted, MissingFileError
from nasbench_lite.outputs import failed_writes
from nasbench_lite.search.budget import Budget

logger = logging.getLogger(__name__)


@dataclass
class CompareResult:
    """results: the ``results.csv`` frame (rows in strategy, then seed order); summary: one
    row per strategy (see `stats.summarise`); files: everything written into out_dir;
    restriction: for a table holding only some classes, the sentence saying what the search
    was restricted to (None for a complete table); skipped: registered strategies left out
    because they failed to load, name -> reason; external: compared strategies registered by
    other packages, name -> "distribution version". A report rebuilt from results.csv alone
    (`rebuild`) has budget None when the folder lacks setup.json, and wall_seconds 0."""

    results: pd.DataFrame
    summary: pd.DataFrame
    strategies: list[str]
    seeds: list[int]
    budget: Budget | None
    budget_rule: str
    wall_seconds: float
    restriction: str | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    external: dict[str, str] = field(default_factory=dict)
    out_dir: Path | None = None
    report: Path | None = None
    files: list[Path] = field(default_factory=list)
    tolerance: float = 0.0
    objectives: Any = None  # the `compare.objectives.ObjectivePlan`, None: accuracy alone
    tolerance_rule: str = ""  # where the tolerance comes from, in words
    coverage: Any = None  # the backend's `Coverage` of the table (None: not known)


def command_line(config: CompareConfig, plan: Plan, jobs: int) -> str:
    """The CLI command that repeats this comparison, with every option explicit."""
    parts = ["nasbench-lite", "compare", "--backend", plan.backend]
    if plan.path is not None:
        from nasbench_lite.compare.report import shown_path

        parts += ["--table", shown_path(plan.path)]
    parts += ["--strategies", *plan.labels, "--seeds", str(plan.seeds)]
    parts += ["--budget", str(plan.budget), "--workers", str(plan.workers)]
    for option in plan.entry.options:
        parts += [f"--{option}", str(plan.option(option))]
    if plan.data_dir is not None:
        parts += ["--data-dir", plan.data_dir]
    if plan.charge_overhead:
        parts.append("--charge-overhead")
    if plan.objectives is not None:
        parts += ["--objectives", *map(str, plan.objectives.objectives)]
        if plan.objectives.constraints:
            parts += ["--constraint", *map(str, plan.objectives.constraints)]
    if plan.sources is not None:
        parts += ["--sources", *_source_paths(config)]
    parts += ["--jobs", str(jobs), "--out", str(config.out)]
    return shlex.join(parts)


def _source_paths(config: CompareConfig) -> list[str]:
    """The --sources arguments repeating config.sources: a (label, path) pair by its label
    where that names the same table (a suite task's name, as `compare --tasks` gives them:
    the label is what results.csv and a resume compare), else by its table's path."""
    from nasbench_lite.compare.report import shown_path
    from nasbench_lite.table.shipped import TASK_TABLES, suite_table_path

    def argument(source: Any) -> str:
        if not isinstance(source, tuple):
            return str(source)
        label, path = source
        try:
            if label in TASK_TABLES and suite_table_path(label).resolve() == Path(path).resolve():
                return str(label)
        except InputError:  # the task's shipped table is not there: the path says it
            pass
        return shown_path(str(path))

    return [argument(s) for s in config.sources or ()]


def compare(config: CompareConfig) -> CompareResult:
    """Run the comparison described by `config`; write results.csv, report.md, the plots and
    setup.json (what `rebuild` needs) into config.out (unless it is None). Each run is kept
    in config.out as it finishes (`compare.journal`); with config.resume the runs kept there
    are not run again.

    Ctrl-C raises `Interrupted` (done, total: finished and planned runs; saved: the
    results.csv of the finished runs, None when none had finished or out is None).

    Raises InputError (a ValueError) naming a bad input (unknown strategy or backend,
    bad seeds, budget or table; an out folder that cannot be written; a resumed comparison
    whose settings differ from those recorded), MissingExtra when the backend's optional
    dependencies are missing, RuntimeError when called by a worker process re-running a
    script that lacks a main guard (see `nasbench_lite.compare.workers`).
    """
    from nasbench_lite.compare.workers import check_not_bootstrapping

    check_not_bootstrapping("nasbench_lite.compare.run.compare()")
    started = time.perf_counter()
    plan, table = resolve(config)
    tasks = len(plan.strategies) * plan.seeds
    jobs = choose_jobs(config.jobs, plan.entry, tasks)
    # Built here even when processes will run the tasks: a backend that cannot be built
    # fails with its own error before any process starts.
    local = Worker(plan, table)
    check_backend(plan.objectives, local.benchmark, table, plan.backend)
    # What regret is measured against, when the backend says (the surrogate's may be its
    # own prediction); the report prints it.
    live_note = live_reference_note(plan.backend, table)
    if live_note:
        logger.warning("%s: %s", table.source, live_note)
    regret_source = getattr(local.benchmark, "regret_source", None) or live_note
    plan = dataclasses.replace(plan, regret_source=regret_source)
    coverage = getattr(local.benchmark, "coverage", None)
    restriction = None if coverage is None or coverage.complete else coverage.describe()
    if restriction:
        logger.warning("%s: %s", table.source, restriction)
    journal, kept = None, {}
    if config.out is not None:
        from nasbench_lite.compare import journal as runs

        journal, kept = runs.start(Path(config.out), plan, table, config.resume)
        remove_outputs(Path(config.out))  # a report of an earlier run would not describe these
    record = journal.write if journal is not None else None
    try:
        results = run_tasks(plan, jobs, config.progress, local, kept, record)
    except Interrupted as stop:
        if config.out is not None and stop.partial is not None:
            stop.saved = Path(config.out) / "results.csv"
            write_results(stop.partial, Path(config.out))
        raise
    wall = time.perf_counter() - started
    result = CompareResult(
        results=results,
        summary=summarise(results, list(plan.labels), plan.tolerance, plan.objectives),
        strategies=list(plan.labels),
        seeds=list(range(config.seeds)),
        budget=plan.budget,
        budget_rule=plan.budget_rule,
        wall_seconds=wall,
        restriction=restriction,
        skipped=dict(plan.skipped),
        external=dict(plan.external),
        tolerance=plan.tolerance,
        objectives=plan.objectives,
        tolerance_rule=plan.tolerance_rule,
        coverage=coverage,
    )
    if config.out is None:
        return result
    from nasbench_lite.compare import report

    out = Path(config.out)
    csv = out / "results.csv"
    kept = f"every run is kept in {out}; once there is room, --resume {out} writes them"
    with failed_writes(f"the results and report in {out}", kept):
        out.mkdir(parents=True, exist_ok=True)
        write_results(results, out)
        figures = _plots(results, out, plan.budget.seconds, plan.objectives)
        command = command_line(config, plan, jobs)
        setup = report.describe_run(command, plan, table, jobs, wall)
        if plan.objectives is not None:
            from nasbench_lite.compare.pareto_report import objective_rows

            setup.update(objective_rows(plan.objectives))
        saved = report.write_setup(
            out, setup, plan.budget, plan.budget_rule, BASELINE, restriction, plan.tolerance,
            None if plan.objectives is None else plan.objectives.record(),
        )  # fmt: skip
        result.report = _report(
            out, results, setup, figures, BASELINE, restriction, plan.tolerance, plan.objectives
        )
    result.out_dir = out
    result.files = [
        csv,
        out / TIMINGS_FILE,
        result.report,
        saved,
        *(p for paths in figures.values() for p in paths),
    ]
    return result


def rebuild(out: str | os.PathLike) -> CompareResult:
    """Rebuild report.md and the plots in folder `out` from its results.csv (and the run's
    setup from its setup.json, when there is one), without running anything.

    Raises FileNotFoundError when `out` has no results.csv, ValueError when it lacks the
    results columns or rows, or runs (`check_complete`): then nothing is written.
    """
    from nasbench_lite.compare import report
    from nasbench_lite.compare import statistics as stats

    out = Path(out)
    csv = out / "results.csv"
    if not csv.is_file():
        check_complete(out, pd.DataFrame({"strategy": [], "seed": []}))  # an unfinished one
        raise MissingFileError(f"{csv}: no such file; --report-only needs a compare --out folder")
    results = read_results(csv)
    try:
        stats.check_results(results)
    except InputError as err:
        raise InputError(f"{csv}: {err}") from None
    check_complete(out, results)
    saved = report.read_setup(out)
    if saved.get("notice"):
        logger.warning("%s: %s", out, saved["notice"])
    try:
        budget = Budget(**saved["budget"]) if saved.get("budget") else None
    except (TypeError, ValueError) as err:
        where = out / report.SETUP_FILE
        raise InputError(f"{where}: bad budget {saved['budget']!r} ({err})") from None
    objectives = None
    if saved.get("objectives"):
        from nasbench_lite.compare.objectives import ObjectivePlan

        objectives = ObjectivePlan.from_record(saved["objectives"])
    figures = _plots(results, out, budget.seconds if budget else None, objectives)
    setup = {**saved.get("setup", {}), "report": "rebuilt from results.csv (`--report-only`)"}
    strategies = stats.strategy_order(results)
    tolerance = float(saved.get("tolerance", 0.0))  # older folders: exact comparisons
    baseline = saved.get("baseline", BASELINE)
    notice = saved.get("notice")
    path = _report(out, results, setup, figures, baseline, notice, tolerance, objectives)
    return CompareResult(
        objectives=objectives,
        results=results,
        summary=summarise(results, strategies, tolerance, objectives),
        strategies=strategies,
        seeds=sorted(int(s) for s in results["seed"].unique()),
        budget=budget,
        budget_rule=saved.get("budget_rule", "unknown: setup.json missing"),
        wall_seconds=0.0,
        restriction=saved.get("notice"),
        out_dir=out,
        report=path,
        files=[path, *(p for paths in figures.values() for p in paths)],
        tolerance=tolerance,
    )


def summarise(results: pd.DataFrame, strategies: list[str], tolerance: float, objectives: Any):
    """The per-strategy summary (`statistics.summarise`): of final HV regret for several
    objectives (exact), else of final regret."""
    from nasbench_lite.compare import statistics as stats

    if objectives is not None and objectives.multi:
        return stats.summarise(results, strategies, 0.0, column="hv_regret")
    return stats.summarise(results, strategies, tolerance)


def _plots(results: pd.DataFrame, out: Path, seconds: float | None, objectives: Any) -> dict:
    if objectives is not None and objectives.multi:
        from nasbench_lite.compare.pareto_plots import plot_pareto

        return plot_pareto(results, out, objectives, seconds)
    from nasbench_lite.compare import plots

    return plots.plot_all(results, out, seconds)


def _report(out, results, setup, figures, baseline, notice, tolerance, objectives) -> Path:
    from nasbench_lite.compare import report

    if objectives is not None and objectives.multi:
        from nasbench_lite.compare.pareto_report import write_pareto_report

        return write_pareto_report(out, results, setup, figures, objectives, baseline)
    return report.write_report(out, results, setup, figures, baseline, notice, tolerance)


def check_complete(out: Path, results: pd.DataFrame, shown: int = 4) -> None:
    """InputError when `results` (the results.csv of folder `out`) lacks runs of its
    comparison (`journal.missing_runs`): how many, the first few, and how to continue."""
    from nasbench_lite.compare.journal import missing_runs
    from nasbench_lite.text import plural

    present = set(zip(results["strategy"].astype(str), results["seed"].astype(int), strict=True))
    missing = missing_runs(out, present)
    if missing:
        names = ", ".join(f"{s} seed {seed}" for s, seed in missing[:shown])
        more = ", ..." if len(missing) > shown else ""
        raise InputError(
            f"{out} is an unfinished comparison: {plural(len(missing), 'run')} missing "
            f"({names}{more}); a report would compare strategies on unequal seeds. "
            f"Continue it with `nasbench-lite compare --resume {out}` and the options it was "
            f"started with"
        )


def ranking_lines(result: CompareResult) -> list[str]:
    """The console summary: budget, what the table is sorted by, the units, one line per
    strategy."""
    from nasbench_lite.text import plural

    shown = result.summary.sort_values(["avg_rank", "regret_mean"], kind="stable")
    budget = "unknown" if result.budget is None else str(result.budget)
    runs = f"{plural(len(result.strategies), 'strategy')} x {plural(len(result.seeds), 'seed')}"
    lines = [f"budget: {budget} ({result.budget_rule}); {runs}"]
    if result.objectives is not None and result.objectives.multi:
        from nasbench_lite.compare.pareto_report import hv_ranking_lines

        objectives = " ".join(map(str, result.objectives.objectives))
        return [*lines, f"objectives: {objectives}", *hv_ranking_lines(result.summary)]
    lines.append(
        "sorted by average rank over seeds (1 = best); final regret = best test accuracy "
        "minus the incumbent's, in percentage points (pp), mean ± standard error over seeds"
    )
    if result.tolerance > 0:
        lines.append(
            f"ties: two final regrets within {100 * result.tolerance:.2f} pp of each other (the "
            "table's noise floor, or --tolerance) tie, pair by pair"
        )
    width = max(24, *(len(str(s)) for s in shown["strategy"]))
    lines.append(f"{'strategy':<{width}} {'final regret (pp)':>20} {'avg rank':>9}")
    for row in shown.itertuples(index=False):
        regret = f"{100 * row.regret_mean:.3f} ± {100 * row.regret_sem:.3f}"
        lines.append(f"{row.strategy:<{width}} {regret:>20} {row.avg_rank:>9.2f}")
    return lines
