"""Policy-gradient strategies (`reinforce`, `ppo`) and their shared per-edge policy: log-prob
gradients against finite differences, sampling frequencies, the restriction to a partial
table's cells, the EMA baseline, PPO's clipping and in-flight bookkeeping, and errors."""

from __future__ import annotations

import numpy as np
import pytest

from nasbench_lite.search.protocol import Result
from nasbench_lite.search.registry import get_strategy
from nasbench_lite.strategies._policy import Baseline, EdgePolicy, adam_ascent, adam_init


@pytest.fixture(scope="module")
def restricted(space):
    """A view of the space allowing a random 5% of the cells."""
    allowed = np.random.default_rng(3).random(space.num_cells) < 0.05
    return space.restrict(allowed)


def random_logits(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 1, (6, 5))


@pytest.mark.parametrize("which", ["full", "restricted"])
def test_log_prob_gradients_match_finite_differences(which, space, restricted):
    view = space if which == "full" else restricted
    policy = EdgePolicy(view)
    logits = random_logits(0)
    cells = view.cells(view.sample(np.random.default_rng(1), 3))
    weights = np.array([0.7, -1.2, 0.4])
    grad = policy.grad_log_probs(logits, cells, weights)
    numeric = np.zeros_like(logits)
    for where in np.ndindex(logits.shape):
        step = np.zeros_like(logits)
        step[where] = 1e-6
        up = weights @ policy.log_probs(logits + step, cells)
        down = weights @ policy.log_probs(logits - step, cells)
        numeric[where] = (up - down) / 2e-6
    np.testing.assert_allclose(grad, numeric, atol=1e-6)


@pytest.mark.parametrize("which", ["full", "restricted"])
def test_sampling_follows_the_policy(which, space, restricted):
    view = space if which == "full" else restricted
    policy = EdgePolicy(view)
    logits = random_logits(2)
    rng = np.random.default_rng(0)
    raws = np.array([policy.sample(logits, rng) for _ in range(6000)])
    if which == "restricted":
        assert restricted.allowed[raws].all()
        # Probabilities sum to one over the allowed cells only.
        logp = policy.log_probs(logits, restricted.cells(restricted.allowed_raws))
        assert np.exp(logp).sum() == pytest.approx(1.0)
    else:
        logp = policy.log_probs(logits, space.cells(np.arange(space.num_cells)))
        assert np.exp(logp).sum() == pytest.approx(1.0)
    marginals = policy.marginals(logits)
    np.testing.assert_allclose(marginals.sum(axis=1), 1.0)
    cells = view.cells(raws)
    for edge in range(6):
        shares = np.bincount(cells[:, edge], minlength=5) / len(raws)
        np.testing.assert_allclose(shares, marginals[edge], atol=0.03)


def test_baseline_is_a_bias_corrected_moving_average():
    baseline = Baseline().update(0.4, 0.9)
    assert baseline.value == pytest.approx(0.4)  # corrected: not 0.1 * 0.4
    baseline = baseline.update(0.8, 0.9)
    assert baseline.value == pytest.approx((0.9 * 0.1 * 0.4 + 0.1 * 0.8) / (0.9 * 0.1 + 0.1))
    assert Baseline().value == 0.0


def test_adam_climbs_and_leaves_its_inputs_alone():
    params = np.array([0.0, 3.0])
    opt = adam_init(params)
    for _ in range(300):
        new, opt = adam_ascent(params, -2 * (params - np.array([1.0, -1.0])), opt, 0.05)
        assert not new.flags.writeable and new is not params
        params = new
    np.testing.assert_allclose(params, [1.0, -1.0], atol=0.05)
    assert opt.t == 300


@pytest.mark.parametrize("name", ["reinforce", "ppo"])
def test_the_policy_moves_towards_convolutions(name, space, bench):
    # The synthetic table rewards convolutions (3x3 most) and a `none` op least.
    means = bench.mean_test_acc(np.arange(space.num_cells)) - 0.5
    strategy = get_strategy(name)(space)
    rng = np.random.default_rng(0)
    state = strategy.init(rng)
    for _ in range(300):
        state, raw = strategy.ask(state, rng)
        state = strategy.tell(state, raw, Result.of(float(means[raw]), 1.0))
    probs = strategy.policy.marginals(state.logits)  # (edges, ops)
    conv3, none = space.ops.index("nor_conv_3x3"), space.ops.index("none")
    assert probs[:, conv3].mean() > 0.25 and (probs[:, conv3] > probs[:, none]).all()


