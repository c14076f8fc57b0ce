"""The searches behind benchmarks/weight_sharing.py: one search, a sweep over methods, search
lengths and seeds (in worker processes if asked), the .npz file of their raw results, and the
report's section on search length."""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

KEYS = ("weights", "derived", "seconds", "losses", "wall")  # what one search records
TIMING = ("seeds", "sequential", "vmapped")
FREE = (0, 1, 4)  # none, skip_connect, avg_pool_3x3: the parameter-free ops (OPS order)
COLLAPSE = 4  # parameter-free edges of 6 in a final cell that count as a collapse


def free_edges(space, cells) -> np.ndarray:
    """Per cell of int (..., 6) `cells`, the edges that put no parameterised op into the
    output: a parameter-free op (FREE), or a convolution on a dead edge (one whose output
    never reaches the cell's, `live_edges`). Raw cells hide collapse: [0 0 0 3 0 0] holds 5
    none edges, but [0 0 0 3 3 3]-like cells with 3 none edges can build the same single
    convolution."""
    cells = np.asarray(cells)
    return (np.isin(cells, FREE) | ~space.live_edges(cells)).sum(axis=-1)


def recount(report: str) -> list[str]:
    """The collapse counts of the final cells an earlier report lists (its per-seed table:
    method, epochs, seed, cell, accuracy), as a markdown table: per method and length, how
    many final cells collapsed counting parameter-free ops only, and counting convolutions
    on dead edges too (`free_edges`), with the per-seed counts of the latter."""
    import re

    from nasbench_lite.spaces import get_space

    space = get_space("nb201")
    found: dict = {}
    for line in report.splitlines():
        if not re.match(r"^\| `[a-z_]+` \| \d+ \| \d+ \| `", line):
            continue
        name, length, _, cell = (p.strip() for p in line.strip(" |").split(" | ")[:4])
        ops = space.cell(space.to_raw(cell.strip("`").replace("\\|", "|")))
        found.setdefault((name.strip("`"), int(length)), []).append(ops)
    lengths = sorted({length for _, length in found})
    lines = ["| method | " + " | ".join(f"{n} epochs" for n in lengths) + " |",
             "|---|" + "---|" * len(lengths)]  # fmt: skip
    for name in dict.fromkeys(n for n, _ in found):
        row = []
        for length in lengths:
            cells = np.array(found.get((name, length), []))
            if not len(cells):
                row.append("not run")
                continue
            raw = (np.isin(cells, FREE).sum(axis=1) >= COLLAPSE).sum()
            live = free_edges(space, cells)
            row.append(f"{raw} -> **{(live >= COLLAPSE).sum()}** of {len(cells)} "
                       f"({' / '.join(str(n) for n in live)})")  # fmt: skip
        lines.append(f"| `{name}` | " + " | ".join(row) + " |")
    return lines


def search(name: str, attrs: dict, seed: int, epochs: int) -> dict:
    """One search of `name` on the full space at a table's preset and dataset (`attrs`): per
    epoch the weights (E, 6, 5), derived raw cells (E,), measured seconds (E,), training
    losses (E,); and the search's wall seconds."""
    from nasbench_lite.search.protocol import Result
    from nasbench_lite.search.registry import get_strategy
    from nasbench_lite.spaces import get_space

    started = time.perf_counter()
    params = {"train_config": attrs["config"], "dataset": attrs["dataset"]}
    strategy = get_strategy(name)(get_space("nb201"), search_epochs=epochs, **params)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    state = strategy.init(rng)
    weights, seconds = [], []
    while True:
        state, asked = strategy.ask(state, rng)
        if asked is None:
            break
        weights.append(strategy.weights(state))
        seconds.append(asked.search_seconds)
        state = strategy.tell(state, asked.raw, Result.of(float("nan"), 1.0))  # not used
    return {
        "weights": np.array(weights),
        "derived": np.array(state.derived),
        "seconds": np.array(seconds),
        "losses": np.array(state.losses),
        "wall": np.array(time.perf_counter() - started),
    }


