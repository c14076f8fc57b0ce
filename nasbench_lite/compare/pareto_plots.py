"""Plots of a multi-objective comparison: hypervolume regret over simulated time, and each
strategy's median attained front beside the table's true front (two objectives).

Drawn as `compare.plots` draws (matplotlib's object API, the same strategy styles, byte-stable
files). HV regret is 0 only when a run attains the whole true front; it is drawn as
``hv_regret + HV_FLOOR`` on a log axis all the same.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nasbench_lite.compare import statistics as stats
from nasbench_lite.compare.objectives import CELL_PREFIX, ObjectivePlan
from nasbench_lite.compare.pareto import attained_front, median_front
from nasbench_lite.compare.plots import _figure, _save, strategy_style, time_grid

HV_FLOOR = 1e-4
PARETO_PLOT_NAMES = ("hv_regret_vs_time", "median_fronts")


def run_fronts(frame: pd.DataFrame, plan: ObjectivePlan) -> dict[str, list[np.ndarray]]:
    """Each run's final attained front, {strategy: [(p, k) per seed, in seed order]}: the
    non-dominated feasible cells among its evaluations at its highest epoch with a finite
    feasible result (as `ParetoReference.hv_trace` counts them)."""
    ref = plan.reference
    columns = [f"{CELL_PREFIX}{m}" for m in ref.measured]
    fronts: dict[str, list[np.ndarray]] = {s: [] for s in stats.strategy_order(frame)}
    for (name, _), run in frame.groupby(["strategy", "seed"], sort=True):
        values = run[columns].to_numpy(np.float64)
        usable = np.isfinite(values).all(axis=1)
        if "feasible" in run.columns:
            usable &= run["feasible"].to_numpy(bool)
        epochs = run["epoch"].to_numpy()
        keep = usable & (epochs == epochs[usable].max()) if usable.any() else usable
        fronts[name].append(attained_front(values[keep], ref))
    return fronts


def plot_hv_regret_vs_time(
    frame: pd.DataFrame, out_dir: Path, budget_seconds: float | None = None
) -> list[Path]:
    """Mean HV regret over seeds (± s.e.) vs simulated seconds, log-log."""
    grid = time_grid(frame, budget_seconds)
    fig, ax = _figure()
    curves = stats.anytime_curves(frame, "sim_seconds", grid, column="hv_regret")
    for name, runs in curves.items():
        mean, sem = stats.mean_and_sem(runs)
        style = strategy_style(name)
        ax.plot(grid, mean + HV_FLOOR, label=f"{name} (n={runs.shape[0]})", **style)
        if runs.shape[0] > 1:
            low = np.maximum(mean - sem, 0.0) + HV_FLOOR
            ax.fill_between(grid, low, mean + sem + HV_FLOOR, color=style["color"], alpha=0.15)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("simulated seconds")
    ax.set_ylabel(f"hypervolume regret + {HV_FLOOR:g} (mean ± s.e. over seeds)")
    ax.set_title("Hypervolume regret vs simulated time")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize="small", ncols=2 if len(curves) > 6 else 1)
    return _save(fig, Path(out_dir), "hv_regret_vs_time")


def plot_median_fronts(frame: pd.DataFrame, out_dir: Path, plan: ObjectivePlan) -> list[Path]:
    """Each strategy's median attained front (50% attainment surface over seeds) and the
    true front, in the first two objectives' units."""
    ref = plan.reference
    fig, ax = _figure()
    true = np.array(ref.front)
    ax.step(true[:, 0], true[:, 1], where="post", color="#000000", linewidth=2.5, alpha=0.35,
            label="true front")  # fmt: skip
    ax.scatter(true[:, 0], true[:, 1], color="#000000", s=10, alpha=0.5)
    for name, fronts in run_fronts(frame, plan).items():
        median = median_front(fronts, ref)
        if len(median):
            style = strategy_style(name)
            ax.step(median[:, 0], median[:, 1], where="post", label=name, marker=".", **style)
    for axis, objective, measured in zip("xy", ref.objectives, ref.measured, strict=False):
        label = f"{measured} ({objective.direction})"
        getattr(ax, f"set_{axis}label")(label)
    seeds = frame["seed"].nunique()
    ax.set_title(f"Median attained fronts over {seeds} seeds, and the true front")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return _save(fig, Path(out_dir), "median_fronts")


def plot_pareto(
    frame: pd.DataFrame, out_dir: str | Path, plan: ObjectivePlan, budget_seconds: float | None
) -> dict[str, list[Path]]:
    """Both plots as PNG and SVG (the fronts only for two objectives); {name: paths}."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = {"hv_regret_vs_time": plot_hv_regret_vs_time(frame, out_dir, budget_seconds)}
    if len(plan.objectives) == 2:
        figures["median_fronts"] = plot_median_fronts(frame, out_dir, plan)
    return figures
