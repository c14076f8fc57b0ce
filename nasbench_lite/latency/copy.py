"""Measured latency taken from another table whose networks are the same.

Latency depends on the network a class builds, not on what it was trained on: the space,
the trainer config's skeleton (`NETWORK_FIELDS`), the input shape and the number of
outputs. Two tables that agree on all of them (a task regenerated under another protocol,
or another task of the same input shape) have the same network for every class, and
`nasbench-lite latency --table T --from SOURCE` copies SOURCE's measurement into T instead
of measuring again: every row's metrics, spreads and raw times, with SOURCE's `latency`
record (recipe, hardware, and the time SOURCE's whole measurement took) and `copied_from`
naming SOURCE (or, for a copy of a copy, the table that measured them). The copy is written
atomically under T's writer lock; a table with latency of its own is left alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nasbench_lite.errors import InputError, MissingFileError
from nasbench_lite.generate.lock import writer_lock
from nasbench_lite.latency.writer import DONE, drop_latency, metric_name, raw_name, spread_name
from nasbench_lite.table.reader import Table
from nasbench_lite.table.storage import read_arrays, write_arrays

# The trainer config's fields that shape the network (the rest is the training recipe).
NETWORK_FIELDS = ("channels", "cells_per_stage", "stages", "reduction")


def network_identity(table: Table) -> dict:
    """What fixes every class's network in `table`: space, skeleton, input shape, outputs."""
    identity = table.dataset_identity
    config = table.attrs["config"]
    return {
        "space": table.attrs["space"],
        **{field: config.get(field) for field in NETWORK_FIELDS},
        "input_shape": list(identity.input_shape),
        "num_classes": identity.num_classes,
    }


def copy_latency(path: str | Path, source: str | Path, command: str = "",
                 replace: bool = False) -> Table:  # fmt: skip
    """Copy `source`'s measured latency into the table file at `path`; return the table.
    InputError (one line) when `source` holds no complete measurement of `path`'s classes,
    their networks differ, or `path` already holds latency (unless `replace`: then that is
    discarded); MissingFileError without a file."""
    path, source = Path(path), Path(source)
    for name, file in (("--table", path), ("--from", source)):
        if not file.is_file():
            raise MissingFileError(f"{name} {file}: no such table file")
    origin = Table.open(source)
    record = origin.attrs.get("latency")
    if record is None:
        raise InputError(f"--from {source} holds no measured latency (`nasbench-lite latency`)")
    with writer_lock(path):
        arrays, attrs = read_arrays(path)
        if attrs.get("latency") is not None and not replace:
            raise InputError(
                f"{path} already holds latency (measured or copied); copying {source}'s over "
                "it would mix two measurements (--restart replaces it)"
            )
        table = Table(arrays, attrs, str(path))
        mine, theirs = network_identity(table), network_identity(origin)
        differ = [k for k in mine if mine[k] != theirs[k]]
        if differ:
            k = differ[0]
            raise InputError(
                f"{path} and {source} build different networks ({k}: {mine[k]!r} in the "
                f"table, {theirs[k]!r} in --from): latency is measured per network, so it "
                "cannot be copied"
            )
        if replace:
            drop_latency(arrays, attrs)
        rows = origin.raw_to_row[np.asarray(table.row_raw)]
        found = rows >= 0
        measured = np.zeros(len(rows), bool)
        measured[found] = np.asarray(origin.arrays[DONE], bool)[rows[found]]
        if not measured.all():
            raise InputError(
                f"--from {source} has not measured {int((~measured).sum()):,} of the "
                f"{len(rows):,} classes of {path}; measure it there first, or measure "
                f"{path} itself (`nasbench-lite latency --table {path}`)"
            )
        for batch in record["batches"]:
            for name in (f"metrics/{metric_name(batch)}", spread_name(batch), raw_name(batch)):
                arrays[name] = np.asarray(origin.arrays[name])[rows]
        arrays[DONE] = np.ones(len(rows), bool)
        attrs["latency"] = {
            **record,
            "command": command,
            # A copy of a copy names where the values were measured.
            "copied_from": record.get("copied_from") or {
                "table": str(source), "dataset": origin.attrs["dataset"],
                "command": record.get("command", ""),
            },
        }  # fmt: skip
        write_arrays(path, arrays, attrs)
    return Table.open(path)
