"""Comparison plots: anytime regret vs simulated time and vs evaluations, ECDF of final regret.

The three views NAS-Bench-101 (Ying et al., 2019) recommends for strategy studies. Drawn with
matplotlib's object API on an Agg canvas (no pyplot state, no backend switch), imported only
when a plot is made. Regret axes are logarithmic and regret is often exactly 0 (the run found
the best cell), so every regret is drawn as ``regret + REGRET_FLOOR``; captions say so. A
negative regret (live training against a partial table scores an incumbent the table lacks by
its own run, which can beat the table's best mean) is drawn at the floor, with 0.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from nasbench_lite.compare import statistics as stats
from nasbench_lite.errors import InputError

# 1e-5 = 0.001 percentage points of accuracy: below the resolution of a seed-mean test
# accuracy of any shipped table (1/15,000 on the v2 tables' 3 seeds x 5,000 test examples),
# so a curve at the floor means "regret 0".
REGRET_FLOOR = 1e-5
# The plots `plot_all` writes, each as <name>.png and <name>.svg.
PLOT_NAMES = ("regret_vs_time", "regret_vs_evals", "final_regret_ecdf")
FORMATS = ("png", "svg")
GRID_POINTS = 200
# A strategy keeps its colour and line style in every plot of every report, whichever
# strategies it is compared with: fixed for the registry names (related methods share a
# colour and differ in line style; the random baselines are black and grey), chosen by a
# stable hash of the name for any other strategy.
STRATEGY_STYLES: dict[str, tuple[str, str]] = {
    "random_search": ("#000000", "-"),
    "random_sampling": ("#7f7f7f", ":"),
    "regularized_evolution": ("#1f77b4", "-"),
    "local_search": ("#ff7f0e", "-"),
    "reinforce": ("#2ca02c", "-"),
    "ppo": ("#2ca02c", "--"),
    "bananas": ("#d62728", "-"),
    "gp_bo": ("#9467bd", "-"),
    "tpe": ("#8c564b", "-"),
    "hyperband": ("#e377c2", "-"),
    "bohb": ("#e377c2", "--"),
    "darts": ("#17becf", "-"),
    "gdas": ("#17becf", "--"),
    "enas": ("#bcbd22", "-"),
    "rsps": ("#bcbd22", "--"),
    # Multi-objective strategies: the colour of the single-objective method they extend.
    "mo_regularized_evolution": ("#1f77b4", "--"),
    "nsga2": ("#1f77b4", ":"),
    "motpe": ("#8c564b", "--"),
    "random_scalarization": ("#9467bd", "--"),
}
# Other names: 16 colours x 4 dash patterns unused by the fixed styles above.
HASHED_COLOURS = (
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d",
    "#9edae5", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d",
)  # fmt: skip
HASHED_LINESTYLES = ("-.", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1)))


def strategy_style(name: str) -> dict:
    """The matplotlib colour and linestyle of strategy `name`, the same in every plot."""
    if name in STRATEGY_STYLES:
        colour, linestyle = STRATEGY_STYLES[name]
    else:
        # crc32, not hash(): Python salts str hashes per process.
        code = zlib.crc32(name.encode())
        colour = HASHED_COLOURS[code % len(HASHED_COLOURS)]
        linestyle = HASHED_LINESTYLES[(code // len(HASHED_COLOURS)) % len(HASHED_LINESTYLES)]
    return {"color": colour, "linestyle": linestyle}


def time_grid(frame: pd.DataFrame, budget_seconds: float | None = None) -> np.ndarray:
    """(GRID_POINTS,) log-spaced simulated seconds from the first finished evaluation of
    any run to the budget (or the last record when no time budget applies)."""
    positive = frame["sim_seconds"].to_numpy(np.float64)
    positive = positive[positive > 0]
    if positive.size == 0:
        raise InputError("results have no record with sim_seconds > 0 to place on a log axis")
    stop = float(budget_seconds) if budget_seconds else float(positive.max())
    start = min(float(positive.min()), stop)
    return np.geomspace(start, max(stop, start * (1 + 1e-9)), GRID_POINTS)


def evals_grid(frame: pd.DataFrame) -> np.ndarray:
    """Integer evaluation counts 1..max (thinned log-uniformly to at most GRID_POINTS)."""
    top = max(int(frame["evals"].max()), 1)
    return np.unique(np.geomspace(1, top, min(top, GRID_POINTS)).round().astype(np.int64))


def _figure(width: float = 6.4, height: float = 4.4):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _save(fig, out_dir: Path, stem: str) -> list[Path]:
    import matplotlib

    paths = []
    # Fixed salt and no dates: the same results give byte-identical files.
    with matplotlib.rc_context({"svg.hashsalt": "nasbench-lite"}):
        for fmt in FORMATS:
            path = out_dir / f"{stem}.{fmt}"
            meta = {"Date": None} if fmt == "svg" else {"Software": None}
            fig.savefig(path, format=fmt, dpi=120, metadata=meta)
            paths.append(path)
    return paths


def _anytime(frame: pd.DataFrame, axis: str, grid: np.ndarray, xlabel: str, title: str):
    fig, ax = _figure()
    curves = stats.anytime_curves(frame, axis, grid)
    for name, runs in curves.items():
        mean, sem = stats.mean_and_sem(runs)
        style = strategy_style(name)
        # A curve with one defined point (e.g. one evaluation per run) gets a marker.
        marker = "o" if np.count_nonzero(~np.isnan(mean)) == 1 else None
        label = f"{name} (n={runs.shape[0]})"
        ax.plot(grid, np.maximum(mean, 0.0) + REGRET_FLOOR, label=label, marker=marker, **style)
        if runs.shape[0] > 1:
            low = np.maximum(mean - sem, 0.0) + REGRET_FLOOR
            ax.fill_between(grid, low, mean + sem + REGRET_FLOOR, color=style["color"], alpha=0.15)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"test regret + {REGRET_FLOOR:g} (mean ± s.e. over seeds)")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize="small", ncols=2 if len(curves) > 6 else 1)
    return fig


def plot_regret_vs_time(
    frame: pd.DataFrame, out_dir: Path, budget_seconds: float | None = None
) -> list[Path]:
    """Mean incumbent regret over seeds vs simulated seconds; returns the PNG and SVG paths."""
    grid = time_grid(frame, budget_seconds)
    fig = _anytime(frame, "sim_seconds", grid, "simulated seconds", "Regret vs simulated time")
    return _save(fig, Path(out_dir), "regret_vs_time")


def plot_regret_vs_evals(frame: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Mean incumbent regret over seeds vs number of finished evaluations."""
    grid = evals_grid(frame)
    fig = _anytime(frame, "evals", grid, "evaluations", "Regret vs evaluations")
    return _save(fig, Path(out_dir), "regret_vs_evals")


