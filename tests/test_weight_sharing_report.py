"""benchmarks/weight_sharing_runs.py: the collapse count of a derived cell counts the edges
that put no parameterised op into the output, dead convolutions included, checked against
the cell's canonical form over every raw cell."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

from nasbench_lite.spaces import get_space

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))  # weight_sharing_runs imports no other module
_spec = importlib.util.spec_from_file_location(
    "weight_sharing_runs", ROOT / "benchmarks/weight_sharing_runs.py"
)
runs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runs)
SPACE = get_space("nb201")


def test_free_edges_count_the_convolutions_the_output_never_sees():
    cells = SPACE.cells(np.arange(SPACE.num_cells))
    free = runs.free_edges(SPACE, cells)
    # Brute force, by the classes alone: a convolution reaches the output exactly when
    # replacing it by `none` changes the cell's class.
    ids = SPACE.canonical_ids
    live_convs = np.zeros(len(cells), int)
    for edge in range(6):
        pruned = cells.copy()
        pruned[:, edge] = 0
        conv = np.isin(cells[:, edge], (2, 3))
        live_convs += conv & (ids[SPACE.indices(pruned)] != ids)
    np.testing.assert_array_equal(free, 6 - live_convs)
    # The case that hid the collapse: three `none` edges and a conv3x3 on each other edge,
    # two of them dead, is the single-convolution class.
    cell = np.array([0, 0, 0, 3, 3, 3])
    assert SPACE.canonical_form(SPACE.index(cell)) == "conv3x3(x)"
    assert runs.free_edges(SPACE, cell) == 5 and np.isin(cell, runs.FREE).sum() == 3


def _row(name: str, length: int, seed: int, cell: np.ndarray, acc: str) -> str:
    shown = SPACE.format(SPACE.index(cell)).replace("|", "\\|")  # as the report escapes it
    return f"| `{name}` | {length} | {seed} | `{shown}` | {acc} |"


def test_recount_reads_an_earlier_reports_final_cells():
    report = "\n".join([
        "| method | epochs | seed | final cell | test acc. |",
        "|---|---|---|---|---|",
        _row("gdas", 25, 0, np.array([0, 0, 0, 3, 3, 3]), "85.93%"),
        _row("gdas", 25, 1, np.full(6, 3), "93.00%"),
        _row("darts", 50, 0, np.ones(6, int), "30.50%"),
    ])  # fmt: skip
    lines = runs.recount(report)
    assert lines[0] == "| method | 25 epochs | 50 epochs |"
    assert lines[2] == "| `gdas` | 0 -> **1** of 2 (5 / 0) | not run |"
    assert lines[3] == "| `darts` | not run | 1 -> **1** of 1 (6) |"
