"""Strategy comparison: strategies x seeds on one backend and one budget, then statistics,
plots and a report (the protocol of NAS-Bench-101, Ying et al. 2019, and of Lindauer &
Hutter's NAS best-practice checklist).

Fair by construction: every (strategy, seed) run gets the same backend, the same budget, the
same number of simulated workers and the same seed list; seed s seeds the run's strategy and
benchmark-noise generators identically for every strategy. Runs execute in spawned worker
processes, each of which opens the table once and runs many runs; results do not depend on
the number of processes.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasbench_lite.runner import Budget, run_search
from nasbench_lite.strategy import available_strategies, get_strategy

BACKENDS = ("tabular", "surrogate", "live")
TABLE_ENV = "NASBENCH_LITE_TABLE"
TABLE_NAMES = ("nb201_mnist1d_cpu.h5", "nb201_mnist1d_small.h5")
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEFAULT_SEEDS = 25
# Default budget: the simulated time one worker needs to train this many cells of median
# training time (JAHS-Bench-201 normalises its runtime axis to ~100 evaluations the same way).
DEFAULT_BUDGET_CELLS = 100
# Live training times depend on the machine, not the table: the default is a count.
DEFAULT_LIVE_BUDGET = "10evals"
BASELINE = "random_search"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompareConfig:
    """One comparison (the CLI options, as a frozen record; vary with dataclasses.replace).

    table: file path or in-memory `Table` (None: `default_table_path`); it answers tabular
        queries and is the regret reference of live runs.
    backend: "tabular", "surrogate" or "live".
    strategies: registered names or strategy classes (None: every registered one).
    seeds: runs per strategy, with seeds 0..seeds-1.
    budget: "SECONDS" or "Nevals" (None: `default_budget`; "10evals" for live).
    workers: simulated concurrent evaluations inside each run.
    jobs: processes running the runs (None: CPU cores, 1 for live); never changes results.
    out: output folder (None: write nothing).
    preset, dataset: trainer preset and dataset of live runs (None: the table's).
    charge_overhead: add the strategies' measured ask/tell time to the simulated clock
        (runs are then no longer bit-for-bit reproducible).
    progress: a progress bar on stderr.
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
    charge_overhead: bool = False
    progress: bool = False


@dataclass
class CompareResult:
    """results: the ``results.csv`` frame (rows in strategy, then seed order); summary: one
    row per strategy (see `stats.summarise`); files: everything written into out_dir;
    restriction: for a table holding only some classes, the sentence saying what the search
    was restricted to (None for a complete table)."""

    results: pd.DataFrame
    summary: pd.DataFrame
    strategies: list[str]
    seeds: list[int]
    budget: Budget
    budget_rule: str
    wall_seconds: float
    restriction: str | None = None
    out_dir: Path | None = None
    report: Path | None = None
    files: list[Path] = field(default_factory=list)


def table_is_complete(path: str | os.PathLike) -> bool:
    """Whether the table file at `path` answers every cell (every raw cell has a row and every
    row is done), read from /cells/raw_to_row and /status/done only. An unreadable file is
    not complete (opening it later names the problem); see `tablefile.file_is_complete`."""
    from nasbench_lite.tablefile import file_is_complete

    return file_is_complete(path)


def default_table_path() -> Path:
    """The table `compare` uses when none is given: $NASBENCH_LITE_TABLE if set, else the
    first complete one of data/nb201_mnist1d_cpu.h5, data/nb201_mnist1d_small.h5 at the
    repository root, else the first of them that exists (a partial table: the search is then
    restricted to the classes it holds).

    Raises FileNotFoundError when there is none.
    """
    env = os.environ.get(TABLE_ENV)
    if env:
        if not Path(env).is_file():
            raise FileNotFoundError(f"{TABLE_ENV}={env}: no such table file")
        return Path(env)
    found = [DATA_DIR / name for name in TABLE_NAMES if (DATA_DIR / name).is_file()]
    if found:
        return next((path for path in found if table_is_complete(path)), found[0])
    raise FileNotFoundError(
        f"no table given and no shipped table found (looked for {', '.join(TABLE_NAMES)} in "
        f"{DATA_DIR}); pass --table FILE or set {TABLE_ENV}"
    )


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


class _Worker:
    """One process's benchmark (built once) and the strategies, run task after task."""

    def __init__(self, spec: dict[str, Any], table: Any = None) -> None:
        """spec: see `_resolve`; table: the already opened table (else opened from spec)."""
        from nasbench_lite.backends import make_benchmark

        table = spec["table"] if table is None else table
        if isinstance(table, (str, os.PathLike)):
            from nasbench_lite.table import Table

            table = Table.open(table)
        if spec["backend"] == "live":
            self.benchmark = make_benchmark(
                "live", config=spec["preset"], data=spec["dataset"], reference=table
            )
        else:
            self.benchmark = make_benchmark(spec["backend"], table=table)
        # Resolved once: an entry-point lookup scans the installed packages (~10 ms).
        self.classes = [get_strategy(s) for s in spec["strategies"]]
        self.spec = spec

    def run(self, task: tuple[int, int]) -> pd.DataFrame:
        index, seed = task
        spec = self.spec
        trajectory = run_search(
            self.classes[index],
            self.benchmark,
            spec["budget"],
            seed,
            spec["workers"],
            charge_overhead=spec["charge_overhead"],
        )
        return trajectory.to_frame(spec["labels"][index], seed)


_PROCESS_WORKER: _Worker | None = None  # set once per pool process by `_init_process`


def _init_process(spec: dict[str, Any]) -> None:
    global _PROCESS_WORKER
    _PROCESS_WORKER = _Worker(spec)


def _run_in_process(task: tuple[int, int]) -> pd.DataFrame:
    return _PROCESS_WORKER.run(task)


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _resolve(config: CompareConfig) -> tuple[dict[str, Any], Any, str]:
    """Validate `config`; returns the worker spec, the opened table (or None), budget rule."""
    from nasbench_lite.table import Table

    if config.backend not in BACKENDS:
        raise ValueError(f"unknown backend {config.backend!r}; choose one of {BACKENDS}")
    _check_int("seeds", config.seeds, 1)
    _check_int("workers", config.workers, 1)
    if config.jobs is not None:
        _check_int("jobs", config.jobs, 1)
    names = available_strategies() if config.strategies is None else list(config.strategies)
    if not names:
        raise ValueError("no strategies to compare (none given and none registered)")
    for name in names:
        get_strategy(name)  # raises, naming an unknown strategy and the registered ones
    labels = [strategy_label(s) for s in names]
    if len(set(labels)) != len(labels):
        raise ValueError(f"strategies must be distinct, got {labels}")

    # Live runs need a table too: it is the reference for regret (the space's best cell).
    table = default_table_path() if config.table is None else config.table
    opened = table if isinstance(table, Table) else Table.open(table)
    if config.budget is not None:
        budget, rule = Budget.parse(config.budget), "given"
    elif config.backend == "live":
        budget, rule = Budget.parse(DEFAULT_LIVE_BUDGET), "default for live training"
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
        "strategies": names,
        "labels": labels,
        "budget": budget,
        "workers": int(config.workers),
        "charge_overhead": bool(config.charge_overhead),
    }
    return spec, opened, rule


