"""Syne Tune's transfer schedulers on our tables: the source tasks exported as Syne Tune's
offline evaluations hold their validation curves only; Syne Tune's ZeroShotTransfer and
BoundingBox, fed the export, choose what our zero_shot_transfer and bounding_box choose; both
run through the Syne Tune adapter's simulator and come back as our results rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nasbench_lite.errors import InputError
from nasbench_lite.search.registry import get_strategy
from nasbench_lite.search.sources import SourceTasks
from nasbench_lite.search.trajectory import INCUMBENT_COLUMNS, RESULT_COLUMNS
from nasbench_lite.spaces import get_space
from nasbench_lite.table.reader import Table
from nasbench_lite.table.synthetic import synthetic_table

pytest.importorskip("syne_tune")
from nasbench_lite.adapters import synetune  # noqa: E402
from nasbench_lite.adapters import synetune_transfer as st  # noqa: E402

SPACE = get_space("nb201")


def task_table(rng: int, name: str, done=None) -> Table:
    """An in-memory synthetic table of task `name`, 3 epochs: valid accuracies in
    [0.05, 0.45], test = valid + 0.5, so an exported valid error is >= 0.55 and a test one
    would be <= 0.45."""
    table = synthetic_table(None, epochs=3, rng=rng, done=done, attrs={"dataset": name})
    valid = 0.05 + 0.4 * table.metric("valid_acc")
    arrays = {**table.arrays, "metrics/valid_acc": valid, "metrics/test_acc": valid + 0.5}
    return Table(arrays, {**table.attrs, "preset": f"p{rng}"})


def some_classes(seed: int, count: int) -> np.ndarray:
    done = np.zeros(SPACE.num_unique, dtype=bool)
    done[np.random.default_rng(seed).permutation(SPACE.num_unique)[:count]] = True
    return done


@pytest.fixture(scope="module")
def target() -> Table:
    return task_table(1, "target")


@pytest.fixture(scope="module")
def blackbox(target):
    return synetune.to_blackbox(target)


@pytest.fixture(scope="module")
def sources(target) -> SourceTasks:
    """alpha (complete) and beta (a third of the classes): the cells known in every task
    are beta's."""
    alpha = task_table(2, "alpha")
    beta = task_table(3, "beta", done=some_classes(5, SPACE.num_unique // 3))
    return SourceTasks.build([("alpha", alpha), ("beta", beta)], target)


def test_the_export_is_the_sources_validation_curves(sources):
    transfer = st.to_transfer_evaluations(sources)
    every = sources[0].known & sources[1].known
    assert every.sum() < sources[0].known.sum()  # beta lacks some of alpha's cells
    want_rows = np.flatnonzero(every)  # raw order, one row per raw cell
    assert list(transfer) == ["alpha", "beta"]
    for task in sources:
        evals = transfer[task.name]
        assert evals.objectives_names == [synetune.METRIC]
        assert evals.objectives_evaluations.shape == (len(want_rows), 3, 3, 1)
        assert evals.objectives_evaluations.dtype == np.float64
        assert list(evals.hyperparameters.columns) == list(SPACE.edge_names)
        assert list(evals.configuration_space) == list(SPACE.edge_names)
        rows = [SPACE.config_to_raw(c) for c in evals.hyperparameters.to_dict("records")]
        assert rows == want_rows.tolist()
        values = evals.objectives_evaluations[..., 0]
        for e in range(1, 4):  # brute force: every row, seed and epoch
            for s in range(3):
                want = 1 - task.valid_acc(want_rows, e, s)
                np.testing.assert_allclose(values[:, s, e - 1], want, rtol=0, atol=1e-12)
        # valid <= 0.45 and test = valid + 0.5: an exported test error would be <= 0.45.
        assert values.min() >= 0.55 - 1e-6 and not np.isnan(values).any()
    # Per task (for BoundingBox), one row per class, the final epoch only.
    own = st.to_transfer_evaluations(sources, classes=True, last_epoch=True, shared=False)
    reps = np.sort(np.asarray(SPACE.representatives))
    for task in sources:
        evals = own[task.name]
        rows = [SPACE.config_to_raw(c) for c in evals.hyperparameters.to_dict("records")]
        assert rows == reps[task.known[reps]].tolist()
        np.testing.assert_allclose(evals.objectives_evaluations[:, :, 0, 0].mean(axis=1),
                                   1 - task.valid_acc(rows), atol=1e-12)  # fmt: skip


def test_zero_shot_portfolios_agree(sources, blackbox):
    """Syne Tune's ZeroShotTransfer and ours implement Wistuba et al.'s greedy portfolio.
    Syne Tune ranks a configuration by its seed-mean error at its best epoch (the minimum
    over fidelities), ours by its seed-mean accuracy at the final epoch; and on one row per
    raw cell, a class weighs in Syne Tune's average ranks as many times as it has isomorphic
    cells. The faithful comparison exports one row per class (our candidates) at the final
    epoch only: then both rank the same numbers and must choose the same cells in the same
    order (ties: the lower raw cell, as the export keeps raw order)."""
    transfer = st.to_transfer_evaluations(sources, classes=True, last_epoch=True)
    ours = get_strategy("zero_shot_transfer")(SPACE, sources=sources).portfolio
    for seed in (0, 7):  # the portfolio does not depend on the seed
        scheduler = st.transfer_scheduler("zero_shot", blackbox, transfer, seed=seed)
        assert st.suggested_cells(scheduler, SPACE, 25) == list(ours[:25])
    # Syne Tune 0.16's own suggest ignores the portfolio (samples at random): ours is used.
    from syne_tune.optimizer.schedulers.transfer_learning.zero_shot import ZeroShotTransfer

    plain = ZeroShotTransfer(blackbox.configuration_space, synetune.METRIC, transfer,
                             sort_transfer_learning_evaluations=False, random_seed=0)  # fmt: skip
    assert st.suggested_cells(plain, SPACE, 10) != list(ours[:10])


def test_bounding_boxes_agree(sources, blackbox):
    """The box of the best class of each task. BoundingBox ranks each task alone, so it gets
    each task's own cells (shared=False): with the cells known in every task it would miss
    alpha's best class, which beta lacks (checked below). Same caveat on the ranking metric
    as for the portfolio: the final epoch, one row per class."""
    ours = get_strategy("bounding_box")(SPACE, sources=sources, top=1)
    own = st.to_transfer_evaluations(sources, classes=True, last_epoch=True, shared=False)
    box = st.box_ops(st.transfer_scheduler("bounding_box", blackbox, own, seed=0), SPACE)
    assert box.dtype == bool and box.shape == ours.allowed_ops.shape
    assert np.array_equal(box, ours.allowed_ops)
    reps = np.asarray(SPACE.representatives)
    best_alpha = sources[0].ranking(reps)[0]
    assert not sources[1].known[best_alpha]
    shared = st.to_transfer_evaluations(sources, classes=True, last_epoch=True)
    other = st.box_ops(st.transfer_scheduler("bounding_box", blackbox, shared, seed=0), SPACE)
    assert not np.array_equal(other, ours.allowed_ops)
    top2 = get_strategy("bounding_box")(SPACE, sources=sources, top=2)
    box2 = st.transfer_scheduler("bounding_box", blackbox, own, seed=0, top=2)
    assert np.array_equal(st.box_ops(box2, SPACE), top2.allowed_ops)


@pytest.mark.parametrize("name", st.TRANSFER_SCHEDULERS)
def test_simulate_runs_the_transfer_schedulers(name, sources, target, blackbox, capsys):
    transfer = st.to_transfer_evaluations(sources, classes=True, last_epoch=True,
                                          shared=name == "zero_shot")  # fmt: skip
    scheduler = st.transfer_scheduler(name, blackbox, transfer, seed=3)
    frame = synetune.simulate(blackbox, scheduler, budget=300, seed=3)
    assert capsys.readouterr().out == ""  # BoundingBox's prints are swallowed
    assert frame["st_tuner_time"].max() >= 300 and frame["trial_id"].nunique() > 5
    config = frame[[f"config_{e}" for e in SPACE.edge_names]]
    config.columns = list(SPACE.edge_names)
    raws = [SPACE.config_to_raw(c) for c in config.to_dict("records")]
    trials = pd.Series(raws).groupby(frame["trial_id"].to_numpy()).first().tolist()
    if name == "zero_shot":  # the trials, in order, are the portfolio
        ours = get_strategy("zero_shot_transfer")(SPACE, sources=sources).portfolio
        assert trials == list(ours[: len(trials)])
    else:  # every trial inside our box
        box = get_strategy("bounding_box")(SPACE, sources=sources).allowed_ops
        cells = SPACE.cells(np.asarray(trials))
        assert box[np.arange(cells.shape[1]), cells].all()
    rows = synetune.to_results(frame, target, f"synetune_{name}", seed=3, budget=300)
    assert list(rows.columns) == [*RESULT_COLUMNS, *INCUMBENT_COLUMNS]
    assert len(rows) == (frame["st_tuner_time"] <= 300).sum()
    assert rows["evals"].tolist() == list(range(1, len(rows) + 1))
    assert (rows["regret"] >= 0).all() and set(rows["incumbent_raw"]) <= set(trials)


def test_an_exhausted_portfolio_ends_the_simulation(target, blackbox):
    """Syne Tune's ZeroShotTransfer suggests nothing once its portfolio is spent: the tuner
    stops starting trials and simulate returns what ran, each trial to its final epoch, before
    the budget (ours would go on with random search)."""
    alpha = task_table(2, "alpha", done=some_classes(1, 40))
    beta = task_table(3, "beta", done=some_classes(1, 40))  # the same 40 classes
    small = SourceTasks.build([("alpha", alpha), ("beta", beta)], target)
    transfer = st.to_transfer_evaluations(small, classes=True, last_epoch=True)
    scheduler = st.transfer_scheduler("zero_shot", blackbox, transfer, seed=0)
    frame = synetune.simulate(blackbox, scheduler, budget=1e6, seed=0)
    assert frame["trial_id"].nunique() == 40
    assert (frame.groupby("trial_id")["epoch"].max() == 3).all()
    assert frame["st_tuner_time"].max() < 1e6
    ours = get_strategy("zero_shot_transfer")(SPACE, sources=small).portfolio
    assert len(ours) == 40
    config = frame.groupby("trial_id").first()[[f"config_{e}" for e in SPACE.edge_names]]
    config.columns = list(SPACE.edge_names)
    assert [SPACE.config_to_raw(c) for c in config.to_dict("records")] == list(ours)


def test_bad_arguments(sources, blackbox, target):
    transfer = st.to_transfer_evaluations(sources, classes=True, last_epoch=True)
    with pytest.raises(InputError, match="unknown Syne Tune transfer scheduler"):
        st.transfer_scheduler("hyperband", blackbox, transfer, seed=0)
    with pytest.raises(InputError, match="no transfer evaluations"):
        st.transfer_scheduler("zero_shot", blackbox, {}, seed=0)
    with pytest.raises(InputError, match="no source tasks"):
        st.to_transfer_evaluations([])
    with pytest.raises(InputError, match="top"):
        st.transfer_scheduler("bounding_box", blackbox, transfer, seed=0, top=0)
    with pytest.raises(InputError, match="top 3: only bounding_box reads it"):
        st.transfer_scheduler("zero_shot", blackbox, transfer, seed=0, top=3)
    # Each task's own cells (alpha all, beta a third): Syne Tune would pair rows by position.
    own = st.to_transfer_evaluations(sources, classes=True, last_epoch=True, shared=False)
    with pytest.raises(InputError, match="same cells in the same order"):
        st.transfer_scheduler("zero_shot", blackbox, own, seed=0)
    # As many cells in each task, but not the same ones: refused too, not paired blindly.
    half = SPACE.num_unique // 2
    twins = SourceTasks.build([("c", task_table(4, "c", done=some_classes(6, half))),
                               ("d", task_table(5, "d", done=some_classes(7, half)))],
                              target)  # fmt: skip
    own = st.to_transfer_evaluations(twins, classes=True, last_epoch=True, shared=False)
    assert len({len(e.hyperparameters) for e in own.values()}) == 1
    with pytest.raises(InputError, match="same cells in the same order"):
        st.transfer_scheduler("zero_shot", blackbox, own, seed=0)


def test_without_syne_tune(sources, blackbox, monkeypatch):
    from nasbench_lite.extras import MissingExtra

    monkeypatch.setitem(__import__("sys").modules, "syne_tune", None)
    with pytest.raises(MissingExtra, match="Syne Tune transfer adapter"):
        st.to_transfer_evaluations(sources)
    with pytest.raises(MissingExtra, match="Syne Tune transfer adapter"):
        st.transfer_scheduler("zero_shot", blackbox, {"a": None}, seed=0)
