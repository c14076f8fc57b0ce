"""Tests for compare.statistics: hand-computed cases, scipy cross-checks, brute force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from nasbench_lite.compare import statistics as stats

COLUMNS = list(stats.RESULT_COLUMNS)


def synthetic_results(strategies, seeds, steps=20, seed=0) -> pd.DataFrame:
    """A results frame of monotone step trajectories; strategy k is better for larger k."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, name in enumerate(strategies):
        for s in range(seeds):
            t = np.cumsum(rng.uniform(5.0, 15.0, steps))
            regret = np.minimum.accumulate(rng.exponential(0.02 / (k + 1), steps))
            for i in range(steps):
                rows.append((name, s, t[i], i + 1, 0.9 - regret[i], 0.9 - regret[i], regret[i]))
    return pd.DataFrame(rows, columns=COLUMNS)


def frame_from_final(matrix, strategies) -> pd.DataFrame:
    """Two steps per run: a poor start, then the given final regret."""
    rows = []
    for j, name in enumerate(strategies):
        for s in range(matrix.shape[0]):
            rows.append((name, s, 10.0, 1, 0.5, 0.5, 0.4))
            rows.append((name, s, 20.0, 2, 0.9, 0.9, matrix[s, j]))
    return pd.DataFrame(rows, columns=COLUMNS)


# ---------------------------------------------------------------- Holm


