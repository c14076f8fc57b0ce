"""How closely two tables of one task and protocol agree: the same runs made again elsewhere.

    python benchmarks/table_agreement.py data/nb201_mnist1d_v2.h5 data/nb201_mnist1d_v2_gpu.h5

Two tables that trained the same classes with the same seeds and examples (e.g. on a CPU
and on a GPU) differ by the machine's arithmetic and what else changed between the runs
(library versions, the trainer's layout). For each metric (final validation and test
accuracy), over the classes both tables finished, it prints: the mean difference (a bias
would show here), the spread of run-by-run differences beside the spread between two seeds
of one table, Spearman between the tables for the same seed beside Spearman between
different seeds of one table, and Spearman / Kendall of the seed means over all classes
and within the first table's top 10%, and where each table's best class ranks on the other.
It refuses tables whose task, protocol, seeds or examples differ.
"""

from __future__ import annotations

import argparse
import sys
from itertools import combinations

import numpy as np

from nasbench_lite.table.storage import read_arrays


def check_same_runs(a_attrs: dict, b_attrs: dict, a: str, b: str) -> None:
    """Refuse two tables that are not the same runs: the fields a resume or merge must agree
    on, compared as `generate` compares them, and the examples' fingerprints to their
    tolerance (a last-bit difference of the inputs passes)."""
    from nasbench_lite.datasets.fingerprint import differences
    from nasbench_lite.generate.run import check_match

    try:
        check_match(a_attrs, b_attrs, "not the same runs made twice", (a, b))
    except ValueError as err:
        raise SystemExit(str(err)) from None
    fingerprints = a_attrs.get("dataset_fingerprint"), b_attrs.get("dataset_fingerprint")
    if None not in fingerprints and (found := differences(*fingerprints)):
        raise SystemExit(f"{a} and {b} trained on other examples: {'; '.join(found)}")


def agreement(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Figures for (rows, seeds) final values ``a`` and ``b`` of the same runs."""
    from scipy.stats import kendalltau, spearmanr

    seeds = a.shape[1]
    a_mean, b_mean = a.mean(1), b.mean(1)
    top = a_mean >= np.quantile(a_mean, 0.9)
    pairs = list(combinations(range(seeds), 2))
    return {
        "classes": len(a),
        "mean a": 100 * a.mean(),
        "mean b": 100 * b.mean(),
        "bias b-a (pp)": 100 * (b - a).mean(),
        "sd of b-a, run by run (pp)": 100 * (b - a).std(),
        "sd of seed i - seed j within a (pp)": 100
        * np.concatenate([a[:, i] - a[:, j] for i, j in pairs]).std(),
        # Accuracy moves in steps of one example: equal by chance, not identical runs.
        "final values equal": float(np.mean(a == b)),
        "Spearman a vs b, same seed": np.mean(
            [spearmanr(a[:, s], b[:, s])[0] for s in range(seeds)]
        ),
        "Spearman a vs a, other seed": np.mean([spearmanr(a[:, i], a[:, j])[0] for i, j in pairs]),
        "Spearman b vs b, other seed": np.mean([spearmanr(b[:, i], b[:, j])[0] for i, j in pairs]),
        "Spearman of seed means, all": spearmanr(a_mean, b_mean)[0],
        "Kendall of seed means, all": kendalltau(a_mean, b_mean)[0],
        "Spearman of seed means, a's top 10%": spearmanr(a_mean[top], b_mean[top])[0],
        "Kendall of seed means, a's top 10%": kendalltau(a_mean[top], b_mean[top])[0],
        "a's best class on b, share above it": float((b_mean > b_mean[np.argmax(a_mean)]).mean()),
        "b's best class on a, share above it": float((a_mean > a_mean[np.argmax(b_mean)]).mean()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("a", help="first table (its top 10% is the one read)")
    parser.add_argument("b", help="second table: the same task, protocol and seeds")
    args = parser.parse_args(argv)
    a_arrays, a_attrs = read_arrays(args.a)
    b_arrays, b_attrs = read_arrays(args.b)
    check_same_runs(a_attrs, b_attrs, args.a, args.b)
    if not np.array_equal(a_arrays["cells/row_raw"], b_arrays["cells/row_raw"]):
        raise SystemExit(f"{args.a} and {args.b} hold different rows")
    done = a_arrays["status/done"] & b_arrays["status/done"]
    print(f"a: {args.a} ({a_attrs.get('hardware', {}).get('device_kind', '?')})")
    print(f"b: {args.b} ({b_attrs.get('hardware', {}).get('device_kind', '?')})")
    print(f"classes both finished: {int(done.sum()):,} of {len(done):,}")
    for metric in ("valid_acc", "test_acc"):
        a = a_arrays[f"metrics/{metric}"][done, :, -1].astype(np.float64)
        b = b_arrays[f"metrics/{metric}"][done, :, -1].astype(np.float64)
        keep = np.isfinite(a).all(1) & np.isfinite(b).all(1)
        print(f"\nfinal {metric} ({int(keep.sum()):,} classes with every run finite)")
        for name, value in agreement(a[keep], b[keep]).items():
            print(f"  {name}: {value:,.3f}" if name != "classes" else f"  {name}: {value:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
