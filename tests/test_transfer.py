"""Transfer across tasks: the source tasks a strategy may read (validation results of the other
tasks, never a test metric, never the target's table), leave one task out in comparisons, and
the four transfer strategies checked against direct computations."""

from __future__ import annotations

import dataclasses
import gc
import json
import types

import h5py
import numpy as np
import pandas as pd
import pytest
from conftest import transfer_strategies

from nasbench_lite.backends.tabular import TabularBenchmark
from nasbench_lite.compare import CompareConfig, compare
from nasbench_lite.compare.config import _strategies
from nasbench_lite.compare.suite import compare_tasks
from nasbench_lite.errors import InputError
from nasbench_lite.search.protocol import Result
from nasbench_lite.search.registry import get_strategy
from nasbench_lite.search.runner import run_search
from nasbench_lite.search.sources import SourceTask, SourceTasks
from nasbench_lite.spaces import get_space
from nasbench_lite.table.reader import Table
from nasbench_lite.table.synthetic import synthetic_table
from nasbench_lite.train.config import TrainConfig

TRANSFER = transfer_strategies()
COUNTERPARTS = {"zero_shot_transfer": "random_search", "bounding_box": "random_search",
                "regularized_evolution_transfer": "regularized_evolution",
                "reptile_reinforce": "reinforce"}  # fmt: skip
# Fast settings where the defaults would make a test slow (Reptile's 10,000 source lookups).
FAST = {"reptile_reinforce": {"meta_iterations": 10, "inner_steps": 20}}


def table_file(path, rng: int, name: str, done=None) -> Table:
    """A synthetic table file of task `name` (its dataset and preset), valid accuracies in
    [0.05, 0.45], test accuracies = valid + 0.5: a test value never passes for a valid one."""
    table = synthetic_table(None, epochs=3, rng=rng, done=done, attrs={"dataset": name})
    valid = 0.05 + 0.4 * table.metric("valid_acc")
    arrays = {**table.arrays, "metrics/valid_acc": valid, "metrics/test_acc": valid + 0.5}
    attrs = {**table.attrs, "preset": f"p{rng}"}
    out = Table(arrays, attrs)
    if path is not None:
        out.write(path)
        return Table.open(path)
    return out


