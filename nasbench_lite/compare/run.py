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

import logging
import os
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasbench_lite.backends.base import backend_entry
from nasbench_lite.compare.workers import Worker, choose_jobs, run_tasks
from nasbench_lite.errors import InputError, Interrupted, MissingFileError, OutputExistsError
from nasbench_lite.search.protocol import available_strategies, from_other_packages, get_strategy
from nasbench_lite.search.runner import RESULT_COLUMNS, Budget
from nasbench_lite.table.shipped import (  # noqa: F401  (re-exported: where compare finds its table)
    TABLE_ENV,
    TABLE_NAMES,
    default_table_path,
    table_is_complete,
)

DEFAULT_SEEDS = 25
# Default budget: the simulated time one worker needs to train this many cells of median
# training time (JAHS-Bench-201 normalises its runtime axis to ~100 evaluations the same way).
DEFAULT_BUDGET_CELLS = 100
BASELINE = "random_search"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompareConfig:
    """One comparison (the CLI options, as a frozen record; vary with dataclasses.replace).

    table: file path or in-memory `Table` (None: `default_table_path`); it answers tabular
        queries and is the regret reference of live runs.
    backend: a registered backend name (`nasbench_lite.backends.base.BACKENDS`).
    strategies: registered names or strategy classes (None: every registered one that
        loads; one that fails to load is skipped with a warning).
    seeds: runs per strategy, with seeds 0..seeds-1.
    budget: "SECONDS" or "Nevals" (None: the backend's default, e.g. "10evals" for live,
        else `default_budget`).
    workers: simulated concurrent evaluations inside each run.
    jobs: processes running the runs (None: CPU cores, 1 for a backend that trains); never
        changes results.
    out: output folder (None: write nothing). It must be new, empty or written by an
        earlier comparison (its results.csv), unless `force`.
    preset, dataset: trainer preset and dataset of live runs (None: the table's).
    model: the saved surrogate of surrogate runs (a directory written by `Surrogate.save`);
        the table is then the regret reference (it must match the model's space, dataset
        and config).
    charge_overhead: add the strategies' measured ask/tell time to the simulated clock
        (runs are then no longer bit-for-bit reproducible).
    progress: a progress bar on stderr.
    force: write into `out` even when it holds files a comparison did not write.
    """

    table: Any = None
    backend: str = "tabular"
    strategies: tuple[Any, ...] | None = None
    seeds: int = DEFAULT_SEEDS
    budget: str | None = None
    workers: int = 1
    jobs: int | None = None
    out: str | os.PathLike | None = "compare_out"
    preset: str | None = None
    dataset: str | None = None
    model: str | os.PathLike | None = None
    charge_overhead: bool = False
    progress: bool = False
    force: bool = False


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


def default_budget(table: Any) -> tuple[Budget, str]:
    """DEFAULT_BUDGET_CELLS x the median measured train_seconds over the table's trained
    (row, seed) pairs, rounded to whole simulated seconds; returns (budget, rule in words)."""
    seconds = np.asarray(table.metric("train_seconds"), dtype=np.float64)[table.done]
    median = float(np.nanmedian(seconds))
    total = max(1.0, float(round(DEFAULT_BUDGET_CELLS * median)))
    rule = (
        f"default: {DEFAULT_BUDGET_CELLS} x the table's median train_seconds "
        f"({median:.4g} s) = {total:g} simulated seconds"
    )
    return Budget(seconds=total), rule


