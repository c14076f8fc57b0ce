"""The weight-sharing strategies (darts, gdas, enas, rsps) on the tiny preset: each runs end to
end through the runner and `compare`, the same seed gives the same derived cells, the supernet
time is charged to the clock one derived cell at a time within every budget, no test accuracy
reaches them, a partial table's search stays on its cells, and bad parameters are refused.

The generic strategy tests (test_strategies, test_runner, test_backends, test_compare) leave
these four out (`conftest.multi_trial_strategies`): each ask trains a supernet epoch. A few
supernet epochs per run keep this file to seconds once each method's programs are compiled
(once per process)."""

from __future__ import annotations

import dataclasses
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import partial_table, synthetic_table

from nasbench_lite.backends.live import LiveBenchmark
from nasbench_lite.backends.surrogate import SurrogateBenchmark
from nasbench_lite.backends.tabular import TabularBenchmark
from nasbench_lite.compare import config as compare_config
from nasbench_lite.compare import run as compare_module
from nasbench_lite.datasets import load_dataset
from nasbench_lite.errors import InputError
from nasbench_lite.extras import MissingExtra
from nasbench_lite.search.budget import Budget
from nasbench_lite.search.protocol import Ask, Result
from nasbench_lite.search.registry import available_strategies, get_strategy
from nasbench_lite.search.runner import _with_context, benchmark_context, run_search
from nasbench_lite.spaces.subspace import SubSpace
from nasbench_lite.table.reader import Table
from nasbench_lite.train.config import get_preset

METHODS = ["darts", "gdas", "enas", "rsps"]
TINY = get_preset("tiny")
EPOCHS = 3  # supernet epochs per run


def tiny_table(table: Table) -> Table:
    """`table` as if trained at the tiny preset: weight-sharing strategies then search at it."""
    return Table(table.arrays, {**table.attrs, "preset": "tiny", "config": TINY.to_dict()})


@pytest.fixture(scope="module")
def bench() -> TabularBenchmark:
    return TabularBenchmark(tiny_table(synthetic_table()))


class Spy:
    """A strategy instance's calls: what it asked (the Asks) and what it was told."""

    def __init__(self, inner):
        self.inner, self.name, self.space = inner, inner.name, inner.space
        self.asked, self.told = [], []

    def init(self, rng):
        return self.inner.init(rng)

    def ask(self, state, rng):
        state, asked = self.inner.ask(state, rng)
        if asked is not None:
            self.asked.append(asked)
        return state, asked

    def tell(self, state, raw, valid_acc, cost):
        self.told.append((raw, valid_acc, cost))
        return self.inner.tell(state, raw, Result.of(valid_acc, cost))


def built(name: str, bench, **params):
    """A strategy instance built for `bench` as the runner builds one from its name."""
    cls = get_strategy(name)
    context = _with_context(
        name, {"search_epochs": EPOCHS, **params}, benchmark_context(bench).for_strategy()
    )
    return cls(bench.space, **context)


def test_registered_and_left_out_of_the_default_comparison():
    assert set(METHODS) <= set(available_strategies())
    for name in METHODS:
        cls = get_strategy(name)
        assert cls.name == name and cls.in_default_comparison is False
    default, _ = compare_config._strategies(None)
    everything, _ = compare_config._strategies(["all"])
    assert not set(METHODS) & set(default) and set(METHODS) <= set(everything)


def test_the_benchmark_tells_the_recipe_and_the_dataset(bench):
    context = benchmark_context(bench).for_strategy()
    # The table's recorded dataset identity, not just its name: the supernet's examples are
    # rebuilt and checked against it.
    assert context["dataset"] == bench.table.dataset_identity
    assert context["train_config"] == TINY.to_dict() and context["dataset"].name == "mnist1d"
    assert context["max_epochs"] == bench.epochs
    strategy = built("darts", bench)
    assert strategy.train_config == TINY and strategy.dataset == bench.table.dataset_identity
    # Given parameters win; an instance gets nothing; a strategy that takes none gets none.
    assert _with_context("darts", {"dataset": "digits"}, context)["dataset"] == "digits"
    assert _with_context(strategy, {}, context) == {}
    assert _with_context("random_search", {}, context) == {}
    live = LiveBenchmark("tiny", "mnist1d")
    context = benchmark_context(live).for_strategy()
    assert context["train_config"] == TINY and context["dataset"] is live.data
    # A surrogate backend: the record of the table its model was fitted on.
    record = {"dataset": "mnist1d", "train_config": TINY.to_dict(), "epochs": 2}
    surrogate = SimpleNamespace(space=bench.space, epochs=2, regret_source="its own",
                                model=SimpleNamespace(meta={"table": record}))  # fmt: skip
    context = SurrogateBenchmark.context(surrogate).for_strategy()
    assert context == {"max_epochs": 2, "train_config": TINY.to_dict(), "dataset": "mnist1d",
                       "data_dir": None}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("name", METHODS)
