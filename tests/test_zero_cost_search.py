"""Zero-cost proxies in search: the proxy lookup a strategy sees (proxy values only, their
measured cost), the zero-cost baseline, and the warm-started regularized evolution, local
search and BANANAS, on a synthetic table with proxy metrics written here."""

from __future__ import annotations

import gc
import math

import numpy as np
import pytest

from nasbench_lite.backends.proxy_lookup import ProxyLookup
from nasbench_lite.backends.tabular import TabularBenchmark
from nasbench_lite.errors import InputError
from nasbench_lite.search.protocol import Ask, Result
from nasbench_lite.search.runner import benchmark_context, run_search
from nasbench_lite.strategies import _zero_cost as zc
from nasbench_lite.strategies.bananas import WarmStartedBananas
from nasbench_lite.strategies.local_search import LocalSearch, WarmStartedLocalSearch
from nasbench_lite.strategies.regularized_evolution import (
    RegularizedEvolution,
    WarmStartedEvolution,
)
from nasbench_lite.strategies.zero_cost import ZeroCost
from nasbench_lite.table.reader import Table
from nasbench_lite.table.synthetic import synthetic_table

PAIR_SECONDS = 0.01
NEW = (ZeroCost, WarmStartedEvolution, WarmStartedLocalSearch, WarmStartedBananas)


def with_proxies(table: Table, seconds: float | None = PAIR_SECONDS) -> Table:
    """`table` plus two proxies: `synflow` (the seed's final validation accuracy, plus noise)
    and `noise`; the record's seconds make PAIR_SECONDS a (class, seed) pair."""
    rng = np.random.default_rng(7)
    valid = np.asarray(table.metric("valid_acc")[:, :, -1], np.float64)
    arrays = dict(table.arrays)
    arrays["metrics/proxy_synflow"] = valid + 0.001 * rng.standard_normal(valid.shape)
    arrays["metrics/proxy_noise"] = rng.standard_normal(valid.shape)
    arrays["proxies/done"] = np.ones(table.num_rows, bool)
    record = {"seconds": 1.0} if seconds is None else {"cpu_seconds": seconds * valid.size}
    return Table(arrays, {**table.attrs, "proxies": record}, "proxy-table")


@pytest.fixture(scope="module")
def plain() -> Table:
    return synthetic_table(seeds=1, epochs=2)


@pytest.fixture(scope="module")
def table(plain) -> Table:
    return with_proxies(plain)


@pytest.fixture(scope="module")
def lookup(table) -> ProxyLookup:
    return ProxyLookup.from_table(table)


def test_lookup_returns_the_tables_values_at_drawn_seeds():
    table = with_proxies(synthetic_table(rows=300, seeds=3, epochs=2, rng=1))
    lookup = ProxyLookup.from_table(table)
    assert lookup.names == ("noise", "synflow")
    assert lookup.pair_seconds == pytest.approx(PAIR_SECONDS)
    assert lookup.seconds(7) == pytest.approx(7 * PAIR_SECONDS)
    raws = np.random.default_rng(0).integers(table.space.num_cells, size=500)
    got = lookup.scores("noise", raws, np.random.default_rng(5))
    seeds = np.random.default_rng(5).integers(3, size=500)  # the draws it makes
    rows = table.raw_to_row[raws]
    expected = np.where(rows >= 0, table.metric("proxy_noise")[rows, seeds], np.nan)
    np.testing.assert_array_equal(got, expected)
    assert np.isnan(got[rows < 0]).all() and (rows < 0).any()  # classes not in the table


def test_the_lookup_holds_proxies_and_nothing_else(table, lookup):
    for name in ("test_acc", "valid_acc", "train_seconds", "params"):
        with pytest.raises(InputError, match="no proxy"):
            lookup.scores(name, [0], np.random.default_rng(0))
    with pytest.raises(AttributeError):
        lookup.table = table  # no room for another attribute
    # Everything the lookup can reach: no table, no benchmark, no array of accuracies.
    test = np.asarray(table.metric("test_acc"), np.float64)
    seen, todo, arrays = set(), [lookup], []
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, type):
            continue
        seen.add(id(obj))
        assert not isinstance(obj, (Table, TabularBenchmark))
        if isinstance(obj, np.ndarray):
            arrays.append(obj)
            continue
        todo.extend(gc.get_referents(obj))
        if hasattr(obj, "__slots__"):
            todo.extend(getattr(obj, s) for s in obj.__slots__ if hasattr(obj, s))
    assert len(arrays) == 3  # the row map and the two proxies
    for array in arrays:
        assert array.shape[:1] != test.shape[:1] or not np.allclose(array, test[..., -1])
        assert not array.flags.writeable


def test_the_benchmark_passes_the_lookup_only_when_it_has_proxies(table, plain):
    context = benchmark_context(TabularBenchmark(table))
    assert context.proxies.names == ("noise", "synflow")
    assert context.for_strategy()["proxies"] is context.proxies
    assert benchmark_context(TabularBenchmark(plain)).proxies is None
    assert "proxies" not in benchmark_context(TabularBenchmark(plain)).for_strategy()
    assert ProxyLookup.from_table(plain) is None


def test_a_table_without_a_measured_cost_gives_no_free_scores(plain):
    lookup = ProxyLookup.from_table(with_proxies(plain, seconds=None))
    assert math.isnan(lookup.pair_seconds)
    with pytest.raises(InputError, match="records no measured cost"):
        lookup.seconds(1)


