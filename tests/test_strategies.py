"""Strategies: the protocol over every registered strategy, each strategy's own rules, and the
entry-point registry (including a strategy from a package outside the project)."""

from __future__ import annotations

import inspect
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import SLOW_STRATEGIES, marked_slow, multi_trial_strategies, write_strategy_package

from nasbench_lite.search.protocol import Result
from nasbench_lite.search.registry import available_strategies, get_strategy, make_strategy
from nasbench_lite.search.runner import run_search

OURS = ["local_search", "random_sampling", "random_search", "regularized_evolution",
        "reinforce", "ppo", "bananas", "gp_bo", "hyperband", "bohb"]  # fmt: skip
LEARNING = ["reinforce", "ppo", "bananas", "gp_bo", "bohb"]


def run_loop(strategy, objective, n: int, seed: int) -> list[int]:
    """Drive a strategy by hand, sequentially: ask, evaluate `objective(raw)`, tell (an Ask
    for a fidelity is answered like its raw cell)."""
    rng = np.random.default_rng(seed)
    state = strategy.init(rng)
    asked = []
    for _ in range(n):
        state, raw = strategy.ask(state, rng)
        if raw is None:
            break
        asked.append(raw)
        state = strategy.tell(state, raw, Result.of(objective(getattr(raw, "raw", raw)), 1.0))
    return asked


def hamming(space, a: int, b: int) -> int:
    return int((space.cell(a) != space.cell(b)).sum())


# -- every registered strategy --------------------------------------------------------------


def test_ours_are_registered():
    assert set(OURS) <= set(available_strategies())
    for name in OURS:
        assert get_strategy(name).name == name


@pytest.mark.parametrize("name", marked_slow(multi_trial_strategies(), SLOW_STRATEGIES))
def test_protocol_in_a_loop(name, space, bench):
    cls = get_strategy(name)
    assert list(inspect.signature(cls.tell).parameters) == [
        "self", "state", "raw", "result"
    ]  # fmt: skip
    strategy = cls(space)
    means = bench.mean_test_acc(np.arange(space.num_cells)) - 0.5  # a noise-free objective
    asked = run_loop(strategy, lambda raw: float(means[raw]), 300, seed=0)
    # A plain raw cell, or an Ask for a fidelity whose raw cell is one.
    raws = [getattr(raw, "raw", raw) for raw in asked]
    assert asked and all(type(raw) is int and 0 <= raw < space.num_cells for raw in raws)
    assert asked == run_loop(cls(space), lambda raw: float(means[raw]), 300, seed=0)
    assert asked != run_loop(cls(space), lambda raw: float(means[raw]), 300, seed=1)


@pytest.mark.parametrize("name", multi_trial_strategies())
def test_ask_changes_no_state_in_place(name, space):
    # The same state and generator state give the same proposal twice: ask/tell are pure
    # functions of their arguments, the strategy object holds no search state.
    strategy = get_strategy(name)(space)
    rng = np.random.default_rng(3)
    state = strategy.init(rng)
    for step in range(120):
        snapshot = repr(state)
        copy = np.random.default_rng(0)
        copy.bit_generator.state = rng.bit_generator.state
        new_state, raw = strategy.ask(state, rng)
        again_state, again = strategy.ask(state, copy)
        assert raw == again and repr(new_state) == repr(again_state)
        assert repr(state) == snapshot  # the old state was not modified
        if raw is None:
            break
        state = strategy.tell(new_state, raw, Result.of(0.01 * (step % 37), 5.0))


@pytest.mark.parametrize("name", multi_trial_strategies())
def test_diverged_results_are_accepted(name, space):
    """A third of the cells diverge (NaN): the strategy takes them and keeps asking to the
    end of the budget (random sampling asks once: it proposes one cell, by design)."""
    strategy = get_strategy(name)(space)
    asked = run_loop(strategy, lambda raw: math.nan if raw % 3 == 0 else 0.5, 200, seed=2)
    assert len(asked) == (1 if name == "random_sampling" else 200)


@pytest.fixture(scope="module")
def baseline_regrets(bench) -> dict[str, float]:
    """Mean final regret over seeds 0..7 at 100 evaluations of the two random baselines."""
    return {name: mean_final_regret(name, bench) for name in ("random_sampling", "random_search")}


