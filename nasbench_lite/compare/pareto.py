"""Pareto fronts and hypervolume: a run's attained front over simulated time, the table's true
front and the reference point they are measured against.

Hypervolume (Zitzler & Thiele 1998) and the empirical attainment function (Fonseca et al.
2001; the median attained front is its 50% surface) come from moocore (López-Ibáñez et al.),
installed with the `multiobjective` extra; nothing here computes them by hand.

Every objective is normalised by the table: 0 at the best value any (feasible, trained) class
has, 1 at the worst, so a hypervolume is unitless and the same objectives on the same table
always give the same numbers. The reference point is 1 + REFERENCE_MARGIN in every normalised
objective (in the metric's own units: worst + REFERENCE_MARGIN x (worst - best)), so the
extreme cells of the true front add volume too. The true front's hypervolume is the most any
run can reach; HV regret = that minus the run's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nasbench_lite.errors import InputError
from nasbench_lite.extras import require
from nasbench_lite.search.objectives import Objective
from nasbench_lite.table.fronts import nondominated  # the table cards' fronts use it too

REFERENCE_MARGIN = 0.1


def _moocore():
    require("multiobjective", "hypervolume and Pareto fronts", modules=("moocore",))
    import moocore

    return moocore


def hypervolume(points: np.ndarray, reference: Sequence[float]) -> float:
    """Hypervolume dominated by `points` (n, k) float (minimised) up to `reference` (k,);
    points that do not dominate the reference add nothing; 0 for no points."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, len(reference))
    points = points[np.isfinite(points).all(axis=1)]
    if len(points) == 0:
        return 0.0
    return float(_moocore().hypervolume(points, ref=np.asarray(reference, dtype=np.float64)))


def measured_metric(name: str, metrics: Sequence[str]) -> str:
    """The metric a report measures objective `name` by: a validation metric's test
    counterpart when the table holds one (as regret measures the incumbent's test accuracy),
    else the metric itself."""
    if name.startswith("valid_") and f"test_{name[len('valid_') :]}" in metrics:
        return f"test_{name[len('valid_') :]}"
    return name


