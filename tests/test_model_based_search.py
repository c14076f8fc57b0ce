"""Model-based strategies (`bananas`, `gp_bo`): random start, batches from one fit, fresh
candidates near the best cells, the acquisition functions, waiting for data, and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasbench_lite.search.protocol import Result
from nasbench_lite.search.registry import get_strategy
from nasbench_lite.strategies import _model_based as mb
from nasbench_lite.strategies.gp_bo import expected_improvement

MODEL_BASED = ["bananas", "gp_bo"]


def hamming(space, a: int, b: int) -> int:
    return int((space.cell(a) != space.cell(b)).sum())


@pytest.mark.parametrize("name", MODEL_BASED)
def test_batches_come_from_one_fit_and_are_fresh(name, space, bench):
    means = bench.mean_test_acc(np.arange(space.num_cells)) - 0.5
    strategy = get_strategy(name)(space)
    rng = np.random.default_rng(0)
    state = strategy.init(rng)
    for _ in range(strategy.num_init):
        state, raw = strategy.ask(state, rng)
        state = strategy.tell(state, raw, Result.of(float(means[raw]), 1.0))
    assert state.num_random == strategy.num_init
    # Ask a whole batch without telling: one fit, then the queue empties one per ask.
    batch = []
    for left in range(strategy.batch_size - 1, -1, -1):
        state, raw = strategy.ask(state, rng)
        batch.append(raw)
        assert len(state.queue) == left
    classes = space.canonical_ids[batch]
    assert len(set(classes.tolist())) == len(batch)  # one cell per class
    told = set(space.canonical_ids[list(state.raws)].tolist())
    assert not told & set(classes.tolist())  # none isomorphic to a cell already asked
    assert set(classes.tolist()) <= state.asked
    if name == "bananas":  # every candidate is a one-edge mutant of one of the 10 best
        best = np.array(state.raws)[np.argsort(state.scores)[::-1][: strategy.parents]]
        assert all(min(hamming(space, raw, b) for b in best) == 1 for raw in batch)


@pytest.mark.parametrize("name", MODEL_BASED)
def test_random_cells_until_two_results_are_back(name, space):
    # Many workers: the initial cells are asked before any result, then asks stay random
    # (not counted as initial cells) until two finite results exist.
    strategy = get_strategy(name)(space, num_init=3)
    rng = np.random.default_rng(0)
    state = strategy.init(rng)
    asked = []
    for _ in range(6):
        state, raw = strategy.ask(state, rng)
        asked.append(raw)
    assert state.num_random == 3 and state.queue == ()
    state = strategy.tell(state, asked[0], Result.of(0.3, 1.0))
    state = strategy.tell(state, asked[1], Result.of(math.nan, 1.0))  # diverged: not training data
    state, _ = strategy.ask(state, rng)
    assert state.queue == ()
    state = strategy.tell(state, asked[2], Result.of(0.4, 1.0))
    state, _ = strategy.ask(state, rng)  # two finite results: a fit, a batch
    assert len(state.queue) == strategy.batch_size - 1


def test_candidates_exclude_asked_classes_and_repeats(space):
    state = mb.ModelState((5, 6), (0.2, 0.5), (), frozenset({int(space.canonical_ids[9])}), 2)
    twin = int(space.class_members(space.canonical_ids[9])[-1])  # same class as cell 9
    other = int(space.class_members(space.canonical_ids[100])[-1])
    fresh = mb.fresh(space, state, [9, twin, 100, other, 100, 200])
    assert sorted(space.canonical_ids[fresh].tolist()) == sorted(
        {int(space.canonical_ids[100]), int(space.canonical_ids[200])}
    )
    mutants = mb.mutants(space, state, np.random.default_rng(0), parents=1, per_parent=20)
    assert len(mutants) == 20 and all(hamming(space, m, 6) == 1 for m in mutants)


def test_a_fully_explored_space_falls_back_to_random_cells(space):
    # Two allowed cells, both asked: no fresh candidate, so asks go on with random cells.
    view = space.restrict(np.array([10, 20]))
    strategy = get_strategy("gp_bo")(view, num_init=2)
    rng = np.random.default_rng(0)
    state = strategy.init(rng)
    for _ in range(6):
        state, raw = strategy.ask(state, rng)
        assert raw in (10, 20)
        state = strategy.tell(state, raw, Result.of(0.1 * raw, 1.0))


def test_expected_improvement():
    rng = np.random.default_rng(0)
    mean, std, best = np.array([0.5, 0.3, 0.6]), np.array([0.1, 0.2, 0.05]), 0.55
    draws = rng.normal(mean, std, (400_000, 3))
    monte_carlo = np.maximum(draws - best, 0).mean(axis=0)
    np.testing.assert_allclose(expected_improvement(mean, std, best), monte_carlo, atol=1e-3)


@pytest.mark.parametrize(
    "name, params, message",
    [
        ("bananas", {"num_init": -1}, "num_init must be an int >= 0"),
        ("bananas", {"batch_size": 0}, "batch_size must be an int >= 1"),
        ("bananas", {"members": 1}, "members must be an int >= 2"),
        ("bananas", {"parents": 0}, "parents must be an int >= 1"),
        ("bananas", {"per_parent": 0}, "per_parent must be an int >= 1"),
        ("bananas", {"steps": 1.5}, "steps must be an int >= 1"),
        ("bananas", {"hidden": (8, -1)}, "hidden must be one or more layer widths"),
        ("gp_bo", {"num_init": True}, "num_init must be an int >= 0"),
        ("gp_bo", {"batch_size": 0}, "batch_size must be an int >= 1"),
        ("gp_bo", {"num_random": -5}, "num_random must be an int >= 0"),
        ("gp_bo", {"parents": 0}, "parents must be an int >= 1"),
        ("gp_bo", {"per_parent": -1}, "per_parent must be an int >= 0"),
    ],
)
def test_parameter_errors(name, params, message, space):
    with pytest.raises(ValueError, match=message):
        get_strategy(name)(space, **params)


@pytest.mark.parametrize("name", MODEL_BASED)
def test_the_batch_is_the_top_of_the_acquisition(name, space, bench):
    """Replaying the batch's draws (the same generator state): its cells are the candidates
    of highest expected improvement (gp_bo) or highest Thompson draw (bananas), in that
    order; a batch drawn at random among the candidates would not be."""
    import copy

    from nasbench_lite.strategies._predictors import DistanceGP, EnsemblePredictor
    from nasbench_lite.strategies.gp_bo import near_ties

    means = bench.mean_test_acc(np.arange(space.num_cells)) - 0.5
    strategy = get_strategy(name)(space)
    rng = np.random.default_rng(1)
    state = strategy.init(rng)
    for _ in range(strategy.num_init + 5):
        state, raw = strategy.ask(state, rng)
        state = strategy.tell(state, raw, Result.of(float(means[raw]), 1.0))
    state = state._replace(queue=())  # the next ask fits and proposes a batch
    replay = copy.deepcopy(rng)
    new, first = strategy.ask(state, rng)
    batch = (first, *new.queue)
    # The same computation by hand, from the replayed generator.
    pool = space.sample(replay, strategy.num_random).tolist() if name == "gp_bo" else []
    pool += mb.mutants(space, state, replay, strategy.parents, strategy.per_parent)
    candidates = mb.fresh(space, state, pool)
    raws, scores = mb.finite(state)
    if name == "gp_bo":
        model = DistanceGP().fit(space.path_encoding(raws), scores, replay)
        mean, std = model.predict(space.path_encoding(candidates))
        score = near_ties(expected_improvement(mean, std, scores.max()))
    else:
        model = EnsemblePredictor(strategy.members, strategy.hidden, strategy.steps)
        model.fit(space.path_encoding(raws), scores, replay)
        mean, std = model.predict(space.path_encoding(candidates))
        score = replay.normal(mean, std)
    chosen = [int(np.flatnonzero(candidates == raw)[0]) for raw in batch]
    assert len(batch) == strategy.batch_size < len(candidates)
    # Every chosen candidate scores at least as high as every one left out, best first.
    left = np.setdiff1d(np.arange(len(candidates)), chosen)
    assert score[chosen].min() >= score[left].max()
    assert np.all(np.diff(score[chosen]) <= 0)
