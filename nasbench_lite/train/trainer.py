"""Train many NB-201 cells at once: ``jit(vmap(train))`` over (cell, seed) pairs.

``make_train`` builds the training of ONE cell from ONE key (purejaxrl style): SGD with
Nesterov momentum and a single cosine schedule over all epochs (NB-201's recipe), a
``lax.scan`` over steps inside a ``lax.scan`` over epochs, and after every epoch an
evaluation on the validation and test splits with running batch-norm statistics.
``train_cells`` vmaps it over a batch of pairs, shards the batch over all local devices and
returns numpy arrays. The key of a pair depends on its seed only, so every cell sees the
same initialisation stream and data order for a given seed (common random numbers).
"""

from __future__ import annotations

import functools
import logging
import time

import numpy as np

from nasbench_lite.errors import InputError
from nasbench_lite.extras import require
from nasbench_lite.train.config import (
    CURVES,
    DEFAULT_PRESET,
    TrainConfig,
    TrainResult,
    check_batch,
    get_preset,
    splits,
)
from nasbench_lite.train.cost import network_cost
from nasbench_lite.train.layout import LAYOUTS, balance_groups, default_layout, group_pairs

log = logging.getLogger(__name__)


def make_network(config: TrainConfig, num_classes: int, branch: bool = True, space="nb201"):
    """The skeleton of ``config`` around ``space``'s masked cell (op choice as data), the
    network ``make_train`` trains; ``branch`` as there."""
    from nasbench_lite.spaces import as_space
    from nasbench_lite.spaces.network import Network

    space = as_space(space)

    def cell_type(width: int, name: str):
        return space.network_cell(width, branch=branch, name=name)

    return Network.of_config(config, num_classes, cell_type)


