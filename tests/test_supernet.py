"""The supernet: the relaxation is the space's own network (one-hot architecture weights give
the masked network of that cell), a mixed edge is the weighted sum of its ops, and the
learning-rate schedule is NAS-Bench-201's cosine."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from nasbench_lite.strategies import _supernet as supernet
from nasbench_lite.train.config import get_preset

CONFIG = get_preset("tiny")
KEY = jax.random.PRNGKey(3)


@pytest.fixture(scope="module")
def forwards():
    """(masked params and batch stats, {kind: jitted forward(variables, choice, x)}): the
    three forms of the tiny-preset network, in training mode (batch statistics)."""
    nets = {kind: supernet.network(CONFIG, 10, kind) for kind in supernet.KINDS}
    x = jnp.zeros((2, 40, 1))

    def init(key):
        return nets["masked"].init(key, x, jnp.zeros(6, jnp.int32), False)

    # Compiled without optimisation: a quarter of the compile time of the default.
    variables = jax.jit(init).lower(KEY).compile(supernet.UNOPTIMISED)(KEY)
    # The state a network carries; init also returns the proxies' marks, whose shapes follow
    # the batch of x ("intermediates", "perturbations").
    variables = {k: variables[k] for k in ("params", "batch_stats")}

    def apply(net):
        def forward(variables, choice, x):
            return net.apply(variables, x, choice, True, mutable=["batch_stats"])[0]

        return jax.jit(forward)

    return variables, {kind: apply(net) for kind, net in nets.items()}


@pytest.mark.slow
def test_one_hot_weights_give_the_masked_network_of_that_cell(space, forwards):
    variables, forward = forwards
    x = jax.random.normal(jax.random.PRNGKey(0), (32, 40, 1))
    rng = np.random.default_rng(0)
    cells = [np.zeros(6, int), np.ones(6, int), np.full(6, 3), *space.cells(space.sample(rng, 4))]
    for cell in cells:
        masked = np.asarray(forward["masked"](variables, jnp.asarray(cell, jnp.int32), x))
        one_hot = jax.nn.one_hot(cell, 5)
        for kind in ("mixed", "hard"):
            out = np.asarray(forward[kind](variables, one_hot, x))
            np.testing.assert_allclose(out, masked, rtol=1e-5, atol=1e-5, err_msg=f"{kind} {cell}")
    # Different cells do give different outputs (the comparison could fail).
    first = forward["masked"](variables, jnp.asarray(cells[2], jnp.int32), x)
    assert not np.allclose(first, forward["masked"](variables, jnp.asarray(cells[3]), x))


def test_the_supernet_has_the_masked_networks_parameters(forwards):
    variables, _ = forwards
    net = supernet.network(CONFIG, 10, "mixed")
    x, weights = jnp.zeros((2, 40, 1)), jnp.full((6, 5), 0.2)
    mixed = jax.eval_shape(lambda key: net.init(key, x, weights, False), KEY)
    state = ("params", "batch_stats")  # not the proxies' marks ("intermediates", ...)
    shapes = jax.tree_util.tree_map(jnp.shape, {k: variables[k] for k in state})
    assert jax.tree_util.tree_map(lambda a: a.shape, {k: mixed[k] for k in state}) == shapes
    edge = variables["params"]["cell_0_0"]["edge_0"]
    assert set(edge) == {"nor_conv_1x1", "nor_conv_3x3"}


@pytest.mark.slow
def test_a_mixed_edge_is_the_weighted_sum_of_its_ops():
    edge = supernet.MixedEdge(4)
    x = jax.random.normal(jax.random.PRNGKey(1), (8, 10, 4))
    variables = edge.init(jax.random.PRNGKey(2), x, jnp.full(5, 0.2), True)

    @jax.jit
    def out(weights):
        return edge.apply(variables, x, weights, True, mutable=["batch_stats"])[0]

    weights = jnp.array([0.1, 0.3, 0.2, 0.15, 0.25])
    ops = [out(jax.nn.one_hot(k, 5)) for k in range(5)]
    mixture = sum(w * o for w, o in zip(weights, ops, strict=True))
    np.testing.assert_allclose(out(weights), mixture, atol=1e-5)
    assert float(jnp.abs(ops[0]).max()) == 0.0  # none
    np.testing.assert_array_equal(ops[1], x)  # skip_connect


def test_unknown_network_kind_is_refused():
    with pytest.raises(ValueError, match="unknown supernet kind 'soft'"):
        supernet.network(CONFIG, 10, "soft")


def test_cosine_rates_follow_nb201s_schedule():
    schedule = optax.cosine_decay_schedule(0.025, 100, alpha=supernet.MIN_LR_FRACTION)
    rates = np.concatenate([supernet.cosine_rates(0.025, 100, s, 25) for s in range(0, 100, 25)])
    np.testing.assert_allclose(rates, [schedule(t) for t in range(100)], rtol=1e-5)
    assert rates[0] == pytest.approx(0.025) and rates[-1] > 0.001
