"""Lookup speed and memory of the HDF5 table against an NB-201-style dict-of-dicts.

    python benchmarks/lookup.py [--table FILE] [--quick]

Measured side by side, each store in a fresh subprocess: open time, single-query latency
(`Table.query`, and the fast path `Table.lookup(raw, metric)`), vectorised values per second
(`Table.values` over 1M raw indices) and resident memory added by opening (psutil RSS).
The baseline holds the same numbers in NB-201's API shape, pickled:
raw index or arch string -> dataset -> metric -> list of per-epoch values (seed mean and
per seed), plus scalar cost entries; it is "opened" by unpickling.

Targets: open <= 50 ms, fast-path lookup <= 5 us, >= 10M values/s, <= 100 MB after open.
Without --table it uses data/nb201_mnist1d_cpu.h5; with --synthetic (or when no table is
shipped) it writes a synthetic full-size table (`nasbench_lite.table.synthetic`: all classes,
3 seeds, 12 epochs, made-up values), labelled as such, for timing only: the size of a
complete table, whatever share of the shipped one is trained so far.
"""

from __future__ import annotations

import argparse
import gc
import json
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SHIPPED = Path(__file__).resolve().parent.parent / "data" / "nb201_mnist1d_cpu.h5"
TARGETS = {"open_ms": 50.0, "lookup_us": 5.0, "values_per_s": 10e6, "rss_mb": 100.0}


def dict_baseline(table_path: Path, out: Path) -> Path:
    """Pickle the table's contents as NB-201-style nested dicts (every raw cell its own entry)."""
    from nasbench_lite.table.reader import Table

    table = Table.open(table_path)
    dataset = table.attrs["dataset"]
    curves = ("train_loss", "train_acc", "valid_loss", "valid_acc", "test_loss", "test_acc")
    by_raw = {}
    for raw in np.flatnonzero(table.raw_to_row >= 0).tolist():
        row = int(table.raw_to_row[raw])
        info = {m: table.metric(m)[row].mean(axis=0).tolist() for m in curves}
        info["per_seed"] = {
            int(s): {m: table.metric(m)[row, k].tolist() for m in curves}
            for k, s in enumerate(table.seeds)
        }
        info["train_seconds"] = float(table.metric("train_seconds")[row].mean())
        info["params"] = int(table.metric("params")[row])
        info["flops"] = int(table.metric("flops")[row])
        by_raw[raw] = {dataset: info}
    arch_to_raw = {table.space.format(raw): raw for raw in by_raw}
    with open(out, "wb") as f:
        pickle.dump({"arch_to_raw": arch_to_raw, "results": by_raw, "dataset": dataset}, f)
    return out


def _per_call_us(fn, args: list) -> float:
    started = time.perf_counter()
    for a in args:
        fn(a)
    return (time.perf_counter() - started) / len(args) * 1e6


