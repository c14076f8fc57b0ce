"""Inference latency of a cell's network, measured on this machine.

Definition: the process CPU seconds of one forward pass of the cell's plain network (the
table's trainer config's skeleton with only the cell's active ops, `train.reference`), in
inference mode, compiled for a batch of `batch` examples of the table's input shape, with
XLA's CPU backend on one thread (`--xla_cpu_multi_thread_eigen=false`, set by
`single_thread_flags` before JAX starts): the latency on one core, which does not grow when
other processes share the machine (wall time would). Weights are the initial ones: a dense
forward pass costs the same whatever their values.

Each class and batch size: the program is compiled (about a second), called twice to warm
up, then timed in `rounds` rounds of `calls[batch]` calls, each call blocking until its
result is ready; a round's value is its CPU seconds per call. Recorded: the median over
rounds and the spread (interquartile range over rounds).

A program that takes the op choice as data (one compilation for all cells, `lax.switch` per
edge) would be far cheaper to measure, but at batch 1 its 18 switches cost about 0.3 ms a
pass, twice what a whole cell's network costs, and every cell would measure alike.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

BATCHES = (1, 256)
ROUNDS = 7
CALLS = {1: 20, 256: 3}  # calls per round: about 3 ms and 5 ms of CPU on the cpu preset
SINGLE_THREAD = "--xla_cpu_multi_thread_eigen=false"


def single_thread_flags() -> bool:
    """Ask XLA's CPU backend for one compute thread (before JAX is imported); returns whether
    the flag is in effect for this process."""
    flags = os.environ.get("XLA_FLAGS", "")
    if SINGLE_THREAD in flags:
        return True
    if "jax" in sys.modules:
        return False  # too late: JAX read its flags already
    os.environ["XLA_FLAGS"] = f"{flags} {SINGLE_THREAD}".strip()
    return True


@dataclass
class LatencyRecipe:
    """How latency is measured (recorded in the table's `latency` attribute)."""

    batches: tuple[int, ...] = BATCHES
    rounds: int = ROUNDS
    calls: dict[int, int] = field(default_factory=lambda: dict(CALLS))

    def calls_for(self, batch: int) -> int:
        return int(self.calls.get(batch, max(1, 512 // batch)))


def forward_program(config: Any, space: Any, cell: np.ndarray, input_shape: tuple[int, ...],
                    num_classes: int, batch: int) -> tuple[Callable[[], Any], float]:  # fmt: skip
    """(run() -> output, compile seconds): `run` does one forward pass of the plain network
    of `cell` (int (edges,)) and `config` on `batch` fixed random examples."""
    import jax
    import jax.numpy as jnp

    from nasbench_lite.train.reference import reference_network

    network = reference_network(cell, config, num_classes, space)
    x = jax.random.normal(jax.random.PRNGKey(1), (batch, *input_shape), jnp.float32)
    variables = network.init(jax.random.PRNGKey(0), x[:1], None, False)
    started = time.perf_counter()
    compiled = (
        jax.jit(lambda v, xs: network.apply(v, xs, None, False)).lower(variables, x).compile()
    )
    compile_seconds = time.perf_counter() - started

    def run():
        return compiled(variables, x)

    return run, compile_seconds


def time_program(run: Callable, calls: int, rounds: int) -> tuple[float, float, float]:
    """(median CPU seconds per call over `rounds` rounds, interquartile range, minimum)."""
    for _ in range(2):
        run().block_until_ready()
    per_call = np.empty(rounds)
    for r in range(rounds):
        started = time.process_time()
        for _ in range(calls):
            run().block_until_ready()
        per_call[r] = (time.process_time() - started) / calls
    q1, median, q3 = np.percentile(per_call, [25, 50, 75])
    return float(median), float(q3 - q1), float(per_call.min())


# The fixed network timed beside every class (`measure`, "relative"): every edge a 3x3 conv.
REFERENCE_CELL = (3, 3, 3, 3, 3, 3)


def measure(config: Any, space: Any, input_shape: tuple[int, ...], num_classes: int,
            cells: np.ndarray, recipe: LatencyRecipe | None = None) -> dict[str, Any]:  # fmt: skip
    """Latency of every cell of int (n, edges) `cells` at each batch size of the recipe:
    {"median": {batch: (n,)}, "spread": {batch: (n,)}, "minimum": {batch: (n,)},
    "relative": {batch: (n,)}, "compile_seconds": float}.

    relative: the cell's median divided by the median of a fixed reference network
    (REFERENCE_CELL, compiled once per batch size) timed right after it, times the reference's
    first median: a drift of the machine's speed between classes cancels out."""
    recipe = recipe or LatencyRecipe()
    n = len(cells)
    out: dict[str, Any] = {
        key: {b: np.empty(n) for b in recipe.batches}
        for key in ("median", "spread", "minimum", "relative")
    }
    out["compile_seconds"] = 0.0
    reference, first = {}, {}
    for i, cell in enumerate(np.asarray(cells)):
        for batch in recipe.batches:
            calls = recipe.calls_for(batch)
            run, seconds = forward_program(config, space, cell, input_shape, num_classes, batch)
            out["compile_seconds"] += seconds
            median, spread, least = time_program(run, calls, recipe.rounds)
            out["median"][batch][i], out["spread"][batch][i] = median, spread
            out["minimum"][batch][i] = least
            if batch not in reference:
                reference[batch], seconds = forward_program(
                    config, space, np.asarray(REFERENCE_CELL), input_shape, num_classes, batch
                )
                out["compile_seconds"] += seconds
            now = time_program(reference[batch], calls, recipe.rounds)[0]
            first.setdefault(batch, now)
            out["relative"][batch][i] = median / now * first[batch]
    return out