def test_each_method_runs_end_to_end_and_repeats_with_its_seed(name, bench):
    spy = Spy(built(name, bench))
    run = run_search(spy, bench, "100000", seed=0)
    # One derived cell per supernet epoch, then the strategy stops.
    assert len(run) == EPOCHS and run.strategy_done
    assert all(isinstance(a, Ask) and a.search_seconds > 0 for a in spy.asked)
    assert [a.raw for a in spy.asked] == run.raw.tolist()
    # The clock: each epoch's measured seconds, then its derived cell's evaluation, in turn.
    spent = [a.search_seconds + cost for a, (_, _, cost) in zip(spy.asked, spy.told, strict=True)]
    np.testing.assert_allclose(run.sim_seconds, np.cumsum(spent), rtol=1e-9)
    again = run_search(name, bench, "100000", seed=0, params={"search_epochs": EPOCHS})
    assert again.raw.tolist() == run.raw.tolist()  # the same seed: the same derived cells
    np.testing.assert_array_equal(again.valid_acc, run.valid_acc)
    other = run_search(name, bench, "100000", seed=1, params={"search_epochs": EPOCHS})
    assert other.raw.tolist() != run.raw.tolist()


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_budgets_hold_and_one_derived_cell_is_out_at_a_time(workers, bench):
    spy = Spy(built("rsps", bench, search_epochs=8))
    run = run_search(spy, bench, "45", seed=2, workers=workers)
    # Evaluations cost at least 10 s (the synthetic table): the search is cut by the budget.
    assert 1 <= len(run) < 8 and not run.strategy_done and run.end_seconds == 45.0
    assert run.sim_seconds.max() <= 45.0
    # The last derived cell asked was still being evaluated when the budget ran out.
    assert len(spy.asked) == len(spy.told) + 1 == len(run) + 1
    told = zip(spy.asked, spy.told, strict=False)
    np.testing.assert_allclose(
        run.sim_seconds, np.cumsum([a.search_seconds + c for a, (_, _, c) in told]), rtol=1e-9
    )
    assert len(run_search("rsps", bench, "3evals", seed=2, workers=workers)) == 3
    # An epochs budget counts each supernet epoch as one training epoch, besides the derived
    # cell's evaluation.
    epochs = run_search("rsps", bench, Budget(epochs=9), seed=2, workers=workers)
    assert len(epochs) == 9 // (bench.epochs + 1) and epochs.epochs_trained[-1] <= 9
    assert epochs.epochs_trained[0] == bench.epochs + 1


def test_an_instance_built_for_other_data_or_another_recipe_is_refused(bench):
    rsps = get_strategy("rsps")
    default = rsps(bench.space, search_epochs=1)  # mnist1d at the default preset
    with pytest.raises(InputError, match="another trainer recipe .*channels"):
        run_search(default, bench, "3evals", seed=0)
    other = rsps(bench.space, TINY, dataset="mnist1d_v2", search_epochs=1)
    with pytest.raises(InputError, match="dataset 'mnist1d_v2'.* of 'mnist1d'"):
        run_search(other, bench, "3evals", seed=0)
    same = rsps(bench.space, TINY, dataset="mnist1d", search_epochs=1)
    assert len(run_search(same, bench, "3evals", seed=0)) == 1
    # Built by name, `params` choose another recipe on purpose: not refused.
    faster = dataclasses.replace(TINY, learning_rate=0.05)
    params = {"search_epochs": 1, "train_config": faster}
    assert len(run_search("rsps", bench, "3evals", seed=0, params=params)) == 1


def test_only_a_strategy_that_reads_it_gets_the_dataset_identity(bench):
    class PlugIn:  # a strategy of a user's package that loads its data by name
        name = "plug_in"

        def __init__(self, space, dataset=None):
            self.space, self.dataset = space, dataset

        def init(self, rng):
            return None

        def ask(self, state, rng):
            return state, None

        def tell(self, state, raw, result):
            return state

    context = benchmark_context(bench).for_strategy()
    assert _with_context(PlugIn, {}, context)["dataset"] == "mnist1d"
    assert _with_context("rsps", {}, context)["dataset"] == bench.table.dataset_identity


def test_the_supernet_trains_on_the_examples_the_table_recorded(bench):
    identity = bench.table.dataset_identity
    seed = identity.generator["seed"]
    drawn = dataclasses.replace(identity, generator={**identity.generator, "seed": seed + 1})
    table = Table(bench.table.arrays, {**bench.table.attrs, "dataset_identity": drawn.to_dict()})
    with pytest.raises(InputError, match=f"supernet search.*'seed': {seed + 1}"):
        run_search("rsps", TabularBenchmark(table), "3evals", seed=0, params={"search_epochs": 1})


