"""The runner: budgets, workers and the event queue, reproducibility, what reaches a strategy,
incumbents and regret, overhead accounting."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from conftest import SLOW_STRATEGIES, marked_slow, multi_trial_strategies

from nasbench_lite.errors import InputError
from nasbench_lite.search.budget import Budget
from nasbench_lite.search.protocol import Ask, Result
from nasbench_lite.search.registry import get_strategy
from nasbench_lite.search.runner import run_search
from nasbench_lite.search.trajectory import Trajectory

COLUMNS = [
    "strategy",
    "seed",
    "sim_seconds",
    "evals",
    "incumbent_valid",
    "incumbent_test",
    "regret",
    "incumbent_raw",
    "incumbent_cell",
    "epoch",
    "epochs_trained",
    "strategy_seconds",
    "source_seconds",
]
FIDELITY = ("hyperband", "bohb")  # strategies built for the benchmark's epochs
SAME = ("sim_seconds", "evals", "raw", "valid_acc", "test_acc", "incumbent", "incumbent_cell",
        "incumbent_valid", "incumbent_test", "regret")  # fmt: skip


class Recording:
    """A benchmark that passes every call on to a real one and keeps what it answered."""

    def __init__(self, inner):
        self.inner, self.space, self.best_test_acc = inner, inner.space, inner.best_test_acc
        self.epochs = inner.epochs
        self.answers = []  # (raw, Evaluation) in dispatch order

    def evaluate(self, raw, rng):
        return self.evaluate_many([raw], rng)[0]

    def evaluate_many(self, raws, rng):
        results = self.inner.evaluate_many(raws, rng)
        self.answers.extend(zip(raws, results, strict=True))
        return results

    def evaluate_requests(self, requests, rng):
        results = self.inner.evaluate_requests(requests, rng)
        self.answers.extend(zip([r.raw for r in requests], results, strict=True))
        return results

    def mean_test_acc(self, raws):
        return self.inner.mean_test_acc(raws)


class Spy:
    """Wraps a strategy instance and records every argument the runner hands it."""

    def __init__(self, inner, delay: float = 0.0):
        self.inner, self.name, self.delay = inner, inner.name, delay
        self.told = []

    def init(self, rng):
        return self.inner.init(rng)

    def ask(self, state, rng):
        time.sleep(self.delay)
        return self.inner.ask(state, rng)

    def tell(self, *args, **kwargs):
        assert not kwargs
        self.told.append(args[1:])
        return self.inner.tell(*args)


def cost_of(recording: Recording) -> dict:
    """(raw, valid_acc, test_acc) -> cost of every answer (one seed's numbers: unique)."""
    return {(raw, e.valid_acc, e.test_acc): e.cost_seconds for raw, e in recording.answers}


def row_costs(recording: Recording, trajectory: Trajectory) -> np.ndarray:
    """(n,) cost of each trajectory row, matched through what the benchmark answered."""
    cost = cost_of(recording)
    rows = zip(trajectory.raw.tolist(), trajectory.valid_acc.tolist(),
               trajectory.test_acc.tolist(), strict=True)  # fmt: skip
    return np.array([cost[row] for row in rows])


# -- budgets --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds", "evals"),
    [("3000", 3000.0, None), (" 3000s ", 3000.0, None), ("1.5e3", 1500.0, None),
     (250, 250.0, None), ("100evals", None, 100), ("100 evals", None, 100), ("1eval", None, 1)],
)  # fmt: skip
def test_budget_parse(text, seconds, evals):
    budget = Budget.parse(text)
    assert (budget.seconds, budget.evals) == (seconds, evals)
    assert Budget.parse(str(budget)) == budget
    assert Budget.parse(budget) is budget


@pytest.mark.parametrize("text", ["", "abc", "0", "-5", "0evals", "nan", "inf", "10 sec", "3e"])
def test_budget_parse_rejects(text):
    with pytest.raises(ValueError, match=f"budget {text!r} is not valid"):
        Budget.parse(text)


