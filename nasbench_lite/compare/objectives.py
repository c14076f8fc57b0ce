"""A comparison's objectives and constraints, resolved once against its table, and the columns
they add to each run's rows.

With two or more objectives each run's rows carry the evaluated cell (`raw`), its measured
value of every objective (`cell_<metric>`: seed means from the table, a validation
objective measured on the test split as regret is), and the hypervolume of the run's
attained front so far (`hv`) with its regret against the table's true front (`hv_regret`):
what the report rebuilds fronts and statistics from (`compare.pareto`). With a constraint the
incumbent is the best cell among the feasible ones evaluated, and regret is measured against
the best feasible cell of the table; a run that has evaluated no feasible cell yet has regret
equal to that cell's test accuracy (as if it held a cell of accuracy 0).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from nasbench_lite.compare.pareto import ParetoReference, measured_metric
from nasbench_lite.errors import InputError
from nasbench_lite.search.objectives import (
    DEFAULT_OBJECTIVES,
    Constraint,
    Objective,
    parse_constraint,
    parse_objectives,
)
from nasbench_lite.search.trajectory import Trajectory, trajectory_from_rows

logger = logging.getLogger(__name__)

# Prefix of the per-evaluation measured objective columns of results.csv.
CELL_PREFIX = "cell_"


@dataclass(frozen=True)
class ObjectivePlan:
    """objectives: what strategies are told to optimise; constraints: feasibility rules;
    reference: what fronts are measured against (None with one objective); best_feasible:
    the best seed-mean test accuracy among feasible cells (regret's reference under a
    constraint; None without one)."""

    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...] = ()
    reference: ParetoReference | None = None
    best_feasible: float | None = None

    @property
    def multi(self) -> bool:
        return self.reference is not None

    def record(self) -> dict[str, Any]:
        """The settings as plain data (plan.json, setup.json)."""
        out: dict[str, Any] = {
            "objectives": [str(o) for o in self.objectives],
            "constraints": [str(c) for c in self.constraints],
        }
        if self.reference is not None:
            ref = self.reference
            out.update(measured=list(ref.measured), best=list(ref.best),
                       worst=list(ref.worst), reference_point=list(ref.reference_in_units),
                       front=[list(p) for p in ref.front], true_hv=ref.true_hv)  # fmt: skip
        if self.best_feasible is not None:
            out["best_feasible"] = self.best_feasible
        return out

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ObjectivePlan:
        """The plan `record` describes (a report rebuilt from setup.json)."""
        objectives = parse_objectives(record["objectives"])
        reference = None
        if "front" in record:
            reference = ParetoReference(
                objectives, tuple(record["measured"]), tuple(record["best"]),
                tuple(record["worst"]), tuple(map(tuple, record["front"])),
                float(record["true_hv"]),
            )  # fmt: skip
        constraints = tuple(parse_constraint(c) for c in record.get("constraints", ()))
        return cls(objectives, constraints, reference, record.get("best_feasible"))


def resolve_objectives(
    objectives: Sequence[str] | None, constraints: Sequence[str], table: Any
) -> ObjectivePlan | None:
    """The plan of `objectives` and `constraints` (strings, see `search.objectives`) on
    `table`; None when neither is given (a plain single-objective comparison). InputError for
    a metric the table does not hold, no feasible trained class, or constant objectives."""
    if not objectives and not constraints:
        return None
    parsed = parse_objectives(objectives) if objectives else DEFAULT_OBJECTIVES
    rules = tuple(parse_constraint(c) for c in constraints)
    if len(parsed) == 1 and parsed[0] != DEFAULT_OBJECTIVES[0]:
        raise InputError(
            f"one objective {parsed[0]} other than valid_acc:max: give two or more objectives "
            f"(a front), or valid_acc:max with a constraint"
        )
    known = set(table.metrics)
    for name in [o.name for o in parsed] + [c.name for c in rules]:
        if name not in known:
            hint = (f"; `nasbench-lite latency --table {table.source}` measures it"
                    if name.startswith("latency_") else "")  # fmt: skip
            raise InputError(
                f"metric {name!r} is not in table {table.source}; it holds "
                f"{', '.join(m for m in table.metrics if not m.startswith('test_'))}{hint}"
            )
    raws = np.asarray(table.row_raw)[np.asarray(table.done)]
    for name in dict.fromkeys([o.name for o in parsed] + [c.name for c in rules]):
        _check_measured(table, name, raws)
    feasible = feasible_mask(table, rules, raws)
    if rules and feasible.all():  # e.g. a latency bound given in ms: it is in seconds
        logger.warning("every trained class of %s meets %s: the constraint changes nothing "
                       "(bounds are in the metric's stored unit: seconds for latency)",
                       table.source, ", ".join(map(str, rules)))  # fmt: skip
    if not feasible.any():
        raise InputError(
            f"no trained class of table {table.source} meets {', '.join(map(str, rules))}"
        )
    best_feasible = None
    if rules:  # in float64 over the seeds, as the backends' regret reads the incumbent's
        rows = np.asarray(table.raw_to_row)[raws[feasible]]
        final = np.asarray(table.metric("test_acc"))[rows][:, :, -1].astype(np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a row whose seeds all diverged
            best_feasible = float(np.nanmax(np.nanmean(final, axis=1)))
        if not np.isfinite(best_feasible):  # every feasible class diverged on every seed
            raise InputError(
                f"no class of table {table.source} that meets {', '.join(map(str, rules))} "
                "has a finite test accuracy (all diverged): there is no best feasible cell"
            )
    reference = None
    if len(parsed) > 1:
        measured = tuple(measured_metric(o.name, table.metrics) for o in parsed)
        values = np.column_stack([table.values(m, raws[feasible]) for m in measured])
        reference = ParetoReference.of_values(parsed, measured, values)
    return ObjectivePlan(parsed, rules, reference, best_feasible)


def check_backend(plan: ObjectivePlan | None, benchmark: Any, table: Any, backend: str) -> None:
    """InputError when the backend (named `backend`) cannot serve `plan`: an objective its
    evaluations do not carry (the strategies would be told nothing of it), or, for a backend
    other than the table's lookups, which may propose cells the table lacks, a partial table
    (what is measured of a run's cells comes from the table)."""
    if plan is None:
        return
    context = getattr(benchmark, "context", None)
    carried = context().metrics if callable(context) else ()
    missing = [o.name for o in plan.objectives if carried and o.name not in carried]
    if missing:
        raise InputError(
            f"objectives {missing}: the {backend} backend's evaluations do "
            f"not carry them (they carry {', '.join(carried)}); use the tabular backend"
        )
    partial = (np.asarray(table.raw_to_row) < 0).any() or not np.asarray(table.done).all()
    if partial and backend != "tabular":
        raise InputError(
            f"objectives and constraints with the {backend} backend need a "
            f"complete table: {table.source} lacks classes its cells may fall in"
        )


def live_reference_note(backend: str, table: Any) -> str | None:
    """What regret is measured against when live training takes it from a partial table
    (the report's "regret measured against" row; None otherwise): an incumbent in a class
    the table lacks has no seed mean, so its own run's test accuracy stands in for it."""
    done = np.asarray(table.done)
    if backend != "live" or not ((np.asarray(table.raw_to_row) < 0).any() or not done.all()):
        return None
    return (f"the best seed mean of the {int(done.sum()):,} trained classes of "
            f"{table.space.num_unique:,} that {table.source} holds; an incumbent in a class "
            "it lacks is scored by its own run's test accuracy (one training seed, not a seed "
            "mean), so its regret carries that run's noise and can fall below 0")  # fmt: skip


def _check_measured(table: Any, name: str, raws: np.ndarray) -> None:
    """InputError when per-class metric `name` is missing (NaN) for some trained class (a
    measurement still running, e.g. `nasbench-lite latency`)."""
    if "seeds" in table.metric_axes.get(name, ("seeds",)):
        return  # per-run values: NaN is a diverged run, which search handles
    values = np.asarray(table.values(name, raws), dtype=np.float64)
    missing = int(np.isnan(values).sum())
    if missing:
        hint = (f"; `nasbench-lite latency --table {table.source}` measures the rest (it resumes)"
                if name.startswith("latency_") else "")  # fmt: skip
        raise InputError(
            f"metric {name!r} of table {table.source} is missing for {missing:,} of "
            f"{len(values):,} trained classes{hint}"
        )


def feasible_mask(table: Any, constraints: Sequence[Constraint], raws: np.ndarray) -> np.ndarray:
    """(n,) bool: which raw cells (n,) meet every constraint, judged by the seed-mean value."""
    raws = np.asarray(raws, dtype=np.int64)
    keep = np.ones(len(raws), bool)
    for rule in constraints:
        keep &= rule.holds(table.values(rule.name, raws) if len(raws) else np.zeros(0))
    return keep


def run_frame(
    trajectory: Trajectory, frame: pd.DataFrame, table: Any, plan: ObjectivePlan, benchmark: Any
) -> pd.DataFrame:
    """A run's rows (`Trajectory.to_frame`) with what `plan` adds (module docstring)."""
    raws = trajectory.raw
    feasible = feasible_mask(table, plan.constraints, raws)
    if plan.constraints:
        constrained = _constrained(trajectory, feasible, plan.best_feasible, benchmark)
        columns = ["incumbent_valid", "incumbent_test", "regret", "incumbent_raw",
                   "incumbent_cell"]  # fmt: skip
        again = constrained.to_frame(trajectory.strategy, trajectory.seed)
        frame = frame.assign(**{c: again[c].to_numpy() for c in columns})
    frame = frame.assign(raw=raws)
    if plan.constraints:
        frame = frame.assign(feasible=feasible)
    if plan.reference is None:
        return frame
    ref = plan.reference
    values = np.column_stack([table.values(m, raws) if len(raws) else np.zeros(0)
                              for m in ref.measured]).astype(np.float64)  # fmt: skip
    shown = {f"{CELL_PREFIX}{m}": values[:, i] for i, m in enumerate(ref.measured)}
    values[~feasible] = np.nan  # an infeasible cell never joins the front
    # Nor does an evaluation whose run diverged (the strategy was told NaN): as the
    # incumbent rule, it counts at no fidelity, though its class's seed mean is finite.
    values[~np.isfinite(np.asarray(trajectory.valid_acc, np.float64))] = np.nan
    hv = ref.hv_trace(values, trajectory.epoch)
    return frame.assign(**shown, hv=hv, hv_regret=ref.true_hv - hv)


class _FeasibleReference:
    """The benchmark as `trajectory_from_rows` reads it, with the best feasible cell as the
    regret reference."""

    def __init__(self, benchmark: Any, best: float) -> None:
        self.space, self.best_test_acc, self._benchmark = benchmark.space, best, benchmark

    def mean_test_acc(self, raws: np.ndarray) -> np.ndarray:
        return self._benchmark.mean_test_acc(raws)


def _constrained(
    trajectory: Trajectory, feasible: np.ndarray, best: float, benchmark: Any
) -> Trajectory:
    """The trajectory whose incumbent is chosen among the feasible evaluations only."""
    t = trajectory
    valid = np.where(feasible, t.valid_acc, np.nan)
    trained = np.diff(t.epochs_trained, prepend=0)
    rows = list(zip(t.sim_seconds, t.raw, valid, t.test_acc, t.overhead_seconds, t.epoch,
                    trained, strict=True))  # fmt: skip
    run = {name: getattr(t, name) for name in
           ("strategy", "seed", "workers", "budget", "charge_overhead", "end_seconds",
            "strategy_done", "source_seconds")}  # fmt: skip
    out = trajectory_from_rows(rows, _FeasibleReference(benchmark, best), run)
    # No feasible cell yet: regret as if the incumbent had accuracy 0.
    regret = np.where(np.isnan(out.regret) & (out.evals > 0), best, out.regret)
    return _replace(out, regret=regret)


def _replace(trajectory: Trajectory, **changes: Any) -> Trajectory:
    import dataclasses

    return dataclasses.replace(trajectory, **changes)
