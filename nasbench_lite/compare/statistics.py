"""Statistics of a strategy comparison: final regret, ranks, Friedman and Wilcoxon-Holm tests.

Follows the protocol of NAS-Bench-101 (Ying et al., 2019) for anytime regret and the
rank-based tests recommended by Demsar (2006, "Statistical comparisons of classifiers over
multiple data sets"): a Friedman test over all strategies, then paired Wilcoxon signed-rank
tests of each strategy against random search with Holm's step-down correction. Seeds are the
blocks: every strategy ran with the same seeds, so per-seed final regrets are paired.

Input everywhere is a results frame in the ``results.csv`` format: one row per recorded step
with columns ``strategy, seed, sim_seconds, evals, incumbent_valid, incumbent_test, regret``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from nasbench_lite.errors import InputError
from nasbench_lite.search.trajectory import RESULT_COLUMNS

WILCOXON_COLUMNS = [
    "strategy",
    "pairs",
    "wins",
    "ties",
    "losses",
    "median_diff",
    "lower",
    "statistic",
    "pvalue",
    "pvalue_holm",
    "note",
]


@dataclass(frozen=True)
class FriedmanResult:
    """Friedman test outcome: statistic and p-value are NaN when the test does not apply."""

    name: str
    statistic: float
    pvalue: float
    note: str = ""


def check_results(frame: pd.DataFrame) -> None:
    """Raise ValueError unless ``frame`` has the results columns and at least one row."""
    missing = [c for c in RESULT_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"results frame lacks columns {missing}; has {list(frame.columns)}")
    if len(frame) == 0:
        raise InputError("results frame has no rows")


def strategy_order(frame: pd.DataFrame) -> list[str]:
    """Strategy names in order of first appearance in ``frame``."""
    return list(dict.fromkeys(frame["strategy"].tolist()))


def final_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The last recorded step of every (strategy, seed) run, one row per run."""
    check_results(frame)
    ordered = frame.sort_values(["strategy", "seed", "sim_seconds", "evals"], kind="stable")
    return ordered.groupby(["strategy", "seed"], sort=False).tail(1).reset_index(drop=True)


