"""A comparison's options (`CompareConfig`) and their resolution, once, into what the runs read."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nasbench_lite.backends.registry import available_backends, backend_entry
from nasbench_lite.checks import check_int
from nasbench_lite.compare.results import check_out_dir
from nasbench_lite.errors import InputError
from nasbench_lite.search.budget import Budget
from nasbench_lite.search.registry import available_strategies, from_other_packages, get_strategy
from nasbench_lite.table.shipped import default_table_path

DEFAULT_SEEDS = 25

# Default budget: the simulated time one worker needs to train this many cells of median
# training time (JAHS-Bench-201 normalises its runtime axis to ~100 evaluations the same way).
DEFAULT_BUDGET_CELLS = 100

BASELINE = "random_search"

# Upper bounds: past them an option is a typo (every run's trajectory is kept in memory;
# a process per job).
MAX_SEEDS, MAX_WORKERS, MAX_JOBS = 100_000, 1_024, 256

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompareConfig:
    """One comparison (the CLI options, as a frozen record; vary with dataclasses.replace).

    table: file path or in-memory `Table` (None: `default_table_path`); it answers tabular
        queries and is the regret reference of live runs.
    backend: a registered backend name (`nasbench_lite.backends.registry.BACKENDS`).
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
    data_dir: the directory holding the files of a file-based dataset (cifar10, mnist,
        fashion_mnist), for what trains on it: the live backend and the weight-sharing
        strategies. Required exactly when one of them runs on such a dataset; refused for a
        built-in one.
    model: the saved surrogate of surrogate runs (a directory written by `Surrogate.save`);
        the table is then the regret reference (it must match the model's space, dataset
        and config).
    charge_overhead: add the strategies' measured ask/tell time to the simulated clock
        (runs are then no longer bit-for-bit reproducible).
    progress: a progress bar on stderr.
    force: write into `out` even when it holds files a comparison did not write, or an
        unfinished comparison (whose kept runs are then deleted).
    resume: continue the unfinished comparison in `out`: its finished runs are kept and not
        run again; the settings must be those recorded there (`compare.journal`).
    tolerance: final regret differences up to it count as ties in the report's ranks, tests
        and "found best" (None: the table's noise floor, `table.noise.noise_floor`'s
        resolution, 0 for a table of one seed; 0: exact comparisons).
    objectives: "metric:max|min" strings (None: validation accuracy alone); with two or more
        the comparison ranks hypervolume regret (docs/multi_objective.md) and, when
        `strategies` is None, compares random search and the multi-objective strategies.
    constraints: "metric<=bound" strings: the best accuracy (or front) among feasible cells,
        regret against the best feasible cell.
    sources: the source tasks of transfer strategies (those whose class sets
        ``uses_sources``): task names or table paths (`table.shipped.task_tables`), or
        (label, path) pairs. They read the sources' validation results only; a source that is
        the target's own task is refused. None: no transfer strategy can run (a default
        comparison leaves them out). `compare_tasks` gives each target the other tasks.
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
    data_dir: str | os.PathLike | None = None
    charge_overhead: bool = False
    progress: bool = False
    force: bool = False
    tolerance: float | None = None
    resume: bool = False
    objectives: tuple[str, ...] | None = None
    constraints: tuple[str, ...] = ()
    sources: tuple[Any, ...] | None = None


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


@dataclass(frozen=True)
class Plan:
    """A comparison's options resolved once (`resolve`): what the worker processes, the
    command line and the report read. Frozen; `dataclasses.replace` makes variants.

    table: the opened `Table` (pickled to the workers), or the path of a complete table file
        that each worker process opens once. path: the file's path (None: in memory).
    preset, dataset: the trainer preset and dataset of live runs; model: the saved surrogate
        of surrogate runs (None where the backend takes none); data_dir: where a file-based
        dataset's files are (None: not needed, or not given).
    strategies: names or classes, as given; labels: the names they are reported under.
    skipped: registered strategies left out, name -> why; external: compared strategies
        registered by other packages, name -> "distribution version".
    regret_source: what regret is measured against, when the backend says (the report
        prints it).
    tolerance: regret differences up to it are ties in the report; tolerance_rule says where
        it comes from. objectives: the resolved objectives and constraints
        (`compare.objectives.ObjectivePlan`; None: validation accuracy alone).
    """

    backend: str
    table: Any
    path: str | None
    preset: str
    dataset: str
    model: str | None
    data_dir: str | None
    strategies: tuple[Any, ...]
    labels: tuple[str, ...]
    budget: Budget
    budget_rule: str
    seeds: int
    workers: int
    charge_overhead: bool
    skipped: Mapping[str, str] = field(default_factory=dict)
    external: Mapping[str, str] = field(default_factory=dict)
    regret_source: str | None = None
    tolerance: float = 0.0
    tolerance_rule: str = "exact: no tolerance"
    objectives: Any = None
    sources: Any = None

    @property
    def entry(self):
        """The backend's registry entry."""
        return backend_entry(self.backend)

    def option(self, name: str) -> Any:
        """A comparison option a backend is built from (`BackendEntry.compare_args` values):
        "table", "preset", "dataset", "model" or "data_dir"."""
        if name not in ("table", "preset", "dataset", "model", "data_dir"):
            raise InputError(f"backend option {name!r} is not a comparison option")
        return getattr(self, name)