def strategy_label(strategy: Any) -> str:
    """The name a strategy is reported under: its registry name, or a class's `name`."""
    return strategy if isinstance(strategy, str) else get_strategy(strategy).name


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _resolve(config: CompareConfig) -> tuple[dict[str, Any], Any, str]:
    """Validate `config`; returns the worker spec, the opened table (or None), budget rule."""
    from nasbench_lite.table.reader import Table

    entry = backend_entry(config.backend)  # raises, naming the registered backends
    _check_int("seeds", config.seeds, 1)
    _check_int("workers", config.workers, 1)
    if config.jobs is not None:
        _check_int("jobs", config.jobs, 1)
    names, skipped = _strategies(config.strategies)
    labels = [strategy_label(s) for s in names]
    if len(set(labels)) != len(labels):
        raise InputError(f"strategies must be distinct, got {labels}")
    if config.out is not None:
        check_out_dir(config.out, config.force)

    # Every backend gets the table: it answers lookups, and it is the reference for regret
    # (the space's best cell) of backends that do not look up.
    table = default_table_path() if config.table is None else config.table
    opened = table if isinstance(table, Table) else Table.open(table)
    if config.budget is not None:
        budget, rule = Budget.parse(config.budget), "given"
    elif entry.default_budget is not None:
        budget = Budget.parse(entry.default_budget)
        rule = f"default of the {config.backend} backend"
    else:
        budget, rule = default_budget(opened)
    partial = bool((opened.raw_to_row < 0).any() or not opened.done.all())
    spec = {
        "backend": config.backend,
        # Workers reopen a complete file themselves (once each). An in-memory table, or a
        # partial one (it may be growing while generation runs), is pickled to them, so every
        # run of the comparison sees the same classes.
        "table": opened if partial or isinstance(table, Table) else str(table),
        "path": None if isinstance(table, Table) else str(table),
        "preset": config.preset or opened.attrs.get("preset") or "tiny",
        "dataset": config.dataset or opened.attrs.get("dataset") or "mnist1d",
        "model": None if config.model is None else str(config.model),
        "strategies": names,
        "labels": labels,
        "skipped": skipped,
        "external": from_other_packages([s for s in names if isinstance(s, str)]),
        "budget": budget,
        "workers": int(config.workers),
        "charge_overhead": bool(config.charge_overhead),
    }
    if "model" in entry.options and spec["model"] is None:
        from nasbench_lite.table.shipped import default_model_path

        spec["model"] = str(default_model_path())  # the shipped one, or an error naming it
    if "preset" in entry.options:
        from nasbench_lite.train.trainer import PRESETS

        if spec["preset"] not in PRESETS:
            raise InputError(
                f"unknown trainer preset {spec['preset']!r}; available: {', '.join(PRESETS)}"
            )
    return spec, opened, rule


def _strategies(chosen: tuple[Any, ...] | None) -> tuple[list[Any], dict[str, str]]:
    """The strategies to compare and the registered ones skipped (name -> why).

    None: every registered one that loads, except those whose class sets
    ``in_default_comparison = False`` (e.g. ones that train a supernet on live data);
    ["all"]: every registered one that loads. A chosen one that fails raises.
    """
    everything = chosen is not None and list(chosen) == ["all"]
    if chosen is not None and not everything:
        names = list(chosen)
        for name in names:
            try:
                get_strategy(name)  # raises, naming an unknown strategy and the registered ones
            except TypeError as err:
                if not isinstance(name, str):
                    raise
                raise InputError(str(err)) from err  # a registered plugin that is no strategy
        if not names:
            raise InputError("no strategies to compare (an empty list was given)")
        return names, {}
    names, skipped = [], {}
    for name in available_strategies():
        try:
            cls = get_strategy(name)
        except (ValueError, TypeError) as err:
            logger.warning("skipping strategy %r: %s", name, err)
            skipped[name] = str(err)
        else:
            if everything or getattr(cls, "in_default_comparison", True):
                names.append(name)
    if not names:
        raise InputError(
            "no strategies to compare (none given and none registered"
            + (f" that loads; skipped: {', '.join(skipped)})" if skipped else ")")
        )
    return names, skipped


def written_by_compare(path: str | os.PathLike) -> bool:
    """Whether directory `path` holds a comparison's results.csv (its header row starts with
    RESULT_COLUMNS; the incumbent columns follow)."""
    csv = Path(path) / "results.csv"
    try:
        with open(csv, encoding="utf-8") as f:
            return f.readline().strip().split(",")[: len(RESULT_COLUMNS)] == list(RESULT_COLUMNS)
    except (OSError, UnicodeDecodeError):
        return False


def check_out_dir(out: str | os.PathLike, force: bool = False) -> Path:
    """`out` as a Path if a comparison may write into it: a new or empty directory, or one an
    earlier comparison wrote (any directory with `force`). Raises InputError for an empty
    path, OutputExistsError for a file or a directory of other files."""
    if not str(out).strip():
        raise InputError("out directory is an empty string; name a directory")
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise OutputExistsError(f"out directory {out}: a file of that name exists")
    if path.is_dir() and not force and any(path.iterdir()) and not written_by_compare(path):
        raise OutputExistsError(
            f"out directory {out} is not empty and holds no earlier comparison's results.csv; "
            "choose a new directory or pass --force to write into it anyway"
        )
    return path