@pytest.fixture(scope="module")
def tasks(tmp_path_factory):
    """Three task files: target (complete), alpha (complete), beta (a third of its classes)."""
    folder = tmp_path_factory.mktemp("transfer")
    space = get_space("nb201")
    done = np.zeros(space.num_unique, dtype=bool)
    done[np.random.default_rng(5).permutation(space.num_unique)[: space.num_unique // 3]] = True
    paths = {name: folder / f"{name}.h5" for name in ("target", "alpha", "beta")}
    opened = {
        "target": table_file(paths["target"], 1, "target"),
        "alpha": table_file(paths["alpha"], 2, "alpha"),
        "beta": table_file(paths["beta"], 3, "beta", done=done),
    }
    return paths, opened


@pytest.fixture(scope="module")
def sources(tasks):
    paths, opened = tasks
    return SourceTasks.build(
        [("alpha", paths["alpha"]), ("beta", paths["beta"])], opened["target"], paths["target"]
    )


# -- source tasks -----------------------------------------------------------------------------


def test_a_source_task_holds_the_validation_results_only(tasks, sources):
    _, opened = tasks
    everything = np.arange(15_625)
    for task, table in zip(sources, (opened["alpha"], opened["beta"]), strict=True):
        assert set(vars(task)) == {"name", "space", "curves", "raw_to_row", "identity"}
        assert not any(np.shares_memory(task.curves, a) for a in table.arrays.values())
        assert np.nanmax(task.curves) < 0.5  # test accuracies are all >= 0.55
        done = table.done[np.maximum(table.raw_to_row, 0)] & (table.raw_to_row >= 0)
        assert np.array_equal(task.known, done)
        for epoch in (1, 3, None):
            for seed in (0, 2, None):
                got = task.valid_acc(everything, epoch, seed)
                assert np.isnan(got[~done]).all()
                want = table.values("valid_acc", everything[done], epoch, seed)
                np.testing.assert_allclose(got[done], want, rtol=1e-6)
    with pytest.raises(InputError, match="epoch"):
        sources[0].valid_acc([0], epoch=4)


def test_the_target_is_refused_as_its_own_source(tasks, tmp_path):
    paths, opened = tasks
    with pytest.raises(InputError, match="target's own table"):
        SourceTasks.build([("t", paths["target"])], opened["target"], paths["target"])
    copy = tmp_path / "copy.h5"
    opened["target"].write(copy)  # another file of the same task
    with pytest.raises(InputError, match="target's task"):
        SourceTasks.build([("t", copy)], opened["target"], paths["target"])
    config = CompareConfig(table=str(paths["target"]), strategies=("bounding_box",), seeds=1,
                           budget="3evals", out=None, sources=(str(copy),))  # fmt: skip
    with pytest.raises(InputError, match="target's task"):
        compare(config)


def test_a_later_file_of_the_target_task_is_refused_too(tasks, tmp_path, caplog):
    """The same task regenerated by a version that records more trainer fields (a default
    filled in, how often the test split is evaluated, the evaluation batch size) is the same
    task: refused as a source."""
    import json

    paths, opened = tasks
    config = opened["target"].attrs["config"]
    full = TrainConfig.from_dict(
        json.loads(config) if isinstance(config, str) else config
    ).to_dict()
    for changed in (full, {**full, "test_every_epoch": False, "eval_batch_size": 256}):
        later = Table(opened["target"].arrays, {**opened["target"].attrs,
                                                "config": json.dumps(changed)})  # fmt: skip
        with pytest.raises(InputError, match="target's task"):
            SourceTasks.build([("later", later)], opened["target"], paths["target"])
    recipe = json.dumps({**full, "learning_rate": full["learning_rate"] / 2})
    other = Table(opened["target"].arrays, {**opened["target"].attrs, "config": recipe})
    with caplog.at_level("WARNING"):
        assert SourceTasks.build([("other", other)], opened["target"], paths["target"])
    assert "'other' is the target's dataset under another trainer recipe" in caplog.text
    caplog.clear()
    SourceTasks.build([("alpha", opened["alpha"])], opened["target"], paths["target"])  # a task
    assert not caplog.text


def test_a_source_of_no_common_class_or_a_task_given_twice_is_refused(tasks):
    """A source holding none of the target's trained classes would teach nothing (some
    strategies would silently run as if it were absent); one task given under two labels
    would count twice."""
    paths, opened = tasks
    space = get_space("nb201")
    half = np.zeros(space.num_unique, dtype=bool)
    half[: space.num_unique // 2] = True
    target = table_file(None, 1, "target", done=half)
    disjoint = table_file(None, 2, "alpha", done=~half)
    with pytest.raises(InputError, match="'alpha' .* holds none of the target's trained classes"):
        SourceTasks.build([("alpha", disjoint)], target)
    with pytest.raises(InputError, match="source tasks 'alpha' and 'alpha2' are one task"):
        SourceTasks.build([("alpha", paths["alpha"]), ("alpha2", opened["alpha"])],
                          opened["target"], paths["target"])  # fmt: skip


def test_a_table_that_did_not_record_split_sizes_is_the_same_task():
    """An older table of a file-based dataset records splits None: still the same task as a
    newer one of that dataset and recipe, which records them."""
    from nasbench_lite.search.sources import same_task

    data = {"name": "cifar10", "generator": {}, "splits": {"train": 45000}, "files": ["x"]}
    older = {**data, "splits": None}
    assert same_task((data, {"epochs": 8}), (older, {"epochs": 8}))
    assert not same_task((data, {"epochs": 8}), (older, {"epochs": 4}))
    assert not same_task((data, {"epochs": 8}), ({**older, "name": "mnist"}, {"epochs": 8}))


def test_rankings_and_best_cells_match_a_direct_sort(sources):
    space = get_space("nb201")
    reps = np.asarray(space.representatives)
    for task in sources:
        means = task.valid_acc(reps)
        known = reps[~np.isnan(means)]
        want = sorted(known.tolist(), key=lambda r: (-task.valid_acc([r])[0], r))
        assert task.ranking(reps).tolist() == want  # no seed diverged: the plain seed mean
    best = sources.best_cells(reps, 7)
    a, b = sources[0].ranking(reps).tolist(), sources[1].ranking(reps).tolist()
    expected = []
    for pair in zip(a, b, strict=False):
        expected += [c for c in pair if c not in expected]
    assert best == expected[:7]


# -- isolation: no target table, no test accuracy ---------------------------------------------


def asked_cells(name, benchmark, sources, seed=0, evals=40, workers=1):
    trajectory = run_search(name, benchmark, f"{evals}evals", seed, workers,
                            params=FAST.get(name), sources=sources)  # fmt: skip
    return trajectory


def scrambled(table: Table, rng: int) -> Table:
    """`table` with every test metric replaced by noise."""
    gen = np.random.default_rng(rng)
    arrays = dict(table.arrays)
    for name in ("metrics/test_acc", "metrics/test_loss"):
        noise = gen.uniform(0.5, 1.0, arrays[name].shape)
        arrays[name] = np.where(np.isnan(arrays[name]), np.nan, noise).astype(arrays[name].dtype)
    return Table(arrays, table.attrs)


@pytest.mark.parametrize("name", TRANSFER)
def test_no_test_accuracy_of_any_task_reaches_a_transfer_strategy(name, tasks, sources):
    _, opened = tasks
    target = opened["target"]
    plain = asked_cells(name, TabularBenchmark(target), sources, seed=3)
    other_sources = SourceTasks.build(
        [("alpha", scrambled(opened["alpha"], 1)), ("beta", scrambled(opened["beta"], 2))], target
    )
    other_target = TabularBenchmark(scrambled(target, 3))
    again = asked_cells(name, other_target, other_sources, seed=3)
    # Everything a strategy decides shows in the cells it asked and when: identical.
    assert np.array_equal(plain.raw, again.raw)
    for column in ("incumbent_raw", "evals", "sim_seconds", "incumbent_valid"):
        assert np.array_equal(plain.to_frame(name, 3)[column], again.to_frame(name, 3)[column])
    assert not np.array_equal(plain.to_frame(name, 3)["incumbent_test"],
                              again.to_frame(name, 3)["incumbent_test"])  # fmt: skip


def reachable(root, skip_types=()):
    """Every object reachable from `root` through references (modules, classes, functions
    and objects of `skip_types` are not entered)."""
    seen, stack, out = set(), [root], []
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        out.append(obj)
        if isinstance(obj, (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)):
            continue
        if isinstance(obj, skip_types):
            continue
        stack.extend(gc.get_referents(obj))
    return out


@pytest.mark.parametrize("name", TRANSFER)
def test_a_transfer_strategy_holds_no_table_and_reads_no_file(name, tasks, sources, monkeypatch):
    _, opened = tasks
    target = opened["target"]
    benchmark = TabularBenchmark(target)
    space = benchmark.space
    strategy = get_strategy(name)(space, sources=sources, **FAST.get(name, {}))

    def refuse(*args, **kwargs):
        raise AssertionError(f"{name} read a file during its search: {args}")

    monkeypatch.setattr(h5py, "File", refuse)
    rng = np.random.default_rng(0)
    state = strategy.init(rng)
    for _ in range(60):
        state, raw = strategy.ask(state, rng)
        raw = getattr(raw, "raw", raw)
        value = benchmark.evaluate(raw, rng)
        state = strategy.tell(state, raw, Result.of(value.valid_acc, value.cost_seconds))
    forbidden = [a for t in opened.values() for a in t.arrays.values()]
    forbidden += [t._mean[m] for t in opened.values() for m in t._mean]
    for obj in reachable((strategy, state), skip_types=(type(space),)):
        assert not isinstance(obj, (Table, TabularBenchmark)), f"{name} holds {obj!r}"
        if isinstance(obj, np.ndarray) and obj.size:
            assert not any(np.shares_memory(obj, a) for a in forbidden), f"{name}: table array"


# -- in comparisons ---------------------------------------------------------------------------


def test_a_transfer_strategy_needs_sources_and_a_default_comparison_skips_it(tasks):
    paths, _ = tasks
    config = CompareConfig(table=str(paths["target"]), strategies=("zero_shot_transfer",),
                           seeds=1, budget="3evals", out=None)  # fmt: skip
    with pytest.raises(InputError, match="--sources"):
        compare(config)
    names, skipped = _strategies(None)
    assert not set(TRANSFER) & set(names + list(skipped))
    names, _ = _strategies(None, sources=True)
    assert set(TRANSFER) <= set(names)


def test_compare_tasks_leaves_one_task_out(tasks, tmp_path):
    paths, _ = tasks
    config = CompareConfig(strategies=("random_search", "zero_shot_transfer", "bounding_box"),
                           seeds=2, budget="6evals", jobs=1, out=tmp_path / "suite")  # fmt: skip
    result = compare_tasks(config, [str(p) for p in paths.values()])
    labels = result.tasks
    assert len(labels) == 3
    for label in labels:
        frame = pd.read_csv(tmp_path / "suite" / label / "results.csv", keep_default_na=False)
        others = ";".join(other for other in labels if other != label)
        used = frame[frame["strategy"] != "random_search"]["sources"]
        assert set(used) == {others}
        assert set(frame[frame["strategy"] == "random_search"]["sources"]) == {""}
        report = (tmp_path / "suite" / label / "report.md").read_text()
        row = next(line for line in report.splitlines() if line.startswith("| source tasks"))
        assert label not in row.split(":")[0] and all(o in row for o in others.split(";"))


# -- the strategies ---------------------------------------------------------------------------


def pandas_portfolio(scores: np.ndarray) -> list[int]:
    """Syne Tune's ZeroShotTransfer rule, written with pandas as it is: rank per task, pick
    the lowest mean rank, clip every task's ranks at the pick's, re-rank when all tie."""
    frame = pd.DataFrame(scores)
    ranks = frame.rank(axis=1)
    out = []
    while ranks.shape[1]:
        best = ranks.mean(axis=0).idxmin()
        ranks = ranks.clip(upper=ranks[best], axis=0)
        out.append(int(best))
        frame, ranks = frame.drop(columns=best), ranks.drop(columns=best)
        if ranks.shape[1] and ranks.std(axis=1).sum() == 0:
            ranks = frame.rank(axis=1)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_greedy_portfolio_is_syne_tunes_rule(seed):
    from nasbench_lite.strategies.zero_shot_transfer import greedy_portfolio

    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, size=(1 + seed % 3, 30)).astype(float)  # many ties
    assert greedy_portfolio(scores, 30) == pandas_portfolio(scores)
    assert greedy_portfolio(scores, 7) == pandas_portfolio(scores)[:7]


def test_zero_shot_asks_its_portfolio_then_goes_on(sources):
    space = get_space("nb201")
    strategy = get_strategy("zero_shot_transfer")(space, sources=sources, portfolio_size=25)
    reps = np.asarray(space.representatives)
    both = reps[sources[0].known[reps] & sources[1].known[reps]]
    assert set(strategy.portfolio) <= set(both.tolist()) and len(strategy.portfolio) == 25
    accs = np.stack([t.valid_acc(both) for t in sources])
    mean_rank = pd.DataFrame(-accs).rank(axis=1).mean(axis=0).to_numpy()
    assert strategy.portfolio[0] == int(both[np.argmin(mean_rank)])
    rng = np.random.default_rng(0)
    state, asked = strategy.init(rng), []
    for _ in range(40):
        state, raw = strategy.ask(state, rng)
        asked.append(raw)
        state = strategy.tell(state, raw, Result.of(0.5, 1.0))
    assert tuple(asked[:25]) == strategy.portfolio
    assert all(0 <= raw < space.num_cells for raw in asked[25:])


@pytest.mark.parametrize("top", [1, 3])
def test_bounding_box_is_every_cell_using_the_best_cells_ops(sources, top):
    space = get_space("nb201")
    strategy = get_strategy("bounding_box")(space, top=top, sources=sources)
    reps = np.asarray(space.representatives)
    best = [r for t in sources for r in t.ranking(reps)[:top].tolist()]
    cells = space.cells(np.arange(space.num_cells))
    ops = [set(space.cells(np.asarray(best))[:, e].tolist()) for e in range(space.num_edges)]
    inside = [r for r in range(space.num_cells) if all(cells[r, e] in ops[e] for e in range(6))]
    classes = {int(space.canonical_ids[r]) for r in inside}
    assert {int(space.canonical_ids[r]) for r in strategy.box} == classes
    assert len(strategy.box) == len(classes) and set(strategy.box) <= set(inside)
    rng = np.random.default_rng(1)
    state, asked = strategy.init(rng), []
    for _ in range(len(strategy.box) + 30):
        state, raw = strategy.ask(state, rng)
        asked.append(raw)
    assert sorted(asked[: len(strategy.box)]) == sorted(strategy.box)  # each class once
    evolution = get_strategy("bounding_box")(space, top=top, inner="regularized_evolution",
                                             sources=sources)  # fmt: skip
    # The evolution's space is every raw cell of the box, isomorphic ones included (one
    # cell per class would leave mutations only the classes' representatives).
    assert sorted(evolution.evolution.space.allowed_raws.tolist()) == inside
    state = evolution.init(rng)
    for step in range(150):
        state, raw = evolution.ask(state, rng)
        assert raw in set(inside)
        state = evolution.tell(state, raw, Result.of(0.01 * (step % 50), 1.0))


def test_bounding_box_evolution_searches_every_raw_cell_of_the_box(tasks, tmp_path):
    """Sources whose best cells are all-`none` and all-3x3-conv: the box is {none, 3x3 conv}
    on every edge, 64 raw cells in 14 classes; the evolution mutates among all 64."""
    paths, opened = tasks
    space = get_space("nb201")
    made = []
    for name, op in (("none_best", "none"), ("conv_best", "nor_conv_3x3")):
        raw = space.index(space.parse(f"|{op}~0|+|{op}~0|{op}~1|+|{op}~0|{op}~1|{op}~2|"))
        table = table_file(None, 7, name)
        valid = np.array(table.metric("valid_acc"))
        valid[table.raw_to_row[raw]] = 0.49  # the best, still below every test value
        path = tmp_path / f"{name}.h5"
        Table({**table.arrays, "metrics/valid_acc": valid}, table.attrs).write(path)
        made.append((name, path))
    sources = SourceTasks.build(made, opened["target"], paths["target"])
    strategy = get_strategy("bounding_box")(space, inner="regularized_evolution", sources=sources)
    cells = space.cells(np.arange(space.num_cells))
    allowed = [space.ops.index("none"), space.ops.index("nor_conv_3x3")]
    inside = np.flatnonzero(np.isin(cells, allowed).all(axis=1))
    assert len(inside) == 64 and len(strategy.box) == len(set(space.canonical_ids[inside]))
    assert sorted(strategy.evolution.space.allowed_raws.tolist()) == inside.tolist()


def test_transfer_evolution_starts_from_the_sources_best(sources):
    space = get_space("nb201")
    strategy = get_strategy("regularized_evolution_transfer")(space, sources=sources)
    warm = sources.best_cells(np.asarray(space.representatives), 50)
    rng = np.random.default_rng(2)
    state, asked = strategy.init(rng), []
    for step in range(80):
        state, raw = strategy.ask(state, rng)
        asked.append(raw)
        state = strategy.tell(state, raw, Result.of(0.01 * (step % 41), 1.0))
    assert asked[:50] == warm
    assert all(0 <= raw < space.num_cells for raw in asked[50:])


def loop(strategy, objective, n, seed):
    rng = np.random.default_rng(seed)
    state, asked = strategy.init(rng), []
    for _ in range(n):
        state, raw = strategy.ask(state, rng)
        asked.append(raw)
        state = strategy.tell(state, raw, Result.of(objective(raw), 1.0))
    return asked, state


def test_reptile_without_meta_training_is_reinforce(sources):
    space = get_space("nb201")
    objective = lambda raw: (raw % 97) / 97  # noqa: E731
    reptile = get_strategy("reptile_reinforce")(space, meta_iterations=0, sources=sources)
    plain = get_strategy("reinforce")(space)
    assert loop(reptile, objective, 60, 4)[0] == loop(plain, objective, 60, 4)[0]


def test_reptile_meta_training_is_never_charged(tasks, sources):
    """Meta-training on the sources happens in init; with --charge-overhead the clock still
    starts after it (its wall seconds are the strategy's source_seconds)."""
    _, opened = tasks
    benchmark = TabularBenchmark(opened["target"])
    strategy = get_strategy("reptile_reinforce")(benchmark.space, meta_iterations=40,
                                                 inner_steps=50, sources=sources)  # fmt: skip
    free = run_search(strategy, benchmark, "3evals", 0)
    charged = run_search(strategy, benchmark, "3evals", 0, charge_overhead=True)
    meta = strategy.meta_training["wall_seconds"]
    assert meta > 0.05 and strategy.source_seconds == meta
    # The first result comes back after its training time, plus the first ask only.
    assert charged.sim_seconds[0] - free.sim_seconds[0] < 0.5 * meta
    # Recorded, not charged: each run's trajectory and its rows carry it.
    assert charged.source_seconds == meta
    assert (charged.to_frame("r", 0).source_seconds == meta).all()
    plain = run_search("reinforce", benchmark, "3evals", 0)
    assert plain.source_seconds == 0.0


def test_source_seconds_go_beside_strategy_seconds_not_into_results(tasks, sources, tmp_path):
    from nasbench_lite.compare.results import read_results, write_results

    _, opened = tasks
    benchmark = TabularBenchmark(opened["target"])
    runs = [run_search(name, benchmark, "3evals", 0, sources=sources).to_frame(name, 0)
            for name in ("reptile_reinforce", "reinforce")]  # fmt: skip
    write_results(pd.concat(runs, ignore_index=True), tmp_path)
    assert "source_seconds" not in (tmp_path / "results.csv").read_text()  # reproducible
    timings = pd.read_csv(tmp_path / "strategy_seconds.csv").set_index("strategy")
    assert timings.loc["reptile_reinforce", "source_seconds"] > 0
    assert timings.loc["reinforce", "source_seconds"] == 0
    back = read_results(tmp_path / "results.csv")
    last = back.groupby("strategy").tail(1).set_index("strategy")
    assert last.loc["reptile_reinforce", "source_seconds"] > 0


def test_reptile_meta_learns_what_every_source_rewards():
    space = get_space("nb201")
    cells = space.cells(np.arange(space.num_cells))
    # Both sources reward op 2 on edge 0 (accuracy 0.9, else 0.1): the meta-learned policy
    # must prefer it before seeing the target.
    tasks = []
    for k in range(2):
        acc = np.where(cells[:, 0] == 2, 0.9, 0.1).astype(np.float32)
        curves = np.repeat(acc[:, None, None], 2, axis=1)
        tasks.append(SourceTask(f"s{k}", "nb201", curves, np.arange(space.num_cells), ({}, k)))
    strategy = get_strategy("reptile_reinforce")(
        space, meta_iterations=20, inner_steps=40, learning_rate=0.05, sources=SourceTasks(tasks)
    )
    logits = strategy.meta_train(np.random.default_rng(0))
    probs = np.exp(logits[0]) / np.exp(logits[0]).sum()
    assert probs.argmax() == 2 and probs[2] > 0.5
    assert strategy.meta_training["lookups"] == 20 * 40
    untouched = np.exp(logits[1]) / np.exp(logits[1]).sum()
    assert untouched.max() < probs[2]  # no other edge learnt as much


@pytest.mark.parametrize("name", TRANSFER)
def test_on_a_partial_target_only_allowed_cells_and_reproducible(name, tasks, sources):
    _, opened = tasks
    space = get_space("nb201")
    done = np.zeros(space.num_unique, dtype=bool)
    done[np.random.default_rng(9).permutation(space.num_unique)[:400]] = True
    target = table_file(None, 4, "partial", done=done)
    benchmark = TabularBenchmark(target)
    first = asked_cells(name, benchmark, sources, seed=1, evals=80, workers=3)
    again = asked_cells(name, benchmark, sources, seed=1, evals=80, workers=3)
    measured = ["strategy_seconds", "source_seconds"]
    frame = first.to_frame(name, 1).drop(columns=measured)
    assert frame.equals(again.to_frame(name, 1).drop(columns=measured))
    assert len(frame) == 80
    assert benchmark.space.allowed[frame["incumbent_raw"].to_numpy()].all()
    assert COUNTERPARTS[name] == get_strategy(name).counterpart


def test_resume_refuses_a_source_that_grew_in_between(tasks, tmp_path):
    """A transfer comparison resumed after a source table grew would give its remaining
    runs other data: plan.json records what the sources held."""
    import shutil

    from nasbench_lite.compare.journal import LATER, PLAN_FILE

    paths, _ = tasks
    grown = tmp_path / "beta.h5"
    shutil.copy(paths["beta"], grown)
    out = tmp_path / "out"
    config = CompareConfig(table=str(paths["target"]), strategies=("bounding_box",), seeds=2,
                           budget="3evals", out=out, sources=(str(grown),), jobs=1)  # fmt: skip
    compare(config)
    plan = json.loads((out / PLAN_FILE).read_text())
    assert len(plan["sources_content"]) == 16
    compare(dataclasses.replace(config, resume=True))  # unchanged: resumes
    done = np.zeros(get_space("nb201").num_unique, dtype=bool)
    done[:2000] = True  # another set of classes trained
    table_file(grown, 3, "beta", done=done)
    with pytest.raises(InputError, match="sources_content differs"):
        compare(dataclasses.replace(config, resume=True))
    # A plan written before the digest was recorded still resumes.
    assert "sources_content" in LATER
    del plan["sources_content"]
    (out / PLAN_FILE).write_text(json.dumps(plan))
    compare(dataclasses.replace(config, resume=True))


def _task(name: str, values: dict[int, list[float]]) -> SourceTask:
    """A source task holding the classes of raw cells `values` (raw -> final accuracy per
    seed, NaN: diverged) over a 2-epoch curve."""
    space = get_space("nb201")
    raw_to_row = np.full(space.num_cells, -1, np.int64)
    curves = np.zeros((len(values), len(next(iter(values.values()))), 2), np.float32)
    for row, (raw, seeds) in enumerate(values.items()):
        raw_to_row[space.class_members(space.canonical(raw))] = row
        curves[row, :, -1] = seeds
    return SourceTask(name, "nb201", curves, raw_to_row, ({"name": name}, {}))


def test_a_class_whose_seeds_diverged_is_not_ranked_on_its_lucky_seed():
    space = get_space("nb201")
    lucky, steady = (int(space.representatives[k]) for k in (100, 200))
    task = _task("a", {lucky: [0.95, np.nan, np.nan], steady: [0.9, 0.9, 0.9]})
    assert task.ranking(np.array([lucky, steady])).tolist() == [steady, lucky]
    np.testing.assert_allclose(task.ranking_score(np.array([lucky, steady])), [0.95 / 3, 0.9])
    strategy = get_strategy("zero_shot_transfer")(space, sources=SourceTasks([task]))
    assert strategy.portfolio[0] == steady  # not the class that diverged on 2 of 3 seeds


def test_zero_shot_refuses_sources_with_no_class_in_common():
    space = get_space("nb201")
    a, b = (int(space.representatives[k]) for k in (100, 200))
    sources = SourceTasks([_task("a", {a: [0.9, 0.9]}), _task("b", {b: [0.8, 0.8]})])
    with pytest.raises(InputError, match="hold no class in common"):
        get_strategy("zero_shot_transfer")(space, sources=sources)
