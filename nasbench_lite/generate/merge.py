"""Merging shard tables: rows joined by class id, under the output's writer lock."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_lite.datasets.fingerprint import check_same
from nasbench_lite.errors import InputError, OutputExistsError
from nasbench_lite.generate.lock import writer_lock
from nasbench_lite.generate.run import check_match, check_out, write_table
from nasbench_lite.table.reader import Table
from nasbench_lite.table.schema import FIELDS, PER_CHUNK, PER_ROW, pending_arrays
from nasbench_lite.table.storage import check_cells, read_arrays, row_index

# Attributes that describe data `merge` does not carry over (proxies, latency, the
# train_seconds calibration): left out of the merged table, which gets them anew from the
# commands that compute them.
DROPPED_ATTRS = ("proxies", "latency", "calibration")

logger = logging.getLogger(__name__)


def merge(
    out: str | Path, inputs: list[str | Path], command: str = "", force: bool = False
) -> Table:
    """Join shard tables into `out`: rows by class id; a class done in two inputs, or inputs
    of different space, dataset, config, seeds, epochs or schema version, raise a ValueError
    naming the files. total_compute_seconds is the sum of the inputs'. An existing `out`
    that is not one of the inputs is replaced only with `force` (OutputExistsError)."""
    if not inputs:
        raise InputError("merge needs at least one input table")
    resolved = [Path(p).resolve() for p in inputs]
    twice = next((p for k, p in enumerate(inputs) if resolved[k] in resolved[:k]), None)
    if twice is not None:
        raise InputError(f"input {twice} is given twice; name each table once")
    out = check_out(out)
    with writer_lock(out):  # not into a table that `generate` or `proxies` is writing
        if out.exists() and not force and out.resolve() not in {Path(p).resolve() for p in inputs}:
            raise OutputExistsError(
                f"output {out} exists and is not one of the inputs; pass --force to replace "
                "it, or merge it in by naming it among the inputs too"
            )
        return _merge(out, inputs, command)


def _selections(selection: Any) -> list[dict]:
    """The generate selections a table's `selection` attribute stands for: itself, or those
    of the tables a merge joined (flattened)."""
    if isinstance(selection, dict) and "merged" in selection:
        return [s for part in selection["merged"] for s in _selections(part)]
    return [selection] if isinstance(selection, dict) else []


def check_selections(named: list[tuple[Path, Any]]) -> None:
    """InputError unless the inputs are cut from one selection of classes (the same cells,
    fraction and sample seed) into shards of one count, each shard at most once; a warning
    names the shards missing from a set that is not whole."""
    parts = [(path, s) for path, selection in named for s in _selections(selection)]
    if not parts:
        return
    first_path, first = parts[0]
    base = {k: v for k, v in first.items() if k != "shard"}
    counts, seen = {}, {}
    for path, part in parts:
        other = {k: v for k, v in part.items() if k != "shard"}
        if other != base:
            raise InputError(
                f"cannot merge {path} with {first_path}: they sample different classes "
                f"(selection {other}; {base}): shards must come from one selection"
            )
        shard = part.get("shard")
        counts.setdefault(None if shard is None else int(shard[1]), path)
        if shard is not None:
            index = int(shard[0])
            if index in seen:
                raise InputError(f"cannot merge {path} with {seen[index]}: both are shard {index}")
            seen[index] = path
    if len(counts) > 1:
        (a, path_a), (b, path_b) = list(counts.items())[:2]
        cut = {
            a: f"a shard of {a}" if a else "not sharded",
            b: f"a shard of {b}" if b else "not sharded",
        }
        raise InputError(
            f"cannot merge {path_b} ({cut[b]}) with {path_a} ({cut[a]}): cut every shard from "
            "one --shard I/N"
        )
    count = next(iter(counts))
    missing = [] if count is None else sorted(set(range(count)) - set(seen))
    if missing:
        logger.warning("merging %d of %d shards: shards %s are not among the inputs "
                       "(the merged table lacks their classes; merge them in later)",
                       count - len(missing), count, missing)  # fmt: skip


def _merge(out: Path, inputs: list[str | Path], command: str) -> Table:
    loaded = [(Path(p), *read_arrays(p)) for p in inputs]
    for path, arrays, attrs in loaded:  # rows must be the classes they claim to be
        check_cells(arrays, attrs, str(path))
    first_path, _, first_attrs = loaded[0]
    for path, _, attrs in loaded[1:]:
        context = f"cannot merge {path} with {first_path}"
        check_match(attrs, first_attrs, context, (str(path), str(first_path)))
    check_selections([(path, attrs.get("selection")) for path, _, attrs in loaded])
    classes = np.unique(np.concatenate([a["cells/row_class"] for _, a, _ in loaded]))
    space = first_attrs["space"]
    seeds, epochs = len(first_attrs["seeds"]), int(first_attrs["epochs"])
    num_cells = len(loaded[0][1]["cells/raw_to_row"])
    sizes = {"rows": len(classes), "seeds": seeds, "epochs": epochs, "chunks": 0,
             "cells": num_cells, "edges": loaded[0][1]["cells/ops"].shape[1]}  # fmt: skip
    merged = pending_arrays(sizes)
    owner = np.full(len(classes), -1)
    for i, (path, arrays, _) in enumerate(loaded):
        rows = np.searchsorted(classes, arrays["cells/row_class"])
        done = arrays["status/done"]
        clash = rows[done & (owner[rows] >= 0)]
        if len(clash):
            other = loaded[owner[clash[0]]][0]
            raise InputError(
                f"cannot merge: class {int(classes[clash[0]])} is done in both {other} and {path}"
            )
        fill = done | (owner[rows] < 0)  # a done row wins; else the first input's entry
        for name in PER_ROW:
            value = arrays[name][fill]
            if name == "status/chunk":
                value = np.where(value >= 0, value + len(merged["chunks/seconds"]), -1)
            merged[name][rows[fill]] = value
        owner[rows[done]] = i
        for name in PER_CHUNK:
            merged[name] = np.concatenate([merged[name], arrays[name]]).astype(FIELDS[name].dtype)
    merged.update(row_index(space, merged["cells/row_raw"]))
    attrs = dict(first_attrs)
    identities = [(p, a["dataset_identity"]) for p, _, a in loaded if "dataset_identity" in a]
    for path, identity in identities[1:]:  # inputs written before it was recorded lack it
        if identity != identities[0][1]:
            raise InputError(
                f"cannot merge {path} with {identities[0][0]}: dataset_identity differs "
                f"({identity!r}; {identities[0][1]!r})"
            )
    if identities:
        attrs["dataset_identity"] = identities[0][1]
    prints = [(p, a["dataset_fingerprint"]) for p, _, a in loaded if "dataset_fingerprint" in a]
    for path, recorded in prints[1:]:
        check_same(prints[0][1], recorded,
                   f"cannot merge {path} with {prints[0][0]}: their examples differ")  # fmt: skip
    if prints:
        attrs["dataset_fingerprint"] = prints[0][1]
    dropped = sorted({n for _, _, a in loaded for n in DROPPED_ATTRS if n in a})
    if dropped:  # their data is not merged: neither is their record; say so
        logger.warning("merge leaves out the inputs' %s (their arrays are not merged); "
                       "compute them again on %s", ", ".join(dropped), out)  # fmt: skip
    for name in DROPPED_ATTRS:
        attrs.pop(name, None)
    attrs.update(
        total_compute_seconds=float(sum(a["total_compute_seconds"] for _, _, a in loaded)),
        selection={"merged": [a.get("selection") for _, _, a in loaded]},
        command=command,
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    for field in ("hardware", "versions"):
        distinct = [a[field] for _, _, a in loaded]
        if any(d != distinct[0] for d in distinct):
            attrs[field] = {"merged": distinct}
    return write_table(Path(out), merged, attrs)
