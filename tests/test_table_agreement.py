"""benchmarks/table_agreement.py: two tables of the same runs compared, on constructed values
whose agreement is known, and on files that are not the same runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from nasbench_lite.table.storage import read_arrays, write_arrays
from nasbench_lite.table.synthetic import synthetic_table

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "table_agreement", ROOT / "benchmarks/table_agreement.py"
)
agreement_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(agreement_module)
agreement = agreement_module.agreement


def test_identical_runs_agree_perfectly():
    a = np.random.default_rng(0).uniform(0.5, 1.0, size=(200, 3))
    got = agreement(a, a.copy())
    assert got["bias b-a (pp)"] == 0 and got["sd of b-a, run by run (pp)"] == 0
    assert got["final values equal"] == 1.0
    assert got["Spearman a vs b, same seed"] == pytest.approx(1.0)
    assert got["Spearman of seed means, all"] == pytest.approx(1.0)
    assert got["Kendall of seed means, a's top 10%"] == pytest.approx(1.0)
    assert got["a's best class on b, share above it"] == 0.0


def test_figures_are_the_direct_computations():
    """A shifted, noisier copy: the bias is the shift, the spreads and correlations are
    scipy's and numpy's on the same columns, and the best classes are placed by hand."""
    rng = np.random.default_rng(1)
    quality = rng.uniform(0.6, 0.95, size=(300, 1))
    a = quality + rng.normal(0, 0.01, size=(300, 3))
    b = a + 0.002 + rng.normal(0, 0.005, size=(300, 3))
    got = agreement(a, b)
    assert got["classes"] == 300
    assert got["bias b-a (pp)"] == pytest.approx(100 * (b - a).mean())
    assert got["sd of b-a, run by run (pp)"] == pytest.approx(100 * (b - a).std())
    within = np.concatenate([a[:, 0] - a[:, 1], a[:, 0] - a[:, 2], a[:, 1] - a[:, 2]])
    assert got["sd of seed i - seed j within a (pp)"] == pytest.approx(100 * within.std())
    same = np.mean([stats.spearmanr(a[:, s], b[:, s])[0] for s in range(3)])
    assert got["Spearman a vs b, same seed"] == pytest.approx(same)
    other = np.mean([stats.spearmanr(a[:, i], a[:, j])[0] for i, j in [(0, 1), (0, 2), (1, 2)]])
    assert got["Spearman a vs a, other seed"] == pytest.approx(other)
    # b adds less noise than a second seed would: the same seed agrees better across tables
    assert got["Spearman a vs b, same seed"] > got["Spearman a vs a, other seed"]
    top = a.mean(1) >= np.quantile(a.mean(1), 0.9)
    assert top.sum() == 30
    expected = stats.kendalltau(a.mean(1)[top], b.mean(1)[top])[0]
    assert got["Kendall of seed means, a's top 10%"] == pytest.approx(expected)
    best_a = np.argmax(a.mean(1))
    share = np.mean(b.mean(1) > b.mean(1)[best_a])
    assert got["a's best class on b, share above it"] == pytest.approx(share)


def test_a_and_b_are_not_mixed_up():
    """Two tables of different quality: every figure named for a or for b reads that one
    (each checked against a hand-made answer that the other table would not give)."""
    rng = np.random.default_rng(2)
    n = 100
    quality = np.linspace(0.5, 0.99, n)[:, None]
    a = quality + rng.normal(0, 0.002, size=(n, 3))  # seeds agree closely
    b = quality[::-1] + rng.normal(0, 0.05, size=(n, 3))  # reversed, seeds barely agree
    b[7, 0] = a[7, 0]  # one final value equal
    got = agreement(a, b)
    assert got["mean a"] == pytest.approx(100 * a.mean())
    assert got["mean b"] == pytest.approx(100 * b.mean())
    assert got["final values equal"] == pytest.approx(1 / (3 * n))
    assert got["Spearman a vs a, other seed"] > 0.99 > 0.9 > got["Spearman b vs b, other seed"]
    assert got["Spearman of seed means, all"] < -0.9  # reversed
    assert got["Kendall of seed means, all"] < -0.7
    # a's top 10% are its last 10 classes; on b they are the worst, in reversed order
    assert got["Spearman of seed means, a's top 10%"] < 0
    assert got["a's best class on b, share above it"] > 0.9  # a's best is b's worst region
    assert got["b's best class on a, share above it"] > 0.9


def test_tables_of_other_runs_are_refused(tmp_path, capsys):
    a_path, b_path = tmp_path / "a.h5", tmp_path / "b.h5"
    synthetic_table(a_path, rows=120)
    synthetic_table(b_path, rows=120)
    assert agreement_module.main([str(a_path), str(b_path)]) == 0
    out = capsys.readouterr().out
    assert "Spearman of seed means, all: 1.000" in out
    assert "classes both finished: 120 of 120" in out
    arrays, attrs = read_arrays(b_path)
    # A row b has not finished, and a run of b that diverged: both left out, and said so.
    done = arrays["status/done"].copy()
    done[0] = False
    test = arrays["metrics/test_acc"].copy()
    test[1, 0, -1] = np.nan
    write_arrays(b_path, {**arrays, "status/done": done, "metrics/test_acc": test}, attrs)
    assert agreement_module.main([str(a_path), str(b_path)]) == 0
    out = capsys.readouterr().out
    assert "classes both finished: 119 of 120" in out
    assert "final test_acc (118 classes with every run finite)" in out
    assert "final valid_acc (119 classes with every run finite)" in out
    write_arrays(b_path, arrays, {**attrs, "seeds": [5, 6, 7]})
    with pytest.raises(SystemExit, match="not the same runs made twice: seeds differs"):
        agreement_module.main([str(a_path), str(b_path)])
    other = synthetic_table(tmp_path / "c.h5", rows=120, rng=1)
    assert not np.array_equal(other.row_raw, read_arrays(a_path)[0]["cells/row_raw"])
    b_path = tmp_path / "c.h5"
    with pytest.raises(SystemExit, match="hold different rows"):
        agreement_module.main([str(a_path), str(b_path)])


def test_fingerprints_are_compared_to_their_tolerance():
    from nasbench_lite.datasets.fingerprint import split_fingerprint

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 8, 1)).astype(np.float32), rng.integers(0, 10, 50)
    record = {s: split_fingerprint(x, y) for s in ("train", "valid", "test")}
    nudged = {s: split_fingerprint(np.nextafter(x, np.inf), y) for s in record}
    other = {**record, "test": split_fingerprint(x, (y + 1) % 10)}
    attrs = {"space": "nb201", "dataset": "d", "config": {}, "seeds": [0], "epochs": 1}
    check = agreement_module.check_same_runs
    check({**attrs, "dataset_fingerprint": record}, {**attrs, "dataset_fingerprint": nudged},
          "a", "b")  # fmt: skip
    with pytest.raises(SystemExit, match="trained on other examples: test labels"):
        check({**attrs, "dataset_fingerprint": record}, {**attrs, "dataset_fingerprint": other},
              "a", "b")  # fmt: skip