def test_holm_hand_computed():
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> monotone 0.06
    p = np.array([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(stats.holm(p), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(stats.holm(np.array([0.5, 0.9])), [1.0, 1.0])
    assert stats.holm(np.array([])).shape == (0,)


def test_holm_matches_sequential_procedure_brute_force():
    """adjusted <= alpha must reject exactly what Holm's step-down test rejects at alpha."""
    rng = np.random.default_rng(1)
    for _ in range(200):
        m = int(rng.integers(1, 9))
        p = rng.uniform(0, 0.2, m) ** rng.uniform(0.5, 2)
        adjusted = stats.holm(p)
        assert np.all(adjusted >= p - 1e-15) and np.all(adjusted <= 1)
        for alpha in (0.001, 0.01, 0.05, 0.1, 0.2):
            order = np.argsort(p, kind="stable")
            rejected = np.zeros(m, bool)
            for i, idx in enumerate(order):
                if p[idx] > alpha / (m - i):
                    break
                rejected[idx] = True
            np.testing.assert_array_equal(adjusted <= alpha, rejected)


@pytest.mark.parametrize("bad", [np.array([0.1, np.nan]), np.array([1.5]), np.ones((2, 2)) / 2])
def test_holm_rejects_invalid_pvalues(bad):
    with pytest.raises(ValueError, match="p-values"):
        stats.holm(bad)


# ---------------------------------------------------------------- ranks


def test_average_ranks_with_ties_hand_computed():
    matrix = np.array([[1.0, 1.0, 2.0], [3.0, 2.0, 1.0]])
    # row 0 ranks: 1.5 1.5 3 ; row 1 ranks: 3 2 1
    np.testing.assert_allclose(stats.average_ranks(matrix), [2.25, 1.75, 2.0])


def test_average_ranks_brute_force():
    rng = np.random.default_rng(2)
    matrix = rng.integers(0, 4, size=(30, 6)).astype(float)  # many ties
    less = (matrix[:, None, :] < matrix[:, :, None]).sum(axis=2)
    equal = (matrix[:, None, :] == matrix[:, :, None]).sum(axis=2)
    expected = (less + (equal + 1) / 2).mean(axis=0)
    np.testing.assert_allclose(stats.average_ranks(matrix), expected)


def test_average_ranks_rejects_bad_shape():
    with pytest.raises(ValueError, match="2-D"):
        stats.average_ranks(np.zeros(3))


# ---------------------------------------------------------------- Friedman


def test_friedman_matches_scipy_and_textbook_formula():
    rng = np.random.default_rng(3)
    matrix = rng.normal(size=(12, 4)) + np.arange(4)  # continuous: no ties
    result = stats.friedman(matrix)
    ref = sps.friedmanchisquare(*matrix.T)
    assert result.statistic == pytest.approx(ref.statistic)
    assert result.pvalue == pytest.approx(ref.pvalue)
    n, k = matrix.shape
    rank_sums = sps.rankdata(matrix, axis=1).sum(axis=0)
    chi2 = 12 / (n * k * (k + 1)) * np.sum(rank_sums**2) - 3 * n * (k + 1)
    assert result.statistic == pytest.approx(chi2)
    assert result.pvalue == pytest.approx(sps.chi2.sf(chi2, k - 1))


def test_friedman_not_applicable_cases():
    two = stats.friedman(np.random.default_rng(0).normal(size=(5, 2)))
    assert np.isnan(two.pvalue) and "3 strategies" in two.note
    one_seed = stats.friedman(np.array([[0.1, 0.2, 0.3]]))
    assert np.isnan(one_seed.pvalue) and "2 blocks" in one_seed.note
    tied = stats.friedman(np.zeros((6, 4)))
    assert np.isnan(tied.pvalue) and "tied" in tied.note


# ---------------------------------------------------------------- Wilcoxon


def test_wilcoxon_matches_scipy_and_holm():
    rng = np.random.default_rng(4)
    names = ["random_search", "a", "b", "c"]
    matrix = rng.exponential(0.01, size=(15, 4))
    matrix[:, 2] *= 0.2  # b clearly better
    table = stats.wilcoxon_vs_baseline(matrix, names)
    assert list(table.columns) == stats.WILCOXON_COLUMNS
    assert table["strategy"].tolist() == ["a", "b", "c"]
    for j, row in zip((1, 2, 3), table.itertuples(), strict=True):
        ref = sps.wilcoxon(matrix[:, j], matrix[:, 0])
        assert row.pvalue == pytest.approx(ref.pvalue)
        assert row.statistic == pytest.approx(ref.statistic)
        diff = matrix[:, j] - matrix[:, 0]
        assert (row.wins, row.losses) == (np.sum(diff < 0), np.sum(diff > 0))
        assert row.median_diff == pytest.approx(np.median(diff))
    np.testing.assert_allclose(table["pvalue_holm"], stats.holm(table["pvalue"].to_numpy()))
    assert table.loc[table.strategy == "b", "pvalue_holm"].item() < 0.05


def test_wilcoxon_all_zero_differences_reports_p_one():
    matrix = np.zeros((8, 3))
    matrix[:, 2] = np.linspace(0.01, 0.02, 8)
    table = stats.wilcoxon_vs_baseline(matrix, ["random_search", "same", "worse"])
    same = table.iloc[0]
    assert same.pvalue == 1.0 and same.pvalue_holm == 1.0 and same.ties == 8
    assert same.note == "all differences zero" and np.isnan(same.statistic)
    assert table.iloc[1].losses == 8 and table.iloc[1].pvalue < 0.01


def test_wilcoxon_median_diff_is_measured_and_ties_follow_the_tolerance():
    base = np.full(5, 0.5)
    other = base + np.array([0.001, 0.002, 0.003, -0.02, 0.004])
    row = stats.wilcoxon_vs_baseline(
        np.c_[base, other], ["random_search", "a"], tolerance=0.005
    ).iloc[0]
    assert (row.wins, row.ties, row.losses) == (1, 4, 0)
    assert row.median_diff == pytest.approx(0.002)  # not the 0 of a tie


def test_wilcoxon_direction_is_the_one_the_test_weighs():
    # Median difference 0 and two wins, two losses: the wins are the large differences, so
    # the signed ranks (and the test) say lower regret.
    base = np.full(6, 0.5)
    other = base + np.array([-0.5, -0.4, 0.01, 0.02, 0.0, 0.0])
    row = stats.wilcoxon_vs_baseline(np.c_[base, other], ["random_search", "a"]).iloc[0]
    assert row.median_diff == 0 and (row.wins, row.losses) == (2, 2)
    assert row.lower
    flipped = stats.wilcoxon_vs_baseline(np.c_[base, 2 * base - other], ["random_search", "a"])
    assert not flipped.iloc[0].lower
    rng = np.random.default_rng(8)
    for _ in range(100):  # brute force: the sign of R- - R+ over the nonzero differences
        matrix = np.round(rng.uniform(0, 0.05, (9, 2)), 2)
        row = stats.wilcoxon_vs_baseline(matrix, ["random_search", "a"]).iloc[0]
        diff = matrix[:, 1] - matrix[:, 0]
        nz = diff[diff != 0]
        ranks = sps.rankdata(np.abs(nz))
        assert row.lower == (ranks[nz < 0].sum() > ranks[nz > 0].sum())


def test_wilcoxon_single_seed_and_missing_baseline():
    table = stats.wilcoxon_vs_baseline(np.array([[0.1, 0.2]]), ["random_search", "a"])
    assert table.pvalue.item() == 1.0 and "2 seeds" in table.note.item()
    with pytest.raises(ValueError, match="baseline 'random_search'"):
        stats.wilcoxon_vs_baseline(np.zeros((3, 2)), ["a", "b"])


# ---------------------------------------------------------------- results frames


def test_final_matrix_and_summary_match_direct_computation():
    frame = synthetic_results(["random_search", "x", "y"], seeds=7)
    names, seeds, matrix = stats.final_matrix(frame)
    assert names == ["random_search", "x", "y"] and seeds.tolist() == list(range(7))
    for j, name in enumerate(names):
        for s in seeds:
            run = frame[(frame.strategy == name) & (frame.seed == s)]
            assert matrix[s, j] == run.loc[run.sim_seconds.idxmax(), "regret"]
    summary = stats.summarise(frame)
    np.testing.assert_allclose(summary.regret_mean, matrix.mean(axis=0))
    np.testing.assert_allclose(summary.regret_sem, sps.sem(matrix, axis=0))
    np.testing.assert_allclose(summary.regret_median, np.median(matrix, axis=0))
    np.testing.assert_allclose(summary.avg_rank, stats.average_ranks(matrix))
    assert summary.evals_mean.tolist() == [20.0] * 3
    assert summary.found_best.tolist() == [0.0] * 3


def test_summary_found_best_counts_exact_zeros():
    matrix = np.array([[0.0, 0.01], [0.0, 0.0], [0.02, 0.0], [0.0, 0.03]])
    summary = stats.summarise(frame_from_final(matrix, ["a", "b"]))
    assert summary.found_best.tolist() == [0.75, 0.5]


def test_results_frame_errors():
    frame = synthetic_results(["a", "b"], seeds=3)
    with pytest.raises(ValueError, match="lacks columns \\['regret'\\]"):
        stats.check_results(frame.drop(columns="regret"))
    with pytest.raises(ValueError, match="no rows"):
        stats.check_results(frame.iloc[:0])
    with pytest.raises(
        ValueError, match="not paired: seeds missing per strategy \\{'b': \\[1\\]\\}"
    ):
        stats.final_matrix(frame[~((frame.strategy == "b") & (frame.seed == 1))])
    # A run that is there but ended without a number is named as such, not as missing.
    broken = frame.copy()
    broken.loc[(broken.strategy == "a") & (broken.seed == 2), "regret"] = np.nan
    with pytest.raises(ValueError, match="not a number .* \\{'a': \\[2\\]\\}"):
        stats.final_matrix(broken)
    with pytest.raises(ValueError, match="\\['zzz'\\] have no rows"):
        stats.final_matrix(frame, ["a", "zzz"])


# ---------------------------------------------------------------- step functions


def test_step_values_hand_computed():
    times = np.array([10.0, 20.0, 20.0, 35.0])
    values = np.array([0.5, 0.4, 0.3, 0.1])
    grid = np.array([0.0, 9.99, 10.0, 15.0, 20.0, 34.0, 35.0, 100.0])
    out = stats.step_values(times, values, grid)
    np.testing.assert_array_equal(out, [np.nan, np.nan, 0.5, 0.5, 0.3, 0.3, 0.1, 0.1])
    assert np.isnan(stats.step_values(np.array([]), np.array([]), grid)).all()


def test_step_values_brute_force():
    rng = np.random.default_rng(5)
    times = np.sort(rng.integers(0, 50, 30)).astype(float)
    values = rng.random(30)
    grid = np.linspace(-5, 60, 300)
    expected = [
        values[np.nonzero(times <= g)[0][-1]] if (times <= g).any() else np.nan for g in grid
    ]
    np.testing.assert_array_equal(stats.step_values(times, values, grid), expected)


def test_step_values_errors():
    with pytest.raises(ValueError, match="non-decreasing"):
        stats.step_values(np.array([2.0, 1.0]), np.array([0.1, 0.2]), np.array([1.0]))
    with pytest.raises(ValueError, match="differ in shape"):
        stats.step_values(np.array([1.0, 2.0]), np.array([0.1]), np.array([1.0]))


def test_anytime_curves_and_mean_start_when_every_seed_has_an_incumbent():
    frame = synthetic_results(["a", "b"], seeds=4)
    grid = np.linspace(0, frame.sim_seconds.max(), 50)
    curves = stats.anytime_curves(frame, "sim_seconds", grid)
    assert list(curves) == ["a", "b"] and curves["a"].shape == (4, 50)
    first = frame.groupby(["strategy", "seed"]).sim_seconds.min()
    for name, runs in curves.items():
        for s in range(4):
            assert np.array_equal(np.isnan(runs[s]), grid < first[(name, s)])
        mean, sem = stats.mean_and_sem(runs)
        complete = grid >= first[name].max()
        assert np.array_equal(~np.isnan(mean), complete)
        np.testing.assert_allclose(mean[complete], runs[:, complete].mean(axis=0))
        np.testing.assert_allclose(sem[complete], sps.sem(runs[:, complete], axis=0))
    by_evals = stats.anytime_curves(frame, "evals", np.arange(1, 21))
    assert not np.isnan(by_evals["a"]).any()
    with pytest.raises(ValueError, match="axis must be"):
        stats.anytime_curves(frame, "epochs", grid)


def test_evals_axis_ends_each_run_at_its_last_evaluation():
    frame = synthetic_results(["a"], seeds=2, steps=5)
    frame = frame[~((frame.seed == 1) & (frame.evals > 3))]  # seed 1 finished 3 evaluations
    grid = np.arange(1, 8)
    runs = stats.anytime_curves(frame, "evals", grid)["a"]
    assert np.array_equal(np.isnan(runs[0]), grid > 5)
    assert np.array_equal(np.isnan(runs[1]), grid > 3)
    mean, _ = stats.mean_and_sem(runs)
    assert np.array_equal(~np.isnan(mean), grid <= 3)
    # On the time axis the last incumbent holds to the end of the grid.
    times = stats.anytime_curves(frame, "sim_seconds", np.array([1e6]))["a"]
    np.testing.assert_array_equal(times[:, 0], stats.final_matrix(frame)[2][:, 0])


def test_mean_and_sem_single_run_has_no_band():
    mean, sem = stats.mean_and_sem(np.array([[np.nan, 0.2, 0.1]]))
    np.testing.assert_array_equal(mean, [np.nan, 0.2, 0.1])
    assert np.isnan(sem).all()


# ---------------------------------------------------------------- ties within a tolerance


def test_tied_ranks_hand_computed():
    # Pair by pair, tolerance 0.021: 0.03 is above 0.0 by more (1 below) and within 0.021 of
    # 0.01 and 0.035 (two halves): rank 3. 0.0 ties only 0.01: 1.5. 0.01 ties 0.0 and 0.03:
    # 2. 0.035 is above 0.0 and 0.01 and ties 0.03: 3.5. 0.10 is above all: 5.
    row = np.array([[0.03, 0.0, 0.10, 0.01, 0.035]])
    assert stats.tied_ranks(row, 0.021).tolist() == [[3.0, 1.5, 5.0, 2.0, 3.5]]
    assert stats.tied_ranks(row, 0.0).tolist() == [[3.0, 1.0, 5.0, 2.0, 4.0]]
    assert stats.tied_ranks(row, 1.0).tolist() == [[3.0] * 5]


def test_tied_ranks_tie_a_pair_whatever_a_third_scored():
    # rs and b are within the tolerance of each other, so the Wilcoxon test calls them tied;
    # c, well below b but within the tolerance of rs, must not split them by a whole rank.
    tol, names = 0.0124, ["c", "random_search", "b"]
    matrix = np.tile([0.0, 0.01, 0.02], (10, 1))
    ranks = stats.tied_ranks(matrix, tol)[0]
    assert ranks.tolist() == [1.5, 2.0, 2.5]
    assert stats.tied_ranks(matrix[:, 1:], tol)[0].tolist() == [1.5, 1.5]
    test = stats.wilcoxon_vs_baseline(matrix, names, tolerance=tol).set_index("strategy")
    assert test.loc["b", "ties"] == 10 and test.loc["b", "pvalue"] == 1.0


def test_tied_ranks_brute_force_properties():
    rng = np.random.default_rng(3)
    for _ in range(300):
        k = int(rng.integers(2, 8))
        values = np.round(rng.uniform(0, 0.05, (1, k)), 3)
        tol = float(rng.choice([0.0, 0.004, 0.01, 0.03]))
        ranks = stats.tied_ranks(values, tol)[0]
        v = values[0]
        # The definition, one pair at a time.
        for a in range(k):
            below = sum(v[a] - v[b] > tol for b in range(k))
            within = sum(abs(v[a] - v[b]) <= tol for b in range(k) if b != a)
            assert ranks[a] == 1 + below + within / 2
        # Ranks sum as plain ranks do, and order never reverses.
        assert ranks.sum() == pytest.approx(k * (k + 1) / 2)
        for a in range(k):
            for b in range(k):
                if v[a] < v[b]:
                    assert ranks[a] <= ranks[b]
                if v[a] == v[b]:
                    assert ranks[a] == ranks[b]
                if ranks[a] == ranks[b]:  # equal ranks only for values within the tolerance
                    assert abs(v[a] - v[b]) <= tol + 1e-12
        if tol == 0:
            assert np.array_equal(ranks, sps.rankdata(v))


def test_friedman_with_ties_is_scipys_and_tolerance_ties_lower_the_statistic():
    rng = np.random.default_rng(11)
    for _ in range(50):  # plain ranks with ties (values on a coarse grid): scipy's statistic
        matrix = rng.integers(0, 4, (int(rng.integers(2, 12)), int(rng.integers(3, 6))))
        matrix = matrix.astype(float)
        ours = stats.friedman(matrix)
        if np.isnan(ours.pvalue):
            continue
        expected = sps.friedmanchisquare(*matrix.T)
        assert ours.statistic == pytest.approx(expected.statistic)
        assert ours.pvalue == pytest.approx(expected.pvalue)
    # One strategy a little better on every seed: significant exactly, not within the tolerance.
    matrix = np.c_[np.full(10, 0.010), np.full(10, 0.012), rng.uniform(0.05, 0.06, 10)]
    assert stats.friedman(matrix).pvalue < 0.001
    loose = stats.friedman(matrix, 0.005)  # ranks 1.5, 1.5, 3: plain tied ranks again
    tied = sps.friedmanchisquare(*stats.tied_ranks(matrix, 0.005).T)
    assert loose.statistic == pytest.approx(tied.statistic)
    assert stats.average_ranks(matrix, 0.005).tolist() == [1.5, 1.5, 3.0]


def test_tied_ranks_rejects_bad_tolerance():
    for bad in (-0.1, np.nan, np.inf):
        with pytest.raises(ValueError, match="tolerance"):
            stats.tied_ranks(np.zeros((2, 3)), bad)


def test_summary_with_tolerance_counts_found_best_and_ties():
    matrix = np.array([[0.0, 0.004, 0.02], [0.003, 0.0, 0.05], [0.0, 0.012, 0.011]])
    frame = frame_from_final(matrix, ["a", "b", "c"])
    exact = stats.summarise(frame, ["a", "b", "c"])
    loose = stats.summarise(frame, ["a", "b", "c"], tolerance=0.005)
    assert exact["found_best"].tolist() == pytest.approx([2 / 3, 1 / 3, 0.0])
    assert loose["found_best"].tolist() == pytest.approx([1.0, 2 / 3, 0.0])
    # Seed 0: a, b tie (1.5, 1.5), c 3; seed 1: a, b tie, c 3; seed 2: a 1, b and c tie (2.5).
    assert loose["avg_rank"].tolist() == pytest.approx([4 / 3, 5.5 / 3, 8.5 / 3])


def test_friedman_and_wilcoxon_tolerance_zero_unchanged_and_ties_drop_pairs():
    rng = np.random.default_rng(5)
    matrix = rng.uniform(0, 0.03, (12, 4))
    names = ["random_search", "b", "c", "d"]
    assert stats.friedman(matrix, 0.0) == stats.friedman(matrix)
    expected = sps.friedmanchisquare(*matrix.T)
    assert stats.friedman(matrix).pvalue == pytest.approx(expected.pvalue)
    exact = stats.wilcoxon_vs_baseline(matrix, names)
    loose = stats.wilcoxon_vs_baseline(matrix, names, tolerance=0.01)
    for j, name in enumerate(names[1:], start=1):
        diff = matrix[:, j] - matrix[:, 0]
        row = loose.set_index("strategy").loc[name]
        assert row["ties"] == int(np.sum(np.abs(diff) <= 0.01))
        assert row["wins"] == int(np.sum(diff < -0.01))
        kept = diff[np.abs(diff) > 0.01]
        if len(kept) >= 1:
            assert row["pvalue"] == pytest.approx(sps.wilcoxon(kept).pvalue)
    assert exact["ties"].sum() == 0
    # Every difference within the tolerance: all ties, p = 1.
    flat = stats.wilcoxon_vs_baseline(matrix * 0.01, names, tolerance=0.01)
    assert (flat["pvalue"] == 1.0).all() and (flat["ties"] == 12).all()
    assert np.isnan(stats.friedman(matrix * 0.01, 0.01).pvalue)