def run_tasks(
    spec: dict[str, Any], seeds: int, jobs: int, progress: bool, worker: _Worker | None = None
) -> pd.DataFrame:
    """Run every (strategy, seed) of `spec`; rows in strategy, then seed order. With one
    job the runs execute here, on `worker` if one is given (else a new one)."""
    from tqdm import tqdm

    tasks = [(i, seed) for i in range(len(spec["strategies"])) for seed in range(seeds)]
    bar = tqdm(total=len(tasks), desc="compare", unit="run", file=sys.stderr, disable=not progress)
    frames = []
    if jobs == 1:
        worker = worker or _Worker(spec)
        for task in tasks:
            frames.append(worker.run(task))
            bar.update()
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # Chunks amortise the per-task round trip; four per process keep the bar moving and
        # balance strategies of unequal cost.
        chunk = max(1, math.ceil(len(tasks) / (4 * jobs)))
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(jobs, context, _init_process, (spec,)) as pool:
            for frame in pool.map(_run_in_process, tasks, chunksize=chunk):
                frames.append(frame)
                bar.update()
    bar.close()
    empty = [(spec["labels"][i], s) for (i, s), f in zip(tasks, frames, strict=True) if f.empty]
    if empty:
        raise ValueError(
            f"budget {spec['budget']} ended before the first evaluation finished in runs "
            f"(strategy, seed) {empty[:5]}: give a larger budget"
        )
    return pd.concat(frames, ignore_index=True)


