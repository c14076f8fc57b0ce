"""The NB-201 supernet and the compiled programs that train it, for the weight-sharing
strategies (DARTS, Liu et al. 2019; GDAS, Dong & Yang 2019; ENAS, Pham et al. 2018; RSPS,
Li & Talwalkar 2019), as NAS-Bench-201 (Dong & Yang, ICLR 2020) runs them.

The supernet is the trainer's network (`model.Network` around the NB-201 cell) with each
edge's op choice relaxed: the edge's output is ``sum over ops of w[op] * op(x)`` ('none'
adds nothing), over the very parameters of the masked cell (``edge_e/nor_conv_1x1/conv/kernel``
...). With one-hot weights it computes the masked network of that cell (tests/test_supernet.py
checks this), so the relaxation is the space's own network. Three forms share one parameter
tree: "mixed" (DARTS: every op, weighted), "hard" (GDAS: only the op of the largest weight,
times that weight, plus the other weights, whose value is 0 and whose gradient is not, as in
NAS-Bench-201's GDAS) and "masked" (ENAS, RSPS: the trainer's masked network of one sampled
cell, op ids as data).

Batch norm always uses the batch's statistics (no running averages), in training and when a
cell is scored on validation data: running averages of a network whose paths change every
step describe none of them (NATS-Bench turns them off for the same reason).

One search is one program: `make_programs` builds ``epoch`` (a ``lax.scan`` over the epoch's
steps, each a weight step on a training batch then an architecture step on a validation
batch) and ``score`` (shared-weights validation accuracy of candidate cells). Both take one
search and one key (write for one, vmap for many); the test split never enters them.
Inputs are channels-last, as in the trainer.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from nasbench_lite.spaces.nb201.cells import EDGES
from nasbench_lite.spaces.nb201.network import (
    BRANCHES,
    CONV1,
    CONV3,
    MaskedCell,
    edge_kernels,
    wire_cell,
)
from nasbench_lite.spaces.network import Network, batch_norm

KINDS = ("mixed", "hard", "masked")
GRAD_CLIP = 5.0  # global norm of the weights' gradient (DARTS, NAS-Bench-201)
MIN_LR_FRACTION = 0.001 / 0.025  # NAS-Bench-201's cosine schedule: 0.025 down to 0.001
UNOPTIMISED = {"xla_backend_optimization_level": 0}


class MixedEdge(nn.Module):
    """One edge of the supernet: the five ops of `Edge` (same parameters), mixed by `weights`.

    weights: (5,) float in OPS order. `hard`: compute only the op of the largest weight
    (GDAS's forward pass); its value is that op's output times its weight, plus the sum of
    the other weights (exact zeros for a straight-through one-hot), which carries their
    gradient.
    """

    channels: int
    hard: bool = False

    @nn.compact
    def __call__(self, x: jnp.ndarray, weights: jnp.ndarray, train: bool) -> jnp.ndarray:
        k1, k3 = edge_kernels(x, self.channels)
        norm = batch_norm(train, name="norm")  # no parameters; only a conv output is normed
        if self.hard:
            op = jnp.argmax(weights)
            raw = jax.lax.switch(op, BRANCHES, x, k1, k3)
            out = jnp.where((op == CONV1) | (op == CONV3), norm(raw), raw)
            others = jnp.where(jnp.arange(weights.shape[0]) == op, 0.0, weights).sum()
            return weights[op] * out + others
        outs = [branch(x, k1, k3) for branch in BRANCHES]
        outs[CONV1], outs[CONV3] = norm(outs[CONV1]), norm(outs[CONV3])
        return sum(weights[op] * out for op, out in enumerate(outs) if op > 0)


class MixedCell(nn.Module):
    """The NB-201 cell with mixed edges: node j = sum over i<j of edge(i, j)(node i).
    Called as ``cell(x, weights, train)`` with weights (6, 5), one row per edge of EDGES."""

    channels: int
    hard: bool = False

    @nn.compact
    def __call__(self, x: jnp.ndarray, weights: jnp.ndarray, train: bool) -> jnp.ndarray:
        return wire_cell(
            x,
            lambda e, h: MixedEdge(self.channels, self.hard, name=f"edge_{e}")(
                h, weights[e], train
            ),
        )


def network(config: Any, num_classes: int, kind: str) -> Network:
    """The network of `config` (a TrainConfig) whose cells are "mixed", "hard" (MixedCell)
    or "masked" (the trainer's MaskedCell, running only each edge's chosen op). Called as
    ``apply(variables, x, choice, train)``: choice (6, 5) weights, or (6,) op ids for
    "masked"."""
    if kind not in KINDS:
        raise ValueError(f"unknown supernet kind {kind!r}; available: {KINDS}")

    def cell_type(width: int, name: str) -> nn.Module:
        if kind == "masked":
            return MaskedCell(width, True, name=name)
        return MixedCell(width, kind == "hard", name=name)

    return Network.of_config(config, num_classes, cell_type)


class Search(NamedTuple):
    """One search's state, all JAX arrays: the shared weights (the masked network's
    `params` and, unused by the outputs, its `stats`), their optimiser state, the
    architecture parameters `arch` (6, 5) and their optimiser state, and `extra` (2,) for a
    method's own numbers (ENAS: its reward baseline)."""

    params: Any
    stats: Any
    opt: Any
    arch: jnp.ndarray
    arch_opt: Any
    extra: jnp.ndarray


