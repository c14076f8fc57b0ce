"""Command-line interface: parses arguments and calls one library function per command.

Each handler lives beside the code it drives (``nasbench_lite.<module>:cli_<command>``) and is
imported only when its command runs, so ``nasbench-lite query`` never pays for JAX.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from nasbench_lite.backends import available_backends
from nasbench_lite.devices import use_cpu_cores
from nasbench_lite.extras import MissingExtra

# command -> "module:function"; the function takes the parsed argparse.Namespace and returns
# an exit code (or None for 0).
HANDLERS = {
    "space": "nasbench_lite.spaces:cli_space",
    "generate": "nasbench_lite.generate:cli_generate",
    "merge": "nasbench_lite.generate:cli_merge",
    "info": "nasbench_lite.table:cli_info",
    "query": "nasbench_lite.table:cli_query",
    "compare": "nasbench_lite.compare:cli_compare",
    "card": "nasbench_lite.card:cli_card",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nasbench-lite",
        description="Tabular NAS benchmark: generate, query and compare search strategies.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("space", help="summarise a search space")
    p.add_argument("name", nargs="?", default="nb201", help="space name (default: nb201)")
    p.add_argument("--examples", type=int, default=5, help="example cells to print")

    p = sub.add_parser("generate", help="train cells and write (or resume) an HDF5 table")
    p.add_argument("--space", default="nb201")
    p.add_argument("--dataset", default="mnist1d")
    p.add_argument("--data-dir", default=None, help="directory with local dataset files")
    p.add_argument("--preset", default="cpu", help="trainer preset (default: cpu)")
    p.add_argument("--seeds", type=int, default=3, help="number of training seeds")
    p.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    p.add_argument("--out", required=True, help="output HDF5 file (resumed if it exists)")
    frac = p.add_mutually_exclusive_group()
    frac.add_argument("--fraction", type=float, default=None, help="train this share of classes")
    frac.add_argument("--cells", type=int, default=None, help="train this many classes")
    p.add_argument("--sample-seed", type=int, default=0, help="seed of the class sample")
    p.add_argument("--shard", default=None, help="I/N: train only shard I of N (0-based)")
    p.add_argument("--chunk", type=int, default=None, help="classes per compiled batch")
    p.add_argument("--executor", choices=["local", "ray"], default="local")
    p.add_argument("--ray-address", default=None, help="Ray cluster address (default: local)")
    p.add_argument("--cache-dir", default=None, help="JAX compilation cache (default: cache/jax)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    p = sub.add_parser("merge", help="join shard tables into one")
    p.add_argument("out", help="output HDF5 file")
    p.add_argument("inputs", nargs="+", help="shard files to merge")

    p = sub.add_parser("info", help="describe a table and its statistics")
    p.add_argument("file")

    p = sub.add_parser("query", help="look up one cell")
    p.add_argument("file")
    p.add_argument("cell", help="NB-201 string or raw index")
    p.add_argument("--epoch", type=int, default=None, help="epoch (1-based; default: last)")
    p.add_argument("--seed", type=int, default=None, help="seed position (default: mean)")

    p = sub.add_parser("compare", help="compare search strategies on identical budgets")
    p.add_argument("--table", default=None, help="HDF5 table (default: the shipped one)")
    p.add_argument("--backend", choices=available_backends(), default="tabular")
    p.add_argument("--strategies", nargs="+", default=None, help="registry names (default: all)")
    p.add_argument("--seeds", type=int, default=25)
    p.add_argument("--budget", default=None, help="simulated seconds (e.g. 3000) or Nevals")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--jobs", type=int, default=None, help="parallel processes (default: cores)")
    p.add_argument("--out", default="compare_out")
    p.add_argument("--preset", default=None, help="live: trainer preset (default: the table's)")
    p.add_argument("--dataset", default=None, help="live: dataset (default: the table's)")
    p.add_argument(
        "--charge-overhead",
        action="store_true",
        help="add the strategies' measured ask/tell time to the simulated clock",
    )
    p.add_argument("--no-progress", action="store_true")
    p.add_argument(
        "--report-only",
        metavar="DIR",
        default=None,
        help="rebuild report.md and the plots from DIR/results.csv; runs nothing",
    )

    p = sub.add_parser("card", help="write a table's dataset card (markdown and plot)")
    p.add_argument("file", help="HDF5 table")
    p.add_argument("--out", default="data/README.md", help="card .md file or directory")
    p.add_argument("--plot", default=None, help="PNG path (default: next to the card)")
    return parser


def main(argv: list[str] | None = None) -> int:
    use_cpu_cores()  # before any handler imports JAX: one CPU device per core
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # JAX reports at INFO which accelerator plugins it did not find; that is not news here.
    logging.getLogger("jax").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    module_name, func_name = HANDLERS[args.command].split(":")
    handler = getattr(importlib.import_module(module_name), func_name)
    try:
        code = handler(args)
    except (ValueError, FileNotFoundError, KeyError, MissingExtra) as err:
        # Library errors already name the input and the problem; show them without a traceback.
        print(f"nasbench-lite {args.command}: error: {err}", file=sys.stderr)
        return 2
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
