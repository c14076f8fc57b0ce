"""How far a 100-class screen's near/far reading can be from the whole table's.

    python benchmarks/screen_resolution.py        # the suite tasks against mnist1d_v2
    python benchmarks/screen_resolution.py --sample 100 --draws 2000

The suite study chose its tasks on 100 sampled classes; the tables then give the same figure
over every class both tables hold. For each suite task against `mnist1d_v2` this prints the
Spearman over `mnist1d_v2`'s top half (seed-mean final test accuracy) over all common classes,
the mean, standard deviation and 95% range of the same figure over `--draws` random subsets
of `--sample` common classes (what a screen of that size would read, given the tables), and
the figure on the study's own sample (`space.sample_classes`, seed 0) where the tables hold it.
Reads the shipped tables only.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from nasbench_lite.table.suite_card import HALF, final_means, top_rows


def top_half_spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman of y against x over x's top half, picked as the suite card picks it."""
    from scipy import stats

    half = top_rows(x, HALF)
    return float(stats.spearmanr(x[half], y[half])[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default="mnist1d_v2", help="the task whose top half")
    parser.add_argument("--tasks", nargs="+", default=["mnist1d_short_warped", "noise_id"])
    parser.add_argument("--sample", type=int, default=100, help="classes a screen trains")
    parser.add_argument("--draws", type=int, default=2000, help="random subsets")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from nasbench_lite.spaces import get_space
    from nasbench_lite.table.reader import Table
    from nasbench_lite.table.shipped import suite_table_path

    ref = final_means(Table.open(suite_table_path(args.reference)))
    study = get_space("nb201").sample_classes(np.random.default_rng(0), 100)
    print(f"reference {args.reference}: {len(ref):,} classes trained")
    print(
        "| task | common classes | all common | screens: mean | sd | 95% range | study's sample |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|")
    rng = np.random.default_rng(args.seed)
    for task in args.tasks:
        other = final_means(Table.open(suite_table_path(task)))
        common = np.array(sorted(set(ref) & set(other)), dtype=np.int64)
        if len(common) < args.sample:
            raise SystemExit(f"{task}: {len(common)} common classes, fewer than --sample")
        x = np.array([ref[c] for c in common])
        y = np.array([other[c] for c in common])
        draws = [rng.choice(len(common), args.sample, replace=False) for _ in range(args.draws)]
        values = np.array([top_half_spearman(x[d], y[d]) for d in draws])
        own = np.flatnonzero(np.isin(common, study))
        own_text = (
            f"{top_half_spearman(x[own], y[own]):+.3f} ({len(own)})" if len(own) >= 8 else "-"
        )
        low, high = np.percentile(values, [2.5, 97.5])
        print(f"| {task} | {len(common):,} | {top_half_spearman(x, y):+.3f} "
              f"| {values.mean():+.3f} | {values.std():.3f} | {low:+.2f} to {high:+.2f} "
              f"| {own_text} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
