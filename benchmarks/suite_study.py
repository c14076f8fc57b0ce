"""Choose protocol v2 and the suite's tasks by measurement (docs/suite_study.md).

    python benchmarks/suite_study.py --part protocol --json protocol.json
    python benchmarks/suite_study.py --part protocol --candidates t6k-v5k t8k-v5k
    python benchmarks/suite_study.py --part tasks --candidates mnist1d_v2 ceiling --seeds 0 1 2 \\
        --json tasks.json
    python benchmarks/suite_study.py --part report --inputs tasks.json screen.json

protocol: every candidate trains the same classes (``--top`` random classes of the shipped
table's top decile by seed-mean test accuracy plus ``--others`` random classes of the rest)
for ``--seeds`` seeds on one draw of MNIST-1D (generator defaults, seed 42, 8,000 train /
10,000 valid / 10,000 test; a candidate uses prefixes), in fixed-shape chunks. It prints
the top-decile per-seed noise SD, seed-to-seed Kendall tau within the top decile (test and
valid, mean over seed pairs), the top-decile mean, the best seed-mean test accuracy, the
process CPU seconds per pair and the projected hours of a whole table (5,044 classes x 3
seeds) on the idle 2-core machine (CPU s/pair x 15,132 / 2 cores).

tasks: every candidate task trains the same ``--classes`` uniformly sampled classes under
protocol v2 (``PRESETS["v2"]``) for the given seeds. report: merges the JSON files of
earlier runs (same classes; seeds joined) and prints, per task, its best and median
seed-mean accuracy and the Spearman correlation with mnist1d_v2 over mnist1d_v2's top half
of the sampled classes (seed-mean final test and valid accuracy), over all classes, and the
percentile of mnist1d_v2's best sampled cell on the task.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import time

import numpy as np

from nasbench_lite.devices import use_cpu_cores

PAIRS_IN_TABLE = 5044 * 3
# Protocol candidates: split prefixes of one draw, all on the cpu preset's network.
V5K = dict(eval_examples=5000, test_every_epoch=False)
PROTOCOLS = {
    "cpu-today": dict(train_examples=3000, eval_examples=1000),
    "t6k-v5k": dict(train_examples=6000, **V5K),
    "t6k-v5k-e6": dict(train_examples=6000, epochs=6, **V5K),
    "t5k-v5k": dict(train_examples=5000, **V5K),
    "t4k-v5k": dict(train_examples=4000, **V5K),
    "t8k-v5k": dict(train_examples=8000, **V5K),
    "t6k-v10k": dict(train_examples=6000, eval_examples=10000, test_every_epoch=False),
}


def task_candidates() -> dict:
    """Candidate tasks, by name: the suite's, the same-task ceiling and screened variants."""
    from nasbench_lite.datasets.tasks import SUITE, Task

    base = SUITE["mnist1d_v2"]

    def variant(name: str, description: str, seed: int, **args) -> Task:
        return Task(name, description, tuple(args.items()), seed)

    def own(name: str, description: str, seed: int, family: str, **args) -> Task:
        return Task(name, description, tuple(args.items()), seed, family=family)

    found = {
        "ceiling": base.replace(name="ceiling", description="mnist1d_v2 redrawn", seed=43),
        "short": variant("short", "20 samples a sequence", 44, final_seq_length=20),
        "long": variant("long", "80 samples a sequence", 45, final_seq_length=80),
        "aligned": variant("aligned", "no translation", 46, max_translation=1),
        "wide": variant(
            "wide",
            "36-sample templates, little padding",
            47,
            template_len=36,
            padding=(6, 12),
            max_translation=24,
        ),  # fmt: skip
        "warp": variant("warp", "3x scale and shear", 48, scale_coeff=1.2, shear_scale=2.25),
        # Second screen (docs/suite_study.md, "Second screen").
        "aligned-noisy": variant(
            "aligned-noisy",
            "no translation, 5x iid noise",
            50,
            max_translation=1,
            iid_noise_scale=0.1,
        ),  # fmt: skip
        "short-near": variant(
            "short-near",
            "20 samples a sequence, translation up to 12",
            51,
            final_seq_length=20,
            max_translation=12,
        ),  # fmt: skip
        "noisy-near": variant(
            "noisy-near",
            "30 samples a sequence, 2x correlated and 2.5x iid noise",
            52,
            final_seq_length=30,
            corr_noise_scale=0.5,
            iid_noise_scale=0.05,
        ),  # fmt: skip
        "aligned-shuffled": variant(
            "aligned-shuffled",
            "no translation, positions shuffled by one fixed permutation",
            53,
            max_translation=1,
            shuffle_seq=True,
        ),  # fmt: skip
        "aligned-noisier": variant(
            "aligned-noisier",
            "no translation, 7.5x iid noise",
            54,
            max_translation=1,
            iid_noise_scale=0.15,
        ),  # fmt: skip
        "aligned-noisy-12": variant(
            "aligned-noisy-12",
            "no translation, 6x iid noise",
            55,
            max_translation=1,
            iid_noise_scale=0.12,
        ),  # fmt: skip
        "aligned-shuffled-noisy": variant(
            "aligned-shuffled-noisy",
            "no translation, positions shuffled by one fixed permutation, 4x iid noise",
            56,
            max_translation=1,
            shuffle_seq=True,
            iid_noise_scale=0.08,
        ),  # fmt: skip
        # Third screen: no translation, made harder without iid noise.
        "aligned-short": variant(
            "aligned-short",
            "no translation, 20 samples a sequence",
            57,
            max_translation=1,
            final_seq_length=20,
        ),  # fmt: skip
        "aligned-warp": variant(
            "aligned-warp",
            "no translation, 3x scale and shear",
            58,
            max_translation=1,
            scale_coeff=1.2,
            shear_scale=2.25,
        ),  # fmt: skip
        "aligned-short-warp": variant(
            "aligned-short-warp",
            "no translation, 20 samples, 3x scale and shear",
            59,
            max_translation=1,
            final_seq_length=20,
            scale_coeff=1.2,
            shear_scale=2.25,
        ),  # fmt: skip
        "aligned-clutter": variant(
            "aligned-clutter",
            "no translation, 4x correlated background noise",
            60,
            max_translation=1,
            corr_noise_scale=1.0,
        ),  # fmt: skip
        # A task outside the MNIST-1D generator: the label is the noise distribution.
        "noise-id": Task(
            "noise-id",
            "which of ten unit-variance distributions drew the sequence",
            (),
            61,
            family="noise",
        ),  # fmt: skip
        # Fourth screen: the label is where a bump sits, or how many there are (bumps.py).
        "position-n3": own(
            "position-n3",
            "which tenth of the sequence holds the one bump; noise 0.3",
            62,
            "position",
            noise=0.3,
        ),  # fmt: skip
        "position-n5": own(
            "position-n5",
            "which tenth of the sequence holds the one bump; noise 0.5",
            63,
            "position",
            noise=0.5,
        ),  # fmt: skip
        "count-n3": own("count-n3", "how many bumps (0-9); noise 0.3", 64, "count", noise=0.3),
    }
    return {**SUITE, **found}


