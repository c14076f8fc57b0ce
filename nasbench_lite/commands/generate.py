"""`nasbench-lite generate` and `merge`: make a table, or join shard tables."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from nasbench_lite.commands import resumable_stop
from nasbench_lite.text import plural


def cmd_generate(args: argparse.Namespace) -> int:
    """`nasbench-lite generate ...`: parse options into GenerateConfig and run `generate`.
    Ctrl-C at any moment keeps every finished chunk, says that the same command resumes and
    exits with 130."""
    import dataclasses

    from nasbench_lite.errors import InputError, WriteFailedError
    from nasbench_lite.generate.run import GenerateConfig, generate, parse_shard
    from nasbench_lite.train.config import get_preset

    try:
        get_preset(args.preset)  # before any work: an unknown preset is an input error
    except ValueError as err:
        raise InputError(f"--preset: {err}") from None
    given = {word.split("=", 1)[0] for word in args.argv}
    if "--sample-seed" in given and not given & {"--cells", "--fraction"}:
        raise InputError("--sample-seed: seeds the sample of --cells or --fraction; neither given")
    names = {f.name for f in dataclasses.fields(GenerateConfig)} - {"command"}
    options = {name: getattr(args, name) for name in names}
    options["shard"] = parse_shard(args.shard) if args.shard else None
    command = shlex.join(["nasbench-lite", *args.argv])
    config = GenerateConfig(**options, command=command)
    try:
        table = generate(args.out, config, progress=not args.no_progress)
    except ImportError as err:  # an optional dependency (ray); the message says how to install
        print(f"nasbench-lite generate: error: {err}", file=sys.stderr)
        return 2
    except WriteFailedError as err:  # a full disk: the chunks written before are kept
        return resumable_stop("generate", _rows_done(args.out), command, err)
    except KeyboardInterrupt:
        return resumable_stop(
            "generate", _rows_done(args.out), command
        )  # `cli.run` leaves with os._exit: the abandoned chunk's XLA threads run on
    print(f"{args.out}: {int(table.done.sum()):,} of {plural(table.num_rows, 'row')} done")
    return 0


def _rows_done(out: str) -> str:
    """What the table file at `out` holds, in words (it is rewritten whole after each chunk,
    so it is always a valid table)."""
    from nasbench_lite.table.reader import Table

    if not Path(out).is_file():
        return f"no chunk had finished, {out} was not written"
    try:
        table = Table.open(out)
    except ValueError:
        return f"{out} could not be read"
    return f"{out} keeps {int(table.done.sum()):,} of {plural(table.num_rows, 'row')} trained"


def cmd_merge(args: argparse.Namespace) -> int:
    """`nasbench-lite merge OUT IN [IN ...]`."""
    from nasbench_lite.generate.merge import merge

    table = merge(args.out, args.inputs, command=shlex.join(["nasbench-lite", *args.argv]),
                  force=args.force)  # fmt: skip
    tables, rows = plural(len(args.inputs), "table"), plural(table.num_rows, "row")
    print(f"{args.out}: merged {tables}, {rows}, {int(table.done.sum()):,} of them trained")
    return 0
