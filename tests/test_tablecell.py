"""A cell in full (`Table.details`, `query --details`) and simulated training runs
(`Table.simulate_train_eval`), checked against the table's arrays read directly."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import synthetic_table

from nasbench_lite.cli import main
from nasbench_lite.errors import InputError


@pytest.fixture(scope="module")
def table4():
    """Three seeds, four epochs; the pair (row of class 7, seed 1) diverged."""
    diverged = np.zeros((5044, 3), bool)
    diverged[7, 1] = True
    return synthetic_table(epochs=4, diverged=diverged)


def test_details_match_the_arrays(table4):
    raw = 11791
    d = table4.details(table4.space.format(raw), epoch=2)
    row = table4.raw_to_row[raw]
    assert (d["raw"], d["row"], d["epoch"], d["epochs"]) == (raw, row, 2, 4)
    assert d["class_id"] == table4.space.canonical(raw)
    members = table4.space.class_members(d["class_id"]).tolist()
    assert d["members"] == members and raw in members and len(members) > 1
    seed_metrics = [m for m, axes in table4.metric_axes.items() if "seeds" in axes]
    assert set(d["per_seed"]) == set(seed_metrics) and "train_seconds" in seed_metrics
    for name in seed_metrics:
        if name == "train_seconds":
            expected = table4.metric(name)[row] * 2 / 4
        else:
            expected = table4.metric(name)[row, :, 1]
        np.testing.assert_allclose(d["per_seed"][name], expected, rtol=1e-6)
        assert d["mean"][name] == pytest.approx(float(np.mean(expected)), rel=1e-5)
        assert d["std"][name] == pytest.approx(float(np.std(expected, ddof=1)), rel=1e-5)
        assert d["std"][name] > 0
    assert d["mean"]["valid_acc"] == pytest.approx(table4.query(raw, epoch=2)["valid_acc"])
    assert d["rank"] == table4.rank(raw)
    assert d["cost"]["params"] == table4.query(raw)["params"] > 0
    assert d["cost"]["train_seconds_total"] == pytest.approx(2 * d["cost"]["train_seconds"])
    assert d["cost"]["train_seconds_total"] == pytest.approx(table4.query(raw)["train_seconds"])
    # Any cell of the class answers the same, rank by validation accuracy on request.
    other = table4.details(members[0], epoch=2, rank_by="valid_acc")
    assert other["per_seed"] == d["per_seed"] and other["rank"]["metric"] == "valid_acc"


def test_details_of_a_diverged_seed(table4):
    raw = int(table4.row_raw[7])
    d = table4.details(raw)
    assert d["diverged"] == [False, True, False]
    assert np.isnan(d["per_seed"]["valid_acc"][1])
    finite = [d["per_seed"]["valid_acc"][s] for s in (0, 2)]
    assert d["mean"]["valid_acc"] == pytest.approx(np.mean(finite), rel=1e-5)
    assert d["std"]["valid_acc"] == pytest.approx(np.std(finite, ddof=1), rel=1e-5)


def test_one_seed_has_no_spread():
    d = synthetic_table(num_seeds=1).details(100)
    assert np.isnan(d["std"]["test_acc"]) and len(d["per_seed"]["test_acc"]) == 1


def test_simulate_train_eval_is_pure_and_adds_up(table4):
    raw, row = 11791, table4.raw_to_row[11791]
    seconds = table4.metric("train_seconds")[row].astype(np.float64)
    for seed in range(3):
        run = table4.simulate_train_eval(raw, 3, seed)
        assert run.seed == seed
        assert run.valid_acc == pytest.approx(float(table4.metric("valid_acc")[row, seed, 2]))
        assert run.cost_seconds == pytest.approx(seconds[seed] * 3 / 4)
        assert table4.simulate_train_eval(raw, 3, seed) == run  # no hidden counter
        # Training on from epoch 3 to 4 costs the last epoch only; together a whole run.
        rest = table4.simulate_train_eval(raw, None, seed, from_epoch=3)
        assert run.cost_seconds + rest.cost_seconds == pytest.approx(seconds[seed])
    # A generator draws the seed as the tabular backend does: same generator, same draws.
    draws = [table4.simulate_train_eval(raw, 4, rng).seed for rng in [np.random.default_rng(5)]
             for _ in range(40)]  # fmt: skip
    again = [table4.simulate_train_eval(raw, 4, rng).seed for rng in [np.random.default_rng(5)]
             for _ in range(40)]  # fmt: skip
    assert draws == again and set(draws) == {0, 1, 2}


def test_bad_details_and_simulations_are_named(table4):
    partial = synthetic_table(done=np.arange(5044) < 10)
    with pytest.raises(InputError, match="not trained yet"):
        partial.details(int(partial.row_raw[20]))
    with pytest.raises(InputError, match="not trained yet"):
        partial.simulate_train_eval(int(partial.row_raw[20]), None, 0)
    with pytest.raises(InputError, match=r"epoch 5 out of range: epochs are 1..4"):
        table4.details(0, epoch=5)
    with pytest.raises(InputError, match=r"seed 3 out of range"):
        table4.simulate_train_eval(0, 1, 3)
    with pytest.raises(InputError, match=r"from_epoch 2 out of range: a run to epoch 2 contin"):
        table4.simulate_train_eval(0, 2, 0, from_epoch=2)
    with pytest.raises(InputError, match=r"from_epoch True out of range"):
        table4.simulate_train_eval(0, 2, 0, from_epoch=True)
    with pytest.raises(InputError, match="rank by 'loss'"):
        table4.details(0, rank_by="loss")


def test_query_details_on_the_command_line(table4, tmp_path, capsys):
    path = tmp_path / "t.h5"
    table4.write(path)
    assert main(["query", str(path), "11791", "--epoch", "2"]) == 0
    plain = capsys.readouterr().out
    assert main(["query", str(path), "11791", "--epoch", "2", "--details"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(plain)  # the default output stays as it is; details follow
    d = table4.details(11791, epoch=2)
    assert "seed 0    seed 1    seed 2      mean       std" in out
    assert f"{d['std']['valid_acc']:.4f}" in out
    assert f"class {d['class_id']}: {len(d['members'])} raw cells share its row" in out
    assert f"{d['cost']['params']:,} params" in out and "to train to epoch 2" in out
    assert main(["query", str(path), str(int(table4.row_raw[7])), "--details", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["details"]["per_seed"]["valid_acc"][1] is None  # NaN as null
    assert record["details"]["members"] == table4.details(int(table4.row_raw[7]))["members"]
