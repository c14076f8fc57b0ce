"""Choose a table preset by measurement: train a fixed sample of classes at each candidate.

    python benchmarks/preset_candidates.py                        # every candidate below
    python benchmarks/preset_candidates.py --candidates c8-e8 c16-e8 --classes 32
    python benchmarks/preset_candidates.py --json out.json        # also save every figure

Each candidate is a ``TrainConfig``. All candidates train the same seeded uniform sample of
class representatives (plus the landmark cells of ``benchmarks/presets.py``) for the same
seeds, in chunks of ``--chunk`` classes x seeds like ``nasbench-lite generate``. Per
candidate the script prints the process CPU seconds and wall seconds per (cell, seed) pair,
the full table's projected wall hours on this machine (all classes x seeds, at the
measured wall rate), and on the sampled classes: best and median seed-mean test accuracy,
the best convolution-free landmark, the mean Spearman correlation of final validation
accuracy between every two seeds, and the Spearman correlation of seed-mean validation and
test accuracy. Seed-to-seed figures use the random sample only (the landmarks would widen
the spread and flatter the correlation).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import time

import numpy as np

from nasbench_lite.devices import use_cpu_cores

POOL3 = dict(stages=3, reduction="pool")
B64 = dict(batch_size=64, learning_rate=0.05, **POOL3)
B128 = dict(batch_size=128, **POOL3)
# Every candidate measured for docs/trainer.md, in the order measured; "cpu" is the one chosen.
CANDIDATES = {
    "c8-e8": dict(channels=8, epochs=8, **B64),
    "c8-e12": dict(channels=8, epochs=12, **B64),
    "c8-e16": dict(channels=8, epochs=16, **B64),
    "c16-e8": dict(channels=16, epochs=8, **B64),
    "c8-e8-n1500": dict(channels=8, epochs=8, train_examples=1500, **B64),
    "c8-e12-n1500": dict(channels=8, epochs=12, train_examples=1500, **B64),
    "c4-e12": dict(channels=4, epochs=12, **B64),
    "c8-e8-lr0.025": dict(channels=8, epochs=8, **{**B64, "learning_rate": 0.025}),
    "c8-e8-b32": dict(channels=8, epochs=8, **{**B64, "batch_size": 32}),
    "c8-e8-b128 (cpu)": dict(channels=8, epochs=8, learning_rate=0.1, **B128),
    "c8-e12-b128": dict(channels=8, epochs=12, learning_rate=0.1, **B128),
    "c8-e8-b128-lr0.05": dict(channels=8, epochs=8, learning_rate=0.05, **B128),
    "c16-e8-b128": dict(channels=16, epochs=8, learning_rate=0.1, **B128),
}
CONV_FREE = ("skip-only", "skip + pool", "all avg_pool_3x3", "empty (all none)")


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def measure(name: str, config, ops: np.ndarray, seeds: np.ndarray, data, chunk: int) -> dict:
    """Train every class of ``ops`` (k, 6) for every seed; (k, S) final metrics and times."""
    from nasbench_lite.train.trainer import train_cells

    k, s = len(ops), len(seeds)
    valid, test = np.zeros((k, s)), np.zeros((k, s))
    wall = cpu = compile_s = 0.0
    for start in range(0, k, chunk):
        rows = np.resize(np.arange(start, min(start + chunk, k)), chunk)  # fixed shape
        real = min(chunk, k - start)
        result = train_cells(config, np.repeat(ops[rows], s, axis=0), np.tile(seeds, chunk), data)
        share = real / chunk  # a padded last chunk counts only its real pairs' share
        wall, cpu = wall + result.seconds * share, cpu + result.cpu_seconds * share
        compile_s += result.compile_seconds
        valid[start : start + real] = result.metrics["valid_acc"][:, -1].reshape(chunk, s)[:real]
        test[start : start + real] = result.metrics["test_acc"][:, -1].reshape(chunk, s)[:real]
    return dict(name=name, valid=valid, test=test, wall=wall / (k * s), cpu=cpu / (k * s),
                compile=compile_s)  # fmt: skip


def summary(run: dict, sample: int, landmarks: list[str], pairs_in_table: int) -> dict:
    valid, test = run["valid"][:sample], run["test"][:sample]
    mean_test = run["test"].mean(axis=1)
    lm = dict(zip(landmarks, mean_test[sample:], strict=True))
    seeds = valid.shape[1]
    pairs = list(itertools.combinations(range(seeds), 2))
    return {
        "candidate": run["name"],
        "cpu s/pair": run["cpu"],
        "wall s/pair": run["wall"],
        "table h": run["wall"] * pairs_in_table / 3600,
        "best": float(mean_test.max()),
        "median": float(np.median(test.mean(axis=1))),
        "conv-free max": max(lm[n] for n in CONV_FREE),
        "seed Spearman": float(np.mean([spearman(valid[:, a], valid[:, b]) for a, b in pairs])),
        "valid-test Spearman": spearman(valid.mean(axis=1), test.mean(axis=1)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES))
    parser.add_argument("--classes", type=int, default=64, help="random classes (default 64)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=8, help="classes per program")
    parser.add_argument("--sample-seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write every figure here")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.candidates) - set(CANDIDATES))
    if unknown:
        parser.error(f"unknown candidates {unknown}; known: {sorted(CANDIDATES)}")
    use_cpu_cores()

    from presets import LANDMARKS

    from nasbench_lite import get_space
    from nasbench_lite.datasets import load_dataset
    from nasbench_lite.train.config import TrainConfig

    space = get_space("nb201")
    data = load_dataset("mnist1d")
    rng = np.random.default_rng(args.sample_seed)
    classes = np.sort(np.asarray(space.sample_classes(rng, args.classes)))
    raws = list(np.asarray(space.representatives)[classes])
    raws += [space.to_raw(cell) for cell in LANDMARKS.values()]
    ops = np.asarray(space.cells(raws))
    seeds = np.arange(args.seeds)
    pairs_in_table = space.num_unique * args.seeds
    print(f"{args.classes} random classes (sample seed {args.sample_seed}) + {len(LANDMARKS)} "
          f"landmarks, seeds {seeds.tolist()}, chunks of {args.chunk} classes")  # fmt: skip
    rows, saved = [], {}
    for name in args.candidates:
        config = TrainConfig(**CANDIDATES[name])
        start = time.perf_counter()
        run = measure(name, config, ops, seeds, data, args.chunk)
        row = summary(run, args.classes, list(LANDMARKS), pairs_in_table)
        rows.append(row)
        saved[name] = {**row, "config": dataclasses.asdict(config),
                       "valid": run["valid"].tolist(), "test": run["test"].tolist()}  # fmt: skip
        print(f"{name}: {time.perf_counter() - start:.0f} s in all, {run['compile']:.0f} s "
              f"compiling; {row}", flush=True)  # fmt: skip
    print()
    print("| candidate | CPU s/pair | wall s/pair | table h | best | median | conv-free max "
          "| seed Spearman | valid-test Spearman |")  # fmt: skip
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in rows:
        print(f"| {r['candidate']} | {r['cpu s/pair']:.2f} | {r['wall s/pair']:.2f} "
              f"| {r['table h']:.1f} | {100 * r['best']:.1f}% | {100 * r['median']:.1f}% "
              f"| {100 * r['conv-free max']:.1f}% | {r['seed Spearman']:.3f} "
              f"| {r['valid-test Spearman']:.3f} |")  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump(saved, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
