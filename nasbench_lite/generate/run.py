"""Table generation: train the target classes in fixed-shape chunks, resumably, and merge shards.
The target rows (all classes, a seeded uniform sample of classes, then a shard's share) are
fixed when the file is created. After every chunk the whole table is rewritten atomically,
so a run killed at any moment resumes from its last finished chunk. docs/table.md explains.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_lite.errors import InputError, Interrupted, MissingFileError
from nasbench_lite.extras import require
from nasbench_lite.generate.executors import ChunkJob, ChunkTask, make_executor
from nasbench_lite.generate.lock import writer_lock
from nasbench_lite.generate.records import note_hardware, note_versions
from nasbench_lite.interrupts import deferred_interrupt
from nasbench_lite.table.reader import Table
from nasbench_lite.table.schema import FIELDS, PER_CHUNK, PER_ROW, pending_arrays
from nasbench_lite.table.storage import (
    base_attrs,
    check_cells,
    read_arrays,
    row_index,
    write_arrays,
)
from nasbench_lite.train.config import TrainConfig
from nasbench_lite.train.layout import LAYOUTS

log = logging.getLogger(__name__)

# Classes per train_cells call (x seeds) and local device; on a CPU at least MIN_CPU_CHUNK.
DEFAULT_CHUNK = {"cpu": 4, "accelerator": 64}
MIN_CPU_CHUNK = 4
# Attributes that must agree for a file to be resumed or merged; the optional ones only when
# both files have them (files written before `dataset_identity` was recorded lack it).
MATCH_FIELDS = ("schema_version", "space", "dataset", "config", "seeds", "epochs")
OPTIONAL_MATCH_FIELDS = ("dataset_identity", "splits")
# What a resume records in a file that predates it (a complete file too: nothing is trained).
RECORDED = ("dataset_identity", "dataset_fingerprint")


@dataclass(frozen=True)
class GenerateConfig:
    """Options of `nasbench-lite generate`; see docs/table.md."""

    space: str = "nb201"
    dataset: str = "mnist1d"
    data_dir: str | None = None
    preset: str = "cpu"  # train.DEFAULT_PRESET (not imported: train is heavy to import)
    seeds: int = 3
    epochs: int | None = None  # None: the preset's
    fraction: float | None = None  # train this share of the classes ...
    cells: int | None = None  # ... or this many (a seeded uniform sample)
    sample_seed: int = 0
    shard: tuple[int, int] | None = None  # (i, n): classes i::n of the selection
    chunk: int | None = None  # classes per call; None: the file's, else default_chunk()
    layout: str | None = None  # a trainer layout (LAYOUTS); None: the backend's
    executor: str = "local"
    ray_address: str | None = None
    cache_dir: str | None = None  # JAX compilation cache; None: <data cache>/jax
    command: str = ""


def default_chunk() -> int:
    """Classes per compiled batch when none is given: small on a CPU, large on a GPU/TPU.

    Scaled by the local device count, since ``train_cells`` shards a batch over devices.
    On a CPU (one device per core, ``nasbench_lite.devices``) each core loops over its
    classes, so the batch size barely changes the rate per pair (4 and 8 classes per
    program trained within 5% of each other, benchmarks/train_throughput.py); 4 classes per
    core let the cost-balanced dealing of classes to cores even out the cores' loads. An
    accelerator needs large batches to fill it.
    """
    import jax

    devices = jax.local_device_count()
    if jax.default_backend() == "cpu":
        return max(MIN_CPU_CHUNK, DEFAULT_CHUNK["cpu"] * devices)
    return DEFAULT_CHUNK["accelerator"] * devices


def parse_shard(text: str) -> tuple[int, int]:
    """Parse "I/N" into (I, N), 0 <= I < N."""
    try:
        i, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise InputError(f"--shard {text!r}: expected I/N, e.g. 0/4") from None
    if not 0 <= i < n:
        raise InputError(f"--shard {text!r}: need 0 <= I < N")
    return i, n


def select_classes(space, config: GenerateConfig) -> np.ndarray:
    """Sorted (rows,) int64 class ids this run trains: all, or a sample, then the shard's share.

    The sample draws classes uniformly without replacement with default_rng(sample_seed);
    shard i of n takes every n-th class of the sorted selection starting at i (strided, so
    every shard spans the whole id range and gets a similar mix of cheap and costly cells).
    """
    total = space.num_unique
    count = None
    if config.cells is not None:
        if not 1 <= config.cells <= total:
            raise InputError(f"--cells {config.cells}: must be in 1..{total} (number of classes)")
        count = config.cells
    elif config.fraction is not None:
        if not 0 < config.fraction <= 1:
            raise InputError(f"--fraction {config.fraction}: must be in (0, 1]")
        count = max(1, round(config.fraction * total))
    if count is None or count == total:
        classes = np.arange(total, dtype=np.int64)
    else:
        rng = np.random.default_rng(config.sample_seed)
        classes = np.sort(np.asarray(space.sample_classes(rng, count), dtype=np.int64))
    if config.shard is not None:
        i, n = config.shard
        classes = classes[i::n]
        if len(classes) == 0:
            raise InputError(f"shard {i}/{n} of {count or total} classes is empty")
    return classes


def _new_table(space, config: GenerateConfig, train_config, data, classes) -> tuple[dict, dict]:
    """Arrays (all rows pending, metrics NaN) and root attributes of a new file."""
    from nasbench_lite.datasets import data_fingerprint, dataset_identity

    rows, seeds, epochs = len(classes), config.seeds, train_config.epochs
    arrays = pending_arrays({"rows": rows, "seeds": seeds, "epochs": epochs, "chunks": 0,
                             "cells": space.num_cells, "edges": space.num_edges})  # fmt: skip
    row_raw = np.asarray(space.representatives, dtype=np.int64)[classes]
    arrays["cells/row_raw"] = row_raw.astype(np.int32)
    arrays.update(row_index(space.name, row_raw))
    # The examples the trainer uses: each split cut to the config's limits (None: all).
    n_train, n_eval = train_config.train_examples, train_config.eval_examples
    splits = {"train": len(data.x_train[:n_train]), "valid": len(data.x_valid[:n_eval]),
              "test": len(data.x_test[:n_eval])}  # fmt: skip
    attrs = base_attrs(
        space=space.name,
        dataset=config.dataset,
        seeds=list(range(seeds)),
        epochs=epochs,
        preset=config.preset,
        config=train_config.to_dict(),
        splits=splits,
        command=config.command,
    )
    attrs["dataset_identity"] = dataset_identity(config.dataset, data).to_dict()
    attrs["dataset_fingerprint"] = data_fingerprint(data)
    attrs["selection"] = {
        "fraction": config.fraction,
        "cells": config.cells,
        "sample_seed": config.sample_seed,
        "shard": list(config.shard) if config.shard else None,
    }
    # None until `generate` sets it: the default (`default_chunk`) starts JAX's backend,
    # which a resumed file (it records its own) and a Ray driver should not.
    attrs["chunk_classes"] = int(min(config.chunk, rows)) if config.chunk else None
    return arrays, attrs


def check_match(attrs: dict, expected: dict, context: str, names: tuple[str, str]) -> None:
    """Raise ValueError "`context`: FIELD differs (names[0]: a; names[1]: b)" for the first of
    MATCH_FIELDS (and of OPTIONAL_MATCH_FIELDS both hold) on which `attrs` and `expected`
    disagree."""
    optional = [f for f in OPTIONAL_MATCH_FIELDS if f in attrs and f in expected]
    for field in (*MATCH_FIELDS, *optional):
        # Compare as stored: a JSON round trip turns tuples into lists, as in the file.
        a, b = (json.loads(json.dumps(d.get(field), default=list)) for d in (attrs, expected))
        if field == "config" and isinstance(a, dict) and isinstance(b, dict):
            # Fields added to TrainConfig later take their defaults in older files.
            a, b = (TrainConfig.from_dict(c).to_dict() for c in (a, b))
        if a == b:
            continue
        what = f"{field} differs"
        if isinstance(a, dict) and isinstance(b, dict):  # name the keys that differ
            keys = [k for k in sorted({*a, *b}) if a.get(k) != b.get(k)]
            a, b = ({k: d.get(k) for k in keys} for d in (a, b))
            what += f" in {', '.join(keys)}"
        raise InputError(f"{context}: {what} ({names[0]}: {a!r}; {names[1]}: {b!r})")


def _tasks(arrays: dict, attrs: dict, chunk: int) -> list[ChunkTask]:
    """Pending rows in a fixed shuffled order, `chunk` classes per task, the last one padded.

    The order is one seeded permutation of all rows, so the rows done at any moment of a
    long run are a uniform random sample of the selection (a usable partial table), and a
    resumed run continues the same sequence.
    """
    done = arrays["status/done"]
    order = np.random.default_rng(0).permutation(len(done))
    pending = order[~done[order]]
    ops = arrays["cells/ops"]
    seeds = np.asarray(attrs["seeds"], dtype=np.int64)
    tasks = []
    for start in range(0, len(pending), chunk):
        rows = pending[start : start + chunk]
        padded = np.resize(rows, chunk)  # repeats rows cyclically: same shape, one compile
        cells = np.repeat(ops[padded], len(seeds), axis=0)
        tasks.append(ChunkTask(rows=rows, cells=cells, seeds=np.tile(seeds, chunk)))
    return tasks


def _store(arrays: dict, attrs: dict, task: ChunkTask, result: dict[str, Any]) -> None:
    """Copy a finished chunk's real pairs (padding dropped) into the table arrays: every
    per-row dataset of the schema from the result entry of its name, every chunk record
    appended."""
    k, s = len(task.rows), len(attrs["seeds"])
    n = k * s
    chunk = len(arrays["chunks/seconds"])
    given = {**result["metrics"], **result, "done": True, "chunk": chunk, "pairs": n}
    for path in PER_ROW:
        field = FIELDS[path]
        if field.derived or path == "cells/row_raw":  # fixed when the file was created
            continue
        value = np.asarray(given[field.name])
        if "seeds" in field.axes:  # one value per pair; pair k*s + j is row k, seed j
            value = value[:n].reshape(k, s, *value.shape[1:])
        elif value.ndim:  # one value per cell, repeated in each of its pairs
            value = value[:n:s]
        arrays[path][task.rows] = value
    for path in PER_CHUNK:
        value = np.append(arrays[path], given[FIELDS[path].name])
        arrays[path] = value.astype(FIELDS[path].dtype)
    attrs["total_compute_seconds"] = float(
        attrs["total_compute_seconds"] + result["seconds"] + result["compile_seconds"]
    )


def open_or_create(out: str | Path, config: GenerateConfig) -> tuple[dict, dict]:
    """The state of the run: `out`'s arrays and attributes if it exists and matches `config`
    (else a ValueError naming the file and field), or a new table with every row pending.
    Nothing is written."""
    from nasbench_lite.datasets import load_dataset
    from nasbench_lite.datasets.fingerprint import check_same
    from nasbench_lite.spaces import get_space
    from nasbench_lite.train.config import get_preset

    out = Path(out)
    space = get_space(config.space)
    train_config = get_preset(config.preset)
    if config.epochs is not None:
        train_config = dataclasses.replace(train_config, epochs=config.epochs)
    if config.seeds < 1:
        raise InputError(f"--seeds {config.seeds}: need at least one seed")
    if config.chunk is not None and config.chunk < 1:
        raise InputError(f"--chunk {config.chunk}: need at least one class per chunk")
    if config.sample_seed < 0:
        raise InputError(f"--sample-seed {config.sample_seed}: must be >= 0")
    if config.layout is not None and config.layout not in LAYOUTS:
        raise InputError(f"--layout {config.layout!r}: must be {' or '.join(LAYOUTS)}")
    if config.ray_address is not None and config.executor != "ray":
        raise InputError(
            f"--ray-address {config.ray_address}: for --executor ray; the {config.executor} "
            "executor would ignore it"
        )
    classes = select_classes(space, config)
    data = load_dataset(config.dataset, config.data_dir)
    arrays, attrs = _new_table(space, config, train_config, data, classes)
    if not out.exists():
        return arrays, attrs
    expected = attrs
    arrays, attrs = read_arrays(out)
    check_match(attrs, expected, f"cannot resume {out}", ("file", "this run"))
    check_cells(arrays, attrs, str(out))  # a row trains the cell it records, no other
    if "dataset_fingerprint" in attrs:  # within rounding: not in check_match's exact fields
        check_same(attrs["dataset_fingerprint"], expected["dataset_fingerprint"],
                   f"cannot resume {out}: this run's examples are not the file's")  # fmt: skip
    for name in (n for n in RECORDED if n not in attrs):  # an older file: this run's
        log.warning("%s predates %s: recording this run's, whose recipe is the file's", out, name)
        attrs[name] = expected[name]
    if not np.array_equal(arrays["cells/row_class"], classes):
        raise InputError(
            f"cannot resume {out}: its target rows ({len(arrays['cells/row_class'])} "
            f"classes, selection {attrs.get('selection')}) differ from this run's "
            f"({len(classes)} classes, selection {expected['selection']})"
        )
    return arrays, attrs


def generate(out: str | Path, config: GenerateConfig, progress: bool = True) -> Table:
    """Create or resume the table at `out` and train every pending row; returns the table.
    Raises MissingExtra without the `train` extra.

    Ctrl-C raises `Interrupted` (done, total: rows trained and targeted; saved: `out`, None
    when no chunk had finished). The file then holds every chunk that finished; the chunk in
    flight is abandoned (its thread ends with the process; see `executors.LocalExecutor`).
    """
    require("train", "generate")

    out = check_out(out)
    with writer_lock(out):  # one writer at a time; a second one stops here, naming this one
        return _generate(out, config, progress)


def _generate(out: Path, config: GenerateConfig, progress: bool) -> Table:
    from tqdm import tqdm

    from nasbench_lite.datasets import cache_dir

    arrays, attrs = open_or_create(out, config)
    rows = len(arrays["cells/row_raw"])
    chunk = int(min(config.chunk or attrs.get("chunk_classes") or default_chunk(), rows))
    if attrs.get("chunk_classes") is None or config.chunk:  # the size chunks are cut to now
        attrs["chunk_classes"] = chunk  # (each call's own size: `chunks/pairs`)
    tasks = _tasks(arrays, attrs, chunk)
    done = int(arrays["status/done"].sum())
    log.info(
        "%s: %d of %d rows done; training %d in %d chunks of %d classes x %d seeds",
        out, done, rows, rows - done, len(tasks), chunk, config.seeds,
    )  # fmt: skip
    if not tasks:  # a complete file that predates a record gets it (the data's fingerprint)
        if out.exists() and not _lacks(out, RECORDED):
            return Table.open(out)
        return write_table(out, arrays, attrs)
    jax_cache = config.cache_dir or (str(cache_dir() / "jax") if cache_dir() else None)
    job = ChunkJob(attrs["config"], config.dataset, config.data_dir, jax_cache, config.space,
                   json.dumps(attrs["dataset_fingerprint"], sort_keys=True),
                   config.layout)  # fmt: skip
    executor = make_executor(config.executor, job, config.ray_address)
    bar = tqdm(total=rows, initial=done, unit="cell", disable=not progress, file=sys.stderr)

    def keep(task: ChunkTask, result: dict[str, Any]) -> None:
        with deferred_interrupt():  # the table file is replaced whole, never cut
            _store(arrays, attrs, task, result)
            note_hardware(attrs, result["hardware"], config.executor)
            note_versions(attrs)
            write_arrays(out, arrays, attrs)
        bar.update(len(task.rows))
        log.debug("%s: chunk of %d rows in %.2f s", out, len(task.rows), result["seconds"])

    try:
        for task, result in executor.run(tasks):
            keep(task, result)
    except KeyboardInterrupt:
        for task, result in getattr(executor, "drain", list)():  # finished meanwhile
            if not arrays["status/done"][task.rows].all():  # not the one kept as it came
                keep(task, result)
        trained = int(arrays["status/done"].sum())
        message = f"interrupted with {trained} of {rows} rows trained"
        raise Interrupted(message, trained, rows, saved=out if out.exists() else None) from None
    finally:
        bar.close()
        executor.close()
    return Table.open(out)


def check_out(out: str | Path) -> Path:
    """`out` as a Path (a symbolic link: the file it names, which the atomic rewrite then
    replaces, not the link); raises MissingFileError before any work if its directory is
    missing."""
    if not str(out).strip():
        raise InputError("output: the path is an empty string; name the .h5 table file to write")
    out = Path(out)
    if out.is_symlink():
        out = out.resolve()
    if out.is_dir():
        raise InputError(f"output {out} is a directory; name the .h5 table file to write")
    if out.parent.exists() and not out.parent.is_dir():
        raise InputError(f"output {out}: {out.parent} is a file, not a directory")
    if not out.parent.is_dir():
        raise MissingFileError(f"output {out}: directory {out.parent} does not exist")
    if not os.access(out.parent, os.W_OK):
        raise InputError(f"output {out}: directory {out.parent} is not writable")
    if out.suffix.lower() not in (".h5", ".hdf5"):
        log.warning("output %s: an HDF5 table is written there, though its name does not end "
                    "in .h5", out)  # fmt: skip
    return out


def _lacks(path: Path, names: tuple[str, ...]) -> bool:
    """Whether the file at `path` lacks any of the root attributes `names` (reads no data)."""
    import h5py

    with h5py.File(path, "r") as file:
        return any(name not in file.attrs for name in names)


def write_table(out: Path, arrays: dict, attrs: dict) -> Table:
    write_arrays(out, arrays, attrs)
    return Table.open(out)