def _default_jobs(backend: str, tasks: int) -> int:
    if backend == "live":
        return 1  # JAX already uses every core for one training batch
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, tasks))


def command_line(config: CompareConfig, spec: dict[str, Any], jobs: int) -> str:
    """The CLI command that repeats this comparison, with every option explicit."""
    parts = ["nasbench-lite", "compare", "--backend", spec["backend"]]
    if spec["path"] is not None:
        from nasbench_lite.report import shown_path

        parts += ["--table", shown_path(spec["path"])]
    parts += ["--strategies", *spec["labels"], "--seeds", str(config.seeds)]
    parts += ["--budget", str(spec["budget"]), "--workers", str(spec["workers"])]
    if spec["backend"] == "live":
        parts += ["--preset", spec["preset"], "--dataset", spec["dataset"]]
    if spec["charge_overhead"]:
        parts.append("--charge-overhead")
    parts += ["--jobs", str(jobs), "--out", str(config.out)]
    return shlex.join(parts)


def compare(config: CompareConfig) -> CompareResult:
    """Run the comparison described by `config`; write results.csv, report.md and the plots
    into config.out (unless it is None). Raises ValueError / FileNotFoundError naming a bad
    input (unknown strategy or backend, bad seeds, budget or table)."""
    from nasbench_lite import stats

    started = time.perf_counter()
    spec, table, rule = _resolve(config)
    tasks = len(spec["strategies"]) * config.seeds
    jobs = config.jobs or _default_jobs(spec["backend"], tasks)
    # Built here even when processes will run the tasks: a backend that cannot be built
    # fails with its own error before any process starts.
    local = _Worker(spec, table)
    coverage = getattr(local.benchmark, "coverage", None)
    restriction = None if coverage is None or coverage.complete else coverage.describe()
    if restriction:
        logger.warning("%s: %s", table.source, restriction)
    results = run_tasks(spec, config.seeds, jobs, config.progress, local)
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
    )
    if config.out is None:
        return result
    from nasbench_lite import plots, report

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / "results.csv"
    results.to_csv(csv, index=False)
    figures = plots.plot_all(results, out, spec["budget"].seconds)
    command = command_line(config, spec, jobs)
    setup = report.describe_run(command, spec, table, rule, config.seeds, jobs, wall)
    result.report = report.write_report(
        out, results, setup, figures, baseline=BASELINE, notice=restriction
    )
    result.out_dir = out
    result.files = [csv, result.report, *(p for paths in figures.values() for p in paths)]
    return result


def cli_compare(args: argparse.Namespace) -> int:
    """`nasbench-lite compare ...`: run, print the ranking and where the report is."""
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
    )
    result = compare(config)
    shown = result.summary.sort_values("avg_rank", kind="stable")
    if result.restriction:
        print(result.restriction)
    print(f"budget: {result.budget} ({result.budget_rule}); {len(result.seeds)} seeds")
    print(f"{'strategy':<24} {'final regret (pp)':>20} {'avg rank':>9}")
    for row in shown.itertuples(index=False):
        regret = f"{100 * row.regret_mean:.3f} ± {100 * row.regret_sem:.3f}"
        print(f"{row.strategy:<24} {regret:>20} {row.avg_rank:>9.2f}")
    print(f"report: {result.report}")
    return 0