def cross_entropy(logits: jnp.ndarray, labels: jnp.ndarray) -> jnp.ndarray:
    """Mean softmax cross-entropy of (b, classes) logits and (b,) int labels."""
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


def accuracy(logits: jnp.ndarray, labels: jnp.ndarray) -> jnp.ndarray:
    return (logits.argmax(-1) == labels).mean()


def weight_optimizer(config: Any) -> optax.GradientTransformation:
    """The shared weights' update direction, before the learning rate: the gradient clipped
    to global norm GRAD_CLIP, plus weight decay, through (Nesterov) momentum (the preset's
    decay and momentum; NAS-Bench-201's search recipe). The step is ``-lr * update``."""
    return optax.chain(
        optax.clip_by_global_norm(GRAD_CLIP),
        optax.add_decayed_weights(config.weight_decay),
        optax.trace(decay=config.momentum, nesterov=config.nesterov),
    )


def cosine_rates(peak: float, steps: int, start: int, count: int) -> np.ndarray:
    """Learning rates (count,) float32 of steps start..start+count-1 of a cosine schedule of
    `steps` steps from `peak` down to MIN_LR_FRACTION * peak (optax's cosine_decay_schedule)."""
    t = np.minimum(np.arange(start, start + count), steps) / steps
    return (
        peak * (MIN_LR_FRACTION + (1 - MIN_LR_FRACTION) * 0.5 * (1 + np.cos(np.pi * t)))
    ).astype(np.float32)


def descend(tree: Any, updates: Any, lr: jnp.ndarray) -> Any:
    """``tree - lr * updates``, leaf by leaf."""
    return jax.tree_util.tree_map(lambda a, u: a - lr * u, tree, updates)


def arch_descent(search: Search, grads: jnp.ndarray, tx: Any, lr: jnp.ndarray) -> Search:
    """One step of the architecture parameters down `grads` with optimiser `tx` (an update
    direction such as ``scale_by_adam``) at learning rate `lr`."""
    updates, arch_opt = tx.update(grads, search.arch_opt, search.arch)
    return search._replace(arch=search.arch - lr * updates, arch_opt=arch_opt)