def resolve(config: CompareConfig) -> tuple[Plan, Any]:
    """Validate `config` and resolve it into a `Plan`; returns it and the opened table."""
    from nasbench_lite.table.reader import Table

    entry = backend_entry(config.backend)  # raises, naming the registered backends
    for name in ("preset", "dataset", "model"):  # options only some backends read
        value = getattr(config, name)
        if value is not None and name not in entry.options:
            readers = [b for b in available_backends() if name in backend_entry(b).options]
            raise InputError(
                f"{name} {str(value)!r}: the {config.backend} backend does not read it; it is "
                f"for the {' and '.join(readers) or 'no'} backend"
            )
    check_int("seeds", config.seeds, 1, MAX_SEEDS)
    check_int("workers", config.workers, 1, MAX_WORKERS)
    if config.jobs is not None:
        check_int("jobs", config.jobs, 1, MAX_JOBS)
    multi = len(config.objectives or ()) > 1
    names, skipped = _strategies(config.strategies, multi, bool(config.sources))
    labels = [strategy_label(s) for s in names]
    if len(set(labels)) != len(labels):
        raise InputError(f"strategies must be distinct, got {labels}")
    if config.resume and config.out is None:
        raise InputError("resume needs the folder of the comparison to continue (out)")
    if config.out is not None:
        check_out_dir(config.out, config.force, config.resume)

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
    model = None if config.model is None else str(config.model)
    if "model" in entry.options and model is None:
        from nasbench_lite.table.shipped import default_model_path

        # The shipped model of this table (the default table's for others), or an error naming it
        model = str(default_model_path(opened.source))
    preset = config.preset or opened.attrs.get("preset") or "tiny"
    if "preset" in entry.options:
        from nasbench_lite.train.config import PRESETS

        if preset not in PRESETS:
            raise InputError(f"unknown trainer preset {preset!r}; available: {', '.join(PRESETS)}")
    plan = Plan(
        backend=config.backend,
        # Workers reopen a complete file themselves (once each). An in-memory table, or a
        # partial one (it may be growing while generation runs), is pickled to them, so every
        # run of the comparison sees the same classes.
        table=opened if partial or isinstance(table, Table) else str(table),
        path=None if isinstance(table, Table) else str(table),
        preset=preset,
        dataset=config.dataset or opened.attrs.get("dataset") or "mnist1d",
        model=model,
        data_dir=None if config.data_dir is None else str(config.data_dir),
        strategies=tuple(names),
        labels=tuple(labels),
        budget=budget,
        budget_rule=rule,
        seeds=int(config.seeds),
        workers=int(config.workers),
        charge_overhead=bool(config.charge_overhead),
        skipped=skipped,
        external=from_other_packages([s for s in names if isinstance(s, str)]),
    )
    _check_data_dir(plan, opened)
    from nasbench_lite.compare.objectives import resolve_objectives

    objectives = resolve_objectives(config.objectives, config.constraints, opened)
    tolerance, tolerance_rule = resolve_tolerance(config.tolerance, opened)
    if objectives is not None and objectives.multi:  # hypervolume: exact comparisons
        tolerance, tolerance_rule = 0.0, "exact: hypervolume regret has no noise floor"
    plan = dataclasses.replace(
        plan,
        tolerance=tolerance,
        tolerance_rule=tolerance_rule,
        objectives=objectives,
        sources=_sources(config.sources, opened, None if isinstance(table, Table) else table),
    )
    _check_transfer(plan)
    return plan, opened


