"""What a trainer preset reaches: final accuracies of landmark cells, trained for real.

    python benchmarks/presets.py --preset gpu              # 8 landmark cells, seed 0
    python benchmarks/presets.py --preset cpu --seeds 0 1 2
    python benchmarks/presets.py --preset gpu --reduction residual --epochs 4
    python benchmarks/presets.py --preset gpu --cells 1 3 5 6 7   # landmarks 1, 3, 5-7

The landmark cells span the space: the best-known kinds (all-conv, conv chains), cells
with no convolution at all (skip-only, pool-only, skip+pool) that a preset should rank far
lower, and the empty cell. All (cell, seed) pairs train in ONE ``train_cells`` program on
mnist1d; the script prints one markdown row per cell (mean over seeds) and the wall time.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

LANDMARKS = {
    "all nor_conv_3x3": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+"
    "|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "conv chain + skips": "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+"
    "|skip_connect~0|skip_connect~1|nor_conv_3x3~2|",
    "conv/pool/skip mix": "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+"
    "|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|",
    "all nor_conv_1x1": "|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+"
    "|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|",
    "skip-only": "|skip_connect~0|+|skip_connect~0|skip_connect~1|+"
    "|skip_connect~0|skip_connect~1|skip_connect~2|",
    "skip + pool": "|avg_pool_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+"
    "|skip_connect~0|avg_pool_3x3~1|skip_connect~2|",
    "all avg_pool_3x3": "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+"
    "|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|",
    "empty (all none)": "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--dataset", default="mnist1d")
    parser.add_argument("--reduction", choices=["residual", "pool"], default=None)
    parser.add_argument("--epochs", type=int, default=None, help="default: the preset's")
    parser.add_argument(
        "--cells", nargs="+", type=int, default=None, help="landmark numbers (1-based; default all)"
    )
    args = parser.parse_args(argv)
    from nasbench_lite.devices import use_cpu_cores

    use_cpu_cores()  # as the command line does; XLA_FLAGS set by the caller wins
    names = list(LANDMARKS)
    if args.cells is not None:
        bad = [i for i in args.cells if not 1 <= i <= len(names)]
        if bad:
            parser.error(f"--cells {bad}: landmarks are numbered 1..{len(names)}")
        names = [names[i - 1] for i in args.cells]

    import jax

    from nasbench_lite import get_space
    from nasbench_lite.datasets import load_dataset
    from nasbench_lite.train.config import get_preset
    from nasbench_lite.train.trainer import train_cells

    config = get_preset(args.preset)
    changes = {"reduction": args.reduction, "epochs": args.epochs}
    config = dataclasses.replace(config, **{k: v for k, v in changes.items() if v is not None})
    space = get_space("nb201")
    cells = np.array([space.cell(space.to_raw(LANDMARKS[n])) for n in names])
    seeds = np.array(args.seeds)
    pairs = np.repeat(cells, len(seeds), axis=0)
    pair_seeds = np.tile(seeds, len(cells))
    data = load_dataset(args.dataset)

    start = time.perf_counter()
    result = train_cells(config, pairs, pair_seeds, data)
    wall = time.perf_counter() - start
    device = jax.devices()[0]
    print(f"preset {args.preset}: {config}")
    print(f"dataset {args.dataset} {data.splits}; seeds {args.seeds}")
    print(f"device {device.device_kind} ({device.platform})")
    print(
        f"{len(pairs)} pairs in one program: run {result.seconds:.1f} s, "
        f"compile {result.compile_seconds:.1f} s, wall {wall:.1f} s"
    )
    print()
    print("| cell | test acc | valid acc | params | FLOPs |")
    print("|---|--:|--:|--:|--:|")
    k = len(seeds)
    for i, name in enumerate(names):
        rows = slice(i * k, (i + 1) * k)
        test = result.metrics["test_acc"][rows, -1].mean()
        valid = result.metrics["valid_acc"][rows, -1].mean()
        flag = " (diverged)" if result.diverged[rows].any() else ""
        print(
            f"| {name}{flag} | {100 * test:.1f}% | {100 * valid:.1f}% "
            f"| {result.params[i * k]:,} | {result.flops[i * k]:,} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
