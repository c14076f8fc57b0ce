"""`nasbench-lite proxies`: the zero-cost proxies of every class of a table, into the file."""

from __future__ import annotations

import argparse
import shlex

from nasbench_lite.commands import resumable_stop, rows_kept
from nasbench_lite.text import plural


def cmd_proxies(args: argparse.Namespace) -> int:
    """`nasbench-lite proxies --table T [--chunk K] [--data-dir D] [--recompute P ...]`: parse
    the options into ProxiesConfig and run `compute_proxies`. Ctrl-C stops after the last
    finished chunk and says that the same command resumes."""
    from nasbench_lite.errors import WriteFailedError
    from nasbench_lite.proxies.writer import ProxiesConfig, compute_proxies

    command = shlex.join(["nasbench-lite", *args.argv])
    config = ProxiesConfig(chunk=args.chunk, data_dir=args.data_dir, command=command,
                           recompute=tuple(args.recompute))  # fmt: skip
    try:
        table = compute_proxies(args.table, config, progress=not args.no_progress)
    except WriteFailedError as err:  # a full disk: the chunks written before are kept
        return resumable_stop("proxies", _rows_done(args.table), command, err)
    except KeyboardInterrupt:
        return resumable_stop("proxies", _rows_done(args.table), command)
    record = table.attrs["proxies"]
    if args.recompute and record.get("recomputed"):
        last = record["recomputed"][-1]
        print(f"{args.table}: {', '.join(last['proxies'])} computed again for every finished "
              f"row ({last['seconds']:.0f} s)")  # fmt: skip
    print(
        f"{args.table}: proxies of {plural(table.num_rows, 'row')} "
        f"({record['seconds']:.0f} s, {record['cpu_seconds']:.0f} s CPU, "
        f"{record['compile_seconds']:.0f} s compiling)"
    )
    return 0


def _rows_done(path: str) -> str:
    import h5py

    from nasbench_lite.table.proxy_stats import DONE, REDO

    kept = rows_kept(path, DONE, "proxies")
    try:
        with h5py.File(path, "r") as file:
            waiting = int(file[REDO][:].sum()) if REDO in file else 0
    except OSError:
        return kept
    return f"{kept}, {waiting:,} of them still to compute again" if waiting else kept
