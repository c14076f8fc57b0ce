"""Multi-objective search: objectives and constraints as named metrics, hypervolume against an
independent brute force in two dimensions, attained fronts over time, the comparison's report,
--report-only and --resume, and the multi-objective strategies under the runner."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

from nasbench_lite.cli import main
from nasbench_lite.compare import CompareConfig, compare, rebuild
from nasbench_lite.compare import journal as runs
from nasbench_lite.compare.objectives import resolve_objectives
from nasbench_lite.compare.pareto import ParetoReference, hypervolume, median_front, nondominated
from nasbench_lite.compare.run import ranking_lines
from nasbench_lite.errors import InputError
from nasbench_lite.search.objectives import (
    Objective,
    losses,
    parse_constraint,
    parse_objective,
    parse_objectives,
)
from nasbench_lite.search.protocol import Result
from nasbench_lite.search.registry import get_strategy
from nasbench_lite.search.runner import run_search
from nasbench_lite.strategies._nondominated import priority
from nasbench_lite.table.synthetic import synthetic_table

TWO = ("valid_acc:max", "params:min")
MULTI = ["mo_regularized_evolution", "nsga2", "motpe", "random_scalarization"]


def brute_force_hv(points: np.ndarray, ref: np.ndarray) -> float:
    """The area dominated by 2-D `points` (minimised) up to `ref`: the union of their boxes,
    summed over the grid every coordinate cuts the plane into (independent of any library)."""
    points = points[(points < ref).all(axis=1)]
    xs = np.unique(np.r_[points[:, 0], ref[0]])
    ys = np.unique(np.r_[points[:, 1], ref[1]])
    area = 0.0
    for x0, x1 in zip(xs[:-1], xs[1:], strict=True):
        for y0, y1 in zip(ys[:-1], ys[1:], strict=True):
            if ((points[:, 0] <= x0) & (points[:, 1] <= y0)).any():
                area += (x1 - x0) * (y1 - y0)
    return area


def brute_force_nondominated(points: np.ndarray) -> np.ndarray:
    keep = np.ones(len(points), bool)
    for i, p in enumerate(points):
        for j, q in enumerate(points):
            if (q <= p).all() and ((q < p).any() or j < i):
                keep[i] = False
    return keep


@pytest.fixture(scope="module")
def mo_table():
    return synthetic_table(rows=300, rng=3)


# -- objectives and constraints ----------------------------------------------------------------


def test_objectives_parse_and_orient():
    assert parse_objectives(TWO) == (Objective("valid_acc", "max"), Objective("params", "min"))
    assert parse_objective("flops") == Objective("flops", "max")
    result = Result.of(0.8, 1.0, params=100.0)
    assert losses(result, parse_objectives(TWO)) == (-0.8, 100.0)
    assert losses(Result.of(math.nan, 1.0, params=1.0), parse_objectives(TWO))[0] == math.inf
    rule = parse_constraint("params<=20000")
    assert str(rule) == "params<=20000"
    assert rule.holds(np.array([1.0, 20000.0, 20001.0, np.nan])).tolist() == [1, 1, 0, 0]


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (["valid_acc:up"], "not NAME:max or NAME:min"),
        (["test_acc:max"], "test metric"),
        (["params:min", "params:max"], "distinct"),
        ([], "at least one"),
    ],
)
def test_bad_objectives_are_named(texts, message):
    with pytest.raises(InputError, match=message):
        parse_objectives(texts)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("params=<3", "NAME<=BOUND"),
        ("params<=big", "not a finite number"),
        ("test_acc>=0.5", "test metric"),
    ],
)
def test_bad_constraints_are_named(text, message):
    with pytest.raises(InputError, match=message):
        parse_constraint(text)


@pytest.mark.parametrize("text", ["flops<=1234567", "params<=20000", "x>=2.5e-07", "y<0.001"])
def test_a_constraint_prints_every_digit_of_its_bound(text):
    assert str(parse_constraint(text)) == text  # plan.json and the command repeat it


def test_a_constraint_whose_feasible_classes_all_diverged_is_refused():
    params = synthetic_table(rows=300, rng=3).arrays["metrics/params"].astype(np.float64)
    bound = float(np.sort(params)[5])
    small = params <= bound  # the smallest classes: every seed of them diverged
    table = synthetic_table(rows=300, rng=3, diverged=np.repeat(small[:, None], 3, axis=1))
    with pytest.raises(InputError, match="all diverged.*no best feasible cell"):
        resolve_objectives(None, (f"params<={bound:.0f}",), table)


def test_objectives_must_be_metrics_of_the_table(mo_table):
    with pytest.raises(InputError, match="'latency_b1' is not in table.*nasbench-lite latency"):
        resolve_objectives(("valid_acc:max", "latency:min"), (), mo_table)
    with pytest.raises(InputError, match="meets params<=1"):
        resolve_objectives(None, ("params<=1",), mo_table)


def test_a_constraint_every_class_meets_is_warned_about(mo_table, caplog):
    largest = float(np.max(mo_table.values("params", mo_table.row_raw)))
    with caplog.at_level("WARNING", logger="nasbench_lite.compare.objectives"):
        resolve_objectives(None, (f"params<={largest:.0f}",), mo_table)
    assert "the constraint changes nothing" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="nasbench_lite.compare.objectives"):
        resolve_objectives(None, (f"params<={largest - 1:.0f}",), mo_table)
    assert not caplog.text
    with pytest.raises(InputError, match="give two or more objectives"):
        resolve_objectives(("params:min",), (), mo_table)
    assert resolve_objectives(None, (), mo_table) is None


# -- hypervolume and fronts --------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_hypervolume_matches_brute_force_in_two_dimensions(seed):
    rng = np.random.default_rng(seed)
    points = rng.random((int(rng.integers(1, 25)), 2))
    if seed % 2:  # ties and repeated coordinates
        points = np.round(points * 4) / 4
    ref = np.array([1.1, 1.05])
    assert hypervolume(points, ref) == pytest.approx(brute_force_hv(points, ref), abs=1e-12)
    keep = nondominated(points)
    assert keep.tolist() == brute_force_nondominated(points).tolist()
    assert hypervolume(points[keep], ref) == pytest.approx(hypervolume(points, ref))
    assert hypervolume(np.zeros((0, 2)), ref) == 0.0


def test_true_front_and_attained_fronts(mo_table):
    plan = resolve_objectives(TWO, (), mo_table)
    ref = plan.reference
    assert ref.measured == ("test_acc", "params")  # valid_acc measured on the test split
    raws = np.asarray(mo_table.row_raw)
    values = np.column_stack([mo_table.values(m, raws) for m in ref.measured])
    normal = ref.normalised(values)
    assert normal.min() == 0.0 and normal.max() == 1.0
    expected = brute_force_hv(normal, ref.reference_point)
    assert ref.true_hv == pytest.approx(expected, abs=1e-12)
    # Evaluating every class attains the true front; HV never falls at one fidelity.
    rng = np.random.default_rng(0)
    order = rng.permutation(len(values))
    trace = ref.hv_trace(values[order])
    assert np.all(np.diff(trace) >= 0) and trace[-1] == pytest.approx(ref.true_hv)
    # A higher fidelity starts the front over: a cell stopped early no longer counts.
    trace = ref.hv_trace(values[:3], level=np.array([1, 1, 2]))
    assert trace[2] == pytest.approx(ref.hv_trace(values[2:3])[0])
    # ... once it has a finite result: an infeasible or diverged cell (NaN) at a higher
    # fidelity leaves the front as it was, as it leaves the incumbent.
    mixed = values[:5].copy()
    mixed[3] = np.nan
    trace = ref.hv_trace(mixed, level=np.array([1, 1, 1, 3, 3]))
    assert trace[3] == trace[2] > 0
    assert trace[2] == pytest.approx(ref.hv_trace(values[:3])[-1])
    assert trace[4] == pytest.approx(ref.hv_trace(values[4:5])[0])
    # The median of identical fronts is that front.
    front = np.array(ref.front)
    assert np.allclose(median_front([front, front, front], ref), front)
    with pytest.raises(InputError, match="one value"):
        ParetoReference.of_values(ref.objectives, ref.measured, np.ones((3, 2)))


def test_run_fronts_keep_the_highest_epoch_with_a_finite_feasible_result(mo_table):
    import pandas as pd

    from nasbench_lite.compare.pareto_plots import run_fronts

    plan = resolve_objectives(TWO, (), mo_table)
    ref = plan.reference
    raws = np.asarray(mo_table.row_raw)[:4]
    values = np.column_stack([mo_table.values(m, raws) for m in ref.measured])
    frame = pd.DataFrame({"strategy": "s", "seed": 0, "epoch": [1, 1, 3, 3]})
    for j, metric in enumerate(ref.measured):
        frame[f"cell_{metric}"] = values[:, j]
    frame.loc[2, [f"cell_{m}" for m in ref.measured]] = np.nan  # diverged at epoch 3
    frame["feasible"] = [True, True, True, False]  # infeasible at epoch 3
    (front,) = run_fronts(frame, plan)["s"]
    expected = ref.normalised(values[:2])
    keep = [not (np.delete(expected, i, 0) <= p).all(axis=1).any() for i, p in enumerate(expected)]
    assert sorted(map(tuple, front)) == sorted(map(tuple, values[:2][keep]))
    frame.loc[3, "feasible"] = True  # a usable result at epoch 3: it alone stands
    (front,) = run_fronts(frame, plan)["s"]
    assert front.tolist() == [values[3].tolist()]


def test_nondominated_priority_puts_the_front_first():
    rng = np.random.default_rng(1)
    points = rng.random((40, 2))
    ranks = priority(points)
    front = brute_force_nondominated(points)
    assert sorted(ranks.tolist()) == list(range(40))
    assert ranks[front].max() < ranks[~front].min()
    assert ranks[np.argmin(np.where(front, points[:, 0], np.inf))] == 0
    points[5] = np.inf  # a diverged result ranks last
    assert priority(points)[5] == 39


# -- strategies --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MULTI)
def test_multi_objective_strategies_under_the_runner(name, mo_table):
    from nasbench_lite.backends.tabular import TabularBenchmark

    bench = TabularBenchmark(mo_table)
    objectives = parse_objectives(TWO)

    def raws(seed):
        trajectory = run_search(name, bench, "40evals", seed, objectives=objectives)
        return trajectory.raw.tolist()

    first = raws(0)
    assert len(first) == 40 and first == raws(0) and first != raws(1)
    strategy = get_strategy(name)(bench.space, objectives=objectives)
    assert strategy.objectives == objectives and get_strategy(name).multi_objective


def test_evolution_breeds_from_the_top_of_the_first_front(space):
    cls = get_strategy("mo_regularized_evolution")
    strategy = cls(space, parse_objectives(TWO), population_size=3, sample_size=50)
    rng = np.random.default_rng(0)
    state = strategy.init(rng)
    for acc, params in [(0.9, 500.0), (0.5, 100.0), (0.4, 600.0)]:  # the last is dominated
        state, raw = strategy.ask(state, rng)
        state = strategy.tell(state, raw, Result.of(acc, 1.0, params=params))
    # 50 entrants of 3 include the first member (priority 0: the front's best accuracy).
    for _ in range(20):
        state, child = strategy.ask(state, rng)
        assert int((space.cell(child) != space.cell(state.raws[0])).sum()) == 1


def test_evolution_breeds_from_the_front_not_from_accuracy_alone(space):
    """Tournaments of 2 among (0.9, 500), (0.5, 100), (0.6, 900) params: on both objectives
    the second member is on the first front and wins 3 of 9 draws (both entrants from
    {2nd, 3rd}, at least one the 2nd); on accuracy alone it would win only 1 of 9."""
    cls = get_strategy("mo_regularized_evolution")
    shares = {}
    for objectives in (TWO, ("valid_acc:max",)):
        strategy = cls(space, parse_objectives(objectives), population_size=3, sample_size=2)
        rng = np.random.default_rng(0)
        state = strategy.init(rng)
        for acc, params in [(0.9, 500.0), (0.5, 100.0), (0.6, 900.0)]:
            state, raw = strategy.ask(state, rng)
            state = strategy.tell(state, raw, Result.of(acc, 1.0, params=params))
        parent = space.cell(state.raws[1])
        children = [strategy.ask(state, rng)[1] for _ in range(900)]
        shares[objectives] = np.mean([(space.cell(c) != parent).sum() == 1 for c in children])
    assert shares[TWO] == pytest.approx(3 / 9, abs=0.06)
    assert shares[("valid_acc:max",)] == pytest.approx(1 / 9, abs=0.05)


def test_nsga2_searches_by_its_second_objective():
    """Past its random first generation (50), NSGA-II asks other cells when the second
    objective is turned round: it reads it. On a complete table: on one holding few classes
    most proposals are replaced by available edits, which NSGA-II does not count toward a
    generation (docs/adapters.md), so it stays in its random first one."""
    from nasbench_lite.backends.tabular import TabularBenchmark

    bench = TabularBenchmark(synthetic_table(epochs=2, rng=3))
    asked = [
        run_search("nsga2", bench, "120evals", 0, objectives=parse_objectives(pair)).raw.tolist()
        for pair in (TWO, ("valid_acc:max", "params:max"))
    ]
    assert asked[0][:50] == asked[1][:50]  # the random first generation: the same draws
    assert asked[0][50:] != asked[1][50:]


# -- the comparison ----------------------------------------------------------------------------


def test_compare_ranks_hypervolume_and_rebuilds(mo_table, tmp_path):
    out = tmp_path / "mo"
    config = CompareConfig(
        table=mo_table,
        strategies=("random_search", "nsga2", "mo_regularized_evolution"),
        seeds=3,
        budget="30evals",
        jobs=1,
        out=out,
        objectives=TWO,
    )
    result = compare(config)
    frame = result.results
    for column in ("raw", "cell_test_acc", "cell_params", "hv", "hv_regret"):
        assert column in frame.columns
    assert (frame["hv_regret"] >= -1e-12).all()
    true_hv = result.objectives.reference.true_hv
    assert np.allclose(frame["hv"] + frame["hv_regret"], true_hv)
    reference = result.objectives.reference
    for _, run in frame.groupby(["strategy", "seed"]):
        assert np.all(np.diff(run["hv"].to_numpy()) >= 0)
        # Each row's hypervolume, by brute force: the area the normalised measured values of
        # the run's evaluations so far dominate (every evaluation is a full training here).
        values = reference.normalised(run[["cell_test_acc", "cell_params"]].to_numpy())
        for i, hv in enumerate(run["hv"].to_numpy()):
            seen = values[: i + 1][np.isfinite(values[: i + 1]).all(axis=1)]
            assert hv == pytest.approx(brute_force_hv(seen, reference.reference_point), abs=1e-12)
    report = (out / "report.md").read_text()
    assert "reference point" in report and "Friedman" in report and "Holm" in report
    for name in ("hv_regret_vs_time", "median_fronts"):
        assert (out / f"{name}.png").is_file()
    lines = ranking_lines(result)
    assert lines[1] == "objectives: valid_acc:max params:min"
    rebuilt = rebuild(out)
    assert rebuilt.summary.equals(result.summary)
    assert ranking_lines(rebuilt) == lines


def test_resume_keeps_multi_objective_runs(mo_table, tmp_path):
    config = CompareConfig(
        table=mo_table,
        strategies=("random_search", "motpe"),
        seeds=2,
        budget="20evals",
        jobs=1,
        out=tmp_path / "a",
        objectives=TWO,
    )
    compare(config)
    resumed = tmp_path / "b"
    shutil.copytree(tmp_path / "a", resumed)
    (resumed / "results.csv").unlink()
    runs.run_path(resumed, "motpe", 1).unlink()
    compare(CompareConfig(**{**config.__dict__, "out": resumed, "resume": True}))
    assert (resumed / "results.csv").read_bytes() == (tmp_path / "a" / "results.csv").read_bytes()
    with pytest.raises(InputError, match="objectives differ"):
        compare(
            CompareConfig(
                **{
                    **config.__dict__,
                    "out": resumed,
                    "resume": True,
                    "objectives": ("valid_acc:max", "flops:min"),
                }
            )
        )


def test_constraint_regret_is_against_the_best_feasible_cell(mo_table, tmp_path):
    bound = float(np.percentile(mo_table.metric("params"), 20))
    config = CompareConfig(
        table=mo_table,
        strategies=("random_search",),
        seeds=2,
        budget="25evals",
        jobs=1,
        out=tmp_path / "c",
        constraints=(f"params<={bound}",),
    )
    result = compare(config)
    frame = result.results
    assert rebuild(tmp_path / "c").summary.equals(result.summary)
    assert "the best feasible cell" in (tmp_path / "c" / "report.md").read_text()
    plan = resolve_objectives(None, (f"params<={bound}",), mo_table)
    raws = np.asarray(mo_table.row_raw)
    feasible = mo_table.values("params", raws) <= bound
    assert plan.best_feasible == pytest.approx(
        np.nanmax(mo_table.values("test_acc", raws[feasible]))
    )
    assert plan.best_feasible < np.nanmax(mo_table.values("test_acc", raws))
    assert frame["feasible"].any() and not frame["feasible"].all()
    found = frame[frame["incumbent_raw"] >= 0]
    assert (mo_table.values("params", found["incumbent_raw"].to_numpy()) <= bound).all()
    assert np.allclose(found["regret"], plan.best_feasible - found["incumbent_test"])
    none_yet = frame[frame["incumbent_raw"] < 0]
    assert len(none_yet) and np.allclose(none_yet["regret"], plan.best_feasible)
    # The incumbent is the feasible cell of best validation accuracy so far, read off the
    # same run made directly (the same cells, the same seeds drawn) and the table's params.
    from nasbench_lite.backends.tabular import TabularBenchmark as Tabular

    for seed, run in frame.groupby("seed"):
        direct = run_search("random_search", Tabular(mo_table), "25evals", int(seed))
        np.testing.assert_array_equal(run["raw"].to_numpy(), direct.raw)
        ok = mo_table.values("params", direct.raw) <= bound
        expected = [int(direct.raw[:i + 1][ok[:i + 1]][np.argmax(direct.valid_acc[:i + 1][
            ok[:i + 1]])]) if ok[:i + 1].any() else -1 for i in range(len(ok))]  # fmt: skip
        np.testing.assert_array_equal(run["incumbent_raw"].to_numpy(), expected)
    # The best feasible cell itself has regret exactly 0 (both sides the same float64 mean),
    # and no feasible cell has a negative regret.
    from nasbench_lite.backends.tabular import TabularBenchmark

    means = TabularBenchmark(mo_table).mean_test_acc(raws[feasible])
    assert plan.best_feasible - np.nanmax(means) == 0.0
    assert (plan.best_feasible - means[np.isfinite(means)] >= 0).all()


def test_command_line_runs_the_multi_objective_strategies(tmp_path, capsys):
    path = tmp_path / "t.h5"
    synthetic_table(path, rows=300, rng=3)
    out = tmp_path / "out"
    code = main(
        [
            "compare",
            "--table",
            str(path),
            "--objectives",
            *TWO,
            "--seeds",
            "2",
            "--budget",
            "15evals",
            "--jobs",
            "1",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    for name in ["random_search", *MULTI]:
        assert name in printed
    assert "final HV regret" in printed and (out / "hv_regret_vs_time.svg").is_file()


def test_objectives_a_backend_cannot_serve_are_refused(mo_table):
    from nasbench_lite.backends.base import BenchmarkContext
    from nasbench_lite.compare.objectives import check_backend

    class Backend:
        def __init__(self, metrics):
            self.metrics = metrics

        def context(self):
            return BenchmarkContext(metrics=self.metrics)

    plan = resolve_objectives(TWO, (), mo_table)
    with pytest.raises(InputError, match=r"objectives \['params'\]: the live backend's"):
        check_backend(plan, Backend(("valid_acc", "test_acc", "train_seconds")), mo_table, "live")
    # Every objective carried, but the table is partial (300 of 5,044 classes): a backend
    # proposing any cell of the space is refused, the table's own lookups are not.
    served = Backend(("valid_acc", "test_acc", "train_seconds", "params", "flops"))
    with pytest.raises(InputError, match="with the surrogate backend need a complete table"):
        check_backend(plan, served, mo_table, "surrogate")
    check_backend(plan, served, mo_table, "tabular")
    check_backend(None, Backend(()), mo_table, "surrogate")  # no objectives: nothing to check
    complete = synthetic_table(epochs=2, rng=4)
    check_backend(resolve_objectives(TWO, (), complete), served, complete, "surrogate")


def test_an_evaluation_whose_run_diverged_never_moves_the_front():
    """A strategy told NaN (its run diverged) gets nothing on the front, though its class's
    seed mean is finite: at a new epoch it does not replace the front, so with 60% of the
    runs diverged the hypervolume never falls at such an evaluation (hyperband, 20 seeds)."""
    from nasbench_lite.backends.tabular import TabularBenchmark
    from nasbench_lite.compare.objectives import run_frame
    from nasbench_lite.table import synthetic

    diverged = np.random.default_rng(0).random((5044, 3)) < 0.6
    table = synthetic.synthetic_table(None, seeds=3, epochs=4, diverged=diverged, rng=0)
    bench = TabularBenchmark(table)
    plan = resolve_objectives(["valid_acc:max", "params:min"], [], table)
    told_nan = 0
    for seed in range(20):
        run = run_search("hyperband", bench, "80evals", seed, objectives=plan.objectives)
        hv = run_frame(run, run.to_frame(run.strategy, run.seed), table, plan, bench).hv
        hv = hv.to_numpy()
        nan = ~np.isfinite(run.valid_acc)
        told_nan += int(nan[1:].sum())
        assert (hv[1:][nan[1:]] == hv[:-1][nan[1:]]).all()  # left as it was
    assert told_nan > 100  # the check can fail: many such evaluations