def test_no_test_accuracy_reaches_the_search(bench):
    # What the runner tells: the synthetic table's validation accuracies lie below 0.5, its
    # test accuracies above.
    spy = Spy(built("darts", bench))
    run = run_search(spy, bench, "100000", seed=4)
    assert [v for _, v, _ in spy.told] == run.valid_acc.tolist()
    assert max(run.valid_acc) < 0.5 <= min(run.test_acc)
    # What the supernet trains on: a dataset whose test split is NaN searches the same.
    data = load_dataset("mnist1d")
    blind = dataclasses.replace(data, x_test=np.full_like(data.x_test, np.nan))
    spy_blind = Spy(built("darts", bench, dataset=blind))
    assert run_search(spy_blind, bench, "100000", seed=4).raw.tolist() == run.raw.tolist()


@pytest.mark.parametrize("name", ["darts", "enas"])
def test_a_partial_table_gets_only_cells_it_answers(name):
    partial = TabularBenchmark(tiny_table(partial_table(0.05)))
    run = run_search(name, partial, "100000", seed=0, params={"search_epochs": EPOCHS})
    assert len(run) == EPOCHS and partial.space.allowed[run.raw].all()


def test_the_derived_cell_is_the_best_scoring_allowed_cell(space):
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(6, 5))
    full = get_strategy("darts")(space, train_config="tiny")
    assert full.best_cell(scores) == space.index(scores.argmax(axis=1))
    sub = SubSpace(space, space.sample(rng, 200))
    strategy = get_strategy("darts")(sub, train_config="tiny")
    cells = space.cells(sub.allowed_raws)
    totals = scores[np.arange(6), cells].sum(axis=1)
    assert strategy.best_cell(scores) == sub.allowed_raws[np.argmax(totals)]


def test_compare_mixes_one_shot_and_multi_trial_strategies(tmp_path, bench):
    path = tmp_path / "tiny.h5"
    bench.table.write(path)
    config = compare_module.CompareConfig(
        table=str(path), strategies=("darts", "random_search"), seeds=1, budget="120", jobs=1,
        out=tmp_path / "out",
    )  # fmt: skip
    result = compare_module.compare(config)
    counts = result.results.groupby("strategy").size()
    assert set(counts.index) == {"darts", "random_search"} and counts["darts"] >= 2
    assert "`darts`" in result.report.read_text()


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("darts", {"train_config": 3}, "train_config must be a TrainConfig"),
        ("darts", {"search_epochs": 0}, "search_epochs must be an int >= 1"),
        ("darts", {"learning_rate": -1.0}, "learning_rate must be a number > 0"),
        ("darts", {"arch_learning_rate": 0}, "arch_learning_rate must be a number > 0"),
        ("gdas", {"tau_min": 20.0}, "tau_min 20.0 must not exceed tau_max 10.0"),
        ("gdas", {"tau_max": float("inf")}, "tau_max must be a number > 0"),
        ("enas", {"momentum": 1.0}, r"momentum must be a number in \[0, 1\)"),
        ("enas", {"momentum": "0.5"}, r"momentum must be a number in \[0, 1\)"),
        ("enas", {"entropy_weight": -1e-4}, "entropy_weight must be a number >= 0"),
        ("enas", {"entropy_weight": None}, "entropy_weight must be a number >= 0"),
        ("enas", {"controller_learning_rate": 0.0}, "controller_learning_rate must be"),
        ("rsps", {"candidates": 0}, "candidates must be an int >= 1"),
    ],
)
def test_bad_parameters_are_refused(name, params, match, space):
    with pytest.raises(InputError, match=match):  # one line from the command line too
        get_strategy(name)(space, **{"train_config": "tiny", **params})


def test_only_the_nb201_space_has_a_supernet():
    from tiny_space import register

    with pytest.raises(ValueError, match="trains the NB-201 supernet; space 'tiny3' is not nb201"):
        get_strategy("darts")(register())


def test_without_the_train_extra_the_error_names_it(space, monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", None)  # as if JAX were not installed
    with pytest.raises(MissingExtra, match=r"strategy 'enas' \(a supernet search\) needs .*"
                       r"pip install 'nasbench-lite\[train\]'"):  # fmt: skip
        get_strategy("enas")(space)


def test_gdas_anneals_tau_linearly_from_10_to_0_1(space):
    gdas = get_strategy("gdas")(space, train_config="tiny")
    assert gdas.tau(0.0) == 10.0 and gdas.tau(1.0) == pytest.approx(0.1)
    assert gdas.tau(0.5) == pytest.approx(5.05)
