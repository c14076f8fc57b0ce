"""Training throughput: batched ``train_cells`` against one-cell-at-a-time jitted training.

    python benchmarks/train_throughput.py --quick    # table preset, 2 epochs, batched only
    python benchmarks/train_throughput.py [--preset cpu gpu] [--classes 4 8] [--seeds 3]
        [--cells N] [--plain-cells N] [--epochs E]    # classes default: 64 256 on a GPU

Every path trains a prefix of one seeded random sample of nb201 class representatives on
mnist1d, seed 0 for every pair, and is timed on its own (compilation reported apart):

- sequential, masked: the single-cell masked program of ``make_train`` jitted once with
  the cell as a traced argument, run for one cell after another;
- sequential, plain: ``reference_network`` of each cell (only its active ops), jitted and
  compiled once per cell: the natural way to train one cell alone;
- batched, all ops: ``train_cells(..., layout="vmap")`` (the default on a GPU or TPU), B
  pairs in one program, every op of every edge computed for every pair (the op choice a
  select);
- batched, chosen ops: ``train_cells(..., layout="grouped")`` (the default on a CPU): the
  same B pairs as K classes x S seeds, each device looping over its classes and running
  only the ops each cell uses, ``vmap`` over a class's seeds.

Throughput is cell-epochs per second: pairs x epochs / run seconds. The batched paths are
also timed in process CPU seconds per pair, and their useful FLOP rate (``network_cost``
FLOPs of the ops a cell uses, x3 for a training step, plus the evaluations) is printed
beside the machine's measured float32 matrix-product rate.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import time

import numpy as np


@dataclasses.dataclass
class Row:
    """One measured path: ``pairs`` cells trained for ``epochs`` epochs each."""

    path: str
    per_program: int  # pairs in one compiled program
    pairs: int
    epochs: int
    seconds: float  # run time, compilation excluded
    compile_seconds: float
    cpu_seconds: float = float("nan")  # process CPU time of the run (batched paths)
    flops: float = float("nan")  # useful FLOPs of the run (batched paths)

    @property
    def rate(self) -> float:
        return self.pairs * self.epochs / self.seconds

    @property
    def rate_with_compile(self) -> float:
        return self.pairs * self.epochs / (self.seconds + self.compile_seconds)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sample_cells(n: int, seed: int) -> np.ndarray:
    """(n, 6) int32 op ids of n distinct class representatives drawn with ``seed``."""
    from nasbench_lite import get_space

    space = get_space("nb201")
    raws = np.random.default_rng(seed).choice(space.representatives, n, replace=False)
    return space.cells(raws).astype(np.int32)


def single_cell_args(config, cell: np.ndarray, data) -> tuple:
    """Arguments of ``make_train``'s train(key, cell, lr_scale, *splits), splits on device."""
    import jax

    from nasbench_lite.train.config import splits
    from nasbench_lite.train.trainer import pair_keys

    arrays = tuple(jax.device_put(s) for s in splits(data, config))
    return (pair_keys(np.array([0]))[0], cell, np.float32(1.0), *arrays)


def run_each(compiled, args: tuple, cells: np.ndarray) -> float:
    """Seconds to train ``cells`` one after another with one compiled single-cell program."""
    start = time.perf_counter()
    for cell in cells:
        np.asarray(compiled(args[0], cell, *args[2:]))
    return time.perf_counter() - start


def sequential_masked(config, cells: np.ndarray, data) -> Row:
    """The masked single-cell program compiled once, then run for each cell in turn."""
    import jax

    from nasbench_lite.train.trainer import make_train

    args = single_cell_args(config, cells[0], data)
    start = time.perf_counter()
    compiled = jax.jit(make_train(config, data.num_classes)).lower(*args).compile()
    compile_seconds = time.perf_counter() - start
    seconds = run_each(compiled, args, cells)
    return Row("sequential, masked", 1, len(cells), config.epochs, seconds, compile_seconds)


def sequential_plain(config, cells: np.ndarray, data) -> Row:
    """The plain reference network of each cell, compiled for that cell, then run."""
    import jax

    from nasbench_lite.train.reference import reference_network
    from nasbench_lite.train.trainer import make_train

    seconds = compile_seconds = 0.0
    for cell in cells:
        net = reference_network(cell, config, data.num_classes)
        args = single_cell_args(config, cell, data)
        start = time.perf_counter()
        train = jax.jit(make_train(config, data.num_classes, network=net))
        compiled = train.lower(*args).compile()
        compile_seconds += time.perf_counter() - start
        seconds += run_each(compiled, args, cell[None])
    return Row("sequential, plain", 1, len(cells), config.epochs, seconds, compile_seconds)


