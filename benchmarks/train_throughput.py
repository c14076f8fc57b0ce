"""Training throughput: batched ``train_cells`` against one-cell-at-a-time jitted training.

    python benchmarks/train_throughput.py --quick    # small preset, B=12 (2-core CPU: ~1 min)
    python benchmarks/train_throughput.py [--preset small default] [--batch-sizes 1 4 16 64]
        [--cells N] [--plain-cells N] [--epochs E]    # B default: 1 16 64 256 1024 on a GPU

Every path trains a prefix of one seeded random sample of nb201 class representatives on
mnist1d, seed 0 for every pair, and is timed on its own (compilation reported apart):

- sequential, masked: the single-cell masked program of ``make_train`` jitted once with
  the cell as a traced argument, run for one cell after another;
- sequential, plain: ``reference_network`` of each cell (only its active ops), jitted and
  compiled once per cell: the natural way to train one cell alone;
- batched: ``train_cells`` with B pairs in one compiled program, for each batch size B.

Throughput is cell-epochs per second: pairs x epochs / run seconds. A masked program costs
the same for every cell, so paths that train different numbers of cells still compare.
"""

from __future__ import annotations

import argparse
import dataclasses
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

    from nasbench_lite.train import pair_keys, splits

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

    from nasbench_lite.train import make_train

    args = single_cell_args(config, cells[0], data)
    start = time.perf_counter()
    compiled = jax.jit(make_train(config, data.num_classes)).lower(*args).compile()
    compile_seconds = time.perf_counter() - start
    seconds = run_each(compiled, args, cells)
    return Row("sequential, masked", 1, len(cells), config.epochs, seconds, compile_seconds)


def sequential_plain(config, cells: np.ndarray, data) -> Row:
    """The plain reference network of each cell, compiled for that cell, then run."""
    import jax

    from nasbench_lite.reference import reference_network
    from nasbench_lite.train import make_train

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


def batched(config, cells: np.ndarray, data) -> Row:
    """All ``cells`` in one ``train_cells`` program; its own compile and run timings."""
    from nasbench_lite.train import train_cells

    result = train_cells(config, cells, np.zeros(len(cells), np.int64), data)
    n = len(cells)
    return Row("batched", n, n, config.epochs, result.seconds, result.compile_seconds)


def measure(config, cells: np.ndarray, sequential: int, plain: int, batch_sizes: list[int], data):
    """Rows for the two sequential baselines and every batch size, in that order.

    Each path trains a prefix of ``cells``: the first ``sequential`` (masked), ``plain``
    (plain) and B (batched) cells.
    """
    progress(f"  sequential, masked: {sequential} cells")
    rows = [sequential_masked(config, cells[:sequential], data)]
    progress(f"  sequential, plain: {plain} cells, one compile each")
    rows.append(sequential_plain(config, cells[:plain], data))
    for size in batch_sizes:
        progress(f"  batched: {size} pairs in one program")
        rows.append(batched(config, cells[:size], data))
    return rows


def table(results: dict[str, list[Row]]) -> str:
    """Markdown table of every preset's rows; speedups are relative to sequential, masked."""
    lines = [
        "| preset | path | pairs/program | pairs | epochs | run s | compile s "
        "| cell-epochs/s | cell-epochs/s incl. compile | vs seq. masked |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for preset, rows in results.items():
        base = rows[0].rate
        for r in rows:
            lines.append(
                f"| {preset} | {r.path} | {r.per_program} | {r.pairs} | {r.epochs} "
                f"| {r.seconds:.2f} | {r.compile_seconds:.1f} | {r.rate:.2f} "
                f"| {r.rate_with_compile:.3f} | {r.rate / base:.2f}x |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="small preset, B=12 (generate's CPU batch)"
    )
    parser.add_argument("--preset", nargs="+", default=None, help="default: small default")
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=None)
    parser.add_argument("--cells", type=int, default=None, help="cells trained sequentially")
    parser.add_argument("--plain-cells", type=int, default=None, help="cells of the plain path")
    parser.add_argument("--epochs", type=int, default=None, help="default: the preset's")
    parser.add_argument("--seed", type=int, default=0, help="seed of the cell sample")
    args = parser.parse_args(argv)
    from nasbench_lite.devices import cpu_cores, use_cpu_cores

    use_cpu_cores()  # as the command line does; XLA_FLAGS set by the caller wins
    # --quick keeps to about a minute on 2 cores (a compile costs 10-40 s there) while each
    # timed run still lasts seconds: 12 pairs (generate's CPU batch), the preset's 4 epochs.
    quick = {"preset": ["small"], "batch_sizes": [12], "cells": 12, "plain_cells": 1}
    full = {"preset": ["small", "default"], "batch_sizes": [1, 4, 16, 64], "cells": 16}
    full["plain_cells"] = 4
    import jax

    if jax.default_backend() != "cpu":
        # An accelerator fills up only with hundreds of pairs; 1,024 default-preset pairs
        # need about 40 GB of temporaries.
        full["batch_sizes"] = [1, 16, 64, 256, 1024]
    defaults = quick if args.quick else full
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if min(args.batch_sizes + [args.cells, args.plain_cells]) < 1:
        parser.error("--batch-sizes, --cells and --plain-cells must be positive")
    args.batch_sizes = sorted(set(args.batch_sizes))
    if args.plain_cells > args.cells:
        parser.error(f"--plain-cells {args.plain_cells} exceeds --cells {args.cells}")

    from nasbench_lite.datasets import load_dataset
    from nasbench_lite.train import get_preset

    data = load_dataset("mnist1d")
    cells = sample_cells(max(args.cells, *args.batch_sizes), args.seed)
    device = jax.devices()[0]
    cores = cpu_cores()
    print(f"device: {device.device_kind} ({device.platform}, {jax.local_device_count()} local)")
    print(f"cpu cores: {cores}; jax {jax.__version__}; dataset mnist1d {data.splits}")
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
            config, cells, args.cells, args.plain_cells, args.batch_sizes, data
        )
    print()
    print(table(results))
    print()
    for preset, rows in results.items():
        masked, plain, largest = rows[0], rows[1], rows[-1]
        tag = "" if len(results) == 1 else f" ({preset})"
        print(
            f"batched B={largest.per_program} / sequential plain{tag}: "
            f"{largest.rate / plain.rate:.2f} (run only), "
            f"{largest.rate_with_compile / plain.rate_with_compile:.2f} (run + compile)"
        )
        print(f"batched/sequential speedup{tag}: {largest.rate / masked.rate:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