def sweep(attrs, methods, lengths, seeds: int, jobs: int, path: str | None, argv) -> dict:
    """{length: {method: [run of seed 0, 1, ...]}} for every method, length and seed, `jobs`
    searches at a time, in the order given; after each search the results so far (each
    method and length up to its first missing seed) are written to `path` if given."""
    from nasbench_lite.spaces import get_space

    started, space = time.perf_counter(), get_space("nb201")
    # The table's recorded dataset identity: each search rebuilds its examples and checks
    # them against it (a name alone would load whatever this version makes of it).
    from nasbench_lite.datasets import table_dataset

    attrs = {"config": attrs["config"], "dataset": table_dataset(attrs)}
    tasks = [(name, length, seed) for name in methods for length in lengths
             for seed in range(seeds)]  # fmt: skip
    done: dict = {}

    def keep(task, run):
        done[task] = run
        name, length, seed = task
        final = space.format(int(run["derived"][-1]))
        print(f"{name} {length} epochs seed {seed}: {final} ({run['seconds'].sum():.1f} CPU s, "
              f"{float(run['wall']):.1f} s wall)", flush=True)  # fmt: skip
        if path:
            save(path, gathered(done, tasks), None, argv, time.perf_counter() - started)

    if jobs <= 1:
        for task in tasks:
            keep(task, search(task[0], attrs, task[2], task[1]))
        return gathered(done, tasks)
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(search, name, attrs, seed, length): (name, length, seed)
                   for name, length, seed in tasks}  # fmt: skip
        for future in as_completed(futures):
            keep(futures[future], future.result())
    return gathered(done, tasks)


def gathered(done: dict, tasks: list) -> dict:
    """The finished searches as {length: {method: runs}}, each list up to its first missing
    seed."""
    results: dict = {}
    for name, length, seed in tasks:
        runs = results.setdefault(length, {}).setdefault(name, [])
        if (name, length, seed) in done and len(runs) == seed:
            runs.append(done[name, length, seed])
    return {length: {n: r for n, r in by.items() if r} for length, by in results.items()
            if any(by.values())}  # fmt: skip


def save(path: str, results: dict, timing: dict | None, argv: list[str], wall: float) -> None:
    """Write `results` ({length: {method: runs}}) to the .npz file `path`, replacing it only
    once the new file is complete."""
    arrays = {
        f"{name}/{length}/{seed}/{key}": run[key]
        for length, by in results.items()
        for name, runs in by.items()
        for seed, run in enumerate(runs)
        for key in KEYS
    }
    arrays.update({f"timing/{k}": v for k, v in (timing or {}).items()})
    entries = [(name, length, len(runs)) for length, by in results.items()
               for name, runs in by.items()]  # fmt: skip
    partial = Path(path).with_suffix(".partial.npz")
    np.savez(partial, entry_methods=[e[0] for e in entries], entry_lengths=[e[1] for e in entries],
             entry_seeds=[e[2] for e in entries], argv=argv, wall=wall, **arrays)  # fmt: skip
    os.replace(partial, path)


def load(path: str) -> tuple[dict, dict | None, list[str], float]:
    """(results, timing, argv, wall) from a `save` file."""
    saved = np.load(path)
    results: dict = {}
    for name, length, n in zip(saved["entry_methods"], saved["entry_lengths"],
                               saved["entry_seeds"], strict=True):  # fmt: skip
        runs = [{key: saved[f"{name}/{length}/{seed}/{key}"] for key in KEYS}
                for seed in range(n)]  # fmt: skip
        results.setdefault(int(length), {})[str(name)] = runs
    timing = {k: saved[f"timing/{k}"].item() for k in TIMING if f"timing/{k}" in saved}
    return results, timing or None, [str(a) for a in saved["argv"]], float(saved["wall"])