def mean_final_regret(name: str, bench) -> float:
    return float(np.mean([run_search(name, bench, "100evals", s).regret[-1] for s in range(8)]))


@pytest.mark.parametrize("name", marked_slow(LEARNING, SLOW_STRATEGIES))
def test_learning_strategies_beat_random_on_the_synthetic_table(name, bench, baseline_regrets):
    # Accuracy grows with convolutions: a strategy that learns anything finds better cells
    # in 100 evaluations than one random cell, and than 100 independent random cells.
    regret = mean_final_regret(name, bench)
    assert regret < 0.5 * baseline_regrets["random_sampling"]
    assert regret < baseline_regrets["random_search"]


# -- random sampling and random search ---------------------------------------------------------


def test_random_sampling_draws_exactly_one_cell(space):
    strategy = get_strategy("random_sampling")(space)
    rng = np.random.default_rng(0)
    state = strategy.init(rng)
    state, raw = strategy.ask(state, rng)
    assert raw is not None
    for _ in range(3):
        state, again = strategy.ask(state, rng)
        assert again is None
    state = strategy.tell(state, raw, Result.of(0.3, 10.0))
    assert strategy.ask(state, rng)[1] is None
    draws = {run_loop(strategy, lambda r: 0.5, 5, seed)[0] for seed in range(50)}
    assert len(draws) > 45  # different seeds, different cells


def test_random_search_is_uniform_over_raw_cells(space):
    asked = np.array(run_loop(get_strategy("random_search")(space), lambda r: 0.5, 50_000, 0))
    cells = space.cells(asked)  # (n, 6)
    for edge in range(6):
        shares = np.bincount(cells[:, edge], minlength=5) / len(asked)
        assert np.all(np.abs(shares - 0.2) < 0.01), (edge, shares)
    counts = np.bincount(asked, minlength=space.num_cells)
    assert (counts > 0).mean() > 0.9  # 50,000 draws cover ~96% of 15,625 cells


# -- regularized evolution ---------------------------------------------------------------------


def test_evolution_parameters_are_checked(space):
    cls = get_strategy("regularized_evolution")
    with pytest.raises(ValueError, match="population_size"):
        cls(space, population_size=0)
    with pytest.raises(ValueError, match="tournament_size"):
        cls(space, population_size=5, tournament_size=6)
    with pytest.raises(ValueError, match="tournament_size"):
        cls(space, tournament_size=0)


@pytest.mark.parametrize("population", [1, 7, 50])
def test_evolution_population_ages(space, population):
    cls = get_strategy("regularized_evolution")
    strategy = cls(space, population_size=population, tournament_size=1)
    rng = np.random.default_rng(0)
    state = strategy.init(rng)
    told = []
    for step in range(3 * population + 20):
        members = set(state.raws)
        state, raw = strategy.ask(state, rng)
        if step >= population:  # after the random start every child is a one-edge mutant
            assert any(hamming(space, raw, m) == 1 for m in members)
        state = strategy.tell(state, raw, Result.of(float(rng.random()), 1.0))
        told.append(raw)
        assert list(state.raws) == told[-population:]  # the oldest member left
    assert state.num_random == population


def test_evolution_tournament_size_is_honoured(space, bench):
    cls = get_strategy("regularized_evolution")
    rng = np.random.default_rng(0)
    scores = rng.random(space.num_cells)  # distinct: the best member is unique

    def parents_are_best(tournament: int) -> float:
        strategy = cls(space, population_size=20, tournament_size=tournament)
        state = strategy.init(rng)
        hits = 0
        for step in range(400):
            best = state.raws[int(np.argmax(state.scores))] if state.raws else None
            state, raw = strategy.ask(state, rng)
            if step >= 20:
                hits += hamming(space, raw, best) == 1
            state = strategy.tell(state, raw, Result.of(float(scores[raw]), 1.0))
        return hits / 380

    assert parents_are_best(20) == 1.0  # the whole population enters: the best always wins
    assert parents_are_best(1) < 0.5  # one entrant: a random parent


