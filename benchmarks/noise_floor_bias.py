"""How the noise floor's within-top Kendall depends on how the top is picked: a simulation
on each table's own spread and noise.

    python benchmarks/noise_floor_bias.py data/nb201_mnist1d_cpu.h5 data/nb201_mnist1d_v2.h5

For each table: its seed-mean final test accuracies are taken as the true values of its
classes, and each repeat draws S new seeds around them with the table's per-seed noise SD in
its top 10% (`table.noise`). Seed-to-seed Kendall tau within the best 10% is then computed
three ways: over the classes best by the TRUE values (what one wants to know), best by the
compared seeds' own mean (the noise floor's first figure) and best by a third seed (its
second figure). The table's own two figures are printed beside them.
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np


def within(final: np.ndarray, rows: np.ndarray, pairs) -> float:
    from scipy.stats import kendalltau

    return float(np.mean([kendalltau(final[rows, a], final[rows, b])[0] for a, b in pairs]))


def simulate(truth: np.ndarray, sd: float, seeds: int, share: float, repeats: int,
             rng: np.random.Generator) -> dict[str, float]:  # fmt: skip
    """Mean over repeats of the within-top Kendall tau picked by truth, own mean, third seed."""
    from nasbench_lite.table.noise import third_seed_kendall

    k = max(2, round(share * len(truth)))
    pairs = list(itertools.combinations(range(seeds), 2))
    out = {"truth": [], "own mean": [], "third seed": []}
    for _ in range(repeats):
        final = truth[:, None] + rng.normal(0.0, sd, (len(truth), seeds))
        out["truth"].append(within(final, np.argsort(-truth)[:k], pairs))
        out["own mean"].append(within(final, np.argsort(-final.mean(axis=1))[:k], pairs))
        out["third seed"].append(third_seed_kendall(final, share))
    return {key: float(np.mean(values)) for key, values in out.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("tables", nargs="+")
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--share", type=float, default=0.10, help="the top share (0.10)")
    args = parser.parse_args(argv)

    from nasbench_lite.table.noise import noise_floor
    from nasbench_lite.table.reader import Table

    rng = np.random.default_rng(0)
    name = f"top {100 * args.share:g}%"
    print("| table | classes | noise SD (pp) | simulated: by truth | by own mean | by third "
          "seed | table: by own mean | by third seed |")  # fmt: skip
    print("|---|--:|--:|--:|--:|--:|--:|--:|")
    for path in args.tables:
        table = Table.open(path)
        floor = noise_floor(table)
        if "kendall_by_third_seed" not in floor:
            print(f"| {path} | too few seeds (3 needed) or classes to say | | | | | | |")
            continue
        done = np.flatnonzero(table.done)
        final = table.metric("test_acc")[done, :, -1].astype(np.float64)
        truth = final.mean(axis=1)
        truth = truth[np.isfinite(truth)]
        sd = floor["noise_sd"]["top 10%"]
        sim = simulate(truth, sd, table.num_seeds, args.share, args.repeats, rng)
        own = floor["kendall"]["test_acc"].get(name, float("nan"))
        third = floor.get("kendall_by_third_seed", {}).get("test_acc", {}).get(name, np.nan)
        print(f"| {table.attrs['dataset']} | {len(truth):,} | {100 * sd:.2f} | "
              f"{sim['truth']:+.3f} | {sim['own mean']:+.3f} | {sim['third seed']:+.3f} | "
              f"{own:+.3f} | {third:+.3f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
