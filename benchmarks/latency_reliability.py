"""How reliable is the measured latency? Two independent measurements of the same classes.

    nice -n 19 python benchmarks/latency_reliability.py --table data/nb201_mnist1d_cpu.h5 \\
        --classes 200 --json latency_reliability.json

Draws `--classes` rows of the table uniformly (seed `--seed`) and measures their latency
twice, each time in a fresh process with XLA on one thread, so nothing compiled or cached is
shared between the two runs, with the recipe of `nasbench-lite latency`: chunks of classes,
each class timed in interleaved rounds beside a reference network (`latency.measure`). Prints,
per batch size and statistic: `ratio` (what the table records: the median ratio to the
reference, times the first chunk's reference time), and the class's own median and minimum
CPU seconds (not corrected for the machine's drift): the Spearman correlation between the two
runs (the target is at least 0.9), the median relative difference, and the Spearman of
latency with the table's FLOPs and params over the sampled classes (HW-NAS-Bench found
latency and FLOPs agree at 0.29 on an EdgeTPU and up to 0.98 elsewhere: FLOPs is not
latency). Where the table records latencies of the sampled rows, they are compared with the
first run as well.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = """
import json, sys
from nasbench_lite.latency.measure import single_thread_flags
single_thread_flags()
import numpy as np
from nasbench_lite.latency.measure import LatencyRecipe, measure
from nasbench_lite.latency.writer import DEFAULT_CHUNK
from nasbench_lite.table.reader import Table
from nasbench_lite.train.config import TrainConfig
table = Table.open(sys.argv[1])
rows = np.asarray(json.loads(sys.argv[2]))
identity = table.dataset_identity
recipe = LatencyRecipe()
keys, out, scale = ("ratio", "median", "minimum"), {}, {}
for start in range(0, len(rows), DEFAULT_CHUNK):  # in chunks, as `nasbench-lite latency`
    part = table.arrays["cells/ops"][rows[start : start + DEFAULT_CHUNK]]
    result = measure(TrainConfig.from_dict(table.attrs["config"]), table.space,
                     tuple(identity.input_shape), identity.num_classes, part, recipe)
    scale = scale or dict(result["reference"])
    result["ratio"] = {b: v * scale[b] for b, v in result["ratio"].items()}
    for k in keys:
        for b, v in result[k].items():
            out.setdefault(k, {}).setdefault(str(b), []).extend(v.tolist())
print(json.dumps(out))
"""


def run_once(table: str, rows: list[int]) -> tuple[dict, float]:
    """One measurement in a fresh process: ({"ratio"|"median"|"minimum": {batch: (n,)
    seconds}}, its wall seconds)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        done = subprocess.run([sys.executable, "-c", CHILD, table, json.dumps(rows)],
                              stdout=out, stderr=subprocess.PIPE, text=False)  # fmt: skip
        if done.returncode:
            raise SystemExit(done.stderr.decode()[-3000:])
        out.seek(0)
        values = json.loads(out.read().decode().strip().splitlines()[-1])
    out = {k: {int(b): np.asarray(v) for b, v in per.items()} for k, per in values.items()}
    return out, time.perf_counter() - started


def main() -> None:
    from scipy import stats

    from nasbench_lite.table.reader import Table

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", default="data/nb201_mnist1d_cpu.h5")
    parser.add_argument("--classes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    table = Table.open(args.table)
    rng = np.random.default_rng(args.seed)
    rows = np.sort(rng.choice(table.num_rows, size=args.classes, replace=False)).tolist()
    first, wall_a = run_once(args.table, rows)
    second, wall_b = run_once(args.table, rows)
    flops = np.asarray(table.metric("flops"))[rows]
    params = np.asarray(table.metric("params"))[rows]
    out = {"table": args.table, "classes": args.classes, "seed": args.seed,
           "wall_seconds": [wall_a, wall_b], "batches": {}, "rows": rows,
           "seconds": {f"{k} {b}": [first[k][b].tolist(), second[k][b].tolist()]
                       for k in first for b in first[k]}}  # fmt: skip
    for statistic in ("ratio", "median", "minimum"):
        for batch in sorted(first[statistic]):
            a, b = first[statistic][batch], second[statistic][batch]
            figures = {
                "spearman_runs": float(stats.spearmanr(a, b)[0]),
                "median_relative_difference": float(np.median(np.abs(a - b) / np.minimum(a, b))),
                "median_ms": float(np.median(a) * 1e3),
                "spearman_flops": float(stats.spearmanr(a, flops)[0]),
                "spearman_params": float(stats.spearmanr(a, params)[0]),
            }
            name = f"latency_b{batch}"
            if statistic == "ratio" and name in table.metrics:
                recorded = np.asarray(table.metric(name))[rows]
                seen = np.isfinite(recorded)
                if seen.sum() >= 10:
                    figures["spearman_table"] = float(stats.spearmanr(a[seen], recorded[seen])[0])
                    figures["table_classes"] = int(seen.sum())
            out["batches"][f"{statistic} {batch}"] = figures
            table_part = ""
            if "spearman_table" in figures:
                table_part = (f"; with the table's {figures['table_classes']} recorded "
                              f"{figures['spearman_table']:.3f}")  # fmt: skip
            difference = 100 * figures["median_relative_difference"]
            print(f"{statistic} of rounds, batch {batch}: Spearman between runs "
                  f"{figures['spearman_runs']:.3f} over {args.classes} classes (median "
                  f"|difference| {difference:.1f}%), median {figures['median_ms']:.3f} ms; "
                  f"Spearman with FLOPs {figures['spearman_flops']:.3f}, with params "
                  f"{figures['spearman_params']:.3f}" + table_part)  # fmt: skip
    print(f"wall seconds of the two runs: {wall_a:.0f}, {wall_b:.0f}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