def useful_flops(config, cells: np.ndarray, data) -> float:
    """FLOPs the pairs' own networks need: 3x forward for every training example seen,
    1x for every evaluated example, every epoch (``cost.network_cost`` per example)."""
    from nasbench_lite.train.config import splits
    from nasbench_lite.train.cost import network_cost

    x_train, _, x_valid, _, x_test, _ = splits(data, config)
    steps = len(x_train) // config.batch_size
    examples = 3 * steps * config.batch_size + len(x_valid) + len(x_test)
    shape = data.x_train.shape[1:]
    forward = sum(network_cost(config, c, shape, data.num_classes)[1] for c in cells)
    return float(forward) * examples * config.epochs


def batched(config, cells: np.ndarray, seeds: int, data, layout: str) -> Row:
    """Each of ``cells`` with ``seeds`` seeds, all in one ``train_cells`` program."""
    from nasbench_lite.train.trainer import train_cells

    pairs = np.repeat(cells, seeds, axis=0)
    result = train_cells(config, pairs, np.tile(np.arange(seeds), len(cells)), data, layout=layout)
    name = {"vmap": "batched, all ops", "grouped": "batched, chosen ops"}[layout]
    n = len(pairs)
    row = Row(name, n, n, config.epochs, result.seconds, result.compile_seconds)
    row.cpu_seconds = result.cpu_seconds
    row.flops = useful_flops(config, pairs, data)
    return row


def matmul_rate(size: int = 1024, repeats: int = 20) -> float:
    """Measured float32 matrix-product rate of this machine's default JAX device, FLOP/s."""
    import jax
    import jax.numpy as jnp

    a = jax.random.normal(jax.random.PRNGKey(0), (size, size), jnp.float32)
    product = jax.jit(lambda a: a @ a)
    product(a).block_until_ready()
    start = time.perf_counter()
    for _ in range(repeats):
        product(a).block_until_ready()
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def measure(
    config, cells, sequential: int, plain: int, classes: list[int], seeds: int, data, layouts
):
    """Rows for the two sequential baselines, then both batched layouts per program size.

    Each path trains a prefix of ``cells``: the first ``sequential`` (masked), ``plain``
    (plain) and K (batched, K classes x ``seeds`` seeds) cells.
    """
    rows = []
    if sequential:
        progress(f"  sequential, masked: {sequential} cells")
        rows.append(measured(sequential_masked(config, cells[:sequential], data)))
    if plain:
        progress(f"  sequential, plain: {plain} cells, one compile each")
        rows.append(measured(sequential_plain(config, cells[:plain], data)))
    for k in classes:
        for layout in layouts:
            progress(f"  batched ({layout}): {k} classes x {seeds} seeds in one program")
            rows.append(measured(batched(config, cells[:k], seeds, data, layout)))
    return rows


def measured(row: Row) -> Row:
    """``row``, its figures printed at once (a run cut short keeps the rows measured)."""
    progress(
        f"    {row.path}, {row.per_program} per program: {row.rate:.2f} cell-epochs/s, "
        f"{row.seconds / row.pairs:.4f} s/pair, compile {row.compile_seconds:.1f} s"
    )
    return row