def test_budget_rejects():
    with pytest.raises(ValueError, match="budget None"):
        Budget.parse(None)
    with pytest.raises(ValueError, match="budget True"):
        Budget.parse(True)
    with pytest.raises(ValueError, match="needs seconds, evals or epochs"):
        Budget()
    with pytest.raises(ValueError, match=r"evals must be an int in 1\.\.10,000,000, got 2.5"):
        Budget(evals=2.5)
    assert str(Budget(seconds=60, evals=7)) == "60 and 7evals"


@pytest.mark.parametrize("name", multi_trial_strategies())
@pytest.mark.parametrize("workers", [1, 2, 4])
def test_no_strategy_overspends(name, workers, bench):
    # Seconds: about 40 evaluations per worker. Nothing recorded after the budget, and the
    # run ends at the budget unless the strategy had stopped asking.
    trajectory = run_search(name, bench, "2000", seed=workers, workers=workers)
    assert len(trajectory) >= 1
    assert trajectory.sim_seconds.max() <= 2000.0
    assert np.all(np.diff(trajectory.sim_seconds) >= 0)
    np.testing.assert_array_equal(trajectory.evals, np.arange(1, len(trajectory) + 1))
    assert trajectory.end_seconds == 2000.0 or trajectory.strategy_done
    if not trajectory.strategy_done:
        assert len(trajectory) >= 10 * workers
    # Evaluations: exactly the budget when the strategy keeps asking.
    trajectory = run_search(name, bench, "37evals", seed=workers, workers=workers)
    assert len(trajectory) == (1 if trajectory.strategy_done else 37)
    # Both: whichever runs out first (evaluations here, then seconds).
    trajectory = run_search(name, bench, Budget(seconds=2000, evals=15), seed=0, workers=workers)
    assert len(trajectory) == (1 if trajectory.strategy_done else 15)
    assert trajectory.sim_seconds.max() <= 2000.0
    trajectory = run_search(name, bench, Budget(seconds=100, evals=1000), seed=0, workers=workers)
    assert trajectory.sim_seconds.max() <= 100.0 and len(trajectory) < 1000
    assert trajectory.end_seconds == 100.0 or trajectory.strategy_done
    # Epochs: never more than the budget; spent unless the strategy stopped asking.
    trajectory = run_search(name, bench, "61epochs", seed=workers, workers=workers)
    assert trajectory.epochs_trained[-1] <= 61
    if not trajectory.strategy_done:
        assert trajectory.epochs_trained[-1] > 61 - bench.epochs * workers


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_workers_overlap_but_never_exceed_w(workers, bench):
    recording = Recording(bench)
    trajectory = run_search("random_search", recording, "3000", seed=0, workers=workers)
    costs = row_costs(recording, trajectory)
    starts = trajectory.sim_seconds - costs
    assert starts.min() >= -1e-9
    # Busy workers at every start time: never more than W; random search keeps all W busy.
    # (1e-6: a start recomputed as finish - cost may differ from the finish before it by
    # rounding.)
    ends = trajectory.sim_seconds
    busy = [(starts <= t + 1e-6).sum() - (ends <= t + 1e-6).sum() for t in starts]
    assert max(busy) <= workers
    if workers == 1:
        np.testing.assert_allclose(trajectory.sim_seconds, np.cumsum(costs), rtol=1e-12)
    first = starts[: len(starts) // 2]
    assert all(b == workers for b, s in zip(busy, starts, strict=True) if s in first)


def test_a_waiting_strategy_idles_workers(bench):
    # Local search asks a whole neighbourhood (25 cells) then waits: with 40 workers at most
    # 25 evaluations are ever in flight, and the second step starts after the first ends.
    recording = Recording(bench)
    trajectory = run_search("local_search", recording, "100evals", seed=0, workers=40)
    assert len(trajectory) == 100
    cost = cost_of(recording)
    first = [cost[(raw, e.valid_acc, e.test_acc)] for raw, e in recording.answers[:25]]
    np.testing.assert_allclose(trajectory.sim_seconds[:25], np.sort(first), rtol=1e-12)
    assert trajectory.sim_seconds[25] > max(first)


# -- reproducibility ----------------------------------------------------------------------------


REPRODUCED = [(workers, name) for name in multi_trial_strategies() for workers in (1, 3)]


@pytest.mark.parametrize(
    ("workers", "name"), marked_slow(REPRODUCED, [(3, name) for name in SLOW_STRATEGIES])
)
def test_same_seed_same_trajectory(workers, name, bench):
    a = run_search(name, bench, "3000", seed=11, workers=workers)
    b = run_search(name, bench, "3000", seed=11, workers=workers)
    for field in SAME:
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    assert (a.end_seconds, a.strategy_done) == (b.end_seconds, b.strategy_done)
    c = run_search(name, bench, "3000", seed=12, workers=workers)
    assert a.raw.tolist() != c.raw.tolist()


# -- what the strategy sees; incumbents and regret ----------------------------------------------


@pytest.mark.parametrize("name", multi_trial_strategies())
def test_strategy_is_told_named_metrics_never_test_ones(name, table, bench):
    # eta 2 on the table's 2 epochs: rungs at 1 and 2 epochs, so low fidelities are told too.
    params = {"max_epochs": bench.epochs, "eta": 2} if name in FIDELITY else {}
    spy = Spy(get_strategy(name)(bench.space, **params))
    recording = Recording(bench)
    trajectory = run_search(spy, recording, "60evals", seed=0, workers=3)
    assert len(spy.told) == len(trajectory)
    if name in FIDELITY:
        assert set(trajectory.epoch.tolist()) == {1, 2}
    cost = cost_of(recording)
    shown = {m for m in table.metrics if not m.startswith("test_")} | {"cost", "epoch"}
    for (asked, result), row in zip(spy.told, range(len(trajectory)), strict=True):
        # Told in completion order, with exactly the validation accuracy and cost measured
        # (a fidelity strategy is told the Ask it made), and every other metric of the
        # table's schema for that run, but no test metric.
        assert isinstance(result, Result)
        assert set(result) == shown and not any(k.startswith("test_") for k in result)
        raw, valid_acc, spent = getattr(asked, "raw", asked), result.valid_acc, result.cost
        assert raw == trajectory.raw[row] and valid_acc == trajectory.valid_acc[row]
        assert type(valid_acc) is float and type(spent) is float
        # Validation accuracies of the synthetic table lie below 0.5, test ones above.
        assert valid_acc < 0.5 <= trajectory.test_acc[row]
        assert trajectory.test_acc[row] not in result.values()
        assert spent == cost[(raw, valid_acc, trajectory.test_acc[row])]
        assert result["params"] == table.query(raw)["params"]
        assert result["flops"] == table.query(raw)["flops"]
        assert result.epoch == trajectory.epoch[row]


@pytest.mark.parametrize("workers", [1, 4])
def test_incumbent_and_regret_brute_force(workers, table, bench):
    trajectory = run_search("regularized_evolution", bench, "300evals", seed=4, workers=workers)
    means = table.values("test_acc", np.arange(15625)).astype(np.float64)
    assert trajectory.best_test_acc == pytest.approx(means.max())
    best, incumbent = -math.inf, -1
    for row in range(len(trajectory)):
        if trajectory.valid_acc[row] > best:
            best, incumbent = trajectory.valid_acc[row], trajectory.raw[row]
        assert trajectory.incumbent[row] == incumbent
        assert trajectory.incumbent_valid[row] == best
        assert trajectory.incumbent_test[row] == pytest.approx(means[incumbent], abs=1e-6)
    np.testing.assert_allclose(
        trajectory.regret, trajectory.best_test_acc - trajectory.incumbent_test
    )
    assert np.all(trajectory.regret >= -1e-6) and np.all(np.diff(trajectory.incumbent_valid) >= 0)


def test_diverged_evaluations_never_become_incumbent(bench):
    class Diverging(Recording):
        def evaluate_many(self, raws, rng):
            out = super().evaluate_many(raws, rng)
            return [
                e._replace(valid_acc=math.nan) if raw % 2 else e
                for raw, e in zip(raws, out, strict=True)
            ]

    # Seed 4 starts with diverged (odd) cells: rows before the first incumbent exist.
    trajectory = run_search("random_search", Diverging(bench), "200evals", seed=4)
    odd = trajectory.raw % 2 == 1
    assert np.isnan(trajectory.valid_acc[odd]).all() and odd.any()
    known = trajectory.incumbent >= 0
    assert np.all(trajectory.incumbent[known] % 2 == 0)
    before = ~known  # leading diverged evaluations: no incumbent yet
    assert before.sum() > 0 and np.isnan(trajectory.regret[before]).all() and known[-1]
    assert np.isnan(trajectory.incumbent_test[before]).all()


def test_measured_test_accuracy_stands_in_without_means(bench):
    class NoMeans(Recording):
        best_test_acc = math.nan

        def __init__(self, inner):
            super().__init__(inner)
            self.best_test_acc = math.nan

        def mean_test_acc(self, raws):
            return np.full(len(raws), np.nan)

    trajectory = run_search("random_search", NoMeans(bench), "50evals", seed=0)
    which = [int(np.flatnonzero(trajectory.raw[: row + 1] == inc)[0])
             for row, inc in enumerate(trajectory.incumbent)]  # fmt: skip
    np.testing.assert_array_equal(trajectory.incumbent_test, trajectory.test_acc[which])
    assert np.isnan(trajectory.regret).all()


# -- overhead -----------------------------------------------------------------------------------


def test_overhead_is_measured_and_charged_only_on_request(bench):
    cls = get_strategy("random_search")
    runs = {}
    for charge in (False, True):
        recording = Recording(bench)
        spy = Spy(cls(bench.space), delay=0.002)
        runs[charge] = (run_search(spy, recording, "20evals", 0, charge_overhead=charge),
                        np.cumsum([e.cost_seconds for _, e in recording.answers]))  # fmt: skip
    plain, costs = runs[False]
    np.testing.assert_allclose(plain.sim_seconds, costs, rtol=1e-12)  # not charged
    assert np.all(plain.overhead_seconds >= 0.002 * plain.evals)  # but measured
    assert np.all(np.diff(plain.overhead_seconds) > 0)
    charged, costs = runs[True]
    np.testing.assert_array_equal(charged.raw, plain.raw)  # W=1: the same cells, later
    assert np.all(charged.sim_seconds - costs >= 0.002 * charged.evals)
    assert np.all(charged.sim_seconds - costs <= charged.overhead_seconds + 1e-9)


class SearchInInit:
    """Proposes cells 0, 1, 2, ... with `search_epochs` training epochs of search computation
    behind each; its init takes `init_wall` seconds, all of them a search computation it
    charges itself (`init_search_seconds`, as a supernet search's compilation and init)."""

    name = "search_in_init"

    def __init__(self, space, search_epochs=0, init_wall=0.0, declare=True):
        self.space, self.search_epochs, self.init_wall, self.declare = (
            space, search_epochs, init_wall, declare,
        )  # fmt: skip

    def init(self, rng):
        time.sleep(self.init_wall)
        if self.declare:
            self.init_search_seconds = self.init_wall
        return 0

    def ask(self, state, rng):
        return state + 1, Ask(state, search_epochs=self.search_epochs)

    def tell(self, state, raw, result):
        return state


def test_a_search_computation_in_init_is_not_charged_as_overhead(bench):
    costs = {}
    for declare in (True, False):
        strategy = SearchInInit(bench.space, init_wall=0.3, declare=declare)
        run = run_search(strategy, bench, "2evals", 0, charge_overhead=True)
        costs[declare] = run.sim_seconds[0]
    first = run_search(SearchInInit(bench.space), bench, "2evals", 0).sim_seconds[0]
    assert costs[True] - first < 0.1  # only the ask's and tell's own overhead
    assert costs[False] - first >= 0.3  # the check can fail: undeclared, init is overhead


def test_search_epochs_count_against_an_epochs_budget(bench):
    epochs = bench.epochs
    run = run_search(SearchInInit(bench.space, search_epochs=2), bench,
                     Budget(epochs=3 * epochs + 5), 0)  # fmt: skip
    # Each ask costs its cell's E epochs plus the search's 2.
    assert len(run) == (3 * epochs + 5) // (epochs + 2)
    np.testing.assert_array_equal(run.epochs_trained, (epochs + 2) * np.arange(1, len(run) + 1))
    with pytest.raises(InputError, match="search_epochs must be an int >= 0, got -1"):
        run_search(SearchInInit(bench.space, search_epochs=-1), bench, "2evals", 0)


def test_charged_overhead_still_respects_the_budget(bench):
    spy = Spy(get_strategy("random_search")(bench.space), delay=0.02)
    trajectory = run_search(spy, bench, "100", 0, workers=2, charge_overhead=True)
    assert trajectory.sim_seconds.max() <= 100.0 and trajectory.end_seconds == 100.0


# -- results and errors -------------------------------------------------------------------------


def test_to_frame(bench):
    trajectory = run_search("local_search", bench, "40evals", seed=3, workers=2)
    frame = trajectory.to_frame("local_search", 3)
    assert list(frame.columns) == COLUMNS and len(frame) == 40
    assert (frame["strategy"] == "local_search").all() and (frame["seed"] == 3).all()
    np.testing.assert_array_equal(frame["regret"].to_numpy(), trajectory.regret)
    np.testing.assert_array_equal(frame["evals"].to_numpy(), np.arange(1, 41))
    # Which cell the incumbent is: its raw index on every row, its cell string where it
    # changed and on the last row.
    np.testing.assert_array_equal(frame["incumbent_raw"].to_numpy(), trajectory.incumbent)
    named = frame["incumbent_cell"] != ""
    changed = np.diff(trajectory.incumbent, prepend=-1) != 0
    assert named.iloc[-1] and (named.to_numpy()[:-1] == changed[:-1]).all()
    for raw, text in zip(frame.incumbent_raw[named], frame.incumbent_cell[named], strict=True):
        assert text == bench.space.format(raw) and bench.space.to_raw(text) == raw


def test_a_budget_too_small_for_one_evaluation(bench):
    # Every synthetic cost is >= 10 s: nothing finishes within 5 s.
    trajectory = run_search("random_sampling", bench, "5", seed=0)
    assert isinstance(trajectory, Trajectory) and len(trajectory) == 0
    assert trajectory.end_seconds == 5.0 and not trajectory.strategy_done
    frame = trajectory.to_frame("random_sampling", 0)
    assert list(frame.columns) == COLUMNS and frame.empty


def test_run_search_errors(bench):
    with pytest.raises(ValueError, match="workers must be an int >= 1, got 0"):
        run_search("random_search", bench, "10evals", seed=0, workers=0)
    with pytest.raises(ValueError, match="seed must be a non-negative int, got -1"):
        run_search("random_search", bench, "10evals", seed=-1)
    with pytest.raises(ValueError, match="budget 'soon' is not valid"):
        run_search("random_search", bench, "soon", seed=0)

    class OutOfSpace:
        name = "out_of_space"

        def __init__(self, space):
            pass

        def init(self, rng):
            return ()

        def ask(self, state, rng):
            return state, 15625

        def tell(self, state, raw, valid_acc, cost):
            return state

    with pytest.raises(ValueError, match="'out_of_space' asked for raw cell 15625; a raw cell "):
        run_search(OutOfSpace, bench, "10evals", seed=0)

    class FloatRaw(OutOfSpace):
        name = "float_raw"

        def ask(self, state, rng):
            return state, 12534.0

    with pytest.raises(ValueError, match=r"cell 12534.0 \(a float, not an int\); a raw cell is"):
        run_search(FloatRaw, bench, "10evals", seed=0)

    class Bare(OutOfSpace):
        name = "bare"

        def ask(self, state, rng):
            return 12534  # forgot the state

    with pytest.raises(ValueError, match=r"'bare': ask must return \(state, raw cell, Ask or None"):
        run_search(Bare, bench, "10evals", seed=0)

    class Free(Recording):
        def evaluate_many(self, raws, rng):
            return [e._replace(cost_seconds=0.0) for e in super().evaluate_many(raws, rng)]

    with pytest.raises(ValueError, match="cost 0.0 s for raw cell"):
        run_search("random_search", Free(bench), "10evals", seed=0)
