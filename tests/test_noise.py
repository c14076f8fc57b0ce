"""The noise floor of a table: seed-to-seed Kendall overall and among the best classes, the
pooled per-seed noise, the resolvable difference; checked against direct computations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from nasbench_lite.cli import main
from nasbench_lite.table import Table
from nasbench_lite.table.noise import noise_floor, noise_lines
from nasbench_lite.table.synthetic import synthetic_table


def with_final_test(base: Table, final: np.ndarray) -> Table:
    """`base` with its final-epoch test and valid accuracies set to `final` (rows, seeds)."""
    arrays = dict(base.arrays)
    for m in ("test_acc", "valid_acc"):
        curve = np.array(base.metric(m))
        curve[:, :, -1] = final
        arrays[f"metrics/{m}"] = curve
    return Table(arrays, base.attrs)


def test_identical_seeds_agree_perfectly_and_have_no_noise():
    base = synthetic_table(rows=300, epochs=2)
    truth = np.random.default_rng(0).uniform(0.1, 0.9, base.num_rows).astype(np.float32)
    floor = noise_floor(with_final_test(base, np.repeat(truth[:, None], 3, axis=1)))
    assert floor["classes"] == {"all": 300, "top 10%": 30, "top 1%": 3}
    for metric in ("valid_acc", "test_acc"):
        assert floor["kendall"][metric] == {"all": 1.0, "top 10%": 1.0, "top 1%": 1.0}
    assert floor["noise_sd"] == {"all": 0.0, "top 10%": 0.0} and floor["resolution"] == 0.0
    for metric in ("valid_acc", "test_acc"):
        assert floor["kendall_by_third_seed"][metric] == {"top 10%": 1.0, "top 1%": 1.0}


def test_against_a_direct_computation():
    base = synthetic_table(rows=400, epochs=2)
    rng = np.random.default_rng(1)
    truth = rng.uniform(0.1, 0.9, base.num_rows)
    final = (truth[:, None] + rng.normal(0, 0.02, (base.num_rows, 3))).astype(np.float32)
    floor = noise_floor(with_final_test(base, final))
    f64 = final.astype(np.float64)
    top = np.argsort(-f64.mean(axis=1), kind="stable")[:40]
    taus = [stats.kendalltau(f64[top, a], f64[top, b])[0]
            for a, b in itertools.combinations(range(3), 2)]  # fmt: skip
    assert floor["kendall"]["test_acc"]["top 10%"] == pytest.approx(np.mean(taus))
    sd = np.sqrt(np.mean(np.var(f64[top], axis=1, ddof=1)))
    assert floor["noise_sd"]["top 10%"] == pytest.approx(sd)
    assert floor["resolution"] == pytest.approx(1.959964 * np.sqrt(2 / 3) * sd, rel=1e-6)
    # Overall the ranking is clear, among 40 near-equal best classes much less so.
    assert floor["kendall"]["test_acc"]["all"] > 0.9 > floor["kendall"]["test_acc"]["top 10%"]
    taus = []
    for c in range(3):  # the best 40 by seed c alone; Kendall of the other two seeds there
        by_c = np.argsort(-f64[:, c], kind="stable")[:40]
        a, b = [s for s in range(3) if s != c]
        taus.append(stats.kendalltau(f64[by_c, a], f64[by_c, b])[0])
    assert floor["kendall_by_third_seed"]["test_acc"]["top 10%"] == pytest.approx(np.mean(taus))


def test_every_subset_and_metric_against_a_direct_computation():
    """Validation and test differ (other noise): each metric's Kendall over all classes, the
    top 10% and the top 1% (picked by the seed-mean test accuracy, as regret ranks), and the
    overall noise SD (of test accuracy), each computed directly."""
    base = synthetic_table(rows=400, epochs=2)
    rng = np.random.default_rng(5)
    truth = rng.uniform(0.1, 0.9, base.num_rows)
    noisy = {m: truth[:, None] + rng.normal(0, sd, (base.num_rows, 3))
             for m, sd in (("valid_acc", 0.05), ("test_acc", 0.02))}  # fmt: skip
    finals = {m: np.clip(v, 0, 1).astype(np.float32) for m, v in noisy.items()}
    arrays = dict(base.arrays)
    for m, final in finals.items():
        curve = np.array(base.metric(m))
        curve[:, :, -1] = final
        arrays[f"metrics/{m}"] = curve
    floor = noise_floor(Table(arrays, base.attrs))
    test = finals["test_acc"].astype(np.float64)
    order = np.argsort(-test.mean(axis=1), kind="stable")
    for m, final in finals.items():
        f64 = final.astype(np.float64)
        for subset, n in (("all", 400), ("top 10%", 40), ("top 1%", 4)):
            rows = order[:n]
            taus = [stats.kendalltau(f64[rows, a], f64[rows, b])[0]
                    for a, b in itertools.combinations(range(3), 2)]  # fmt: skip
            assert floor["kendall"][m][subset] == pytest.approx(np.mean(taus)), (m, subset)
    assert floor["kendall"]["valid_acc"]["all"] < floor["kendall"]["test_acc"]["all"]
    assert floor["noise_sd"]["all"] == pytest.approx(np.sqrt(np.mean(np.var(test, 1, ddof=1))))


def test_picking_the_best_by_the_compared_seeds_biases_their_agreement_down():
    # No true differences at all: every class is the same cell, the seeds pure noise. Picked
    # by a third seed, the two others agree at about 0; picked by their own mean, below it.
    base = synthetic_table(epochs=2)
    rng = np.random.default_rng(2)
    final = (0.9 + rng.normal(0, 0.01, (base.num_rows, 3))).astype(np.float32)
    floor = noise_floor(with_final_test(base, final))
    third = floor["kendall_by_third_seed"]["test_acc"]["top 10%"]
    own = floor["kendall"]["test_acc"]["top 10%"]
    assert abs(third) < 0.05 and own < -0.15, (third, own)
    two = with_final_test(synthetic_table(rows=300, seeds=2, epochs=2), final[:300, :2])
    assert "kendall_by_third_seed" not in noise_floor(two)


def test_too_little_to_say_and_the_lines(capsys, tmp_path):
    assert noise_floor(synthetic_table(rows=3, epochs=2)) == {}
    assert noise_lines({}) == []
    path = tmp_path / "t.h5"
    synthetic_table(rows=200, epochs=2).write(path)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "noise floor" in out and "top 10% (20 classes)" in out and "resolvable" in out
    assert "picked by a third seed: top 10%" in out
    assert "classes only" not in out  # 20 classes in the top 10%: enough to state plainly


def test_a_small_table_says_its_figures_are_rough():
    floor = noise_floor(synthetic_table(rows=60, epochs=2))
    assert floor["classes"]["top 10%"] == 6
    assert noise_lines(floor)[-1].startswith("the top 10% holds 6 classes only: its figures")
