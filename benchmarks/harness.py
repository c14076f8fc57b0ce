"""Speed of the comparison harness: runner throughput and the default `compare` wall time.

    python benchmarks/harness.py [--quick] [--table FILE]

1. Evaluations per second through `run_search` with random search on the tabular backend,
   measured in this one process (target: >= 50,000 per second per core).
2. Wall time of the default `nasbench-lite compare` run as a subprocess, start-up, runs,
   statistics and plots included (target: < 60 s on a 2-core CPU).

Without a shipped table in data/ (and no --table), both use a synthetic complete table
written to a temporary folder, and the output says so.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_EVALS_PER_SECOND = 50_000
TARGET_COMPARE_SECONDS = 60.0


def evals_per_second(table: Path, evals: int, repeats: int) -> float:
    """Best of `repeats` runs of random search for `evals` evaluations, in evaluations/s."""
    from nasbench_lite.backends.registry import make_benchmark
    from nasbench_lite.search.runner import run_search

    bench = make_benchmark("tabular", table=table)
    run_search("random_search", bench, "1000evals", seed=0)  # warm up
    best = 0.0
    for seed in range(repeats):
        started = time.perf_counter()
        trajectory = run_search("random_search", bench, f"{evals}evals", seed=seed)
        elapsed = time.perf_counter() - started
        assert len(trajectory) == evals
        best = max(best, evals / elapsed)
    return best


def compare_wall_seconds(table: Path | None, extra: list[str]) -> tuple[float, str]:
    """Wall time of `python -m nasbench_lite compare` (defaults plus `extra`) and its output."""
    env = dict(os.environ)
    if table is not None:
        env["NASBENCH_LITE_TABLE"] = str(table)
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "nasbench_lite", "compare", "--no-progress"]
        command += ["--out", out, *extra]
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
    return elapsed, done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer evaluations, 5 seeds")
    parser.add_argument("--table", default=None, help="table file (default: the shipped one)")
    args = parser.parse_args(argv)

    from nasbench_lite.table.shipped import default_table_path

    with tempfile.TemporaryDirectory() as scratch:
        if args.table:
            table, source = Path(args.table), args.table
        else:
            try:
                table, source = default_table_path(), "shipped"
            except FileNotFoundError:
                from nasbench_lite.table.synthetic import synthetic_table

                table = Path(scratch) / "synthetic.h5"
                synthetic_table(table, epochs=4)
                source = "synthetic (no shipped table found)"
        evals = 20_000 if args.quick else 200_000
        rate = evals_per_second(table, evals, repeats=2 if args.quick else 3)
        extra = ["--seeds", "5"] if args.quick else []
        # The default table lookup is bypassed only when a table was chosen or synthesised.
        seconds, output = compare_wall_seconds(None if source == "shipped" else table, extra)

    print(f"table: {table} ({source})")
    print(f"{'measure':<46} {'value':>14} {'target':>12}")
    print(
        f"{'random search evaluations/s (1 process)':<46} {rate:>14,.0f} "
        f"{'>= ' + format(TARGET_EVALS_PER_SECOND, ','):>12}"
    )
    label = "default compare wall time (s)" + (" [--seeds 5]" if args.quick else "")
    print(f"{label:<46} {seconds:>14.1f} {'< ' + format(TARGET_COMPARE_SECONDS, 'g'):>12}")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"cores available: {cores}")
    print("compare output:")
    print(output.rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
