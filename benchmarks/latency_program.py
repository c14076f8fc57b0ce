"""What the zero perturbation adds cost: the legacy latency program against the plain one.

    nice -n 19 python benchmarks/latency_program.py --table data/nb201_mnist1d_cpu.h5 \\
        --classes 48 --json latency_program.json

Tables measured before `latency.measure` read only "params" and "batch_stats" timed a program
that also took `network.init`'s zero "perturbations" (LEGACY_PROGRAM): one elementwise add
per convolution's and the classifier's output. This measures both programs of `--classes`
rows drawn uniformly (seed `--seed`) in one process, in the same interleaved rounds beside the
reference network (the recipe of `nasbench-lite latency`), and prints per batch size: the
median and range of legacy / plain CPU seconds per class, the Spearman correlation of the two
programs' latencies (ratio to the reference), and of each with the table's recorded latency.
Whether the shipped latencies keep their ranking under the plain program is the question: a
Spearman between the programs as high as between two runs of one program
(`benchmarks/latency_reliability.py`) says the adds change the scale, not the order.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nasbench_lite.latency.measure import single_thread_flags

single_thread_flags()  # before JAX starts

import numpy as np  # noqa: E402


def main() -> None:
    from scipy import stats

    from nasbench_lite.latency.measure import (
        REFERENCE_CELL,
        LatencyRecipe,
        forward_program,
        time_programs,
    )
    from nasbench_lite.latency.writer import DEFAULT_CHUNK
    from nasbench_lite.table.reader import Table
    from nasbench_lite.train.config import TrainConfig

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", default="data/nb201_mnist1d_cpu.h5")
    parser.add_argument("--classes", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    table = Table.open(args.table)
    identity = table.dataset_identity
    config = TrainConfig.from_dict(table.attrs["config"])
    shape, num_classes = tuple(identity.input_shape), identity.num_classes
    rng = np.random.default_rng(args.seed)
    rows = np.sort(rng.choice(table.num_rows, size=args.classes, replace=False))
    recipe = LatencyRecipe()
    out = {"table": args.table, "classes": args.classes, "seed": args.seed,
           "rows": rows.tolist(), "batches": {}}  # fmt: skip
    half = DEFAULT_CHUNK // 2  # classes per chunk: two programs each, as many as `latency`
    for batch in recipe.batches:
        legacy, plain = [], []
        for start in range(0, len(rows), half):
            cells = table.arrays["cells/ops"][rows[start : start + half]]
            runs = []
            for cell in cells:
                for collections in (None, ("params", "batch_stats")):
                    runs.append(forward_program(config, table.space, cell, shape, num_classes,
                                                batch, collections)[0])  # fmt: skip
            runs.append(forward_program(config, table.space, np.asarray(REFERENCE_CELL), shape,
                                        num_classes, batch)[0])  # fmt: skip
            per_call = time_programs(runs, recipe.calls_for(batch), recipe.rounds, seed=batch)
            ratios = per_call[:, :-1] / per_call[:, -1:]
            medians = np.median(ratios, axis=0)
            legacy.extend(medians[0::2])
            plain.extend(medians[1::2])
        legacy, plain = np.asarray(legacy), np.asarray(plain)
        cost = legacy / plain
        figures = {
            "legacy_over_plain_median": float(np.median(cost)),
            "legacy_over_plain_range": [float(cost.min()), float(cost.max())],
            "spearman_programs": float(stats.spearmanr(legacy, plain)[0]),
        }
        name = f"latency_b{batch}"
        if name in table.metrics:
            recorded = np.asarray(table.metric(name))[rows]
            seen = np.isfinite(recorded)
            if seen.sum() >= 10:
                figures["spearman_table_legacy"] = float(
                    stats.spearmanr(recorded[seen], legacy[seen])[0]
                )
                figures["spearman_table_plain"] = float(
                    stats.spearmanr(recorded[seen], plain[seen])[0]
                )
        out["batches"][str(batch)] = figures
        line = (f"batch {batch}: legacy / plain CPU time median {np.median(cost):.3f} "
                f"(range {cost.min():.3f} to {cost.max():.3f}) over {len(rows)} classes; Spearman "
                f"legacy vs plain {figures['spearman_programs']:.3f}")  # fmt: skip
        if "spearman_table_legacy" in figures:
            line += (f"; with the table's recorded latency: legacy "
                     f"{figures['spearman_table_legacy']:.3f}, plain "
                     f"{figures['spearman_table_plain']:.3f}")  # fmt: skip
        print(line, flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
