"""Syne Tune's MOASHA through the Syne Tune adapter, run against the real syne-tune package on
a small synthetic table: built for our objective strings, run by Syne Tune's simulator, its
results read back as multi-objective rows whose fronts count full trainings only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nasbench_lite.compare import CompareConfig, compare
from nasbench_lite.compare import statistics as stats
from nasbench_lite.compare.objectives import resolve_objectives
from nasbench_lite.compare.pareto import hypervolume
from nasbench_lite.compare.pareto_report import ranking_section
from nasbench_lite.errors import InputError
from nasbench_lite.table.reader import Table
from nasbench_lite.table.synthetic import synthetic_table

pytest.importorskip("syne_tune")
pytest.importorskip("moocore")
from nasbench_lite.adapters import synetune  # noqa: E402
from nasbench_lite.adapters import synetune_moasha as sm  # noqa: E402

TWO = ("valid_acc:max", "params:min")
EPOCHS = 9  # MOASHA's rungs at epochs 1, 3 and 9 (reduction factor 3): stops at 1 or 3
BUDGET = 300.0


@pytest.fixture(scope="module")
def table() -> Table:
    return synthetic_table(epochs=EPOCHS)


@pytest.fixture(scope="module")
def blackbox(table):
    return synetune.to_blackbox(table)


@pytest.fixture(scope="module")
def run(table, blackbox):
    """(Syne Tune's results frame, our rows) of one MOASHA run to BUDGET simulated seconds."""
    frame = synetune.simulate(blackbox, sm.moasha(blackbox, TWO, seed=1), BUDGET, seed=1)
    return frame, sm.to_mo_results(frame, table, TWO, seed=1, budget=BUDGET)


def raws_of(table: Table, frame: pd.DataFrame) -> np.ndarray:
    names = [f"config_{name}" for name in table.space.edge_names]
    configs = frame[names].rename(columns=lambda c: c[len("config_") :]).to_dict("records")
    return np.array([table.space.config_to_raw(c) for c in configs], dtype=np.int64)


def staircase_hv(points: np.ndarray, reference: np.ndarray) -> float:
    """2-D hypervolume (both minimised) by a sweep over the points sorted by the first."""
    points = points[(points < reference).all(axis=1)]
    total, low = 0.0, reference[1]
    for x, y in points[np.lexsort((points[:, 1], points[:, 0]))]:
        if y < low:
            total += (reference[0] - x) * (low - y)
            low = y
    return total


def test_built_for_our_objectives(blackbox):
    from syne_tune.optimizer.schedulers.multiobjective.moasha import MOASHA

    scheduler = sm.moasha(blackbox, TWO, seed=3)
    assert isinstance(scheduler, MOASHA)
    assert scheduler.metrics == ["metric_valid_error", "metric_params"]
    assert scheduler.do_minimize is True
    assert (scheduler.time_attr, scheduler.max_t) == ("epoch", EPOCHS)
    assert scheduler.reduction_factor == sm.REDUCTION_FACTOR == 3
    assert [rung for rung, _ in scheduler.brackets[0].rungs] == [9, 3, 1]
    # The rung rule: a result dominating all others at its rung. Syne Tune 0.16's
    # NonDominatedPriority ranks it by the index sorted last (1/2 > 1/3: stopped); ranked=True
    # by its own place (0: promoted).
    points = np.array([[0.1, 0.1], [0.5, 0.5], [0.9, 0.9], [0.05, 0.05]])

    def rank_of_last(scheduler) -> float:
        priorities = scheduler.brackets[0].priority(points)
        return (np.searchsorted(sorted(priorities), priorities) / len(priorities))[-1]

    assert rank_of_last(scheduler) == 0.5
    assert rank_of_last(sm.moasha(blackbox, TWO, ranked=True)) == 0.0
    # All maximised once mapped: one direction, maximise.
    assert sm.moasha(blackbox, ("valid_acc:min", "flops:max")).do_minimize is False
    # Mixed directions: each metric negated where maximised before MOASHA ranks it.
    mixed = sm.moasha(blackbox, ("valid_acc:max", "flops:max"))
    ranked = mixed.metric_dict({"metric_valid_error": 0.25, "metric_flops": 10.0, "epoch": 1})
    assert ranked == {"metric_valid_error": 0.25, "metric_flops": -10.0}


def test_bad_objective_names_are_refused(table, blackbox, run):
    with pytest.raises(InputError, match="'latency_cpu' is not in the table's blackbox"):
        sm.moasha(blackbox, ("valid_acc:max", "latency_cpu:min"))
    with pytest.raises(InputError, match="latency_cpu"):
        sm.to_mo_results(run[0], table, ("valid_acc:max", "latency_cpu:min"))
    # A constrained plan: its true front is over feasible cells, MOASHA's over any it found.
    median = float(np.median(table.values("params", table.row_raw)))
    constrained = resolve_objectives(TWO, (f"params<={median:.0f}",), table)
    with pytest.raises(InputError, match="without constraints, got params<="):
        sm.to_mo_results(run[0], table, TWO, plan=constrained)
    with pytest.raises(InputError, match="test metric"):
        sm.moasha(blackbox, ("test_acc:max", "params:min"))
    # The blackbox's derived columns are not table metrics: to_mo_results could not measure
    # them, and valid_error would be valid_acc twice.
    for derived in ("runtime", "elapsed_time", "valid_error"):
        with pytest.raises(InputError, match=f"metric '{derived}' is not in the table's"):
            sm.moasha(blackbox, ("valid_acc:max", f"{derived}:min"))
    with pytest.raises(InputError, match="NAME:max or NAME:min"):
        sm.moasha(blackbox, ("valid_acc:up", "params:min"))


def test_runs_to_the_budget_and_counts_full_trainings_only(table, run):
    frame, rows = run
    assert frame[synetune.TIME].max() >= BUDGET  # Syne Tune stops once past the budget
    assert rows["sim_seconds"].max() <= BUDGET
    per_trial = frame.groupby("trial_id")["epoch"].max()
    assert (per_trial < EPOCHS).sum() > (per_trial == EPOCHS).sum() > 3  # most stopped early
    frame = frame[frame[synetune.TIME] <= BUDGET]
    full = frame[frame["epoch"] == EPOCHS].sort_values(synetune.TIME, kind="stable")
    assert len(rows) == len(full)
    assert rows["evals"].tolist() == list(range(1, len(rows) + 1))
    np.testing.assert_array_equal(rows["raw"], raws_of(table, full))
    np.testing.assert_allclose(rows["sim_seconds"], full[synetune.TIME])
    assert (rows["epoch"] == EPOCHS).all()
    times = frame[synetune.TIME].to_numpy()
    assert rows["epochs_trained"].tolist() == [(times <= t).sum() for t in rows["sim_seconds"]]
    # A cell stopped early never joins the front, however good its early epochs looked.
    early_only = set(raws_of(table, frame).tolist()) - set(rows["raw"].tolist())
    assert early_only
    # Cut the full trainings off: no evaluation counts, whatever the early epochs.
    assert sm.to_mo_results(frame[frame["epoch"] < EPOCHS], table, TWO).empty
    # A budget keeps the full trainings that came back by then.
    cut = float(rows["sim_seconds"].iloc[2])
    shorter = sm.to_mo_results(frame, table, TWO, seed=1, budget=cut)
    assert len(shorter) == 3  # the incumbent's cell is named where it changes and at the end
    pd.testing.assert_frame_equal(shorter.drop(columns="incumbent_cell"),
                                  rows.iloc[:3].drop(columns="incumbent_cell"))  # fmt: skip


def test_hv_is_the_front_of_the_fully_trained_cells(table, run):
    _, rows = run
    plan = resolve_objectives(TWO, (), table)
    ref = plan.reference
    assert ref.measured == ("test_acc", "params")
    raws = rows["raw"].to_numpy()
    np.testing.assert_allclose(rows["cell_test_acc"], table.values("test_acc", raws))
    np.testing.assert_allclose(rows["cell_params"], table.values("params", raws))
    hv = rows["hv"].to_numpy()
    assert (np.diff(hv) >= 0).all() and hv[-1] > 0
    normal = ref.normalised(rows[["cell_test_acc", "cell_params"]].to_numpy())
    for i in range(len(rows)):
        assert hv[i] == pytest.approx(hypervolume(normal[: i + 1], ref.reference_point))
        assert hv[i] == pytest.approx(staircase_hv(normal[: i + 1], ref.reference_point))
    np.testing.assert_allclose(rows["hv_regret"], ref.true_hv - hv)
    assert (rows["hv_regret"] > 0).all()
    # The incumbent: the best validation accuracy the full trainings reported.
    frame = run[0][run[0][synetune.TIME] <= BUDGET]
    best = frame.loc[frame["epoch"] == EPOCHS, "metric_valid_acc"].max()
    assert rows["incumbent_valid"].iloc[-1] == pytest.approx(best)


def test_runs_repeat_and_rank_beside_our_strategies(table, blackbox, run):
    again = synetune.simulate(blackbox, sm.moasha(blackbox, TWO, seed=1), BUDGET, seed=1)
    pd.testing.assert_frame_equal(sm.to_mo_results(again, table, TWO, seed=1, budget=BUDGET),
                                  run[1])  # fmt: skip
    ours = compare(
        CompareConfig(
            table=table,
            strategies=("random_search",),
            seeds=1,
            budget="150",
            jobs=1,
            out=None,
            objectives=TWO,
        )
    ).results
    ours = ours[ours["seed"] == 0].assign(seed=1)
    mine = run[1]
    assert list(mine.columns) == [c for c in ours.columns if c in mine.columns]
    assert set(ours.columns) - set(mine.columns) <= {"feasible"}
    frame = pd.concat([ours, mine], ignore_index=True)
    _, _, matrix = stats.final_matrix(frame, ["random_search", "moasha"], column="hv_regret")
    assert matrix.shape == (1, 2) and (matrix > 0).all()
    text = "\n".join(ranking_section(frame, ["random_search", "moasha"]))
    assert "`moasha`" in text and "`random_search`" in text
