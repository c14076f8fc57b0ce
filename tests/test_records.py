"""Results as records of named metrics, and readers that list the metrics a table's file holds.

A table file may carry metrics beyond the built-in schema (a per-class score, a per-run
curve); every reader (query, details, the query and info commands, the card, the objective,
the Syne Tune export, the surrogate's targets, the tabular backend's evaluations and what a
strategy is told) lists them from the file, with no change to library code. A strategy
written against the first protocol, tell(state, raw, valid_acc, cost), still runs.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from conftest import synthetic_table

import nasbench_lite as nbl
from nasbench_lite.backends import Evaluation
from nasbench_lite.backends.tabular import TabularBenchmark
from nasbench_lite.cli import main
from nasbench_lite.compare import CompareConfig, compare
from nasbench_lite.errors import InputError
from nasbench_lite.search.protocol import Result, tell_function
from nasbench_lite.search.runner import benchmark_context, run_search, told_result
from nasbench_lite.table import Table

CLASS_METRIC, CURVE_METRIC = "latency_ms", "grad_norm"


@pytest.fixture(scope="module")
def extended(tmp_path_factory):
    """A synthetic table plus a per-class metric and a per-run curve, written and reopened."""
    base = synthetic_table(epochs=3)
    rng = np.random.default_rng(5)
    rows, seeds, epochs = base.num_rows, base.num_seeds, base.num_epochs
    arrays = dict(base.arrays)
    arrays[f"metrics/{CLASS_METRIC}"] = rng.uniform(1, 9, rows).astype(np.float32)
    arrays[f"metrics/{CURVE_METRIC}"] = rng.uniform(0, 5, (rows, seeds, epochs)).astype(np.float32)
    path = tmp_path_factory.mktemp("extended") / "extended.h5"
    Table(arrays, base.attrs).write(path)
    return Table.open(path), path


def test_the_file_lists_its_metrics(extended):
    table, _ = extended
    assert table.metrics[-2:] == (CURVE_METRIC, CLASS_METRIC)  # extras after the schema's
    assert table.metric_axes[CLASS_METRIC] == ("rows",)
    assert table.metric_axes[CURVE_METRIC] == ("rows", "seeds", "epochs")
    row, raw = 7, int(table.row_raw[7])
    curve = table.metric(CURVE_METRIC)
    q = table.query(raw)
    assert q[CLASS_METRIC] == pytest.approx(table.metric(CLASS_METRIC)[row])
    assert q[CURVE_METRIC] == pytest.approx(np.mean(curve[row, :, -1]))
    assert table.query(raw, epoch=2, seed=1)[CURVE_METRIC] == pytest.approx(curve[row, 1, 1])
    assert table.query(raw, epoch=2)[CLASS_METRIC] == q[CLASS_METRIC]  # no epoch axis
    d = table.details(raw, epoch=2)
    np.testing.assert_allclose(d["per_seed"][CURVE_METRIC], curve[row, :, 1], rtol=1e-6)
    assert d["per_class"][CLASS_METRIC] == q[CLASS_METRIC]
    frame = table.to_dataframe()
    assert frame[CLASS_METRIC].iloc[row] == pytest.approx(q[CLASS_METRIC])


def test_a_metric_of_a_wrong_shape_is_refused():
    base = synthetic_table(epochs=3)
    arrays = {**base.arrays, "metrics/bad": np.zeros((base.num_rows, 7), np.float32)}
    with pytest.raises(InputError, match=r"metric /metrics/bad has shape \(5044, 7\)"):
        Table(arrays, base.attrs)
    arrays = {**base.arrays, "metrics/words": np.array(["x"] * base.num_rows)}
    with pytest.raises(InputError, match="metric /metrics/words has dtype .*numbers only"):
        Table(arrays, base.attrs)


def test_commands_and_card_show_them(extended, tmp_path, capsys):
    table, path = extended
    raw = str(int(table.row_raw[3]))
    assert main(["query", str(path), raw, "--details"]) == 0
    out = capsys.readouterr().out
    assert f"  {CLASS_METRIC}" in out and f"  {CURVE_METRIC}" in out
    assert main(["query", str(path), raw, "--json"]) == 0
    assert CURVE_METRIC in capsys.readouterr().out
    assert main(["info", str(path)]) == 0
    assert f"per class: params, flops, {CLASS_METRIC}" in capsys.readouterr().out
    from nasbench_lite.table.card import write_card

    md, _ = write_card(path, tmp_path / "card.md", tmp_path / "card.png")
    assert f"`{CURVE_METRIC}`" in md.read_text() and f"`{CLASS_METRIC}`" in md.read_text()


def test_objective_backend_and_strategy_see_them(extended):
    table, path = extended
    raw = int(table.row_raw[11])
    out = nbl.objective(path, seed=0)(raw, epochs=2)
    expected = table.query(raw, epoch=2, seed=out["seed"])
    assert out[CURVE_METRIC] == pytest.approx(expected[CURVE_METRIC])
    assert out[CLASS_METRIC] == pytest.approx(expected[CLASS_METRIC])
    bench = TabularBenchmark(table)
    assert set(benchmark_context(bench).metrics) == set(table.metrics)
    answer = bench.evaluate(raw, np.random.default_rng(0))
    assert answer.metrics[CURVE_METRIC] == pytest.approx(
        table.query(raw, seed=answer.run)[CURVE_METRIC]
    )
    told = []

    class Spy(nbl.get_strategy("random_search")):
        def tell(self, state, raw, result):
            told.append(result)
            return super().tell(state, raw, result)

    run_search(Spy(bench.space), bench, "20evals", seed=0)
    assert len(told) == 20
    assert all(CLASS_METRIC in r and CURVE_METRIC in r and "test_acc" not in r for r in told)


def test_synetune_export_holds_them(extended):
    pytest.importorskip("syne_tune")
    from nasbench_lite.adapters import synetune

    table, _ = extended
    blackbox = synetune.to_blackbox(table)
    names = list(blackbox.objectives_names)
    raws = np.flatnonzero(table.raw_to_row >= 0)[:50]
    rows_of = {int(r): i for i, r in enumerate(np.flatnonzero(table.raw_to_row >= 0))}
    for name in (CLASS_METRIC, CURVE_METRIC):
        column = names.index(f"metric_{name}")
        for seed in range(table.num_seeds):
            for epoch in (1, table.num_epochs):
                got = blackbox.objectives_evaluations[[rows_of[int(r)] for r in raws], seed,
                                                      epoch - 1, column]  # fmt: skip
                want = table.values(name, raws, epoch=epoch, seed=seed)
                np.testing.assert_allclose(got, want, rtol=1e-6)


def test_the_surrogate_models_any_curve_of_the_file(extended):
    pytest.importorskip("xgboost")
    from nasbench_lite.surrogate import Surrogate, SurrogateConfig, SurrogateError

    table, _ = extended
    fast = SurrogateConfig(members=2, folds=2, grid=({"max_depth": 2, "learning_rate": 0.3},),
                           targets=("valid_acc", CURVE_METRIC))  # fmt: skip
    model = Surrogate.fit(table, train_fraction=0.1, seed=0, config=fast)
    assert model.targets == ("valid_acc", CURVE_METRIC, "train_seconds")
    mean, std = model.predict([0, 1, 2], epoch=2, metric=CURVE_METRIC)
    assert mean.shape == (3,) and (mean >= 0).all() and (std >= 0).all()
    with pytest.raises(SurrogateError, match="unknown metric 'test_acc'"):
        model.predict([0], metric="test_acc")
    with pytest.raises(SurrogateError, match=f"cannot model \\['{CLASS_METRIC}'\\]"):
        Surrogate.fit(table, config=SurrogateConfig(targets=(CLASS_METRIC,)))


# -- the record a strategy is told, and the first protocol ----------------------------------


def test_told_result_hides_every_test_metric():
    metrics = {"valid_acc": 0.4, "test_acc": 0.9, "test_loss": 0.1, "params": 7}
    answer = Evaluation(0.4, 0.9, 2.5, 3, 1, metrics)
    result = told_result(answer)
    assert dict(result) == {"valid_acc": 0.4, "params": 7, "cost": 2.5, "epoch": 3}
    assert (result.valid_acc, result.cost, result.epoch) == (0.4, 2.5, 3)
    with pytest.raises(ValueError, match="never holds test metrics"):
        Result({"valid_acc": 0.4, "test_acc": 0.9})
    with pytest.raises(KeyError, match="'test_acc': test metrics never reach a strategy; this "):
        result["test_acc"]
    with pytest.raises(KeyError, match=r"'paramz': no such metric; this Result holds \["):
        result["paramz"]
    assert "paramz" not in result and result.get("paramz") is None
    assert math.isnan(Result.of(math.nan, 1.0).valid_acc)


class FirstProtocol(nbl.get_strategy("random_search")):
    """Random search written against tell(state, raw, valid_acc, cost); it keeps what it was
    told in `told` (a class attribute, shared by the instances a run builds)."""

    name = "first_protocol"
    told: list = []

    def tell(self, state, raw, valid_acc, cost):
        assert isinstance(valid_acc, float) and isinstance(cost, float)
        FirstProtocol.told.append((raw, valid_acc, cost))
        return state


class OptionalExtra(nbl.get_strategy("random_search")):
    """The current protocol with an optional fourth parameter: not the first protocol."""

    def tell(self, state, raw, result, extra=None):
        return state


def test_a_strategy_of_the_first_protocol_still_runs():
    bench = TabularBenchmark(synthetic_table())
    strategy = FirstProtocol(bench.space)
    assert tell_function(strategy) is not strategy.tell  # adapted
    current = OptionalExtra(bench.space)
    assert tell_function(current) == current.tell  # not adapted
    FirstProtocol.told.clear()
    tell_function(strategy)(None, 5, Result.of(0.25, 3.0, params=1))
    assert FirstProtocol.told == [(5, 0.25, 3.0)]
    FirstProtocol.told.clear()
    old = run_search(FirstProtocol, bench, "40evals", seed=3)
    new = run_search("random_search", bench, "40evals", seed=3)
    # The same draws: random search in either protocol runs the same trajectory, and the
    # first protocol's tell received each evaluation's validation accuracy and cost.
    np.testing.assert_array_equal(old.raw, new.raw)
    np.testing.assert_array_equal(old.regret, new.regret)
    assert [raw for raw, _, _ in FirstProtocol.told] == old.raw.tolist()
    assert [valid for _, valid, _ in FirstProtocol.told] == old.valid_acc.tolist()
    config = CompareConfig(
        strategies=(FirstProtocol,), table=bench.table, seeds=2, budget="20evals", out=None
    )
    result = compare(dataclasses.replace(config, jobs=1))
    assert result.strategies == ["first_protocol"] and len(result.results) == 40
