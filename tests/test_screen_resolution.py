"""benchmarks/screen_resolution.py: the top-half Spearman over all common classes, over random
subsets of them and over the study's sample, checked on tables with known agreement."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from scipy import stats

from nasbench_lite.table import shipped, suite_card
from nasbench_lite.table.reader import Table
from nasbench_lite.table.synthetic import synthetic_table

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "screen_resolution", ROOT / "benchmarks/screen_resolution.py"
)
screen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(screen)


def _copy(table: Table, test_acc: np.ndarray, done: np.ndarray) -> Table:
    arrays = {**table.arrays, "metrics/test_acc": test_acc.astype(np.float32)}
    arrays["status/done"] = done
    return Table(arrays, table.attrs)


def test_top_half_spearman_is_scipys_over_the_reference_half():
    rng = np.random.default_rng(3)
    for n in (4, 5, 41, 100):
        x, y = rng.normal(size=n), rng.normal(size=n)
        half = np.argsort(x)[::-1][: round(n / 2)]  # distinct values: the k largest
        assert screen.top_half_spearman(x, y) == stats.spearmanr(x[half], y[half])[0]


def test_top_half_spearman_is_the_suite_cards():
    """The screens read the same figure as the suite card's top-half Spearman, ties included
    (rounded accuracies tie often)."""
    rng = np.random.default_rng(4)
    for n in (10, 11, 57, 200):
        x, y = np.round(rng.random(n), 1), rng.random(n)
        a, b = dict(enumerate(x.tolist())), dict(enumerate(y.tolist()))
        assert screen.top_half_spearman(x, y) == suite_card.pair_figures(a, b)["spearman_half"]


def test_agreeing_and_reversed_tasks_read_plus_and_minus_one(monkeypatch, capsys):
    ref = synthetic_table(seeds=2, epochs=2, rng=1)
    acc = ref.metric("test_acc")
    done = np.arange(ref.num_rows) % 3 != 0  # a partial table: two thirds of the classes
    tables = {"ref": _copy(ref, acc, done), "same": _copy(ref, acc, np.ones(ref.num_rows, bool)),
              "reversed": _copy(ref, 1 - acc, done)}  # fmt: skip
    monkeypatch.setattr(shipped, "suite_table_path", lambda task: task)
    monkeypatch.setattr(Table, "open", staticmethod(lambda path: tables[str(path)]))
    screen.main(["--reference", "ref", "--tasks", "same", "reversed", "--draws", "20"])
    out = capsys.readouterr().out
    common = f"{int(done.sum()):,}"
    assert f"| same | {common} | +1.000 | +1.000 | 0.000 | +1.00 to +1.00 | +1.000 (" in out
    assert f"| reversed | {common} | -1.000 | -1.000 | 0.000 | -1.00 to -1.00 | -1.000 (" in out