# -- local search ------------------------------------------------------------------------------


def test_local_search_evaluates_the_whole_neighbourhood_first(space):
    strategy = get_strategy("local_search")(space)
    orders = set()
    for seed in range(5):
        asked = run_loop(strategy, lambda r: 0.5, 25, seed)
        start, rest = asked[0], asked[1:]
        assert sorted(rest) == sorted(space.neighbours(start).tolist())
        orders.add(tuple(np.argsort(np.argsort(rest))))
    assert len(orders) > 1  # neighbours come in random order


def test_local_search_climbs_to_the_optimum_and_restarts(space):
    target = space.cell(space.to_raw(7777))

    def matches(raw: int) -> float:  # unimodal: each step can fix one more edge
        return float((space.cell(raw) == target).mean())

    strategy = get_strategy("local_search")(space)
    asked = run_loop(strategy, matches, 400, seed=0)
    assert 7777 in asked
    # Replay the climb: each step's centre is the best cell of the previous neighbourhood.
    centre, i = asked[0], 1
    while centre != 7777:
        fresh = [r for r in space.neighbours(centre).tolist() if r not in asked[:i]]
        step = asked[i : i + len(fresh)]
        assert sorted(step) == sorted(fresh)
        best = max(step, key=matches)
        assert matches(best) > matches(centre)
        centre, i = best, i + len(fresh)
    # At the optimum no neighbour improves: after its neighbourhood, a new random start.
    fresh = [r for r in space.neighbours(7777).tolist() if r not in asked[:i]]
    i += len(fresh)
    restart = asked[i]
    assert sorted(asked[i + 1 : i + 25]) == sorted(space.neighbours(restart).tolist())


def test_local_search_waits_while_a_neighbourhood_is_in_flight(space):
    strategy = get_strategy("local_search")(space)
    rng = np.random.default_rng(0)
    state = strategy.init(rng)
    asked = []
    for _ in range(25):
        state, raw = strategy.ask(state, rng)
        asked.append(raw)
    assert len(set(asked)) == 25
    assert strategy.ask(state, rng)[1] is None  # everything asked, nothing back yet
    for raw in asked[:-1]:
        state = strategy.tell(state, raw, Result.of(0.1, 1.0))
        assert strategy.ask(state, rng)[1] is None
    state = strategy.tell(state, asked[-1], Result.of(0.1, 1.0))
    # Nothing improved on the start (all 0.1): restart elsewhere.
    state, raw = strategy.ask(state, rng)
    assert raw not in asked
    # Now make one neighbour better: the climb moves there and skips visited cells.
    state = strategy.init(rng)
    asked = []
    for _ in range(25):
        state, raw = strategy.ask(state, rng)
        asked.append(raw)
    best = asked[7]
    for raw in asked:
        state = strategy.tell(state, raw, Result.of(0.9 if raw == best else 0.1, 1.0))
    state, raw = strategy.ask(state, rng)
    assert state.centre == best and hamming(space, raw, best) == 1 and raw not in asked


# -- registry ----------------------------------------------------------------------------------


def test_registry_errors(space):
    with pytest.raises(ValueError, match="unknown strategy 'nope'; available: .*random_search"):
        get_strategy("nope")
    with pytest.raises(TypeError, match="registered name or a strategy class"):
        get_strategy(42)
    with pytest.raises(TypeError, match="lacks ask, tell, name"):
        get_strategy(type("Half", (), {"init": lambda self, rng: None}))
    with pytest.raises(TypeError, match="is not a strategy: lacks init, ask, tell, name"):
        make_strategy(object(), space)
    instance = get_strategy("random_search")(space)
    assert make_strategy(instance, space) is instance
    with pytest.raises(ValueError, match="already built"):
        make_strategy(instance, space, block=3)
    evolution = make_strategy("regularized_evolution", space, population_size=12)
    assert (evolution.population_size, evolution.tournament_size) == (12, 10)