def make_train(
    config: TrainConfig,
    num_classes: int,
    network=None,
    branch: bool = True,
    space="nb201",
    stop_epoch: int | None = None,
):
    """Returns ``train(key, cell, lr_scale, *splits) -> (E, 6) metrics`` for ONE cell.

    ``stop_epoch``: run only the first ``stop_epoch`` epochs of the ``config.epochs``-epoch
    schedule (same keys, same learning rates: the first epochs of the full run), giving
    ``(stop_epoch, 6)`` metrics; None runs them all.

    ``network`` defaults to the skeleton around ``space``'s masked cell (op choice as data;
    ``space`` a ``Space`` or its name); the tests pass the plain reference network instead.
    ``splits`` are the six arrays x/y train, valid, test. ``branch``: the masked cell runs
    only each edge's chosen op (``Space.network_cell``); pass False when the cell will be
    batched by ``vmap``, where a branch turns into a select.
    """
    import jax
    import jax.numpy as jnp
    import optax

    if network is None:
        network = make_network(config, num_classes, branch, space)

    def cross_entropy(logits, labels):
        return optax.softmax_cross_entropy_with_integer_labels(logits, labels)

    def evaluate(params, stats, cell, x, y):
        """Mean loss and accuracy over a split, in fixed-size batches (last one partial)."""
        size = config.eval_batch_size
        full, rest = divmod(x.shape[0], size)

        def batch_sums(xb, yb):
            logits = network.apply({"params": params, "batch_stats": stats}, xb, cell, False)
            return cross_entropy(logits, yb).sum(), (logits.argmax(-1) == yb).sum()

        def body(carry, batch):
            loss, correct = batch_sums(*batch)
            return (carry[0] + loss, carry[1] + correct), None

        xs = x[: full * size].reshape(full, size, *x.shape[1:])
        ys = y[: full * size].reshape(full, size)
        (loss, correct), _ = jax.lax.scan(body, (0.0, 0), (xs, ys))
        if rest:
            extra_loss, extra_correct = batch_sums(x[full * size :], y[full * size :])
            loss, correct = loss + extra_loss, correct + extra_correct
        return loss / x.shape[0], correct / x.shape[0]

    def train(key, cell, lr_scale, x_train, y_train, x_valid, y_valid, x_test, y_test):
        steps = x_train.shape[0] // config.batch_size
        schedule = optax.cosine_decay_schedule(config.learning_rate, steps * config.epochs)
        tx = optax.chain(
            optax.add_decayed_weights(config.weight_decay),
            optax.sgd(schedule, momentum=config.momentum, nesterov=config.nesterov),
            optax.scale(lr_scale),
        )
        init_key, order_key = jax.random.split(key)
        variables = network.init(init_key, x_train[:2], cell, False)
        carry = (variables["params"], variables["batch_stats"], tx.init(variables["params"]))

        def step(carry, index):
            params, stats, opt_state = carry
            xb, yb = x_train[index], y_train[index]

            def loss_fn(p):
                logits, updates = network.apply(
                    {"params": p, "batch_stats": stats}, xb, cell, True, mutable=["batch_stats"]
                )
                return cross_entropy(logits, yb).mean(), (updates["batch_stats"], logits)

            (loss, (stats, logits)), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
            updates, opt_state = tx.update(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
            return (params, stats, opt_state), (loss, (logits.argmax(-1) == yb).mean())

        def epoch(carry, epoch_key):
            order = jax.random.permutation(epoch_key, x_train.shape[0])
            order = order[: steps * config.batch_size].reshape(steps, config.batch_size)
            carry, (losses, accs) = jax.lax.scan(step, carry, order)
            params, stats, _ = carry
            valid = evaluate(params, stats, cell, x_valid, y_valid)
            if config.test_every_epoch:
                test = evaluate(params, stats, cell, x_test, y_test)
            else:
                test = (jnp.nan, jnp.nan)
            return carry, jnp.stack([losses.mean(), accs.mean(), *valid, *test])

        epoch_keys = jax.random.split(order_key, config.epochs)[: stop_epoch or config.epochs]
        carry, metrics = jax.lax.scan(epoch, carry, epoch_keys)
        if not config.test_every_epoch:
            test = evaluate(carry[0], carry[1], cell, x_test, y_test)
            metrics = metrics.at[-1, 4:].set(jnp.stack(test))
        return metrics

    return train


@functools.lru_cache(maxsize=8)
def _batched(
    config: TrainConfig, num_classes: int, devices: tuple, layout: str, space, stop_epoch=None
):
    """The batched trainer, sharded over ``devices`` along its leading axis.

    "grouped": ``train(keys (G, S, 2), cells (G, 6), lr_scale (G, S), *splits)``: G groups
    of S seeds of one cell each. Every device loops (``lax.map``) over its groups and
    ``vmap``s over a group's seeds; the cell is the same for the whole vmap, so each edge
    runs only its chosen op. "vmap": ``train(keys (n, 2), cells (n, 6), lr_scale (n,),
    *splits)``: ``vmap`` over all pairs, every op computed on every edge (the op choice is
    then a select).
    """
    import jax
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    mesh = Mesh(np.array(devices), ("pairs",))
    split = PartitionSpec("pairs")
    if layout == "vmap":
        train = make_train(config, num_classes, branch=False, space=space, stop_epoch=stop_epoch)
        train = jax.vmap(train, (0, 0, 0) + (None,) * 6)
        pairs = NamedSharding(mesh, split)
        replicated = NamedSharding(mesh, PartitionSpec())
        return jax.jit(train, in_shardings=(pairs,) * 3 + (replicated,) * 6, out_shardings=pairs)
    if layout != "grouped":
        raise InputError(f"unknown trainer layout {layout!r}; available: {LAYOUTS}")
    train = make_train(config, num_classes, branch=True, space=space, stop_epoch=stop_epoch)
    seeds = jax.vmap(train, (0, None, 0) + (None,) * 6)

    def local(keys, cells, lr_scale, *data):
        return jax.lax.map(lambda group: seeds(*group, *data), (keys, cells, lr_scale))

    return jax.jit(
        jax.shard_map(
            local,
            mesh=mesh,
            in_specs=(split,) * 3 + (PartitionSpec(),) * 6,
            out_specs=split,
            check_vma=False,  # every value is per-device; no collectives to check
        )
    )


_COMPILED: dict = {}


def _compiled(
    config, num_classes: int, devices: tuple, layout: str, space, args: tuple, stop_epoch=None
):
    """The compiled batched program for these argument shapes, compiled once per process."""
    signature = (config, num_classes, devices, layout, space, stop_epoch) + tuple(
        (a.shape, str(a.dtype)) for a in args
    )
    if signature not in _COMPILED:
        program = _batched(config, num_classes, devices, layout, space, stop_epoch)
        _COMPILED[signature] = program.lower(*args).compile()
    return _COMPILED[signature]


def pair_keys(seeds: np.ndarray):
    """(n, 2) uint32 PRNG keys, one per seed: the stream depends on the seed alone."""
    import jax

    return jax.vmap(jax.random.PRNGKey)(np.asarray(seeds, dtype=np.uint32))


def _as_cells(cells, space) -> np.ndarray:
    cells = np.asarray(cells)
    edges, ops = space.num_edges, space.num_ops
    if cells.ndim != 2 or cells.shape[1] != edges:
        raise InputError(
            f"cells must have shape (n, {edges}) for space {space.name}, got {cells.shape}"
        )
    if cells.shape[0] == 0:
        raise InputError("train_cells needs at least one (cell, seed) pair")
    if not np.issubdtype(cells.dtype, np.integer) or cells.min() < 0 or cells.max() >= ops:
        raise InputError(f"cells must hold integer op ids in 0..{ops - 1} (space {space.name})")
    return cells.astype(np.int32)


def train_cells(
    config: TrainConfig,
    cells,
    seeds,
    data,
    lr_scale=None,
    layout: str | None = None,
    space="nb201",
    stop_epoch: int | None = None,
) -> TrainResult:
    """Trains every (cells[i], seeds[i]) pair in one compiled program.

    cells: (n, E) int op ids of ``space`` (a ``Space`` or its name; E = ``space.num_edges``);
    seeds: (n,) int; data: a ``datasets.Dataset``; lr_scale: optional
    (n,) float multiplier of each pair's learning rate (1.0 by default). ``layout`` (see
    ``_batched``): "grouped" groups the pairs by cell and runs only the ops each cell uses;
    "vmap" computes every op for every pair; None: the backend's (``layout.DEFAULT_LAYOUT``:
    "grouped" on a CPU, "vmap" on an accelerator). Both train the same networks from the
    same keys. The batch is padded to a multiple of the local device count and sharded
    over the devices. ``stop_epoch``: train only the first epochs of the schedule (the
    metrics then have ``stop_epoch`` epochs; see ``make_train``). Raises MissingExtra without
    the `train` extra.
    """
    require("train", "training")
    import jax

    from nasbench_lite.spaces import as_space

    space = as_space(space)
    cells = _as_cells(cells, space)
    seeds = np.asarray(seeds).reshape(-1)
    n = cells.shape[0]
    if seeds.shape[0] != n:
        raise InputError(f"got {n} cells but {seeds.shape[0]} seeds; need one seed per cell")
    scale = np.ones(n, np.float32) if lr_scale is None else np.asarray(lr_scale, np.float32)
    if scale.shape != (n,):
        raise InputError(f"lr_scale must have shape ({n},), got {scale.shape}")
    arrays = splits(data, config)
    check_batch(config, arrays[0].shape[0])
    if stop_epoch is not None and (
        isinstance(stop_epoch, bool)
        or not isinstance(stop_epoch, (int, np.integer))
        or not 1 <= stop_epoch <= config.epochs
    ):
        raise InputError(f"stop_epoch must be an int in 1..{config.epochs}, got {stop_epoch!r}")
    stop_epoch = None if stop_epoch is None or stop_epoch == config.epochs else int(stop_epoch)

    if layout is None:
        layout = default_layout(jax.default_backend())
    if layout not in LAYOUTS:
        raise InputError(f"unknown trainer layout {layout!r}; available: {LAYOUTS}")
    devices = tuple(jax.local_devices())
    costs = _costs(config, cells, data, space)
    if layout == "grouped":
        order, size = group_pairs(cells)
        groups = order.reshape(-1, size)
        slots = balance_groups(costs[0][groups[:, 0]], len(devices))
        order = groups[slots].reshape(-1)
    else:
        padded = -(-n // len(devices)) * len(devices)
        order, size = np.resize(np.arange(n), padded), 1  # pads with the first pairs again
    keys = pair_keys(seeds[order]).reshape(-1, size, 2)
    if layout == "grouped":
        args = (keys, cells[order[::size]], scale[order].reshape(-1, size), *arrays)
    else:
        args = (keys.reshape(-1, 2), cells[order], scale[order], *arrays)
    start = time.perf_counter()
    compiled = _compiled(config, data.num_classes, devices, layout, space, args, stop_epoch)
    compile_seconds = time.perf_counter() - start
    start, cpu_start = time.perf_counter(), time.process_time()
    out = np.asarray(jax.block_until_ready(compiled(*args)))
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    out = out.reshape(len(order), *out.shape[-2:])  # (padded n, E, 6), pairs as in `order`
    unsorted = np.empty((n, *out.shape[1:]), out.dtype)
    unsorted[order] = out  # a padding pair repeats a real one: same key and cell, same result
    log.debug("trained %d pairs in %.2f s (+%.2f s compile)", n, seconds, compile_seconds)
    return _result(cells, unsorted, costs, seconds, cpu_seconds, compile_seconds,
                   config.test_every_epoch)  # fmt: skip


def _costs(config: TrainConfig, cells: np.ndarray, data, space) -> tuple[np.ndarray, np.ndarray]:
    """(flops, params) (n,) int64 of each pair's network (``cost.network_cost``)."""
    shape = data.x_train.shape[1:]
    costs = [network_cost(config, c, shape, data.num_classes, space) for c in cells]
    return np.array([c[1] for c in costs], np.int64), np.array([c[0] for c in costs], np.int64)


def _result(
    cells, out, costs, seconds, cpu_seconds, compile_seconds, test_every_epoch=True
) -> TrainResult:
    out = out.astype(np.float32)
    # A pair diverged if any epoch's metric is not finite; everything from that epoch on is
    # NaN so a diverged curve never looks like a (bad) trained one. Test columns left NaN
    # on purpose (test_every_epoch False: all epochs but the last) do not count.
    finite = np.isfinite(out)
    if not test_every_epoch:
        finite[:, :-1, 4:] = True
    bad = ~finite.all(axis=2)  # (n, E)
    diverged = bad.any(axis=1)
    out[np.cumsum(bad, axis=1) > 0] = np.nan
    flops, params = costs
    # Process CPU time does not grow when another process shares the cores (wall time
    # would); a pair's share is in proportion to its FLOPs, since only the ops a cell
    # uses run and training FLOPs are ~3x forward FLOPs for every pair alike.
    train_seconds = cpu_seconds * flops / flops.sum()
    return TrainResult(
        metrics={name: out[:, :, k] for k, name in enumerate(CURVES)},
        diverged=diverged,
        params=params,
        flops=flops,
        train_seconds=train_seconds,
        seconds=seconds,
        cpu_seconds=cpu_seconds,
        compile_seconds=compile_seconds,
    )


def train_one(
    cell,
    seed: int = 0,
    preset: str = DEFAULT_PRESET,
    dataset: str = "mnist1d",
    space="nb201",
    data_dir=None,
) -> dict:
    """Trains one cell (the space's string, raw index or ops array) and returns final
    metrics. data_dir: the directory of a dataset read from files (`load_dataset`).

    It trains the cell it is given. A table holds, for every member of a canonical class,
    the values of the class's representative (`space.representatives[space.canonical(cell)]`),
    the one cell of the class it trained: to compare with a table, train that cell.
    """
    require("train", "train_one")
    from nasbench_lite.datasets import load_dataset
    from nasbench_lite.spaces import as_space

    space = as_space(space)
    ops = space.cell(space.to_raw(cell))
    data = load_dataset(dataset, data_dir)
    result = train_cells(get_preset(preset), ops[None], [seed], data, space=space)
    final = {name: float(curve[0, -1]) for name, curve in result.metrics.items()}
    final.update(
        train_seconds=float(result.train_seconds[0]),
        params=int(result.params[0]),
        flops=int(result.flops[0]),
        diverged=bool(result.diverged[0]),
    )
    return final
