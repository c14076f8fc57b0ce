"""The Syne Tune adapter, run against the real syne-tune package: a table exported as a tabular
blackbox holds every cell's numbers per seed and epoch; Syne Tune's simulator runs random
search and ASHA on it; its results become our results.csv rows and report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import partial_table, synthetic_table

from nasbench_lite.backends.tabular import TabularBenchmark
from nasbench_lite.compare.results import read_results
from nasbench_lite.compare.run import rebuild
from nasbench_lite.errors import InputError
from nasbench_lite.search.trajectory import INCUMBENT_COLUMNS, RESULT_COLUMNS
from nasbench_lite.table.reader import Table

pytest.importorskip("syne_tune")
from nasbench_lite.adapters import synetune  # noqa: E402

SHIPPED = Path(__file__).resolve().parents[1] / "data" / "nb201_mnist1d_cpu.h5"


@pytest.fixture(scope="module")
def small() -> Table:
    """A complete synthetic table of 3 epochs: valid in [0.05, 0.45], test = valid + 0.5."""
    return synthetic_table(epochs=3)


@pytest.fixture(scope="module")
def blackbox(small):
    return synetune.to_blackbox(small)


def check_export(table: Table, blackbox) -> None:
    """Every row is the right raw cell, and every objective the table's value at every seed
    and epoch (read through the table's own `values`)."""
    space, hp = table.space, blackbox.hyperparameters
    raws = np.array([space.config_to_raw(config) for config in hp.to_dict("records")])
    available = table.raw_to_row >= 0
    available[available] = table.done[table.raw_to_row[available]]
    assert list(hp.columns) == list(space.edge_names)
    np.testing.assert_array_equal(raws, np.flatnonzero(available))  # each answered cell, once
    values = blackbox.objectives_evaluations  # (cells, seeds, epochs, objectives)
    E = table.num_epochs
    names = synetune.objective_names(table)
    assert list(blackbox.objectives_names) == names
    assert values.shape == (len(raws), table.num_seeds, E, len(names))
    assert list(blackbox.fidelity_values) == list(range(1, E + 1))
    column = {name: i for i, name in enumerate(blackbox.objectives_names)}
    for seed in range(table.num_seeds):
        for epoch in range(1, E + 1):
            got = values[:, seed, epoch - 1]
            for name in table.metrics:  # every metric of the table, read as `values` reads it
                want = table.values(name, raws, epoch=epoch, seed=seed)
                got_one = got[:, column[f"metric_{name}"]]
                np.testing.assert_allclose(got_one, want.astype(np.float32), rtol=1e-6)
            acc = table.values("valid_acc", raws, epoch=epoch, seed=seed)
            error = np.where(np.isnan(acc), 1.0, 1 - acc)  # a diverged seed: the worst, not NaN
            np.testing.assert_allclose(got[:, column["metric_valid_error"]], error, rtol=1e-6)
            elapsed = table.values("train_seconds", raws, epoch=epoch, seed=seed)
            np.testing.assert_allclose(got[:, column["metric_elapsed_time"]], elapsed, rtol=1e-6)
            whole = table.values("train_seconds", raws, seed=seed)
            np.testing.assert_allclose(got[:, column["metric_runtime"]], whole / E, rtol=1e-6)


def test_export_holds_every_cell_seed_and_epoch(small, blackbox):
    check_export(small, blackbox)
    assert len(blackbox.hyperparameters) == small.space.num_cells
    # Syne Tune's own lookup agrees: the NB-201 example cell at epoch 2, seed 1.
    raw = small.space.to_raw("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|"
                             "nor_conv_3x3~1|skip_connect~2|")  # fmt: skip
    found = blackbox.objective_function(small.space.raw_to_config(raw), fidelity=2, seed=1)
    assert found["metric_valid_acc"] == pytest.approx(
        small.query(raw, epoch=2, seed=1)["valid_acc"]
    )
    assert found["metric_test_acc"] == pytest.approx(small.query(raw, epoch=2, seed=1)["test_acc"])


@pytest.mark.skipif(not SHIPPED.is_file(), reason="the shipped table is not in data/")
def test_export_of_the_shipped_table():
    table = Table.open(SHIPPED)
    blackbox = synetune.to_blackbox(SHIPPED)  # a path works as well as a Table
    check_export(table, blackbox)


def test_a_partial_table_exports_its_cells_and_cannot_be_simulated():
    table = partial_table(fraction=0.05)
    blackbox = synetune.to_blackbox(table)
    check_export(table, blackbox)
    assert len(blackbox.hyperparameters) < table.space.num_cells
    with pytest.raises(InputError, match=r"holds [\d,]+ of 15,625 cells.*needs a complete table"):
        synetune.simulate(blackbox, "random_search", 100)
    empty = synthetic_table(done=np.zeros(5044, dtype=bool))
    with pytest.raises(InputError, match="has no trained class: there is nothing to export"):
        synetune.to_blackbox(empty)


@pytest.mark.parametrize("scheduler", synetune.SCHEDULERS)
def test_the_simulator_runs_on_the_table(scheduler, small, blackbox):
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    frame = synetune.simulate(blackbox, scheduler, budget=400, workers=2, seed=0)
    assert (np.random.get_state()[1] == before).all()  # noqa: NPY002  (the caller's state)
    assert len(frame) > 20 and frame["st_tuner_time"].max() >= 400
    # Every result is the table's number for that cell at that epoch for one of its seeds.
    config = frame[[f"config_{e}" for e in small.space.edge_names]]
    config.columns = list(small.space.edge_names)
    raws = [small.space.config_to_raw(c) for c in config.to_dict("records")]
    rows = small.raw_to_row[raws]
    curves = small.metric("valid_acc")[rows, :, frame["epoch"].to_numpy() - 1]  # (n, seeds)
    assert (curves == frame["metric_valid_acc"].to_numpy(np.float32)[:, None]).any(axis=1).all()
    # Each trial reports epochs 1, 2, ... in order; ASHA stops some trials early.
    epochs = frame.groupby("trial_id")["epoch"].agg(list)
    assert all(e == list(range(1, len(e) + 1)) for e in epochs)
    finals = epochs.map(len)
    if scheduler == "asha":
        assert (finals < 3).sum() > len(finals) / 2
    else:
        assert (finals[:-2] == 3).all()  # all but the (at most 2) running at the end
    # The same seed repeats the run exactly; another seed differs.
    assert frame.equals(synetune.simulate(blackbox, scheduler, budget=400, workers=2, seed=0))
    assert not frame.equals(synetune.simulate(blackbox, scheduler, budget=400, workers=2, seed=1))
    # More workers finish more within the same budget.
    alone = synetune.simulate(blackbox, scheduler, budget=400, workers=1, seed=0)
    assert len(alone) < len(frame)


@pytest.mark.slow
def test_results_and_report(small, blackbox, tmp_path):
    bench = TabularBenchmark(small)
    parts = []
    for scheduler in synetune.SCHEDULERS:
        for seed in range(3):
            frame = synetune.simulate(small, scheduler, budget=300, workers=2, seed=seed)
            rows = synetune.to_results(frame, bench, f"synetune:{scheduler}", seed, budget=300)
            assert list(rows.columns) == [*RESULT_COLUMNS, *INCUMBENT_COLUMNS]
            assert len(rows) == (frame["st_tuner_time"] <= 300).sum() > 0
            assert rows["sim_seconds"].is_monotonic_increasing and rows["sim_seconds"].max() <= 300
            assert list(rows["evals"]) == list(range(1, len(rows) + 1))
            inc = rows["incumbent_raw"].to_numpy()
            assert (inc >= 0).all()  # the synthetic table has no diverged run
            np.testing.assert_array_equal(rows["incumbent_test"], bench.mean_test_acc(inc))
            np.testing.assert_allclose(rows["regret"], bench.best_test_acc - rows["incumbent_test"])
            assert (rows["incumbent_valid"] < 0.5).all()  # validation, never test, accuracy
            parts.append(rows)
    results = pd.concat(parts, ignore_index=True)
    report = synetune.save_report(tmp_path / "out", results, small, budget=300, workers=2)
    text = report.read_text()
    assert "`synetune:random_search`" in text and "`synetune:asha`" in text
    assert "300 simulated seconds" in text and "Syne Tune" in text
    assert "## Wilcoxon signed-rank tests vs `synetune:random_search`" in text
    pd.testing.assert_frame_equal(read_results(tmp_path / "out" / "results.csv"), results)
    assert rebuild(tmp_path / "out").budget.seconds == 300  # compare --report-only reads it


def syne_frame(epochs, valid, raws, space) -> pd.DataFrame:
    """A results frame as Syne Tune writes one, with these results in this order."""
    frame = pd.DataFrame({"st_tuner_time": np.arange(1.0, len(raws) + 1), "epoch": epochs,
                          "metric_valid_acc": valid, "trial_id": range(len(raws))})  # fmt: skip
    for edge in space.edge_names:
        frame[f"config_{edge}"] = [space.raw_to_config(raw)[edge] for raw in raws]
    return frame


def test_the_incumbent_is_the_best_at_the_highest_epoch(bench):
    space, raws = bench.space, [100, 200, 300, 400, 500, 600, 700]
    epochs = [1, 1, 1, 2, 1, 2, 2]
    valid = [0.3, 0.5, np.nan, 0.2, 0.9, 0.4, 0.4]
    rows = synetune.to_results(syne_frame(epochs, valid, raws, space), bench, "x", 7)
    # epoch 1: 0.3 then 0.5 (NaN never counts); epoch 2 outranks epoch 1 although 0.2 < 0.5;
    # a better epoch-1 result does not displace it; 0.4 at epoch 2 does; its tie does not.
    assert list(rows["incumbent_raw"]) == [100, 200, 200, 400, 400, 600, 600]
    assert list(rows["incumbent_valid"]) == [0.3, 0.5, 0.5, 0.2, 0.2, 0.4, 0.4]
    assert list(rows["incumbent_cell"] != "") == [True, True, False, True, False, True, True]
    assert rows["incumbent_cell"].iloc[-1] == space.format(600)
    assert (rows["strategy"] == "x").all() and (rows["seed"] == 7).all()
    np.testing.assert_allclose(rows["regret"], bench.best_test_acc - bench.mean_test_acc(
        rows["incumbent_raw"].to_numpy()))  # fmt: skip
    cut = synetune.to_results(syne_frame(epochs, valid, raws, space), bench, "x", 7, budget=3.5)
    assert len(cut) == 3
    none = synetune.to_results(syne_frame([1], [np.nan], [5], space), bench, "x", 0)
    assert none["incumbent_raw"].tolist() == [-1] and np.isnan(none["regret"]).all()


def test_bad_results_and_arguments(bench, blackbox):
    frame = syne_frame([1], [0.5], [5], bench.space)
    with pytest.raises(InputError, match=r"lack columns \['config_3<-2'\]"):
        synetune.to_results(frame.drop(columns="config_3<-2"), bench, "x", 0)
    with pytest.raises(InputError, match="hold an unknown op 'conv_5x5'"):
        synetune.to_results(frame.assign(**{"config_1<-0": "conv_5x5"}), bench, "x", 0)
    with pytest.raises(InputError, match="unknown Syne Tune scheduler 'bohb'; known: random_se"):
        synetune.simulate(blackbox, "bohb", 100)
    for kwargs, message in (
        ({"seed": -1}, "seed must be an int >= 0, got -1"),
        ({"workers": 0}, "workers must be an int >= 1, got 0"),
        ({"budget": 0}, r"budget seconds must be > 0 and at most 1e\+12, got 0"),
        ({"tick": float("inf")}, "tick must be finite and > 0 simulated seconds, got inf"),
    ):
        with pytest.raises(InputError, match=message):
            synetune.simulate(blackbox, "asha", **{"budget": 100, **kwargs})


def test_a_scheduler_of_ones_own_and_the_tuner_files(small, blackbox, tmp_path):
    from syne_tune.optimizer.schedulers.asha import AsynchronousSuccessiveHalving

    scheduler = AsynchronousSuccessiveHalving(
        blackbox.configuration_space, "metric_valid_error", time_attr="epoch", max_t=3,
        reduction_factor=2, random_seed=0,
    )  # fmt: skip
    frame = synetune.simulate(blackbox, scheduler, budget=200, seed=0, workdir=tmp_path)
    assert len(frame) > 5 and (tmp_path / "results.csv.zip").is_file()
    assert (tmp_path / "metadata.json").is_file()


def test_a_diverged_seed_exports_the_worst_error_not_nan():
    diverged = np.zeros((40, 3), bool)
    diverged[::7, 1] = True
    from nasbench_lite.table.synthetic import synthetic_table as made_up

    table = made_up(rows=40, epochs=3, diverged=diverged, rng=2)
    exported = synetune.to_blackbox(table)
    check_export(table, exported)
    names = list(exported.objectives_names)
    error = exported.objectives_evaluations[..., names.index(synetune.METRIC)]
    acc = exported.objectives_evaluations[..., names.index("metric_valid_acc")]
    assert np.isnan(acc).any() and not np.isnan(error).any()
    assert (error[np.isnan(acc)] == 1.0).all()


def test_no_test_metric_reaches_a_scheduler(small, blackbox):
    from syne_tune.optimizer.baselines import RandomSearch

    assert any(n.startswith("metric_test_") for n in blackbox.objectives_names)  # exported
    seen = set()

    class Spy(RandomSearch):
        def on_trial_result(self, trial, result):
            seen.update(result)
            return super().on_trial_result(trial, result)

    spy = Spy(blackbox.configuration_space, metrics=[synetune.METRIC], random_seed=0)
    frame = synetune.simulate(blackbox, spy, budget=60, seed=0)
    assert len(frame) > 3 and synetune.METRIC in seen
    assert not [k for k in seen if "test" in k], sorted(seen)
    assert not [c for c in frame.columns if "test" in c]
    cheat = RandomSearch(blackbox.configuration_space, metrics=["metric_test_acc"],
                         do_minimize=False, random_seed=0)  # fmt: skip
    with pytest.raises(InputError, match=r"optimises \['metric_test_acc'\]: a test metric"):
        synetune.simulate(blackbox, cheat, budget=60, seed=0)
    # What the adapter turns the run into still scores the incumbent on test, from the table.
    results = synetune.to_results(frame, small, "spy", 0)
    assert results["incumbent_test"].notna().any()