def _remove_outputs(out: Path) -> None:
    """Delete the files a comparison writes into `out` (results, report, plots, setup)."""
    from nasbench_lite.compare.plots import PLOT_NAMES
    from nasbench_lite.compare.report import SETUP_FILE

    names = ["results.csv", TIMINGS_FILE, "report.md", SETUP_FILE]
    names += [f"{name}.{ext}" for name in PLOT_NAMES for ext in ("png", "svg")]
    for name in names:
        (out / name).unlink(missing_ok=True)


def command_line(config: CompareConfig, spec: dict[str, Any], jobs: int) -> str:
    """The CLI command that repeats this comparison, with every option explicit."""
    parts = ["nasbench-lite", "compare", "--backend", spec["backend"]]
    if spec["path"] is not None:
        from nasbench_lite.compare.report import shown_path

        parts += ["--table", shown_path(spec["path"])]
    parts += ["--strategies", *spec["labels"], "--seeds", str(config.seeds)]
    parts += ["--budget", str(spec["budget"]), "--workers", str(spec["workers"])]
    for option in backend_entry(spec["backend"]).options:
        parts += [f"--{option}", str(spec[option])]
    if spec["charge_overhead"]:
        parts.append("--charge-overhead")
    parts += ["--jobs", str(jobs), "--out", str(config.out)]
    return shlex.join(parts)


