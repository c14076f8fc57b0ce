"""What the weight-sharing strategies find: darts, gdas, enas and rsps with a few seeds at a
table's trainer preset and one or more search lengths, their derived cells looked up in the
table; writes docs/weight_sharing.md, the plot of architecture weights over supernet epochs
and the plot of the final cells against the search length.

    nice -n 10 python benchmarks/weight_sharing.py                   # the cpu table, 3 seeds
    python benchmarks/weight_sharing.py --seeds 2 --search-epochs 10 --table T.h5
    python benchmarks/weight_sharing.py --search-epochs 25 50 100 200 --jobs 2  # one search
                                                      # per length, two processes at a time
    python benchmarks/weight_sharing.py --timing      # also: vmap over seeds, or one at a time?
    python benchmarks/weight_sharing.py --save r.npz  # keep the raw results (written again
                                                      # after every search); --load r.npz
                                                      # writes the report again from them

Each search runs on the whole NB-201 space (not restricted to the cells the table holds), so
its derived cell is the method's own choice; cells whose class the table has not trained yet
are reported as such. After every supernet epoch the script records the architecture weights
(per-edge op probabilities), the derived cell and the measured supernet seconds. NAS-Bench-201
(Dong & Yang, ICLR 2020) found DARTS collapsing onto all-skip cells; the report counts the
parameter-free edges (skip_connect, none, avg_pool_3x3, and convolutions on dead edges, whose
output never reaches the cell's) of the final derived cells at every
search length, and, for each method at its longest length, at the first and the last epoch
with the probability the architecture puts on those ops.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from weight_sharing_runs import (
    COLLAPSE,
    FREE,
    by_length,
    free_edges,
    load,
    percent,
    plot_lengths,
    recount,
    save,
    sweep,
)

ROOT = Path(__file__).resolve().parent.parent
METHODS = ("darts", "gdas", "enas", "rsps")


def table_means(table) -> tuple[np.ndarray, np.ndarray]:
    """(valid, test) (num_cells,) seed-mean final accuracies per raw cell, NaN where the
    table has no trained row."""
    rows = np.asarray(table.raw_to_row)
    known = rows >= 0
    known[known] = table.done[rows[known]]
    out = []
    for metric in ("valid_acc", "test_acc"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # rows not trained yet: all NaN
            values = np.nanmean(table.metric(metric)[:, :, -1].astype(np.float64), axis=1)
        per_raw = np.full(len(rows), np.nan)
        per_raw[known] = values[rows[known]]
        out.append(per_raw)
    return out[0], out[1]


def vmap_timing(table, seeds: int) -> dict:
    """CPU seconds of one DARTS epoch for `seeds` searches: vmapped in one program, against
    one compiled search run `seeds` times (compilation excluded from both)."""
    import jax

    from nasbench_lite.spaces import get_space
    from nasbench_lite.strategies import _supernet as supernet
    from nasbench_lite.strategies._weight_sharing import _arrays
    from nasbench_lite.strategies.darts import DARTS

    strategy = DARTS(get_space("nb201"), table.attrs["config"], table.dataset_identity)
    arrays, classes = _arrays(strategy.dataset, strategy.train_config)
    init, epoch, _ = supernet.make_programs(strategy, classes, len(arrays[0]), len(arrays[2]))
    keys = jax.random.split(jax.random.PRNGKey(0), seeds)
    steps = strategy.steps_per_epoch()
    rates = supernet.cosine_rates(strategy.learning_rate, steps, 0, steps)
    lr, progress = np.float32(strategy.arch_learning_rate), np.float32(0)
    single = jax.jit(epoch)
    batched = jax.jit(jax.vmap(epoch, (0, 0) + (None,) * 7))
    searches = jax.vmap(init, (0, None))(keys, arrays[0])
    one = jax.tree_util.tree_map(lambda a: a[0], searches)
    jax.block_until_ready(single(one, keys[0], rates, lr, progress, *arrays))  # compile
    jax.block_until_ready(batched(searches, keys, rates, lr, progress, *arrays))  # compile
    start = time.process_time()
    for k in range(seeds):
        s = jax.tree_util.tree_map(lambda a, k=k: a[k], searches)
        jax.block_until_ready(single(s, keys[k], rates, lr, progress, *arrays))
    sequential = time.process_time() - start
    start = time.process_time()
    jax.block_until_ready(batched(searches, keys, rates, lr, progress, *arrays))
    return {"seeds": seeds, "sequential": sequential, "vmapped": time.process_time() - start}


def plot(results: dict, ops: tuple[str, ...], path: Path) -> None:
    """Top row: mean (over seeds and edges) probability of each op per epoch; bottom row: the
    mean number of edges with each op in the derived cells."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from nasbench_lite.spaces import get_space

    space = get_space("nb201")
    fig = Figure(figsize=(4 * len(results), 6.4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, len(results), sharex=True, squeeze=False)
    for j, (name, runs) in enumerate(results.items()):
        weights = np.mean([r["weights"] for r in runs], axis=0)  # (E, 6, 5)
        cells = np.array([space.cells(r["derived"]) for r in runs])  # (S, E, 6)
        epochs = np.arange(1, weights.shape[0] + 1)
        for k, op in enumerate(ops):
            axes[0, j].plot(epochs, weights[:, :, k].mean(axis=1), label=op)
            axes[1, j].plot(epochs, (cells == k).sum(axis=2).mean(axis=0), label=op)
        axes[0, j].set_title(name)
        axes[0, j].set_ylim(bottom=0)
        axes[1, j].set_ylim(0, 6)
        axes[1, j].set_xlabel("supernet epoch")
    axes[0, 0].set_ylabel("architecture weight (mean over edges)")
    axes[1, 0].set_ylabel("edges of the derived cell")
    axes[0, -1].legend(fontsize="small")
    fig.savefig(path, dpi=110)


def findings(results: dict, ops: tuple[str, ...]) -> list[str]:
    """Per-op weights at the first and last epoch, and for DARTS and GDAS how many final
    cells collapsed onto parameter-free ops (at least COLLAPSE of 6 edges; NB-201's DARTS:
    6 skip connections)."""
    from nasbench_lite.spaces import get_space

    space = get_space("nb201")
    lines = [
        "Architecture weight of each op (mean over edges and seeds), first -> last epoch:",
        "",
        "| method | epochs | " + " | ".join(ops) + " |",
        "|---|---|" + "---|" * len(ops),
    ]
    for name, runs in results.items():
        w = np.mean([r["weights"] for r in runs], axis=0).mean(axis=1)  # (E, 5)
        lines.append(f"| `{name}` | {len(w)} | " + " | ".join(
            f"{w[0, k]:.2f} -> {w[-1, k]:.2f}" for k in range(len(ops))) + " |")  # fmt: skip
    lines.append("")
    for name in ("darts", "gdas"):
        if name not in results:
            continue
        runs = results[name]
        finals = space.cells(np.array([r["derived"][-1] for r in runs]))
        free = free_edges(space, finals)
        w = np.mean([r["weights"] for r in runs], axis=0).mean(axis=1)
        lines.append(
            f"**{name.upper()} at {len(w)} epochs:** {(free >= COLLAPSE).sum()} of {len(runs)} "
            f"final cells collapsed (at least {COLLAPSE} of 6 parameter-free edges); per seed "
            f"{', '.join(str(f) for f in free)} parameter-free edges, of them "
            f"{', '.join(str(n) for n in (finals == 0).sum(axis=1))} none and "
            f"{', '.join(str(n) for n in (finals == 1).sum(axis=1))} skip_connect. The weight "
            f"on skip_connect went from {w[0, 1]:.2f} to {w[-1, 1]:.2f}, on none from "
            f"{w[0, 0]:.2f} to {w[-1, 0]:.2f}, on nor_conv_3x3 from {w[0, 3]:.2f} to "
            f"{w[-1, 3]:.2f}; the largest at the last epoch is {ops[int(w[-1].argmax())]}'s."
        )
        lines.append("")
    return lines


def report(results: dict, table, args, timing: dict | None, wall: float) -> str:
    """The whole report; `results`: {length: {method: runs}}."""
    from nasbench_lite.compare.config import default_budget
    from nasbench_lite.spaces import get_space
    from nasbench_lite.strategies._weight_sharing import DEFAULT_SEARCH_EPOCHS

    space = get_space("nb201")
    valid, test = table_means(table)
    cells = space.cells(np.arange(space.num_cells))
    free_only = np.isin(cells, FREE).all(axis=1)
    skip_all = space.index(np.ones(6, int))
    done, total = int(table.done.sum()), len(table.done)
    known = np.isfinite(test[skip_all])
    skip_text = f"{100 * test[skip_all]:.2f}%" if known else "is not in the table yet"
    argv = [shown(a) if a == args.table else a for a in args.argv]
    command = "nice -n 10 python benchmarks/weight_sharing.py " + shlex.join(argv)
    config = table.attrs["config"]
    budget = default_budget(table)[0].seconds
    sweep, ends = by_length(results, space, test, lookup_seconds(table), budget, np.nanmean(test))
    plot_lengths(ends, Path(args.out).with_name("weight_sharing_lengths.png"))
    detailed = longest(results)
    lengths = sorted(results)
    seeds = sorted({len(runs) for by in results.values() for runs in by.values()})
    lines = [
        "# Weight-sharing search: what it finds",
        "",
        "Written by `benchmarks/weight_sharing.py`; the command:",
        "",
        f"    {command.strip()}",
        "",
        f"Table: `{Path(args.table).name}` (preset `{table.attrs['preset']}`, dataset "
        f"`{table.attrs['dataset']}`, {done:,} of {total:,} classes trained when this report "
        f"was written). Each method searched {' or '.join(map(str, seeds))} times (seeds 0..) "
        f"per search length ({', '.join(map(str, lengths))} supernet epochs) on the whole "
        f"space at the table's preset ({config['channels']} channels, {config['stages']} "
        f"stages, batch {config['batch_size']}); the derived cell after the last supernet "
        "epoch is looked up in the table (seed-mean final accuracy). Wall time of the whole "
        f"script: {wall / 60:.1f} min on the 2-core development machine, shared with other "
        "jobs (table generations, tests).",
        "",
        f"For reference: the table's best cell has test accuracy "
        f"{100 * np.nanmax(test):.2f}%, a uniformly drawn trained cell "
        f"{100 * np.nanmean(test):.2f}% on average, the best cell with only parameter-free "
        f"ops (skip_connect, none, avg_pool_3x3) {100 * np.nanmax(test[free_only]):.2f}%, "
        f"and the all-skip cell {skip_text}. NAS-Bench-201's CIFAR-10 test accuracies: "
        "DARTS 54.30% (the all-skip cell), GDAS 93.61%, the best cell 94.37%.",
        "",
        *sweep,
        "",
        "![search length](weight_sharing_lengths.png)",
        "",
        "Test accuracy (left) and parameter-free edges (right) of the final cells against the "
        "search length: lines through the means, a dot per seed; the dotted line is the "
        "collapse threshold.",
        "",
        "## The default search length",
        "",
        f"The strategies search for `search_epochs={DEFAULT_SEARCH_EPOCHS}` supernet epochs "
        "unless told otherwise (`DEFAULT_SEARCH_EPOCHS` in `strategies/_weight_sharing.py`). "
        "The runner charges every epoch's measured CPU seconds and then the derived cell's "
        "evaluation (a lookup, charged the table's train_seconds) on the simulated clock, so "
        f"a search of E epochs costs about E x (supernet seconds per epoch + one lookup). The "
        f"default is chosen so that `compare`'s default budget ({budget:g} s on this table, "
        f"100 x its median train_seconds) covers all {DEFAULT_SEARCH_EPOCHS} epochs of every "
        "method: a search ends inside the budget the multi-trial strategies get, where a "
        "longer one would be cut off partway through its own schedule (the simulated seconds "
        "per search in the tables above show which lengths fit). No longer length found "
        "better cells here; how often each length collapses is in the counts above. To study "
        "longer searches, set `search_epochs` to 100-200.",
        "",
        "## Architecture weights over the epochs",
        "",
        "Each method at the longest search length it ran (the epochs column); the findings by "
        "search length above have the other lengths.",
        "",
        "| method | epochs | test acc. of the final cell (mean over seeds) | parameter-free "
        "edges, first -> last epoch | skip edges, last | weight on parameter-free ops, first "
        "-> last | supernet s / epoch |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, runs in detailed.items():
        finals = np.array([r["derived"][-1] for r in runs])
        first = np.array([free_edges(space, space.cell(r["derived"][0])) for r in runs])
        last = np.array([free_edges(space, space.cell(f)) for f in finals])
        skips = np.array([(space.cell(f) == 1).sum() for f in finals])
        mass = np.array([r["weights"][:, :, list(FREE)].sum(axis=2).mean(axis=1) for r in runs])
        seconds = np.concatenate([r["seconds"] for r in runs])
        lines.append(
            f"| `{name}` | {len(runs[0]['seconds'])} | {percent(np.mean(test[finals]))} | "
            f"{first.mean():.1f} -> {last.mean():.1f} of 6 | {skips.mean():.1f} of 6 | "
            f"{mass[:, 0].mean():.2f} -> {mass[:, -1].mean():.2f} | "
            f"{np.median(seconds):.2f} |"
        )
    details = []
    for length in lengths:
        for name, runs in results[length].items():
            for seed, run in enumerate(runs):
                f = int(run["derived"][-1])
                cell = space.format(f).replace("|", "\\|")  # not a column break
                details.append(f"| `{name}` | {length} | {seed} | `{cell}` | {percent(test[f])} |")
    lines += [
        "",
        "Parameter-free edges count skip_connect, none and avg_pool_3x3 in the derived cells, "
        "and convolutions on dead edges (mean over seeds); the weight on parameter-free ops "
        "is the architecture's probability of those three ops, averaged over edges and seeds "
        "(RSPS has no architecture parameters: its weights stay uniform, 0.60). Supernet "
        "seconds are the measured process CPU seconds per epoch (median), what the runner "
        "charges.",
        "",
        "![architecture weights](weight_sharing_weights.png)",
        "",
        "Top: the mean architecture weight of each op over the supernet epochs; bottom: how "
        "many of the derived cell's six edges hold each op.",
        "",
        *findings(detailed, space.ops),
        "## Derived cells",
        "",
        "| method | epochs | seed | final derived cell | test acc. (table) |",
        "|---|---|---|---|---|",
        *details,
    ]
    if timing is not None:
        lines += [
            "",
            "## Several searches in one program?",
            "",
            f"One DARTS epoch for {timing['seeds']} seeds at this preset: "
            f"{timing['sequential']:.2f} CPU seconds as {timing['seeds']} calls of one "
            f"compiled search, {timing['vmapped']:.2f} vmapped into one program "
            f"({timing['sequential'] / timing['vmapped']:.2f}x).",
        ]
    return "\n".join(lines) + "\n"


def shown(path: str) -> str:
    """`path` relative to the repository when inside it, else its file name (a copy of a
    table elsewhere, e.g. one still being generated)."""
    resolved = Path(path).resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else resolved.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", default=str(ROOT / "data" / "nb201_mnist1d_cpu.h5"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--search-epochs", type=int, nargs="+", default=None,
                        help="supernet epochs, one search per value (default: the "
                        "strategies' own)")  # fmt: skip
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--jobs", type=int, default=1, help="searches run at once (processes)")
    parser.add_argument("--timing", action="store_true", help="time vmap over seeds")
    parser.add_argument("--out", default=str(ROOT / "docs" / "weight_sharing.md"))
    parser.add_argument("--save", help="also write the raw results to this .npz file")
    parser.add_argument("--load", help="report from a --save file instead of searching")
    parser.add_argument("--recount", metavar="REPORT",
                        help="print the collapse counts of an earlier report's final cells, "
                        "dead edges counted as parameter-free, and stop")  # fmt: skip
    args = parser.parse_args()
    if args.recount:
        print("\n".join(recount(Path(args.recount).read_text())))
        return

    from nasbench_lite.devices import use_cpu_cores

    use_cpu_cores()
    from nasbench_lite.spaces import get_space
    from nasbench_lite.strategies._weight_sharing import DEFAULT_SEARCH_EPOCHS
    from nasbench_lite.table.reader import Table

    started = time.perf_counter()
    table = Table.open(args.table)
    if args.load:  # report again from a saved run
        results, timing, args.argv, wall = load(args.load)
    else:
        lengths = args.search_epochs or [DEFAULT_SEARCH_EPOCHS]
        argv = sys.argv[1:]
        results = sweep(table.attrs, args.methods, lengths, args.seeds, args.jobs, args.save, argv)
        timing = vmap_timing(table, args.seeds) if args.timing else None
        args.argv, wall = sys.argv[1:], time.perf_counter() - started
        if args.save:
            save(args.save, results, timing, args.argv, wall)
    out = Path(args.out)
    plot(longest(results), get_space("nb201").ops, out.with_name("weight_sharing_weights.png"))
    text = report(results, table, args, timing, wall)
    out.write_text(text)
    print(text)


def lookup_seconds(table) -> np.ndarray:
    """(num_cells,) seed-mean train_seconds per raw cell (what a lookup is charged), NaN
    where the table has no trained row."""
    rows = np.asarray(table.raw_to_row)
    known = rows >= 0
    known[known] = table.done[rows[known]]
    seconds = np.asarray(table.metric("train_seconds"), np.float64)[rows[known]]
    out = np.full(len(rows), np.nan)
    out[known] = np.nanmean(seconds, axis=1)
    return out


def longest(results: dict) -> dict:
    """{method: runs} of each method at the longest search length it has."""
    out = {}
    for length in sorted(results):
        out.update(results[length])
    return out


if __name__ == "__main__":
    main()