def final_cell(run: dict, space, test: np.ndarray, lookup_seconds: np.ndarray) -> dict:
    """What one search ended with: the final cell's test accuracy, its none/skip/avg_pool
    edges, the weight on parameter-free ops at the last epoch, CPU and wall seconds, and the
    simulated seconds the runner charges (supernet epochs plus the derived cells' lookups)."""
    final = int(run["derived"][-1])
    cell = space.cell(final)
    counts = {op: int((cell == k).sum()) for op, k in (("none", 0), ("skip", 1), ("pool", 4))}
    counts["dead"] = int((~np.isin(cell, FREE) & ~space.live_edges(cell)).sum())  # dead convs
    cpu = float(run["seconds"].sum())
    return {
        "acc": float(test[final]),
        **counts,
        "free": int(free_edges(space, cell)),
        "mass": float(run["weights"][-1][:, list(FREE)].sum(axis=1).mean()),
        "cpu": cpu,
        "wall": float(run["wall"]),
        "sim": cpu + float(lookup_seconds[run["derived"]].sum()),
    }


def by_length(results: dict, space, test, lookup_seconds, budget: float, random: float):
    """The section "Findings by search length": collapse counts per method and length, a
    table per method, the findings in words. `random`: a uniformly drawn cell's mean test
    accuracy; `budget`: compare's default budget in simulated seconds."""
    lengths = sorted(results)
    methods = list(dict.fromkeys(n for length in lengths for n in results[length]))
    ends = {(n, length): [final_cell(r, space, test, lookup_seconds) for r in runs]
            for length in lengths for n, runs in results[length].items()}  # fmt: skip
    lines = [
        "## Findings by search length",
        "",
        "Each length is its own search, not a checkpoint of a longer one: the weights' cosine "
        "learning rate, GDAS's temperature and DARTS's and GDAS's architecture learning rate "
        "(NB-201's 3e-4 scaled so that lr x steps stays NB-201's) are set from the total "
        "epochs. A final "
        f"cell counts as collapsed when at least {COLLAPSE} of its 6 edges are parameter-free "
        "(none, skip_connect, avg_pool_3x3) or dead (a convolution whose output never reaches "
        "the cell's). Collapsed final cells, and the mean test accuracy "
        "of the final cells:",
        "",
        "| method | " + " | ".join(f"{length} epochs" for length in lengths) + " |",
        "|---|" + "---|" * len(lengths),
    ]
    for name in methods:
        row = []
        for length in lengths:
            got = ends.get((name, length))
            collapsed = sum(e["free"] >= COLLAPSE for e in got or [])
            row.append(f"{collapsed} of {len(got)}, {percent(np.mean([e['acc'] for e in got]))}"
                       if got else "not run")  # fmt: skip
        lines.append(f"| `{name}` | " + " | ".join(row) + " |")
    for name in methods:
        lines += [
            "",
            f"### `{name}`",
            "",
            "| epochs | test acc., mean | per seed | parameter-free edges per seed (none + "
            "skip + avg_pool + dead conv) | collapsed | weight on parameter-free ops, last "
            "epoch | CPU s per search (mean) | wall s per seed | simulated s per search (mean) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for length in lengths:
            if (got := ends.get((name, length))) is None:
                continue
            lines.append(
                f"| {length} | {percent(np.mean([e['acc'] for e in got]))} | "
                + " / ".join(percent(e["acc"]) for e in got)
                + " | "
                + " / ".join(
                    f"{e['free']} ({e['none']}+{e['skip']}+{e['pool']}+{e['dead']})" for e in got
                )  # fmt: skip
                + f" | {sum(e['free'] >= COLLAPSE for e in got)} of {len(got)} | "
                f"{np.mean([e['mass'] for e in got]):.2f} | "
                f"{np.mean([e['cpu'] for e in got]):.0f} | "
                + " / ".join(f"{e['wall']:.0f}" for e in got)
                + " | "
                f"{np.mean([e['sim'] for e in got]):.0f} |"
            )
    lines += [
        "",
        "Per seed: seeds 0, 1, 2, ... in order. CPU s: the supernet's measured process CPU "
        "seconds over the whole search (what the runner charges); wall s: each search's wall "
        "time, two searches at a time on the loaded 2-core machine (the first search of a "
        "method in each of the two worker processes includes compiling its programs, about a "
        "minute); simulated s: "
        "CPU s plus the table's train_seconds of every derived cell (one lookup per epoch), "
        f"what a `compare` run is charged; its default budget on this table is {budget:g} s. "
        "CPU seconds grow when more processes share the cores: an earlier run of this script, "
        "one search at a time beside one table generation, measured about 1.1 s per epoch "
        "for DARTS, 0.26 for GDAS, 0.58 for ENAS and 0.51 for RSPS; a quieter machine is "
        "charged less than these tables say.",
        "",
        "In words (the counts are over the seeds run; a few seeds per length, so a count of "
        "0 does not rule out a collapse on other seeds):",
        "",
    ]
    for name in methods:
        parts, worst = [], None
        for length in lengths:
            if (got := ends.get((name, length))) is None:
                continue
            collapsed = sum(e["free"] >= COLLAPSE for e in got)
            poor = sum(e["acc"] < random for e in got)
            mean = percent(np.mean([e["acc"] for e in got]))
            parts.append(
                f"at {length} epochs {collapsed} of {len(got)} collapsed, {poor} below a random "
                f"cell's mean, mean {mean}"
            )
            for seed, e in enumerate(got):
                if worst is None or e["acc"] < worst[0]["acc"]:
                    worst = (e, seed, length)
        e, seed, length = worst
        means = {
            n: np.mean([e["acc"] for e in ends[name, n]]) for n in lengths if (name, n) in ends
        }
        best = max(means, key=means.get)
        spread = max(np.ptp([e["acc"] for e in ends[name, n]]) for n in means)
        lines.append(
            f"- `{name}`: " + "; ".join(parts) + f". Its worst final cell: {percent(e['acc'])} "
            f"(seed {seed}, {length} epochs; {e['none']} none, {e['skip']} skip_connect, "
            f"{e['pool']} avg_pool_3x3, {e['dead']} dead conv edges). The highest mean is at "
            f"{best} epochs; the widest spread over the seeds of one length is "
            f"{100 * spread:.1f} points."
        )
    return lines, ends


def percent(value: float) -> str:
    return f"{100 * value:.2f}%" if np.isfinite(value) else "n/a"


def plot_lengths(ends: dict, path: Path) -> None:
    """Test accuracy (left) and parameter-free edges (right) of the final cells against the
    search length: one line per method through the means, a dot per seed."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    methods = list(dict.fromkeys(name for name, _ in ends))
    for j, name in enumerate(methods):
        lengths = sorted(length for n, length in ends if n == name)
        for ax, key, scale in ((axes[0], "acc", 100), (axes[1], "free", 1)):
            values = [[scale * e[key] for e in ends[name, length]] for length in lengths]
            shift = 1 + 0.03 * (j - (len(methods) - 1) / 2)  # dots of one length side by side
            ax.plot(lengths, [np.mean(v) for v in values], marker="o", color=f"C{j}", label=name)
            for length, v in zip(lengths, values, strict=True):
                ax.scatter([length * shift] * len(v), v, color=f"C{j}", s=12, alpha=0.5)
    ticks = sorted({length for _, length in ends})
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("supernet epochs (log scale)")
    axes[0].set_ylabel("test accuracy of the final cell (%)")
    axes[1].set_ylabel("parameter-free edges of the final cell")
    axes[1].axhline(COLLAPSE - 0.5, color="grey", linestyle=":", linewidth=1)
    axes[1].set_ylim(-0.2, 6.2)
    axes[0].legend(fontsize="small")
    fig.savefig(path, dpi=110)