def make_programs(method: Any, num_classes: int, n_train: int, n_valid: int):
    """``(init, epoch, score)`` for ONE search of `method` (a weight-sharing strategy: its
    `network` kind, `train_config`, `init_arch`, `arch_optimizer`, `choice` and
    `arch_step`). Learning rates are arguments, so one compiled program serves any number of
    epochs and any rates.

    init(key, x) -> Search. epoch(search, key, rates (steps,), arch_lr, progress, x_train,
    y_train, x_valid, y_valid) -> (Search, mean training loss): steps = n_train //
    batch_size, each a weight step at its rate on a training batch (the epoch's
    permutation) and an architecture step on a validation batch (the validation split,
    permuted, reused as often as the epoch needs); progress in [0, 1] is the epoch's place
    in the search. score(search, cells (N, 6) int, key, x_valid, y_valid) -> (N,)
    shared-weights accuracy of each cell on one batch of `eval_batch_size` validation
    examples (the same batch for every cell).
    """
    config = method.train_config
    batch = config.batch_size
    steps = n_train // batch
    net = network(config, num_classes, method.network)
    masked = network(config, num_classes, "masked")
    tx = weight_optimizer(config)
    arch_tx = method.arch_optimizer()

    def forward(search: Search, choice: jnp.ndarray, x: jnp.ndarray) -> jnp.ndarray:
        variables = {"params": search.params, "batch_stats": search.stats}
        logits, _ = net.apply(variables, x, choice, True, mutable=["batch_stats"])
        return logits

    def init(key, x) -> Search:
        net_key, arch_key = jax.random.split(key)
        variables = masked.init(net_key, x[:2], jnp.zeros(len(EDGES), jnp.int32), False)
        params, stats = variables["params"], variables["batch_stats"]
        arch = method.init_arch(arch_key)
        return Search(params, stats, tx.init(params), arch, arch_tx.init(arch), jnp.zeros(2))

    def epoch(search, key, rates, arch_lr, progress, x_train, y_train, x_valid, y_valid):
        def step(search, inputs):
            index, valid_index, lr, key = inputs
            choice_key, arch_key = jax.random.split(key)
            choice = method.choice(choice_key, search.arch, progress)
            xb, yb = x_train[index], y_train[index]

            def loss_fn(params):
                return cross_entropy(forward(search._replace(params=params), choice, xb), yb)

            loss, grads = jax.value_and_grad(loss_fn)(search.params)
            updates, opt = tx.update(grads, search.opt, search.params)
            search = search._replace(params=descend(search.params, updates, lr), opt=opt)
            xv, yv = x_valid[valid_index], y_valid[valid_index]
            search = method.arch_step(arch_key, search, forward, xv, yv, arch_lr, progress)
            return search, loss

        order_key, valid_key, step_key = jax.random.split(key, 3)
        order = jax.random.permutation(order_key, n_train)[: steps * batch].reshape(steps, -1)
        rounds = -(-steps * batch // n_valid)
        valid_keys = jax.random.split(valid_key, rounds)
        valid = jax.vmap(lambda k: jax.random.permutation(k, n_valid))(valid_keys)
        valid = valid.reshape(-1)[: steps * batch].reshape(steps, -1)
        keys = jax.random.split(step_key, steps)
        search, losses = jax.lax.scan(step, search, (order, valid, rates, keys))
        return search, losses.mean()

    def score(search, cells, key, x_valid, y_valid):
        size = min(config.eval_batch_size, n_valid)
        pick = jax.random.permutation(key, n_valid)[:size]
        xb, yb = x_valid[pick], y_valid[pick]
        variables = {"params": search.params, "batch_stats": search.stats}

        def one(cell):
            logits, _ = masked.apply(variables, xb, cell, True, mutable=["batch_stats"])
            return accuracy(logits, yb)

        return jax.lax.map(one, cells)

    return init, epoch, score


_COMPILED: dict = {}


def compiled(method: Any, arrays: tuple, num_classes: int) -> dict:
    """The compiled ``init``, ``epoch`` and ``score`` of `method` for data arrays of these
    shapes (x_train, y_train, x_valid, y_valid), compiled once per process for each class
    and ``method.settings()`` (what the programs depend on). Compilation is not a search's
    cost, as it is not a table's (`train_seconds` excludes it)."""
    x_train, _, x_valid, y_valid = arrays
    signature = (type(method), method.settings(), num_classes) + tuple(
        (a.shape, str(a.dtype)) for a in arrays
    )
    if signature not in _COMPILED:
        init, epoch, score = make_programs(method, num_classes, len(x_train), len(x_valid))
        key = jax.random.PRNGKey(0)
        search = jax.eval_shape(init, key, x_train)
        rates = jnp.zeros(len(x_train) // method.train_config.batch_size, jnp.float32)
        scalar = jnp.float32(0)
        programs = {
            # The initialisation runs once: compiled without optimisation, in a quarter of
            # the time.
            "init": jax.jit(init).lower(key, x_train).compile(UNOPTIMISED),
            "epoch": jax.jit(epoch).lower(search, key, rates, scalar, scalar, *arrays).compile(),
        }
        if method.candidates:  # only the methods that pick among sampled cells score them
            cells = jnp.zeros((method.candidates, len(EDGES)), jnp.int32)
            programs["score"] = jax.jit(score).lower(search, cells, key, x_valid, y_valid)
            programs["score"] = programs["score"].compile()
        _COMPILED[signature] = programs
    return _COMPILED[signature]
