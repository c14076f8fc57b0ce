"""Syne Tune adapter: a table as a tabular blackbox, Syne Tune's simulator run on it, and its
results read back as ours (Salinas et al., "Syne Tune", AutoML 2022).

`to_blackbox` exports a table as a `BlackboxTabular`; `simulate` runs one of Syne Tune's
schedulers on it with its `UserBlackboxBackend` and `SimulatorCallback`; `to_results` turns
Syne Tune's results into our results.csv rows and `save_report` writes our report. The
mapping (rows, fidelity, elapsed time, seeds, incumbent) is explained in docs/adapters.md.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasbench_lite.errors import InputError
from nasbench_lite.extras import require
from nasbench_lite.search.budget import Budget
from nasbench_lite.search.trajectory import INCUMBENT_COLUMNS, RESULT_COLUMNS
from nasbench_lite.table.schema import SCALES_WITH_EPOCHS

EPOCH = "epoch"  # the fidelity: epochs 1..E of the table's one schedule
METRIC = "metric_valid_error"  # what the schedulers minimise: 1 - valid_acc
ELAPSED = "metric_elapsed_time"  # seconds from the start of training to the end of the epoch
RUNTIME = "metric_runtime"  # seconds of one epoch
SCHEDULERS = ("random_search", "asha")
TIME = "st_tuner_time"  # Syne Tune's column: the simulated seconds a result came back at

logger = logging.getLogger(__name__)


def _open(table: Any):
    from nasbench_lite.table.reader import as_table

    return as_table(table)


def _edge_names(space: Any) -> list[str]:
    return list(getattr(space, "edge_names", None) or [f"edge_{i}" for i in range(space.num_edges)])


def to_blackbox(table: Any):
    """A Syne Tune `BlackboxTabular` of `table` (a Table or a table file).

    Rows: every raw cell the table answers (its class is trained), in raw order; the cells
    of a class share its numbers. Hyperparameters: one categorical per edge, named by the
    space's edge names ("1<-0", ...), its choices the op names. Objectives (`objective_names`),
    (cells, seeds, epochs, K) float32, per seed and epoch e = 1..E: metric_valid_error =
    1 - valid_acc, 1 (the worst) for a diverged seed, so that no NaN reaches the rung
    comparisons of Syne Tune's schedulers (metric_valid_acc stays NaN there); then
    `metric_<name>` for every metric the table holds, in the table's order (`Table.metrics`:
    a curve as measured at e, a per-pair metric such as train_seconds read as `Table.values`
    reads it at e, a per-class metric such as params repeated);
    metric_runtime = train_seconds / E and metric_elapsed_time = train_seconds * e / E (the
    table holds one measured time per seed for the whole schedule of equal epochs). Fidelity
    space: {"epoch": randint(1, E)}.
    """
    require("synetune", "the Syne Tune adapter")
    from syne_tune.blackbox_repository.blackbox_tabular import BlackboxTabular
    from syne_tune.config_space import choice, randint

    table = _open(table)
    space, epochs, row_of = table.space, table.num_epochs, np.asarray(table.raw_to_row)
    available = row_of >= 0
    available[available] = table.done[row_of[available]]
    raws = np.flatnonzero(available)
    if not len(raws):
        raise InputError(f"table {table.source} has no trained class: there is nothing to export")
    rows, names, ops = row_of[raws], _edge_names(space), np.asarray(space.ops)
    cells = space.cells(raws)
    shape = (len(raws), table.num_seeds, epochs)
    e = np.arange(1, epochs + 1) / epochs
    valid = table.metric("valid_acc")[rows]
    columns = [np.where(np.isnan(valid), 1.0, 1 - valid)]
    for name, axes in table.metric_axes.items():
        array = table.metric(name)[rows].astype(np.float64)
        if "epochs" not in axes:  # per pair or per class: the same at every epoch
            array = array[:, :, None] if "seeds" in axes else array[:, None, None]
            array = array * e if name in SCALES_WITH_EPOCHS else array
        columns.append(np.broadcast_to(array, shape))
    seconds = table.metric("train_seconds")[rows][:, :, None].astype(np.float64)
    columns += [np.broadcast_to(seconds / epochs, shape), seconds * e]
    values = np.stack(columns, axis=-1).astype(np.float32)
    return BlackboxTabular(
        hyperparameters=pd.DataFrame({name: ops[cells[:, i]] for i, name in enumerate(names)}),
        configuration_space={name: choice(list(space.ops)) for name in names},
        fidelity_space={EPOCH: randint(1, epochs)},
        objectives_evaluations=values,
        fidelity_values=np.arange(1, epochs + 1),
        objectives_names=objective_names(table),
    )


def without_test_metrics(blackbox: Any) -> Any:
    """`blackbox` without its metric_test_* objectives (a `BlackboxTabular`; any other kind is
    returned as it is): what a scheduler may be shown."""
    from syne_tune.blackbox_repository.blackbox_tabular import BlackboxTabular

    names = list(blackbox.objectives_names)
    keep = [i for i, n in enumerate(names) if not str(n).startswith("metric_test_")]
    if not isinstance(blackbox, BlackboxTabular) or len(keep) == len(names):
        return blackbox
    return BlackboxTabular(
        hyperparameters=blackbox.hyperparameters,
        configuration_space=blackbox.configuration_space,
        fidelity_space=blackbox.fidelity_space,
        objectives_evaluations=blackbox.objectives_evaluations[..., keep],
        fidelity_values=blackbox.fidelity_values,
        objectives_names=[names[i] for i in keep],
    )


def objective_names(table: Any) -> list[str]:
    """The objectives of `to_blackbox(table)`, in order."""
    return [METRIC, *(f"metric_{name}" for name in table.metrics), RUNTIME, ELAPSED]


def _scheduler(name: Any, blackbox: Any, seed: int):
    """A scheduler minimising METRIC: a name of SCHEDULERS, or a TrialScheduler as given."""
    if not isinstance(name, str):
        return name
    from syne_tune.optimizer.baselines import RandomSearch
    from syne_tune.optimizer.schedulers.asha import AsynchronousSuccessiveHalving

    space = blackbox.configuration_space
    if name == "random_search":
        return RandomSearch(space, metrics=[METRIC], do_minimize=True, random_seed=seed)
    if name == "asha":  # stopping ASHA, rungs at epochs 1, 3, 9, ... (reduction factor 3)
        top = int(max(blackbox.fidelity_values))
        return AsynchronousSuccessiveHalving(
            space, METRIC, do_minimize=True, time_attr=EPOCH, max_t=top, random_seed=seed
        )
    raise InputError(f"unknown Syne Tune scheduler {name!r}; known: {', '.join(SCHEDULERS)}")


def simulate(
    source: Any,
    scheduler: Any,
    budget: float,
    workers: int = 1,
    seed: int = 0,
    *,
    tick: float | None = None,
    workdir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Run Syne Tune's simulator on a complete table (a Table, a table file or its
    `to_blackbox`) until `budget` simulated seconds; returns Syne Tune's results frame, one
    row per result a trial reported (trial_id, epoch, objectives, st_tuner_time,
    config_<edge>, ...).

    scheduler: a name of SCHEDULERS (built to minimise metric_valid_error, `seed` as its
        random_seed) or a Syne Tune TrialScheduler built on the blackbox's space.
    seed: seeds numpy's global generator for the run, which Syne Tune draws from (its random
        searcher's configurations, each trial's table seed); the caller's state is restored.
    No test metric reaches the scheduler: the simulator runs on the blackbox without its
    metric_test_* objectives (the table keeps them for scoring), and a scheduler asking for
    one is refused.
    tick: the simulated seconds the tuner waits when every worker is busy (Syne Tune's
        tuner_sleep_time; default: 1% of the median epoch time): a free worker starts its
        next trial at the next tick. Syne Tune's start, result and stop delays are 0 and the
        tuner's own compute time is not charged to the clock, so runs repeat exactly.
    workdir: where the tuner writes its files (default: a temporary folder, then removed).
    """
    require("synetune", "the Syne Tune adapter")
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_backend import SimulatorConfig
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.backend.simulator_backend.time_keeper import SimulatedTimeKeeper
    from syne_tune.blackbox_repository import UserBlackboxBackend
    from syne_tune.blackbox_repository.blackbox import Blackbox

    for name, value, low in (("seed", seed, 0), ("workers", workers, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise InputError(f"{name} must be an int >= {low}, got {value!r}")
    seconds = Budget(seconds=budget).seconds  # raises unless finite and > 0
    blackbox = without_test_metrics(source if isinstance(source, Blackbox) else to_blackbox(source))
    size = math.prod(len(d.categories) for d in blackbox.configuration_space.values())
    if len(blackbox.hyperparameters) < size:
        raise InputError(
            f"the blackbox holds {len(blackbox.hyperparameters):,} of {size:,} cells; Syne "
            f"Tune's schedulers sample every configuration, so simulate needs a complete table"
        )
    if tick is None:
        elapsed = list(blackbox.objectives_names).index(ELAPSED)
        first = blackbox.objectives_evaluations[:, :, 0, elapsed]
        tick = 0.01 * float(np.nanmedian(first))
    if not 0 < tick < math.inf:
        raise InputError(f"tick must be finite and > 0 simulated seconds, got {tick!r}")

    class Clock(SimulatedTimeKeeper):
        def real_time_since_last_recent_exit(self) -> float:
            return 0.0  # the tuner's own compute time is not charged

    class SimulatedTuner(Tuner):
        def _sleep(self) -> None:  # advance the simulated clock only, without sleep(0)
            for callback in self.callbacks:
                callback.on_tuning_sleep(self.sleep_time)

    chosen = _scheduler(scheduler, blackbox, int(seed))
    names = chosen.metric_names() if callable(getattr(chosen, "metric_names", None)) else []
    if tests := [n for n in names if str(n).startswith("metric_test_")]:
        raise InputError(
            f"the scheduler optimises {tests}: a test metric never guides a search; use "
            f"{METRIC} or another validation metric"
        )
    # Syne Tune draws from numpy's global generator (its searchers ignore their random_seed
    # when sampling): seed it for this run only.
    saved = np.random.get_state()  # noqa: NPY002
    np.random.seed(int(seed))  # noqa: NPY002
    try:
        with contextlib.ExitStack() as stack:
            folder = workdir or stack.enter_context(tempfile.TemporaryDirectory())
            backend = UserBlackboxBackend(
                blackbox=blackbox,
                elapsed_time_attr=ELAPSED,
                simulator_config=SimulatorConfig(0.0, 0.0, 0.0, 0.0, 0.0),  # no delays
                tuner_sleep_time=float(tick),
            )
            backend._time_keeper = Clock()  # Syne Tune offers no switch for this
            tuner = SimulatedTuner(
                trial_backend=backend,
                scheduler=chosen,
                stop_criterion=StoppingCriterion(max_wallclock_time=seconds),
                n_workers=int(workers),
                sleep_time=0,
                callbacks=[SimulatorCallback()],
                # The tuner's folder is experiment_path() / tuner_name: an absolute name is
                # the folder itself.
                tuner_name=str(Path(folder).resolve()),
                suffix_tuner_name=False,
                save_tuner=False,
                results_update_interval=math.inf,
                print_update_interval=math.inf,
            )
            with contextlib.redirect_stdout(io.StringIO()) as printed:  # Syne Tune prints
                tuner.run()
            logger.debug("Syne Tune's tuner printed:\n%s", printed.getvalue())
            return tuner.callbacks[0].dataframe()
    finally:
        np.random.set_state(saved)  # noqa: NPY002


def to_results(
    frame: pd.DataFrame, table: Any, strategy: str, seed: int, budget: float | None = None
) -> pd.DataFrame:
    """Syne Tune's results frame of one run as our results.csv rows (`RESULT_COLUMNS`, then
    `INCUMBENT_COLUMNS`), one per result in the order they came back, up to `budget`.

    Each result is one evaluation of a cell at a fidelity (a trial trained to epoch e has
    reported e results); sim_seconds is its st_tuner_time. The incumbent: the best valid_acc
    among the results at the highest epoch seen so far (the first to reach it; NaN never
    counts); incumbent_test: its noise-free seed-mean test accuracy in `table` (a Table, a
    table file or a tabular backend); regret: the table's best such accuracy minus that.
    """
    from nasbench_lite.backends.tabular import TabularBenchmark

    bench = table if hasattr(table, "mean_test_acc") else TabularBenchmark(_open(table))
    space = bench.space
    names = [f"config_{name}" for name in _edge_names(space)]
    if missing := [c for c in (TIME, EPOCH, "metric_valid_acc", *names) if c not in frame]:
        raise InputError(
            f"Syne Tune results lack columns {missing} (a run on a to_blackbox blackbox has "
            f"them); has {list(frame.columns)}"
        )
    frame = frame.sort_values(TIME, kind="stable")
    frame = frame if budget is None else frame[frame[TIME] <= budget]
    n, op_id = len(frame), {op: i for i, op in enumerate(space.ops)}
    try:
        cells = np.array([[op_id[op] for op in ops] for ops in frame[names].to_numpy()])
    except KeyError as err:
        raise InputError(f"Syne Tune results hold an unknown op {err}") from None
    raw = space.indices(cells) if n else np.zeros(0, dtype=np.int64)
    valid = frame["metric_valid_acc"].to_numpy(np.float64)
    which, top, best = np.full(n, -1), 0, -math.inf
    for i, (epoch, value) in enumerate(zip(frame[EPOCH].tolist(), valid.tolist(), strict=True)):
        if not math.isnan(value) and (epoch > top or (epoch == top and value > best)):
            top, best, which[i] = epoch, value, i
        elif i:
            which[i] = which[i - 1]
    known = which >= 0
    incumbent = np.where(known, raw[which], -1)
    incumbent_test = np.full(n, np.nan)
    incumbent_test[known] = bench.mean_test_acc(incumbent[known])
    named = known & (np.diff(incumbent, prepend=-1) != 0)  # where it changed, and the last row
    named[-1:] = known[-1:]
    cell = np.full(n, "", dtype=object)
    cell[named] = [space.format(int(r)) for r in incumbent[named]]
    columns = {
        "strategy": [strategy] * n,
        "seed": np.full(n, seed, dtype=np.int64),
        "sim_seconds": frame[TIME].to_numpy(np.float64),
        "evals": np.arange(1, n + 1, dtype=np.int64),
        "incumbent_valid": np.where(known, valid[which], np.nan),
        "incumbent_test": incumbent_test,
        "regret": bench.best_test_acc - incumbent_test,
        "incumbent_raw": incumbent,
        "incumbent_cell": cell,
    }
    return pd.DataFrame(columns, columns=[*RESULT_COLUMNS, *INCUMBENT_COLUMNS])


def save_report(
    out: str | os.PathLike, results: pd.DataFrame, table: Any, budget: float, workers: int = 1
) -> Path:
    """Write `results` (`to_results` rows of every strategy and seed) into folder `out` as a
    comparison does: results.csv, setup.json, the plots and report.md (returned; the first
    strategy is the baseline of its tests). `nasbench-lite compare --report-only OUT`
    rebuilds the report later. `out` must be new, empty or an earlier comparison's."""
    from importlib.metadata import version

    from nasbench_lite.compare import plots, report
    from nasbench_lite.compare import statistics as stats
    from nasbench_lite.compare.results import check_out_dir

    stats.check_results(results)
    table, out, seconds = _open(table), check_out_dir(out), Budget(seconds=budget)
    out.mkdir(parents=True, exist_ok=True)
    results.to_csv(out / "results.csv", index=False)
    names = stats.strategy_order(results)
    setup = {
        "runs": f"Syne Tune {version('syne-tune')} simulator on `nasbench_lite.adapters.synetune."
        f"to_blackbox` of the table, {workers} simulated workers per run",
        **report.library_versions(),
        "table": f"`{report.shown_path(table.source)}`: space {table.attrs.get('space')}, "
        f"dataset {table.attrs.get('dataset')}, {table.num_epochs} epochs",
        "budget": f"{budget:g} simulated seconds",
        "seeds": ", ".join(str(s) for s in sorted(results["seed"].unique())),
        "strategies": ", ".join(f"`{name}`" for name in names),
        "evaluations": "one per result a trial reports (a trial trained to epoch e reports e "
        "results); incumbent: the best validation accuracy at the highest epoch seen so far",
    }
    report.write_setup(out, setup, seconds, "given", names[0], None)
    figures = plots.plot_all(results, out, seconds.seconds)
    return report.write_report(out, results, setup, figures, baseline=names[0])