def final_matrix(
    frame: pd.DataFrame, strategies: list[str] | None = None, column: str = "regret"
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Final ``column`` value per seed and strategy.

    Returns (strategies, seeds (n_seeds,) int64, matrix (n_seeds, n_strategies) float64).
    Raises ValueError if a strategy lacks a seed another one has (the runs are not paired).
    """
    strategies = strategy_order(frame) if strategies is None else list(strategies)
    last = final_rows(frame)
    unknown = sorted(set(strategies) - set(last["strategy"]))
    if unknown:
        raise InputError(f"strategies {unknown} have no rows in the results frame")
    wide = last.pivot(index="seed", columns="strategy", values=column)[strategies]
    ran = set(zip(last["seed"].tolist(), last["strategy"].tolist(), strict=True))
    gaps = {s: [int(seed) for seed in wide.index if (seed, s) not in ran] for s in strategies}
    gaps = {s: g for s, g in gaps.items() if g}
    if gaps:
        raise InputError(f"runs are not paired: seeds missing per strategy {gaps}")
    values = wide.to_numpy(np.float64)
    if not np.isfinite(values).all():
        finite = np.isfinite(values)
        bad = {s: sorted(wide.index[~finite[:, j]].tolist())
               for j, s in enumerate(strategies) if not finite[:, j].all()}  # fmt: skip
        raise InputError(f"final {column} is not a number (NaN or infinite) in the runs of "
                         f"these seeds per strategy: {bad}")  # fmt: skip
    return strategies, wide.index.to_numpy(np.int64), values


def row_tolerances(tolerance, rows: int) -> np.ndarray:
    """``tolerance`` (a number, or one per row: blocks of several tasks) as (rows,) float64;
    InputError unless every value is finite and >= 0."""
    tol = np.broadcast_to(np.asarray(tolerance, dtype=np.float64), (rows,)) if np.ndim(
        tolerance) == 0 else np.asarray(tolerance, dtype=np.float64)  # fmt: skip
    if tol.shape != (rows,) or not np.all(np.isfinite(tol)) or np.any(tol < 0):
        raise InputError(f"tolerance must be finite numbers >= 0, one or one per row "
                         f"({rows}), got {tolerance!r}")  # fmt: skip
    return tol


def tied_ranks(matrix: np.ndarray, tolerance=0.0) -> np.ndarray:
    """Per-row ranks, 1 = lowest; two values within ``tolerance`` of each other tie.

    Pair by pair: a value's rank is 1 + the number of values more than ``tolerance`` below
    it + half the number of other values within ``tolerance`` of it. So two strategies tie
    exactly when the Wilcoxon tests count their difference as zero, whatever the others
    scored; ranks still sum to k(k + 1) / 2 over a row of k, a lower value never ranks
    worse, and with tolerance 0 these are the usual average ranks. matrix:
    (n_blocks, n_strategies) finite floats; tolerance: a number or (n_blocks,) (each
    block's own). Returns the shape of matrix.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] == 0:
        raise InputError(f"matrix must be 2-D with at least one row, got shape {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise InputError("values to rank must be finite numbers (NaN or infinite found)")
    tolerances = row_tolerances(tolerance, matrix.shape[0])[:, None, None]
    diff = matrix[:, :, None] - matrix[:, None, :]  # [b, i, j] = value i - value j
    below = (diff > tolerances).sum(axis=2)
    within = (np.abs(diff) <= tolerances).sum(axis=2) - 1  # not counting itself
    return 1.0 + below + within / 2.0


def average_ranks(matrix: np.ndarray, tolerance=0.0) -> np.ndarray:
    """Mean rank of each column over rows, rank 1 = lowest value; values within
    ``tolerance`` tie (`tied_ranks`) and ties get the average rank.

    matrix: (n_blocks, n_strategies) float. Returns (n_strategies,) float64.
    """
    return tied_ranks(matrix, tolerance).mean(axis=0)


def summarise(
    frame: pd.DataFrame,
    strategies: list[str] | None = None,
    tolerance: float = 0.0,
    column: str = "regret",
) -> pd.DataFrame:
    """Per-strategy summary of final regret (or of another regret ``column``, e.g. a
    multi-objective comparison's hv_regret: the regret_* columns then hold it), in the order
    of ``strategies``.

    ``tolerance``: regret differences up to it are ties (the table's noise floor, see
    `nasbench_lite.table.noise`), in the ranks and in found_best.
    Columns: strategy, seeds, regret_mean, regret_sem (standard error, NaN for one seed),
    regret_median, found_best (share of seeds with final regret <= tolerance), avg_rank,
    evals_mean,
    strategy_ms (the strategy's measured init/ask/tell milliseconds per evaluation, mean over
    seeds; NaN when the frame has no strategy_seconds).
    """
    strategies, _, regret = final_matrix(frame, strategies, column=column)
    _, _, evals = final_matrix(frame, strategies, column="evals")
    per_eval = np.full(len(strategies), np.nan)
    if "strategy_seconds" in frame.columns:
        last = final_rows(frame)
        wide = last.pivot(index="seed", columns="strategy", values="strategy_seconds")
        seconds = wide.reindex(columns=strategies).to_numpy(np.float64)
        if seconds.shape == evals.shape:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a strategy never timed
                per_eval = np.nanmean(1000 * seconds / evals, axis=0)
    n = regret.shape[0]
    sem = regret.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full(len(strategies), np.nan)
    return pd.DataFrame(
        {
            "strategy": strategies,
            "seeds": n,
            "regret_mean": regret.mean(axis=0),
            "regret_sem": sem,
            "regret_median": np.median(regret, axis=0),
            "found_best": (regret <= tolerance).mean(axis=0),
            "avg_rank": average_ranks(regret, tolerance),
            "evals_mean": evals.mean(axis=0),
            "strategy_ms": per_eval,
        }
    )


def friedman(matrix: np.ndarray, tolerance=0.0) -> FriedmanResult:
    """Friedman test that all strategies (columns) share one distribution over seeds (rows).

    The test runs on the per-seed ranks, values within ``tolerance`` tied (`tied_ranks`):
    the statistic with its correction for ties, (k - 1) (sum_j R_j^2 - n^2 k (k+1)^2 / 4) /
    (sum_ij r_ij^2 - n k (k+1)^2 / 4) for column rank sums R_j (Conover, "Practical
    Nonparametric Statistics", 1999), against chi-squared with k - 1 degrees of freedom;
    with plain ranks it is scipy's friedmanchisquare. Needs >= 3 strategies and >= 2 seeds;
    reports NaN with a note otherwise, and when every seed ties all strategies (the
    statistic is undefined there).
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    n, k = matrix.shape
    name = "Friedman"
    if k < 3:
        return FriedmanResult(name, np.nan, np.nan, f"needs >= 3 strategies, got {k}")
    if n < 2:
        return FriedmanResult(name, np.nan, np.nan, f"needs >= 2 blocks (seeds), got {n}")
    ranks = tied_ranks(matrix, tolerance)
    if np.all(ranks == ranks[:, :1]):
        return FriedmanResult(name, np.nan, np.nan, "all strategies tied on every seed")
    centre = n * k * (k + 1) ** 2 / 4
    between = float(np.sum(ranks.sum(axis=0) ** 2) - n * centre)
    within = float(np.sum(ranks**2) - centre)
    statistic = (k - 1) * between / within
    return FriedmanResult(name, statistic, float(sps.chi2.sf(statistic, k - 1)))


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values, in the input order.

    The i-th smallest of m p-values is multiplied by (m - i + 1), capped at 1, and made
    non-decreasing along the sorted order. pvalues: (m,) float in [0, 1].
    """
    p = np.asarray(pvalues, dtype=np.float64)
    if p.ndim != 1 or np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise InputError(f"p-values must be a 1-D array of numbers in [0, 1], got {p}")
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(stepped) if m else stepped
    return adjusted


def wilcoxon_vs_baseline(
    matrix: np.ndarray,
    strategies: list[str],
    baseline: str = "random_search",
    tolerance=0.0,
) -> pd.DataFrame:
    """Paired Wilcoxon signed-rank test of each strategy against ``baseline``, Holm-corrected.

    matrix: (n_seeds, n_strategies) final regret, columns in the order of ``strategies``.
    Differences of at most ``tolerance`` in size count as zero (ties), and zero differences
    are dropped (Wilcoxon's convention); a strategy whose differences are
    all zero, or that has fewer than two seeds, gets p = 1 and a note. Columns: strategy,
    pairs (non-zero differences), wins, ties, losses (wins: lower regret than the baseline),
    median_diff (strategy minus baseline, as measured: no tolerance), lower (the direction
    the test weighs: the signed ranks of the strategy's lower regrets outweigh those of its
    higher ones), statistic, pvalue, pvalue_holm, note.
    """
    if baseline not in strategies:
        raise InputError(f"baseline {baseline!r} is not among the strategies {strategies}")
    matrix = np.asarray(matrix, dtype=np.float64)
    base = matrix[:, strategies.index(baseline)]
    rows = []
    for j, name in enumerate(strategies):
        if name == baseline:
            continue
        raw = matrix[:, j] - base
        diff = np.where(np.abs(raw) <= row_tolerances(tolerance, len(raw)), 0.0, raw)
        nonzero = int(np.count_nonzero(diff))
        signed = sps.rankdata(np.abs(diff[diff != 0])) if nonzero else np.zeros(0)
        lower = bool(signed[diff[diff != 0] < 0].sum() > signed[diff[diff != 0] > 0].sum())
        statistic, pvalue, note = np.nan, 1.0, ""
        if nonzero == 0:
            note = "all differences zero"
        elif diff.size < 2:
            note = "needs >= 2 seeds"
        else:
            result = sps.wilcoxon(diff, zero_method="wilcox")
            statistic, pvalue = float(result.statistic), float(result.pvalue)
        rows.append(
            {
                "strategy": name,
                "pairs": nonzero,
                "wins": int(np.sum(diff < 0)),
                "ties": int(np.sum(diff == 0)),
                "losses": int(np.sum(diff > 0)),
                "median_diff": float(np.median(raw)),
                "lower": lower,
                "statistic": statistic,
                "pvalue": pvalue,
                "note": note,
            }
        )
    table = pd.DataFrame(rows, columns=WILCOXON_COLUMNS[:-2] + WILCOXON_COLUMNS[-1:])
    table.insert(len(table.columns) - 1, "pvalue_holm", holm(table["pvalue"].to_numpy()))
    return table


def step_values(times: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Evaluate a right-continuous step function on ``grid``.

    times: (k,) non-decreasing record times; values: (k,) value from each time on;
    grid: (g,). Returns (g,) float64: the value of the last record with time <= grid point,
    NaN before the first record (no incumbent yet).
    """
    times = np.asarray(times, dtype=np.float64)
    if np.any(np.diff(times) < 0):
        raise InputError("step times must be non-decreasing")
    idx = np.searchsorted(times, np.asarray(grid, dtype=np.float64), side="right") - 1
    values = np.asarray(values, dtype=np.float64)
    if values.shape != times.shape:
        raise InputError(f"times {times.shape} and values {values.shape} differ in shape")
    if times.size == 0:
        return np.full(idx.shape, np.nan)
    return np.where(idx >= 0, values[np.maximum(idx, 0)], np.nan)


def anytime_curves(
    frame: pd.DataFrame, axis: str, grid: np.ndarray, column: str = "regret"
) -> dict[str, np.ndarray]:
    """Regret (or ``column``) of every run resampled as a step function onto ``grid``.

    axis: "sim_seconds" or "evals". Returns {strategy: (n_seeds, g) float64}, rows in seed
    order, NaN before a run's first finished evaluation. On the time axis a run's last
    incumbent holds to the end of the grid (it is what the run returns when the budget runs
    out); on the evaluations axis a run is NaN beyond the evaluations it actually finished,
    so no run is credited with evaluations it never made.
    """
    if axis not in ("sim_seconds", "evals"):
        raise InputError(f"axis must be 'sim_seconds' or 'evals', got {axis!r}")
    check_results(frame)
    grid = np.asarray(grid, dtype=np.float64)
    ordered = frame.sort_values(["strategy", "seed", "sim_seconds", "evals"], kind="stable")
    curves: dict[str, list[np.ndarray]] = {s: [] for s in strategy_order(frame)}
    for (name, _), run in ordered.groupby(["strategy", "seed"], sort=True):
        x = run[axis].to_numpy()
        values = step_values(x, run[column].to_numpy(), grid)
        if axis == "evals":
            values[grid > x[-1]] = np.nan
        curves[name].append(values)
    return {name: np.vstack(rows) for name, rows in curves.items()}


def mean_and_sem(curves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error over runs (axis 0) of (n_runs, g) curves.

    A grid point is NaN in both outputs unless every run has a value there (an incumbent,
    and on the evaluations axis not yet finished), so a mean is never taken over a subset
    of seeds. The standard error is NaN for a single run.
    """
    curves = np.asarray(curves, dtype=np.float64)
    complete = ~np.isnan(curves).any(axis=0)
    filled = np.where(complete, curves, 0.0)
    mean = np.where(complete, filled.mean(axis=0), np.nan)
    n = curves.shape[0]
    sem = filled.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full(curves.shape[1], np.nan)
    return mean, np.where(complete, sem, np.nan)
