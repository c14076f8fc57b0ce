"""What the weight-sharing strategies find: darts, gdas, enas and rsps with a few seeds at a
table's trainer preset, their derived cells looked up in the table; writes
docs/weight_sharing.md and the plot of architecture weights over supernet epochs.

    nice -n 10 python benchmarks/weight_sharing.py                   # the shipped table, 3 seeds
    python benchmarks/weight_sharing.py --seeds 2 --search-epochs 10 --table T.h5
    python benchmarks/weight_sharing.py --timing      # also: vmap over seeds, or one at a time?
    python benchmarks/weight_sharing.py --save r.npz  # keep the raw results; --load r.npz
                                                      # writes the report again from them

Each search runs on the whole NB-201 space (not restricted to the cells the table holds), so
its derived cell is the method's own choice; cells whose class the table has not trained yet
are reported as such. After every supernet epoch the script records the architecture weights
(per-edge op probabilities), the derived cell and the measured supernet seconds. NAS-Bench-201
(Dong & Yang, ICLR 2020) found DARTS collapsing onto all-skip cells; the report counts the
parameter-free edges (skip_connect, none, avg_pool_3x3) of the derived cells at the first and
the last epoch, and the probability the architecture puts on those ops.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
METHODS = ("darts", "gdas", "enas", "rsps")
FREE = (0, 1, 4)  # none, skip_connect, avg_pool_3x3: the parameter-free ops (OPS order)
KEYS = ("weights", "derived", "seconds", "losses")  # what one search records
TIMING = ("seeds", "sequential", "vmapped")


def search(name: str, table, seed: int, epochs: int | None) -> dict:
    """One search of `name` on the full space at `table`'s preset and dataset: per epoch the
    weights (E, 6, 5), derived raw cells (E,), measured seconds (E,), training losses (E,)."""
    from nasbench_lite.search.registry import get_strategy
    from nasbench_lite.spaces import get_space

    params = {"train_config": table.attrs["config"], "dataset": table.attrs["dataset"]}
    if epochs is not None:
        params["search_epochs"] = epochs
    strategy = get_strategy(name)(get_space("nb201"), **params)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    state = strategy.init(rng)
    weights, seconds = [], []
    while True:
        state, asked = strategy.ask(state, rng)
        if asked is None:
            break
        weights.append(strategy.weights(state))
        seconds.append(asked.search_seconds)
        state = strategy.tell(state, asked, float("nan"), 1.0)  # the methods ignore it
    return {
        "weights": np.array(weights),
        "derived": np.array(state.derived),
        "seconds": np.array(seconds),
        "losses": np.array(state.losses),
    }


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

    strategy = DARTS(get_space("nb201"), table.attrs["config"], table.attrs["dataset"])
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


COLLAPSE = 4  # parameter-free edges of 6 in the final cells that count as a collapse


def findings(results: dict, ops: tuple[str, ...]) -> list[str]:
    """The answers in words: per-op weights at the first and last epoch, and whether DARTS
    collapses onto parameter-free cells (at least COLLAPSE of 6 edges, on average over
    seeds; NB-201's DARTS: 6 skip connections) and whether GDAS avoids it."""
    from nasbench_lite.spaces import get_space

    space = get_space("nb201")
    lines = [
        "## Findings",
        "",
        "Architecture weight of each op (mean over edges and seeds), first -> last epoch:",
        "",
        "| method | " + " | ".join(ops) + " |",
        "|---|" + "---|" * len(ops),
    ]
    for name, runs in results.items():
        w = np.mean([r["weights"] for r in runs], axis=0).mean(axis=1)  # (E, 5)
        lines.append(f"| `{name}` | " + " | ".join(f"{w[0, k]:.2f} -> {w[-1, k]:.2f}"
                                                    for k in range(len(ops))) + " |")  # fmt: skip
    lines.append("")
    for name, question in (("darts", "Does DARTS collapse onto parameter-free ops, as on "
                            "NAS-Bench-201?"), ("gdas", "Does GDAS avoid it?")):  # fmt: skip
        if name not in results:
            continue
        runs = results[name]
        finals = space.cells(np.array([r["derived"][-1] for r in runs]))
        free = np.isin(finals, FREE).sum(axis=1).mean()
        skips, nones = (finals == 1).sum(axis=1).mean(), (finals == 0).sum(axis=1).mean()
        w = np.mean([r["weights"] for r in runs], axis=0).mean(axis=1)
        answer = "Yes" if free >= COLLAPSE else "No"
        if name == "gdas":
            answer = "It does not collapse either" if free < COLLAPSE else "No, it collapses too"
        lines.append(
            f"**{question}** {answer} at this preset and with these settings: its final "
            f"derived cells have {free:.1f} of 6 parameter-free edges on average ({skips:.1f} "
            f"skip_connect, {nones:.1f} none; a collapse here means at least {COLLAPSE}); "
            f"the weight on skip_connect went from {w[0, 1]:.2f} to {w[-1, 1]:.2f}, on none "
            f"from {w[0, 0]:.2f} to {w[-1, 0]:.2f}, on nor_conv_3x3 from {w[0, 3]:.2f} to "
            f"{w[-1, 3]:.2f}; the largest at the last epoch is {ops[int(w[-1].argmax())]}'s."
        )
        lines.append("")
    return lines


def report(results: dict, table, args, timing: dict | None, wall: float) -> str:
    from nasbench_lite.spaces import get_space

    space = get_space("nb201")
    valid, test = table_means(table)
    cells = space.cells(np.arange(space.num_cells))
    free_only = np.isin(cells, FREE).all(axis=1)
    skip_all = space.index(np.ones(6, int))
    done, total = int(table.done.sum()), len(table.done)
    known = np.isfinite(test[skip_all])
    skip_text = f"{100 * test[skip_all]:.2f}%" if known else "is not in the table yet"
    argv = []
    for a in args.argv:  # where the raw results were kept does not change them: left out
        if argv and argv[-1] in ("--save", "--load"):
            argv.pop()
        else:
            argv.append(shown(a) if a == args.table else a)
    command = "nice -n 10 python benchmarks/weight_sharing.py " + shlex.join(argv)
    config = table.attrs["config"]
    lines = [
        "# Weight-sharing search: what it finds",
        "",
        "Written by `benchmarks/weight_sharing.py`; the command:",
        "",
        f"    {command.strip()}",
        "",
        f"Table: `{Path(args.table).name}` (preset `{table.attrs['preset']}`, dataset "
        f"`{table.attrs['dataset']}`, {done:,} of {total:,} classes trained when this report "
        "was written). "
        f"Each method searched {len(next(iter(results.values())))} times (seeds 0..) on the "
        f"whole space at the table's preset ({config['channels']} channels, "
        f"{config['stages']} stages, batch {config['batch_size']}); the derived cell after "
        f"the last supernet epoch is looked up in the table (seed-mean final accuracy). "
        f"Wall time of the whole script: {wall / 60:.1f} min on the 2-core development "
        f"machine, shared with a table generation.",
        "",
        f"For reference: the table's best cell has test accuracy "
        f"{100 * np.nanmax(test):.2f}%, a uniformly drawn trained cell "
        f"{100 * np.nanmean(test):.2f}% on average, the best cell with only parameter-free "
        f"ops (skip_connect, none, avg_pool_3x3) {100 * np.nanmax(test[free_only]):.2f}%, "
        f"and the all-skip cell {skip_text}. NAS-Bench-201's CIFAR-10 test accuracies: "
        "DARTS 54.30% (the all-skip cell), GDAS 93.61%, the best cell 94.37%.",
        "",
        "| method | test acc. of the final cell (mean over seeds) | parameter-free edges, "
        "first -> last epoch | skip edges, last | weight on parameter-free ops, first -> "
        "last | supernet s / epoch | epochs |",
        "|---|---|---|---|---|---|---|",
    ]
    details = []
    for name, runs in results.items():
        finals = np.array([r["derived"][-1] for r in runs])
        acc = test[finals]
        first = np.array([np.isin(space.cell(r["derived"][0]), FREE).sum() for r in runs])
        last = np.array([np.isin(space.cell(f), FREE).sum() for f in finals])
        skips = np.array([(space.cell(f) == 1).sum() for f in finals])
        mass = np.array([r["weights"][:, :, list(FREE)].sum(axis=2).mean(axis=1) for r in runs])
        seconds = np.concatenate([r["seconds"] for r in runs])
        mean = f"{100 * np.nanmean(acc):.2f}%" if np.isfinite(acc).any() else "n/a"
        missing = int(np.isnan(acc).sum())
        if missing:
            mean += f" ({missing} not in the table yet)"
        lines.append(
            f"| `{name}` | {mean} | {first.mean():.1f} -> {last.mean():.1f} of 6 | "
            f"{skips.mean():.1f} of 6 | {mass[:, 0].mean():.2f} -> {mass[:, -1].mean():.2f} | "
            f"{np.median(seconds):.2f} | {len(runs[0]['seconds'])} |"
        )
        for seed, run in enumerate(runs):
            f = int(run["derived"][-1])
            got = f"{100 * test[f]:.2f}%" if np.isfinite(test[f]) else "not in the table yet"
            cell = space.format(f).replace("|", "\\|")  # not a column break
            details.append(f"| `{name}` | {seed} | `{cell}` | {got} |")
    lines += [
        "",
        "Parameter-free edges count skip_connect, none and avg_pool_3x3 in the derived cells "
        "(mean over seeds); the weight on parameter-free ops is the architecture's probability "
        "of those three ops, averaged over edges and seeds (RSPS has no architecture "
        "parameters: its weights stay uniform, 0.60). Supernet seconds are the measured "
        "process CPU seconds per epoch (median), what the runner charges.",
        "",
        "![architecture weights](weight_sharing_weights.png)",
        "",
        "Top: the mean architecture weight of each op over the supernet epochs; bottom: how "
        "many of the derived cell's six edges hold each op.",
        "",
        *findings(results, space.ops),
        "## Derived cells",
        "",
        "| method | seed | final derived cell | test acc. (table) |",
        "|---|---|---|---|",
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
    parser.add_argument("--search-epochs", type=int, default=None,
                        help="supernet epochs (default: the strategies' own)")  # fmt: skip
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--timing", action="store_true", help="time vmap over seeds")
    parser.add_argument("--out", default=str(ROOT / "docs" / "weight_sharing.md"))
    parser.add_argument("--save", help="also write the raw results to this .npz file")
    parser.add_argument("--load", help="report from a --save file instead of searching")
    args = parser.parse_args()

    from nasbench_lite.devices import use_cpu_cores

    use_cpu_cores()
    from nasbench_lite.spaces import get_space
    from nasbench_lite.table.reader import Table

    started = time.perf_counter()
    table = Table.open(args.table)
    if args.load:  # report again from a saved run
        saved = np.load(args.load)
        results = {
            name: [{key: saved[f"{name}/{seed}/{key}"] for key in KEYS} for seed in range(n)]
            for name, n in zip(saved["methods"], saved["seeds"], strict=True)
        }
        timing = {k: saved[f"timing/{k}"].item() for k in TIMING if f"timing/{k}" in saved}
        timing = timing or None
        args.argv, wall = [str(a) for a in saved["argv"]], float(saved["wall"])
    else:
        results = {}
        for name in args.methods:
            results[name] = []
            for seed in range(args.seeds):
                run = search(name, table, seed, args.search_epochs)
                results[name].append(run)
                final = get_space("nb201").format(int(run["derived"][-1]))
                print(f"{name} seed {seed}: {final} ({run['seconds'].sum():.1f} s)", flush=True)
        timing = vmap_timing(table, args.seeds) if args.timing else None
        args.argv, wall = sys.argv[1:], time.perf_counter() - started
    if args.save:
        arrays = {f"{name}/{seed}/{key}": run[key] for name, runs in results.items()
                  for seed, run in enumerate(runs) for key in KEYS}  # fmt: skip
        arrays.update({f"timing/{k}": v for k, v in (timing or {}).items()})
        seeds = [len(runs) for runs in results.values()]
        np.savez(args.save, methods=list(results), seeds=seeds, argv=args.argv, wall=wall, **arrays)
    out = Path(args.out)
    plot(results, get_space("nb201").ops, out.with_name("weight_sharing_weights.png"))
    text = report(results, table, args, timing, wall)
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
