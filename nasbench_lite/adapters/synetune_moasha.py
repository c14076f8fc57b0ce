"""Syne Tune's MOASHA (multi-objective asynchronous successive halving; Salinas et al., "A
multi-objective perspective on jointly tuning hardware and hyperparameters", NAS workshop at
ICLR 2021) on a table's blackbox, and its results read back as our multi-objective rows.

`moasha` builds Syne Tune's `MOASHA` scheduler for our objective strings on
`synetune.to_blackbox`'s objectives; `synetune.simulate` runs it; `to_mo_results` turns Syne
Tune's results frame into the rows `compare --objectives` writes for a run (`raw`,
`cell_<metric>`, `hv`, `hv_regret`, ...), so `compare.pareto_report` and `compare.statistics`
rank it beside our multi-objective strategies.

Which evaluations count: our multi-objective runs evaluate every cell at full fidelity, while
MOASHA reports every epoch of every trial and stops most trials early. Here a cell joins the
attained front only when a trial of it reached the table's final epoch, and each such result
is one evaluation (one row). Its point is the cell's seed-mean value of every measured metric
(the `cell_<metric>` columns our rows hold), so a front point never depends on an
early-stopped epoch; the epochs MOASHA spent on stopped trials still cost simulated seconds.
docs/multi_objective.md ("Syne Tune's MOASHA") has the rule and measured figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from nasbench_lite.adapters.synetune import (
    EPOCH,
    METRIC,
    TIME,
    _edge_names,
    _open,
    objective_names,
    to_blackbox,
)
from nasbench_lite.errors import InputError
from nasbench_lite.extras import require
from nasbench_lite.search.objectives import Objective, parse_objectives
from nasbench_lite.search.trajectory import EXTRA_COLUMNS, INCUMBENT_COLUMNS, RESULT_COLUMNS

# Syne Tune 0.16's MOASHA defaults: rungs at grace_period x reduction_factor^k epochs, one
# bracket; its priority is non-dominated sorting with an epsilon-net inside each front
# (`NonDominatedPriority`, ties broken by the first objective).
REDUCTION_FACTOR = 3
GRACE_PERIOD = 1
BRACKETS = 1
STRATEGY = "moasha"


def blackbox_metrics(objectives: Sequence[Any], names: Sequence[str]) -> list[tuple[str, bool]]:
    """(blackbox metric, minimised) per objective (strings such as "params:min" or
    `Objective`s): valid_acc is metric_valid_error (1 - valid_acc), so valid_acc:max
    minimises it; another NAME is metric_NAME in its own direction. `names`: the blackbox's
    objective names (`synetune.objective_names`). InputError naming a metric the blackbox
    does not hold as a table metric (its derived valid_error, runtime and elapsed_time are
    not objectives: `to_mo_results` measures every objective on the table)."""
    parsed = parse_objectives(objectives)
    held = set(names) - {METRIC, "metric_runtime", "metric_elapsed_time"}
    out = []
    for objective in parsed:
        if objective.name == "valid_acc":
            out.append((METRIC, objective.direction == "max"))
            continue
        metric = f"metric_{objective.name}"
        if metric not in held:
            known = [n[len("metric_") :] for n in names
                     if n in held and n.startswith("metric_")
                     and not n.startswith("metric_test_")]  # fmt: skip
            raise InputError(
                f"objective {objective}: metric {objective.name!r} is not in the table's "
                f"blackbox; it holds {', '.join(known)}"
            )
        out.append((metric, objective.direction == "min"))
    return out


def moasha(
    source: Any,
    objectives: Sequence[Any],
    seed: int = 0,
    *,
    reduction_factor: float = REDUCTION_FACTOR,
    grace_period: int = GRACE_PERIOD,
    brackets: int = BRACKETS,
    ranked: bool = False,
):
    """Syne Tune's `MOASHA` on `source` (a Table, a table file or its `to_blackbox`) for
    `objectives` (e.g. ("valid_acc:max", "params:min"); see `blackbox_metrics`), to pass to
    `synetune.simulate` on the same table.

    time_attr is the blackbox's fidelity ("epoch"), max_t the table's epochs: a trial that
    reports the last epoch is complete. reduction_factor, grace_period and brackets default
    to Syne Tune's (3, 1, 1); the priority is Syne Tune's default `NonDominatedPriority`;
    random_seed is `seed` (Syne Tune's MOASHA samples configurations and brackets from
    numpy's global generator, which `simulate` seeds). MOASHA takes one direction for all
    its metrics: with mixed directions (e.g. params:max beside valid_acc:max) each metric's
    value is negated where it is maximised before MOASHA ranks it (a subclass overriding
    only `metric_dict`).

    ranked: Syne Tune 0.16's `NonDominatedPriority` returns `nondominated_sort`'s order (the
    indices of the recorded results, best first) where its `Bracket` expects each result's
    priority, so a new result is ranked by the index of the result sorted last, not by its
    own place (of four results at a rung, one dominating the other three gets rank 1/2 >
    1/3 and is stopped). ranked=True gives MOASHA each result's place in that same order instead
    (non-dominated sorting, epsilon-net within a front), which is what its rung rule means;
    False (default) runs Syne Tune's MOASHA as it ships. Either way the epsilon-net measures
    distances on the metrics' own (unscaled) values, as Syne Tune's does.
    """
    require("synetune", "Syne Tune's MOASHA")
    from syne_tune.blackbox_repository.blackbox import Blackbox
    from syne_tune.optimizer.schedulers.multiobjective.moasha import MOASHA
    from syne_tune.optimizer.schedulers.multiobjective.multiobjective_priority import (
        NonDominatedPriority,
    )
    from syne_tune.optimizer.schedulers.multiobjective.non_dominated_priority import (
        nondominated_sort,
    )

    class RankedPriority(NonDominatedPriority):
        """Each result's place in `nondominated_sort`'s order (0 = first)."""

        def priority_unsafe(self, objectives: np.ndarray) -> np.ndarray:
            order = nondominated_sort(X=objectives, dim=self.dim, max_items=None)
            places = np.empty(len(order), dtype=np.int64)
            places[np.asarray(order, dtype=np.int64)] = np.arange(len(order))
            return places

    blackbox = source if isinstance(source, Blackbox) else to_blackbox(source)
    pairs = blackbox_metrics(objectives, list(blackbox.objectives_names))
    metrics = [m for m, _ in pairs]
    top = int(max(blackbox.fidelity_values))
    minimise = {low for _, low in pairs}
    common = {
        "config_space": blackbox.configuration_space,
        "metrics": metrics,
        "time_attr": EPOCH,
        "multiobjective_priority": RankedPriority() if ranked else NonDominatedPriority(),
        "max_t": top,
        "grace_period": int(grace_period),
        "reduction_factor": reduction_factor,
        "brackets": int(brackets),
        "random_seed": int(seed),
    }
    if len(minimise) == 1:
        return MOASHA(do_minimize=minimise.pop(), **common)
    signs = {m: (1.0 if low else -1.0) for m, low in pairs}

    class SignedMOASHA(MOASHA):
        """MOASHA minimising each metric times its sign (-1 where it is maximised)."""

        def metric_dict(self, reported_results: dict[str, Any]) -> dict[str, Any]:
            return {m: reported_results[m] * signs[m] for m in self.metrics}

    return SignedMOASHA(do_minimize=True, **common)


def to_mo_results(
    frame: pd.DataFrame,
    table: Any,
    objectives: Sequence[Any],
    strategy: str = STRATEGY,
    seed: int = 0,
    budget: float | None = None,
    plan: Any = None,
) -> pd.DataFrame:
    """Syne Tune's results frame of one run (`synetune.simulate`) as the rows `compare
    --objectives` writes for a run: RESULT_COLUMNS, INCUMBENT_COLUMNS, EXTRA_COLUMNS, then
    raw, cell_<metric> per objective (the metric it is measured by: valid_acc by test_acc),
    hv and hv_regret.

    One row per result at the table's final epoch up to `budget` simulated seconds, in the
    order they came back (module docstring: only full trainings count, each is one
    evaluation). sim_seconds: its st_tuner_time; raw: the trial's cell; cell_<metric>: the
    cell's seed mean in `table`; hv: the normalised hypervolume of the cells so far
    (`ParetoReference.hv_trace`); hv_regret: the table's true front's minus that. The
    incumbent is the best validation accuracy the full trainings reported (their seed's),
    incumbent_test its cell's seed-mean test accuracy, regret the table's best such minus
    that. epoch is the final epoch, epochs_trained every epoch MOASHA trained so far (stopped
    trials included), strategy_seconds NaN (not measured). A run with no full training
    within the budget has no rows. plan: the `compare.objectives.ObjectivePlan` of
    `objectives` on `table` (None: resolved here).
    """
    from nasbench_lite.backends.tabular import TabularBenchmark
    from nasbench_lite.compare.objectives import CELL_PREFIX, resolve_objectives

    table = _open(table)
    parsed: tuple[Objective, ...] = parse_objectives(objectives)
    blackbox_metrics(parsed, objective_names(table))  # a clear error for a name it lacks
    plan = plan if plan is not None else resolve_objectives([str(o) for o in parsed], (), table)
    if plan.reference is None:
        raise InputError("to_mo_results needs two or more objectives (a front)")
    if plan.constraints:  # the true front would be over feasible cells, the run's over all
        raise InputError(
            f"to_mo_results takes a plan without constraints, got "
            f"{', '.join(map(str, plan.constraints))}: MOASHA searches unconstrained"
        )
    space, last = table.space, table.num_epochs
    names = [f"config_{name}" for name in _edge_names(space)]
    if missing := [c for c in (TIME, EPOCH, "metric_valid_acc", *names) if c not in frame]:
        raise InputError(
            f"Syne Tune results lack columns {missing} (a run on a to_blackbox blackbox has "
            f"them); has {list(frame.columns)}"
        )
    frame = frame.sort_values(TIME, kind="stable")
    frame = frame if budget is None else frame[frame[TIME] <= budget]
    epochs_so_far = np.arange(1, len(frame) + 1)  # every result is one epoch trained
    full = (frame[EPOCH] >= last).to_numpy()
    trained, frame = epochs_so_far[full], frame[full]
    n, op_id = len(frame), {op: i for i, op in enumerate(space.ops)}
    try:
        cells = np.array([[op_id[op] for op in ops] for ops in frame[names].to_numpy()])
    except KeyError as err:
        raise InputError(f"Syne Tune results hold an unknown op {err}") from None
    raw = space.indices(cells).astype(np.int64) if n else np.zeros(0, dtype=np.int64)
    bench = TabularBenchmark(table)
    valid = frame["metric_valid_acc"].to_numpy(np.float64)
    which, best = np.full(n, -1), -np.inf
    for i, value in enumerate(valid.tolist()):
        if value > best:  # NaN never counts
            best, which[i] = value, i
        elif i:
            which[i] = which[i - 1]
    known = which >= 0
    incumbent = np.where(known, raw[np.maximum(which, 0)], -1) if n else raw
    incumbent_test = np.full(n, np.nan)
    incumbent_test[known] = bench.mean_test_acc(incumbent[known])
    named = known & (np.diff(incumbent, prepend=-1) != 0)
    named[-1:] = known[-1:]
    label = np.full(n, "", dtype=object)
    label[named] = [space.format(int(r)) for r in incumbent[named]]
    ref = plan.reference
    values = np.column_stack([table.values(m, raw) if n else np.zeros(0)
                              for m in ref.measured]).astype(np.float64)  # fmt: skip
    hv = ref.hv_trace(values) if n else np.zeros(0)
    columns = {
        "strategy": [strategy] * n,
        "seed": np.full(n, seed, dtype=np.int64),
        "sim_seconds": frame[TIME].to_numpy(np.float64),
        "evals": np.arange(1, n + 1, dtype=np.int64),
        "incumbent_valid": np.where(known, valid[np.maximum(which, 0)], np.nan) if n else valid,
        "incumbent_test": incumbent_test,
        "regret": bench.best_test_acc - incumbent_test,
        "incumbent_raw": incumbent,
        "incumbent_cell": label,
        "epoch": np.full(n, last, dtype=np.int64),
        "epochs_trained": trained.astype(np.int64),
        "strategy_seconds": np.full(n, np.nan),
        "source_seconds": np.zeros(n),
        "raw": raw,
        **{f"{CELL_PREFIX}{m}": values[:, i] for i, m in enumerate(ref.measured)},
        "hv": hv,
        "hv_regret": ref.true_hv - hv,
    }
    order = [*RESULT_COLUMNS, *INCUMBENT_COLUMNS, *EXTRA_COLUMNS]
    return pd.DataFrame(columns, columns=[*order, *(c for c in columns if c not in order)])