@dataclass(frozen=True)
class ParetoReference:
    """What fronts of one table and objective tuple are measured against.

    objectives: the objectives; measured: the metric each is measured by (`measured_metric`);
    best, worst: (k,) its best and worst seed-mean value over the table's feasible trained
    classes, in the metric's units; front: (p, k) the true Pareto front in those units, best
    first in the first objective; true_hv: the front's normalised hypervolume.
    """

    objectives: tuple[Objective, ...]
    measured: tuple[str, ...]
    best: tuple[float, ...]
    worst: tuple[float, ...]
    front: tuple[tuple[float, ...], ...]
    true_hv: float

    @classmethod
    def of_values(
        cls, objectives: Sequence[Objective], measured: Sequence[str], values: np.ndarray
    ) -> ParetoReference:
        """From the measured values (m, k) of every feasible trained class; InputError when an
        objective has one value throughout (nothing to trade off) or no class is finite."""
        values = np.asarray(values, dtype=np.float64)
        values = values[np.isfinite(values).all(axis=1)]
        if len(values) == 0:
            raise InputError("no trained class of the table has every objective measured")
        signs = np.array([-1.0 if o.direction == "max" else 1.0 for o in objectives])
        low, high = (values * signs).min(axis=0) * signs, (values * signs).max(axis=0) * signs
        flat = [str(o) for o, a, b in zip(objectives, low, high, strict=True) if a == b]
        if flat:
            raise InputError(
                f"objectives {flat} have one value over the table's classes: nothing to trade off"
            )
        reference = cls(tuple(objectives), tuple(measured), tuple(low), tuple(high), (), 0.0)
        normal = reference.normalised(values)
        keep = nondominated(normal)
        front = values[keep][np.argsort(normal[keep, 0], kind="stable")]
        true_hv = hypervolume(normal[keep], reference.reference_point)
        return cls(reference.objectives, reference.measured, reference.best, reference.worst,
                   tuple(map(tuple, front.tolist())), true_hv)  # fmt: skip

    @property
    def reference_point(self) -> np.ndarray:
        """(k,) the normalised reference point: 1 + REFERENCE_MARGIN in every objective."""
        return np.full(len(self.objectives), 1.0 + REFERENCE_MARGIN)

    @property
    def reference_in_units(self) -> tuple[float, ...]:
        """The reference point in each metric's own units."""
        best, worst = np.array(self.best), np.array(self.worst)
        return tuple((best + (1.0 + REFERENCE_MARGIN) * (worst - best)).tolist())

    def normalised(self, values: np.ndarray) -> np.ndarray:
        """(n, k) measured values as (n, k) float64 to minimise: 0 at `best`, 1 at `worst`."""
        best, worst = np.array(self.best), np.array(self.worst)
        return (np.asarray(values, dtype=np.float64) - best) / (worst - best)

    def hv_trace(self, values: np.ndarray, level: np.ndarray | None = None) -> np.ndarray:
        """(n,) the hypervolume of the attained front after each of n evaluations in order.

        values: (n, k) the evaluated cells' measured values (a NaN row, e.g. an infeasible or
        diverged cell, never joins the front). level: (n,) the epoch each evaluation answered
        at (None: all full trainings); as the incumbent rule, only the evaluations at the
        highest epoch with a finite (feasible, not diverged) result so far count, so a cell
        stopped early never stands on the front once full trainings exist, and a NaN at a
        new epoch does not empty the front.
        """
        normal = self.normalised(values).reshape(len(values), -1)
        n = len(normal)
        level = np.zeros(n, np.int64) if level is None else np.asarray(level, np.int64)
        ref = self.reference_point
        trace = np.zeros(n)
        front = np.zeros((0, normal.shape[1]))
        current, hv = None, 0.0
        for i in range(n):
            point = normal[i]
            finite = bool(np.isfinite(point).all())
            if finite and (current is None or level[i] > current):
                current, front, hv = int(level[i]), front[:0], 0.0
            if finite and level[i] == current:
                if not (front <= point).all(axis=1).any():  # not weakly dominated: it joins
                    front = np.vstack([front[~(point <= front).all(axis=1)], point])
                    hv = hypervolume(front, ref)
            trace[i] = hv
        return trace


def attained_front(values: np.ndarray, reference: ParetoReference) -> np.ndarray:
    """(p, k) the non-dominated rows of `values` (n, k) (finite rows only), in metric units."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values).all(axis=1)]
    return values[nondominated(reference.normalised(values))]


def median_front(fronts: Sequence[np.ndarray], reference: ParetoReference) -> np.ndarray:
    """(p, k) the median attained front of several runs (the empirical attainment function's
    50% surface: the points at least half of the runs attain), in metric units; rows sorted
    by the first normalised objective."""
    sets = [reference.normalised(f) for f in fronts]
    rows = [s for s in sets if len(s)]
    if not rows:
        return np.zeros((0, len(reference.objectives)))
    data = np.vstack(rows)
    ids = np.concatenate([np.full(len(s), i) for i, s in enumerate(rows)])
    if len(rows) < len(sets):  # a run with an empty front attains nothing
        pad = np.full((1, data.shape[1]), 1e9)
        for extra in range(len(sets) - len(rows)):
            data, ids = np.vstack([data, pad]), np.append(ids, len(rows) + extra)
    surface = np.asarray(_moocore().eaf(data, sets=ids, percentiles=[50]))[:, :-1]
    surface = surface[(surface < 1e8).all(axis=1)]
    surface = surface[np.argsort(surface[:, 0], kind="stable")]
    best, worst = np.array(reference.best), np.array(reference.worst)
    return best + surface * (worst - best)