def compare(config: CompareConfig) -> CompareResult:
    """Run the comparison described by `config`; write results.csv, report.md, the plots and
    setup.json (what `rebuild` needs) into config.out (unless it is None).

    Raises InputError (a ValueError) naming a bad input (unknown strategy or backend,
    bad seeds, budget or table), MissingExtra when the backend's optional dependencies are
    missing, RuntimeError when called by a worker process re-running a script that lacks a
    main guard (see `nasbench_lite.compare.workers`).
    """
    from nasbench_lite.compare import statistics as stats
    from nasbench_lite.compare.workers import check_not_bootstrapping

    check_not_bootstrapping("nasbench_lite.compare.run.compare()")
    started = time.perf_counter()
    spec, table, rule = _resolve(config)
    tasks = len(spec["strategies"]) * config.seeds
    jobs = choose_jobs(config.jobs, backend_entry(spec["backend"]), tasks)
    # Built here even when processes will run the tasks: a backend that cannot be built
    # fails with its own error before any process starts.
    local = Worker(spec, table)
    # What regret is measured against, when the backend says (the surrogate's may be its
    # own prediction); the report prints it.
    spec["regret_source"] = getattr(local.benchmark, "regret_source", None)
    coverage = getattr(local.benchmark, "coverage", None)
    restriction = None if coverage is None or coverage.complete else coverage.describe()
    if restriction:
        logger.warning("%s: %s", table.source, restriction)
    try:
        results = run_tasks(spec, config.seeds, jobs, config.progress, local)
    except Interrupted as stop:
        if config.out is not None and stop.partial is not None:
            out = Path(config.out)
            out.mkdir(parents=True, exist_ok=True)
            _remove_outputs(out)  # a report of an earlier run would not describe these runs
            stop.saved = out / "results.csv"
            stop.partial.to_csv(stop.saved, index=False)
        raise
    wall = time.perf_counter() - started
    result = CompareResult(
        results=results,
        summary=stats.summarise(results, spec["labels"]),
        strategies=spec["labels"],
        seeds=list(range(config.seeds)),
        budget=spec["budget"],
        budget_rule=rule,
        wall_seconds=wall,
        restriction=restriction,
        skipped=spec["skipped"],
        external=spec["external"],
    )
    if config.out is None:
        return result
    from nasbench_lite.compare import plots, report

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / "results.csv"
    write_results(results, out)
    figures = plots.plot_all(results, out, spec["budget"].seconds)
    command = command_line(config, spec, jobs)
    setup = report.describe_run(command, spec, table, rule, config.seeds, jobs, wall)
    saved = report.write_setup(out, setup, spec["budget"], rule, BASELINE, restriction)
    result.report = report.write_report(
        out, results, setup, figures, baseline=BASELINE, notice=restriction
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


# Beside results.csv: each run's measured strategy seconds (init/ask/tell), kept apart so
# that results.csv is bit-for-bit reproducible.
TIMINGS_FILE = "strategy_seconds.csv"
MEASURED = "strategy_seconds"


def write_results(results: pd.DataFrame, out: Path) -> None:
    """results.csv (every column but the measured strategy_seconds) and TIMINGS_FILE (per
    run: strategy, seed, evals, strategy_seconds at its last evaluation)."""
    results.drop(columns=[MEASURED], errors="ignore").to_csv(out / "results.csv", index=False)
    if MEASURED in results.columns:
        from nasbench_lite.compare import statistics as stats

        last = stats.final_rows(results)[["strategy", "seed", "evals", MEASURED]]
        last.to_csv(out / TIMINGS_FILE, index=False)


def read_results(path: str | os.PathLike) -> pd.DataFrame:
    """A results.csv written by `compare`, as `compare` returned it: the empty cells of
    incumbent_cell (rows where the incumbent did not change) read back as "", not NaN; with
    the run timings beside it, strategy_seconds on each run's last row (NaN elsewhere)."""
    frame = pd.read_csv(path)
    if "incumbent_cell" in frame.columns:
        frame["incumbent_cell"] = frame["incumbent_cell"].fillna("").astype(str)
    timings = Path(path).parent / TIMINGS_FILE
    if timings.is_file() and len(frame):
        times = pd.read_csv(timings)
        key = ["strategy", "seed", "evals"]
        merged = frame[key].merge(times, on=key, how="left")
        frame[MEASURED] = merged[MEASURED].to_numpy()
    return frame


def rebuild(out: str | os.PathLike) -> CompareResult:
    """Rebuild report.md and the plots in folder `out` from its results.csv (and the run's
    setup from its setup.json, when there is one), without running anything.

    Raises FileNotFoundError when `out` has no results.csv, ValueError when it lacks the
    results columns or rows.
    """
    from nasbench_lite.compare import plots, report
    from nasbench_lite.compare import statistics as stats

    out = Path(out)
    csv = out / "results.csv"
    if not csv.is_file():
        raise MissingFileError(f"{csv}: no such file; --report-only needs a compare --out folder")
    results = read_results(csv)
    stats.check_results(results)
    saved = report.read_setup(out)
    try:
        budget = Budget(**saved["budget"]) if saved.get("budget") else None
    except (TypeError, ValueError) as err:
        where = out / report.SETUP_FILE
        raise InputError(f"{where}: bad budget {saved['budget']!r} ({err})") from None
    figures = plots.plot_all(results, out, budget.seconds if budget else None)
    setup = {**saved.get("setup", {}), "report": "rebuilt from results.csv (`--report-only`)"}
    strategies = stats.strategy_order(results)
    path = report.write_report(
        out,
        results,
        setup,
        figures,
        baseline=saved.get("baseline", BASELINE),
        notice=saved.get("notice"),
    )
    return CompareResult(
        results=results,
        summary=stats.summarise(results, strategies),
        strategies=strategies,
        seeds=sorted(int(s) for s in results["seed"].unique()),
        budget=budget,
        budget_rule=saved.get("budget_rule", "unknown: setup.json missing"),
        wall_seconds=0.0,
        restriction=saved.get("notice"),
        out_dir=out,
        report=path,
        files=[path, *(p for paths in figures.values() for p in paths)],
    )


def ranking_lines(result: CompareResult) -> list[str]:
    """The console summary: budget, what the table is sorted by, the units, one line per
    strategy."""
    from nasbench_lite.text import plural

    shown = result.summary.sort_values(["avg_rank", "regret_mean"], kind="stable")
    budget = "unknown" if result.budget is None else str(result.budget)
    runs = f"{plural(len(result.strategies), 'strategy')} x {plural(len(result.seeds), 'seed')}"
    lines = [f"budget: {budget} ({result.budget_rule}); {runs}"]
    lines.append(
        "sorted by average rank over seeds (1 = best); final regret = best test accuracy "
        "minus the incumbent's, in percentage points (pp), mean ± standard error over seeds"
    )
    lines.append(f"{'strategy':<24} {'final regret (pp)':>20} {'avg rank':>9}")
    for row in shown.itertuples(index=False):
        regret = f"{100 * row.regret_mean:.3f} ± {100 * row.regret_sem:.3f}"
        lines.append(f"{row.strategy:<24} {regret:>20} {row.avg_rank:>9.2f}")
    return lines
