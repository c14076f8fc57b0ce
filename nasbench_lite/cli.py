"""Command-line interface: parses arguments and calls one library function per command.

The handlers live in `nasbench_lite.commands` and import the library only when their command
runs, so ``nasbench-lite query`` never pays for JAX. A library error about the input
(`nasbench_lite.errors.InputError`) is printed as one line with exit code 2; Ctrl-C exits
with 130; anything else keeps its traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from nasbench_lite import __version__
from nasbench_lite.commands.parsing import (
    VALUE_OPTIONS,
    HelpFormatter,
    Parser,
    add_command,
    values_after,
)
from nasbench_lite.devices import use_cpu_cores
from nasbench_lite.errors import InputError
from nasbench_lite.extras import MissingExtra
from nasbench_lite.interrupts import install_interrupt_handler
from nasbench_lite.plugins import resolve

# command -> "module:function"; the function takes the parsed argparse.Namespace and returns
# an exit code (or None for 0).
HANDLERS = {
    "space": "nasbench_lite.commands.space:cmd_space",
    "generate": "nasbench_lite.commands.generate:cmd_generate",
    "merge": "nasbench_lite.commands.generate:cmd_merge",
    "info": "nasbench_lite.commands.tables:cmd_info",
    "query": "nasbench_lite.commands.tables:cmd_query",
    "card": "nasbench_lite.commands.tables:cmd_card",
    "suite-card": "nasbench_lite.commands.suite:cmd_suite_card",
    "proxies": "nasbench_lite.commands.proxies:cmd_proxies",
    "latency": "nasbench_lite.commands.latency:cmd_latency",
    "compare": "nasbench_lite.commands.compare:cmd_compare",
    "surrogate": "nasbench_lite.commands.surrogate:cmd_surrogate",
}
SHIPPED = "default: the shipped table, or $NASBENCH_LITE_TABLE"


def build_parser() -> argparse.ArgumentParser:
    from nasbench_lite.backends.registry import available_backends
    from nasbench_lite.datasets import available_datasets
    from nasbench_lite.spaces import available_spaces

    parser = Parser(
        prog="nasbench-lite",
        description="Tabular NAS benchmark: generate, query and compare search strategies.",
        epilog="Run 'nasbench-lite COMMAND --help' for a command's options and an example.",
        formatter_class=HelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=Parser
    )
    # Ours and the plug-ins' (nasbench_lite.plugins), found when the parser is built.
    spaces, datasets = available_spaces(), available_datasets()

    p = add_command(sub, "space", "summarise a search space")
    p.add_argument("name", nargs="?", default="nb201", help="space name")
    p.add_argument("--examples", type=int, default=5, help="example cells to print")

    p = add_command(sub, "generate", "train cells and write (or resume) an HDF5 table")
    p.add_argument("--space", choices=spaces, default="nb201", help="search space")
    p.add_argument("--dataset", choices=datasets, default="mnist1d", help="dataset name")
    p.add_argument("--data-dir", default=None, help="directory with local dataset files")
    p.add_argument("--preset", default="cpu", help="trainer preset")
    p.add_argument("--seeds", type=int, default=3, help="number of training seeds")
    p.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    p.add_argument("--out", required=True, help="output HDF5 file (resumed if it exists)")
    frac = p.add_mutually_exclusive_group()
    frac.add_argument(
        "--fraction", type=float, default=None, help="train this share of classes (default: all)"
    )
    frac.add_argument("--cells", type=int, default=None, help="train this many classes")
    p.add_argument("--sample-seed", type=int, default=0, help="seed of the class sample")
    p.add_argument("--shard", default=None, help="I/N: train only shard I of N (0-based)")
    p.add_argument(
        "--chunk",
        type=int,
        default=None,
        help="classes per compiled batch (default: the file's, else by device)",
    )
    p.add_argument("--executor", choices=["local", "ray"], default="local", help="who trains")
    p.add_argument("--layout", choices=["grouped", "vmap"], default=None,
                   help="how a chunk's pairs share one program: grouped (each cell's own ops, "
                   "one class after another) or vmap (every op, all pairs at once); "
                   "default: grouped on a CPU, vmap on an accelerator")  # fmt: skip
    p.add_argument("--ray-address", default=None, help="Ray cluster address (default: local)")
    p.add_argument(
        "--cache-dir",
        default=None,
        help="JAX compilation cache (default: ~/.cache/nasbench_lite/jax, or "
        "$NASBENCH_LITE_CACHE/jax; none when NASBENCH_LITE_CACHE is empty)",
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    p = add_command(sub, "merge", "join shard tables into one")
    p.add_argument("out", help="output HDF5 file")
    p.add_argument("inputs", nargs="+", help="shard files to merge")
    p.add_argument("--force", action="store_true",
                   help="replace an existing OUT that is not one of the inputs")  # fmt: skip

    p = add_command(sub, "info", "describe a table and its statistics")
    p.add_argument("file", nargs="?", default=None, help=f"HDF5 table ({SHIPPED})")
    p.add_argument(
        "--verify",
        action="store_true",
        help="check the file's sha256 against the one its card records",
    )
    p.add_argument("--card", default=None, help="--verify: the card to check against")

    p = add_command(sub, "query", "look up one cell")
    p.add_argument("file", nargs="?", default=None, help=f"HDF5 table ({SHIPPED})")
    p.add_argument("cell", help="NB-201 string or raw index")
    p.add_argument("--epoch", type=int, default=None, help="epoch, 1-based (default: the last)")
    p.add_argument("--seed", type=int, default=None, help="seed position (default: seed mean)")
    p.add_argument(
        "--rank-by",
        choices=["test_acc", "valid_acc"],
        default="test_acc",
        help="rank the cell's class among the table's by this seed-mean final accuracy",
    )
    p.add_argument(
        "--details",
        action="store_true",
        help="also every seed's metrics with their mean and std, the cell's canonical class "
        "and the raw cells in it, and its cost up to the epoch",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = add_command(sub, "compare", "compare search strategies on identical budgets")
    p.add_argument("--table", default=None, help=f"HDF5 table ({SHIPPED})")
    p.add_argument(
        "--backend", choices=available_backends(), default="tabular", help="benchmark backend"
    )
    p.add_argument(
        "--strategies",
        nargs="+",
        action="extend",
        default=None,
        help="registry names, or 'all' for every registered strategy (default: every "
        "registered one that loads, except those marked out of the default comparison)",
    )
    p.add_argument("--seeds", type=int, default=25, help="runs per strategy (seeds 0..N-1)")
    p.add_argument(
        "--budget",
        default=None,
        help="simulated seconds (e.g. 3000), Nevals (e.g. 100evals) or Nepochs (e.g. "
        "2000epochs: training epochs, a continuation counting only those it adds) (default: "
        "100 median training times)",
    )
    p.add_argument("--workers", type=int, default=1, help="simulated workers per run")
    p.add_argument("--jobs", type=int, default=None, help="parallel processes (default: cores)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--out", default="compare_out", help="output directory")
    where.add_argument(
        "--resume",
        metavar="DIR",
        default=None,
        help="continue the interrupted comparison in DIR (the same options): its finished "
        "runs are kept, the others run",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="write into --out even if it holds other files or an unfinished comparison",
    )
    p.add_argument("--preset", default=None, help="live: trainer preset (default: the table's)")
    p.add_argument(
        "--dataset", choices=datasets, default=None, help="live: dataset (default: the table's)"
    )
    p.add_argument("--model", default=None, help="surrogate: a saved model's directory")
    p.add_argument(
        "--data-dir",
        default=None,
        help="directory with the table's dataset files (cifar10, mnist, fashion_mnist), for "
        "the live backend and weight-sharing strategies",
    )
    p.add_argument(
        "--charge-overhead",
        action="store_true",
        help="add the strategies' measured ask/tell time to the simulated clock",
    )
    p.add_argument(
        "--tasks",
        nargs="+",
        action="extend",
        default=None,
        metavar="TASK",
        help="compare on several tasks: suite task names, 'all' (every task of the suite) or "
        "table files; per-task reports in --out/TASK and an aggregate in --out; transfer "
        "strategies learn from the other tasks (leave one task out)",
    )
    p.add_argument(
        "--sources",
        nargs="+",
        action="extend",
        default=None,
        metavar="TASK",
        help="source tasks of the transfer strategies (suite task names or table files): "
        "their validation results only; default with --tasks: the other tasks",
    )
    p.add_argument(
        "--tolerance",
        type=float,
        default=None,
        help="final regret differences up to this fraction of accuracy are ties in the "
        "ranks, tests and 'found best' (default: the table's noise floor, see `info`; 0: exact)",
    )
    p.add_argument(
        "--objectives",
        nargs="+",
        action="extend",
        default=None,
        metavar="METRIC:DIR",
        help="several objectives, each a metric the table holds and max or min (e.g. "
        "valid_acc:max params:min): rank by hypervolume regret (docs/multi_objective.md)",
    )
    p.add_argument(
        "--constraint",
        nargs="+",
        action="extend",
        default=[],
        metavar="METRIC<=BOUND",
        help="feasibility rules (e.g. params<=20000): the best cell (or front) among feasible "
        "ones, regret against the best feasible cell",
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument(
        "--report-only",
        metavar="DIR",
        default=None,
        help="rebuild report.md and the plots from DIR/results.csv; runs nothing",
    )

    p = add_command(sub, "card", "write a table's dataset card (markdown and plot)")
    p.add_argument("file", nargs="?", default=None, help=f"HDF5 table ({SHIPPED})")
    p.add_argument(
        "--out",
        default=None,
        help="card .md file or directory (default: <table stem>_card.md next to the table)",
    )
    p.add_argument("--plot", default=None, help="PNG path (default: next to the card)")
    p.add_argument("--force", action="store_true", help="replace an existing card and plot")

    p = add_command(sub, "suite-card", "write the suite card: how several tasks' tables agree")
    p.add_argument(
        "--tasks",
        nargs="+",
        action="extend",
        default=None,
        metavar="TASK",
        help="suite task names, 'all' or table files (default: every task whose table is "
        "in the data folder)",
    )
    p.add_argument("--out", default="suite_card.md", help="markdown file to write")
    p.add_argument("--force", action="store_true",
                   help="replace an existing --out that is not a suite card")  # fmt: skip

    for name, what, extra in (
        ("proxies", "compute the zero-cost proxies of", "--data-dir"),
        ("latency", "measure the inference latency of", "--rounds"),
    ):
        p = add_command(sub, name, f"{what} every class of a table, into it")
        p.add_argument("--table", required=True, help="HDF5 table to add them to (resumed)")
        p.add_argument("--chunk", type=int, default=None, help="classes per chunk")
        p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
        if extra == "--data-dir":
            p.add_argument(extra, default=None, help="directory with the table's dataset files")
            p.add_argument("--recompute", nargs="+", default=(), metavar="PROXY",
                           help="compute these proxies of the finished rows again, keeping "
                           "the others (resumed like the rest)")  # fmt: skip
        else:
            p.add_argument(extra, type=int, default=None, help="timed rounds (default 15)")
            p.add_argument("--from", dest="source", default=None, metavar="TABLE",
                           help="copy TABLE's measured latency instead of measuring: a table "
                           "whose classes build the same networks")  # fmt: skip
            p.add_argument("--jobs", type=int, default=1, help="measuring processes, one a core")
            p.add_argument("--restart", action="store_true",
                           help="discard the table's latency, measure or copy anew")  # fmt: skip

    p = add_command(sub, "surrogate", "fit an XGBoost surrogate of a table, or score one")
    p.add_argument("action", choices=["fit", "eval"], help="fit a model, or evaluate one")
    p.add_argument("--table", default=None, help=f"HDF5 table ({SHIPPED})")
    p.add_argument("--out", default=None, help="fit: model directory to write")
    p.add_argument(
        "--model",
        default=None,
        help="eval: model directory to read (default: the shipped model, or $NASBENCH_LITE_MODEL)",
    )
    p.add_argument("--train-fraction", type=float, default=None,
                   help="fit: share of classes (default: 0.1)")  # fmt: skip
    p.add_argument("--seed", type=int, default=None,
                   help="fit: seed of the class split and model (default: 0)")  # fmt: skip
    p.add_argument("--related", nargs="+", action="extend", default=[], metavar="TABLE",
                   help="fit: other tasks' tables; a line on each class's accuracy there is "
                   "blended with the model: a few classes of a new task rank the rest")  # fmt: skip
    p.add_argument("--force", action="store_true", help="fit: replace an existing model")
    p.add_argument("--json", action="store_true", help="eval: print the figures as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = None
    argv = list(sys.argv[1:] if argv is None else argv)
    install_interrupt_handler()  # a Ctrl-C is never lost, even while JAX is imported
    try:
        use_cpu_cores()  # before any handler imports JAX: one CPU device per core
        parser = build_parser()
        args = parser.parse_args(values_after(argv, VALUE_OPTIONS))
        args.argv = argv  # handlers record the command that made a file
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.INFO,
            format="%(levelname)s %(name)s: %(message)s",
        )
        # JAX reports at INFO which accelerator plugins it did not find; that is not news.
        logging.getLogger("jax").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
        code = resolve(HANDLERS[args.command])(args)
    except (InputError, MissingExtra) as err:
        # Library errors already name the input and the problem; show them without a traceback.
        print(f"nasbench-lite {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:
        print(interrupted_line(args, argv, stop), file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`nasbench-lite info | head`): stop quietly, as `cat` does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return int(code or 0)


def interrupted_line(
    args: argparse.Namespace | None, argv: list[str], stop: KeyboardInterrupt
) -> str:
    """The one line a Ctrl-C prints that its command did not handle itself (it came before
    the command started, e.g. while the parser was built or the library imported). `args`:
    None when the arguments were not parsed yet; then `argv` says which command it was."""
    if args is None:
        command = next((word for word in argv if not word.startswith("-")), None)
        if command != "compare" or "--report-only" in argv:
            return f"nasbench-lite{f' {command}' if command else ''}: interrupted"
        given = dict(zip(argv, argv[1:], strict=False))
        out = given.get("--resume") or given.get("--out") or "compare_out"
    elif args.command == "compare" and not args.report_only:
        out = args.resume or args.out
    else:
        return f"nasbench-lite {args.command}: interrupted"
    from nasbench_lite.commands.compare import interrupted_line as compare_line

    return compare_line(stop, argv, out)


def run() -> None:
    """The `nasbench-lite` script: `main`, then exit with its code. After a Ctrl-C (code
    130) the process leaves with os._exit once its output is flushed: a Ctrl-C that landed in
    some extension modules' import code (h5py's, for one) would otherwise make the
    interpreter end itself by SIGINT although the interrupt was handled, and a command whose
    native threads are still running (XLA's) must not have the interpreter torn down under
    them; the same holds for an error exit while such threads run. What the command keeps
    is already written and closed by then."""
    import threading

    code = main()
    # A command that stopped on an error (a full disk, say) while a training thread was
    # still inside XLA must not tear the interpreter down under it either.
    if code == 130 or (code and threading.active_count() > 1):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
