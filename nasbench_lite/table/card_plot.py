"""The card's accuracy plot: the distribution of seed-mean final test accuracy over classes
and raw cells, and validation against test accuracy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nasbench_lite.table.reader import Table


def plot_accuracy(table: Table, st: dict[str, Any], path: str | Path) -> Path:
    """PNG: histogram of seed-mean final test accuracy (classes, and raw cells weighted by
    class size) and a valid-vs-test scatter over classes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    hist, scatter = fig.subplots(1, 2)
    low = min(st["test"].min(), st["valid"].min())
    high = max(st["test"].max(), st["valid"].max())
    pad = max(0.01, 0.02 * (high - low))
    bins = np.linspace(low - pad, min(high + pad, 1.0), 41)
    hist.hist(st["test"], bins=bins, density=True, alpha=0.6,
              label=f"classes (n={len(st['test'])})")  # fmt: skip
    hist.hist(st["raw_test"], bins=bins, density=True, histtype="step", linewidth=1.5,
              label=f"raw cells (n={len(st['raw_test'])})")  # fmt: skip
    hist.set_xlabel("final test accuracy (seed mean)")
    hist.set_ylabel("density")
    hist.legend(fontsize="small", loc="upper left")
    scatter.scatter(st["valid"], st["test"], s=6, alpha=0.5)
    scatter.plot(bins[[0, -1]], bins[[0, -1]], color="grey", linewidth=0.8, linestyle="--")
    scatter.set_xlabel("final valid accuracy (seed mean)")
    scatter.set_ylabel("final test accuracy (seed mean)")
    scatter.set_title(f"Spearman {st['valid_test']['Spearman']:.4f}", fontsize="medium")
    name, covered = Path(table.source).name, f"{len(st['used'])} of {table.num_rows} rows"
    fig.suptitle(f"{name}: {covered}, {table.num_seeds} seeds, epoch {table.num_epochs}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=120, metadata={"Software": None})
    return path
