"""`nasbench-lite latency`: the measured inference latency of every class of a table, into it."""

from __future__ import annotations

import argparse
import shlex

from nasbench_lite.commands import resumable_stop, rows_kept


def cmd_latency(args: argparse.Namespace) -> int:
    """`nasbench-lite latency --table T [--chunk K] [--rounds R] [--jobs J]`: measure every
    pending row (`latency.writer.measure_latency`). Ctrl-C stops after the last finished chunk
    and says that the same command resumes. `--from SOURCE`: copy SOURCE's measurement
    instead (`latency.copy.copy_latency`)."""
    from nasbench_lite.latency.measure import LatencyRecipe, single_thread_flags

    single_thread_flags()  # before JAX starts: the latency of one core
    from nasbench_lite.errors import WriteFailedError
    from nasbench_lite.latency.writer import DEFAULT_CHUNK, LatencyConfig, measure_latency

    # A stopped run resumes without --restart (that would discard its finished chunks).
    command = shlex.join(["nasbench-lite", *[a for a in args.argv if a != "--restart"]])
    if args.source is not None:
        from nasbench_lite.errors import InputError
        from nasbench_lite.latency.copy import copy_latency

        given = [f"--{n}" for n in ("rounds", "chunk") if getattr(args, n) is not None]
        if args.jobs != 1:
            given.append("--jobs")
        if given:
            raise InputError(f"--from copies a measurement; {', '.join(given)} set how to "
                             "measure one: leave them out")  # fmt: skip

        table = copy_latency(args.table, args.source, command, replace=args.restart)
        print(f"{args.table}: latency of {table.num_rows:,} rows copied from {args.source} "
              "(the same networks)")  # fmt: skip
        return 0
    recipe = LatencyRecipe() if args.rounds is None else LatencyRecipe(rounds=args.rounds)
    chunk = DEFAULT_CHUNK if args.chunk is None else args.chunk
    config = LatencyConfig(recipe=recipe, chunk=chunk, command=command, jobs=args.jobs,
                           restart=args.restart)  # fmt: skip
    try:
        table = measure_latency(args.table, config, progress=not args.no_progress)
    except WriteFailedError as err:  # a full disk: the chunks written before are kept
        return resumable_stop("latency", _rows_done(args.table), command, err)
    except KeyboardInterrupt:
        return resumable_stop("latency", _rows_done(args.table), command)
    record = table.attrs["latency"]
    import numpy as np

    b1 = table.metric("latency_b1") if "latency_b1" in table.metrics else None
    median = "" if b1 is None else f"; median batch-1 latency {1e3 * np.nanmedian(b1):.3f} ms"
    print(
        f"{args.table}: latency of {table.num_rows:,} rows ({record['seconds']:.0f} s, "
        f"{record['cpu_seconds']:.0f} s CPU, {record['compile_seconds']:.1f} s compiling){median}"
    )
    return 0


def _rows_done(path: str) -> str:
    from nasbench_lite.latency.writer import DONE

    return rows_kept(path, DONE, "latency")
