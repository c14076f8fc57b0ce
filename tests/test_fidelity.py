"""Fidelity in the search protocol: answers at fewer epochs, continued runs that pay only the
epochs they add, epoch budgets, the mixed-fidelity incumbent rule, Hyperband and BOHB."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from nasbench_lite.backends.base import Request
from nasbench_lite.backends.tabular import TabularBenchmark
from nasbench_lite.search.budget import Budget
from nasbench_lite.search.protocol import Ask, Result
from nasbench_lite.search.registry import get_strategy
from nasbench_lite.search.runner import run_search
from nasbench_lite.search.trajectory import incumbent_index
from nasbench_lite.table import synthetic

FIDELITY = ["hyperband", "bohb"]
EPOCHS = 8


@pytest.fixture(scope="module")
def table():
    """A complete synthetic nb201 table with 8-epoch curves (3 seeds)."""
    return synthetic.synthetic_table(epochs=EPOCHS, rng=3)


@pytest.fixture(scope="module")
def bench(table):
    return TabularBenchmark(table)


class Recording:
    """Passes requests on to a benchmark and keeps each (Request or raw, Evaluation)."""

    def __init__(self, inner):
        self.inner, self.space, self.best_test_acc = inner, inner.space, inner.best_test_acc
        self.epochs = inner.epochs
        self.answers = []

    def evaluate(self, raw, rng):
        return self.evaluate_many([raw], rng)[0]

    def evaluate_many(self, raws, rng):
        out = self.inner.evaluate_many(raws, rng)
        self.answers += [(Request(raw, self.epochs), e) for raw, e in zip(raws, out, strict=True)]
        return out

    def evaluate_requests(self, requests, rng):
        out = self.inner.evaluate_requests(requests, rng)
        self.answers += list(zip(requests, out, strict=True))
        return out

    def mean_test_acc(self, raws):
        return self.inner.mean_test_acc(raws)


# -- the tabular backend at any epoch ----------------------------------------------------------


def test_tabular_answers_are_the_drawn_seeds_curve_at_that_epoch(table, bench):
    # Brute force: every raw cell at a random epoch, then continued to a later one.
    rng = np.random.default_rng(0)
    raws = np.arange(table.raw_to_row.size)
    epochs = rng.integers(1, EPOCHS, size=raws.size)  # 1..7
    first = bench.evaluate_requests(
        [Request(int(r), int(e)) for r, e in zip(raws, epochs, strict=True)], rng
    )
    rows = table.raw_to_row[raws]
    valid, test = table.metric("valid_acc"), table.metric("test_acc")
    seconds = table.metric("train_seconds")
    seed = np.array([e.run for e in first])
    assert set(seed.tolist()) == {0, 1, 2}
    np.testing.assert_array_equal([e.valid_acc for e in first], valid[rows, seed, epochs - 1])
    np.testing.assert_array_equal([e.test_acc for e in first], test[rows, seed, epochs - 1])
    np.testing.assert_allclose(
        [e.cost_seconds for e in first], seconds[rows, seed] * epochs / EPOCHS, rtol=1e-12
    )
    assert [e.epoch for e in first] == epochs.tolist()
    # Continued to the last epoch: the same seed's curve, paying only the epochs added.
    more = bench.evaluate_requests(
        [Request(int(r), EPOCHS, e.run, e.epoch) for r, e in zip(raws, first, strict=True)], rng
    )
    np.testing.assert_array_equal([e.valid_acc for e in more], valid[rows, seed, -1])
    np.testing.assert_allclose(
        [e.cost_seconds for e in more], seconds[rows, seed] * (EPOCHS - epochs) / EPOCHS
    )
    whole = np.array([a.cost_seconds + b.cost_seconds for a, b in zip(first, more, strict=True)])
    np.testing.assert_allclose(whole, seconds[rows, seed], rtol=1e-12)


def test_a_new_full_request_draws_exactly_like_evaluate(bench):
    raws = list(range(0, 15625, 31))
    plain = bench.evaluate_many(raws, np.random.default_rng(4))
    asked = bench.evaluate_requests([Request(r, EPOCHS) for r in raws], np.random.default_rng(4))
    assert plain == asked


@pytest.mark.parametrize(
    ("request_", "match"),
    [
        (Request(5, 0), r"epoch 0 of raw cell 5 is not in 1\.\.8"),
        (Request(5, 9), r"epoch 9 of raw cell 5 is not in 1\.\.8"),
        (Request(5, 3, None, 2), "start_epoch 2 without a run"),
        (Request(5, 3, 1, 3), "cannot continue raw cell 5 from epoch 3 to 3"),
        (Request(5, 3, 7, 1), "run 7 is not a seed index"),
    ],
)
def test_bad_requests_are_refused(bench, request_, match):
    with pytest.raises(ValueError, match=match):
        bench.evaluate_requests([request_], np.random.default_rng(0))


# -- the runner ---------------------------------------------------------------------------------

# Trajectory digests of the strategies that existed before fidelity (sim_seconds, raw,
# valid_acc, incumbent, regret; synthetic table rng 11, 200 evaluations, seed 7), computed
# with the code before the protocol changed: every existing strategy runs exactly as before.
# (bananas and gp_bo are left out: their floating-point models may round differently on
# another BLAS; see docs/search.md.)
BEFORE = {
    ("random_sampling", 1): "b2b80629f88f4b0f",
    ("random_sampling", 3): "b2b80629f88f4b0f",
    ("random_search", 1): "6309a29a4a4dd016",
    ("random_search", 3): "cafa63b21cafac35",
    ("regularized_evolution", 1): "618255e1ef3bfc63",
    ("regularized_evolution", 3): "5c9a755984998882",
    ("local_search", 1): "553ca63391a865a1",
    ("local_search", 3): "58c76a356a98e7f6",
    ("reinforce", 1): "530ceab76586ba85",
    ("reinforce", 3): "45ce40cfe7ca4913",
    ("ppo", 1): "025c6541d60292d1",
    ("ppo", 3): "3f644aade5fb873b",
}


@pytest.fixture(scope="module")
def old_bench():
    return TabularBenchmark(synthetic.synthetic_table(rng=np.random.default_rng(11)))


@pytest.mark.parametrize(("name", "workers"), sorted(BEFORE))
def test_existing_strategies_give_the_trajectories_they_gave_before(name, workers, old_bench):
    t = run_search(name, old_bench, "200evals", seed=7, workers=workers)
    digest = hashlib.sha256()
    for array in (t.sim_seconds, t.raw, t.valid_acc, t.incumbent, t.regret):
        digest.update(np.ascontiguousarray(array).tobytes())
    assert digest.hexdigest()[:16] == BEFORE[(name, workers)]
    assert (t.epoch == old_bench.epochs).all()
    np.testing.assert_array_equal(t.epochs_trained, old_bench.epochs * np.arange(1, len(t) + 1))


class AsAsk:
    """Wraps a strategy so that it asks `Ask(raw, epochs)` where it asked `raw`."""

    def __init__(self, inner, epochs=None):
        self.inner, self.name, self.space, self.epochs = inner, inner.name, inner.space, epochs

    def init(self, rng):
        return self.inner.init(rng)

    def ask(self, state, rng):
        state, raw = self.inner.ask(state, rng)
        return state, None if raw is None else Ask(raw, self.epochs)

    def tell(self, state, raw, valid_acc, cost):
        assert isinstance(raw, Ask)  # told back exactly what was asked
        return self.inner.tell(state, raw.raw, Result.of(valid_acc, cost))


@pytest.mark.parametrize("epochs", [None, EPOCHS])
@pytest.mark.parametrize("workers", [1, 3])
def test_full_fidelity_asks_equal_plain_ones(bench, epochs, workers):
    space = bench.space
    plain = run_search("regularized_evolution", bench, "2000", seed=2, workers=workers)
    strategy = AsAsk(get_strategy("regularized_evolution")(space), epochs)
    asked = run_search(strategy, bench, "2000", seed=2, workers=workers)
    for field in ("sim_seconds", "raw", "valid_acc", "test_acc", "incumbent", "regret", "epoch"):
        np.testing.assert_array_equal(getattr(plain, field), getattr(asked, field))


class Scripted:
    """Asks a fixed list of Asks, one per call, then finishes."""

    name = "scripted"

    def __init__(self, space, asks=()):
        self.space, self.asks = space, tuple(asks)

    def init(self, rng):
        return 0

    def ask(self, state, rng):
        return (state + 1, self.asks[state]) if state < len(self.asks) else (state, None)

    def tell(self, state, raw, valid_acc, cost):
        return state


def test_continuations_pay_the_difference_and_use_the_same_run(bench, table):
    asks = [Ask(100, 2), Ask(100, 5, resume=True), Ask(100, 8, resume=True), Ask(100, 3)]
    recording = Recording(bench)
    t = run_search(Scripted(bench.space, asks), recording, "1000evals", seed=0)
    assert t.epoch.tolist() == [2, 5, 8, 3]
    assert t.epochs_trained.tolist() == [2, 5, 8, 11]  # continuations count what they add
    (r1, e1), (r2, e2), (r3, e3), (r4, e4) = recording.answers
    assert e1.run == e2.run == e3.run  # the same training run, continued
    assert (r2.start_epoch, r3.start_epoch, r4.start_epoch) == (2, 5, 0)
    seconds = table.metric("train_seconds")[table.raw_to_row[100], e1.run]
    assert [e.cost_seconds for e in (e1, e2, e3)] == pytest.approx(
        [seconds * 2 / 8, seconds * 3 / 8, seconds * 3 / 8]
    )
    np.testing.assert_allclose(np.diff(t.sim_seconds, prepend=0.0)[:3], [e1.cost_seconds,
                               e2.cost_seconds, e3.cost_seconds])  # fmt: skip


@pytest.mark.parametrize(
    ("asks", "match"),
    [
        ([Ask(100, 9)], r"at 9 epochs, not in 1\.\.8"),
        ([Ask(100, 0)], r"at 0 epochs, not in 1\.\.8"),
        (
            [Ask(100, 4), Ask(100, 4, resume=True)],
            "to epoch 4, but its run already reached epoch 4",
        ),
        ([Ask(100, 4, search_seconds=-1.0)], "search_seconds must be finite and >= 0"),
        ([Ask(15625, 4)], "asked for raw cell 15625"),
    ],
)
def test_bad_asks_are_refused(bench, asks, match):
    with pytest.raises(ValueError, match=match):
        run_search(Scripted(bench.space, asks), bench, "100evals", seed=0)


def test_continuing_a_cell_still_in_flight_is_refused(bench):
    asks = [Ask(100, 4), Ask(100, 8, resume=True)]
    with pytest.raises(ValueError, match="continue raw cell 100 while its training is still"):
        run_search(Scripted(bench.space, asks), bench, "100evals", seed=0, workers=2)


def test_a_fidelity_ask_needs_a_backend_that_answers_epochs(bench):
    class FullOnly:
        space, best_test_acc = bench.space, bench.best_test_acc
        evaluate, evaluate_many = bench.evaluate, bench.evaluate_many
        mean_test_acc = bench.mean_test_acc

    with pytest.raises(ValueError, match="answers only full trainings"):
        run_search(Scripted(bench.space, [Ask(1, 3)]), FullOnly(), "10evals", seed=0)
    with pytest.raises(ValueError, match="counts epochs, but"):
        run_search("random_search", FullOnly(), "100epochs", seed=0)
    assert len(run_search(Scripted(bench.space, [1, Ask(2)]), FullOnly(), "10evals", 0)) == 2


def test_search_seconds_occupy_the_worker_before_the_evaluation(bench):
    asks = [Ask(7, search_seconds=100.0), Ask(8)]
    recording = Recording(bench)
    t = run_search(Scripted(bench.space, asks), recording, "10evals", seed=0)
    costs = [e.cost_seconds for _, e in recording.answers]
    np.testing.assert_allclose(t.sim_seconds, [100.0 + costs[0], 100.0 + costs[0] + costs[1]])


def test_epoch_budgets_parse_and_print():
    assert Budget.parse("2000epochs") == Budget(epochs=2000)
    assert Budget.parse(" 30 epoch ") == Budget(epochs=30)
    assert str(Budget(seconds=5, epochs=3)) == "5 and 3epochs"
    with pytest.raises(ValueError, match="budget epochs must be an int in 1..1,000,000,000"):
        Budget(epochs=0)


def test_incumbent_rule_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(1, 30))
        epoch = rng.choice([1, 3, 8], size=n)
        valid = rng.random(n)
        valid[rng.random(n) < 0.1] = np.nan
        which = incumbent_index(valid, epoch)
        for i in range(n):
            finite = [k for k in range(i + 1) if not math.isnan(valid[k])]
            top = max((epoch[k] for k in finite), default=None)  # a NaN sets no fidelity
            rows = [k for k in finite if epoch[k] == top]
            expected = max(rows, key=lambda k: (valid[k], -k)) if rows else -1
            assert which[i] == expected
    # A diverged evaluation at a new fidelity does not unseat the incumbent.
    assert incumbent_index(np.array([0.8, np.nan, 0.7]), np.array([2, 4, 4])).tolist() == [0, 0, 2]


# -- Hyperband and BOHB ------------------------------------------------------------------------


@pytest.mark.parametrize("name", FIDELITY)
@pytest.mark.parametrize("workers", [1, 2, 4])
@pytest.mark.parametrize("budget", ["400epochs", "3000", "60evals"])
def test_budget_discipline_and_reproducibility(name, workers, budget, bench):
    a = run_search(name, bench, budget, seed=3, workers=workers)
    parsed = Budget.parse(budget)
    if parsed.epochs:
        assert 0 < a.epochs_trained[-1] <= parsed.epochs
        assert a.epochs_trained[-1] > parsed.epochs - EPOCHS * workers  # spent, not idle
    if parsed.seconds:
        assert a.sim_seconds.max() <= parsed.seconds and a.end_seconds == parsed.seconds
    if parsed.evals:
        assert len(a) == parsed.evals
    b = run_search(name, bench, budget, seed=3, workers=workers)
    for field in ("sim_seconds", "raw", "valid_acc", "epoch", "incumbent", "regret"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    c = run_search(name, bench, budget, seed=4, workers=workers)
    assert a.raw.tolist() != c.raw.tolist()


@pytest.mark.parametrize("name", FIDELITY)
@pytest.mark.parametrize("workers", [1, 3])
def test_hyperband_pays_only_for_epochs_and_promotes_by_validation(name, workers, bench, table):
    recording = Recording(bench)
    run_search(name, recording, "3000epochs", seed=1, workers=workers)
    strategy = get_strategy(name)(bench.space, max_epochs=EPOCHS)
    assert strategy.budgets == (3, 8)  # HpBandSter's grid for 1..8 epochs, eta 3
    seconds = table.metric("train_seconds")
    reached: dict[int, tuple[int, int]] = {}  # raw -> (run, epoch) of its latest answer
    promoted = fresh = 0
    for request, answer in recording.answers:
        full = seconds[table.raw_to_row[request.raw], answer.run]
        share = (request.epoch - request.start_epoch) / EPOCHS
        assert answer.cost_seconds == pytest.approx(full * share)
        if request.run is not None:  # a continuation: of the cell's latest run, from its epoch
            assert reached[request.raw] == (request.run, request.start_epoch)
            promoted += 1
        else:
            fresh += 1
        reached[request.raw] = (answer.run, answer.epoch)
    assert promoted > 0 and fresh > promoted


def test_successive_halving_keeps_the_best_by_validation_accuracy(bench):
    # Drive one bracket by hand: the promoted cell is the rung's best by validation accuracy.
    strategy = get_strategy("hyperband")(bench.space, max_epochs=9, min_epochs=1, eta=3)
    assert strategy.budgets == (1, 3, 9)
    rng = np.random.default_rng(0)
    state = strategy.init(rng)
    asked = []
    for _ in range(9):
        state, a = strategy.ask(state, rng)
        asked.append(a)
    assert all(a.epochs == 1 and not a.resume for a in asked)
    score = {a.raw: float(rng.random()) for a in asked}
    for a in asked:
        state = strategy.tell(state, a, Result.of(score[a.raw], 1.0))
    best = sorted(score, key=score.get, reverse=True)[:3]
    nxt = []
    for _ in range(3):
        state, a = strategy.ask(state, rng)
        nxt.append(a)
    assert [a.raw for a in nxt] == best and all(a.epochs == 3 and a.resume for a in nxt)
    state, opened = strategy.ask(state, rng)  # rung 2 waits for these: a new bracket opens
    assert opened.epochs == 3 and not opened.resume and opened.raw not in score


def test_bohb_model_proposes_cells_like_its_good_ones(space):
    # The good cells are one-edge edits of all-op-3; the bad ones are uniform. The model's
    # picks favour op 3, where uniform sampling gives it 20% of the edges.
    strategy = get_strategy("bohb")(space, random_fraction=0.0)
    rng = np.random.default_rng(0)
    good = np.full((40, 6), 3)
    good[np.arange(40), rng.integers(0, 6, 40)] = rng.integers(0, 5, 40)
    raws = np.concatenate([space.indices(good), space.sample(rng, 160)])
    score = np.concatenate([0.9 + 0.01 * rng.random(40), 0.5 * rng.random(160)])
    state = strategy.init(rng)._replace(
        results=tuple((int(r), 8, float(s)) for r, s in zip(raws, score, strict=True))
    )
    picks = space.cells([strategy.sample(state, rng) for _ in range(50)])
    assert (picks == 3).mean() > 0.6
    assert strategy.model(strategy.init(rng)) is None  # no results, no model
    few = state._replace(results=state.results[:8])  # min_points_in_model + 1 = 8: too few
    assert strategy.model(few) is None


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"max_epochs": 0}, "max_epochs must be an int >= 1"),
        ({"min_epochs": 9}, "min_epochs 9 exceeds max_epochs 8"),
        ({"eta": 1}, "eta must be a number >= 2"),
        ({"top_n_percent": 100}, "top_n_percent must be in"),
        ({"random_fraction": 2}, "random_fraction must be in"),
    ],
)
def test_bad_parameters(space, params, match):
    with pytest.raises(ValueError, match=match):
        get_strategy("bohb")(space, **params)


def test_an_instance_built_for_another_schedule_is_refused(bench):
    strategy = get_strategy("hyperband")(bench.space, max_epochs=4)
    with pytest.raises(ValueError, match="built for max_epochs=4, but the benchmark trains 8"):
        run_search(strategy, bench, "10evals", seed=0)
    assert len(run_search("hyperband", bench, "10evals", seed=0)) == 10  # built for it


def test_hyperband_never_sees_test_accuracy(bench):
    told = []

    class Spy(get_strategy("bohb")):
        def tell(self, state, raw, valid_acc, cost):
            told.append(valid_acc)
            return super().tell(state, raw, Result.of(valid_acc, cost))

    t = run_search(Spy(bench.space, max_epochs=EPOCHS), bench, "200epochs", seed=0)
    np.testing.assert_array_equal(told, t.valid_acc)
    assert not np.isin(told, t.test_acc).any()


# -- the surrogate and live backends at any epoch -----------------------------------------------


def test_surrogate_answers_at_epochs_and_continues_its_noise_draw():
    from nasbench_lite.backends.surrogate import SurrogateBenchmark
    from nasbench_lite.surrogate.model import Surrogate, SurrogateConfig

    table = synthetic.synthetic_table(rows=300, seeds=3, epochs=4, rng=2)
    config = SurrogateConfig(members=2, folds=2, grid=({"max_depth": 3, "learning_rate": 0.3},))
    model = Surrogate.fit(table, train_fraction=0.5, seed=0, config=config)
    bench = SurrogateBenchmark(model)
    raws = list(range(0, 15625, 211))
    # A new full-schedule request draws like `evaluate`.
    plain = bench.evaluate_many(raws, np.random.default_rng(1))
    full = bench.evaluate_requests([Request(r, 4) for r in raws], np.random.default_rng(1))
    assert plain == full
    # At epoch 2, continued to 4: the run keeps its standard normal draws.
    rng = np.random.default_rng(2)
    low = bench.evaluate_requests([Request(r, 2) for r in raws], rng)
    high = bench.evaluate_requests([Request(r, 4, e.run, 2) for r, e in zip(raws, low,
                                    strict=True)], rng)  # fmt: skip
    mean2, std2 = model.predict(np.array(raws), epoch=2, spread="seed")  # one seed's scatter
    z = np.array([e.run[0] for e in low])
    np.testing.assert_allclose([e.valid_acc for e in low], np.clip(mean2 + std2 * z, 0, 1))
    mean4, std4 = model.predict(np.array(raws), epoch=4, spread="seed")
    np.testing.assert_allclose([e.valid_acc for e in high], np.clip(mean4 + std4 * z, 0, 1))
    seconds = np.array([e.cost_seconds for e in plain])
    np.testing.assert_allclose([e.cost_seconds for e in low], seconds / 2)
    np.testing.assert_allclose([e.cost_seconds for e in high], seconds / 2)
    t = run_search("hyperband", bench, "300epochs", seed=0, workers=2)
    assert 0 < t.epochs_trained[-1] <= 300 and set(t.epoch.tolist()) == {1, 4}
    # Noise-free, a run can be continued too, paying only the epochs it adds.
    exact = SurrogateBenchmark(model, noise=False)
    asks = [Ask(raws[3], 2), Ask(raws[3], 4, resume=True)]
    t = run_search(Scripted(exact.space, asks), exact, "10evals", seed=0)
    assert t.epochs_trained.tolist() == [2, 4]
    np.testing.assert_allclose(np.diff(t.sim_seconds, prepend=0.0), [seconds[3] / 2] * 2)


@pytest.mark.slow
def test_live_training_stops_early_on_the_full_schedule_and_continues():
    from nasbench_lite.backends.live import LiveBenchmark
    from nasbench_lite.datasets import load_dataset
    from nasbench_lite.train.config import get_preset
    from nasbench_lite.train.trainer import train_cells

    data = load_dataset("mnist1d").take(256, 128, 128)
    config = get_preset("tiny")  # 2 epochs
    cells = np.array([[1, 2, 3, 4, 0, 3], [3, 3, 3, 3, 3, 3]])
    whole = train_cells(config, cells, [0, 1], data)
    first = train_cells(config, cells, [0, 1], data, stop_epoch=1)
    for name, curve in first.metrics.items():  # the first epoch of the 2-epoch schedule
        np.testing.assert_allclose(curve, whole.metrics[name][:, :1], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"stop_epoch must be an int in 1\.\.2, got 3"):
        train_cells(config, cells, [0, 1], data, stop_epoch=3)
    bench = LiveBenchmark(config, data)
    rng = np.random.default_rng(0)
    raw = bench.space.index(cells[0])
    (low,) = bench.evaluate_requests([Request(raw, 1)], rng)
    (high,) = bench.evaluate_requests([Request(raw, 2, low.run, 1)], rng)
    (again,) = bench.evaluate_requests([Request(raw, 2, low.run)], rng)
    assert (low.epoch, high.epoch, high.run) == (1, 2, low.run)
    assert high.valid_acc == pytest.approx(again.valid_acc, abs=1e-6)  # the same run, continued
    assert high.cost_seconds < again.cost_seconds  # pays half of its measured time


def test_charged_overhead_does_not_count_search_seconds_twice(bench):
    import time

    class Slow(Scripted):
        def ask(self, state, rng):
            time.sleep(0.2)  # stands for a supernet epoch, reported as search_seconds
            return super().ask(state, rng)

    asks = [Ask(7, search_seconds=0.2)]
    recording = Recording(bench)
    t = run_search(Slow(bench.space, asks), recording, "10evals", seed=0, charge_overhead=True)
    cost = recording.answers[0][1].cost_seconds
    # Charged: 0.2 s of search plus the evaluation, plus only a little measured bookkeeping
    # (the 0.2 s sleep is not charged again).
    assert 0.2 + cost <= t.sim_seconds[0] < 0.2 + cost + 0.15


@pytest.mark.parametrize("name", ["hyperband", "bohb"])
@pytest.mark.parametrize("workers", [1, 4])
def test_a_space_smaller_than_a_bracket_ends_the_run_instead_of_hanging(name, workers):
    """A bracket never trains one cell twice; where the space (a partial table's classes)
    has no cell left for its first rung, it waits, and with nothing running the run ends,
    having trained every cell it could, once per bracket."""
    import signal

    def hang(signum, frame):
        raise TimeoutError(f"{name} did not finish")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(30)
    try:
        for rows in (1, 3):
            bench = TabularBenchmark(synthetic.synthetic_table(rows=rows, rng=1))
            run = run_search(name, bench, "20evals", 0, workers=workers)
            # One class: a bracket trains it once and has nothing else, so the run ends
            # after one evaluation; three classes fill the budget.
            assert len(run.raw) == (1 if rows == 1 else 20), (rows, len(run.raw))
            assert set(run.raw.tolist()) <= set(bench.space.allowed_raws.tolist())
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_bohb_good_and_bad_sets_are_disjoint_and_wait_for_enough_points():
    """HpBandSter's split: the good set is the best max(min_points, 15%), the bad set the
    next max(min_points, 85%), no cell in both; on NB-201 (6 edges) no model before 14."""
    from nasbench_lite.spaces import get_space
    from nasbench_lite.strategies.bohb import BOHB

    space = get_space("nb201")
    bohb = BOHB(space)
    rng = np.random.default_rng(0)
    raws = space.sample(rng, 60)
    for n in (9, 13, 14, 20, 60):
        results = tuple((int(r), 4, float(s)) for r, s in zip(raws[:n], rng.random(n), strict=True))
        model = bohb._fit(bohb.init(rng)._replace(results=results))
        if n < 14:
            assert model is None
            continue
        good, bad = model[0], model[1]
        # min_points = 7 (6 edges + 1): 7 + 7 of 14, 7 + 13 of 20, 9 (15%) + 51 of 60.
        assert (len(good), len(bad)) == {14: (7, 7), 20: (7, 13), 60: (9, 51)}[n]
        assert not {tuple(c) for c in good} & {tuple(c) for c in bad}
        order = np.argsort([-s for _, _, s in results], kind="stable")
        cells = np.asarray(space.cells(np.array([r for r, _, _ in results])))
        assert (good == cells[order[: len(good)]]).all()
        assert (bad == cells[order[len(good) : len(good) + len(bad)]]).all()