def plot_final_ecdf(frame: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Empirical CDF over seeds of each strategy's final regret."""
    strategies, _, matrix = stats.final_matrix(frame)
    fig, ax = _figure()
    n = matrix.shape[0]
    for i, name in enumerate(strategies):
        x = np.sort(np.maximum(matrix[:, i], 0.0)) + REGRET_FLOOR
        # Start the step at 0 just left of the smallest value so each curve rises from 0.
        y = np.r_[0.0, np.arange(1, n + 1) / n]
        ax.step(np.r_[x[0], x], y, where="post", label=name, **strategy_style(name))
    ax.set_xscale("log")
    ax.set_xlabel(f"final test regret + {REGRET_FLOOR:g}")
    ax.set_ylabel("share of seeds with final regret <= x")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"Empirical CDF of final regret ({n} seeds)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", ncols=2 if len(strategies) > 6 else 1)
    return _save(fig, Path(out_dir), "final_regret_ecdf")


def plot_all(
    frame: pd.DataFrame, out_dir: str | Path, budget_seconds: float | None = None
) -> dict[str, list[Path]]:
    """Write all three plots as PNG and SVG into ``out_dir``; returns {plot name: paths}."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return {
        "regret_vs_time": plot_regret_vs_time(frame, out_dir, budget_seconds),
        "regret_vs_evals": plot_regret_vs_evals(frame, out_dir),
        "final_regret_ecdf": plot_final_ecdf(frame, out_dir),
    }
