"""Zero-cost proxies of many (cell, seed) pairs at once: ``jit(vmap(probe))`` over the pairs,
sharded over the local devices like the trainer's "vmap" layout, then the host's float64
step (``scores``).

``make_probe`` computes the proxies of ONE cell from ONE key, at the initialisation the
trainer gives that seed (the same ``network.init`` key, so the same weights) and on the
first ``BATCH`` examples of the trainer's first minibatch of that seed (every cell sees the
same examples for a seed: common random numbers). Batch norm normalises with the batch's
statistics (training mode, as the reference code's ``net.train()``); synflow runs without
batch norm, in float64, in a second compiled program.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import numpy as np

from nasbench_lite.errors import InputError
from nasbench_lite.proxies import scores
from nasbench_lite.proxies.names import COMPUTED

# XLA compiler options of the two programs. The tests turn the backend optimisation off
# ({"xla_backend_optimization_level": 0}): a third of the compile time, half the speed.
COMPILER_OPTIONS: dict = {}
BATCH = 32  # examples in the one minibatch (docs/proxies.md, "Data")
ZEN_STREAM = 1  # fold_in tag of the zen proxy's Gaussian weights and inputs


@dataclass(frozen=True)
class ProxyResult:
    """Proxies of n (cell, seed) pairs from one ``proxy_cells`` call."""

    values: dict[str, np.ndarray]  # COMPUTED name -> (n,) float64
    seconds: float  # wall time of the compiled programs and the host step, compile excluded
    cpu_seconds: float  # this process's CPU time over the same span
    compile_seconds: float  # 0 when already compiled in this process


def make_probe(config, num_classes: int, space, batch: int = BATCH):
    """(probe, flow) for ONE pair: ``probe(key, cell, x_train, y_train)`` -> dict of the
    float32 measures, the Jacobian (batch, features), the nwot kernel (batch, batch), the
    batch's labels and the initial params; ``flow(params, cell, x_shape)`` -> synflow (run
    it under ``jax.enable_x64`` for float64)."""
    import jax
    import jax.numpy as jnp

    from nasbench_lite.proxies import measures
    from nasbench_lite.train.trainer import make_network

    network = make_network(config, num_classes, branch=False, space=space)

    def model_of(cell):
        def model(variables, x):
            logits, state = network.apply(
                variables, x, cell, True, mutable=["batch_stats", "intermediates"]
            )
            return logits, state.get("intermediates", {})

        return model

    def probe(key, cell, x_train, y_train):
        init_key, order_key = jax.random.split(key)  # as make_train splits it
        first_epoch = jax.random.split(order_key, config.epochs)[0]
        index = jax.random.permutation(first_epoch, x_train.shape[0])[:batch]
        x, y = x_train[index], y_train[index]
        variables = network.init(init_key, x, cell, False)
        variables = {k: v for k, v in variables.items() if k != "intermediates"}
        zen_key = jax.random.fold_in(key, ZEN_STREAM)
        out = measures.all_measures(model_of(cell), variables, x, y, zen_key)
        return {**out, "labels": y, "params": variables["params"]}

    def flow(params, cell, x_shape):
        dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
        return measures.synflow(model_of(cell), {"params": params}, x_shape, dtype)

    return probe, flow


@functools.lru_cache(maxsize=4)
def _programs(config, num_classes: int, space, devices: tuple, x_shape: tuple, batch: int):
    """The two batched programs, sharded over ``devices`` along the pairs."""
    import jax
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    probe, one_flow = make_probe(config, num_classes, space, batch)
    mesh = Mesh(np.array(devices), ("pairs",))
    pairs, whole = NamedSharding(mesh, PartitionSpec("pairs")), NamedSharding(mesh, PartitionSpec())
    probe = jax.jit(jax.vmap(probe, (0, 0, None, None)), in_shardings=(pairs, pairs, whole, whole))
    flow = jax.jit(jax.vmap(lambda p, c: one_flow(p, c, x_shape)), in_shardings=(pairs, pairs))
    return probe, flow


_COMPILED: dict = {}


def _compiled(program, args: tuple):
    """(program compiled for these argument shapes, seconds it took; 0 when cached)."""
    import jax

    shapes = jax.tree.map(lambda a: (tuple(a.shape), str(a.dtype)), args)
    signature = (program, str(shapes), jax.config.jax_enable_x64)
    if signature in _COMPILED:
        return _COMPILED[signature], 0.0
    start = time.perf_counter()
    _COMPILED[signature] = program.lower(*args).compile(COMPILER_OPTIONS)
    return _COMPILED[signature], time.perf_counter() - start


def proxy_cells(config, cells, seeds, data, space="nb201", batch: int = BATCH) -> ProxyResult:
    """The COMPUTED proxies of every (cells[i], seeds[i]) pair, cells (n, E) op ids of
    ``space``, seeds (n,) ints, ``data`` a ``Dataset`` (cut to the config's limits, as the
    trainer's). Pads n to a multiple of the local devices. Raises MissingExtra without the
    `train` extra."""
    from nasbench_lite.extras import require

    require("train", "zero-cost proxies")
    import jax

    from nasbench_lite.spaces import as_space
    from nasbench_lite.train.config import splits
    from nasbench_lite.train.trainer import _as_cells, pair_keys

    space = as_space(space)
    cells = _as_cells(cells, space)
    seeds = np.asarray(seeds).reshape(-1)
    n = len(cells)
    if seeds.shape != (n,):
        raise InputError(f"got {n} cells but {seeds.shape[0]} seeds; need one seed per cell")
    x_train, y_train = splits(data, config)[:2]
    if x_train.shape[0] < batch:
        raise InputError(f"the proxies' batch of {batch} exceeds {x_train.shape[0]} examples")
    devices = tuple(jax.local_devices())
    order = np.resize(np.arange(n), -(-n // len(devices)) * len(devices))  # pads with repeats
    keys, padded = pair_keys(seeds[order]), cells[order]
    probe, flow = _programs(config, data.num_classes, space, devices, x_train.shape[1:], batch)
    args = (keys, padded, x_train, y_train)
    start = time.perf_counter()
    probe_program, seconds = _compiled(probe, args)
    params = jax.eval_shape(probe, *args)["params"]
    with jax.enable_x64(True):
        params = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, np.float64), params)
        flow_program, more = _compiled(flow, (params, padded))
    compile_seconds = seconds + more
    start, cpu_start = time.perf_counter(), time.process_time()
    out = jax.device_get(probe_program(*args))
    with jax.enable_x64(True):
        params = jax.tree.map(lambda p: np.asarray(p, np.float64), out.pop("params"))
        synflow = np.asarray(flow_program(params, padded), np.float64)
    values = {name: np.asarray(out[name], np.float64)[:n] for name in COMPUTED if name in out}
    values["synflow"] = synflow[:n]
    values["jacov"] = np.array([scores.jacov(j) for j in out["jacobian"][:n]])
    values["nwot"] = np.array([scores.nwot(k) for k in out["nwot_kernel"][:n]])
    values["epe_nas"] = np.array([
        scores.epe_nas(j, labels, data.num_classes)
        for j, labels in zip(out["jacobian"][:n], out["labels"][:n], strict=True)
    ])  # fmt: skip
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    return ProxyResult({name: values[name] for name in COMPUTED}, seconds, cpu_seconds,
                       compile_seconds)  # fmt: skip