def _sources(given: tuple[Any, ...] | None, target: Any, target_path: Any) -> Any:
    """The `SourceTasks` of `given` for the target table (None: none given)."""
    if not given:
        return None
    from nasbench_lite.search.sources import SourceTasks
    from nasbench_lite.table.shipped import task_tables

    pairs = []
    for entry in given:
        if isinstance(entry, tuple):
            pairs.append((str(entry[0]), entry[1]))
        else:
            pairs += task_tables([str(entry)])
    return SourceTasks.build(pairs, target, target_path)


def _check_transfer(plan: Plan) -> None:
    """InputError when a chosen strategy learns from source tasks and none are given, or
    source tasks are given and no chosen strategy would read them."""
    users = [
        label
        for strategy, label in zip(plan.strategies, plan.labels, strict=True)
        if getattr(get_strategy(strategy), "uses_sources", False)
    ]
    if plan.sources is not None:
        if not users:
            raise InputError(
                f"sources {list(plan.sources.names)}: none of the strategies {list(plan.labels)} "
                "learns from other tasks; name a transfer strategy or leave the sources out"
            )
        return
    if users:
        raise InputError(
            f"strategies {users} learn from other tasks and none are given: compare across "
            "tasks (--tasks, each target's sources are the other tasks) or name source tables "
            "(--sources)"
        )


def resolve_tolerance(given: float | None, table: Any) -> tuple[float, str]:
    """The comparison's tie tolerance (a fraction of accuracy) and its rule in words: as
    given, else the table's noise floor (its resolution), else 0 (one seed)."""
    if given is not None:
        if isinstance(given, bool) or not isinstance(given, (int, float)):
            raise InputError(f"tolerance must be a number, got {given!r}")
        if not np.isfinite(given) or not 0 <= given <= 1:
            raise InputError(f"tolerance must be a fraction of accuracy in [0, 1], got {given}")
        return float(given), "given" if given else "exact: no tolerance (given as 0)"
    from nasbench_lite.table.noise import floor_missing, noise_floor

    floor = noise_floor(table)
    resolution = floor.get("resolution", float("nan"))
    if not np.isfinite(resolution):
        return 0.0, f"exact: the table cannot state a noise floor ({floor_missing(table, floor)})"
    seeds = floor["seeds"]
    return float(resolution), (
        f"the table's noise floor: the smallest significant difference of two {seeds}-seed "
        f"means in its top 10% (1.96 x sqrt(2/{seeds}) x the per-seed SD "
        f"{100 * floor['noise_sd']['top 10%']:.2f} pp)"
    )


def _check_data_dir(plan: Plan, table: Any) -> None:
    """Before any run: InputError (one line) when the data is rebuilt (live backend, or a
    strategy whose constructor takes `data_dir`) from files and no data_dir is given, or when
    a data_dir is given for a built-in dataset."""
    import inspect

    from nasbench_lite.datasets import dataset_identity

    users = [f"the {plan.backend} backend"] if "data_dir" in plan.entry.compare_args else []
    for strategy, label in zip(plan.strategies, plan.labels, strict=True):
        if "data_dir" in inspect.signature(get_strategy(strategy).__init__).parameters:
            users.append(f"strategy {label!r}")
    if not users and plan.data_dir is None:
        return  # nothing rebuilds the data: lookups only
    if plan.dataset == table.attrs.get("dataset"):
        identity = table.dataset_identity
    else:
        identity = dataset_identity(plan.dataset)
    who = ", ".join(users) or "this comparison"
    identity.check_data_dir(plan.data_dir, f"{who} on table {table.source}")


def _strategies(
    chosen: tuple[Any, ...] | None, multi: bool = False, sources: bool = False
) -> tuple[list[Any], dict[str, str]]:
    """The strategies to compare and the registered ones skipped (name -> why).

    None: every registered one that loads, except those whose class sets
    ``in_default_comparison = False`` (e.g. ones that train a supernet on live data); with
    `multi` (several objectives), random search and those whose class sets
    ``multi_objective = True``; without `sources`, not those whose class sets
    ``uses_sources = True`` (transfer strategies: they run where they have source tasks);
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
            if getattr(cls, "uses_sources", False) and not sources:
                continue  # a transfer strategy runs only where it has source tasks
            if multi and not everything:
                if name == BASELINE or getattr(cls, "multi_objective", False):
                    names.append(name)
            elif everything or getattr(cls, "in_default_comparison", True):
                names.append(name)
    if not names:
        raise InputError(
            "no strategies to compare (none given and none registered"
            + (f" that loads; skipped: {', '.join(skipped)})" if skipped else ")")
        )
    return names, skipped
