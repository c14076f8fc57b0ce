"""Optuna's samplers as strategies: through `compare` under our budget and seeds (two
samplers, one and two workers), pending trials, restricted spaces, the run's seed, quiet
logging, the "optuna:<Sampler>" names and every error."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest
from conftest import partial_table, synthetic_table

from nasbench_lite.backends.tabular import TabularBenchmark
from nasbench_lite.compare import config as compare_config
from nasbench_lite.compare import run as cmp
from nasbench_lite.errors import InputError
from nasbench_lite.extras import MissingExtra
from nasbench_lite.search.protocol import Result
from nasbench_lite.search.registry import get_strategy
from nasbench_lite.search.runner import run_search

optuna = pytest.importorskip("optuna")
SAMPLERS = ["optuna:TPESampler", "optuna:RandomSampler"]


@pytest.fixture(scope="module")
def table_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("optuna") / "t.h5"
    synthetic_table(epochs=2).write(path)
    return path


@pytest.mark.parametrize("workers", [1, 2])
def test_samplers_compare_within_budget_and_reproducibly(table_path, workers, tmp_path):
    config = cmp.CompareConfig(
        table=str(table_path), strategies=tuple(SAMPLERS), seeds=2, budget="1200",
        workers=workers, jobs=1, out=None,
    )  # fmt: skip
    first, again = cmp.compare(config), cmp.compare(config)
    results = first.results
    assert sorted(set(results.strategy)) == sorted(SAMPLERS)
    assert results.sim_seconds.max() <= 1200.0  # never overspent
    assert (results.groupby(["strategy", "seed"]).size() >= 20 * workers).all()
    measured = ["strategy_seconds", "source_seconds"]  # measured: differs run to run
    assert results.drop(columns=measured).equals(again.results.drop(columns=measured))
    bench = TabularBenchmark(str(table_path))
    for name in SAMPLERS:
        runs = [run_search(name, bench, "1200", seed, workers) for seed in (0, 1)]
        assert runs[0].raw.tolist() != runs[1].raw.tolist()  # different seeds differ
        mine = results[(results.strategy == name) & (results.seed == 0)]
        np.testing.assert_array_equal(mine.incumbent_raw, runs[0].incumbent)


def test_tpe_learns_from_what_it_is_told(bench):
    # After its 10 random trials TPE proposes better cells than it started with; random
    # sampling through the same adapter does not.
    def improvement(name: str) -> float:
        run = run_search(name, bench, "150evals", seed=0)
        return float(np.mean(run.valid_acc[100:]) - np.mean(run.valid_acc[:10]))

    assert improvement("tpe") > 0.03 > improvement("optuna:RandomSampler")


def test_pending_trials_map_cells_to_trials(space):
    strategy = get_strategy("tpe")(space)
    rng = np.random.default_rng(0)
    state = strategy.init(rng)
    asked = []
    for _ in range(4):  # four workers ask before any result is back
        state, raw = strategy.ask(state, rng)
        asked.append(raw)
    assert [trial for _, trial in state.pending] == [0, 1, 2, 3]
    assert [raw for raw, _ in state.pending] == asked
    for i, raw in reversed(list(enumerate(asked))):  # told in another order
        state = strategy.tell(state, raw, Result.of(0.1 * i, 5.0))
    assert state.pending == ()
    assert state.trials == tuple((raw, 0.1 * i) for i, raw in enumerate(asked))
    study = state.live.study
    assert [t.value for t in study.trials] == [0.1 * i for i in range(4)]
    assert [space.config_to_raw(t.params) for t in study.trials] == asked
    state, raw = strategy.ask(state, rng)
    state = strategy.tell(state, raw, Result.of(np.nan, 1.0))
    assert state.trials[-1] == (raw, -np.inf)  # a diverged run ranks below every cell
    with pytest.raises(InputError, match=f"raw cell {raw} was told but not asked"):
        strategy.tell(state, raw, Result.of(0.5, 1.0))


def test_the_sampler_seed_comes_from_the_run(space):
    cls = get_strategy("optuna:RandomSampler")
    seeds = [cls(space).init(np.random.default_rng(s)).seed for s in (0, 0, 1)]
    assert seeds[0] == seeds[1] != seeds[2]


def test_qmc_is_scrambled_so_its_seed_matters_and_cma_es_is_quiet(bench, caplog):
    """Optuna's QMC sequence ignores its seed unless scrambled (then every seed would give
    nearly one run); CMA-ES warns on every trial about categorical parameters."""
    runs = [run_search("optuna:QMCSampler", bench, "12evals", seed=s).raw for s in (0, 1, 0)]
    assert (runs[0] == runs[2]).all() and (runs[0] != runs[1]).sum() >= 10
    optuna.logging.enable_propagation()
    try:
        with caplog.at_level(logging.WARNING):
            run_search("optuna:CmaEsSampler", bench, "12evals", seed=0)
        assert not [r for r in caplog.records if r.name.startswith("optuna")]
    finally:
        optuna.logging.disable_propagation()


def test_a_reused_state_rebuilds_its_study(space):
    strategy = get_strategy("tpe")(space)
    rng = np.random.default_rng(1)
    state = strategy.init(rng)
    for _ in range(15):
        state, raw = strategy.ask(state, rng)
        state = strategy.tell(state, raw, Result.of(float(raw % 97) / 97, 1.0))

    def go_on(start, n: int = 8) -> list[int]:
        out = []
        for _ in range(n):
            start, raw = strategy.ask(start, rng)
            start = strategy.tell(start, raw, Result.of(float(raw % 97) / 97, 1.0))
            out.append(raw)
        return out

    branch = state
    first = go_on(branch)  # moves the live study on
    assert state.live.version != state.version  # so `state` no longer matches it
    assert go_on(branch) == first  # rebuilt from the record: the same continuation


def test_restricted_space_gets_available_cells_only(space):
    bench = TabularBenchmark(partial_table(fraction=0.02, sampled=True))
    allowed = bench.space.allowed
    for name in ("tpe", "optuna:RandomSampler"):
        run = run_search(name, bench, "60evals", seed=0, workers=2)
        assert len(run) == 60 and allowed[run.raw].all()


def test_a_space_without_edge_names():
    from tiny_space import TinySpace  # 3 edges, 3 ops, 27 cells

    space = TinySpace()
    strategy = get_strategy("tpe")(space)
    rng = np.random.default_rng(0)
    state, asked = strategy.init(rng), []
    for _ in range(40):
        state, raw = strategy.ask(state, rng)
        state = strategy.tell(state, raw, Result.of(float(raw == 13), 1.0))
        asked.append(raw)
    assert list(state.live.study.trials[0].params) == ["edge_0", "edge_1", "edge_2"]
    assert set(asked) <= set(range(27)) and asked[20:].count(13) > 5  # it found the best


def test_optuna_logging_is_silenced_and_restored(bench, caplog):
    optuna.logging.set_verbosity(optuna.logging.INFO)
    optuna.logging.enable_propagation()
    try:
        with caplog.at_level(logging.INFO):
            run_search("tpe", bench, "15evals", seed=0)
        assert not [r for r in caplog.records if r.name.startswith("optuna")]
        assert optuna.logging.get_verbosity() == optuna.logging.INFO
    finally:
        optuna.logging.disable_propagation()
        optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_names_and_sampler_arguments(space, bench):
    cls = get_strategy("optuna:QMCSampler")
    assert cls.name == "optuna:QMCSampler" and get_strategy("optuna:QMCSampler") is cls
    adapter = sys.modules[cls.__module__]
    strategy = adapter.OptunaStrategy(space, sampler="RandomSampler")
    assert strategy.name == "optuna:RandomSampler"
    assert adapter.OptunaStrategy(space, sampler=optuna.samplers.RandomSampler).name == (
        "optuna:RandomSampler"
    )
    run = run_search("tpe", bench, "30evals", seed=0, params={"n_startup_trials": 30})
    assert len(set(run.raw.tolist())) > 25  # all random: the argument reached the sampler


def test_errors_are_named(space):
    with pytest.raises(InputError, match="unknown optuna sampler 'Nope'; optuna.samplers has "):
        get_strategy("optuna:Nope")
    with pytest.raises(InputError, match="no strategy family 'nope'; families: optuna"):
        get_strategy("nope:TPESampler")
    adapter = sys.modules[get_strategy("tpe").__module__]
    with pytest.raises(InputError, match="is an instance; pass its class"):
        adapter.OptunaStrategy(space, sampler=optuna.samplers.TPESampler(seed=0))
    with pytest.raises(InputError, match="rejects arguments {'bogus': 1}"):
        get_strategy("tpe")(space, bogus=1)
    with pytest.raises(InputError, match="takes no seed"):
        adapter.OptunaStrategy(space, sampler=lambda: None)
    with pytest.raises(InputError, match="built 3, not an optuna sampler"):
        adapter.OptunaStrategy(space, sampler=lambda seed: 3)
    with pytest.raises(InputError, match="neither a sampler name nor a class"):
        adapter.OptunaStrategy(space, sampler=3)


def test_without_optuna(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    monkeypatch.delitem(sys.modules, "nasbench_lite.strategies.optuna_adapter")
    with pytest.raises(InputError, match=r"'tpe' .* failed to load: MissingExtra: .*\[adapters\]"):
        get_strategy("tpe")
    with pytest.raises(MissingExtra, match=r"optuna adapter needs .*nasbench-lite\[adapters\]"):
        get_strategy("optuna:TPESampler")
    names, skipped = compare_config._strategies(None)  # a comparison of everything skips them
    assert "tpe" in skipped and "tpe" not in names and "random_search" in names


def test_compare_names_a_skipped_strategy_in_one_line(table_path, tmp_path):
    """The plain comparison without optuna: tpe is left out, and the command says so in one
    line naming it and the install command (the rest of the comparison runs)."""
    import subprocess

    code = (
        "import sys; sys.modules['optuna'] = None\n"
        "from nasbench_lite.cli import main\n"
        f"sys.exit(main(['compare', '--table', {str(table_path)!r}, '--seeds', '1', "
        f"'--budget', '5evals', '--jobs', '1', '--no-progress', '--out', {str(tmp_path)!r}, "
        "'--force']))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = [line for line in (run.stdout + run.stderr).splitlines() if "'tpe'" in line]
    assert len(lines) == 1 and "skipping strategy 'tpe'" in lines[0], lines
    assert "pip install 'nasbench-lite[adapters]'" in lines[0]
    assert "random_search" in run.stdout and "\ntpe " not in run.stdout