def test_reinforce_step_follows_the_advantage(space):
    strategy = get_strategy("reinforce")(space)
    state = strategy.init(np.random.default_rng(0))
    raw = 1234
    cell = space.cell(raw)[None, :]
    before = strategy.policy.log_probs(state.logits, cell)[0]
    state = strategy.tell(state, 4321, Result.of(0.5, 1.0))  # the baseline is now 0.5
    good = strategy.tell(state, raw, Result.of(0.9, 1.0))
    bad = strategy.tell(state, raw, Result.of(float("nan"), 1.0))  # diverged: reward 0
    assert strategy.policy.log_probs(good.logits, cell)[0] > before
    assert strategy.policy.log_probs(bad.logits, cell)[0] < before
    assert good.adam.t == 2 and good.baseline.denominator > state.baseline.denominator


def test_ppo_updates_once_per_batch_and_tracks_cells_in_flight(space):
    strategy = get_strategy("ppo")(space, batch_size=4)
    rng = np.random.default_rng(0)
    state = strategy.init(rng)
    asked = []
    for _ in range(5):
        state, raw = strategy.ask(state, rng)
        asked.append(raw)
    assert [r for r, _ in state.in_flight] == asked
    logits = state.logits
    for i, raw in enumerate(asked[:3]):
        state = strategy.tell(state, raw, Result.of(0.1 * i, 1.0))
        assert state.logits is logits and len(state.buffer) == i + 1
    state = strategy.tell(state, asked[3], Result.of(0.9, 1.0))  # the fourth result: one update
    assert state.buffer == () and not np.array_equal(state.logits, logits)
    assert state.adam.t == strategy.epochs
    assert [r for r, _ in state.in_flight] == asked[4:]
    state = strategy.tell(state, 77, Result.of(0.5, 1.0))  # never asked: accepted all the same
    assert state.buffer[0][0] == 77 and len(state.in_flight) == 1


def test_ppo_clipped_samples_do_not_move_the_policy(space):
    strategy = get_strategy("ppo")(space)
    state = strategy.init(np.random.default_rng(0))
    raws = [11, 222, 3333]
    logp = [strategy._log_prob(state.logits, r) for r in raws]
    # Ratios e^2 > 1.2 with positive advantages and e^-2 < 0.8 with negative ones: every
    # sample is past the clip in its advantage's direction, so the objective is flat.
    buffer = ((11, 0.3, logp[0] - 2), (222, 0.2, logp[1] - 2), (3333, -0.4, logp[2] + 2))
    logits, _ = strategy._update(state.logits, state.adam, buffer)
    np.testing.assert_array_equal(logits, state.logits)
    # Unclipped (ratio 1): the same advantages do move it.
    buffer = tuple((r, a, lp) for (r, a, _), lp in zip(buffer, logp, strict=True))
    logits, _ = strategy._update(state.logits, state.adam, buffer)
    assert not np.array_equal(logits, state.logits)
    # Past the clip against its advantage (ratio e^2 > 1.2, advantage < 0): the min keeps
    # the unclipped term, whose gradient lowers the sample's probability.
    logits, _ = strategy._update(state.logits, state.adam, ((11, -0.3, logp[0] - 2),))
    assert strategy._log_prob(logits, 11) < logp[0]


@pytest.mark.parametrize(
    "name, params, message",
    [
        ("reinforce", {"learning_rate": 0}, "learning_rate must be a number > 0"),
        ("reinforce", {"momentum": 1.0}, r"momentum must be a number in \[0, 1\)"),
        ("ppo", {"learning_rate": -1}, "learning_rate must be a number > 0"),
        ("ppo", {"clip": 0}, "clip must be a number > 0"),
        ("ppo", {"epochs": 0}, "epochs must be an int >= 1"),
        ("ppo", {"batch_size": 2.5}, "batch_size must be an int >= 1"),
        ("ppo", {"momentum": -0.1}, r"momentum must be a number in \[0, 1\)"),
    ],
)
def test_parameter_errors(name, params, message, space):
    with pytest.raises(ValueError, match=message):
        get_strategy(name)(space, **params)