def table(results: dict[str, list[Row]], peak: float) -> str:
    """Markdown table of every preset's rows; speedups are relative to the first row."""
    lines = [
        "| preset | path | pairs/program | epochs | run s | compile s | cell-epochs/s "
        "| incl. compile | vs first row | wall s/pair | CPU s/pair | useful GFLOP/s "
        "| of matmul peak |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for preset, rows in results.items():
        base = rows[0].rate
        for r in rows:
            gflops = r.flops / r.seconds / 1e9
            lines.append(
                f"| {preset} | {r.path} | {r.per_program} | {r.epochs} "
                f"| {r.seconds:.2f} | {r.compile_seconds:.1f} | {r.rate:.2f} "
                f"| {r.rate_with_compile:.3f} | {r.rate / base:.2f}x "
                f"| {r.seconds / r.pairs:.3f} | {r.cpu_seconds / r.pairs:.3f} "
                f"| {gflops:.2f} | {100 * gflops * 1e9 / peak:.1f}% |"
            )
    return re.sub(r"\| nan%? (?=\|)", "| ", "\n".join(lines))  # unmeasured: blank


def main(argv: list[str] | None = None) -> int:
    from nasbench_lite.train.config import DEFAULT_PRESET

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument(
        "--quick", action="store_true", help="the table preset, 2 epochs, batched paths only"
    )
    parser.add_argument("--preset", nargs="+", default=None, help=f"default: {DEFAULT_PRESET}")
    parser.add_argument(
        "--classes", nargs="+", type=int, default=None,
        help="classes per batched program, each with --seeds seeds (default: generate's "
        "CPU chunk, 4; 64 256 on an accelerator)",
    )  # fmt: skip
    parser.add_argument("--seeds", type=int, default=3, help="seeds per class (default 3)")
    parser.add_argument("--cells", type=int, default=None, help="cells trained sequentially")
    parser.add_argument("--plain-cells", type=int, default=None, help="cells of the plain path")
    parser.add_argument("--epochs", type=int, default=None, help="default: the preset's")
    parser.add_argument("--seed", type=int, default=0, help="seed of the cell sample")
    parser.add_argument(
        "--layouts", nargs="+", choices=["vmap", "grouped"], default=["vmap", "grouped"],
        help="batched layouts to measure (default: both)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    from nasbench_lite.devices import cpu_cores, use_cpu_cores

    use_cpu_cores()  # as the command line does; XLA_FLAGS set by the caller wins
    quick = {"preset": [DEFAULT_PRESET], "classes": [4], "cells": 0, "plain_cells": 0,
             "epochs": 2}  # fmt: skip
    full = {"preset": [DEFAULT_PRESET], "classes": [4, 8], "cells": 4, "plain_cells": 2}
    import jax

    if jax.default_backend() != "cpu":
        # An accelerator fills up only with hundreds of pairs.
        full["classes"] = [64, 256]
    defaults = quick if args.quick else full
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if min(args.classes + [args.seeds]) < 1 or min(args.cells, args.plain_cells) < 0:
        parser.error("--classes and --seeds must be positive, --cells and --plain-cells >= 0")
    args.classes = sorted(set(args.classes))
    if args.plain_cells > args.cells:
        parser.error(f"--plain-cells {args.plain_cells} exceeds --cells {args.cells}")

    from nasbench_lite.datasets import load_dataset
    from nasbench_lite.train.config import get_preset

    data = load_dataset("mnist1d")
    cells = sample_cells(max(args.cells, *args.classes), args.seed)
    device = jax.devices()[0]
    cores = cpu_cores()
    print(f"device: {device.device_kind} ({device.platform}, {jax.local_device_count()} local)")
    print(f"cpu cores: {cores}; jax {jax.__version__}; dataset mnist1d {data.splits}")
    peak = matmul_rate()
    print(f"float32 matrix product (1024 x 1024, jit): {peak / 1e9:.1f} GFLOP/s")
    results: dict[str, list[Row]] = {}
    for preset in args.preset:
        config = get_preset(preset)
        if args.epochs is not None and args.epochs != config.epochs:
            print(
                f"{preset}: epochs shortened from {config.epochs} to {args.epochs} "
                "(dataclasses.replace); throughput is per cell-epoch"
            )
            config = dataclasses.replace(config, epochs=args.epochs)
        progress(f"{preset}: {config}")
        results[preset] = measure(
            config,
            cells,
            args.cells,
            args.plain_cells,
            args.classes,
            args.seeds,
            data,
            args.layouts,
        )
    print()
    print(table(results, peak))
    print()
    for preset, rows in results.items():
        tag = "" if len(results) == 1 else f" ({preset})"
        for line in summary(rows, args.classes, args.seeds, tag):
            print(line)
    return 0


def fewer(old: float, new: float) -> str:
    """``new`` against ``old`` in words: "4.73x fewer", or "6.86x more" when it grew."""
    ratio = old / new
    return f"{ratio:.2f}x fewer" if ratio >= 1 else f"{1 / ratio:.2f}x more"


def summary(rows: list[Row], classes: list[int], seeds: int, tag: str = "") -> list[str]:
    """The closing lines of one preset: chosen ops against all ops at each program size
    (when both were measured), then the fastest batched path at the largest program size
    against the sequential masked one (when that was measured)."""
    lines = []
    for k in classes:
        found = {r.path: r for r in rows if r.per_program == k * seeds}
        old, new = found.get("batched, all ops"), found.get("batched, chosen ops")
        if old and new:
            lines.append(
                f"chosen ops / all ops{tag}, {k} classes x {seeds} seeds: "
                f"{fewer(old.seconds, new.seconds)} wall seconds, "
                f"{fewer(old.cpu_seconds, new.cpu_seconds)} CPU seconds per pair"
            )
    largest = max(classes) * seeds
    batched = [r for r in rows if r.path.startswith("batched") and r.per_program == largest]
    base = next((r for r in rows if r.path == "sequential, masked"), None)
    if base and batched:
        best = max(batched, key=lambda r: r.rate)
        lines.append(
            f"batched/sequential speedup{tag}: {best.rate / base.rate:.2f}x ({best.path}, "
            f"{largest} pairs per program, against one cell at a time, masked)"
        )
    return lines


if __name__ == "__main__":
    sys.exit(main())