@pytest.mark.parametrize("cls", NEW)
def test_strategies_that_need_proxies_refuse_a_table_without_them(cls, plain):
    with pytest.raises(InputError) as err:
        run_search(cls, TabularBenchmark(plain), "5evals", 0)
    assert "nasbench-lite proxies" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(InputError, match="no proxy 'nope'"):
        run_search(cls, TabularBenchmark(with_proxies(plain)), "5evals", 0,
                   params={"proxy": "nope"})  # fmt: skip
    assert cls.needs_proxies and not cls.in_default_comparison


def test_zero_cost_trains_the_pool_best_first_and_pays_for_it(table):
    bench = TabularBenchmark(table)
    run = run_search(ZeroCost, bench, "20evals", 3, params={"pool": 300, "proxy": "synflow"})
    good = table.metric("proxy_synflow")[table.raw_to_row[run.raw], 0]
    assert (np.diff(good) <= 0).all()  # trained in the proxy's order
    # The same pool, scored by brute force: the trained cells are its 20 best.
    rng = np.random.default_rng(np.random.SeedSequence(3).spawn(2)[0])
    pool = np.asarray(bench.space.sample(rng, 300))
    classes = np.unique(np.asarray(bench.space.canonical_ids)[pool])
    best = np.sort(table.metric("proxy_synflow")[table.raw_to_row[
        np.asarray(bench.space.representatives)[classes]], 0])[::-1][:20]  # fmt: skip
    np.testing.assert_allclose(np.sort(good)[::-1], best)
    # The first result comes back after the scoring (one pair a class) and one training.
    cost = table.metric("train_seconds")[table.raw_to_row[run.raw[0]], 0]
    assert run.sim_seconds[0] == pytest.approx(len(classes) * PAIR_SECONDS + cost)
    np.testing.assert_allclose(np.diff(run.sim_seconds),
                               table.metric("train_seconds")[table.raw_to_row[run.raw[1:]], 0],
                               rtol=1e-6)  # fmt: skip


@pytest.mark.parametrize("cls", NEW)
def test_no_worker_starts_a_ranked_cell_before_the_pool_is_scored(cls, table):
    """With 4 workers the pool's scoring is charged once, and the cells the other workers
    are given (ranked by it) start after it too: no result is back before scoring + its
    own training, and the first batch's cells all finish exactly there."""
    bench = TabularBenchmark(table)
    run = run_search(cls, bench, "12evals", 3, workers=4, params={"proxy": "synflow"})
    scoring = min(run.sim_seconds - table.metric("train_seconds")[table.raw_to_row[run.raw], 0])
    assert scoring > 0.5  # the pool's scoring, at PAIR_SECONDS a class
    cost = table.metric("train_seconds")[table.raw_to_row[run.raw], 0]
    assert (run.sim_seconds >= scoring + cost - 1e-6).all()
    first = np.sort(run.sim_seconds[:4])
    np.testing.assert_allclose(first[0], scoring + cost[np.argmin(run.sim_seconds[:4])])


@pytest.mark.parametrize(("cls", "initial"), [(WarmStartedEvolution, 50),
                                              (WarmStartedLocalSearch, 1),
                                              (WarmStartedBananas, 10)])  # fmt: skip
def test_warm_starts_begin_from_the_best_scored_cells(cls, initial, table, lookup):
    space = TabularBenchmark(table).space
    strategy = cls(space, proxy="synflow", proxies=lookup)
    rng = np.random.default_rng(4)
    state = strategy.init(rng)
    asked = []
    for _ in range(initial):
        state, raw = strategy.ask(state, rng)
        asked.append(raw)
    first = asked[0]
    assert isinstance(first, Ask) and first.search_seconds > 0  # the pool's cost, once
    assert all(not isinstance(a, Ask) for a in asked[1:])
    raws = [zc.raw_of(a) for a in asked]
    scores = table.metric("proxy_synflow")[table.raw_to_row[raws], 0]
    assert (np.diff(scores) <= 0).all()
    # Better than a uniform start by a wide margin (the proxy is the accuracy here).
    mean = float(np.mean(table.metric("proxy_synflow")[:, 0]))
    assert scores.mean() > mean + 0.5 * np.std(table.metric("proxy_synflow")[:, 0])


@pytest.mark.parametrize("cls", NEW)
def test_new_strategies_are_pure_and_seeded(cls, table, lookup):
    space = TabularBenchmark(table).space

    def loop(seed):
        strategy = cls(space, proxies=lookup)
        rng = np.random.default_rng(seed)
        state, out = strategy.init(rng), []
        for step in range(60):
            snapshot = repr(state)
            copy = np.random.default_rng(0)
            copy.bit_generator.state = rng.bit_generator.state
            new, raw = strategy.ask(state, rng)
            again = strategy.ask(state, copy)
            assert again[1] == raw and repr(again[0]) == repr(new) and repr(state) == snapshot
            if raw is None:
                break
            out.append(raw)
            state = strategy.tell(new, raw, Result.of(0.01 * (step % 37), 1.0))
        return out

    assert loop(0) == loop(0) and loop(0) != loop(1)


def test_warm_started_evolution_beats_plain_with_a_good_proxy(table):
    bench = TabularBenchmark(table)

    def regret(cls, **params):
        return np.mean([run_search(cls, bench, "60evals", s, params=params).regret[-1]
                        for s in range(6)])  # fmt: skip

    warm = regret(WarmStartedEvolution, proxy="synflow", warmup=400)
    assert warm < regret(RegularizedEvolution)
    assert regret(WarmStartedLocalSearch, proxy="synflow", warmup=400) < regret(LocalSearch)
