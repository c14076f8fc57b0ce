"""Inference latency of a cell's network, measured on this machine.

Definition: the process CPU seconds of one forward pass of the cell's plain network (the
table's trainer config's skeleton with only the cell's active ops, `train.reference`), in
inference mode, compiled for a batch of `batch` examples of the table's input shape, with
XLA's CPU backend on one thread (`--xla_cpu_multi_thread_eigen=false`, set by
`single_thread_flags` before JAX starts): the latency on one core, which does not grow when
other processes share the machine (wall time would). Weights are the initial ones: a dense
forward pass costs the same whatever their values.

A chunk of classes is measured together, per batch size: every class's program and a fixed
reference network's (REFERENCE_CELL) are compiled (about a second each) and warmed up, then
timed in `rounds` rounds; each round times every program once, in a fresh random order, as
`calls[batch]` calls after one untimed call. A class's value in a round is its CPU seconds per
call divided by the reference's in the same round; its latency is the median of these ratios
times a fixed reference time. The machine's speed drifts (other processes, a shared core,
caches, frequency), but within a round it is much the same for every program, so the ratio
cancels it and ranks stay put between two measurement runs where absolute timings taken one
class after another did not (Spearman 0.59-0.95 between runs, `benchmarks/latency_reliability.py`).

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
ROUNDS = 15
CALLS = {1: 20, 256: 3}  # calls per block: about 4 ms and 10 ms of CPU on the cpu preset
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

    def __post_init__(self) -> None:
        from nasbench_lite.errors import InputError

        if isinstance(self.rounds, bool) or not isinstance(self.rounds, int) or self.rounds < 1:
            raise InputError(f"--rounds {self.rounds!r}: need at least one timing round")

    def calls_for(self, batch: int) -> int:
        return int(self.calls.get(batch, max(1, 512 // batch)))


# What the timed program reads: the network's weights and batch statistics, as a trained
# network would. `network.init` also returns the zero "perturbations" that the Fisher proxy
# differentiates through (`spaces.network.mark_output`); passed to `apply` they add a zero
# tensor to every convolution's and the classifier's output. Tables measured before this
# was so carry no "program" in their `latency` attribute (LEGACY_PROGRAM).
INFERENCE = ("params", "batch_stats")
PROGRAM = "params and batch_stats"
LEGACY_PROGRAM = "params, batch_stats and zero perturbations (one add per marked output)"


def forward_program(config: Any, space: Any, cell: np.ndarray, input_shape: tuple[int, ...],
                    num_classes: int, batch: int,
                    collections: tuple[str, ...] | None = INFERENCE,
                    ) -> tuple[Callable[[], Any], float]:  # fmt: skip
    """(run() -> output, compile seconds): `run` does one forward pass of the plain network
    of `cell` (int (edges,)) and `config` on `batch` fixed random examples, reading the
    variable collections `collections` (None: all that `init` returns, LEGACY_PROGRAM)."""
    import jax
    import jax.numpy as jnp

    from nasbench_lite.train.reference import reference_network

    network = reference_network(cell, config, num_classes, space)
    # On the CPU, whatever accelerator JAX also sees: inputs committed to the CPU device
    # place the compiled program there (latency is "XLA CPU" by its method).
    cpu = jax.devices("cpu")[0]
    with jax.default_device(cpu):
        x = jax.random.normal(jax.random.PRNGKey(1), (batch, *input_shape), jnp.float32)
        variables = network.init(jax.random.PRNGKey(0), x[:1], None, False)
    if collections is not None:
        variables = {k: v for k, v in variables.items() if k in collections}
    x, variables = jax.device_put((x, variables), cpu)
    started = time.perf_counter()
    compiled = (
        jax.jit(lambda v, xs: network.apply(v, xs, None, False)).lower(variables, x).compile()
    )
    compile_seconds = time.perf_counter() - started

    def run():
        return compiled(variables, x)

    run.program = compiled  # for inspection: its inputs, its HLO
    return run, compile_seconds


def _block(run: Callable, calls: int) -> float:
    """CPU seconds per call of `calls` calls of `run`, after one untimed call."""
    run().block_until_ready()
    started = time.process_time()
    for _ in range(calls):
        run().block_until_ready()
    return (time.process_time() - started) / calls


def time_programs(runs: list[Callable], calls: int, rounds: int, seed: int = 0) -> np.ndarray:
    """(rounds, len(runs)) CPU seconds per call: each round times every program once, in a
    random order (seeded by `seed`), after two warm-up calls of each."""
    for run in runs:
        for _ in range(2):
            run().block_until_ready()
    rng = np.random.default_rng(seed)
    per_call = np.empty((rounds, len(runs)))
    for r in range(rounds):
        for j in rng.permutation(len(runs)):
            per_call[r, j] = _block(runs[j], calls)
    return per_call


# The fixed network timed beside every chunk of classes: every edge a 3x3 conv.
REFERENCE_CELL = (3, 3, 3, 3, 3, 3)


def measure(config: Any, space: Any, input_shape: tuple[int, ...], num_classes: int,
            cells: np.ndarray, recipe: LatencyRecipe | None = None) -> dict[str, Any]:  # fmt: skip
    """Latency of every cell of int (n, edges) `cells` at each batch size of the recipe, as
    {key: {batch: value}} with key
    "ratio" (n,): median over rounds of the cell's time over the reference's in the round;
    "spread" (n,): interquartile range of those ratios over rounds;
    "median" (n,), "minimum" (n,): the cell's own CPU seconds per call over rounds;
    "reference" float: the reference network's median CPU seconds per call;
    and "compile_seconds": float."""
    recipe = recipe or LatencyRecipe()
    cells = np.asarray(cells)
    n = len(cells)
    out: dict[str, Any] = {key: {} for key in ("ratio", "spread", "median", "minimum", "reference")}
    out["compile_seconds"] = 0.0
    for batch in recipe.batches:
        runs = []
        for cell in [*cells, np.asarray(REFERENCE_CELL)]:
            run, seconds = forward_program(config, space, cell, input_shape, num_classes, batch)
            runs.append(run)
            out["compile_seconds"] += seconds
        per_call = time_programs(runs, recipe.calls_for(batch), recipe.rounds, seed=batch)
        ratios = per_call[:, :n] / per_call[:, n:]
        q1, median, q3 = np.percentile(ratios, [25, 50, 75], axis=0)
        out["ratio"][batch], out["spread"][batch] = median, q3 - q1
        out["median"][batch] = np.median(per_call[:, :n], axis=0)
        out["minimum"][batch] = per_call[:, :n].min(axis=0)
        out["reference"][batch] = float(np.median(per_call[:, n]))
    return out