def kendall(a, b) -> float:
    from scipy.stats import kendalltau

    return float(kendalltau(a, b).statistic)


def spearman(a, b) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def measure(
    config, ops: np.ndarray, seeds: np.ndarray, data, chunk: int, save=None, earlier=None
) -> dict:
    """Train every class of ``ops`` (k, 6) for every seed; (k, S) final metrics and times.

    ``save(run)``, when given, receives the figures of the classes done after every chunk.
    ``earlier``: a saved run of the same classes and seeds (its first classes done); those
    classes are kept, not trained again.
    """
    from nasbench_lite.train import train_cells

    k, s = len(ops), len(seeds)
    valid, test = np.zeros((k, s)), np.zeros((k, s))
    wall = cpu = compile_s = 0.0
    first = 0
    if earlier:
        first = len(earlier["test"])
        valid[:first], test[:first] = earlier["valid"], earlier["test"]
        wall, cpu = earlier["wall"] * first * s, earlier["cpu"] * first * s
        compile_s = earlier["compile"]
        print(f"  {first}/{k} classes kept from the earlier run", flush=True)
    run = None
    for start in range(first, k, chunk):
        rows = np.resize(np.arange(start, min(start + chunk, k)), chunk)  # fixed shape
        real = min(chunk, k - start)
        result = train_cells(config, np.repeat(ops[rows], s, axis=0), np.tile(seeds, chunk), data)
        share = real / chunk  # a padded last chunk counts only its real pairs' share
        wall, cpu = wall + result.seconds * share, cpu + result.cpu_seconds * share
        compile_s += result.compile_seconds
        valid[start : start + real] = result.metrics["valid_acc"][:, -1].reshape(chunk, s)[:real]
        test[start : start + real] = result.metrics["test_acc"][:, -1].reshape(chunk, s)[:real]
        done = start + real
        print(f"  {done}/{k} classes, {cpu / (done * s):.2f} CPU s/pair", flush=True)
        run = dict(valid=valid[:done].tolist(), test=test[:done].tolist(),
                   wall=wall / (done * s), cpu=cpu / (done * s), compile=compile_s)  # fmt: skip
        if save is not None:
            save(run, done)
    return run


