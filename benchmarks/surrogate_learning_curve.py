"""Learning curve of the surrogate's ranking with and without zero-cost proxies as features
(NAS-Bench-Suite-Zero, Krishnakumar et al., NeurIPS 2022 Datasets and Benchmarks: proxies
as XGBoost features; on NAS-Bench-201 they raised Kendall tau by 0.19 at 100 training
architectures).

    python benchmarks/surrogate_learning_curve.py TABLE --out docs/surrogate.md

TABLE must hold the proxies (`nasbench-lite proxies --table TABLE`). For each training size
(20 ... 1,000 classes) and repeat, one uniform draw of training classes (the same draw for
every feature set) and four feature sets: the one-hot encoding; + log params and FLOPs; +
the eleven computed proxies; the proxies alone. One small booster per fit (fixed depth 6,
learning rate 0.1, 200 rounds, no ensemble, no cross-validation), target the seed-mean final
validation accuracy, scored on every other class with a finite accuracy: Kendall tau over
all of them and within the top 10% by accuracy. The report goes between the markers of
`--out`.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import numpy as np

SIZES = (20, 50, 100, 200, 500, 1000)
REPEATS = 10
POINT = {"max_depth": 6, "learning_rate": 0.1}
ROUNDS = 200
START, END = "<!-- learning curve: start -->", "<!-- learning curve: end -->"


def feature_sets(table) -> dict[str, np.ndarray]:
    """Name -> float32 (num_unique, F) class features."""
    from nasbench_lite.proxies.names import COMPUTED
    from nasbench_lite.surrogate.features import features, proxy_columns

    reps = np.asarray(table.space.representatives)
    onehot = features(table, reps, ("onehot",))
    cost = features(table, reps, ("cost",))
    proxies = proxy_columns(table, COMPUTED)
    return {
        "one-hot": onehot,
        "+ params, FLOPs": np.concatenate([onehot, cost], axis=1),
        "+ all proxies": np.concatenate([onehot, cost, proxies], axis=1),
        "proxies only": proxies,
    }


def learning_curve(table, sizes=SIZES, repeats=REPEATS) -> dict:
    """(set, size) -> {"kendall": [..], "top10_kendall": [..]} over the repeats."""
    import warnings

    from nasbench_lite.surrogate.boosting import booster_params, train_booster
    from nasbench_lite.surrogate.quality import ranking

    sets = feature_sets(table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        valid = np.nanmean(table.metric("valid_acc")[:, :, -1].astype(np.float64), axis=1)
    rows = np.flatnonzero(np.asarray(table.done) & np.isfinite(valid))
    classes = np.asarray(table.space.canonical_ids)[table.row_raw[rows]]
    target = valid[rows]
    out: dict = {}
    for size in sizes:
        for repeat in range(repeats):
            pick = np.random.default_rng([size, repeat]).permutation(len(rows))
            train, held = pick[:size], pick[size:]
            for name, x in sets.items():
                params = booster_params(POINT, repeat)
                booster = train_booster(x[classes[train]], target[train], params, ROUNDS)
                import xgboost as xgb

                predicted = booster.predict(xgb.DMatrix(x[classes[held]])).astype(np.float64)
                figures = ranking(predicted, target[held])
                cell = out.setdefault((name, size), {"kendall": [], "top10_kendall": []})
                cell["kendall"].append(figures["kendall"])
                cell["top10_kendall"].append(figures["top10_kendall"])
    return out


def report(curve: dict, table, seconds: float, command: str) -> str:
    names = list(dict.fromkeys(name for name, _ in curve))
    sizes = sorted({size for _, size in curve})
    repeats = len(next(iter(curve.values()))["kendall"])

    def cell(name, size, key):
        v = np.asarray(curve[(name, size)][key])
        return f"{v.mean():.3f} ± {v.std(ddof=1):.3f}"

    lines = [
        f"Table `{Path(str(table.source)).name}`: {int(np.sum(table.done)):,} classes. "
        f"{repeats} repeats per size (mean ± sd), one small booster per fit (depth 6, "
        f"learning rate 0.1, {ROUNDS} rounds; no ensemble, no cross-validation, final-epoch "
        f"target only: not the shipped model's recipe, which scores higher), held-out classes: "
        f"all the others. {len(curve) * repeats} fits in {seconds:.0f} s.",
        "",
    ]
    for key, title in (("kendall", "Kendall tau, all held-out classes"),
                       ("top10_kendall", "Kendall tau within the top 10%")):  # fmt: skip
        lines += [f"**{title}**", "", "| training classes | " + " | ".join(names) + " |",
                  "|--:|" + "--:|" * len(names)]  # fmt: skip
        for size in sizes:
            lines.append(f"| {size:,} | " + " | ".join(cell(n, size, key) for n in names) + " |")
        lines.append("")
    if 100 in sizes:
        base = np.asarray(curve[("one-hot", 100)]["kendall"])
        gain = np.asarray(curve[("+ all proxies", 100)]["kendall"]) - base
        lines.append(
            f"At 100 training classes, all proxies raise Kendall tau over one-hot by "
            f"{gain.mean():+.3f} (paired over the repeats, sd {gain.std(ddof=1):.3f}; "
            f"target +0.1, NAS-Bench-201's gain +0.19)."
        )
        lines.append("")
    lines.append(f"Regenerate: `{command}`.")
    return "\n".join(lines)


def main() -> None:
    from nasbench_lite.table.reader import Table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table")
    parser.add_argument("--out", default=None, help="markdown file with the report's markers")
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    args = parser.parse_args()
    table = Table.open(args.table)
    started = time.perf_counter()
    curve = learning_curve(table, tuple(args.sizes), args.repeats)
    script = "python benchmarks/surrogate_learning_curve.py"
    command = f"{script} {args.table} --out {args.out or 'FILE'}"
    text = report(curve, table, time.perf_counter() - started, command)
    if args.out is None:
        print(text)
        return
    path = Path(args.out)
    doc = path.read_text()
    block = f"{START}\n\n{text}\n\n{END}"
    if START in doc:
        doc = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, doc, flags=re.S)
    else:
        doc = doc.rstrip("\n") + "\n\n## Zero-cost proxies as features: learning curve\n\n" + block
    path.write_text(doc + ("" if doc.endswith("\n") else "\n"))


if __name__ == "__main__":
    main()