PLUGIN = '''
"""A strategy living in a package of its own: always proposes the cell after the last one."""
from typing import NamedTuple


NUMBER = 3


class State(NamedTuple):
    next_raw: int


class Sweep:
    name = "sweep"

    def __init__(self, space, start=0):
        self.space, self.start = space, start

    def init(self, rng):
        return State(self.start)

    def ask(self, state, rng):
        return State((state.next_raw + 1) % self.space.num_cells), state.next_raw

    def tell(self, state, raw, valid_acc, cost):
        return state
'''


def write_plugin(root, entries: str) -> None:
    """A tiny installed-looking distribution: one module and its dist-info's entry points."""
    write_strategy_package(root, "sweep-strategy", {"sweep_strategy.py": PLUGIN}, entries)


def test_strategy_from_an_outside_package(tmp_path, monkeypatch, bench):
    write_plugin(tmp_path, "sweep = sweep_strategy:Sweep")
    assert "sweep" not in available_strategies()
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), *sys.path]))
    assert "sweep" in available_strategies()
    trajectory = run_search("sweep", bench, "30evals", seed=0, workers=3, params={"start": 100})
    assert sorted(trajectory.raw.tolist()) == list(range(100, 130))
    # A fresh process finds it through PYTHONPATH, as `compare` workers do.
    code = "from nasbench_lite.search import available_strategies as a; print(a())"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "'sweep'" in out.stdout


def test_broken_outside_strategies_are_reported(tmp_path, monkeypatch):
    write_plugin(
        tmp_path,
        "ghost = no_such_module:Ghost\n"
        "state = sweep_strategy:State\n"
        "number = sweep_strategy:NUMBER",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValueError, match="'ghost' is registered as 'no_such_module:Ghost' but "):
        get_strategy("ghost")
    with pytest.raises(TypeError, match="not a strategy class: lacks init, ask, tell"):
        get_strategy("state")
    with pytest.raises(TypeError, match="is 3, not a class"):
        get_strategy("number")


def test_bohb_density_is_the_direct_kernel_product_bit_for_bit():
    from nasbench_lite.strategies.bohb import density

    def direct(points, data, bw, levels):
        same = points[:, None, :] == data[None, :, :]  # (m, n, d)
        return np.where(same, 1.0 - bw, bw / (levels - 1)).prod(axis=2).mean(axis=1)

    rng = np.random.default_rng(0)
    for _ in range(300):  # 13 and 28 edges: a plug-in space's, the direct form
        m, n = int(rng.integers(1, 65)), int(rng.integers(1, 400))
        d = int(rng.choice([1, 2, 3, 4, 5, 6, 12, 13, 28]))
        points, data = rng.integers(0, 5, (m, d)), rng.integers(0, 5, (n, d))
        bw = rng.uniform(1e-3, 0.8, d)
        np.testing.assert_array_equal(density(points, data, bw, 5), direct(points, data, bw, 5))


def test_a_strategy_at_other_settings_is_named_by_them(bench):
    """ "name[key=value, ...]": the strategy with those constructor defaults, reported under
    the whole string, the same runs as run_search with the params; mistakes are named."""
    from nasbench_lite.compare import CompareConfig, compare
    from nasbench_lite.errors import InputError

    name = "regularized_evolution[population_size=8, tournament_size=3]"
    cls = get_strategy(name)
    made = cls(bench.space)
    assert cls.name == name and (made.population_size, made.tournament_size) == (8, 3)
    given = run_search(name, bench, "40evals", seed=4)
    direct = run_search("regularized_evolution", bench, "40evals", seed=4,
                        params={"population_size": 8, "tournament_size": 3})  # fmt: skip
    np.testing.assert_array_equal(given.raw, direct.raw)
    result = compare(CompareConfig(table=bench.table, strategies=("regularized_evolution", name),
                                   seeds=2, budget="20evals", jobs=1, out=None))  # fmt: skip
    assert result.strategies == ["regularized_evolution", name]
    with pytest.raises(InputError, match=r"takes no \['popsize'\]; its parameters: \["):
        get_strategy("regularized_evolution[popsize=3]")
    with pytest.raises(InputError, match="parameters go as \\[key=value, ...\\], not 'eight'"):
        get_strategy("regularized_evolution[eight]")
    with pytest.raises(InputError, match="unknown strategy 'no_such'"):
        get_strategy("no_such[a=1]")