def seed_pairs(values: np.ndarray, fn) -> float:
    pairs = itertools.combinations(range(values.shape[1]), 2)
    return float(np.mean([fn(values[:, a], values[:, b]) for a, b in pairs]))


def protocol_row(name: str, run: dict, load: float = 1.0) -> dict:
    """One candidate's figures; ``load``: measured / uncontended CPU s per pair (see report)."""
    valid, test = np.asarray(run["valid"]), np.asarray(run["test"])
    top, mix = run["top"], run["mix"] / load
    return {
        "candidate": name,
        "top classes": top,
        "noise pp": 100 * float(np.sqrt(test[:top].var(axis=1, ddof=1).mean())),
        "Kendall test": seed_pairs(test[:top], kendall),
        "Kendall valid": seed_pairs(valid[:top], kendall),
        "top mean": float(test[:top].mean()),
        "best": float(test.mean(axis=1).max()),
        "CPU s/pair": run["cpu"],
        "wall s/pair": run["wall"],
        "table CPU s/pair": run["cpu"] * mix,
        "table h": run["cpu"] * mix * PAIRS_IN_TABLE / 2 / 3600,
    }


def task_row(name: str, run: dict, ref: dict) -> dict:
    row = {"task": name, "seeds": len(run["seeds"])}
    for metric in ("test", "valid"):
        mine, theirs = np.asarray(run[metric]).mean(1), np.asarray(ref[metric]).mean(1)
        half = np.argsort(-theirs)[: len(theirs) // 2]
        row[f"best {metric}"] = float(mine.max())
        row[f"top-half rho {metric}"] = spearman(mine[half], theirs[half])
        row[f"all rho {metric}"] = spearman(mine, theirs)
    mine, theirs = np.asarray(run["test"]).mean(1), np.asarray(ref["test"]).mean(1)
    row["median test"] = float(np.median(mine))
    # Share of sampled classes scoring at least mnist1d_v2's best (test): 0.01 = top 1%.
    row["ref best pct"] = float((mine >= mine[np.argmax(theirs)]).mean())
    test, row["own seed rho"] = np.asarray(run["test"]), None
    if test.shape[1] > 1:
        half = np.argsort(-test.mean(1))[: len(test) // 2]
        row["own seed rho"] = seed_pairs(test[half], spearman)
    return row


def op_row(name: str, run: dict) -> dict:
    """Over the run's own better half of classes (seed-mean test accuracy): the Spearman
    correlation of accuracy with the count of each op on the six edges, the per-seed noise
    (root mean variance over seeds) and the spread of the seed means."""
    from nasbench_lite import get_space

    space = get_space("nb201")
    test = np.asarray(run["test"], np.float64)
    mean = test.mean(1)
    half = np.argsort(-mean)[: len(mean) // 2]
    ops = np.array([space.cell(space.representatives[c]) for c in run["classes"]])[half]
    row = {"task": name}
    for k, op in enumerate(space.ops):
        row[op] = spearman(mean[half], (ops == k).sum(1))
    noise = np.sqrt(np.mean(test[half].var(1, ddof=1)))
    row["top half: per-seed noise / spread of the means"] = (
        f"{100 * noise:.2f} / {100 * mean[half].std():.2f} pp"
    )
    return row


def print_table(rows: list[dict], formats: dict) -> None:
    print("| " + " | ".join(rows[0]) + " |")
    print("|---" * len(rows[0]) + "|")
    for r in rows:
        cells = [formats.get(k, "{}").format(v) if v is not None else "" for k, v in r.items()]
        print("| " + " | ".join(cells) + " |")


PCT = "{:.1%}"
FORMATS = {"noise pp": "{:.2f}", "Kendall test": "{:+.3f}", "Kendall valid": "{:+.3f}",
           "top mean": PCT, "best": PCT, "CPU s/pair": "{:.2f}", "wall s/pair": "{:.2f}",
           "table CPU s/pair": "{:.2f}",
           "table h": "{:.1f}", "best test": PCT, "best valid": PCT, "median test": PCT,
           "top-half rho test": "{:+.3f}", "top-half rho valid": "{:+.3f}",
           "all rho test": "{:+.3f}", "all rho valid": "{:+.3f}", "ref best pct": PCT,
           "own seed rho": "{:+.3f}"}  # fmt: skip
OP_FORMATS = dict.fromkeys(
    ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"), "{:+.2f}"
)


def report(paths: list[str]) -> None:
    runs: dict = {}
    protocols: dict = {}
    for path in paths:
        with open(path) as f:
            saved = json.load(f)
        if saved["part"] == "protocol":
            protocols.update(saved["runs"])
            continue
        for name, run in saved["runs"].items():
            if name not in runs:
                runs[name] = run
                continue
            old = runs[name]
            if set(old["seeds"]) & set(run["seeds"]):  # the same seeds again (a resumed run):
                if len(run["classes"]) > len(old["classes"]):  # keep the one with more classes
                    runs[name] = run
                continue
            # More seeds of the same task: join them on common classes.
            both = [c for c in old["classes"] if c in set(run["classes"])]
            for key in ("valid", "test"):
                a = np.asarray(old[key])[[old["classes"].index(c) for c in both]]
                b = np.asarray(run[key])[[run["classes"].index(c) for c in both]]
                old[key] = np.concatenate([a, b], axis=1).tolist()
            old["seeds"], old["classes"] = old["seeds"] + run["seeds"], both
    if protocols:
        # The cpu preset re-measured here against the cpu table's own CPU seconds per
        # pair gives the load factor of this (shared) machine: CPU time grows when other
        # processes share the cores, so projections are divided by it.
        load = 1.0
        if "cpu-today" in protocols:
            today = protocols["cpu-today"]
            load = today["cpu"] * today["mix"] / today["table_seconds"]
            print(f"load factor (cpu preset here / in the cpu table): {load:.2f}")
        print_table([protocol_row(n, r, load) for n, r in protocols.items()], FORMATS)
    if not runs:
        return
    # Each task is read against mnist1d_v2 on the classes both have (a run may cover a
    # random subset of the sample, or have stopped early).
    ref = runs["mnist1d_v2"]
    rows = []
    for name, run in runs.items():
        common = [c for c in ref["classes"] if c in set(run["classes"])]
        pick = {
            key: {
                k: np.asarray(r[k])[[r["classes"].index(c) for c in common]].tolist()
                for k in ("valid", "test")
            }
            for key, r in (("run", run), ("ref", ref))
        }
        row = task_row(name, {**run, **pick["run"]}, pick["ref"])
        rows.append({"task": name, "classes": len(common), **row})
    print(f"reference mnist1d_v2: {len(ref['classes'])} classes, seeds {ref['seeds']}")
    print_table(rows, FORMATS)
    several = {name: run for name, run in runs.items() if len(run["seeds"]) > 1}
    if several:
        print("\nWhich ops a task rewards, over its own top half (seed-mean test accuracy): "
              "Spearman of accuracy with how many edges hold each op")  # fmt: skip
        print_table([op_row(name, run) for name, run in several.items()], OP_FORMATS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--part", choices=("protocol", "tasks", "report"), required=True)
    parser.add_argument("--candidates", nargs="+", default=None)
    parser.add_argument("--top", type=int, default=40, help="top-decile classes (protocol)")
    parser.add_argument("--others", type=int, default=20, help="other classes (protocol)")
    parser.add_argument("--classes", type=int, default=100, help="classes (tasks)")
    parser.add_argument("--subset", type=int, default=0, help="train only N of them (tasks)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--chunk", type=int, default=10, help="classes per program")
    parser.add_argument("--sample-seed", type=int, default=0)
    parser.add_argument("--inputs", nargs="+", default=[], help="JSON files (report)")
    parser.add_argument("--json", default=None, help="save raw per-class, per-seed results")
    parser.add_argument(
        "--resume",
        default=None,
        help="JSON of an earlier tasks run: a candidate's classes done there (same sample, "
        "seeds and task) are kept and the run continues after them",
    )
    args = parser.parse_args(argv)
    if args.part == "report":
        report(args.inputs)
        return 0
    use_cpu_cores()

    from nasbench_lite import get_space
    from nasbench_lite.datasets.tasks import Task, load_task
    from nasbench_lite.table import Table
    from nasbench_lite.train import PRESETS

    space = get_space("nb201")
    rng = np.random.default_rng(args.sample_seed)
    seeds = np.asarray(args.seeds)
    if args.part == "protocol":
        table = Table.open("data/nb201_mnist1d_cpu.h5")
        score = table.values("test_acc", space.representatives)  # (5044,) seed mean, final
        order = np.argsort(-score)
        decile = order[: len(order) // 10]
        classes = np.concatenate([rng.choice(decile, args.top, replace=False),
                                  rng.choice(order[len(order) // 10 :], args.others,
                                             replace=False)])  # fmt: skip
        # The sample is rich in costly top-decile cells: scale its cost to the table's mix
        # by the cpu table's per-class CPU seconds (apportioned by FLOPs).
        seconds = table.values("train_seconds", space.representatives)
        mix = float(seconds.mean() / seconds[classes].mean())
        print(f"table / sample cost per pair at the cpu preset: {mix:.3f}")
        names = args.candidates or list(PROTOCOLS)
        pool = Task("mnist1d_pool", "MNIST-1D defaults", (), 42, 8000, 10000, 10000)
        tasks = {name: pool for name in names}
        configs = {n: dataclasses.replace(PRESETS["cpu"], **PROTOCOLS[n]) for n in names}
    else:
        classes = np.sort(space.sample_classes(rng, args.classes))
        if args.subset:  # a seeded random subset of the same sample, in random order
            pick = np.random.default_rng(args.sample_seed + 1).permutation(len(classes))
            classes = classes[pick[: args.subset]]  # a run stopped early keeps a random part
        known = task_candidates()
        names = args.candidates or list(known)
        tasks = {name: known[name] for name in names}
        configs = {name: PRESETS["v2"] for name in names}
    ops = np.asarray(space.cells(np.asarray(space.representatives)[classes]))
    print(f"{len(classes)} classes, seeds {seeds.tolist()}, chunks of {args.chunk}", flush=True)
    saved, rows = {}, []
    for name in names:
        start = time.perf_counter()
        data = load_task(tasks[name])
        print(f"{name}: {tasks[name].identity()}", flush=True)

        def save(run: dict, done: int, name: str = name) -> None:
            run.update(classes=classes[:done].tolist(), seeds=seeds.tolist(),
                       config=configs[name].to_dict(), task=tasks[name].identity())  # fmt: skip
            saved[name] = run
            if args.json:
                with open(args.json, "w") as f:
                    json.dump({"part": args.part, "runs": saved}, f)

        earlier = None
        if args.resume:
            with open(args.resume) as f:
                old = json.load(f)["runs"].get(name)
            done = 0 if old is None else len(old["classes"])
            if old is not None and (old["seeds"] != seeds.tolist()
                                    or old["classes"] != classes[:done].tolist()
                                    or old["task"] != tasks[name].identity()):  # fmt: skip
                raise SystemExit(f"--resume {args.resume}: {name}'s earlier run differs")
            earlier = old
        run = measure(configs[name], ops, seeds, data, args.chunk, save, earlier)
        if run is None:  # every class was done before
            run = dict(earlier)
            save(run, len(classes))
        if args.part == "protocol":
            run.update(top=args.top, mix=mix, table_seconds=float(seconds.mean()))
            save(run, len(classes))
            rows.append(protocol_row(name, run))
            print(rows[-1], flush=True)
        print(f"{name}: {time.perf_counter() - start:.0f} s wall in all", flush=True)
    if rows:
        print_table(rows, FORMATS)
    elif "mnist1d_v2" in saved:
        report([args.json] if args.json else [])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
