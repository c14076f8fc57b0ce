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
import math
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasbench_lite.backends import BACKENDS
from nasbench_lite.errors import InputError, Interrupted, OutputExistsError
from nasbench_lite.runner import RESULT_COLUMNS, Budget, run_search
from nasbench_lite.shipped import default_table_path
from nasbench_lite.strategy import available_strategies, from_other_packages, get_strategy

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
    strategies: registered names or strategy classes (None: every registered one that
        loads; one that fails to load is skipped with a warning).
    seeds: runs per strategy, with seeds 0..seeds-1.
    budget: "SECONDS" or "Nevals" (None: `default_budget`; "10evals" for live).
    workers: simulated concurrent evaluations inside each run.
    jobs: processes running the runs (None: CPU cores, 1 for live); never changes results.
    out: output folder (None: write nothing). It must be new, empty or written by an
        earlier comparison (its results.csv), unless `force`.
    preset, dataset: trainer preset and dataset of live runs (None: the table's).
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
    other packages, name -> "distribution version"."""

    results: pd.DataFrame
    summary: pd.DataFrame
    strategies: list[str]
    seeds: list[int]
    budget: Budget
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
_INIT_ERROR: BaseException | None = None


def _init_process(spec: dict[str, Any]) -> None:
    global _PROCESS_WORKER, _INIT_ERROR
    # Ctrl-C is the main process's to handle: it terminates the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _PROCESS_WORKER = _Worker(spec)
    except Exception as err:
        # Raised by the first task instead: a Pool restarts a process whose initializer
        # fails, again and again.
        _INIT_ERROR = err


def _run_in_process(item: tuple[int, tuple[int, int]]) -> tuple[int, pd.DataFrame]:
    if _PROCESS_WORKER is None:
        raise _INIT_ERROR or RuntimeError("compare worker process was not initialised")
    index, task = item
    return index, _PROCESS_WORKER.run(task)


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _resolve(config: CompareConfig) -> tuple[dict[str, Any], Any, str]:
    """Validate `config`; returns the worker spec, the opened table (or None), budget rule."""
    from nasbench_lite.table import Table

    if config.backend not in BACKENDS:
        raise InputError(f"unknown backend {config.backend!r}; choose one of {', '.join(BACKENDS)}")
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
        "skipped": skipped,
        "external": from_other_packages([s for s in names if isinstance(s, str)]),
        "budget": budget,
        "workers": int(config.workers),
        "charge_overhead": bool(config.charge_overhead),
    }
    if config.backend == "live":
        from nasbench_lite.train import PRESETS

        if spec["preset"] not in PRESETS:
            raise InputError(
                f"unknown trainer preset {spec['preset']!r}; available: {', '.join(PRESETS)}"
            )
    return spec, opened, rule


def _strategies(chosen: tuple[Any, ...] | None) -> tuple[list[Any], dict[str, str]]:
    """The strategies to compare and the registered ones skipped (name -> why). Every
    registered one that loads when none are chosen; a chosen one that fails raises."""
    if chosen is not None:
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
            get_strategy(name)
        except (ValueError, TypeError) as err:
            logger.warning("skipping strategy %r: %s", name, err)
            skipped[name] = str(err)
        else:
            names.append(name)
    if not names:
        raise InputError(
            "no strategies to compare (none given and none registered"
            + (f" that loads; skipped: {', '.join(skipped)})" if skipped else ")")
        )
    return names, skipped


def written_by_compare(path: str | os.PathLike) -> bool:
    """Whether directory `path` holds a comparison's results.csv (its header row)."""
    csv = Path(path) / "results.csv"
    try:
        with open(csv, encoding="utf-8") as f:
            return f.readline().strip() == ",".join(RESULT_COLUMNS)
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


def _pool_results(
    spec: dict[str, Any], tasks: list[tuple[int, int]], jobs: int
) -> Iterator[tuple[int, pd.DataFrame]]:
    """(task index, frame) pairs from `jobs` spawned processes, in completion order. Closing
    the generator early (an error, Ctrl-C) terminates the processes at once."""
    import multiprocessing

    # Chunks amortise the per-task round trip; four per process keep the bar moving and
    # balance strategies of unequal cost.
    chunk = max(1, math.ceil(len(tasks) / (4 * jobs)))
    context = multiprocessing.get_context("spawn")
    # The processes start with SIGINT ignored (inherited), so a Ctrl-C during their start-up
    # cannot print a traceback from each of them; the main process handles it alone.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        pool = context.Pool(jobs, _init_process, (spec,))
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
    try:
        yield from pool.imap_unordered(_run_in_process, enumerate(tasks), chunksize=chunk)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()


def run_tasks(
    spec: dict[str, Any], seeds: int, jobs: int, progress: bool, worker: _Worker | None = None
) -> pd.DataFrame:
    """Run every (strategy, seed) of `spec`; rows in strategy, then seed order. With one
    job the runs execute here, on `worker` if one is given (else a new one).

    Ctrl-C raises `Interrupted` whose `partial` holds the finished runs (same order)."""
    from tqdm import tqdm

    tasks = [(i, seed) for i in range(len(spec["strategies"])) for seed in range(seeds)]
    bar = tqdm(total=len(tasks), desc="compare", unit="run", file=sys.stderr, disable=not progress)
    frames: dict[int, pd.DataFrame] = {}
    try:
        if jobs == 1:
            worker = worker or _Worker(spec)
            for index, task in enumerate(tasks):
                frames[index] = worker.run(task)
                bar.update()
        else:
            with closing(_pool_results(spec, tasks, jobs)) as results:
                for index, frame in results:
                    frames[index] = frame
                    bar.update()
    except KeyboardInterrupt:
        bar.close()
        kept = [frames[i] for i in sorted(frames)]
        partial = pd.concat(kept, ignore_index=True) if kept else None
        message = f"interrupted after {len(frames)} of {len(tasks)} runs"
        raise Interrupted(message, len(frames), len(tasks), partial) from None
    bar.close()
    ordered = [frames[i] for i in range(len(tasks))]
    empty = [(spec["labels"][i], s) for (i, s), f in zip(tasks, ordered, strict=True) if f.empty]
    if empty:
        raise InputError(
            f"budget {spec['budget']} ended before the first evaluation finished in runs "
            f"(strategy, seed) {empty[:5]}: give a larger budget"
        )
    return pd.concat(ordered, ignore_index=True)


def _default_jobs(backend: str, tasks: int) -> int:
    if backend == "live":
        return 1  # JAX already uses every core for one training batch
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, tasks))


def _remove_outputs(out: Path) -> None:
    """Delete the files a comparison writes into `out` (results, report, plots)."""
    from nasbench_lite.plots import PLOT_NAMES

    names = ["results.csv", "report.md"]
    names += [f"{name}.{ext}" for name in PLOT_NAMES for ext in ("png", "svg")]
    for name in names:
        (out / name).unlink(missing_ok=True)


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
