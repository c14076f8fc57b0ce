"""Syne Tune's transfer schedulers against ours, on one target table with the same source tasks.

    python benchmarks/transfer_synetune.py [--target FILE] [--sources TASK_OR_FILE ...]
        [--seeds N] [--evals N] [--as-ours] [--out DIR]

Syne Tune's ZeroShotTransfer and BoundingBox (its RandomSearch inside the box) learn from the
source tasks' validation curves (`adapters.synetune_transfer.to_transfer_evaluations` of
`SourceTasks`: no test metric) and run on the target through the Syne Tune adapter's
simulator (`adapters.synetune.simulate`, one worker, seeds 0..N-1). Our `zero_shot_transfer`,
`bounding_box` and `random_search` run on the same target with the same sources and seeds
through `compare`, to a budget of --evals evaluations.

A fair cut. Our strategies are single-fidelity: an evaluation is one cell trained for the
table's whole schedule (its `epochs`, 8 for the shipped tables). Syne Tune's simulator reports
every epoch of a trial as a result. So only the results at the final epoch are kept (one per
trial that reached it: a full-fidelity evaluation), they are numbered in the order they came
back, the incumbent is the best validation accuracy among them, and each run is cut at
--evals of them (rows of `to_results` with evals <= N). The simulated-seconds budget is made
large enough for --evals full trials; a run that ends earlier (ZeroShotTransfer stops when its
portfolio is spent, where ours goes on with random search) keeps its last incumbent.

The export: by default Syne Tune's schedulers see what a user would give them, one row per
raw cell, every epoch (they rank on the best epoch of the seed-mean error; a class weighs in
ZeroShotTransfer's average ranks once per isomorphic cell); ZeroShotTransfer gets the cells
known in every source (it assumes the same configurations everywhere), BoundingBox each
task's own cells. --as-ours exports one row per class at the final epoch, the ranking ours
uses: Syne Tune's choices are then ours (tests/test_synetune_transfer.py). Syne Tune 0.16's
ZeroShotTransfer never walks its portfolio by itself (its `suggest` samples at random); the
adapter's `transfer_scheduler` gives it the `suggest` that does.

Prints one row per strategy (mean final regret in percentage points +- its standard error,
median, mean evaluations reached) and writes DIR/results.csv (every strategy's rows) and
DIR/summary.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasbench_lite.adapters import synetune  # noqa: E402
from nasbench_lite.adapters import synetune_transfer as st  # noqa: E402
from nasbench_lite.compare import CompareConfig, compare  # noqa: E402
from nasbench_lite.search.sources import SourceTasks  # noqa: E402
from nasbench_lite.table.reader import Table  # noqa: E402
from nasbench_lite.table.shipped import task_tables  # noqa: E402

OURS = ("zero_shot_transfer", "bounding_box", "random_search")
THEIRS = {"zero_shot": "synetune_zero_shot", "bounding_box": "synetune_bounding_box"}


def theirs(table, blackbox, sources, name, seeds, evals, as_ours):
    """Syne Tune's scheduler `name` over `seeds` runs, cut at `evals` full evaluations."""
    shared = name == "zero_shot"
    transfer = st.to_transfer_evaluations(
        sources, table.space, classes=as_ours, last_epoch=as_ours, shared=shared
    )
    epochs = table.num_epochs
    # Enough simulated seconds for `evals` full trials even if they were the longest ones,
    # plus a tick of slack per trial (simulate's tick: 1% of the median epoch time).
    longest = np.sort(np.nanmax(table.metric("train_seconds"), axis=1))[::-1]
    budget = 1.01 * float(longest[:evals].sum()) + evals * float(np.nanmedian(longest)) / epochs
    rows = []
    for seed in range(seeds):
        scheduler = st.transfer_scheduler(name, blackbox, transfer, seed)
        frame = synetune.simulate(blackbox, scheduler, budget, seed=seed)
        full = frame[frame[synetune.EPOCH] == epochs]  # one per trial that finished
        got = synetune.to_results(full, table, THEIRS[name], seed)
        rows.append(got[got["evals"] <= evals])
    return pd.concat(rows, ignore_index=True)


def summarise(results: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    last = results.sort_values("evals").groupby(["strategy", "seed"]).tail(1)
    out = []
    for name in order:
        runs = last[last["strategy"] == name]
        regret = 100 * runs["regret"].to_numpy(np.float64)
        sem = regret.std(ddof=1) / np.sqrt(len(regret)) if len(regret) > 1 else float("nan")
        out.append({"strategy": name, "runs": len(regret), "mean_regret_pp": regret.mean(),
                    "sem_pp": sem, "median_regret_pp": float(np.median(regret)),
                    "mean_evals": float(runs["evals"].mean())})  # fmt: skip
    return pd.DataFrame(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default=str(ROOT / "data" / "nb201_mnist1d_cpu.h5"))
    parser.add_argument("--sources", nargs="+", default=["mnist1d_v2", "mnist1d_short_warped"])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--evals", type=int, default=100)
    parser.add_argument(
        "--as-ours",
        action="store_true",
        help="export one row per class at the final epoch (our ranking)",
    )
    parser.add_argument("--out", default=None, help="folder for results.csv and summary.json")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    table = Table.open(args.target)
    pairs = task_tables(args.sources)
    sources = SourceTasks.build(pairs, table, args.target)
    blackbox = synetune.to_blackbox(table)
    parts = [theirs(table, blackbox, sources, name, args.seeds, args.evals, args.as_ours)
             for name in THEIRS]  # fmt: skip
    config = CompareConfig(
        table=args.target, strategies=OURS, seeds=args.seeds, budget=f"{args.evals}evals",
        sources=tuple(pairs), out=None, jobs=1,
    )  # fmt: skip
    ours = compare(config).results
    ours = ours[ours["evals"] <= args.evals]
    results = pd.concat([*parts, ours[parts[0].columns]], ignore_index=True)
    summary = summarise(results, [*THEIRS.values(), *OURS])
    wall = time.perf_counter() - started

    export = "as ours" if args.as_ours else "raw cells"
    print(f"target {args.target}, sources {', '.join(sources.names)}, {args.seeds} seeds, "
          f"{args.evals} full-fidelity evaluations, export {export}")  # fmt: skip
    print(f"{'strategy':24} {'final regret (pp)':>20} {'median':>8} {'evals':>7}")
    for row in summary.itertuples():
        print(f"{row.strategy:24} {row.mean_regret_pp:11.3f} +- {row.sem_pp:5.3f} "
              f"{row.median_regret_pp:8.3f} {row.mean_evals:7.1f}")  # fmt: skip
    print(f"wall {wall:.1f} s")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        results.to_csv(out / "results.csv", index=False)
        record = {"target": args.target, "sources": list(sources.names), "seeds": args.seeds,
                  "evals": args.evals, "as_ours": args.as_ours, "wall_seconds": wall,
                  "summary": summary.to_dict("records")}  # fmt: skip
        (out / "summary.json").write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