def child(kind: str, path: str, quick: bool) -> dict:
    """Measure one store in this (fresh) process; returns the figures as a dict."""
    import psutil

    rng = np.random.default_rng(0)
    proc = psutil.Process()
    started = time.perf_counter()
    if kind == "table":
        import h5py  # noqa: F401  (import cost is reported apart from open)

        from nasbench_lite.table.reader import Table
    import_s = time.perf_counter() - started
    gc.collect()
    rss0 = proc.memory_info().rss
    started = time.perf_counter()
    if kind == "table":
        store = Table.open(path)
    else:
        with open(path, "rb") as f:
            store = pickle.load(f)
    open_s = time.perf_counter() - started
    gc.collect()
    rss_mb = (proc.memory_info().rss - rss0) / 2**20
    n_single = 20_000 if quick else 200_000
    n_vector = 1_000_000
    if kind == "table":
        # Only trained rows: a partial table (generation still running) refuses the others.
        trained = np.flatnonzero(store.done)
        raws = store.row_raw[trained[rng.integers(0, len(trained), n_single)]].tolist()
        lookup_us = _per_call_us(lambda r: store.lookup(r, "valid_acc"), raws)
        query_us = _per_call_us(store.query, raws[: n_single // 10])
        rows = store.raw_to_row
        vec = np.flatnonzero((rows >= 0) & store.done[np.maximum(rows, 0)])
        vec = vec[rng.integers(0, len(vec), n_vector)]
        store.values("valid_acc", vec[:1000])
        started = time.perf_counter()
        for _ in range(5):
            store.values("valid_acc", vec)
        values_per_s = 5 * n_vector / (time.perf_counter() - started)
        open_best = min(_time(lambda: Table.open(path)) for _ in range(5))
        jax_loaded = any(m in sys.modules for m in ("jax", "jaxlib", "flax"))
    else:
        results, ds = store["results"], store["dataset"]
        keys = list(results)
        raws = [keys[i] for i in rng.integers(0, len(keys), n_single)]
        lookup_us = _per_call_us(lambda r: results[r][ds]["valid_acc"][-1], raws)

        def query(r):  # all nine metrics at the last epoch, seed mean: the same work as query()
            info = results[r][ds]
            out = {m: v[-1] for m, v in info.items() if isinstance(v, list)}
            out.update(train_seconds=info["train_seconds"], params=info["params"],
                       flops=info["flops"])  # fmt: skip
            return out

        query_us = _per_call_us(query, raws[: n_single // 10])
        vec = [keys[i] for i in rng.integers(0, len(keys), n_vector)]
        started = time.perf_counter()
        np.fromiter((results[r][ds]["valid_acc"][-1] for r in vec), np.float64, n_vector)
        values_per_s = n_vector / (time.perf_counter() - started)
        open_best = None
        jax_loaded = None
    return {
        "import_ms": import_s * 1e3,
        "open_ms": open_s * 1e3,
        "open_best_ms": None if open_best is None else open_best * 1e3,
        "lookup_us": lookup_us,
        "query_us": query_us,
        "values_per_s": values_per_s,
        "rss_mb": rss_mb,
        "jax_loaded": jax_loaded,
    }


def _time(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _run_child(kind: str, path: Path, quick: bool) -> dict:
    command = [sys.executable, __file__, "--child", kind, str(path)] + (
        ["--quick"] if quick else []
    )
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=None, help="table file (default: the shipped one)")
    parser.add_argument("--quick", action="store_true", help="fewer single-lookup repeats")
    parser.add_argument(
        "--synthetic",
        action="store_true",
        help="time a synthetic complete table (every class) instead of the shipped one",
    )
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.quick)))
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        if args.table:
            table, source = Path(args.table), "given"
        elif SHIPPED.exists() and not args.synthetic:
            table, source = SHIPPED, "shipped"
        else:
            from nasbench_lite.table.synthetic import synthetic_table

            table = Path(scratch) / "synthetic.h5"
            synthetic_table(table, epochs=12, attrs={"command": "synthetic table for timing"})
            source = "SYNTHETIC full-size table, made-up values, for timing only"
        baseline = dict_baseline(table, Path(scratch) / "dict_of_dicts.pkl")
        sizes = (table.stat().st_size / 2**20, baseline.stat().st_size / 2**20)
        ours = _run_child("table", table, args.quick)
        theirs = _run_child("dict", baseline, args.quick)
        from nasbench_lite.table.reader import Table

        t = Table.open(table)
    cells = int((t.raw_to_row >= 0).sum())
    print(f"table: {table} ({source})")
    print(f"  {t.num_rows} rows, {cells} raw cells, {t.num_seeds} seeds, {t.num_epochs} epochs; "
          f"file {sizes[0]:.1f} MB, pickled dict-of-dicts {sizes[1]:.1f} MB")  # fmt: skip
    rows = [
        ("import (h5py + nasbench_lite.table.reader), ms", "import_ms", ".1f", None),
        ("open, first in process, ms", "open_ms", ".1f", f"<= {TARGETS['open_ms']:g}"),
        ("open, best of 5 more, ms", "open_best_ms", ".1f", ""),
        ("fast-path lookup(raw, metric), us", "lookup_us", ".2f", f"<= {TARGETS['lookup_us']:g}"),
        ("query(raw): nine metrics as a dict, us", "query_us", ".2f", ""),
        ("vectorised values per second", "values_per_s", ",.0f", ">= 10,000,000"),
        ("resident memory added by open, MB", "rss_mb", ".1f", f"<= {TARGETS['rss_mb']:g}"),
    ]
    print(f"{'measure':<42} {'HDF5 Table':>14} {'dict-of-dicts':>14} {'target':>14}")
    for label, key, spec, target in rows:
        print(f"{label:<42} {_fmt(ours[key], spec):>14} {_fmt(theirs[key], spec):>14} "
              f"{target or '':>14}")  # fmt: skip
    print(f"JAX imported by the table process: {ours['jax_loaded']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
